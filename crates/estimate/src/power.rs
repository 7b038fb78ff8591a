//! Power: estimated from hashrate by hardware class, or measured from RAPL energy counters and
//! NVML power readings, attributed to a process by its CPU or GPU share.

use crate::config::{EstimateConfig, HardwareClass};
use crate::error::{non_negative, EstimateError};
use crate::family::family_name;
use crate::figure::{si, three_significant, Figure};
use minetrace_core::AlgorithmFamily;

/// Joules per hash represented by one unit of efficiency, or `None` for an unknown unit.
/// `J/TH` -> 1e-12; `H/s/W` (hashes per joule) is inverted by the caller via a negative marker,
/// so this returns `Some((factor, inverted))`.
pub fn joules_per_hash_factor(unit: &str) -> Option<(f64, bool)> {
    let u = unit.trim().to_ascii_lowercase().replace("sol", "h");
    Some(match u.as_str() {
        "j/h" => (1.0, false),
        "j/kh" => (1e-3, false),
        "j/mh" => (1e-6, false),
        "j/gh" => (1e-9, false),
        "j/th" => (1e-12, false),
        "j/ph" => (1e-15, false),
        // hashes per second per watt = hashes per joule
        "h/s/w" | "h/j" => (1.0, true),
        "kh/s/w" | "kh/j" => (1e3, true),
        "mh/s/w" | "mh/j" => (1e6, true),
        _ => return None,
    })
}

/// Joules per hash for an efficiency figure in `unit`.
fn joules_per_hash(efficiency: f64, unit: &str) -> Option<f64> {
    let (factor, inverted) = joules_per_hash_factor(unit)?;
    if inverted {
        Some(1.0 / (efficiency * factor))
    } else {
        Some(efficiency * factor)
    }
}

/// A hardware class resolved from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedClass<'a> {
    pub name: &'a str,
    pub class: &'a HardwareClass,
}

/// Look up a class by name.
pub fn hardware_class<'a>(
    cfg: &'a EstimateConfig,
    name: &str,
) -> Result<ResolvedClass<'a>, EstimateError> {
    let key = name.trim().to_ascii_lowercase();
    cfg.power
        .classes
        .get_key_value(&key)
        .map(|(k, c)| ResolvedClass {
            name: k.as_str(),
            class: c,
        })
        .ok_or_else(|| EstimateError::unknown("hardware class", name, cfg.power.classes.keys()))
}

/// The class assumed for a family when the hardware is unknown.
pub fn default_class_for(
    cfg: &EstimateConfig,
    family: AlgorithmFamily,
) -> Result<ResolvedClass<'_>, EstimateError> {
    let fname = family_name(family);
    let class_name = cfg.power.default_class.get(fname).ok_or_else(|| {
        EstimateError::invalid(
            "family",
            format!("no default hardware class for '{fname}'; name one with a class"),
        )
    })?;
    hardware_class(cfg, class_name)
}

/// The class a family's hashrate is priced on when the agent string says what mines:
/// - miner software that mines on graphics cards only goes on the family's `<family>-gpu`
///   class where the family's default is not already a GPU one and the configuration has such a
///   class (an Equihash GPU miner is not a Z15 ASIC: 100 times the power per solution);
/// - a string that is no miner software but names a device model (Stratum V2 sends the vendor
///   and hardware, `Bitmain S19j Pro`) goes on that model's class ([`crate::asic::class_for_model`])
///   when the class is of the finding's family (an S9 draws 100 J/TH, the default 22.5).
///
/// `None`: the family's default.
pub fn class_for_agent<'a>(
    cfg: &'a EstimateConfig,
    family: AlgorithmFamily,
    agent: &str,
) -> Option<ResolvedClass<'a>> {
    let fname = family_name(family);
    let default = cfg.power.default_class.get(fname)?;
    let class = match minetrace_intel::miner_software(agent) {
        Some(sw) if sw.gpu_only => hardware_class(cfg, &format!("{fname}-gpu")).ok()?,
        Some(_) => return None,
        None => {
            let class = hardware_class(cfg, crate::asic::class_for_model(agent)?).ok()?;
            if crate::family::parse_family(&class.class.family) != Some(family) {
                return None;
            }
            class
        }
    };
    (class.name != default.as_str()).then_some(class)
}

