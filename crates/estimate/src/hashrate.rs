//! Hashrate from observed shares (self-contained: depends only on `minetrace_core` types).
//!
//! H = (sum of hashes represented by the accepted shares) / observed seconds, with the
//! hashes-per-share table of `docs/estimation.md`:
//!
//! | family | hashes per share of difficulty D |
//! |---|---|
//! | SHA-256d, X11, Bitcoin-family stratum | D * 2^32 |
//! | Scrypt | D * 2^16 |
//! | CryptoNote / RandomX / CryptoNight | D |
//! | Ethash over EthereumStratum/1.0.0 | D * 2^32 |
//! | Ethash over EthProxy (target = 2^256 / D) | D |
//! | KawPow | D * 2^40 / 255 (= 2^256 / target, about 1.0039 * D * 2^32) |
//! | Kaspa kHeavyHash | D * 2^32 |
//! | Equihash | D, where D is expressed as 2^256 / target (expected solutions per share) |
//!
//! ```
//! use minetrace_core::AlgorithmFamily;
//! use minetrace_estimate::hashrate::{hashrate_from_shares, cryptonote_target_to_difficulty};
//! // 12 Bitcoin shares of difficulty 65536 in 120 s: about 28.1 TH/s.
//! let h = hashrate_from_shares(AlgorithmFamily::Sha256d, 12.0 * 65536.0, 12, 120.0).unwrap();
//! assert!((h.hashes_per_second / 1e12 - 28.1).abs() < 0.1);
//! assert_eq!(cryptonote_target_to_difficulty("b88d0600"), Some(10000));
//! ```

use minetrace_core::{AlgorithmFamily, HashrateFigure};

const TWO_32: f64 = 4_294_967_296.0;
const TWO_16: f64 = 65_536.0;
/// 2^256 as a float.
pub const TWO_256: f64 = 1.157_920_892_373_162e77;

/// Hashes one accepted share of difficulty `difficulty` represents, for a family.
/// `Other` (Grin, Beam and unknown algorithms) has no agreed scaling and returns the raw
/// difficulty; callers should not present that as hashes.
pub fn hashes_per_share(family: AlgorithmFamily, difficulty: f64) -> f64 {
    match family {
        AlgorithmFamily::Sha256d | AlgorithmFamily::EthashStratum | AlgorithmFamily::KHeavyHash => {
            difficulty * TWO_32
        }
        AlgorithmFamily::Scrypt => difficulty * TWO_16,
        AlgorithmFamily::KawPow => difficulty * (TWO_32 * 256.0 / 255.0),
        AlgorithmFamily::CryptoNote | AlgorithmFamily::EthashProxy | AlgorithmFamily::Equihash => {
            difficulty
        }
        _ => difficulty,
    }
}

/// True when [`hashes_per_share`] has a documented scaling for the family.
pub fn has_share_scaling(family: AlgorithmFamily) -> bool {
    matches!(
        family,
        AlgorithmFamily::Sha256d
            | AlgorithmFamily::Scrypt
            | AlgorithmFamily::CryptoNote
            | AlgorithmFamily::EthashStratum
            | AlgorithmFamily::EthashProxy
            | AlgorithmFamily::KawPow
            | AlgorithmFamily::KHeavyHash
            | AlgorithmFamily::Equihash
    )
}

/// CryptoNote pool target (hex, little-endian) to difficulty.
/// 4 bytes (little-endian u32 T): target64 = floor(MAX64 / floor(0xFFFFFFFF / T)) and
/// D = floor(MAX64 / target64), about 2^32 / T ("b88d0600" -> 10000); 8 bytes: D = 2^64 / T.
pub fn cryptonote_target_to_difficulty(target_hex: &str) -> Option<u64> {
    // Read in place (every job carries a target: no byte vector per job).
    if !target_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match target_hex.len() {
        8 => {
            let t = u64::from(u32::from_str_radix(target_hex, 16).ok()?.swap_bytes());
            if t == 0 {
                return None;
            }
            // xmrig Job.cpp: the 4-byte target widens to 64 bits as
            // MAX / floor(0xFFFFFFFF / T), and difficulty is MAX / target64.
            let q = 0xFFFF_FFFFu64 / t;
            if q == 0 {
                return Some(1);
            }
            let target64 = u64::MAX / q;
            Some(u64::MAX / target64)
        }
        16 => {
            let t = u64::from_str_radix(target_hex, 16).ok()?.swap_bytes();
            if t == 0 {
                return None;
            }
            Some(((1u128 << 64) / u128::from(t)).min(u128::from(u64::MAX)) as u64)
        }
        _ => None,
    }
}

