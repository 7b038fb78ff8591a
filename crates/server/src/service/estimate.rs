//! Per-case estimates from the findings' hashrate figures, through crates/estimate.

use minetrace_core::{AlgorithmFamily, FindingKind};
use minetrace_estimate::{energy, family, legal, power, EstimateConfig, Figure};
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
    // Hashrates of different algorithms are not added (a kH/s of RandomX and a TH/s of
    // SHA-256d are different work): each family's sessions are summed and priced in power on
    // their own hardware, and the powers are added.
    let mut by_family: BTreeMap<&'static str, (Option<AlgorithmFamily>, f64)> = BTreeMap::new();
    for (hps, family, _) in sessions.values() {
        let name = family.map_or("unknown", family::family_name);
        by_family.entry(name).or_insert((*family, 0.0)).1 += hps;
    }
    let mut out = serde_json::json!({
        "machines": machines,
        "sessions_with_hashrate": sessions.len(),
        "hashrate_by_family": by_family.iter().map(|(k, v)| (*k, v.1)).collect::<BTreeMap<_, _>>(),
        "hashrate_methods": sessions.values().map(|s| s.2.clone()).take(20).collect::<Vec<_>>(),
    });
    if let [(_, (_, total))] = by_family.iter().collect::<Vec<_>>()[..] {
        out["hashrate_hps"] = (*total).into();
    }
    let mut powers = Vec::new();
    let mut notes = Vec::new();
    for (fam, hps) in by_family.values() {
        match fam.filter(|_| *hps > 0.0) {
            Some(fam) => match power::power_for_family(cfg, fam, *hps) {
                Ok(p) => powers.push(p),
                Err(e) => notes.push(e.to_string()),
            },
            None if *hps > 0.0 => {
                notes.push("a hashrate of no known algorithm is not priced".into())
            }
            None => {}
        }
    }
    if let Some(p) = Figure::sum(&powers) {
        out["kwh_per_day"] = serde_json::to_value(energy::kwh_per_day(&p)).unwrap_or_default();
        out["power_w"] = serde_json::to_value(p).unwrap_or_default();
    }
    if !notes.is_empty() {
        out["power_note"] = notes.join("; ").into();
    }
    out["sessions"] = serde_json::to_value(&sessions).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn previous(sessions: &[(&str, f64, AlgorithmFamily)]) -> serde_json::Value {
        let map: BTreeMap<String, (f64, Option<AlgorithmFamily>, String)> = sessions
            .iter()
            .map(|(k, h, f)| (k.to_string(), (*h, Some(*f), "shares".to_string())))
            .collect();
        serde_json::json!({ "sessions": map })
    }

    /// A case with a CPU miner and an ASIC: their hashrates are not added, their powers are.
    #[test]
    fn hashrates_of_different_algorithms_are_priced_apart() {
        let cfg = EstimateConfig::default();
        let xmr = ("a", 3_750.0, AlgorithmFamily::CryptoNote);
        let btc = ("b", 100e12, AlgorithmFamily::Sha256d);
        let both = for_case(&cfg, &previous(&[xmr, btc]), &[], 2);
        assert!(both.get("hashrate_hps").is_none(), "{both}");
        assert_eq!(both["hashrate_by_family"]["randomx"], 3_750.0);
        assert_eq!(both["hashrate_by_family"]["sha256d"], 100e12);
        let watts = |v: &serde_json::Value| v["power_w"]["value"].as_f64().unwrap();
        let alone = |s| watts(&for_case(&cfg, &previous(&[s]), &[], 1));
        let sum = alone(xmr) + alone(btc);
        assert!((watts(&both) / sum - 1.0).abs() < 1e-9, "{both}");
        let one = for_case(&cfg, &previous(&[xmr, ("c", 1_250.0, xmr.2)]), &[], 2);
        assert_eq!(one["hashrate_hps"], 5_000.0);
    }
}
