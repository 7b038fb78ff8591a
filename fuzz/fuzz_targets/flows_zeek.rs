#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let reader = minetrace_flows::FlowReader::new("fuzz".as_ref(), data, minetrace_flows::InputFormat::ZeekTsv);
    for _ in reader.take(10_000) {}
});