/// A big-endian 256-bit target (hex, optional `0x`, up to 64 digits) as 2^256 / target:
/// the expected hashes to find one share below it.
pub fn hashes_for_target(target_hex: &str) -> Option<f64> {
    let h = target_hex
        .strip_prefix("0x")
        .or_else(|| target_hex.strip_prefix("0X"))
        .unwrap_or(target_hex);
    if h.is_empty() || h.len() > 64 {
        return None;
    }
    let mut t = 0f64;
    for c in h.chars() {
        t = t * 16.0 + f64::from(c.to_digit(16)?);
    }
    // Shorter strings are the high-order digits of a 256-bit number only when padded;
    // pools send all 64 digits, so scale by the missing digits.
    t *= 16f64.powi(64 - h.len() as i32);
    (t > 0.0).then(|| TWO_256 / t)
}

/// The difficulty D (in the family's own units, so that [`hashes_per_share`] applies) that a
/// 256-bit share target stands for.
pub fn difficulty_from_target(family: AlgorithmFamily, target_hex: &str) -> Option<f64> {
    let hashes = hashes_for_target(target_hex)?;
    let unit = hashes_per_share(family, 1.0);
    (unit > 0.0).then(|| hashes / unit)
}

/// Hashrate from `shares` accepted shares whose difficulties sum to `difficulty_sum`, over
/// `seconds` of observation. `None` when nothing can be said (no shares, no time, a family
/// without a share scaling, or non-finite input).
pub fn hashrate_from_shares(
    family: AlgorithmFamily,
    difficulty_sum: f64,
    shares: u64,
    seconds: f64,
) -> Option<HashrateFigure> {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if shares == 0 || !positive(seconds) || !positive(difficulty_sum) || !has_share_scaling(family)
    {
        return None;
    }
    let h = hashes_per_share(family, difficulty_sum) / seconds;
    let mean = difficulty_sum / shares as f64;
    Some(HashrateFigure {
        hashes_per_second: h,
        basis: "estimated".into(),
        method: format!(
            "{shares} accepted share{} of mean difficulty {} ({}) over {:.1} s: {} H/s",
            if shares == 1 { "" } else { "s" },
            fmt_num(mean),
            family_label(family),
            seconds,
            fmt_num(h)
        ),
    })
}

/// A hashrate the miner reported itself (eth_submitHashrate, mining.hashrate): basis
/// `reported`, since nothing checks the miner's own figure.
pub fn reported_hashrate(hashes_per_second: f64, source: &str) -> Option<HashrateFigure> {
    (hashes_per_second.is_finite() && hashes_per_second > 0.0).then(|| HashrateFigure {
        hashes_per_second,
        basis: "reported".into(),
        method: format!(
            "reported by the miner ({source}): {} H/s",
            fmt_num(hashes_per_second)
        ),
    })
}

fn family_label(f: AlgorithmFamily) -> &'static str {
    match f {
        AlgorithmFamily::Sha256d => "SHA-256d, D x 2^32",
        AlgorithmFamily::Scrypt => "Scrypt, D x 2^16",
        AlgorithmFamily::CryptoNote => "CryptoNote, D hashes",
        AlgorithmFamily::EthashStratum => "Ethash over EthereumStratum, D x 2^32",
        AlgorithmFamily::EthashProxy => "Ethash over EthProxy, D hashes",
        AlgorithmFamily::KawPow => "KawPow, D x 2^40/255",
        AlgorithmFamily::KHeavyHash => "kHeavyHash, D x 2^32",
        AlgorithmFamily::Equihash => "Equihash, 2^256/target solutions",
        _ => "unknown family",
    }
}

