//! The investigator's calculator: from whatever is known (shares, a target, a hashrate, power,
//! kWh/day, machines, gains, loss) to every figure that follows, each with its derivation.
//! `minetrace estimate` and the server call this; it holds no I/O.

use crate::config::EstimateConfig;
use crate::energy::{self, EnergyImpact};
use crate::error::{non_negative, positive, EstimateError};
use crate::family::family_name;
use crate::figure::{grouped, Figure};
use crate::legal::{self, LegalAssessment, LegalInputs};
use crate::{gains, hashrate, power};
use minetrace_core::{AlgorithmFamily, Finding};
use serde::{Deserialize, Serialize};

/// What the investigator knows. Every field is optional; what follows from it is computed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CalcInputs {
    pub family: Option<AlgorithmFamily>,
    /// Share difficulty (the pool's, in the family's convention).
    pub difficulty: Option<f64>,
    /// Share target in hex: 4 or 8 little-endian bytes (CryptoNote) or a 256-bit big-endian one.
    pub target: Option<String>,
    /// Accepted shares (default 1 when a difficulty or target is given).
    pub shares: Option<u64>,
    /// Seconds over which those shares were observed.
    pub seconds: Option<f64>,
    /// Hashrate in H/s when known directly.
    pub hashrate: Option<f64>,
    /// Hardware class name (see the configuration); default by family.
    pub hardware: Option<String>,
    /// Measured power in watts (a meter, RAPL, NVML).
    pub watts: Option<f64>,
    pub kwh_per_day: Option<f64>,
    /// Duration of the activity in days; unknown -> the configured assumption, stated.
    pub days: Option<f64>,
    pub region: Option<String>,
    /// Factor set names; each is looked up among coal and CO2 sets.
    pub factors: Vec<String>,
    /// Coin symbol from the configuration's coin table, for gains.
    pub coin: Option<String>,
    pub machines: Option<u64>,
    pub gains: Option<f64>,
    pub loss: Option<f64>,
}

/// A difficulty with its derivation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DifficultyFigure {
    pub value: f64,
    pub method: String,
}

/// Every figure the inputs lead to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CalcReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<DifficultyFigure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashrate: Option<Figure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<Figure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub energy: Option<EnergyImpact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gains_per_day: Option<Figure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gains_total: Option<Figure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal: Option<LegalAssessment>,
    pub notes: Vec<String>,
}

/// Resolve a share target to a difficulty for `family` (CryptoNote when unknown and short).
fn difficulty_from_target(
    family: Option<AlgorithmFamily>,
    target: &str,
) -> Result<DifficultyFigure, EstimateError> {
    let t = target.trim();
    let hex_digits = t.trim_start_matches("0x").len();
    if hex_digits == 8 || hex_digits == 16 {
        let d = hashrate::cryptonote_target_to_difficulty(t).ok_or_else(|| {
            EstimateError::invalid("target", format!("'{t}' is not a non-zero hex target"))
        })?;
        return Ok(DifficultyFigure {
            value: d as f64,
            method: format!("CryptoNote target {t} (little-endian) -> difficulty {d}"),
        });
    }
    let family = family.ok_or_else(|| {
        EstimateError::invalid("target", "a 256-bit target needs the algorithm family")
    })?;
    let d = hashrate::difficulty_from_target(family, t).ok_or_else(|| {
        EstimateError::invalid(
            "target",
            format!("'{t}' is not a hex target of up to 64 digits"),
        )
    })?;
    Ok(DifficultyFigure {
        value: d,
        method: format!(
            "256-bit target {t} -> difficulty {d} ({})",
            family_name(family)
        ),
    })
}

/// Hashrate from shares with a Poisson range: n shares give +-2/sqrt(n) relative.
fn hashrate_figure(
    family: AlgorithmFamily,
    difficulty: f64,
    shares: u64,
    seconds: f64,
) -> Result<Figure, EstimateError> {
    let sum = difficulty * shares as f64;
    let h = hashrate::hashrate_from_shares(family, sum, shares, seconds).ok_or_else(|| {
        EstimateError::invalid(
            "shares",
            format!(
                "no hashrate from {shares} share(s) over {seconds} s for {}",
                family_name(family)
            ),
        )
    })?;
    let rel = 2.0 / (shares as f64).sqrt();
    let v = h.hashes_per_second;
    Ok(Figure::estimated(
        v,
        v * (1.0 - rel).max(0.0),
        v * (1.0 + rel),
        "H/s",
        format!(
            "{}; range +-2/sqrt({shares}) (share arrivals are Poisson)",
            h.method
        ),
    ))
}

