#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| { let _ = minetrace_proto::http::parse_head(data); });
