//! Payout addresses that validate: Monero base58 with Keccak checksum, bech32 (BTC, LTC),
//! base58check (RVN, ZEC, DOGE), EIP-55 Ethereum, Kaspa cashaddr-style, Grin bech32.
//! The keys behind them are random bytes: these addresses belong to nobody.

use rand::Rng;
use sha2::{Digest, Sha256};

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Keccak-256 as Ethereum and Monero use it (original padding 0x01, not SHA3's 0x06).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    const RATE: usize = 136;
    let mut state = [0u64; 25];
    let mut padded = data.to_vec();
    padded.push(0x01);
    while padded.len() % RATE != 0 {
        padded.push(0);
    }
    if let Some(last) = padded.last_mut() {
        *last |= 0x80;
    }
    for block in padded.chunks(RATE) {
        for (i, lane) in block.chunks(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(lane);
            state[i] ^= u64::from_le_bytes(b);
        }
        keccak_f(&mut state);
    }
    let mut out = [0u8; 32];
    for i in 0..4 {
        out[8 * i..8 * i + 8].copy_from_slice(&state[i].to_le_bytes());
    }
    out
}

fn keccak_f(a: &mut [u64; 25]) {
    const RC: [u64; 24] = [
        0x0000000000000001,
        0x0000000000008082,
        0x800000000000808a,
        0x8000000080008000,
        0x000000000000808b,
        0x0000000080000001,
        0x8000000080008081,
        0x8000000000008009,
        0x000000000000008a,
        0x0000000000000088,
        0x0000000080008009,
        0x000000008000000a,
        0x000000008000808b,
        0x800000000000008b,
        0x8000000000008089,
        0x8000000000008003,
        0x8000000000008002,
        0x8000000000000080,
        0x000000000000800a,
        0x800000008000000a,
        0x8000000080008081,
        0x8000000000008080,
        0x0000000080000001,
        0x8000000080008008,
    ];
    const ROT: [u32; 25] = [
        0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56,
        14,
    ];
    for rc in RC {
        let mut c = [0u64; 5];
        for x in 0..5 {
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[x + 5 * y] ^= d;
            }
        }
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] = a[x + 5 * y].rotate_left(ROT[x + 5 * y]);
            }
        }
        for x in 0..5 {
            for y in 0..5 {
                a[x + 5 * y] = b[x + 5 * y] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        a[0] ^= rc;
    }
}

fn sha256d(data: &[u8]) -> [u8; 32] {
    let once = Sha256::digest(data);
    Sha256::digest(once).into()
}

/// Plain base58 of a big-endian number (Bitcoin style, leading zero bytes as '1').
fn base58(data: &[u8]) -> String {
    let zeros = data.iter().take_while(|b| **b == 0).count();
    let mut digits: Vec<u8> = Vec::new();
    for &byte in data {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    for _ in 0..zeros {
        s.push('1');
    }
    for d in digits.iter().rev() {
        s.push(B58[*d as usize] as char);
    }
    s
}

fn base58check(version: &[u8], payload: &[u8]) -> String {
    let mut v = version.to_vec();
    v.extend_from_slice(payload);
    let sum = sha256d(&v);
    v.extend_from_slice(&sum[..4]);
    base58(&v)
}

/// Monero's block-wise base58: 8-byte blocks become 11 characters, the tail per a table.
fn monero_base58(data: &[u8]) -> String {
    const ENCODED: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];
    let mut s = String::new();
    for block in data.chunks(8) {
        let mut n: u128 = 0;
        for b in block {
            n = (n << 8) | u128::from(*b);
        }
        let width = ENCODED[block.len()];
        let mut chars = vec![b'1'; width];
        for slot in chars.iter_mut().rev() {
            *slot = B58[(n % 58) as usize];
            n /= 58;
        }
        s.push_str(&String::from_utf8_lossy(&chars));
    }
    s
}

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ u32::from(*v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn to_5bit(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in data {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
    out
}

/// bech32 (BIP-173) of 5-bit `data` under `hrp`.
fn bech32(hrp: &str, data: &[u8]) -> String {
    let mut values: Vec<u8> = hrp.bytes().map(|c| c >> 5).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|c| c & 31));
    values.extend_from_slice(data);
    values.extend_from_slice(&[0; 6]);
    let pm = bech32_polymod(&values) ^ 1;
    let mut s = format!("{hrp}1");
    for d in data {
        s.push(BECH32[*d as usize] as char);
    }
    for i in 0..6 {
        s.push(BECH32[((pm >> (5 * (5 - i))) & 31) as usize] as char);
    }
    s
}

fn cashaddr_polymod(values: &[u8]) -> u64 {
    let mut c: u64 = 1;
    for d in values {
        let c0 = (c >> 35) as u8;
        c = ((c & 0x07_ffff_ffff) << 5) ^ u64::from(*d);
        if c0 & 0x01 != 0 {
            c ^= 0x98_f2bc_8e61;
        }
        if c0 & 0x02 != 0 {
            c ^= 0x79_b76d_99e2;
        }
        if c0 & 0x04 != 0 {
            c ^= 0xf3_3e5f_b3c4;
        }
        if c0 & 0x08 != 0 {
            c ^= 0xae_2eab_e2a8;
        }
        if c0 & 0x10 != 0 {
            c ^= 0x1e_4f43_e470;
        }
    }
    c ^ 1
}

