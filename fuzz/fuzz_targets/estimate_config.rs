#![no_main]
// Estimation configuration is user input: loading it must fail cleanly, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = minetrace_estimate::EstimateConfig::from_toml_str(text);
    }
});
