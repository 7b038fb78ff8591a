//! The evidence ledger: append-only records, each chained to the one before by SHA-256 and signed
//! with the server's Ed25519 key.
//!
//! `hash = SHA-256("minetrace-ledger/1\0" || seq (8 bytes BE) || at (8 bytes BE) || kind || 0 ||
//! subject || 0 || SHA-256(payload) || prev)`, where `prev` is the previous record's hash (32 zero
//! bytes for the first) and `payload` the exact UTF-8 bytes stored.
//!
//! Signatures: every transaction that appends records ends with one [`Seal`], an Ed25519
//! signature over the Merkle root of the hashes of the records it appended (seqs `first..=last`),
//! so a batch of 5,000 findings costs one signature, not 5,000. A record proves it was signed
//! with its Merkle path to the seal's root ([`SealProof`]); a bundle carries that proof for every
//! record, so a case's records verify on their own, without the rest of the ledger. Records
//! written before seals existed carry their own signature in `sig` (`sig = Ed25519(hash)`), and
//! still verify.
//!
//! The Merkle tree is the one of RFC 6962 (Certificate Transparency): leaf = SHA-256(0x00 ||
//! record hash), node = SHA-256(0x01 || left || right), an odd last node carried up a level.
//!
//! ```
//! use minetrace_store::ledger::{LedgerKey, GENESIS};
//! let key = LedgerKey::ephemeral();
//! let a = key.chain_record((0, GENESIS), 1, "finding", "finding:a", "{}".into());
//! let b = key.chain_record((a.seq, &a.hash), 2, "finding", "finding:b", "{}".into());
//! let seal = key.sign_seal(3, &[a.clone(), b.clone()]).unwrap();
//! let mut sealed = b.clone();
//! sealed.seal = Some(seal.proof_for(&[a.clone(), b.clone()], b.seq).unwrap());
//! assert!(sealed.check(&key.verifying_key()).is_ok());
//! ```

use crate::StoreError;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Hash of "no previous record".
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One ledger record as stored and as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRecord {
    pub seq: i64,
    /// Microseconds since the epoch when the server appended it.
    pub at: i64,
    /// `finding`, `attachment`, `heartbeat`, `case-opened`, `case-updated`, `case-reopened`...
    pub kind: String,
    /// What it is about: `finding:<id>`, `case:<n>`, `attachment:<sha256>`, `source:<name>`.
    pub subject: String,
    /// Exact JSON text the hash covers.
    pub payload: String,
    pub prev: String,
    pub hash: String,
    /// The record's own signature (records from before seals); empty when a seal signs it.
    pub sig: String,
    /// Where a seal signs it: the seal and the record's Merkle path (attached when exported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealProof>,
}

/// One signature over the records a transaction appended (seqs `first..=last`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    pub first: i64,
    pub last: i64,
    /// Microseconds since the epoch when the server sealed it.
    pub at: i64,
    /// Merkle root (hex) of the records' hashes.
    pub root: String,
    /// Ed25519 over [`seal_message`] (hex).
    pub sig: String,
}

/// A seal and the path from one record's hash to its root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealProof {
    pub seal: Seal,
    /// Sibling hashes (hex), from the leaf up.
    pub path: Vec<String>,
}

/// The bytes a seal's signature covers.
pub fn seal_message(first: i64, last: i64, at: i64, root: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + 24);
    m.extend_from_slice(b"minetrace-ledger-seal/1\0");
    m.extend_from_slice(&first.to_be_bytes());
    m.extend_from_slice(&last.to_be_bytes());
    m.extend_from_slice(&at.to_be_bytes());
    m.extend_from_slice(root);
    m
}

fn merkle_leaf(record_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(record_hash);
    h.finalize().into()
}

fn merkle_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Every level of the tree over `hashes`, leaves first, root level (one node) last.
fn merkle_levels(hashes: &[[u8; 32]]) -> Vec<Vec<[u8; 32]>> {
    let mut levels = vec![hashes.iter().map(merkle_leaf).collect::<Vec<_>>()];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let below = levels.last().map(Vec::as_slice).unwrap_or_default();
        let up = below
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => merkle_node(l, r),
                [odd, ..] => *odd,
                [] => [0u8; 32], // chunks(2) never yields an empty slice
            })
            .collect();
        levels.push(up);
    }
    levels
}

/// The Merkle root over record hashes (None for no records).
pub fn merkle_root(hashes: &[[u8; 32]]) -> Option<[u8; 32]> {
    merkle_levels(hashes).last()?.first().copied()
}

