//! Estimated gains from hashrate and offline coin parameters (network difficulty or hashrate,
//! block reward, block time, price). No network access: the inputs carry their date.

use crate::config::{CoinParams, EstimateConfig};
use crate::error::{non_negative, EstimateError};
use crate::family::{family_name, parse_family};
use crate::figure::{si, three_significant, Figure};
use minetrace_core::AlgorithmFamily;

/// Expected hashes to find one block at network difficulty `d`, where the coin's node reports a
/// difficulty in its own convention; `None` where the convention is not settled here (then give
/// the network hashrate instead).
///
/// Bitcoin-derived nodes (BTC, LTC, DOGE, RVN) report difficulty relative to the 0x1d00ffff
/// target: D x 2^32 hashes (Scrypt pools' share difficulty uses 2^16, the node's does not).
/// CryptoNote and Ethash report D as expected hashes directly.
pub fn network_hashes_per_block(family: AlgorithmFamily, d: f64) -> Option<f64> {
    const TWO_32: f64 = 4_294_967_296.0;
    match family {
        AlgorithmFamily::Sha256d | AlgorithmFamily::Scrypt | AlgorithmFamily::KawPow => {
            Some(d * TWO_32)
        }
        AlgorithmFamily::CryptoNote
        | AlgorithmFamily::EthashStratum
        | AlgorithmFamily::EthashProxy => Some(d),
        _ => None,
    }
}

/// Network hashrate (H/s) of a coin from its parameters.
pub fn network_hashrate(coin: &CoinParams) -> Result<f64, EstimateError> {
    if let Some(h) = coin.network_hashrate {
        return crate::error::positive("network_hashrate", h);
    }
    let family = parse_family(&coin.family)
        .ok_or_else(|| EstimateError::invalid("family", format!("unknown '{}'", coin.family)))?;
    let d = coin.network_difficulty.ok_or_else(|| {
        EstimateError::invalid("coin", "needs network_difficulty or network_hashrate")
    })?;
    let d = crate::error::positive("network_difficulty", d)?;
    let per_block = network_hashes_per_block(family, d).ok_or_else(|| {
        EstimateError::invalid(
            "network_difficulty",
            format!(
                "difficulty convention for {} is not built in; give network_hashrate",
                family_name(family)
            ),
        )
    })?;
    Ok(per_block / coin.block_time_s)
}

/// Expected gains per day (currency/day) for a hashrate figure (H/s) mining `coin`.
/// gains = H / H_network x (86400 / block_time) x reward x (1 - pool_fee) x price.
pub fn gains_per_day(
    hashrate: &Figure,
    symbol: &str,
    coin: &CoinParams,
) -> Result<Figure, EstimateError> {
    non_negative("hashrate", hashrate.value)?;
    let net = network_hashrate(coin)?;
    let blocks_per_day = 86_400.0 / coin.block_time_s;
    let coins_per_hash_s = blocks_per_day * coin.block_reward * (1.0 - coin.pool_fee) / net;
    let per_day = coins_per_hash_s * coin.price;
    Ok(hashrate.scaled(
        per_day,
        "per day",
        &format!(
            "/ {}H/s network x {} blocks/day x {} {symbol} x (1 - {} fee) x {} per {symbol} (as of {}{})",
            si(net),
            three_significant(blocks_per_day),
            coin.block_reward,
            coin.pool_fee,
            coin.price,
            coin.as_of,
            if coin.source.is_empty() { String::new() } else { format!(", {}", coin.source) }
        ),
    ))
}

/// Look up a coin in the configuration (symbol, case-insensitive).
pub fn coin<'a>(
    cfg: &'a EstimateConfig,
    symbol: &str,
) -> Result<(&'a str, &'a CoinParams), EstimateError> {
    cfg.coins
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(symbol.trim()))
        .map(|(k, v)| (k.as_str(), v))
        .ok_or_else(|| EstimateError::unknown("coin", symbol, cfg.coins.keys()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xmr() -> CoinParams {
        CoinParams {
            family: "randomx".into(),
            network_difficulty: Some(360e9),
            network_hashrate: None,
            block_reward: 0.6,
            block_time_s: 120.0,
            price: 1000.0,
            pool_fee: 0.0,
            as_of: "test".into(),
            source: String::new(),
        }
    }

    #[test]
    fn share_of_network_times_rewards() {
        // network 360e9/120 = 3 GH/s; 3 MH/s is 1/1000 of it; 720 blocks/day x 0.6 = 432 XMR/day
        // -> 0.432 XMR/day -> 432 per day at price 1000.
        let h = Figure::estimated(3e6, 2e6, 4e6, "H/s", "shares");
        let g = gains_per_day(&h, "XMR", &xmr()).unwrap();
        assert!((g.value - 432.0).abs() < 1e-6, "{g:?}");
        assert!((g.low - 288.0).abs() < 1e-6 && (g.high - 576.0).abs() < 1e-6);
        assert!(g.method.contains("as of test"));
    }

    #[test]
    fn bitcoin_difficulty_is_times_two_to_the_32() {
        let d = 1.0;
        assert_eq!(
            network_hashes_per_block(AlgorithmFamily::Sha256d, d),
            Some(4_294_967_296.0)
        );
        assert_eq!(
            network_hashes_per_block(AlgorithmFamily::CryptoNote, 5.0),
            Some(5.0)
        );
        assert_eq!(
            network_hashes_per_block(AlgorithmFamily::Equihash, 5.0),
            None
        );
    }

    #[test]
    fn network_hashrate_wins_and_bad_inputs_fail() {
        let mut c = xmr();
        c.network_hashrate = Some(6e9);
        assert_eq!(network_hashrate(&c).unwrap(), 6e9);
        c.network_hashrate = None;
        c.family = "equihash".into();
        assert!(network_hashrate(&c).is_err());
        let h = Figure::measured(f64::NAN, "H/s", "x");
        assert!(gains_per_day(&h, "XMR", &xmr()).is_err());
    }

    #[test]
    fn coins_from_toml() {
        let cfg = EstimateConfig::from_toml_str(
            r#"
            [coins.XMR]
            family = "randomx"
            network_difficulty = 360e9
            block_reward = 0.6
            block_time_s = 120
            price = 1000
            as_of = "2026-01-01"
            "#,
        )
        .unwrap();
        let (sym, c) = coin(&cfg, "xmr").unwrap();
        assert_eq!(sym, "XMR");
        assert_eq!(c.block_time_s, 120.0);
        assert!(coin(&cfg, "btc").is_err());
    }
}
