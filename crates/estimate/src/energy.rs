//! Energy over the activity's duration, electricity cost with regional surcharges, and standard
//! coal and CO2 with named factor sets.

use crate::config::{EstimateConfig, Factor};
use crate::error::{non_negative, EstimateError};
use crate::figure::{grouped, three_significant, Figure};
use minetrace_core::Timestamp;
use serde::{Deserialize, Serialize};

/// How long the activity lasted, and whether that was observed or assumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityDuration {
    pub days: f64,
    /// True when the start was unknown and the configured assumption was used.
    pub assumed: bool,
    pub method: String,
}

/// Duration from first/last seen. `first_seen = None` (start unknown: e.g. the miner was running
/// before monitoring began) adds the configured assumption (default 3 months) and says so.
pub fn activity_duration(
    cfg: &EstimateConfig,
    first_seen: Option<Timestamp>,
    last_seen: Timestamp,
) -> Result<ActivityDuration, EstimateError> {
    match first_seen {
        Some(first) => {
            if last_seen < first {
                return Err(EstimateError::invalid("last_seen", "is before first_seen"));
            }
            Ok(ActivityDuration {
                days: last_seen.seconds_since(first) / 86_400.0,
                assumed: false,
                method: format!(
                    "observed {} to {}",
                    first.to_rfc3339(),
                    last_seen.to_rfc3339()
                ),
            })
        }
        None => Ok(ActivityDuration {
            days: cfg.energy.unknown_start_days,
            assumed: true,
            method: cfg.energy.unknown_start_label.clone(),
        }),
    }
}

/// A duration given directly in days (investigator's input).
pub fn duration_days(days: f64, method: &str) -> Result<ActivityDuration, EstimateError> {
    Ok(ActivityDuration {
        days: non_negative("days", days)?,
        assumed: false,
        method: method.to_string(),
    })
}

/// Energy per day (kWh/day) for a power in watts.
pub fn kwh_per_day(power_w: &Figure) -> Figure {
    power_w.scaled(24.0 / 1000.0, "kWh/day", "x 24 h / 1000")
}

fn as_estimate(f: &Figure) -> Figure {
    Figure {
        basis: crate::Basis::Estimated,
        ..f.clone()
    }
}

/// Energy (kWh) over a duration for a daily energy figure (`estimated` when the duration was
/// assumed).
pub fn energy_over(kwh_per_day: &Figure, duration: &ActivityDuration) -> Figure {
    let base = if duration.assumed {
        as_estimate(kwh_per_day)
    } else {
        kwh_per_day.clone()
    };
    base.scaled(
        duration.days,
        "kWh",
        &format!(
            "x {} days ({})",
            three_significant(duration.days),
            duration.method
        ),
    )
}

/// A factor picked from a named set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedFactor {
    pub name: String,
    pub per_kwh: f64,
    pub source: String,
}

fn pick(
    table: &'static str,
    map: &std::collections::BTreeMap<String, Factor>,
    name: &str,
) -> Result<NamedFactor, EstimateError> {
    map.get(name)
        .map(|f| NamedFactor {
            name: name.to_string(),
            per_kwh: f.per_kwh,
            source: f.source.clone(),
        })
        .ok_or_else(|| EstimateError::unknown(table, name, map.keys()))
}

/// The coal factor set `name`, or the configured default.
pub fn coal_factor(cfg: &EstimateConfig, name: Option<&str>) -> Result<NamedFactor, EstimateError> {
    pick(
        "coal factor set",
        &cfg.factors.coal,
        name.unwrap_or(&cfg.factors.coal_default),
    )
}

/// The CO2 factor set `name`, or the configured default.
pub fn co2_factor(cfg: &EstimateConfig, name: Option<&str>) -> Result<NamedFactor, EstimateError> {
    pick(
        "CO2 factor set",
        &cfg.factors.co2,
        name.unwrap_or(&cfg.factors.co2_default),
    )
}

/// Standard coal (kgce) for an energy figure (kWh or kWh/day: the unit follows). Always
/// `estimated`: the factor is a convention, whatever the energy's basis.
pub fn standard_coal(energy: &Figure, factor: &NamedFactor) -> Figure {
    let unit = energy.unit.replace("kWh", "kgce");
    as_estimate(energy).scaled(
        factor.per_kwh,
        &unit,
        &format!(
            "x {} kgce/kWh ('{}': {})",
            factor.per_kwh, factor.name, factor.source
        ),
    )
}

