//! [`EstimateConfig`]: every table and factor the estimates use, with documented defaults.
//!
//! Loaded from a TOML string ([`EstimateConfig::from_toml_str`]). Named tables (hardware classes,
//! factor sets, regions, coins) given in the file are merged over the defaults unless
//! `replace_default_tables = true`; scalar settings in a section replace the default.

use crate::error::EstimateError;
use crate::family::parse_family;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the estimation library can be told. `Default` reproduces docs/estimation.md.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EstimateConfig {
    /// When true, named tables in the file replace the built-in ones instead of extending them.
    pub replace_default_tables: bool,
    pub power: PowerConfig,
    pub energy: EnergyConfig,
    pub electricity: ElectricityConfig,
    pub factors: FactorConfig,
    /// Offline coin parameters for gains, keyed by symbol (`XMR`, `BTC`...). Empty by default:
    /// network figures change daily, so the investigator supplies them with their date.
    pub coins: BTreeMap<String, CoinParams>,
    pub legal: LegalConfig,
    pub rigs: RigConfig,
}

/// Power from hashrate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PowerConfig {
    /// Spread applied to a class without its own low/high (0.2 = +-20%).
    pub range_fraction: f64,
    /// Hardware classes by name.
    pub classes: BTreeMap<String, HardwareClass>,
    /// Class used when the hardware is unknown, keyed by family name (`sha256d`, `randomx`...).
    pub default_class: BTreeMap<String, String>,
}

/// One kind of mining hardware and its energy efficiency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareClass {
    /// Family name as accepted by [`crate::family::parse_family`].
    pub family: String,
    /// Efficiency in `unit`.
    pub efficiency: f64,
    /// `J/TH`, `J/GH`, `J/MH`, `J/kH`, `J/H` (also `J/kSol`...), or `H/s/W`, `kH/s/W` (hashes per joule).
    pub unit: String,
    /// Explicit range in `unit`; otherwise `range_fraction` around `efficiency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    /// Human-readable name (`Antminer S19 Pro`).
    pub label: String,
    /// Where the figure comes from.
    pub source: String,
}

/// Duration assumptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnergyConfig {
    /// Days of activity assumed when the start of mining is unknown.
    pub unknown_start_days: f64,
    /// How that assumption is stated in reports.
    pub unknown_start_label: String,
}

/// Electricity prices and punitive surcharges for mining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElectricityConfig {
    pub currency: String,
    pub base_price_per_kwh: f64,
    pub base_price_source: String,
    /// Surcharges keyed by region id (`zhejiang`, `sichuan`...).
    pub surcharges: BTreeMap<String, Surcharge>,
}

/// A regional surcharge on electricity used for mining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surcharge {
    pub per_kwh: f64,
    /// Other names the region goes by (`浙江`, `Zhejiang Province`).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub source: String,
}

/// Named conversion factors from kWh to standard coal and CO2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FactorConfig {
    pub coal_default: String,
    pub co2_default: String,
    /// kg of standard coal equivalent (kgce) per kWh, by set name.
    pub coal: BTreeMap<String, Factor>,
    /// kg CO2 per kWh, by set name.
    pub co2: BTreeMap<String, Factor>,
}

/// One named factor with its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    pub per_kwh: f64,
    pub source: String,
}

/// Offline, updatable parameters of one coin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoinParams {
    pub family: String,
    /// Network difficulty (as the coin's node reports it). One of this or `network_hashrate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_difficulty: Option<f64>,
    /// Network hashrate in H/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_hashrate: Option<f64>,
    /// Coins per block paid to the miner (subsidy plus typical fees).
    pub block_reward: f64,
    pub block_time_s: f64,
    /// Price of one coin in the configured currency.
    pub price: f64,
    /// Pool fee as a fraction (0.01 = 1%).
    #[serde(default)]
    pub pool_fee: f64,
    /// Date the figures were taken (`2026-01-15`), shown with every result.
    pub as_of: String,
    #[serde(default)]
    pub source: String,
}

/// Legal thresholds (decision support, not a verdict).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LegalConfig {
    pub jurisdiction: String,
    pub currency: String,
    pub serious: Thresholds,
    pub especially_serious: Thresholds,
}

