#![no_main]
// Differential: the fast JSON reader of mining lines against serde_json (tree, text, error).
libfuzzer_sys::fuzz_target!(|data: &[u8]| minetrace_proto::mining::fuzz_check_json_reader(data));