/// CO2 (kg) for an energy figure (kWh or kWh/day: the unit follows). Always `estimated`.
pub fn co2(energy: &Figure, factor: &NamedFactor) -> Figure {
    let unit = energy.unit.replace("kWh", "kg CO2");
    as_estimate(energy).scaled(
        factor.per_kwh,
        &unit,
        &format!(
            "x {} kg CO2/kWh ('{}': {})",
            factor.per_kwh, factor.name, factor.source
        ),
    )
}

/// The electricity price that applies in a region: base plus the region's punitive surcharge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tariff {
    pub region: Option<String>,
    pub base_per_kwh: f64,
    pub surcharge_per_kwh: f64,
    pub currency: String,
    pub method: String,
}

impl Tariff {
    pub fn per_kwh(&self) -> f64 {
        self.base_per_kwh + self.surcharge_per_kwh
    }
}

/// Resolve a region by id or alias (case-insensitive); `None` = base price only.
pub fn tariff(cfg: &EstimateConfig, region: Option<&str>) -> Result<Tariff, EstimateError> {
    let e = &cfg.electricity;
    let base = e.base_price_per_kwh;
    let Some(wanted) = region.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(Tariff {
            region: None,
            base_per_kwh: base,
            surcharge_per_kwh: 0.0,
            currency: e.currency.clone(),
            method: format!("{base} {}/kWh ({})", e.currency, e.base_price_source),
        });
    };
    let norm = |s: &str| s.trim().to_lowercase().replace([' ', '_'], "-");
    let w = norm(wanted);
    let found = e
        .surcharges
        .iter()
        .find(|(id, s)| norm(id) == w || s.aliases.iter().any(|a| norm(a) == w));
    let (id, s) =
        found.ok_or_else(|| EstimateError::unknown("region", wanted, e.surcharges.keys()))?;
    Ok(Tariff {
        region: Some(id.clone()),
        base_per_kwh: base,
        surcharge_per_kwh: s.per_kwh,
        currency: e.currency.clone(),
        method: format!(
            "{base} + {} {} {}/kWh surcharge ({}; {})",
            s.per_kwh, id, e.currency, e.base_price_source, s.source
        ),
    })
}

/// Cost of an energy figure at a tariff (unit: currency, or currency/day for kWh/day).
/// Always `estimated`: the tariff is an assumption about what was paid.
pub fn electricity_cost(energy: &Figure, tariff: &Tariff) -> Figure {
    let unit = energy.unit.replace("kWh", &tariff.currency);
    as_estimate(energy).scaled(tariff.per_kwh(), &unit, &format!("x {}", tariff.method))
}

/// All consequences of a daily energy figure: the table investigators ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyImpact {
    pub kwh_per_day: Figure,
    pub duration: ActivityDuration,
    pub kwh_total: Figure,
    pub coal_factor: NamedFactor,
    pub co2_factor: NamedFactor,
    pub tariff: Tariff,
    pub coal_t_per_day: Figure,
    pub coal_t_per_year: Figure,
    pub coal_t_total: Figure,
    pub co2_t_per_year: Figure,
    pub co2_t_total: Figure,
    pub cost_per_day: Figure,
    pub cost_total: Figure,
}

/// Compute coal, CO2 and cost per day, per year and over the duration.
pub fn energy_impact(
    kwh_per_day: &Figure,
    duration: ActivityDuration,
    coal_factor: NamedFactor,
    co2_factor: NamedFactor,
    tariff: Tariff,
) -> Result<EnergyImpact, EstimateError> {
    non_negative("kWh/day", kwh_per_day.value)?;
    let kwh_total = energy_over(kwh_per_day, &duration);
    let per_year = kwh_per_day.scaled(365.0, "kWh/year", "x 365 days");
    let coal_t_per_day =
        standard_coal(kwh_per_day, &coal_factor).scaled(0.001, "t/day", "/ 1000 (t)");
    let coal_t_per_year =
        standard_coal(&per_year, &coal_factor).scaled(0.001, "t/year", "/ 1000 (t)");
    let coal_t_total = standard_coal(&kwh_total, &coal_factor).scaled(0.001, "t", "/ 1000 (t)");
    let co2_t_per_year = co2(&per_year, &co2_factor).scaled(0.001, "t/year", "/ 1000 (t)");
    let co2_t_total = co2(&kwh_total, &co2_factor).scaled(0.001, "t", "/ 1000 (t)");
    let cost_per_day = electricity_cost(kwh_per_day, &tariff);
    let cost_total = electricity_cost(&kwh_total, &tariff);
    Ok(EnergyImpact {
        kwh_per_day: kwh_per_day.clone(),
        duration,
        kwh_total,
        coal_factor,
        co2_factor,
        tariff,
        coal_t_per_day,
        coal_t_per_year,
        coal_t_total,
        co2_t_per_year,
        co2_t_total,
        cost_per_day,
        cost_total,
    })
}