/// Estimated power (W) of `hashrate` (H/s, itself possibly a range) on hardware `class`.
/// The efficiency range is the class's own low/high, else +-`range_fraction`.
pub fn power_from_hashrate(
    cfg: &EstimateConfig,
    hashrate: &Figure,
    class: &ResolvedClass<'_>,
) -> Result<Figure, EstimateError> {
    non_negative("hashrate", hashrate.value)?;
    let c = class.class;
    let spread = cfg.power.range_fraction;
    let (eff_low, eff_high) = match (c.low, c.high) {
        (Some(l), Some(h)) => (l, h),
        _ => (c.efficiency * (1.0 - spread), c.efficiency * (1.0 + spread)),
    };
    let unit_err =
        || EstimateError::invalid("unit", format!("unknown efficiency unit '{}'", c.unit));
    let jph = joules_per_hash(c.efficiency, &c.unit).ok_or_else(unit_err)?;
    let jph_a = joules_per_hash(eff_low, &c.unit).ok_or_else(unit_err)?;
    let jph_b = joules_per_hash(eff_high, &c.unit).ok_or_else(unit_err)?;
    let (jph_low, jph_high) = (jph_a.min(jph_b), jph_a.max(jph_b));
    let step = format!(
        "x {} {} ({}, {}-{} {}; {})",
        three_significant(c.efficiency),
        c.unit,
        c.label,
        three_significant(eff_low),
        three_significant(eff_high),
        c.unit,
        c.source
    );
    let watts = hashrate.times_range(jph, jph_low, jph_high, "W", &step);
    Ok(watts)
}

/// Power for a bare hashrate in H/s on the family's default class.
pub fn power_for_family(
    cfg: &EstimateConfig,
    family: AlgorithmFamily,
    hashes_per_second: f64,
) -> Result<Figure, EstimateError> {
    power_on_class(cfg, &default_class_for(cfg, family)?, hashes_per_second)
}

/// Estimated power (W) of a plain hashrate (H/s) on hardware `class`.
pub fn power_on_class(
    cfg: &EstimateConfig,
    class: &ResolvedClass<'_>,
    hashes_per_second: f64,
) -> Result<Figure, EstimateError> {
    let h = non_negative("hashrate", hashes_per_second)?;
    let hr = Figure::estimated(h, h, h, "H/s", format!("{}H/s", si(h)));
    power_from_hashrate(cfg, &hr, class)
}

/// One reading of a RAPL energy counter (`/sys/class/powercap/intel-rapl:N/energy_uj`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RaplSample {
    /// Seconds on any monotonic clock.
    pub at_s: f64,
    pub energy_uj: u64,
}

