//! Payout-address validation and coin inference from a miner's login.
//!
//! A login as miners send it (`wallet.worker`, `wallet+diff`, `wallet/worker/email`,
//! `wallet.paymentid.worker`, `account.worker`, an e-mail) is split by [`split_login`]; the wallet
//! part is checked by [`classify_address`]: base58check (BTC, LTC, DOGE, DASH, RVN, ZEC
//! transparent), bech32/bech32m segwit (BTC, LTC), Monero (Keccak-256 checksum), Ethereum hex
//! (EIP-55 checksum when mixed case), Ergo, Conflux, Kaspa, Grin slatepack addresses.
//!
//! ```
//! use minetrace_proto::address::{split_login, classify_address};
//! let parts = split_login("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.rig7");
//! let wallet = parts.wallet.unwrap();
//! assert_eq!(wallet.coin.as_deref(), Some("BTC"));
//! assert!(wallet.checksum_ok);
//! assert_eq!(parts.worker.as_deref(), Some("rig7"));
//! assert!(classify_address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb").is_none()); // corrupted checksum
//! ```

use minetrace_core::Wallet;
use sha2::{Digest, Sha256};
use sha3::Keccak256;

/// Longest login we look at; longer ones are cut (never allocated beyond this).
pub const MAX_LOGIN: usize = 512;

/// A login split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginParts {
    /// The validated payout address, e-mail or account.
    pub wallet: Option<Wallet>,
    /// The worker / rig name, when the login carries one.
    pub worker: Option<String>,
    /// A Monero payment id (64 or 16 hex) between wallet and worker.
    pub payment_id: Option<String>,
    /// A fixed difficulty requested with `+diff`.
    pub fixed_difficulty: Option<String>,
    /// An e-mail carried after the wallet (`wallet/worker/email`, nanopool style).
    pub email: Option<String>,
}

