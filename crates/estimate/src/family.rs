//! Names for algorithm families as investigators type them (`sha256d`, `randomx`, `ethash`...).

use minetrace_core::AlgorithmFamily;

/// Parse a family or algorithm name, case-insensitively, with common aliases.
/// `ethash`/`etchash` mean Ethash over EthereumStratum (D x 2^32); `ethproxy` the EthProxy form.
pub fn parse_family(name: &str) -> Option<AlgorithmFamily> {
    let n: String = name
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '/'))
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match n.as_str() {
        "sha256d" | "sha256" | "bitcoin" | "btc" | "x11" => AlgorithmFamily::Sha256d,
        "scrypt" | "ltc" | "doge" => AlgorithmFamily::Scrypt,
        "cryptonote" | "randomx" | "rx0" | "cryptonight" | "xmr" => AlgorithmFamily::CryptoNote,
        "ethash" | "etchash" | "ethashstratum" | "ethereumstratum" | "etc" => {
            AlgorithmFamily::EthashStratum
        }
        "ethproxy" | "ethashproxy" => AlgorithmFamily::EthashProxy,
        "kawpow" | "rvn" => AlgorithmFamily::KawPow,
        "kheavyhash" | "kaspa" | "kas" => AlgorithmFamily::KHeavyHash,
        "equihash" | "zec" | "zcash" => AlgorithmFamily::Equihash,
        _ => return None,
    })
}

/// Whether hashes of two families are the same work (to price one with the other's coin):
/// Ethash over EthereumStratum and over EthProxy differ in how shares count, not in hashes.
pub fn same_work(a: AlgorithmFamily, b: AlgorithmFamily) -> bool {
    let ethash = |f| {
        matches!(
            f,
            AlgorithmFamily::EthashStratum | AlgorithmFamily::EthashProxy
        )
    };
    a == b || (ethash(a) && ethash(b))
}

/// The canonical short name used in configuration tables and reports.
pub fn family_name(family: AlgorithmFamily) -> &'static str {
    match family {
        AlgorithmFamily::Sha256d => "sha256d",
        AlgorithmFamily::Scrypt => "scrypt",
        AlgorithmFamily::CryptoNote => "randomx",
        AlgorithmFamily::EthashStratum => "ethash",
        AlgorithmFamily::EthashProxy => "ethproxy",
        AlgorithmFamily::KawPow => "kawpow",
        AlgorithmFamily::KHeavyHash => "kheavyhash",
        AlgorithmFamily::Equihash => "equihash",
        _ => "other",
    }
}

/// Every family with a canonical name, for listings.
pub const NAMED_FAMILIES: &[AlgorithmFamily] = &[
    AlgorithmFamily::Sha256d,
    AlgorithmFamily::Scrypt,
    AlgorithmFamily::CryptoNote,
    AlgorithmFamily::EthashStratum,
    AlgorithmFamily::EthashProxy,
    AlgorithmFamily::KawPow,
    AlgorithmFamily::KHeavyHash,
    AlgorithmFamily::Equihash,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in NAMED_FAMILIES {
            assert_eq!(parse_family(family_name(*f)), Some(*f));
        }
        assert_eq!(parse_family("SHA-256d"), Some(AlgorithmFamily::Sha256d));
        assert_eq!(parse_family("rx/0"), Some(AlgorithmFamily::CryptoNote));
        assert_eq!(parse_family("md5"), None);
    }
}