fn random_bytes<const N: usize>(rng: &mut impl Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b[..]);
    b
}

/// A standard Monero address (`4...`, 95 characters) with a valid Keccak checksum.
pub fn monero(rng: &mut impl Rng) -> String {
    let mut v = vec![18u8];
    v.extend_from_slice(&random_bytes::<32>(rng));
    v.extend_from_slice(&random_bytes::<32>(rng));
    let sum = keccak256(&v);
    v.extend_from_slice(&sum[..4]);
    monero_base58(&v)
}

/// A native segwit P2WPKH address (`bc1q...` / `ltc1q...`, 42/43 characters).
pub fn segwit_v0(rng: &mut impl Rng, hrp: &str) -> String {
    let mut data = vec![0u8];
    data.extend(to_5bit(&random_bytes::<20>(rng)));
    bech32(hrp, &data)
}

/// An EIP-55 checksummed Ethereum address.
pub fn ethereum(rng: &mut impl Rng) -> String {
    let raw = random_bytes::<20>(rng);
    let lower: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let hash = keccak256(lower.as_bytes());
    let mut s = String::from("0x");
    for (i, ch) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        if ch.is_ascii_alphabetic() && nibble >= 8 {
            s.push(ch.to_ascii_uppercase());
        } else {
            s.push(ch);
        }
    }
    s
}

/// A Ravencoin P2PKH address (`R...`, 34 characters).
pub fn ravencoin(rng: &mut impl Rng) -> String {
    base58check(&[60], &random_bytes::<20>(rng))
}

/// A Zcash transparent P2PKH address (`t1...`, 35 characters).
pub fn zcash_t1(rng: &mut impl Rng) -> String {
    base58check(&[0x1c, 0xb8], &random_bytes::<20>(rng))
}

/// A Kaspa Schnorr address (`kaspa:` + 61 characters).
pub fn kaspa(rng: &mut impl Rng) -> String {
    let mut payload = vec![0u8];
    payload.extend_from_slice(&random_bytes::<32>(rng));
    let data = to_5bit(&payload);
    let prefix = "kaspa";
    let mut values: Vec<u8> = prefix.bytes().map(|c| c & 31).collect();
    values.push(0);
    values.extend_from_slice(&data);
    values.extend_from_slice(&[0; 8]);
    let pm = cashaddr_polymod(&values);
    let mut s = format!("{prefix}:");
    for d in &data {
        s.push(BECH32[*d as usize] as char);
    }
    for i in 0..8 {
        s.push(BECH32[((pm >> (5 * (7 - i))) & 31) as usize] as char);
    }
    s
}

/// A Grin slatepack address (`grin1...`, bech32 of an ed25519 public key).
pub fn grin(rng: &mut impl Rng) -> String {
    bech32("grin", &to_5bit(&random_bytes::<32>(rng)))
}

/// `n` random bytes as lowercase hex (nonces, hashes, blobs: no proof-of-work is done).
pub fn hex(rng: &mut impl Rng, n: usize) -> String {
    let mut s = String::with_capacity(2 * n);
    for _ in 0..n {
        let b: u8 = rng.gen();
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn keccak_known_answers() {
        let h = keccak256(b"");
        assert_eq!(
            hex_of(&h),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        let long = vec![b'a'; 200]; // spans two rate blocks
        assert_eq!(keccak256(&long).len(), 32);
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn address_shapes() {
        let mut rng = StdRng::seed_from_u64(1);
        let x = monero(&mut rng);
        assert_eq!(x.len(), 95);
        assert!(x.starts_with('4'));
        let b = segwit_v0(&mut rng, "bc");
        assert!(b.starts_with("bc1q") && b.len() == 42, "{b}");
        let e = ethereum(&mut rng);
        assert_eq!(e.len(), 42);
        let r = ravencoin(&mut rng);
        assert!(r.starts_with('R') && r.len() == 34, "{r}");
        let z = zcash_t1(&mut rng);
        assert!(z.starts_with("t1") && z.len() == 35, "{z}");
        let k = kaspa(&mut rng);
        assert_eq!(k.len(), "kaspa:".len() + 61, "{k}");
        assert!(grin(&mut rng).starts_with("grin1"));
    }

    #[test]
    fn bech32_matches_bip173_vector() {
        // BIP-173: bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 is 751e76e8199196d454941c45d1b3a323f1433bd6
        let prog = [
            0x75, 0x1e, 0x76, 0xe8, 0x19, 0x91, 0x96, 0xd4, 0x54, 0x94, 0x1c, 0x45, 0xd1, 0xb3,
            0xa3, 0x23, 0xf1, 0x43, 0x3b, 0xd6,
        ];
        let mut data = vec![0u8];
        data.extend(to_5bit(&prog));
        assert_eq!(
            bech32("bc", &data),
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        );
    }

    #[test]
    fn eip55_matches_known_vector() {
        // EIP-55 example: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
        let lower = "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
        let hash = keccak256(lower.as_bytes());
        let mut s = String::from("0x");
        for (i, ch) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
            s.push(if ch.is_ascii_alphabetic() && nibble >= 8 {
                ch.to_ascii_uppercase()
            } else {
                ch
            });
        }
        assert_eq!(s, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    }
}
