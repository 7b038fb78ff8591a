//! Evidence bundles: a case's ledger records and attachments in one JSON Lines file that anyone
//! can verify offline.
//!
//! Line 1 is the signed [`Manifest`] (records by seq and hash, attachments by SHA-256, the
//! public key). Then one `{"record": ...}` line per ledger record in seq order (each sealed record
//! with its seal and Merkle path, see [`crate::ledger`]), then one
//! `{"attachment": ...}` line per attachment (bytes in base64). [`verify`] names the first record
//! or attachment that was changed, removed, reordered or added.

use crate::ledger::{parse_public_key, LedgerRecord, RecordFault};
use crate::{Store, StoreError};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;

pub const FORMAT: &str = "minetrace-evidence-bundle/2";
/// Bundles from before seals (every record signed on its own); still verified.
pub const FORMAT_V1: &str = "minetrace-evidence-bundle/1";
/// Largest bundle `verify` reads.
pub const MAX_BUNDLE_BYTES: u64 = 1 << 31;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRecord {
    pub seq: i64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestAttachment {
    pub sha256: String,
    pub size: i64,
    pub name: String,
}

/// What a bundle holds; the signature covers its JSON without the `signature` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub case: i64,
    pub created_at: String,
    pub public_key: String,
    pub records: Vec<ManifestRecord>,
    pub attachments: Vec<ManifestAttachment>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

impl Manifest {
    fn signed_bytes(&self) -> Vec<u8> {
        let mut m = self.clone();
        m.signature.clear();
        serde_json::to_vec(&m).unwrap_or_default()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordLine {
    record: LedgerRecord,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentLine {
    attachment: AttachmentBody,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentBody {
    sha256: String,
    name: String,
    data: String,
}

/// Writes the bundle of a case; returns its manifest.
pub fn export_case(
    store: &Store,
    case_id: i64,
    out: &mut dyn Write,
) -> Result<Manifest, StoreError> {
    if store.case(case_id)?.is_none() {
        return Err(StoreError::NotFound {
            what: format!("case {case_id}"),
        });
    }
    let records = store.case_records(case_id)?;
    let attachments = store.case_attachments(case_id)?;
    let mut manifest = Manifest {
        format: FORMAT.into(),
        case: case_id,
        created_at: minetrace_core::Timestamp::now().to_rfc3339(),
        public_key: store.key().public_hex(),
        records: records
            .iter()
            .map(|r| ManifestRecord {
                seq: r.seq,
                hash: r.hash.clone(),
            })
            .collect(),
        attachments: attachments
            .iter()
            .map(|a| ManifestAttachment {
                sha256: a.sha256.clone(),
                size: a.size,
                name: a.name.clone(),
            })
            .collect(),
        signature: String::new(),
    };
    manifest.signature = store.key().sign(&manifest.signed_bytes());
    let io = |e: std::io::Error| StoreError::Io {
        path: "bundle".into(),
        message: e.to_string(),
    };
    let line = |v: &dyn erased::Json| v.json();
    writeln!(out, "{}", line(&manifest)).map_err(io)?;
    for r in records {
        writeln!(out, "{}", line(&RecordLine { record: r })).map_err(io)?;
    }
    for a in &attachments {
        let data = store
            .attachment(&a.sha256)?
            .map(|(_, d)| d)
            .unwrap_or_default();
        let body = AttachmentLine {
            attachment: AttachmentBody {
                sha256: a.sha256.clone(),
                name: a.name.clone(),
                data: base64::engine::general_purpose::STANDARD.encode(data),
            },
        };
        writeln!(out, "{}", line(&body)).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(manifest)
}

mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// What a bundle that verified contains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedBundle {
    pub case: i64,
    pub public_key: String,
    pub records: usize,
    pub attachments: usize,
}

/// Why a bundle does not verify; the message names the record or attachment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("manifest (line 1): {message}")]
    Manifest { message: String },
    #[error("record seq {seq} (line {line}) was changed: {message}")]
    RecordChanged {
        seq: i64,
        line: usize,
        message: String,
    },
    #[error("record seq {seq} was removed (the manifest lists it before line {line})")]
    RecordRemoved { seq: i64, line: usize },
    #[error("record seq {seq} (line {line}) is out of order: expected seq {expected}")]
    RecordReordered {
        seq: i64,
        line: usize,
        expected: i64,
    },
    #[error("record seq {seq} (line {line}) was added: the manifest does not list it")]
    RecordAdded { seq: i64, line: usize },
    #[error("line {line} is unreadable where record seq {expected} should be: {message}")]
    RecordUnreadable {
        line: usize,
        expected: i64,
        message: String,
    },
    #[error("attachment {sha256} (line {line}) was changed: {message}")]
    AttachmentChanged {
        sha256: String,
        line: usize,
        message: String,
    },
    #[error("attachment {sha256} was removed")]
    AttachmentRemoved { sha256: String },
    #[error("attachment {sha256} (line {line}) was added or reordered: expected {expected}")]
    AttachmentAdded {
        sha256: String,
        line: usize,
        expected: String,
    },
    #[error("line {line} is unreadable: {message}")]
    Unreadable { line: usize, message: String },
    #[error("bundle signed by key {found}, expected {expected}")]
    WrongKey { found: String, expected: String },
}

/// Verifies a bundle offline. `trusted_key` (hex), when given, must be the signer.
pub fn verify(bytes: &[u8], trusted_key: Option<&str>) -> Result<VerifiedBundle, VerifyError> {
    let text = std::str::from_utf8(bytes).map_err(|e| VerifyError::Unreadable {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        message: "not UTF-8".into(),
    })?;
    let mut lines = text
        .split_terminator('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    let (_, first) = lines.next().ok_or(VerifyError::Manifest {
        message: "empty bundle".into(),
    })?;
    let manifest: Manifest = serde_json::from_str(first).map_err(|e| VerifyError::Manifest {
        message: format!("unreadable: {e}"),
    })?;
    if manifest.format != FORMAT && manifest.format != FORMAT_V1 {
        return Err(VerifyError::Manifest {
            message: format!("unknown format {:?}", manifest.format),
        });
    }
    let key = parse_public_key(&manifest.public_key).ok_or(VerifyError::Manifest {
        message: "public key is not a valid Ed25519 key".into(),
    })?;
    if let Some(t) = trusted_key {
        if !t.trim().eq_ignore_ascii_case(&manifest.public_key) {
            return Err(VerifyError::WrongKey {
                found: manifest.public_key.clone(),
                expected: t.trim().to_string(),
            });
        }
    }
    {
        use ed25519_dalek::Verifier;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(&manifest.signature, &mut sig).map_err(|_| VerifyError::Manifest {
            message: "signature is not 128 hex digits".into(),
        })?;
        key.verify(
            &manifest.signed_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .map_err(|_| VerifyError::Manifest {
            message: "signature does not verify: the manifest was changed".into(),
        })?;
    }

    let mut want = manifest.records.iter().peekable();
    let mut prev: Option<LedgerRecord> = None;
    let mut pending_line = None;
    let mut lines = lines.peekable();
    // Records.
    while let Some(&(line, l)) = lines.peek() {
        if l.starts_with("{\"attachment\"") {
            break;
        }
        lines.next();
        let Some(expected) = want.peek().map(|m| (*m).clone()) else {
            let seq = serde_json::from_str::<RecordLine>(l)
                .map(|r| r.record.seq)
                .unwrap_or(-1);
            return Err(VerifyError::RecordAdded { seq, line });
        };
        let rec = match serde_json::from_str::<RecordLine>(l) {
            Ok(r) => r.record,
            Err(e) => {
                return Err(VerifyError::RecordUnreadable {
                    line,
                    expected: expected.seq,
                    message: e.to_string(),
                })
            }
        };
        if rec.seq != expected.seq {
            let listed_later = manifest.records.iter().any(|m| m.seq == rec.seq);
            let expected_later = lines_contain_seq(text, expected.seq, line);
            return Err(if !listed_later {
                VerifyError::RecordAdded { seq: rec.seq, line }
            } else if expected_later {
                VerifyError::RecordReordered {
                    seq: rec.seq,
                    line,
                    expected: expected.seq,
                }
            } else {
                VerifyError::RecordRemoved {
                    seq: expected.seq,
                    line,
                }
            });
        }
        want.next();
        match rec.check(&key) {
            Ok(()) => {}
            Err(RecordFault::Hash) => {
                return Err(VerifyError::RecordChanged {
                    seq: rec.seq,
                    line,
                    message: "its content does not match its hash".into(),
                })
            }
            Err(RecordFault::Signature) => {
                return Err(VerifyError::RecordChanged {
                    seq: rec.seq,
                    line,
                    message: "its signature does not verify".into(),
                })
            }
            Err(RecordFault::Proof) => {
                return Err(VerifyError::RecordChanged {
                    seq: rec.seq,
                    line,
                    message: "its Merkle path does not lead to its seal's signed root".into(),
                })
            }
        }
        if rec.hash != expected.hash {
            return Err(VerifyError::RecordChanged {
                seq: rec.seq,
                line,
                message: "its hash differs from the manifest".into(),
            });
        }
        if let Some(p) = &prev {
            if rec.seq == p.seq + 1 && rec.prev != p.hash {
                return Err(VerifyError::RecordChanged {
                    seq: rec.seq,
                    line,
                    message: "it does not chain to the record before it".into(),
                });
            }
        }
        prev = Some(rec);
        pending_line = Some(line);
    }
    if let Some(m) = want.next() {
        return Err(VerifyError::RecordRemoved {
            seq: m.seq,
            line: pending_line.map_or(2, |l| l + 1),
        });
    }
    // Attachments.
    let mut want_a = manifest.attachments.iter();
    for (line, l) in lines {
        let body =
            serde_json::from_str::<AttachmentLine>(l).map_err(|e| VerifyError::Unreadable {
                line,
                message: format!("expected an attachment: {e}"),
            })?;
        let a = body.attachment;
        let Some(expected) = want_a.next() else {
            return Err(VerifyError::AttachmentAdded {
                sha256: a.sha256,
                line,
                expected: "end of bundle".into(),
            });
        };
        if a.sha256 != expected.sha256 {
            let listed = manifest.attachments.iter().any(|m| m.sha256 == a.sha256);
            return Err(if listed {
                VerifyError::AttachmentAdded {
                    sha256: a.sha256,
                    line,
                    expected: expected.sha256.clone(),
                }
            } else {
                VerifyError::AttachmentChanged {
                    sha256: expected.sha256.clone(),
                    line,
                    message: format!("its name in the bundle became {}", a.sha256),
                }
            });
        }
        if a.name != expected.name {
            return Err(VerifyError::AttachmentChanged {
                sha256: a.sha256,
                line,
                message: format!("its name differs from the manifest ({:?})", expected.name),
            });
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(a.data.as_bytes())
            .map_err(|e| VerifyError::AttachmentChanged {
                sha256: a.sha256.clone(),
                line,
                message: format!("bytes unreadable: {e}"),
            })?;
        if hex::encode(Sha256::digest(&data)) != a.sha256 || data.len() as i64 != expected.size {
            return Err(VerifyError::AttachmentChanged {
                sha256: a.sha256,
                line,
                message: "its bytes do not match its SHA-256".into(),
            });
        }
    }
    if let Some(m) = want_a.next() {
        return Err(VerifyError::AttachmentRemoved {
            sha256: m.sha256.clone(),
        });
    }
    Ok(VerifiedBundle {
        case: manifest.case,
        public_key: manifest.public_key.clone(),
        records: manifest.records.len(),
        attachments: manifest.attachments.len(),
    })
}

/// Whether a record with `seq` appears after line `after` (tells reordering from removal).
fn lines_contain_seq(text: &str, seq: i64, after: usize) -> bool {
    text.split_terminator('\n')
        .skip(after)
        .filter_map(|l| serde_json::from_str::<RecordLine>(l).ok())
        .any(|r| r.record.seq == seq)
}