/// The root that `path` leads to from leaf `index` of a tree of `size` leaves.
fn root_from_path(
    record_hash: &[u8; 32],
    mut index: u64,
    mut size: u64,
    path: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let mut node = merkle_leaf(record_hash);
    let mut siblings = path.iter();
    while size > 1 {
        if index % 2 == 1 {
            node = merkle_node(siblings.next()?, &node);
        } else if index + 1 < size {
            node = merkle_node(&node, siblings.next()?);
        }
        index /= 2;
        size = size.div_ceil(2);
    }
    siblings.next().is_none().then_some(node)
}

/// A record hash from its hex form.
pub fn decode_hash(hex_hash: &str) -> Option<[u8; 32]> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut b).ok()?;
    Some(b)
}

impl Seal {
    /// Checks the seal's signature.
    pub fn check(&self, key: &VerifyingKey) -> bool {
        let (Some(root), Some(sig)) = (decode_hash(&self.root), decode_sig(&self.sig)) else {
            return false;
        };
        key.verify(
            &seal_message(self.first, self.last, self.at, &root),
            &Signature::from_bytes(&sig),
        )
        .is_ok()
    }

    /// Whether the records (exactly `first..=last`, in order) are the ones the seal signs.
    pub fn covers(&self, records: &[LedgerRecord]) -> bool {
        let hashes: Option<Vec<[u8; 32]>> = records.iter().map(|r| decode_hash(&r.hash)).collect();
        let in_order = records
            .iter()
            .enumerate()
            .all(|(i, r)| r.seq == self.first + i as i64);
        match hashes {
            Some(h) if in_order && records.last().map(|r| r.seq) == Some(self.last) => {
                merkle_root(&h).map(hex::encode).as_deref() == Some(self.root.as_str())
            }
            _ => false,
        }
    }

    /// The proof for record `seq`, given the seal's records (`first..=last`, in order).
    pub fn proof_for(&self, records: &[LedgerRecord], seq: i64) -> Option<SealProof> {
        let hashes: Vec<[u8; 32]> = records
            .iter()
            .map(|r| decode_hash(&r.hash))
            .collect::<Option<_>>()?;
        self.proofs_for(&hashes, &[seq]).pop().flatten()
    }

    /// Proofs for several records at once (the tree is built once), given the hashes of all
    /// the seal's records in order; `None` for a seq the seal does not cover.
    pub fn proofs_for(&self, hashes: &[[u8; 32]], seqs: &[i64]) -> Vec<Option<SealProof>> {
        let levels = merkle_levels(hashes);
        let upper = levels.len().saturating_sub(1);
        seqs.iter()
            .map(|&seq| {
                let index = usize::try_from(seq.checked_sub(self.first)?).ok()?;
                hashes.get(index)?;
                let mut path = Vec::new();
                let mut i = index;
                for level in &levels[..upper] {
                    if let Some(sibling) = level.get(i ^ 1) {
                        path.push(hex::encode(sibling));
                    }
                    i /= 2;
                }
                Some(SealProof {
                    seal: self.clone(),
                    path,
                })
            })
            .collect()
    }
}

fn decode_sig(hex_sig: &str) -> Option<[u8; 64]> {
    let mut b = [0u8; 64];
    hex::decode_to_slice(hex_sig, &mut b).ok()?;
    Some(b)
}

/// Computes a record's hash from its parts.
pub fn record_hash(
    seq: i64,
    at: i64,
    kind: &str,
    subject: &str,
    payload: &str,
    prev_hex: &str,
) -> [u8; 32] {
    let mut prev = [0u8; 32];
    // A malformed prev simply never matches; verification reports the record as changed.
    let _ = hex::decode_to_slice(prev_hex, &mut prev);
    let mut h = Sha256::new();
    h.update(b"minetrace-ledger/1\0");
    h.update(seq.to_be_bytes());
    h.update(at.to_be_bytes());
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(subject.as_bytes());
    h.update([0]);
    h.update(Sha256::digest(payload.as_bytes()));
    h.update(prev);
    h.finalize().into()
}

/// Why a record does not verify on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordFault {
    /// Its content does not match its hash.
    Hash,
    /// Its own signature, or its seal's, does not verify.
    Signature,
    /// Its Merkle path does not lead to its seal's root (or it carries no signature at all).
    Proof,
}

