//! Estimation: hashrate, power, energy, money, coal/CO2, rigs, legal band. Pure functions.
//!
//! Every figure is a [`Figure`]: a value with its range, unit, basis ([`Basis::Measured`] or
//! [`Basis::Estimated`]) and the derivation in words. Tables and factors live in
//! [`EstimateConfig`] (TOML, with defaults that reproduce `docs/estimation.md`).
//!
//! ```
//! use minetrace_estimate::{EstimateConfig, Figure, energy, legal};
//! let cfg = EstimateConfig::default();
//! // The provincial report: 148,500 kWh a day.
//! let day = Figure::measured(148_500.0, "kWh/day", "provincial report");
//! let impact = energy::energy_impact(
//!     &day,
//!     energy::duration_days(365.0, "one year").unwrap(),
//!     energy::coal_factor(&cfg, None).unwrap(),
//!     energy::co2_factor(&cfg, None).unwrap(),
//!     energy::tariff(&cfg, None).unwrap(),
//! ).unwrap();
//! assert_eq!(impact.coal_t_per_day.value.round(), 60.0);
//! assert!((impact.co2_t_per_year.value - 54_000.0).abs() < 100.0);
//!
//! // 155 servers and about 100,000 yuan of gains: "especially serious".
//! let a = legal::assess(&cfg, &legal::LegalInputs {
//!     machines: Some(155), gains: Some(100_000.0), loss: Some(27_000.0),
//! });
//! assert_eq!(a.band.label_zh(), "情节特别严重");
//! ```
#![forbid(unsafe_code)]

pub mod asic;
pub mod calc;
pub mod config;
pub mod energy;
pub mod error;
pub mod family;
pub mod figure;
pub mod gains;
pub mod hashrate;
pub mod legal;
pub mod power;
pub mod rigs;
pub mod stats;

pub use config::EstimateConfig;
pub use error::EstimateError;
pub use figure::{Basis, Figure};