/// Average power (W) between consecutive RAPL samples of one domain. The counter wraps to zero
/// after `max_energy_range_uj`; one wrap between two samples is undone. Samples must be closer
/// together than one wrap period (max range / power: about an hour for a 250 W package).
pub fn rapl_power(
    samples: &[RaplSample],
    max_energy_range_uj: u64,
    domain: &str,
) -> Result<Figure, EstimateError> {
    if samples.len() < 2 {
        return Err(EstimateError::invalid(
            "rapl samples",
            "need at least two samples",
        ));
    }
    if max_energy_range_uj == 0 {
        return Err(EstimateError::invalid("max_energy_range_uj", "must be > 0"));
    }
    let mut joules = 0.0;
    let mut seconds = 0.0;
    let mut wraps = 0u32;
    for (i, pair) in samples.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        if a.energy_uj > max_energy_range_uj || b.energy_uj > max_energy_range_uj {
            return Err(EstimateError::invalid(
                "rapl samples",
                format!(
                    "sample {} exceeds max_energy_range_uj {max_energy_range_uj}",
                    i + 1
                ),
            ));
        }
        let dt = b.at_s - a.at_s;
        if !(dt.is_finite() && dt > 0.0) {
            return Err(EstimateError::invalid(
                "rapl samples",
                format!("sample {} is not later than sample {i}", i + 1),
            ));
        }
        let delta_uj = if b.energy_uj >= a.energy_uj {
            b.energy_uj - a.energy_uj
        } else {
            wraps += 1;
            (max_energy_range_uj - a.energy_uj) + b.energy_uj
        };
        joules += delta_uj as f64 / 1e6;
        seconds += dt;
    }
    let watts = joules / seconds;
    Ok(Figure::measured(
        watts,
        "W",
        format!(
            "RAPL {domain}: {} J over {} s ({} samples, {wraps} counter wrap(s) undone)",
            three_significant(joules),
            three_significant(seconds),
            samples.len()
        ),
    ))
}

/// Attribute a measured package/GPU power to a process by its share of the device's busy time.
/// `share` in [0, 1] (process CPU time / all CPU time over the same interval, or GPU SM share).
pub fn attribute_by_share(
    device_power: &Figure,
    share: f64,
    what: &str,
) -> Result<Figure, EstimateError> {
    if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
        return Err(EstimateError::invalid(
            "share",
            format!("{share} is not in [0, 1]"),
        ));
    }
    Ok(device_power.scaled(
        share,
        "W",
        &format!(
            "x {}% {what} share attributed to the process",
            three_significant(share * 100.0)
        ),
    ))
}

/// One NVML power reading (`nvmlDeviceGetPowerUsage`, milliwatts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NvmlReading {
    pub gpu_index: u32,
    pub power_mw: u32,
}

/// A process's share of one GPU (from `nvmlDeviceGetProcessUtilization` SM %, or its share of
/// the GPU's compute processes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuShare {
    pub gpu_index: u32,
    /// Share in [0, 1].
    pub share: f64,
}

