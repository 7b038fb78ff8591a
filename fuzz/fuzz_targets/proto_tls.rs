#![no_main]
// ClientHello bytes come from any client: parsing and fingerprinting must never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(minetrace_proto::tls::Parsed::Done(hello)) =
        minetrace_proto::tls::parse_client_hello(data)
    {
        let _ = (hello.ja3_hash(), hello.ja4(), hello.ja4_r());
    }
});
