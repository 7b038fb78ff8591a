//! Estimation: hashrate, power, energy, money, coal/CO2, rigs, legal band. Pure functions.
#![forbid(unsafe_code)]

pub mod hashrate;