/// Measured GPU power attributed to one process: for each GPU the mean of its readings times the
/// process's share of that GPU, summed over GPUs.
pub fn nvml_process_power(
    readings: &[NvmlReading],
    shares: &[GpuShare],
) -> Result<Figure, EstimateError> {
    if shares.is_empty() {
        return Err(EstimateError::invalid(
            "gpu shares",
            "the process uses no GPU",
        ));
    }
    let mut total = 0.0;
    let mut parts = Vec::new();
    for s in shares.iter().take(64) {
        if !(s.share.is_finite() && (0.0..=1.0).contains(&s.share)) {
            return Err(EstimateError::invalid(
                "gpu shares",
                format!("GPU {} share {} is not in [0, 1]", s.gpu_index, s.share),
            ));
        }
        let (sum, n) = readings
            .iter()
            .filter(|r| r.gpu_index == s.gpu_index)
            .fold((0.0, 0u32), |(sum, n), r| {
                (sum + r.power_mw as f64 / 1000.0, n + 1)
            });
        if n == 0 {
            return Err(EstimateError::invalid(
                "nvml readings",
                format!("no power reading for GPU {}", s.gpu_index),
            ));
        }
        let mean = sum / n as f64;
        total += mean * s.share;
        parts.push(format!(
            "GPU{} {} W x {}%",
            s.gpu_index,
            three_significant(mean),
            three_significant(s.share * 100.0)
        ));
    }
    Ok(Figure::measured(
        total,
        "W",
        format!("NVML power: {}", parts.join(" + ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hr(h: f64) -> Figure {
        Figure::estimated(h, h, h, "H/s", "test")
    }

    #[test]
    fn s19_pro_power_with_twenty_percent_range() {
        let cfg = EstimateConfig::default();
        let class = hardware_class(&cfg, "s19-pro").unwrap();
        let w = power_from_hashrate(&cfg, &hr(100e12), &class).unwrap();
        assert!((w.value - 2950.0).abs() < 1e-6, "{w:?}");
        assert!((w.low - 2360.0).abs() < 1e-6 && (w.high - 3540.0).abs() < 1e-6);
        assert_eq!(w.basis, crate::Basis::Estimated);
        assert!(w.method.contains("S19 Pro"));
    }

    #[test]
    fn randomx_hashes_per_watt_is_inverted() {
        let cfg = EstimateConfig::default();
        // 10 kH/s at 50 H/s/W = 200 W; 40-60 H/s/W -> 167-250 W
        let w = power_for_family(&cfg, AlgorithmFamily::CryptoNote, 10_000.0).unwrap();
        assert!((w.value - 200.0).abs() < 1e-9);
        assert!((w.low - 10_000.0 / 60.0).abs() < 1e-9);
        assert!((w.high - 250.0).abs() < 1e-9);
    }

    #[test]
    fn every_family_has_a_default_class() {
        let cfg = EstimateConfig::default();
        for f in crate::family::NAMED_FAMILIES {
            let w = power_for_family(&cfg, *f, 1e9).unwrap();
            assert!(w.is_consistent() && w.value > 0.0, "{f:?}");
        }
        assert!(power_for_family(&cfg, AlgorithmFamily::Other, 1.0).is_err());
    }

    #[test]
    fn rapl_undoes_one_wrap() {
        let max = 262_143_328_850u64;
        let s = [
            RaplSample {
                at_s: 0.0,
                energy_uj: max - 50_000_000,
            },
            RaplSample {
                at_s: 1.0,
                energy_uj: 50_000_000,
            },
        ];
        let p = rapl_power(&s, max, "package-0").unwrap();
        assert!((p.value - 100.0).abs() < 1e-9, "{p:?}");
        assert_eq!(p.basis, crate::Basis::Measured);
        assert!(p.method.contains("1 counter wrap"));
    }

    #[test]
    fn rapl_rejects_bad_samples() {
        let s = [
            RaplSample {
                at_s: 5.0,
                energy_uj: 10,
            },
            RaplSample {
                at_s: 5.0,
                energy_uj: 20,
            },
        ];
        assert!(rapl_power(&s, 1000, "p").is_err());
        assert!(rapl_power(&s[..1], 1000, "p").is_err());
        let over = [
            RaplSample {
                at_s: 0.0,
                energy_uj: 10,
            },
            RaplSample {
                at_s: 1.0,
                energy_uj: 2000,
            },
        ];
        assert!(rapl_power(&over, 1000, "p").is_err());
    }

    #[test]
    fn attribution_and_nvml() {
        let pkg = Figure::measured(120.0, "W", "RAPL");
        let p = attribute_by_share(&pkg, 0.75, "CPU").unwrap();
        assert!((p.value - 90.0).abs() < 1e-9);
        assert!(attribute_by_share(&pkg, 1.5, "CPU").is_err());

        let readings = [
            NvmlReading {
                gpu_index: 0,
                power_mw: 200_000,
            },
            NvmlReading {
                gpu_index: 0,
                power_mw: 220_000,
            },
            NvmlReading {
                gpu_index: 1,
                power_mw: 100_000,
            },
        ];
        let shares = [
            GpuShare {
                gpu_index: 0,
                share: 1.0,
            },
            GpuShare {
                gpu_index: 1,
                share: 0.5,
            },
        ];
        let p = nvml_process_power(&readings, &shares).unwrap();
        assert!((p.value - 260.0).abs() < 1e-9, "{p:?}");
        let missing = [GpuShare {
            gpu_index: 7,
            share: 1.0,
        }];
        assert!(nvml_process_power(&readings, &missing).is_err());
    }
}
