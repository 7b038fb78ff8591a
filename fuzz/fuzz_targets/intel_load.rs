#![no_main]
// Indicator lists are operator-supplied files of any provenance: loading must never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut intel = minetrace_intel::Intel::empty();
    let _ = intel.load_str(std::path::Path::new("fuzz.txt"), &text);
    for line in text.lines().take(8) {
        let _ = intel.match_domain(line);
        let _ = intel.miner_agent(line);
    }
});