/// One-line summary ("148,500 kWh/day: 60 t coal/day, 54,040 t CO2/year").
pub fn summary(i: &EnergyImpact) -> String {
    format!(
        "{} kWh/day: {} t standard coal/day, {} t CO2/year, {} {}/day",
        grouped(i.kwh_per_day.value),
        grouped(i.coal_t_per_day.value),
        grouped(i.co2_t_per_year.value),
        grouped(i.cost_per_day.value),
        i.tariff.currency
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provincial(kwh: f64) -> EnergyImpact {
        let cfg = EstimateConfig::default();
        let day = Figure::measured(kwh, "kWh/day", "given");
        energy_impact(
            &day,
            duration_days(365.0, "one year").unwrap(),
            coal_factor(&cfg, None).unwrap(),
            co2_factor(&cfg, None).unwrap(),
            tariff(&cfg, None).unwrap(),
        )
        .unwrap()
    }

    /// Acceptance: the provincial report's 148,500 kWh/day -> ~60 t coal/day, ~54,000 t CO2/year.
    #[test]
    fn provincial_report_is_reproduced_with_default_factors() {
        let i = provincial(148_500.0);
        assert!(
            (i.coal_t_per_day.value - 60.0).abs() < 0.5,
            "{}",
            i.coal_t_per_day.value
        );
        assert!((i.coal_t_per_year.value - 21_900.0).abs() < 50.0);
        assert!(
            (i.co2_t_per_year.value - 54_000.0).abs() < 100.0,
            "{}",
            i.co2_t_per_year.value
        );
        assert!(i.co2_t_per_year.method.contains("provincial-report"));
        assert_eq!(i.co2_t_per_year.basis, crate::Basis::Estimated);
        assert_eq!(i.kwh_total.basis, crate::Basis::Measured);
        assert!(summary(&i).contains("148,500 kWh/day"));
    }

    #[test]
    fn other_factor_sets_are_selectable_by_name() {
        let cfg = EstimateConfig::default();
        let f = co2_factor(&cfg, Some("grid-2022-southwest")).unwrap();
        assert_eq!(f.per_kwh, 0.2268);
        assert_eq!(
            coal_factor(&cfg, Some("gbt-2589-2020")).unwrap().per_kwh,
            0.1229
        );
        let err = co2_factor(&cfg, Some("grid-2022-mars")).unwrap_err();
        assert!(err.to_string().contains("grid-national-2023"), "{err}");
    }

    #[test]
    fn regional_surcharge_by_id_or_alias() {
        let cfg = EstimateConfig::default();
        let t = tariff(&cfg, Some("四川")).unwrap();
        assert_eq!(t.region.as_deref(), Some("sichuan"));
        assert!((t.per_kwh() - 2.63).abs() < 1e-9);
        let t = tariff(&cfg, Some("Inner Mongolia")).unwrap();
        assert!((t.per_kwh() - 1.63).abs() < 1e-9);
        assert!(tariff(&cfg, Some("atlantis")).is_err());
        let day = Figure::measured(100.0, "kWh/day", "x");
        let c = electricity_cost(&day, &tariff(&cfg, Some("zhejiang")).unwrap());
        assert!((c.value - 113.0).abs() < 1e-9);
        assert_eq!(c.unit, "yuan/day");
    }

    #[test]
    fn unknown_start_uses_the_stated_assumption() {
        let cfg = EstimateConfig::default();
        let last = Timestamp::from_secs_f64(1_700_000_000.0);
        let d = activity_duration(&cfg, None, last).unwrap();
        assert!(d.assumed && d.days == 90.0 && d.method.contains("3 months"));
        let first = Timestamp::from_secs_f64(1_700_000_000.0 - 2.0 * 86_400.0);
        let d = activity_duration(&cfg, Some(first), last).unwrap();
        assert!(!d.assumed && (d.days - 2.0).abs() < 1e-9);
        assert!(activity_duration(&cfg, Some(last), first).is_err());
    }

    #[test]
    fn power_to_energy() {
        let w = Figure::estimated(1000.0, 800.0, 1200.0, "W", "x");
        let d = kwh_per_day(&w);
        assert!((d.value - 24.0).abs() < 1e-9 && (d.low - 19.2).abs() < 1e-9);
        let total = energy_over(&d, &duration_days(10.0, "given").unwrap());
        assert!((total.value - 240.0).abs() < 1e-9);
    }
}
