//! The behavioural classifier on the CESNET-MINER22 development sample: per-record precision and
//! recall on the held-out half (flow-key hash odd), which was never looked at while designing.

use minetrace_core::SourceRef;
use minetrace_flows::{open, Classifier, Evaluation, InputFormat, Item};
use std::path::Path;
use std::sync::Arc;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

#[test]
fn held_out_cesnet_meets_the_targets() {
    let path = Path::new(SHARED).join("flows/cesnet-miner22-dev.csv");
    if !path.exists() {
        println!("skipped: ../shared not present");
        return;
    }
    let intel = Arc::new(minetrace_intel::Intel::builtin());
    let mut full = Classifier::new(intel.clone());
    let mut shape = Classifier::new(intel);
    shape.use_port_hint = false;
    let source = SourceRef {
        kind: "flows".into(),
        name: path.display().to_string(),
        ..SourceRef::default()
    };
    let reader = open(&path, None).expect("open");
    assert_eq!(reader.format(), InputFormat::Ipfixprobe);
    let mut eval = Evaluation::default();
    for item in reader {
        let Item::Flow(r) = item.expect("every CESNET record parses") else {
            continue;
        };
        eval.score(&r, &mut full, &mut shape, &source);
    }
    for (name, c) in [
        ("design", eval.design),
        ("held-out", eval.held_out),
        ("design, shape only", eval.design_shape_only),
        ("held-out, shape only", eval.held_out_shape_only),
    ] {
        println!(
            "{name}: {} records, TP {} FP {} FN {} TN {}: precision {:.4} recall {:.4} F1 {:.4}",
            c.scored(),
            c.true_positives,
            c.false_positives,
            c.false_negatives,
            c.true_negatives,
            c.precision(),
            c.recall(),
            c.f1()
        );
    }
    assert_eq!(eval.all.scored(), 2000);
    assert!(eval.held_out.scored() > 900);
    assert!(eval.held_out.precision() >= 0.999, "{:?}", eval.held_out);
    assert!(eval.held_out.recall() >= 0.95, "{:?}", eval.held_out);
}
