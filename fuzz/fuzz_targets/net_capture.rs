#![no_main]
// Any byte stream read as a capture file: records until the end or an error, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = minetrace_net::capture::CaptureReader::new(data, "fuzz".as_ref()) {
        while let Ok(Some(p)) = r.next_packet() {
            let _ = minetrace_net::decode::decode(p.link, p.data);
        }
    }
});