/// Any one threshold reached puts a case in the band. `None` = not a criterion here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machines: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gains: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
}

/// Rig counting behind one address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RigConfig {
    /// Pools tune vardiff so each miner submits a share every 15-30 s.
    pub share_interval_min_s: f64,
    pub share_interval_max_s: f64,
    /// Miners one proxy connection may hide (xmrig-proxy nicehash mode: 256).
    pub proxy_max_miners: u64,
    /// Lower-case substrings of agent strings that mark a mining proxy.
    pub proxy_agent_markers: Vec<String>,
    /// Worker names too generic to tell rigs apart (`x`, `default`...).
    pub generic_worker_names: Vec<String>,
    /// TCP timestamps: samples and span needed to fit a clock line.
    pub tcp_ts_min_samples: usize,
    pub tcp_ts_min_span_s: f64,
    /// Minimal skew difference (ppm) that separates two clocks.
    pub tcp_ts_skew_tolerance_ppm: f64,
    /// IP-ID: largest forward step still counted as the same counter, and the shortest run kept.
    pub ip_id_max_gap: u16,
    pub ip_id_min_run: usize,
    /// Upper bound on connections and samples considered (inputs come from attackers).
    pub max_connections: usize,
    pub max_samples_per_connection: usize,
}

fn class(
    family: &str,
    efficiency: f64,
    unit: &str,
    range: Option<(f64, f64)>,
    label: &str,
    source: &str,
) -> HardwareClass {
    HardwareClass {
        family: family.to_string(),
        efficiency,
        unit: unit.to_string(),
        low: range.map(|r| r.0),
        high: range.map(|r| r.1),
        label: label.to_string(),
        source: source.to_string(),
    }
}

const DOC: &str = "docs/estimation.md";

impl Default for PowerConfig {
    fn default() -> Self {
        let mut classes = BTreeMap::new();
        let mut add = |name: &str, c: HardwareClass| {
            classes.insert(name.to_string(), c);
        };
        add(
            "sha256-asic",
            class(
                "sha256d",
                22.5,
                "J/TH",
                Some((15.0, 30.0)),
                "current SHA-256 ASIC (unknown model)",
                DOC,
            ),
        );
        add(
            "s9",
            class("sha256d", 100.0, "J/TH", None, "Antminer S9", DOC),
        );
        add(
            "s19-pro",
            class("sha256d", 29.5, "J/TH", None, "Antminer S19 Pro", DOC),
        );
        add(
            "s19-xp",
            class("sha256d", 21.5, "J/TH", None, "Antminer S19 XP", DOC),
        );
        add(
            "s21",
            class("sha256d", 17.5, "J/TH", None, "Antminer S21", DOC),
        );
        add(
            "s21-xp",
            class("sha256d", 13.5, "J/TH", None, "Antminer S21 XP", DOC),
        );
        add(
            "scrypt-asic",
            class(
                "scrypt",
                0.21,
                "J/MH",
                None,
                "Scrypt ASIC (Antminer L9)",
                DOC,
            ),
        );
        add(
            "ethash-gpu",
            class(
                "ethash",
                2.0,
                "J/MH",
                Some((1.5, 2.4)),
                "GPU on Ethash/Etchash",
                DOC,
            ),
        );
        add(
            "ethproxy-gpu",
            class(
                "ethproxy",
                2.0,
                "J/MH",
                Some((1.5, 2.4)),
                "GPU on Ethash/Etchash (EthProxy)",
                DOC,
            ),
        );
        add(
            "kawpow-gpu",
            class(
                "kawpow",
                6.0,
                "J/MH",
                Some((5.0, 7.0)),
                "GPU on KawPow",
                "docs/estimation.md (estimate)",
            ),
        );
        add(
            "randomx-cpu",
            class(
                "randomx",
                50.0,
                "H/s/W",
                Some((40.0, 60.0)),
                "CPU on RandomX",
                "docs/estimation.md (estimate)",
            ),
        );
        add(
            "kheavyhash-asic",
            class(
                "kheavyhash",
                0.35,
                "J/GH",
                None,
                "kHeavyHash ASIC (IceRiver/Antminer KS class)",
                "vendor data sheets, rounded (estimate; not in the reference facts)",
            ),
        );
        add(
            "equihash-asic",
            class(
                "equihash",
                3.5,
                "J/kH",
                None,
                "Equihash ASIC (Antminer Z15 class), J per kSol",
                "vendor data sheets, rounded (estimate; not in the reference facts)",
            ),
        );
        add(
            "equihash-gpu",
            class(
                "equihash",
                350.0,
                "J/kH",
                Some((250.0, 500.0)),
                "graphics card on Equihash 200,9 (GTX 1080 Ti class: ~730 Sol/s at 250 W), J per kSol",
                "vendor data sheets and miner benchmarks, rounded (estimate; not in the reference facts)",
            ),
        );
        add(
            "kheavyhash-gpu",
            class(
                "kheavyhash",
                0.25,
                "J/MH",
                Some((0.15, 0.4)),
                "graphics card on kHeavyHash (RTX 3080 class: ~1 GH/s at 250 W)",
                "miner benchmarks, rounded (estimate; not in the reference facts)",
            ),
        );
        let default_class = [
            ("sha256d", "sha256-asic"),
            ("scrypt", "scrypt-asic"),
            ("randomx", "randomx-cpu"),
            ("ethash", "ethash-gpu"),
            ("ethproxy", "ethproxy-gpu"),
            ("kawpow", "kawpow-gpu"),
            ("kheavyhash", "kheavyhash-asic"),
            ("equihash", "equihash-asic"),
        ]
        .into_iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect();
        PowerConfig {
            range_fraction: 0.2,
            classes,
            default_class,
        }
    }
}