/// Compute everything the inputs allow. Arguments are validated before any work.
pub fn calculate(cfg: &EstimateConfig, i: &CalcInputs) -> Result<CalcReport, EstimateError> {
    for (field, v) in [
        ("difficulty", i.difficulty),
        ("seconds", i.seconds),
        ("hashrate", i.hashrate),
        ("watts", i.watts),
        ("kwh-per-day", i.kwh_per_day),
        ("days", i.days),
        ("gains", i.gains),
        ("loss", i.loss),
    ] {
        if let Some(v) = v {
            non_negative(field, v)?;
        }
    }
    let mut coal_name = None;
    let mut co2_name = None;
    for name in &i.factors {
        let in_coal = cfg.factors.coal.contains_key(name);
        let in_co2 = cfg.factors.co2.contains_key(name);
        if !in_coal && !in_co2 {
            return Err(EstimateError::unknown(
                "factor set",
                name,
                cfg.factors.coal.keys().chain(cfg.factors.co2.keys()),
            ));
        }
        if in_coal {
            coal_name = Some(name.as_str());
        }
        if in_co2 {
            co2_name = Some(name.as_str());
        }
    }
    let coal = energy::coal_factor(cfg, coal_name)?;
    let co2 = energy::co2_factor(cfg, co2_name)?;
    let tariff = energy::tariff(cfg, i.region.as_deref())?;
    let hardware = i
        .hardware
        .as_deref()
        .map(|h| power::hardware_class(cfg, h))
        .transpose()?;
    let coin = i.coin.as_deref().map(|c| gains::coin(cfg, c)).transpose()?;

    let difficulty = match (&i.target, i.difficulty) {
        (Some(_), Some(_)) => {
            return Err(EstimateError::invalid(
                "target",
                "give a difficulty or a target, not both",
            ))
        }
        (Some(t), None) => Some(difficulty_from_target(i.family, t)?),
        (None, Some(d)) => Some(DifficultyFigure {
            value: d,
            method: "given".to_string(),
        }),
        (None, None) => None,
    };
    let mut r = CalcReport {
        difficulty,
        ..Default::default()
    };
    // Family: given, else implied by a CryptoNote target, else by the hardware class.
    let family = i
        .family
        .or_else(|| {
            i.target
                .as_ref()
                .filter(|t| matches!(t.trim().len(), 8 | 16))
                .map(|_| AlgorithmFamily::CryptoNote)
        })
        .or_else(|| {
            hardware
                .as_ref()
                .and_then(|h| crate::family::parse_family(&h.class.family))
        });

    r.hashrate = match (i.hashrate, &r.difficulty, i.seconds) {
        (Some(h), _, _) => Some(Figure::estimated(
            h,
            h,
            h,
            "H/s",
            format!("given: {} H/s", grouped(h)),
        )),
        (None, Some(d), Some(secs)) => {
            let family = family.ok_or_else(|| {
                EstimateError::invalid("algo", "shares need the algorithm family (--algo)")
            })?;
            let secs = positive("seconds", secs)?;
            Some(hashrate_figure(
                family,
                d.value,
                i.shares.unwrap_or(1).max(1),
                secs,
            )?)
        }
        (None, Some(_), None) => {
            r.notes
                .push("difficulty known but no observation time (--seconds): no hashrate".into());
            None
        }
        _ => None,
    };

    r.power = match (i.watts, &r.hashrate) {
        (Some(w), _) => Some(Figure::measured(w, "W", format!("given: {} W", grouped(w)))),
        (None, Some(h)) => {
            let class = match hardware {
                Some(c) => c,
                None => {
                    let f = family.ok_or_else(|| {
                        EstimateError::invalid("hardware", "name the hardware class or the family")
                    })?;
                    let c = power::default_class_for(cfg, f)?;
                    r.notes.push(format!(
                        "hardware unknown: '{}' ({}) assumed for {}",
                        c.name,
                        c.class.label,
                        family_name(f)
                    ));
                    c
                }
            };
            Some(power::power_from_hashrate(cfg, h, &class)?)
        }
        _ => None,
    };

    let kwh_day = match (i.kwh_per_day, &r.power) {
        (Some(k), _) => Some(Figure::estimated(
            k,
            k,
            k,
            "kWh/day",
            format!("given: {} kWh/day", grouped(k)),
        )),
        (None, Some(p)) => Some(energy::kwh_per_day(p)),
        _ => None,
    };
    let duration = match i.days {
        Some(d) => energy::duration_days(d, "given")?,
        None => energy::ActivityDuration {
            days: cfg.energy.unknown_start_days,
            assumed: true,
            method: cfg.energy.unknown_start_label.clone(),
        },
    };
    if let Some(k) = &kwh_day {
        r.energy = Some(energy::energy_impact(
            k,
            duration.clone(),
            coal,
            co2,
            tariff,
        )?);
    }
    if let (Some((sym, params)), Some(h)) = (coin, &r.hashrate) {
        // A hashrate of one algorithm is no share of another coin's network.
        if let (Some(f), Some(coin_family)) = (family, crate::family::parse_family(&params.family))
        {
            if !crate::family::same_work(f, coin_family) {
                return Err(EstimateError::invalid(
                    "coin",
                    format!(
                        "{sym} is mined with {}, the hashrate is {}",
                        family_name(coin_family),
                        family_name(f)
                    ),
                ));
            }
        }
        let per_day = gains::gains_per_day(h, sym, params)?;
        r.gains_total = Some(per_day.scaled(
            duration.days,
            &cfg.electricity.currency,
            &format!("x {} days ({})", duration.days, duration.method),
        ));
        r.gains_per_day = Some(per_day);
    } else if coin.is_some() {
        r.notes
            .push("coin given but no hashrate: no gains estimate".into());
    }

    // Legal band: given figures first; else estimated gains and the electricity cost as loss.
    let gains_used = i.gains.or(r.gains_total.as_ref().map(|g| g.value));
    let loss_used = i.loss.or(r.energy.as_ref().map(|e| e.cost_total.value));
    // Only when the investigator asks (gives at least one legal figure): a kWh figure alone may
    // describe a whole province, not one case.
    if i.machines.is_some() || i.gains.is_some() || i.loss.is_some() {
        let mut a = legal::assess(
            cfg,
            &LegalInputs {
                machines: i.machines,
                gains: gains_used,
                loss: loss_used,
            },
        );
        if i.gains.is_none() && gains_used.is_some() {
            a.reasons
                .push("gains estimated from hashrate and coin parameters".into());
        }
        if i.loss.is_none() && loss_used.is_some() {
            a.reasons
                .push("loss estimated as the electricity cost over the duration".into());
        }
        r.legal = Some(a);
    }
    if r.energy.as_ref().is_some_and(|e| e.duration.assumed) {
        r.notes.push(format!("duration: {}", duration.method));
    }
    Ok(r)
}

