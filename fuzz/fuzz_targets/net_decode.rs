#![no_main]
// Link/IP/TCP/UDP decoding of any frame under any link type.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&link, frame)) = data.split_first() {
        let _ = minetrace_net::decode::decode(minetrace_net::capture::LinkType(u32::from(link)), frame);
    }
});