impl Default for EnergyConfig {
    fn default() -> Self {
        EnergyConfig {
            unknown_start_days: 90.0,
            unknown_start_label: "start unknown: 3 months (90 days) assumed, as one provincial \
                                  authority does"
                .to_string(),
        }
    }
}

impl Default for ElectricityConfig {
    fn default() -> Self {
        let mut surcharges = BTreeMap::new();
        let src = "provincial punitive tariffs for mining, docs/estimation.md";
        for (id, price, aliases) in [
            ("zhejiang", 0.50, &["浙江", "Zhejiang Province"][..]),
            ("hainan", 0.80, &["海南", "Hainan Province"][..]),
            (
                "inner-mongolia",
                1.00,
                &["内蒙古", "Inner Mongolia", "Nei Mongol"][..],
            ),
            ("shanxi", 1.00, &["山西", "Shanxi Province"][..]),
            ("sichuan", 2.00, &["四川", "Sichuan Province"][..]),
        ] {
            surcharges.insert(
                id.to_string(),
                Surcharge {
                    per_kwh: price,
                    aliases: aliases.iter().map(|s| s.to_string()).collect(),
                    source: src.to_string(),
                },
            );
        }
        ElectricityConfig {
            currency: "yuan".to_string(),
            base_price_per_kwh: 0.63,
            base_price_source: "industrial average 2024, docs/estimation.md".to_string(),
            surcharges,
        }
    }
}

impl Default for FactorConfig {
    fn default() -> Self {
        let f = |v: f64, s: &str| Factor {
            per_kwh: v,
            source: s.to_string(),
        };
        let coal = BTreeMap::from([
            (
                "provincial-report".to_string(),
                f(
                    0.404,
                    "reproduces the provincial report (148,500 kWh/day -> 60 t/day)",
                ),
            ),
            (
                "gbt-2589-2020".to_string(),
                f(0.1229, "calorific equivalent, GB/T 2589-2020"),
            ),
            (
                "national-supply-2020".to_string(),
                f(0.3055, "2020 national coal consumption per kWh supplied"),
            ),
        ]);
        let mut co2 = BTreeMap::from([
            (
                "provincial-report".to_string(),
                f(
                    0.997,
                    "reproduces the provincial report (54,000 t CO2/year)",
                ),
            ),
            (
                "grid-national-2022".to_string(),
                f(
                    0.5366,
                    "national grid average emission factor 2022 (MEE/NBS)",
                ),
            ),
            (
                "grid-national-2023".to_string(),
                f(
                    0.5306,
                    "national grid average emission factor 2023 (MEE/NBS)",
                ),
            ),
        ]);
        for (region, v) in [
            ("north", 0.6776),
            ("northwest", 0.5857),
            ("east", 0.5617),
            ("northeast", 0.5564),
            ("central", 0.5395),
            ("south", 0.3869),
            ("southwest", 0.2268),
        ] {
            co2.insert(
                format!("grid-2022-{region}"),
                f(
                    v,
                    &format!("2022 regional grid emission factor, {region} China (MEE/NBS)"),
                ),
            );
        }
        FactorConfig {
            coal_default: "provincial-report".to_string(),
            co2_default: "provincial-report".to_string(),
            coal,
            co2,
        }
    }
}

