//! The evidence ledger: append-only records, each chained to the one before by SHA-256 and signed
//! with the server's Ed25519 key.
//!
//! `hash = SHA-256("minetrace-ledger/1\0" || seq (8 bytes BE) || at (8 bytes BE) || kind || 0 ||
//! subject || 0 || SHA-256(payload) || prev)`, where `prev` is the previous record's hash (32 zero
//! bytes for the first) and `payload` the exact UTF-8 bytes stored. `sig = Ed25519(hash)`.

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
    pub sig: String,
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
    Hash,
    Signature,
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
        let mut sig = [0u8; 64];
        hex::decode_to_slice(&self.sig, &mut sig).map_err(|_| RecordFault::Signature)?;
        key.verify(&h, &Signature::from_bytes(&sig))
            .map_err(|_| RecordFault::Signature)
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

    /// Builds the next record after `prev` (seq and hash of the current head).
    pub fn seal(
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
            sig: hex::encode(self.signing.sign(&h).to_bytes()),
        }
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
        let r = key.seal((0, GENESIS), 5, "finding", "finding:ab", "{\"a\":1}".into());
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

    #[test]
    fn key_is_created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let a = LedgerKey::load_or_create(dir.path()).unwrap();
        let b = LedgerKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.public_hex(), b.public_hex());
    }
}