fn fmt_num(v: f64) -> String {
    const UNITS: [(f64, &str); 6] = [
        (1e18, "E"),
        (1e15, "P"),
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
    ];
    for (scale, unit) in UNITS {
        if v.abs() >= scale {
            return format!("{:.2} {unit}", v / scale);
        }
    }
    format!("{v:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cryptonote_targets_from_the_table() {
        assert_eq!(cryptonote_target_to_difficulty("b88d0600"), Some(10000));
        assert_eq!(cryptonote_target_to_difficulty("711b0d00"), Some(5000));
        // Seen in real captures.
        assert_eq!(cryptonote_target_to_difficulty("dc460300"), Some(20000));
        assert_eq!(cryptonote_target_to_difficulty("ffff0100"), Some(32768));
        // 8-byte target: 2^64 / T.
        assert_eq!(
            cryptonote_target_to_difficulty("0000000001000000"),
            Some(1 << 32)
        );
        assert_eq!(cryptonote_target_to_difficulty("00000000"), None);
        assert_eq!(cryptonote_target_to_difficulty("xyz"), None);
        assert_eq!(cryptonote_target_to_difficulty("b88d06"), None);
        assert_eq!(cryptonote_target_to_difficulty("ffffffff"), Some(1));
        // Signs and non-ASCII are not hex digits.
        assert_eq!(cryptonote_target_to_difficulty("+88d0600"), None);
        assert_eq!(cryptonote_target_to_difficulty("b88d06é"), None);
    }

    #[test]
    fn worked_example_bitcoin() {
        // D = 65536 shares at one per 10 s ~ 28.1 TH/s.
        let h = hashrate_from_shares(AlgorithmFamily::Sha256d, 65536.0 * 6.0, 6, 60.0).unwrap();
        assert!(
            (h.hashes_per_second - 28.147e12).abs() < 0.01e12,
            "{}",
            h.hashes_per_second
        );
        assert_eq!(h.basis, "estimated");
        assert!(h.method.contains("6 accepted shares"));
    }

    #[test]
    fn per_family_scaling() {
        assert_eq!(hashes_per_share(AlgorithmFamily::Scrypt, 2.0), 131_072.0);
        assert_eq!(
            hashes_per_share(AlgorithmFamily::CryptoNote, 10000.0),
            10000.0
        );
        assert_eq!(hashes_per_share(AlgorithmFamily::EthashProxy, 4e9), 4e9);
        assert_eq!(hashes_per_share(AlgorithmFamily::KHeavyHash, 1.0), TWO_32);
        let k = hashes_per_share(AlgorithmFamily::KawPow, 1.0) / TWO_32;
        assert!((k - 1.0039).abs() < 1e-4);
        // KawPow diff-1 target 0x00000000ff000... is exactly one difficulty unit.
        let d = difficulty_from_target(
            AlgorithmFamily::KawPow,
            "00000000ff000000000000000000000000000000000000000000000000000000",
        )
        .unwrap();
        assert!((d - 1.0).abs() < 1e-9, "{d}");
        // EthProxy boundary 2^256 / D.
        let d = difficulty_from_target(
            AlgorithmFamily::EthashProxy,
            "0x00000000dbe6fecebdedd5beb573440e5a884d1b2fbf06fcce912adcb8d8422e",
        )
        .unwrap();
        assert!((d / 5.0e9 - 1.0).abs() < 0.01, "{d}");
    }

    #[test]
    fn nothing_to_say() {
        assert!(hashrate_from_shares(AlgorithmFamily::Sha256d, 1.0, 0, 10.0).is_none());
        assert!(hashrate_from_shares(AlgorithmFamily::Sha256d, 1.0, 1, 0.0).is_none());
        assert!(hashrate_from_shares(AlgorithmFamily::Sha256d, f64::NAN, 1, 1.0).is_none());
        assert!(hashrate_from_shares(AlgorithmFamily::Other, 1.0, 1, 1.0).is_none());
        assert!(hashes_for_target("").is_none());
        assert!(hashes_for_target("00").is_none());
        assert!(reported_hashrate(-1.0, "x").is_none());
        let r = reported_hashrate(30_444_129.0, "eth_submitHashrate").unwrap();
        assert_eq!(r.basis, "reported");
    }
}
