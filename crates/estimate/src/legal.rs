//! The legal severity band that estimated figures reach (decision support, not a verdict).

use crate::config::{EstimateConfig, Thresholds};
use crate::figure::grouped;
use serde::{Deserialize, Serialize};

/// Severity band under the configured thresholds (default: PRC Criminal Law Art. 285(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LegalBand {
    /// No threshold reached.
    None,
    /// 情节严重: any "serious" threshold reached.
    Serious,
    /// 情节特别严重: any "especially serious" threshold reached.
    EspeciallySerious,
}

impl LegalBand {
    pub fn label_en(self) -> &'static str {
        match self {
            LegalBand::None => "below the 'serious' thresholds",
            LegalBand::Serious => "serious",
            LegalBand::EspeciallySerious => "especially serious",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            LegalBand::None => "未达情节严重",
            LegalBand::Serious => "情节严重",
            LegalBand::EspeciallySerious => "情节特别严重",
        }
    }
}

/// The figures a band is decided on; any may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LegalInputs {
    /// Computer systems illegally controlled (machines running the miner).
    pub machines: Option<u64>,
    /// Illegal gains, in the configured currency.
    pub gains: Option<f64>,
    /// Economic loss (electricity, hardware depreciation, forensics, remediation).
    pub loss: Option<f64>,
}

/// The band with the reasons: which thresholds were reached, and which inputs were missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegalAssessment {
    pub band: LegalBand,
    pub label_en: String,
    pub label_zh: String,
    pub jurisdiction: String,
    pub reasons: Vec<String>,
    /// Always present: this is decision support for people.
    pub note: String,
}

fn reached(
    t: &Thresholds,
    i: &LegalInputs,
    currency: &str,
    band: &str,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let (Some(limit), Some(n)) = (t.machines, i.machines) {
        if n >= limit {
            out.push(("machines", format!("{n} machines >= {limit} ({band})")));
        }
    }
    if let (Some(limit), Some(v)) = (t.gains, i.gains) {
        if v.is_finite() && v >= limit {
            out.push((
                "gains",
                format!(
                    "gains {} >= {} {currency} ({band})",
                    grouped(v),
                    grouped(limit)
                ),
            ));
        }
    }
    if let (Some(limit), Some(v)) = (t.loss, i.loss) {
        if v.is_finite() && v >= limit {
            out.push((
                "loss",
                format!(
                    "loss {} >= {} {currency} ({band})",
                    grouped(v),
                    grouped(limit)
                ),
            ));
        }
    }
    out
}

/// Decide the band: "especially serious" if any of its thresholds is reached, else "serious" if
/// any of those is, else none. Every reached threshold is listed, strongest first.
pub fn assess(cfg: &EstimateConfig, inputs: &LegalInputs) -> LegalAssessment {
    let l = &cfg.legal;
    let top = reached(
        &l.especially_serious,
        inputs,
        &l.currency,
        "especially serious",
    );
    let mid = reached(&l.serious, inputs, &l.currency, "serious");
    let band = if !top.is_empty() {
        LegalBand::EspeciallySerious
    } else if !mid.is_empty() {
        LegalBand::Serious
    } else {
        LegalBand::None
    };
    // A figure that reached the top band is not repeated for the lower one.
    let top_kinds: Vec<&str> = top.iter().map(|(k, _)| *k).collect();
    let mut reasons: Vec<String> = top.iter().map(|(_, r)| r.clone()).collect();
    reasons.extend(
        mid.into_iter()
            .filter(|(k, _)| !top_kinds.contains(k))
            .map(|(_, r)| r),
    );
    if reasons.is_empty() {
        reasons.push("no threshold reached by the figures given".to_string());
    }
    for (name, missing) in [
        ("machines", inputs.machines.is_none()),
        ("gains", inputs.gains.is_none()),
        ("loss", inputs.loss.is_none()),
    ] {
        if missing {
            reasons.push(format!("{name} unknown: not assessed"));
        }
    }
    LegalAssessment {
        band,
        label_en: band.label_en().to_string(),
        label_zh: band.label_zh().to_string(),
        jurisdiction: l.jurisdiction.clone(),
        reasons,
        note: "decision support from estimated figures, not a legal finding".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Acceptance: the reference case (155 servers, ~100,000 yuan gains, ~27,000 yuan loss).
    #[test]
    fn reference_case_is_especially_serious() {
        let cfg = EstimateConfig::default();
        let a = assess(
            &cfg,
            &LegalInputs {
                machines: Some(155),
                gains: Some(100_000.0),
                loss: Some(27_000.0),
            },
        );
        assert_eq!(a.band, LegalBand::EspeciallySerious);
        assert_eq!(a.label_zh, "情节特别严重");
        assert!(
            a.reasons
                .iter()
                .any(|r| r == "155 machines >= 100 (especially serious)"),
            "{:?}",
            a.reasons
        );
        assert!(a
            .reasons
            .iter()
            .any(|r| r.contains("gains 100,000 >= 25,000")));
        assert!(a
            .reasons
            .iter()
            .any(|r| r.contains("loss 27,000 >= 10,000 yuan (serious)")));
        assert_eq!(
            a.reasons.iter().filter(|r| r.contains("machines")).count(),
            1
        );
    }

    #[test]
    fn bands_at_their_edges() {
        let cfg = EstimateConfig::default();
        let band = |m, g, l| {
            assess(
                &cfg,
                &LegalInputs {
                    machines: m,
                    gains: g,
                    loss: l,
                },
            )
            .band
        };
        assert_eq!(
            band(Some(19), Some(4_999.0), Some(9_999.0)),
            LegalBand::None
        );
        assert_eq!(band(Some(20), None, None), LegalBand::Serious);
        assert_eq!(band(None, Some(5_000.0), None), LegalBand::Serious);
        assert_eq!(
            band(None, None, Some(50_000.0)),
            LegalBand::EspeciallySerious
        );
        assert_eq!(
            band(Some(99), Some(24_999.0), Some(49_999.0)),
            LegalBand::Serious
        );
        assert_eq!(band(None, Some(f64::NAN), None), LegalBand::None);
        let a = assess(&cfg, &LegalInputs::default());
        assert_eq!(a.band, LegalBand::None);
        assert!(a
            .reasons
            .iter()
            .any(|r| r == "machines unknown: not assessed"));
    }

    #[test]
    fn thresholds_come_from_config() {
        let cfg = EstimateConfig::from_toml_str(
            r#"
            [legal]
            jurisdiction = "example"
            currency = "EUR"
            serious = { machines = 5 }
            especially_serious = { machines = 50 }
            "#,
        )
        .unwrap();
        let a = assess(
            &cfg,
            &LegalInputs {
                machines: Some(6),
                gains: Some(1e9),
                loss: None,
            },
        );
        assert_eq!(a.band, LegalBand::Serious);
        assert_eq!(a.jurisdiction, "example");
    }
}
