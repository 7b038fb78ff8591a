//! Every capture in ../shared/data/captures reads and decodes without a panic, with the link
//! types they use; the malformed ones end with an error naming an offset or read cleanly.

use minetrace_net::capture::CaptureReader;
use minetrace_net::decode::decode;
use std::path::{Path, PathBuf};

fn shared_captures() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/captures");
    if p.join("MANIFEST.tsv").exists() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared not present");
        None
    }
}

fn manifest(root: &Path) -> Vec<(PathBuf, String)> {
    let text = minetrace_core::io::read_bounded_string(&root.join("MANIFEST.tsv"), 16 << 20)
        .expect("manifest");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let file = cols.next()?;
            let label = cols.next()?;
            Some((root.join(file), label.to_string()))
        })
        .collect()
}

#[test]
fn every_shared_capture_reads_and_mostly_decodes() {
    let Some(root) = shared_captures() else {
        return;
    };
    let mut total_packets = 0u64;
    let mut total_decoded = 0u64;
    for (path, label) in manifest(&root) {
        let mut reader = match CaptureReader::open(&path) {
            Ok(r) => r,
            Err(e) => {
                assert_eq!(label, "malformed", "{}: {e}", path.display());
                continue;
            }
        };
        let (mut packets, mut decoded) = (0u64, 0u64);
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => {
                    packets += 1;
                    if decode(p.link, p.data).is_ok() {
                        decoded += 1;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // A damaged record ends the file with a message naming the offset.
                    assert!(e.offset().is_some(), "{e}");
                    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
                    break;
                }
            }
        }
        if label == "mining" {
            assert!(decoded > 0, "{}: nothing decoded", path.display());
        }
        total_packets += packets;
        total_decoded += decoded;
    }
    assert!(total_packets > 100_000, "{total_packets}");
    // Most traffic in the corpus is TCP/UDP over IP on a supported link.
    assert!(
        total_decoded * 10 > total_packets * 8,
        "{total_decoded} of {total_packets}"
    );
}
