#![no_main]
// cgminer API replies and web pages come from devices on the LAN: decoding must never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = minetrace_estimate::asic::parse_cgminer_reply(data);
    let _ = minetrace_estimate::asic::html_title(data);
    let _ = minetrace_estimate::asic::auth_realm(&String::from_utf8_lossy(data));
});
