//! The behavioural detector, run inside the capture engine with every built-in detector, stays
//! silent on the shared benign captures (long-lived SSH, MQTT, IoT, VPN, chat, VoIP...).

use minetrace_net::{Engine, EngineOptions};
use std::path::Path;
use std::sync::Arc;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

#[test]
fn benign_captures_give_no_behavioural_finding() {
    let dir = Path::new(SHARED).join("captures/benign");
    if !dir.exists() {
        println!("skipped: ../shared not present");
        return;
    }
    let engine = Engine::new(
        minetrace_detect::builtin(),
        Arc::new(minetrace_intel::Intel::builtin()),
        EngineOptions::default(),
    );
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("benign dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "pcap" | "pcapng" | "cap"))
        })
        .collect();
    files.sort();
    assert!(files.len() > 100, "expected the shared benign set");
    let mut noisy = Vec::new();
    for f in &files {
        engine.analyze_file(
            f,
            &mut |finding| {
                if finding.detector == "behavioural" {
                    noisy.push(format!("{}: {:?}", f.display(), finding.reasons));
                }
            },
            &mut |_| {},
        );
    }
    assert!(
        noisy.is_empty(),
        "behavioural findings on benign captures: {noisy:#?}"
    );
}
