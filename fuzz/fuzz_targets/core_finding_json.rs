#![no_main]
// Findings arrive from agents and sensors over the API: deserialising them must never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<minetrace_core::Finding>(data);
});
