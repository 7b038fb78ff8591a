#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| { let _ = minetrace_proto::mining::parse_line(data); });
