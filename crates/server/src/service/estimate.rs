//! Per-case estimates from the findings' hashrate figures, through crates/estimate.

use minetrace_core::{AlgorithmFamily, FindingKind};
use minetrace_estimate::{energy, legal, power, EstimateConfig};
use minetrace_store::StoredFinding;
use std::collections::BTreeMap;

/// Most sessions remembered per case.
const MAX_SESSIONS: usize = 1000;

/// Hashrate (sum over sessions of each session's latest figure), power, energy per day and the
/// legal band for `machines`. Sessions carry over from `previous` (the case's last estimate), so
/// only new findings are read. Every figure keeps its derivation.
pub fn for_case(
    cfg: &EstimateConfig,
    previous: &serde_json::Value,
    findings: &[&StoredFinding],
    machines: i64,
) -> serde_json::Value {
    let mut sessions: BTreeMap<String, (f64, Option<AlgorithmFamily>, String)> =
        serde_json::from_value(previous["sessions"].clone()).unwrap_or_default();
    for sf in findings {
        let f = &sf.finding;
        if f.kind != FindingKind::Network {
            continue;
        }
        if let Some(h) = &f.evidence.hashrate {
            if h.hashes_per_second.is_finite() && h.hashes_per_second >= 0.0 {
                let key = format!("{:?}-{:?}", f.client, f.server);
                if sessions.len() >= MAX_SESSIONS && !sessions.contains_key(&key) {
                    continue;
                }
                sessions.insert(
                    key,
                    (
                        h.hashes_per_second,
                        f.evidence.algorithm_family,
                        h.method.clone(),
                    ),
                );
            }
        }
    }
    let total: f64 = sessions.values().map(|s| s.0).sum();
    let family = sessions.values().find_map(|s| s.1);
    let mut out = serde_json::json!({
        "machines": machines,
        "sessions_with_hashrate": sessions.len(),
        "hashrate_hps": total,
        "hashrate_methods": sessions.values().map(|s| s.2.clone()).take(20).collect::<Vec<_>>(),
        "sessions": sessions,
    });
    if let (Some(fam), true) = (family, total > 0.0) {
        match power::power_for_family(cfg, fam, total) {
            Ok(p) => {
                out["kwh_per_day"] =
                    serde_json::to_value(energy::kwh_per_day(&p)).unwrap_or_default();
                out["power_w"] = serde_json::to_value(p).unwrap_or_default();
            }
            Err(e) => out["power_note"] = e.to_string().into(),
        }
    }
    let band = legal::assess(
        cfg,
        &legal::LegalInputs {
            machines: u64::try_from(machines).ok(),
            gains: None,
            loss: None,
        },
    );
    out["legal"] = serde_json::to_value(band).unwrap_or_default();
    out
}