/// Figures for one finding: its hashrate (the detector's own figure, else its accepted shares at
/// the session difficulty between first and last seen), power on the family's default hardware,
/// energy per day and over the configured unknown-start duration. `None` when the finding carries
/// no hashrate or no algorithm family.
pub fn finding_figures(cfg: &EstimateConfig, f: &Finding) -> Option<CalcReport> {
    let e = &f.evidence;
    let family = e.algorithm_family?;
    let seconds = f.last_seen.seconds_since(f.first_seen);
    let mut inputs = CalcInputs {
        family: Some(family),
        hardware: e
            .agent
            .as_deref()
            .and_then(|a| power::class_for_agent(cfg, family, a))
            .map(|c| c.name.to_string()),
        ..Default::default()
    };
    match (&e.hashrate, e.difficulty) {
        (Some(h), _) => inputs.hashrate = Some(h.hashes_per_second),
        (None, Some(d)) if e.shares_accepted > 0 && seconds > 0.0 => {
            inputs.difficulty = Some(d);
            inputs.shares = Some(e.shares_accepted);
            inputs.seconds = Some(seconds);
        }
        _ => return None,
    }
    let mut report = calculate(cfg, &inputs).ok()?;
    if let (Some(h), Some(fig)) = (&e.hashrate, report.hashrate.as_mut()) {
        fig.method = format!("{} ({})", h.method, h.basis);
        if h.basis == "measured" {
            fig.basis = crate::Basis::Measured;
        }
    }
    Some(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::LegalBand;

    /// Acceptance: D = 65536 at one share per 10 s ~ 28.1 TH/s.
    #[test]
    fn bitcoin_share_per_ten_seconds() {
        let cfg = EstimateConfig::default();
        let r = calculate(
            &cfg,
            &CalcInputs {
                family: Some(AlgorithmFamily::Sha256d),
                difficulty: Some(65536.0),
                shares: Some(1),
                seconds: Some(10.0),
                ..Default::default()
            },
        )
        .unwrap();
        let h = r.hashrate.unwrap();
        assert!((h.value / 1e12 - 28.147).abs() < 0.01, "{h:?}");
        assert!(h.low <= h.value && h.high > h.value);
        let p = r.power.unwrap();
        // 28.1 TH/s on an unknown current SHA-256 ASIC (22.5 J/TH, 15-30)
        assert!((p.value - 28.147 * 22.5).abs() < 1.0, "{p:?}");
        assert!(r.notes.iter().any(|n| n.contains("sha256-asic")));
        assert!(r.energy.unwrap().duration.assumed);
    }

    /// Acceptance: CryptoNote target b88d0600 -> difficulty 10000.
    #[test]
    fn cryptonote_target() {
        let cfg = EstimateConfig::default();
        let r = calculate(
            &cfg,
            &CalcInputs {
                target: Some("b88d0600".into()),
                seconds: Some(30.0),
                shares: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.difficulty.unwrap().value, 10000.0);
        // 3 x 10000 hashes / 30 s = 1 kH/s of RandomX -> 20 W at 50 H/s/W
        let h = r.hashrate.unwrap();
        assert!((h.value - 1000.0).abs() < 1e-9);
        assert!((r.power.unwrap().value - 20.0).abs() < 1e-9);
    }

    #[test]
    fn provincial_kwh_with_legal_inputs() {
        let cfg = EstimateConfig::default();
        let r = calculate(
            &cfg,
            &CalcInputs {
                kwh_per_day: Some(148_500.0),
                machines: Some(155),
                gains: Some(100_000.0),
                loss: Some(27_000.0),
                factors: vec!["grid-2022-east".into(), "gbt-2589-2020".into()],
                region: Some("zhejiang".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let e = r.energy.unwrap();
        assert_eq!(e.co2_factor.name, "grid-2022-east");
        assert_eq!(e.coal_factor.name, "gbt-2589-2020");
        assert!((e.cost_per_day.value - 148_500.0 * 1.13).abs() < 1e-6);
        assert_eq!(r.legal.unwrap().band, LegalBand::EspeciallySerious);
    }

    #[test]
    fn estimated_loss_feeds_the_legal_band() {
        let cfg = EstimateConfig::default();
        // 10 kW for 90 days at 0.63 yuan/kWh = 13,608 yuan -> serious
        let r = calculate(
            &cfg,
            &CalcInputs {
                watts: Some(10_000.0),
                machines: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        let a = r.legal.unwrap();
        assert_eq!(a.band, LegalBand::Serious);
        assert!(a.reasons.iter().any(|x| x.contains("electricity cost")));
        // Without any legal figure, no band is offered.
        let r = calculate(
            &cfg,
            &CalcInputs {
                kwh_per_day: Some(148_500.0),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(r.legal.is_none());
    }

    #[test]
    fn figures_for_a_finding() {
        use minetrace_core::{FindingKind, Timestamp};
        let cfg = EstimateConfig::default();
        let mut f = Finding::new(
            "stratum",
            FindingKind::Network,
            Timestamp::from_secs_f64(1000.0),
        );
        assert!(finding_figures(&cfg, &f).is_none());
        f.last_seen = Timestamp::from_secs_f64(1120.0);
        f.evidence.algorithm_family = Some(AlgorithmFamily::CryptoNote);
        f.evidence.difficulty = Some(10_000.0);
        f.evidence.shares_accepted = 12;
        let r = finding_figures(&cfg, &f).unwrap();
        // 12 x 10000 hashes / 120 s = 1 kH/s -> 20 W -> 0.48 kWh/day
        assert!((r.hashrate.unwrap().value - 1000.0).abs() < 1e-9);
        assert!((r.energy.unwrap().kwh_per_day.value - 0.48).abs() < 1e-9);
        assert!(r.legal.is_none());
    }

    /// Equihash by a graphics card miner is priced on a graphics card, not on a Z15.
    #[test]
    fn gpu_miner_software_is_priced_on_a_gpu() {
        use minetrace_core::{FindingKind, HashrateFigure, Timestamp};
        let cfg = EstimateConfig::default();
        let mut f = Finding::new(
            "stratum",
            FindingKind::Network,
            Timestamp::from_secs_f64(1000.0),
        );
        f.evidence.algorithm_family = Some(AlgorithmFamily::Equihash);
        f.evidence.hashrate = Some(HashrateFigure {
            hashes_per_second: 675.0,
            basis: "estimated".into(),
            method: "shares".into(),
        });
        let watts = |f: &Finding| finding_figures(&cfg, f).unwrap().power.unwrap();
        // 0.675 kSol/s x 3.5 J/kSol (Z15) against x 350 J/kSol (GTX 1080 Ti class).
        assert!((watts(&f).value - 2.3625).abs() < 1e-9);
        f.evidence.agent = Some("EWBF 0.3.4b".into());
        let gpu = watts(&f);
        assert!((gpu.value - 236.25).abs() < 1e-9, "{gpu:?}");
        assert!(gpu.method.contains("graphics card"), "{}", gpu.method);
        // A CPU miner's software changes nothing; neither does a family already on GPUs.
        f.evidence.agent = Some("XMRig/6.21.0".into());
        assert!((watts(&f).value - 2.3625).abs() < 1e-9);
        f.evidence.algorithm_family = Some(AlgorithmFamily::KawPow);
        f.evidence.agent = Some("GMiner/2.09".into());
        let kawpow = watts(&f).value;
        f.evidence.agent = None;
        assert_eq!(watts(&f).value, kawpow);
    }

    /// A device model in the agent (Stratum V2 sends vendor and hardware) picks its class.
    #[test]
    fn a_device_model_in_the_agent_is_priced_on_its_class() {
        use minetrace_core::{FindingKind, HashrateFigure, Timestamp};
        let cfg = EstimateConfig::default();
        let mut f = Finding::new("sv2", FindingKind::Network, Timestamp(0));
        f.evidence.algorithm_family = Some(AlgorithmFamily::Sha256d);
        f.evidence.hashrate = Some(HashrateFigure {
            hashes_per_second: 100e12,
            basis: "measured".into(),
            method: "declared".into(),
        });
        let watts = |f: &Finding| finding_figures(&cfg, f).unwrap().power.unwrap().value;
        let default = watts(&f);
        assert!((default - 2_250.0).abs() < 1e-6, "{default}");
        for (agent, want) in [
            ("Bitmain S19j Pro braiins-os-2023.11", 2_950.0),
            ("Bitmain Antminer S9", 10_000.0),
            // Miner software never names a device; a model of another family is not taken.
            ("cgminer/4.11.1", 2_250.0),
            ("Bitmain Antminer L7", 2_250.0),
        ] {
            f.evidence.agent = Some(agent.into());
            assert!((watts(&f) - want).abs() < 1e-6, "{agent}: {}", watts(&f));
        }
    }

    #[test]
    fn inputs_are_validated() {
        let cfg = EstimateConfig::default();
        let bad = |i: CalcInputs| calculate(&cfg, &i).unwrap_err().to_string();
        assert!(bad(CalcInputs {
            factors: vec!["nope".into()],
            ..Default::default()
        })
        .contains("provincial-report"));
        assert!(bad(CalcInputs {
            region: Some("mars".into()),
            ..Default::default()
        })
        .contains("region"));
        assert!(bad(CalcInputs {
            hardware: Some("s99".into()),
            ..Default::default()
        })
        .contains("hardware class"));
        assert!(bad(CalcInputs {
            days: Some(-1.0),
            ..Default::default()
        })
        .contains("days"));
        assert!(bad(CalcInputs {
            target: Some("zz".into()),
            family: Some(AlgorithmFamily::Sha256d),
            ..Default::default()
        })
        .contains("target"));
        assert!(bad(CalcInputs {
            difficulty: Some(1.0),
            seconds: Some(1.0),
            ..Default::default()
        })
        .contains("algo"));
        assert!(bad(CalcInputs {
            coin: Some("XMR".into()),
            ..Default::default()
        })
        .contains("coin"));
        let empty = calculate(&cfg, &CalcInputs::default()).unwrap();
        assert!(empty.hashrate.is_none() && empty.legal.is_none());
    }

    #[test]
    fn a_coin_of_another_algorithm_prices_no_hashrate() {
        let mut cfg = EstimateConfig::default();
        let coin = |family: &str| crate::config::CoinParams {
            family: family.into(),
            network_difficulty: None,
            network_hashrate: Some(1e15),
            block_reward: 1.0,
            block_time_s: 60.0,
            price: 100.0,
            pool_fee: 0.0,
            as_of: "2026-12-01".into(),
            source: String::new(),
        };
        cfg.coins.insert("XMR".into(), coin("randomx"));
        cfg.coins.insert("ETC".into(), coin("etchash"));
        let inputs = |family, symbol: &str| CalcInputs {
            family: Some(family),
            hashrate: Some(1e12),
            coin: Some(symbol.into()),
            ..Default::default()
        };
        let e = calculate(&cfg, &inputs(AlgorithmFamily::Sha256d, "XMR"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("XMR is mined with randomx, the hashrate is sha256d"),
            "{e}"
        );
        // Ethash counted over EthProxy is Ethash work.
        let etc = calculate(&cfg, &inputs(AlgorithmFamily::EthashProxy, "ETC")).unwrap();
        assert!(etc.gains_per_day.is_some());
    }
}