impl Default for LegalConfig {
    fn default() -> Self {
        LegalConfig {
            jurisdiction:
                "PRC Criminal Law Art. 285(2) with the 2011 SPC/SPP judicial interpretation"
                    .to_string(),
            currency: "yuan".to_string(),
            serious: Thresholds {
                machines: Some(20),
                gains: Some(5_000.0),
                loss: Some(10_000.0),
            },
            especially_serious: Thresholds {
                machines: Some(100),
                gains: Some(25_000.0),
                loss: Some(50_000.0),
            },
        }
    }
}

impl Default for RigConfig {
    fn default() -> Self {
        RigConfig {
            share_interval_min_s: 15.0,
            share_interval_max_s: 30.0,
            proxy_max_miners: 256,
            proxy_agent_markers: ["xmrig-proxy", "stratum-proxy", "mining-proxy", "minerproxy"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            generic_worker_names: ["", "x", "default", "worker", "rig", "1", "miner", "null"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            tcp_ts_min_samples: 4,
            tcp_ts_min_span_s: 2.0,
            tcp_ts_skew_tolerance_ppm: 10.0,
            ip_id_max_gap: 2048,
            ip_id_min_run: 4,
            max_connections: 4096,
            max_samples_per_connection: 100_000,
        }
    }
}

fn merge<V: Clone>(into: &mut BTreeMap<String, V>, defaults: &BTreeMap<String, V>) {
    for (k, v) in defaults {
        into.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn bad(field: &str, reason: impl Into<String>) -> EstimateError {
    EstimateError::ConfigInvalid {
        field: field.to_string(),
        reason: reason.into(),
    }
}

impl EstimateConfig {
    /// Parse a TOML document, merge named tables over the defaults and validate.
    pub fn from_toml_str(text: &str) -> Result<Self, EstimateError> {
        let mut cfg: EstimateConfig =
            toml::from_str(text).map_err(|source| EstimateError::ConfigSyntax { source })?;
        if !cfg.replace_default_tables {
            let d = EstimateConfig::default();
            merge(&mut cfg.power.classes, &d.power.classes);
            merge(&mut cfg.power.default_class, &d.power.default_class);
            merge(&mut cfg.electricity.surcharges, &d.electricity.surcharges);
            merge(&mut cfg.factors.coal, &d.factors.coal);
            merge(&mut cfg.factors.co2, &d.factors.co2);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check names, units and ranges; every error names the field.
    pub fn validate(&self) -> Result<(), EstimateError> {
        let p = &self.power;
        if !(p.range_fraction.is_finite() && (0.0..1.0).contains(&p.range_fraction)) {
            return Err(bad("power.range_fraction", "must be in [0, 1)"));
        }
        for (name, c) in &p.classes {
            let field = format!("power.classes.{name}");
            if parse_family(&c.family).is_none() {
                return Err(bad(&field, format!("unknown family '{}'", c.family)));
            }
            crate::power::joules_per_hash_factor(&c.unit)
                .ok_or_else(|| bad(&field, format!("unknown unit '{}'", c.unit)))?;
            for v in [Some(c.efficiency), c.low, c.high].into_iter().flatten() {
                if !(v.is_finite() && v > 0.0) {
                    return Err(bad(&field, "efficiency and range must be positive"));
                }
            }
            if c.low.is_some() != c.high.is_some() {
                return Err(bad(&field, "give both low and high, or neither"));
            }
        }
        for (family, class_name) in &p.default_class {
            if parse_family(family).is_none() {
                return Err(bad(
                    "power.default_class",
                    format!("unknown family '{family}'"),
                ));
            }
            if !p.classes.contains_key(class_name) {
                return Err(bad(
                    "power.default_class",
                    format!("'{family}' names unknown class '{class_name}'"),
                ));
            }
        }
        if !(self.energy.unknown_start_days.is_finite() && self.energy.unknown_start_days > 0.0) {
            return Err(bad("energy.unknown_start_days", "must be positive"));
        }
        let e = &self.electricity;
        if !(e.base_price_per_kwh.is_finite() && e.base_price_per_kwh >= 0.0) {
            return Err(bad("electricity.base_price_per_kwh", "must be >= 0"));
        }
        for (id, s) in &e.surcharges {
            if !(s.per_kwh.is_finite() && s.per_kwh >= 0.0) {
                return Err(bad(&format!("electricity.surcharges.{id}"), "must be >= 0"));
            }
        }
        let f = &self.factors;
        for (table, map, default) in [
            ("coal", &f.coal, &f.coal_default),
            ("co2", &f.co2, &f.co2_default),
        ] {
            if !map.contains_key(default) {
                return Err(bad(
                    &format!("factors.{table}_default"),
                    format!("'{default}' is not in factors.{table}"),
                ));
            }
            for (name, v) in map {
                if !(v.per_kwh.is_finite() && v.per_kwh >= 0.0) {
                    return Err(bad(&format!("factors.{table}.{name}"), "must be >= 0"));
                }
            }
        }
        for (sym, c) in &self.coins {
            let field = format!("coins.{sym}");
            if parse_family(&c.family).is_none() {
                return Err(bad(&field, format!("unknown family '{}'", c.family)));
            }
            if c.network_difficulty.is_none() && c.network_hashrate.is_none() {
                return Err(bad(&field, "needs network_difficulty or network_hashrate"));
            }
            let ok = |v: f64| v.is_finite() && v >= 0.0;
            let block_time_ok = c.block_time_s.is_finite() && c.block_time_s > 0.0;
            let fee_ok = (0.0..1.0).contains(&c.pool_fee);
            if !(ok(c.block_reward) && ok(c.price) && block_time_ok && fee_ok) {
                return Err(bad(
                    &field,
                    "reward, price >= 0, block time > 0, pool_fee in [0, 1)",
                ));
            }
        }
        let r = &self.rigs;
        if !(r.share_interval_min_s > 0.0 && r.share_interval_min_s <= r.share_interval_max_s) {
            return Err(bad("rigs.share_interval_*", "need 0 < min <= max"));
        }
        if r.proxy_max_miners == 0 || r.max_connections == 0 || r.tcp_ts_min_samples < 3 {
            return Err(bad(
                "rigs",
                "proxy_max_miners, max_connections > 0; tcp_ts_min_samples >= 3",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips_through_toml() {
        let d = EstimateConfig::default();
        d.validate().unwrap();
        let text = toml::to_string(&d).unwrap();
        assert_eq!(EstimateConfig::from_toml_str(&text).unwrap(), d);
    }

    #[test]
    fn empty_text_gives_defaults() {
        assert_eq!(
            EstimateConfig::from_toml_str("").unwrap(),
            EstimateConfig::default()
        );
    }

    #[test]
    fn tables_merge_over_defaults() {
        let cfg = EstimateConfig::from_toml_str(
            r#"
            [factors]
            co2_default = "my-grid"
            [factors.co2.my-grid]
            per_kwh = 0.4
            source = "utility statement"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.factors.co2_default, "my-grid");
        assert!(cfg.factors.co2.contains_key("provincial-report"));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = EstimateConfig::from_toml_str("[legal]\nthresholds = 1\n").unwrap_err();
        assert!(err.to_string().contains("thresholds"), "{err}");
    }

    #[test]
    fn dangling_default_names_are_rejected() {
        let err =
            EstimateConfig::from_toml_str("[factors]\ncoal_default = \"nope\"\n").unwrap_err();
        assert!(err.to_string().contains("factors.coal_default"), "{err}");
        let err = EstimateConfig::from_toml_str(
            "[power.classes.bad]\nfamily=\"sha256d\"\nefficiency=1.0\nunit=\"furlongs\"\nlabel=\"x\"\nsource=\"y\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("furlongs"), "{err}");
    }
}