impl LedgerRecord {
    /// Checks the record's own hash and signature (not its place in a chain).
    pub fn check(&self, key: &VerifyingKey) -> Result<(), RecordFault> {
        let h = record_hash(
            self.seq,
            self.at,
            &self.kind,
            &self.subject,
            &self.payload,
            &self.prev,
        );
        if hex::encode(h) != self.hash || self.prev.len() != 64 {
            return Err(RecordFault::Hash);
        }
        if !self.sig.is_empty() {
            let sig = decode_sig(&self.sig).ok_or(RecordFault::Signature)?;
            return key
                .verify(&h, &Signature::from_bytes(&sig))
                .map_err(|_| RecordFault::Signature);
        }
        let proof = self.seal.as_ref().ok_or(RecordFault::Proof)?;
        let seal = &proof.seal;
        let path: Vec<[u8; 32]> = proof
            .path
            .iter()
            .map(|p| decode_hash(p))
            .collect::<Option<_>>()
            .ok_or(RecordFault::Proof)?;
        let (Ok(index), Ok(size)) = (
            u64::try_from(self.seq - seal.first),
            u64::try_from(seal.last - seal.first + 1),
        ) else {
            return Err(RecordFault::Proof);
        };
        let root = root_from_path(&h, index, size, &path).ok_or(RecordFault::Proof)?;
        if hex::encode(root) != seal.root {
            return Err(RecordFault::Proof);
        }
        if !seal.check(key) {
            return Err(RecordFault::Signature);
        }
        Ok(())
    }
}

/// The server's signing key, kept in the data directory (`ledger-key.ed25519`, 0600).
pub struct LedgerKey {
    signing: SigningKey,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LedgerKey({})", self.public_hex())
    }
}

impl LedgerKey {
    /// A fresh key that lives in memory only (tests).
    pub fn ephemeral() -> Self {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        LedgerKey {
            signing: SigningKey::from_bytes(&seed),
            path: None,
        }
    }

