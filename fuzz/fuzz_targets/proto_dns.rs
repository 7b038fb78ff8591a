#![no_main]
// DNS messages come from any host on the network: UDP and TCP framing must never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = minetrace_proto::dns::parse_message(data);
    let _ = minetrace_proto::dns::parse_tcp_message(data);
});
