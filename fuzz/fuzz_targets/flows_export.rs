#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut cache = minetrace_flows::export::TemplateCache::new(64);
    let _ = minetrace_flows::export::decode_datagram(data, None, &mut cache, &mut Vec::new());
});
