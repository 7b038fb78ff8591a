#![no_main]
// Stratum V2 frames and messages come from miners and pools: decoding must never panic.
use minetrace_proto::sv2;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(minetrace_proto::tls::Parsed::Done(frame)) = sv2::parse_frame(data) {
        let _ = sv2::parse_setup_connection(frame.payload);
        let _ = sv2::parse_setup_connection_success(frame.payload);
        let _ = sv2::parse_setup_connection_error(frame.payload);
        let _ = sv2::parse_open_standard_mining_channel(frame.payload);
    }
    let _ = (
        sv2::is_noise_client_hello(data),
        sv2::is_noise_server_reply(data),
    );
});