    /// Loads the key from `dir/ledger-key.ed25519`, creating it on first start.
    pub fn load_or_create(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("ledger-key.ed25519");
        let io = |e: std::io::Error| StoreError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if path.exists() {
            let text = minetrace_core::io::read_bounded_string(&path, 4096).map_err(|e| {
                StoreError::Key {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            let mut seed = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut seed).map_err(|e| StoreError::Key {
                path: path.display().to_string(),
                message: format!("not 64 hex digits: {e}"),
            })?;
            return Ok(LedgerKey {
                signing: SigningKey::from_bytes(&seed),
                path: Some(path),
            });
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        let key = LedgerKey::ephemeral();
        let tmp = dir.join("ledger-key.ed25519.tmp");
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let _ = std::fs::remove_file(&tmp);
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(hex::encode(key.signing.to_bytes()).as_bytes())
                .map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(LedgerKey {
            path: Some(path),
            ..key
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.verifying_key().to_bytes())
    }

    pub fn sign(&self, msg: &[u8]) -> String {
        hex::encode(self.signing.sign(msg).to_bytes())
    }

    /// Builds the next record after `prev` (seq and hash of the current head), unsigned: the
    /// transaction's [`Seal`] signs it.
    pub fn chain_record(
        &self,
        prev: (i64, &str),
        at: i64,
        kind: &str,
        subject: &str,
        payload: String,
    ) -> LedgerRecord {
        let seq = prev.0 + 1;
        let h = record_hash(seq, at, kind, subject, &payload, prev.1);
        LedgerRecord {
            seq,
            at,
            kind: kind.to_string(),
            subject: subject.to_string(),
            payload,
            prev: prev.1.to_string(),
            hash: hex::encode(h),
            sig: String::new(),
            seal: None,
        }
    }

    /// Signs the Merkle root of consecutive records (one transaction's appends).
    pub fn sign_seal(&self, at: i64, records: &[LedgerRecord]) -> Option<Seal> {
        let hashes: Vec<[u8; 32]> = records
            .iter()
            .map(|r| decode_hash(&r.hash))
            .collect::<Option<_>>()?;
        self.sign_seal_hashes(at, records.first()?.seq, &hashes)
    }

    /// Signs the Merkle root of the hashes of records `first..first + hashes.len()`.
    pub fn sign_seal_hashes(&self, at: i64, first: i64, hashes: &[[u8; 32]]) -> Option<Seal> {
        let root = merkle_root(hashes)?;
        let last = first + i64::try_from(hashes.len()).ok()? - 1;
        let sig = self.signing.sign(&seal_message(first, last, at, &root));
        Some(Seal {
            first,
            last,
            at,
            root: hex::encode(root),
            sig: hex::encode(sig.to_bytes()),
        })
    }

    /// Builds the next record and signs it on its own (how records were signed before seals;
    /// kept so that old ledgers and bundles are tested as they are).
    pub fn seal_single(
        &self,
        prev: (i64, &str),
        at: i64,
        kind: &str,
        subject: &str,
        payload: String,
    ) -> LedgerRecord {
        let mut r = self.chain_record(prev, at, kind, subject, payload);
        if let Some(h) = decode_hash(&r.hash) {
            r.sig = hex::encode(self.signing.sign(&h).to_bytes());
        }
        r
    }
}

/// Parses a hex Ed25519 public key.
pub fn parse_public_key(hex_key: &str) -> Option<VerifyingKey> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(hex_key.trim(), &mut b).ok()?;
    VerifyingKey::from_bytes(&b).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_records_check_and_any_change_breaks_them() {
        let key = LedgerKey::ephemeral();
        let r = key.seal_single((0, GENESIS), 5, "finding", "finding:ab", "{\"a\":1}".into());
        assert_eq!(r.seq, 1);
        assert!(r.check(&key.verifying_key()).is_ok());
        let mut bad = r.clone();
        bad.payload = "{\"a\":2}".into();
        assert_eq!(bad.check(&key.verifying_key()), Err(RecordFault::Hash));
        let mut bad = r.clone();
        bad.seq = 2;
        assert_eq!(bad.check(&key.verifying_key()), Err(RecordFault::Hash));
        let other = LedgerKey::ephemeral();
        assert_eq!(r.check(&other.verifying_key()), Err(RecordFault::Signature));
    }

    fn chain(key: &LedgerKey, n: usize) -> Vec<LedgerRecord> {
        let mut out: Vec<LedgerRecord> = Vec::new();
        for i in 0..n {
            let prev = out
                .last()
                .map_or((0, GENESIS.to_string()), |r| (r.seq, r.hash.clone()));
            out.push(key.chain_record(
                (prev.0, &prev.1),
                i as i64,
                "finding",
                &format!("finding:{i}"),
                format!("{{\"n\":{i}}}"),
            ));
        }
        out
    }

    #[test]
    fn every_record_of_a_seal_proves_itself_for_every_tree_size() {
        let key = LedgerKey::ephemeral();
        for n in [1usize, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100] {
            let records = chain(&key, n);
            let seal = key.sign_seal(99, &records).unwrap();
            assert!(seal.check(&key.verifying_key()));
            assert!(seal.covers(&records));
            for r in &records {
                let mut sealed = r.clone();
                sealed.seal = Some(seal.proof_for(&records, r.seq).unwrap());
                assert_eq!(
                    sealed.check(&key.verifying_key()),
                    Ok(()),
                    "n={n} seq={}",
                    r.seq
                );
            }
        }
    }

    #[test]
    fn a_changed_path_seal_or_record_fails() {
        let key = LedgerKey::ephemeral();
        let records = chain(&key, 9);
        let seal = key.sign_seal(1, &records).unwrap();
        let mut r = records[4].clone();
        r.seal = Some(seal.proof_for(&records, r.seq).unwrap());
        let vk = key.verifying_key();
        assert_eq!(r.check(&vk), Ok(()));

        let mut bad = r.clone();
        bad.seal.as_mut().unwrap().path[1] = hex::encode([7u8; 32]);
        assert_eq!(bad.check(&vk), Err(RecordFault::Proof));
        let mut bad = r.clone();
        bad.seal.as_mut().unwrap().path.pop();
        assert_eq!(bad.check(&vk), Err(RecordFault::Proof));
        let mut bad = r.clone();
        bad.seal.as_mut().unwrap().seal.at += 1;
        assert_eq!(bad.check(&vk), Err(RecordFault::Signature));
        let mut bad = r.clone();
        bad.seal.as_mut().unwrap().seal.last += 1;
        assert!(bad.check(&vk).is_err());
        let mut bad = r.clone();
        bad.payload.push(' ');
        assert_eq!(bad.check(&vk), Err(RecordFault::Hash));
        let mut bad = r.clone();
        bad.seal = None;
        assert_eq!(bad.check(&vk), Err(RecordFault::Proof));
        // A proof for one record does not prove its neighbour.
        let mut other = records[5].clone();
        other.seal = r.seal.clone();
        assert_eq!(other.check(&vk), Err(RecordFault::Proof));
        assert_eq!(
            r.check(&LedgerKey::ephemeral().verifying_key()),
            Err(RecordFault::Signature)
        );
        // The seal covers exactly its records, in order.
        let mut swapped = records.clone();
        swapped.swap(2, 3);
        assert!(!seal.covers(&swapped));
        assert!(!seal.covers(&records[..8]));
    }

    #[test]
    fn key_is_created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let a = LedgerKey::load_or_create(dir.path()).unwrap();
        let b = LedgerKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.public_hex(), b.public_hex());
    }
}