/// Splits a login into wallet, worker, payment id, fixed difficulty and e-mail.
pub fn split_login(login: &str) -> LoginParts {
    let login = truncate(login.trim(), MAX_LOGIN);
    let mut parts = LoginParts::default();
    if login.is_empty() {
        return parts;
    }
    if is_email(login) {
        parts.wallet = Some(email_wallet(login));
        return parts;
    }
    // A `+difficulty` suffix applies to the whole login (`wallet.worker+5000`).
    let (main, diff) = match login.split_once('+') {
        Some((m, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            (m, Some(d.to_string()))
        }
        _ => (login, None),
    };
    parts.fixed_difficulty = diff;
    // Prefixed addresses keep their `prefix:` part.
    let (first, sep, rest) = split_first_token(main);
    // After `wallet/` the parts are '/'-separated and a worker may contain dots.
    let seps: &[char] = if sep == Some('/') {
        &['/']
    } else {
        &['.', '/']
    };
    let mut rest_tokens: Vec<&str> = rest.split(seps).filter(|t| !t.is_empty()).take(8).collect();
    parts.wallet = classify_address(first).or_else(|| account_wallet(first));
    if parts.wallet.as_ref().map(|w| w.format.as_str()) == Some("monero") {
        if let Some(pid) = rest_tokens.first() {
            if (pid.len() == 64 || pid.len() == 16) && pid.bytes().all(|b| b.is_ascii_hexdigit()) {
                parts.payment_id = Some(pid.to_string());
                rest_tokens.remove(0);
            }
        }
    }
    for tok in rest_tokens {
        if is_email(tok) || tok.contains('@') {
            if parts.email.is_none() {
                parts.email = Some(tok.to_string());
            }
        } else if parts.worker.is_none() {
            parts.worker = Some(tok.to_string());
        }
    }
    // `user@mail.example/worker` style: the e-mail itself has dots, so retry on '/' only.
    if parts.wallet.is_none() {
        if let Some((e, w)) = main.split_once('/') {
            if is_email(e) {
                parts.wallet = Some(email_wallet(e));
                parts.worker = Some(w.to_string()).filter(|w| !w.is_empty());
            }
        }
    }
    parts
}

fn split_first_token(s: &str) -> (&str, Option<char>, &str) {
    let start = ["kaspa:", "cfx:", "kaspatest:"]
        .iter()
        .find(|p| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
        .map(|p| p.len())
        .unwrap_or(0);
    match s[start..].find(['.', '/']) {
        Some(i) => (
            &s[..start + i],
            s[start + i..].chars().next(),
            &s[start + i + 1..],
        ),
        None => (s, None, ""),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn email_wallet(s: &str) -> Wallet {
    Wallet {
        address: s.to_string(),
        coin: None,
        format: "email".into(),
        checksum_ok: false,
    }
}

fn account_wallet(s: &str) -> Option<Wallet> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| Wallet {
        address: s.to_string(),
        coin: None,
        format: "account".into(),
        checksum_ok: false,
    })
}

/// True for `local@domain.tld` with plain characters.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// Validates one payout address and names its coin and format. `None`: not an address of a
/// known format, or a corrupted one (bad checksum).
pub fn classify_address(s: &str) -> Option<Wallet> {
    let s = s.trim();
    if s.is_empty() || s.len() > 200 {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return eth_address(s, hex);
    }
    if lower.starts_with("kaspa:") {
        return prefixed_base32(s, "kaspa:", 61, 63, "KAS");
    }
    if lower.starts_with("cfx:") {
        return prefixed_base32(s, "cfx:", 42, 42, "CFX");
    }
    if lower.starts_with("grin1") {
        return bech32_any(s, "grin").map(|_| wallet(s, Some("GRIN"), "bech32", true));
    }
    if lower.starts_with("bc1") || lower.starts_with("ltc1") {
        return segwit(s);
    }
    if s.len() == 95 || s.len() == 106 {
        if let Some(w) = monero(s) {
            return Some(w);
        }
    }
    if s.len() == 51 && s.starts_with('9') {
        // Ergo P2PK: 0x01 + 33-byte key + 4-byte Blake2b checksum (not verified here).
        let raw = base58_decode(s, 64)?;
        return (raw.len() == 38 && raw.first() == Some(&0x01))
            .then(|| wallet(s, Some("ERG"), "base58", false));
    }
    base58check(s)
}

fn wallet(address: &str, coin: Option<&str>, format: &str, checksum_ok: bool) -> Wallet {
    Wallet {
        address: address.to_string(),
        coin: coin.map(str::to_string),
        format: format.to_string(),
        checksum_ok,
    }
}

fn eth_address(full: &str, hex: &str) -> Option<Wallet> {
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    // EIP-55: mixed case carries a checksum; single case carries none.
    let checksum_ok = if has_lower && has_upper {
        if !eip55_ok(hex) {
            return None;
        }
        true
    } else {
        false
    };
    // ETH and ETC (and ETHW) share the format: the coin stays open.
    Some(wallet(full, None, "hex40", checksum_ok))
}

fn eip55_ok(hex: &str) -> bool {
    let lower = hex.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    hex.bytes().enumerate().all(|(i, b)| {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        if b.is_ascii_digit() {
            true
        } else if nibble >= 8 {
            b.is_ascii_uppercase()
        } else {
            b.is_ascii_lowercase()
        }
    })
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn b58_digit(c: u8) -> Option<u8> {
    BASE58.iter().position(|&d| d == c).map(|p| p as u8)
}

/// Plain (Bitcoin) base58 decode, refusing inputs that would exceed `max_len` bytes.
pub fn base58_decode(s: &str, max_len: usize) -> Option<Vec<u8>> {
    if s.len() > max_len * 2 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    for c in s.bytes() {
        let mut carry = u32::from(b58_digit(c)?);
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let mut v = vec![0u8; zeros];
    v.extend(out);
    (v.len() <= max_len).then_some(v)
}

/// Plain (Bitcoin) base58 encode.
pub fn base58_encode(data: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new();
    for &byte in data {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut().rev() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.insert(0, (carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    let mut s = "1".repeat(zeros);
    s.extend(digits.iter().map(|&d| BASE58[usize::from(d)] as char));
    s
}

/// Base58check encode (version bytes + payload + 4-byte double-SHA-256 checksum).
pub fn base58check_encode(version_and_payload: &[u8]) -> String {
    let check = Sha256::digest(Sha256::digest(version_and_payload));
    let mut v = version_and_payload.to_vec();
    v.extend_from_slice(&check[..4]);
    base58_encode(&v)
}

fn base58check(s: &str) -> Option<Wallet> {
    if !(25..=36).contains(&s.len()) {
        return None;
    }
    let raw = base58_decode(s, 40)?;
    if raw.len() < 5 {
        return None;
    }
    let (body, check) = raw.split_at(raw.len() - 4);
    let digest = Sha256::digest(Sha256::digest(body));
    if digest.get(..4)? != check {
        return None;
    }
    let coin = match (body.len(), body) {
        (21, [0x00, ..]) | (21, [0x05, ..]) => "BTC",
        (21, [0x30, ..]) | (21, [0x32, ..]) => "LTC",
        (21, [0x1e, ..]) | (21, [0x16, ..]) => "DOGE",
        (21, [0x4c, ..]) | (21, [0x10, ..]) => "DASH",
        (21, [0x3c, ..]) | (21, [0x7a, ..]) => "RVN",
        (22, [0x1c, 0xb8, ..]) | (22, [0x1c, 0xbd, ..]) => "ZEC",
        _ => return None,
    };
    Some(wallet(s, Some(coin), "base58check", true))
}

// ---- bech32 / bech32m (BIP-173, BIP-350) ----

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_CONST: u32 = 1;
const BECH32M_CONST: u32 = 0x2bc8_30a3;

fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &str) -> Vec<u8> {
    let mut v: Vec<u8> = hrp.bytes().map(|b| b >> 5).collect();
    v.push(0);
    v.extend(hrp.bytes().map(|b| b & 31));
    v
}

/// Which checksum constant a bech32 string verified with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bech32Variant {
    Bech32,
    Bech32m,
}

/// Decodes a bech32/bech32m string with the expected human-readable part; returns the
/// 5-bit data (without checksum) and the variant.
pub fn bech32_decode(s: &str, expected_hrp: &str) -> Option<(Vec<u8>, Bech32Variant)> {
    if s.len() > 128 {
        return None;
    }
    let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = s.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        return None;
    }
    let s = s.to_ascii_lowercase();
    let pos = s.rfind('1')?;
    let (hrp, data) = (&s[..pos], &s[pos + 1..]);
    if hrp != expected_hrp || data.len() < 6 {
        return None;
    }
    let values: Vec<u8> = data
        .bytes()
        .map(|c| BECH32_CHARSET.iter().position(|&d| d == c).map(|p| p as u8))
        .collect::<Option<_>>()?;
    let pm = bech32_polymod(hrp_expand(hrp).into_iter().chain(values.iter().copied()));
    let variant = match pm {
        BECH32_CONST => Bech32Variant::Bech32,
        BECH32M_CONST => Bech32Variant::Bech32m,
        _ => return None,
    };
    Some((values[..values.len() - 6].to_vec(), variant))
}

/// Encodes 5-bit data as bech32 or bech32m (for tests and the simulator).
pub fn bech32_encode(hrp: &str, data5: &[u8], variant: Bech32Variant) -> String {
    let constant = match variant {
        Bech32Variant::Bech32 => BECH32_CONST,
        Bech32Variant::Bech32m => BECH32M_CONST,
    };
    let mut values = hrp_expand(hrp);
    values.extend_from_slice(data5);
    values.extend_from_slice(&[0; 6]);
    let pm = bech32_polymod(values.into_iter()) ^ constant;
    let mut s = format!("{hrp}1");
    for &d in data5 {
        s.push(BECH32_CHARSET[usize::from(d & 31)] as char);
    }
    for i in 0..6 {
        s.push(BECH32_CHARSET[((pm >> (5 * (5 - i))) & 31) as usize] as char);
    }
    s
}

/// Regroups bits (8 -> 5 with padding, 5 -> 8 without).
pub fn convert_bits(data: &[u8], from: u32, to: u32, pad: bool) -> Option<Vec<u8>> {
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let maxv: u32 = (1 << to) - 1;
    let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
    for &v in data {
        if u32::from(v) >> from != 0 {
            return None;
        }
        acc = (acc << from) | u32::from(v);
        bits += from;
        while bits >= to {
            bits -= to;
            out.push(((acc >> bits) & maxv) as u8);
        }
    }
    if pad {
        if bits > 0 {
            out.push(((acc << (to - bits)) & maxv) as u8);
        }
    } else if bits >= from || ((acc << (to - bits)) & maxv) != 0 {
        return None;
    }
    Some(out)
}

fn bech32_any(s: &str, hrp: &str) -> Option<Bech32Variant> {
    bech32_decode(s, hrp).map(|(_, v)| v)
}

fn segwit(s: &str) -> Option<Wallet> {
    let lower = s.to_ascii_lowercase();
    let (hrp, coin) = if lower.starts_with("bc1") {
        ("bc", "BTC")
    } else {
        ("ltc", "LTC")
    };
    let (data, variant) = bech32_decode(s, hrp)?;
    let (&version, program5) = data.split_first()?;
    let program = convert_bits(program5, 5, 8, false)?;
    let ok = match version {
        0 => variant == Bech32Variant::Bech32 && (program.len() == 20 || program.len() == 32),
        1..=16 => variant == Bech32Variant::Bech32m && (2..=40).contains(&program.len()),
        _ => false,
    };
    ok.then(|| {
        let format = match variant {
            Bech32Variant::Bech32 => "bech32",
            Bech32Variant::Bech32m => "bech32m",
        };
        wallet(s, Some(coin), format, true)
    })
}

fn prefixed_base32(s: &str, prefix: &str, min: usize, max: usize, coin: &str) -> Option<Wallet> {
    let body = s.get(prefix.len()..)?;
    let ok = (min..=max).contains(&body.len())
        && body
            .bytes()
            .all(|b| BECH32_CHARSET.contains(&b.to_ascii_lowercase()));
    // CashAddr-style checksums (Kaspa, Conflux CIP-37) are not verified here.
    ok.then(|| wallet(s, Some(coin), "base32", false))
}

// ---- Monero ----

const MONERO_FULL_BLOCK: usize = 11;
const MONERO_BLOCK_SIZES: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];

fn monero_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 8 / 11 + 8);
    for chunk in bytes.chunks(MONERO_FULL_BLOCK) {
        let size = MONERO_BLOCK_SIZES.iter().position(|&n| n == chunk.len())?;
        let mut num: u128 = 0;
        for &c in chunk {
            num = num
                .checked_mul(58)?
                .checked_add(u128::from(b58_digit(c)?))?;
        }
        if size < 8 && num >> (8 * size) != 0 {
            return None;
        }
        if num > u128::from(u64::MAX) {
            return None;
        }
        let be = (num as u64).to_be_bytes();
        out.extend_from_slice(be.get(8 - size..)?);
    }
    Some(out)
}

/// Monero-style base58 encode (8-byte blocks to 11 characters).
pub fn monero_base58_encode(data: &[u8]) -> String {
    let mut s = String::new();
    for chunk in data.chunks(8) {
        let mut num: u64 = 0;
        for &b in chunk {
            num = (num << 8) | u64::from(b);
        }
        let width = MONERO_BLOCK_SIZES[chunk.len()];
        let mut buf = vec![b'1'; width];
        let mut i = width;
        while num > 0 && i > 0 {
            i -= 1;
            buf[i] = BASE58[(num % 58) as usize];
            num /= 58;
        }
        s.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    }
    s
}

/// Builds a Monero address string from its network byte and keys (tests and the simulator).
pub fn monero_address_encode(payload_with_prefix: &[u8]) -> String {
    let check = Keccak256::digest(payload_with_prefix);
    let mut v = payload_with_prefix.to_vec();
    v.extend_from_slice(&check[..4]);
    monero_base58_encode(&v)
}

fn monero(s: &str) -> Option<Wallet> {
    let raw = monero_decode(s)?;
    if raw.len() < 5 {
        return None;
    }
    let (body, check) = raw.split_at(raw.len() - 4);
    if Keccak256::digest(body).get(..4)? != check {
        return None;
    }
    // Network byte: 18 standard, 42 subaddress, 19 integrated (mainnet).
    let coin = match (body.first(), raw.len()) {
        (Some(18), 69) | (Some(42), 69) | (Some(19), 77) => Some("XMR"),
        _ => None,
    };
    Some(wallet(
        s,
        coin,
        if coin.is_some() {
            "monero"
        } else {
            "cryptonote"
        },
        true,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corrupt(s: &str, at: usize) -> String {
        let mut b = s.as_bytes().to_vec();
        b[at] = if b[at] == b'2' { b'3' } else { b'2' };
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn bitcoin_base58check_known_addresses() {
        // Genesis coinbase address and the BIP-13 P2SH example.
        for a in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        ] {
            let w = classify_address(a).expect(a);
            assert_eq!(w.coin.as_deref(), Some("BTC"));
            assert_eq!(w.format, "base58check");
            assert!(w.checksum_ok);
            assert!(classify_address(&corrupt(a, 10)).is_none(), "corrupted {a}");
        }
    }

    #[test]
    fn altcoin_base58check_by_version_byte() {
        let payload = [7u8; 20];
        for (ver, coin, first) in [
            (0x30u8, "LTC", 'L'),
            (0x32, "LTC", 'M'),
            (0x1e, "DOGE", 'D'),
            (0x4c, "DASH", 'X'),
            (0x3c, "RVN", 'R'),
        ] {
            let mut v = vec![ver];
            v.extend_from_slice(&payload);
            let a = base58check_encode(&v);
            assert!(a.starts_with(first), "{a}");
            let w = classify_address(&a).unwrap();
            assert_eq!(w.coin.as_deref(), Some(coin));
            assert!(classify_address(&corrupt(&a, 12)).is_none());
        }
        // An unknown version byte is not taken as a wallet.
        let mut v = vec![0x99];
        v.extend_from_slice(&payload);
        assert!(classify_address(&base58check_encode(&v)).is_none());
    }

    #[test]
    fn zcash_transparent_addresses_from_captures() {
        for a in [
            "t1fAhZF5aUJdY7CikGULHmeYk7id8qmvbAd",
            "t1KJkEGkUrmBRQdeQeNchfqgvDFD7Pk1kKQ",
            "t1fJuHWrfcWnYMYyP9VAF96vRnvND2NziMG",
        ] {
            let w = classify_address(a).expect(a);
            assert_eq!(w.coin.as_deref(), Some("ZEC"));
            assert!(classify_address(&corrupt(a, 20)).is_none());
        }
        let mut v = vec![0x1c, 0xbd];
        v.extend_from_slice(&[1u8; 20]);
        let t3 = base58check_encode(&v);
        assert!(t3.starts_with("t3"));
        assert_eq!(classify_address(&t3).unwrap().coin.as_deref(), Some("ZEC"));
    }

    #[test]
    fn segwit_bech32_and_bech32m() {
        let prog20 = convert_bits(&[0x75; 20], 8, 5, true).unwrap();
        let mut d = vec![0u8];
        d.extend(&prog20);
        let v0 = bech32_encode("bc", &d, Bech32Variant::Bech32);
        assert!(v0.starts_with("bc1q") && v0.len() == 42, "{v0}");
        let w = classify_address(&v0).unwrap();
        assert_eq!(
            (w.coin.as_deref(), w.format.as_str()),
            (Some("BTC"), "bech32")
        );
        assert!(classify_address(&v0.to_uppercase()).is_some());
        assert!(classify_address(&corrupt(&v0, 20)).is_none());

        let prog32 = convert_bits(&[0x42; 32], 8, 5, true).unwrap();
        let mut d = vec![1u8];
        d.extend(&prog32);
        let v1 = bech32_encode("bc", &d, Bech32Variant::Bech32m);
        assert!(v1.starts_with("bc1p") && v1.len() == 62, "{v1}");
        assert_eq!(classify_address(&v1).unwrap().format, "bech32m");
        // Witness v1 with the bech32 (not m) constant is invalid (BIP-350).
        let wrong = bech32_encode("bc", &d, Bech32Variant::Bech32);
        assert!(classify_address(&wrong).is_none());

        let mut d = vec![0u8];
        d.extend(&prog20);
        let ltc = bech32_encode("ltc", &d, Bech32Variant::Bech32);
        assert_eq!(classify_address(&ltc).unwrap().coin.as_deref(), Some("LTC"));
    }

    #[test]
    fn monero_addresses_from_public_captures() {
        for a in [
            "46WNbmwXpYxiBpkbHjAgjC65cyzAxtaaBQjcGpAZquhBKw2r8NtPQniEgMJcwFMCZzSBrEJtmPsTR54MoGBDbjTi2W1XmgM",
            "41ymEBmviWTgohYvVCSYzjgH9JsdY98243VeBz9SwrCrheVDVW4JWp4anzVnjMvAgkjBdCK5zB7RFHdGKynV7THLAiNrmY4",
            "47mr7jYTroxQMwdKoPQuJoc9Vs9S9qCUAL6Ek4qyNFWJdqgBZRn4RYY2QjQfqEMJZVWPscupSgaqmUn1dpdUTC4fQsu3yjN",
            "4BCeEPhodgPMbPWFN1dPwhWXdRX8q4mhhdZdA1dtSMLTLCEYvAj9QXjXAfF7CugEbmfBhgkqHbdgK9b2wKA6nqRZQCgvCDm",
        ] {
            let w = classify_address(a).expect(a);
            assert_eq!((w.coin.as_deref(), w.format.as_str()), (Some("XMR"), "monero"));
            assert!(w.checksum_ok);
            assert!(classify_address(&corrupt(a, 50)).is_none(), "corrupted {a}");
        }
    }

    #[test]
    fn monero_subaddress_and_integrated_round_trip() {
        let mut sub = vec![42u8];
        sub.extend_from_slice(&[9u8; 64]);
        let a = monero_address_encode(&sub);
        assert_eq!(a.len(), 95);
        assert!(a.starts_with('8'));
        assert_eq!(classify_address(&a).unwrap().coin.as_deref(), Some("XMR"));
        let mut integ = vec![19u8];
        integ.extend_from_slice(&[3u8; 72]);
        let a = monero_address_encode(&integ);
        assert_eq!(a.len(), 106);
        assert_eq!(classify_address(&a).unwrap().coin.as_deref(), Some("XMR"));
    }

    #[test]
    fn ethereum_hex_and_eip55() {
        // EIP-55 example address.
        let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let w = classify_address(good).unwrap();
        assert!(w.checksum_ok);
        assert_eq!(w.coin, None, "ETH/ETC stay ambiguous");
        let bad = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert!(classify_address(bad).is_none());
        let lower = "0x9c99d212f7e5daa18ab50810e0fd255d1f04303b";
        let w = classify_address(lower).unwrap();
        assert_eq!((w.format.as_str(), w.checksum_ok), ("hex40", false));
        assert!(classify_address("0x9c99d212f7e5daa18ab50810e0fd255d1f04303").is_none());
    }

    #[test]
    fn prefixed_coins() {
        let kas = format!("kaspa:q{}", "p".repeat(60));
        assert_eq!(classify_address(&kas).unwrap().coin.as_deref(), Some("KAS"));
        assert!(classify_address("kaspa:qbo").is_none());
        let cfx = format!("cfx:aa{}", "k".repeat(40));
        assert_eq!(classify_address(&cfx).unwrap().coin.as_deref(), Some("CFX"));
        let key5 = convert_bits(&[0x11; 32], 8, 5, true).unwrap();
        let grin = bech32_encode("grin", &key5, Bech32Variant::Bech32);
        assert_eq!(
            classify_address(&grin).unwrap().coin.as_deref(),
            Some("GRIN")
        );
        assert!(classify_address(&corrupt(&grin, 30)).is_none());
        let mut erg = vec![0x01u8];
        erg.extend_from_slice(&[0x02; 37]);
        let erg = base58_encode(&erg);
        assert!(erg.starts_with('9') && erg.len() == 51, "{erg}");
        assert_eq!(classify_address(&erg).unwrap().coin.as_deref(), Some("ERG"));
    }

    #[test]
    fn login_splitting() {
        let p = split_login("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa+65536");
        assert_eq!(p.fixed_difficulty.as_deref(), Some("65536"));
        assert!(p.wallet.unwrap().checksum_ok);

        let p = split_login(
            "0x9c99d212f7e5daa18ab50810e0fd255d1f04303b/tester.worker1/vvesely@mailinator",
        );
        assert_eq!(p.wallet.unwrap().format, "hex40");
        assert_eq!(p.worker.as_deref(), Some("tester.worker1"));
        assert_eq!(p.email.as_deref(), Some("vvesely@mailinator"));

        let p = split_login("4BCeEPhodgPMbPWFN1dPwhWXdRX8q4mhhdZdA1dtSMLTLCEYvAj9QXjXAfF7CugEbmfBhgkqHbdgK9b2wKA6nqRZQCgvCDm.cb2b73415c4faf214035a73b9d947c202342f3bf3bdf632132bd6d7af98cb257.ryzen");
        assert_eq!(p.wallet.unwrap().coin.as_deref(), Some("XMR"));
        assert_eq!(p.payment_id.map(|s| s.len()), Some(64));
        assert_eq!(p.worker.as_deref(), Some("ryzen"));

        let p = split_login("someone@example.com");
        assert_eq!(p.wallet.unwrap().format, "email");
        let p = split_login("someone@example.com/rig2");
        assert_eq!(p.wallet.unwrap().format, "email");
        assert_eq!(p.worker.as_deref(), Some("rig2"));

        let p = split_login("Bitcoin");
        assert_eq!(p.wallet.unwrap().format, "account");
        let p = split_login("acct.worker9");
        assert_eq!(p.worker.as_deref(), Some("worker9"));
        let kas = format!("kaspa:q{}.rig", "p".repeat(60));
        let p = split_login(&kas);
        assert_eq!(p.wallet.unwrap().coin.as_deref(), Some("KAS"));
        assert_eq!(p.worker.as_deref(), Some("rig"));
        assert!(split_login("").wallet.is_none());
        assert!(split_login("has space!").wallet.is_none());
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        for s in [
            "1",
            "11111111111111111111111111111111111111",
            "0x",
            "kaspa:",
            "bc1",
            "grin1",
            "é@ü.de",
            "\u{0}\u{1}",
            "9",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        ] {
            let _ = classify_address(s);
            let _ = split_login(s);
        }
        let long = "4".repeat(106);
        let _ = classify_address(&long);
        let _ = split_login(&"é".repeat(1000));
    }
}
