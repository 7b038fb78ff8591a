//! Statistics for the console: totals by unit, region, coin and class (kWh/day, coal, CO2,
//! money), as sorted tables.

use crate::energy::NamedFactor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The figures of one case that statistics add up.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CaseFigures {
    pub case_id: String,
    /// Organisation unit that owns the address range or host.
    pub unit: String,
    pub region: String,
    /// Coin symbol (`XMR`), or empty when unknown.
    pub coin: String,
    /// `active`, `passive`, `research` or `unclassified`.
    pub class: String,
    pub kwh_per_day: f64,
    /// Money lost (electricity cost over the duration), in the configured currency.
    pub cost: f64,
    /// Estimated gains, in the configured currency.
    pub gains: f64,
    pub machines: u64,
}

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    Unit,
    Region,
    Coin,
    Class,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Unit => "unit",
            GroupBy::Region => "region",
            GroupBy::Coin => "coin",
            GroupBy::Class => "class",
        }
    }

    fn key(self, c: &CaseFigures) -> &str {
        let k = match self {
            GroupBy::Unit => &c.unit,
            GroupBy::Region => &c.region,
            GroupBy::Coin => &c.coin,
            GroupBy::Class => &c.class,
        };
        if k.trim().is_empty() {
            "(unknown)"
        } else {
            k.trim()
        }
    }
}

/// One row of a statistics table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsRow {
    pub key: String,
    pub cases: u64,
    pub machines: u64,
    pub kwh_per_day: f64,
    pub coal_t_per_day: f64,
    pub co2_t_per_year: f64,
    pub cost: f64,
    pub gains: f64,
}

/// A table with the factors it was computed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsTable {
    pub group_by: GroupBy,
    pub coal_factor: String,
    pub co2_factor: String,
    pub rows: Vec<StatsRow>,
    pub total: StatsRow,
}

fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        0.0
    }
}

/// Group cases, compute coal and CO2 from kWh with one factor set for the whole table (so rows
/// compare), and sort by kWh/day descending, then by key.
pub fn aggregate(
    cases: &[CaseFigures],
    by: GroupBy,
    coal: &NamedFactor,
    co2: &NamedFactor,
) -> StatsTable {
    let mut groups: BTreeMap<String, StatsRow> = BTreeMap::new();
    let blank = |key: &str| StatsRow {
        key: key.to_string(),
        cases: 0,
        machines: 0,
        kwh_per_day: 0.0,
        coal_t_per_day: 0.0,
        co2_t_per_year: 0.0,
        cost: 0.0,
        gains: 0.0,
    };
    let mut total = blank("total");
    for c in cases {
        let key = by.key(c);
        let row = groups.entry(key.to_string()).or_insert_with(|| blank(key));
        for r in [&mut *row, &mut total] {
            r.cases += 1;
            r.machines = r.machines.saturating_add(c.machines);
            r.kwh_per_day += clean(c.kwh_per_day);
            r.cost += clean(c.cost);
            r.gains += clean(c.gains);
        }
    }
    let finish = |r: &mut StatsRow| {
        r.coal_t_per_day = r.kwh_per_day * coal.per_kwh / 1000.0;
        r.co2_t_per_year = r.kwh_per_day * 365.0 * co2.per_kwh / 1000.0;
    };
    let mut rows: Vec<StatsRow> = groups.into_values().collect();
    rows.iter_mut().for_each(finish);
    finish(&mut total);
    rows.sort_by(|a, b| {
        b.kwh_per_day
            .total_cmp(&a.kwh_per_day)
            .then_with(|| a.key.cmp(&b.key))
    });
    StatsTable {
        group_by: by,
        coal_factor: coal.name.clone(),
        co2_factor: co2.name.clone(),
        rows,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::{co2_factor, coal_factor};
    use crate::EstimateConfig;

    fn case(unit: &str, region: &str, coin: &str, class: &str, kwh: f64) -> CaseFigures {
        CaseFigures {
            case_id: format!("{unit}-{coin}"),
            unit: unit.into(),
            region: region.into(),
            coin: coin.into(),
            class: class.into(),
            kwh_per_day: kwh,
            cost: kwh * 0.63,
            gains: 10.0,
            machines: 2,
        }
    }

    #[test]
    fn groups_sorted_with_totals() {
        let cfg = EstimateConfig::default();
        let coal = coal_factor(&cfg, None).unwrap();
        let co2 = co2_factor(&cfg, None).unwrap();
        let cases = vec![
            case("college", "east", "XMR", "active", 100.0),
            case("hospital", "east", "XMR", "passive", 50.0),
            case("college", "east", "ETC", "active", 1000.0),
            case("", "north", "", "research", f64::NAN),
        ];
        let t = aggregate(&cases, GroupBy::Unit, &coal, &co2);
        let keys: Vec<&str> = t.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["college", "hospital", "(unknown)"]);
        assert_eq!(t.rows[0].cases, 2);
        assert!((t.rows[0].kwh_per_day - 1100.0).abs() < 1e-9);
        assert!((t.total.kwh_per_day - 1150.0).abs() < 1e-9);
        assert!((t.total.coal_t_per_day - 1150.0 * 0.404 / 1000.0).abs() < 1e-9);
        assert!((t.total.co2_t_per_year - 1150.0 * 365.0 * 0.997 / 1000.0).abs() < 1e-9);
        assert_eq!(t.total.machines, 8);
        let by_coin = aggregate(&cases, GroupBy::Coin, &coal, &co2);
        assert_eq!(by_coin.rows[0].key, "ETC");
        let by_class = aggregate(&cases, GroupBy::Class, &coal, &co2);
        assert_eq!(by_class.rows.len(), 3);
        assert_eq!(by_class.co2_factor, "provincial-report");
        assert!(aggregate(&[], GroupBy::Region, &coal, &co2).rows.is_empty());
    }
}
