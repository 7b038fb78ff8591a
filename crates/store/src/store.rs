//! The domain API over a [`Backend`]: every query is written once, with bound parameters only.

use crate::db::{Backend, BackendKind, Row, Tx, Value};
use crate::ledger::{LedgerKey, LedgerRecord, Seal, GENESIS};
use crate::model::*;
use crate::StoreError;
use minetrace_core::{Finding, FindingKind, Timestamp};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Largest attachment stored (session pcaps and executable copies).
pub const MAX_ATTACHMENT_BYTES: usize = 64 * 1024 * 1024;
/// Most rows one listing returns.
pub const MAX_LIST: i64 = 10_000;

/// Storage for the server: a backend plus the ledger key that signs every record.
pub struct Store {
    backend: Box<dyn Backend>,
    key: LedgerKey,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?}, {:?})", self.backend.kind(), self.key)
    }
}

/// Head of the chain inside a transaction: appends advance it; [`Store::close_chain`] seals what
/// was appended.
struct Chain {
    seq: i64,
    hash: String,
    /// Hashes of the records this transaction appended, in order.
    appended: Vec<[u8; 32]>,
}

fn head(tx: &mut dyn Tx) -> Result<Chain, StoreError> {
    let rows = tx.query(
        "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    match rows.first() {
        Some(r) => Ok(Chain {
            seq: r.int(0)?,
            hash: r.text(1)?,
            appended: Vec::new(),
        }),
        None => Ok(Chain {
            seq: 0,
            hash: GENESIS.to_string(),
            appended: Vec::new(),
        }),
    }
}

/// Moves the registry counter on (inside the transaction that changed the registry).
fn registry_changed(tx: &mut dyn Tx) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO counters (name, value) VALUES ('registry', 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
        &[],
    )?;
    Ok(())
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn now() -> i64 {
    Timestamp::now().0
}

const SOURCE_COLS: &str = "id, name, role, created_at, revoked_at, last_seen";

fn source_from(r: &Row) -> Result<Source, StoreError> {
    let role = r.text(2)?;
    Ok(Source {
        id: r.int(0)?,
        name: r.text(1)?,
        role: Role::parse(&role).ok_or(StoreError::Corrupt {
            what: format!("source role {role:?}"),
        })?,
        created_at: r.int(3)?,
        revoked_at: r.opt_int(4)?,
        last_seen: r.opt_int(5)?,
    })
}

const FINDING_COLS: &str =
    "l.payload, s.name, f.received_at, f.ledger_seq, f.case_id FROM findings f \
     JOIN ledger l ON l.seq = f.ledger_seq JOIN sources s ON s.id = f.source_id";

fn stored_finding(r: &Row) -> Result<StoredFinding, StoreError> {
    let payload = r.text(0)?;
    let finding: Finding = serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
        what: format!("stored finding: {e}"),
    })?;
    Ok(StoredFinding {
        finding,
        source: r.text(1)?,
        received_at: r.int(2)?,
        ledger_seq: r.int(3)?,
        case_id: r.opt_int(4)?,
    })
}

const CASE_COLS: &str = "id, activity_key, status, class, proposed_class, reasons, unit_id, \
    unit_name, host_id, host_name, client_ip, public_ip, mac, process, account, wallet, coin, pool, \
    campaign_id, recurrence, flags, estimate, opened_at, updated_at, closed_at, first_seen, \
    last_seen, findings_count, network_findings, host_findings, assignee, confidential, \
    reasons_zh, flags_zh";

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn case_from(r: &Row) -> Result<Case, StoreError> {
    Ok(Case {
        id: r.int(0)?,
        activity_key: r.text(1)?,
        status: r.text(2)?,
        class: r.opt_text(3)?,
        proposed_class: r.opt_text(4)?,
        reasons: json_list(&r.text(5)?),
        unit_id: r.opt_int(6)?,
        unit_name: r.opt_text(7)?,
        host_id: r.opt_int(8)?,
        host_name: r.opt_text(9)?,
        client_ip: r.opt_text(10)?,
        public_ip: r.opt_text(11)?,
        mac: r.opt_text(12)?,
        process: r.opt_text(13)?,
        account: r.opt_text(14)?,
        wallet: r.opt_text(15)?,
        coin: r.opt_text(16)?,
        pool: r.opt_text(17)?,
        campaign_id: r.opt_int(18)?,
        recurrence: r.int(19)?,
        flags: json_list(&r.text(20)?),
        estimate: serde_json::from_str(&r.text(21)?).unwrap_or(serde_json::Value::Null),
        opened_at: r.int(22)?,
        updated_at: r.int(23)?,
        closed_at: r.opt_int(24)?,
        first_seen: r.int(25)?,
        last_seen: r.int(26)?,
        findings_count: r.int(27)?,
        network_findings: r.int(28)?,
        host_findings: r.int(29)?,
        assignee: r.opt_text(30)?,
        confidential: r.int(31)? != 0,
        reasons_zh: json_list(&r.text(32)?),
        flags_zh: json_list(&r.text(33)?),
    })
}

fn case_params(c: &Case) -> Vec<Value> {
    vec![
        c.activity_key.clone().into(),
        c.status.clone().into(),
        c.class.clone().into(),
        c.proposed_class.clone().into(),
        serde_json::to_string(&c.reasons).unwrap_or_default().into(),
        c.unit_id.into(),
        c.unit_name.clone().into(),
        c.host_id.into(),
        c.host_name.clone().into(),
        c.client_ip.clone().into(),
        c.public_ip.clone().into(),
        c.mac.clone().into(),
        c.process.clone().into(),
        c.account.clone().into(),
        c.wallet.clone().into(),
        c.coin.clone().into(),
        c.pool.clone().into(),
        c.campaign_id.into(),
        c.recurrence.into(),
        serde_json::to_string(&c.flags).unwrap_or_default().into(),
        serde_json::to_string(&c.estimate)
            .unwrap_or_default()
            .into(),
        c.opened_at.into(),
        c.updated_at.into(),
        c.closed_at.into(),
        c.first_seen.into(),
        c.last_seen.into(),
        c.findings_count.into(),
        c.network_findings.into(),
        c.host_findings.into(),
        c.assignee.clone().into(),
        c.confidential.into(),
        serde_json::to_string(&c.reasons_zh)
            .unwrap_or_default()
            .into(),
        serde_json::to_string(&c.flags_zh)
            .unwrap_or_default()
            .into(),
    ]
}

const HOST_COLS: &str =
    "h.id, h.name, u.name, h.owner, h.owner_contact, h.admin, h.admin_contact, h.origin \
     FROM hosts h LEFT JOIN units u ON u.id = h.unit_id";

impl Store {
    /// Opens (creating on first start) the data directory: the ledger key always lives there; the
    /// database is `DIR/minetrace.sqlite3` unless a `postgres://` URL is given.
    pub fn open(data_dir: &Path, database: Option<&str>) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Io {
            path: data_dir.display().to_string(),
            message: e.to_string(),
        })?;
        let key = LedgerKey::load_or_create(data_dir)?;
        let backend: Box<dyn Backend> = match database {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Box::new(crate::PostgresBackend::connect(url, 4)?)
            }
            Some(other) => {
                return Err(StoreError::Open {
                    target: crate::redact(other),
                    message: "expected a postgres:// URL (SQLite is the default, in --data)".into(),
                })
            }
            None => Box::new(crate::sqlite::SqliteBackend::open(
                &data_dir.join("minetrace.sqlite3"),
            )?),
        };
        Store::with_backend(backend, key)
    }

    /// Wraps a backend and brings its schema up to date.
    pub fn with_backend(backend: Box<dyn Backend>, key: LedgerKey) -> Result<Store, StoreError> {
        backend.migrate()?;
        Ok(Store { backend, key })
    }

    /// Whether this server may correlate now (one replica at a time; see [`Backend::correlator_turn`]).
    pub fn correlator_turn(&self) -> Result<bool, StoreError> {
        self.backend.correlator_turn()
    }

    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    pub fn key(&self) -> &LedgerKey {
        &self.key
    }

    pub(crate) fn tx<R>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut f = Some(f);
        let mut out = None;
        self.backend.transaction(&mut |tx| {
            let f = f.take().ok_or(StoreError::Poisoned)?;
            out = Some(f(tx)?);
            Ok(())
        })?;
        out.ok_or(StoreError::Poisoned)
    }

    pub(crate) fn rtx<R>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut f = Some(f);
        let mut out = None;
        self.backend.read(&mut |tx| {
            let f = f.take().ok_or(StoreError::Poisoned)?;
            out = Some(f(tx)?);
            Ok(())
        })?;
        out.ok_or(StoreError::Poisoned)
    }

    /// Locks the ledger for this transaction and reads its head.
    fn open_chain(&self, tx: &mut dyn Tx) -> Result<Chain, StoreError> {
        self.backend.lock_ledger(tx)?;
        head(tx)
    }

    /// Signs what this transaction appended with one seal (nothing when it appended nothing).
    fn close_chain(&self, tx: &mut dyn Tx, chain: Chain) -> Result<(), StoreError> {
        let Some(first) = i64::try_from(chain.appended.len())
            .ok()
            .filter(|n| *n > 0)
            .map(|n| chain.seq - n + 1)
        else {
            return Ok(());
        };
        let seal = self
            .key
            .sign_seal_hashes(now(), first, &chain.appended)
            .ok_or(StoreError::Poisoned)?;
        tx.execute(
            "INSERT INTO ledger_seals (last_seq, first_seq, at, root, sig) VALUES (?, ?, ?, ?, ?)",
            &[
                seal.last.into(),
                seal.first.into(),
                seal.at.into(),
                seal.root.into(),
                seal.sig.into(),
            ],
        )?;
        Ok(())
    }

    /// Runs `f` with the ledger's head locked and seals what it appended, in the same
    /// transaction.
    fn with_chain<R>(
        &self,
        tx: &mut dyn Tx,
        f: impl FnOnce(&mut dyn Tx, &mut Chain) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut chain = self.open_chain(tx)?;
        let out = f(tx, &mut chain)?;
        self.close_chain(tx, chain)?;
        Ok(out)
    }

    fn append(
        &self,
        tx: &mut dyn Tx,
        chain: &mut Chain,
        kind: &str,
        subject: &str,
        payload: String,
    ) -> Result<i64, StoreError> {
        let rec = self
            .key
            .chain_record((chain.seq, &chain.hash), now(), kind, subject, payload);
        let leaf = crate::ledger::decode_hash(&rec.hash).ok_or(StoreError::Poisoned)?;
        tx.execute(
            "INSERT INTO ledger (seq, at, kind, subject, payload, prev, hash, sig) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                rec.seq.into(),
                rec.at.into(),
                rec.kind.into(),
                rec.subject.into(),
                rec.payload.into(),
                rec.prev.into(),
                rec.hash.clone().into(),
                rec.sig.into(),
            ],
        )?;
        chain.seq = rec.seq;
        chain.hash = rec.hash;
        chain.appended.push(leaf);
        Ok(rec.seq)
    }

    /// Appends one record in its own transaction (e.g. an audit entry).
    pub fn append_record(
        &self,
        kind: &str,
        subject: &str,
        payload: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let text = payload.to_string();
        self.tx(|tx| self.with_chain(tx, |tx, chain| self.append(tx, chain, kind, subject, text)))
    }

    // ---- sources and tokens ----

    /// Enrols a source and returns it with its token (shown once; only its SHA-256 is kept).
    pub fn create_source(&self, name: &str, role: Role) -> Result<(Source, String), StoreError> {
        crate::check_name("source name", name)?;
        let mut raw = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let token = format!("mt1_{}", hex::encode(raw));
        let at = now();
        let hashed = hash_token(&token);
        let source = self.tx(|tx| {
            let rows = tx.query(
                &format!(
                    "INSERT INTO sources (name, role, token_sha256, created_at) VALUES (?, ?, ?, ?) \
                     RETURNING {SOURCE_COLS}"
                ),
                &[name.into(), role.as_str().into(), hashed.into(), at.into()],
            )?;
            let s = source_from(rows.first().ok_or(StoreError::Poisoned)?)?;
            let payload = serde_json::json!({"name": name, "role": role.as_str()}).to_string();
            self.with_chain(tx, |tx, chain| {
                self.append(tx, chain, "source-enrolled", &format!("source:{name}"), payload)
            })?;
            Ok(s)
        })?;
        Ok((source, token))
    }

    pub fn list_sources(&self) -> Result<Vec<Source>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT {SOURCE_COLS} FROM sources ORDER BY id LIMIT {MAX_LIST}"),
                &[],
            )?
            .iter()
            .map(source_from)
            .collect()
        })
    }

    /// Revokes a source by name; returns false when there is no such active source.
    pub fn revoke_source(&self, name: &str) -> Result<bool, StoreError> {
        self.tx(|tx| {
            let n = tx.execute(
                "UPDATE sources SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                &[now().into(), name.into()],
            )?;
            if n > 0 {
                let payload = serde_json::json!({"name": name}).to_string();
                self.with_chain(tx, |tx, chain| {
                    self.append(
                        tx,
                        chain,
                        "source-revoked",
                        &format!("source:{name}"),
                        payload,
                    )
                })?;
            }
            Ok(n > 0)
        })
    }

    /// The active source holding this token, if any.
    pub fn authenticate(&self, token: &str) -> Result<Option<Source>, StoreError> {
        let hashed = hash_token(token);
        self.rtx(|tx| {
            let rows = tx.query(
                &format!(
                    "SELECT {SOURCE_COLS} FROM sources WHERE token_sha256 = ? AND revoked_at IS NULL"
                ),
                &[hashed.into()],
            )?;
            rows.first().map(source_from).transpose()
        })
    }

    // ---- ingest ----

    /// Stores a batch of findings in one transaction, each with its signed ledger record. Findings
    /// whose id is already stored are counted as duplicates and not stored again.
    pub fn ingest_findings(
        &self,
        source: &Source,
        findings: &[Finding],
    ) -> Result<IngestOutcome, StoreError> {
        let received = now();
        self.tx(|tx| {
            let mut chain = self.open_chain(tx)?;
            let mut out = IngestOutcome::default();
            for f in findings {
                let payload = serde_json::to_string(f).map_err(|e| StoreError::Corrupt {
                    what: format!("finding {}: {e}", f.id),
                })?;
                let wallet = f
                    .evidence
                    .wallet
                    .as_ref()
                    .map(|w| w.address.clone())
                    .or_else(|| f.evidence.login.clone());
                let kind = match f.kind {
                    FindingKind::Network => "network",
                    FindingKind::Host => "host",
                };
                let n = tx.execute(
                    "INSERT INTO findings (id, source_id, kind, detector, client_ip, client_port, \
                     server_ip, server_port, host, wallet, first_seen, last_seen, received_at, \
                     ledger_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (id) DO NOTHING",
                    &[
                        f.id.clone().into(),
                        source.id.into(),
                        kind.into(),
                        f.detector.clone().into(),
                        f.client.as_ref().map(|e| e.ip.to_string()).into(),
                        f.client.as_ref().map(|e| e.port).into(),
                        f.server.as_ref().map(|e| e.ip.to_string()).into(),
                        f.server.as_ref().map(|e| e.port).into(),
                        f.host.clone().into(),
                        wallet.into(),
                        f.first_seen.0.into(),
                        f.last_seen.0.into(),
                        received.into(),
                        (chain.seq + 1).into(),
                    ],
                )?;
                if n == 0 {
                    out.duplicates += 1;
                    continue;
                }
                self.append(
                    tx,
                    &mut chain,
                    "finding",
                    &format!("finding:{}", f.id),
                    payload,
                )?;
                out.accepted += 1;
                out.accepted_ids.push(f.id.clone());
            }
            tx.execute(
                "UPDATE sources SET last_seen = ? WHERE id = ?",
                &[received.into(), source.id.into()],
            )?;
            self.close_chain(tx, chain)?;
            Ok(out)
        })
    }

    /// Keeps the latest heartbeat of an agent's host and learns the host's addresses.
    pub fn record_heartbeat(
        &self,
        source: &Source,
        host: &str,
        at: i64,
        body: &str,
        ips: &[String],
        macs: &[String],
    ) -> Result<(), StoreError> {
        let received = now();
        self.tx(|tx| {
            let n = tx.execute(
                "UPDATE heartbeats SET at = ?, body = ? WHERE source_id = ? AND host = ?",
                &[received.into(), body.into(), source.id.into(), host.into()],
            )?;
            if n == 0 {
                tx.execute(
                    "INSERT INTO heartbeats (source_id, host, at, body) VALUES (?, ?, ?, ?)",
                    &[source.id.into(), host.into(), received.into(), body.into()],
                )?;
            }
            // The agent's own clock is not trusted for when it held an address: the server's is.
            let _ = at;
            upsert_host_tx(
                tx,
                &Host {
                    name: host.to_string(),
                    origin: "agent".into(),
                    ips: ips.to_vec(),
                    macs: macs.to_vec(),
                    ..Host::default()
                },
                Statement::AgentReport { at: received },
            )?;
            tx.execute(
                "UPDATE sources SET last_seen = ? WHERE id = ?",
                &[received.into(), source.id.into()],
            )?;
            Ok(())
        })
    }

    /// Latest heartbeat time (server clock) of an agent reporting for `host`.
    pub fn last_heartbeat(&self, host: &str) -> Result<Option<i64>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                "SELECT MAX(at) FROM heartbeats WHERE host = ?",
                &[host.into()],
            )?;
            match rows.first() {
                Some(r) => r.opt_int(0),
                None => Ok(None),
            }
        })
    }

    /// Stores an attachment by content hash (once) with its ledger record.
    pub fn put_attachment(
        &self,
        name: &str,
        media_type: &str,
        finding_id: Option<&str>,
        data: &[u8],
    ) -> Result<(Attachment, bool), StoreError> {
        if data.len() > MAX_ATTACHMENT_BYTES {
            return Err(StoreError::TooLarge {
                what: "attachment".into(),
                limit: MAX_ATTACHMENT_BYTES,
            });
        }
        let sha = hex::encode(Sha256::digest(data));
        self.tx(|tx| {
            let existing = tx.query(
                "SELECT sha256, size, name, media_type, finding_id, ledger_seq FROM attachments WHERE sha256 = ?",
                &[sha.clone().into()],
            )?;
            if let Some(r) = existing.first() {
                return Ok((attachment_from(r)?, false));
            }
            let payload = serde_json::json!({
                "sha256": sha, "size": data.len(), "name": name, "media_type": media_type,
                "finding": finding_id,
            })
            .to_string();
            let seq = self.with_chain(tx, |tx, chain| {
                self.append(tx, chain, "attachment", &format!("attachment:{sha}"), payload)
            })?;
            tx.execute(
                "INSERT INTO attachments (sha256, size, name, media_type, finding_id, data, ledger_seq, received_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                &[
                    sha.clone().into(),
                    (data.len() as i64).into(),
                    name.into(),
                    media_type.into(),
                    finding_id.map(str::to_string).into(),
                    data.to_vec().into(),
                    seq.into(),
                    now().into(),
                ],
            )?;
            Ok((
                Attachment {
                    sha256: sha.clone(),
                    size: data.len() as i64,
                    name: name.to_string(),
                    media_type: media_type.to_string(),
                    finding_id: finding_id.map(str::to_string),
                    ledger_seq: seq,
                },
                true,
            ))
        })
    }

    pub fn attachment(&self, sha256: &str) -> Result<Option<(Attachment, Vec<u8>)>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                "SELECT sha256, size, name, media_type, finding_id, ledger_seq, data FROM attachments WHERE sha256 = ?",
                &[sha256.into()],
            )?;
            match rows.first() {
                Some(r) => Ok(Some((attachment_from(r)?, r.blob(6)?))),
                None => Ok(None),
            }
        })
    }

    // ---- correlation queue support ----

    /// Findings not yet correlated, oldest first.
    pub fn pending_findings(&self, limit: i64) -> Result<Vec<StoredFinding>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!(
                    "SELECT {FINDING_COLS} WHERE f.correlated = 0 ORDER BY f.received_at, f.ledger_seq LIMIT ?"
                ),
                &[limit.clamp(1, MAX_LIST).into()],
            )?
            .iter()
            .map(stored_finding)
            .collect()
        })
    }

    pub fn finding(&self, id: &str) -> Result<Option<StoredFinding>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                &format!("SELECT {FINDING_COLS} WHERE f.id = ?"),
                &[id.into()],
            )?;
            rows.first().map(stored_finding).transpose()
        })
    }

    /// Findings of other hosts or addresses that used this wallet (campaign membership).
    pub fn count_findings(&self) -> Result<i64, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query("SELECT COUNT(*) FROM findings", &[])?;
            rows.first().map_or(Ok(0), |r| r.int(0))
        })
    }

    // ---- registry ----

    pub fn upsert_unit(
        &self,
        name: &str,
        region: &str,
        unit_type: &str,
        contact: Option<&str>,
    ) -> Result<i64, StoreError> {
        crate::check_name("unit name", name)?;
        self.tx(|tx| {
            let rows = tx.query(
                "INSERT INTO units (name, region, unit_type, contact) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET region = excluded.region, \
                 unit_type = excluded.unit_type, contact = excluded.contact RETURNING id",
                &[
                    name.into(),
                    region.into(),
                    unit_type.into(),
                    contact.map(str::to_string).into(),
                ],
            )?;
            rows.first().ok_or(StoreError::Poisoned)?.int(0)
        })
    }

    pub fn list_units(&self) -> Result<Vec<Unit>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT id, name, region, unit_type, contact FROM units ORDER BY region, name LIMIT {MAX_LIST}"),
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Unit {
                    id: r.int(0)?,
                    name: r.text(1)?,
                    region: r.text(2)?,
                    unit_type: r.text(3)?,
                    contact: r.opt_text(4)?,
                })
            })
            .collect()
        })
    }

    /// Maps a CIDR range (already validated by the caller) to a unit by name.
    pub fn add_range(&self, cidr: &str, unit: &str, note: Option<&str>) -> Result<(), StoreError> {
        self.tx(|tx| {
            let id = unit_id(tx, unit)?;
            tx.execute(
                "INSERT INTO ranges (cidr, unit_id, note) VALUES (?, ?, ?) \
                 ON CONFLICT (cidr) DO UPDATE SET unit_id = excluded.unit_id, note = excluded.note",
                &[cidr.into(), id.into(), note.map(str::to_string).into()],
            )?;
            registry_changed(tx)
        })
    }

    /// How many times the registry (ranges, hosts and their addresses, projects, NAT and DHCP
    /// data) has changed.
    pub fn registry_version(&self) -> Result<i64, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query("SELECT value FROM counters WHERE name = 'registry'", &[])?;
            rows.first().map_or(Ok(0), |r| r.int(0))
        })
    }

    pub fn list_ranges(&self) -> Result<Vec<IpRange>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!(
                    "SELECT r.id, r.cidr, r.unit_id, u.name, r.note FROM ranges r JOIN units u ON u.id = r.unit_id \
                     ORDER BY r.cidr LIMIT {MAX_LIST}"
                ),
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(IpRange {
                    id: r.int(0)?,
                    cidr: r.text(1)?,
                    unit_id: r.int(2)?,
                    unit_name: r.text(3)?,
                    note: r.opt_text(4)?,
                })
            })
            .collect()
        })
    }

    /// Creates or updates a host by name (registry data overrides agent-learned data); adds its
    /// addresses.
    pub fn upsert_host(&self, host: &Host) -> Result<i64, StoreError> {
        crate::check_name("host name", &host.name)?;
        self.tx(|tx| {
            let id = upsert_host_tx(tx, host, Statement::Registry)?;
            registry_changed(tx)?;
            Ok(id)
        })
    }

    pub fn list_hosts(&self) -> Result<Vec<Host>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                &format!("SELECT {HOST_COLS} ORDER BY h.name LIMIT {MAX_LIST}"),
                &[],
            )?;
            rows.iter().map(|r| host_from(tx, r)).collect()
        })
    }

    pub fn host_by_name(&self, name: &str) -> Result<Option<Host>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                &format!("SELECT {HOST_COLS} WHERE h.name = ?"),
                &[name.into()],
            )?;
            rows.first().map(|r| host_from(tx, r)).transpose()
        })
    }

    /// The tenures of the addresses a host's agent reported, the latest first (64 at most).
    pub fn address_tenures(&self, host: &str) -> Result<Vec<AddressTenure>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                "SELECT t.kind, t.value, t.first_seen, t.last_seen, \
                 (SELECT MIN(o.first_seen) FROM addr_tenures o WHERE o.kind = t.kind \
                  AND o.value = t.value AND o.first_seen > t.first_seen AND o.host_id <> t.host_id) \
                 FROM addr_tenures t JOIN hosts h ON h.id = t.host_id WHERE h.name = ? \
                 ORDER BY t.first_seen DESC, t.id DESC LIMIT 64",
                &[host.into()],
            )?
            .iter()
            .map(|r| {
                Ok(AddressTenure {
                    kind: r.text(0)?,
                    value: r.text(1)?,
                    from: r.int(2)?,
                    last_seen: r.int(3)?,
                    until: r.opt_int(4)?,
                })
            })
            .collect()
        })
    }

    /// The host that held an address (`kind` is `ip` or `mac`) at `at`, and since when when an
    /// agent reported it (`None`: the registry states it). Registry statements come first (an
    /// agent on a laptop may report a home network's private address). Otherwise, of the agents'
    /// tenures, the last one begun by `at` (+ `slack`) — DHCP hands an address from machine to
    /// machine — or, when every report came later (an agent installed after the mining was
    /// seen), the earliest.
    pub fn host_by_addr_at(
        &self,
        kind: &str,
        value: &str,
        at: i64,
        slack: i64,
    ) -> Result<Option<(Host, Option<i64>)>, StoreError> {
        self.rtx(|tx| {
            let address = [kind.into(), value.into()];
            let stated = tx.query(
                "SELECT host_id FROM host_addrs WHERE kind = ? AND value = ? AND stated = 1 \
                 ORDER BY host_id LIMIT 1",
                &address,
            )?;
            let (id, since) = if let Some(r) = stated.first() {
                (r.int(0)?, None)
            } else {
                // The tenure that began last before `at`; only without one, one that began
                // within the slack after it (an address that moved a minute after the mining
                // belonged to the machine before).
                let mut began_by = |t: i64| {
                    tx.query(
                        "SELECT host_id, first_seen FROM addr_tenures \
                         WHERE kind = ? AND value = ? AND first_seen <= ? \
                         ORDER BY first_seen DESC, id DESC LIMIT 1",
                        &[kind.into(), value.into(), t.into()],
                    )
                };
                let mut tenure = began_by(at)?;
                if tenure.is_empty() {
                    tenure = began_by(at.saturating_add(slack))?;
                }
                if tenure.is_empty() {
                    tenure = tx.query(
                        "SELECT host_id, first_seen FROM addr_tenures \
                         WHERE kind = ? AND value = ? ORDER BY first_seen, id LIMIT 1",
                        &address,
                    )?;
                }
                let Some(r) = tenure.first() else {
                    return Ok(None);
                };
                (r.int(0)?, Some(r.int(1)?))
            };
            let rows = tx.query(&format!("SELECT {HOST_COLS} WHERE h.id = ?"), &[id.into()])?;
            Ok(rows
                .first()
                .map(|r| host_from(tx, r))
                .transpose()?
                .map(|h| (h, since)))
        })
    }

    pub fn add_project(&self, p: &Project) -> Result<i64, StoreError> {
        crate::check_name("project name", &p.name)?;
        self.tx(|tx| {
            let unit = match &p.unit_name {
                Some(u) => Some(unit_id(tx, u)?),
                None => None,
            };
            let rows = tx.query(
                "INSERT INTO projects (name, unit_id, host, account, starts, ends, approver) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                &[
                    p.name.clone().into(),
                    unit.into(),
                    p.host.clone().into(),
                    p.account.clone().into(),
                    p.starts.into(),
                    p.ends.into(),
                    p.approver.clone().into(),
                ],
            )?;
            registry_changed(tx)?;
            rows.first().ok_or(StoreError::Poisoned)?.int(0)
        })
    }

    pub fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!(
                    "SELECT p.id, p.name, u.name, p.host, p.account, p.starts, p.ends, p.approver \
                     FROM projects p LEFT JOIN units u ON u.id = p.unit_id ORDER BY p.id LIMIT {MAX_LIST}"
                ),
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Project {
                    id: r.int(0)?,
                    name: r.text(1)?,
                    unit_name: r.opt_text(2)?,
                    host: r.opt_text(3)?,
                    account: r.opt_text(4)?,
                    starts: r.int(5)?,
                    ends: r.int(6)?,
                    approver: r.text(7)?,
                })
            })
            .collect()
        })
    }

    /// Stores NAT translations; returns how many were new.
    pub fn add_nat_mappings(&self, maps: &[NatMapping]) -> Result<usize, StoreError> {
        self.tx(|tx| {
            let mut n = 0;
            for m in maps {
                n += tx.execute(
                    "INSERT INTO nat_map (public_ip, public_port, private_ip, private_port, protocol, starts, ends, origin) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (public_ip, public_port, private_ip, private_port, starts) DO NOTHING",
                    &[
                        m.public_ip.clone().into(),
                        m.public_port.into(),
                        m.private_ip.clone().into(),
                        m.private_port.into(),
                        m.protocol.clone().into(),
                        m.starts.into(),
                        m.ends.into(),
                        m.origin.clone().into(),
                    ],
                )? as usize;
            }
            if n > 0 {
                registry_changed(tx)?;
            }
            Ok(n)
        })
    }

    /// The translation that held `public_ip:public_port` at time `at` (microseconds): the one
    /// whose window holds `at`, else, allowing `slack` microseconds of clock difference between
    /// sensor and NAT log, the nearest one. Ports are reused: the mapping before or after the
    /// right one is often within the slack, and must not win over it.
    pub fn nat_lookup(
        &self,
        public_ip: &str,
        public_port: u16,
        at: i64,
        slack: i64,
    ) -> Result<Option<NatMapping>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                &format!(
                    "SELECT public_ip, public_port, private_ip, private_port, protocol, starts, ends, origin \
                     FROM nat_map WHERE public_ip = ? AND public_port = ? AND starts <= ? AND ends >= ? \
                     ORDER BY starts DESC LIMIT {WINDOW_CANDIDATES}"
                ),
                &[
                    public_ip.into(),
                    public_port.into(),
                    at.saturating_add(slack).into(),
                    at.saturating_sub(slack).into(),
                ],
            )?;
            closest_window(&rows, at, 5, 6)?
                .map(|r| {
                    Ok(NatMapping {
                        public_ip: r.text(0)?,
                        public_port: u16::try_from(r.int(1)?).unwrap_or(0),
                        private_ip: r.text(2)?,
                        private_port: u16::try_from(r.int(3)?).unwrap_or(0),
                        protocol: r.text(4)?,
                        starts: r.int(5)?,
                        ends: r.int(6)?,
                        origin: r.text(7)?,
                    })
                })
                .transpose()
        })
    }

    /// Stores DHCP leases; returns how many were new.
    pub fn add_leases(&self, leases: &[Lease]) -> Result<usize, StoreError> {
        self.tx(|tx| {
            let mut n = 0;
            for l in leases {
                n += tx.execute(
                    "INSERT INTO leases (ip, mac, hostname, starts, ends, origin) VALUES (?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (ip, mac, starts) DO NOTHING",
                    &[
                        l.ip.clone().into(),
                        l.mac.clone().into(),
                        l.hostname.clone().into(),
                        l.starts.into(),
                        l.ends.into(),
                        l.origin.clone().into(),
                    ],
                )? as usize;
            }
            if n > 0 {
                registry_changed(tx)?;
            }
            Ok(n)
        })
    }

    /// The lease that held `ip` at `at` (latest start wins).
    /// The DHCP lease of `ip` at `at`: the one whose window holds it, else the nearest within
    /// `slack` (as [`Store::nat_lookup`]).
    pub fn lease_at(&self, ip: &str, at: i64, slack: i64) -> Result<Option<Lease>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                &format!(
                    "SELECT ip, mac, hostname, starts, ends, origin FROM leases \
                     WHERE ip = ? AND starts <= ? AND ends >= ? ORDER BY starts DESC LIMIT {WINDOW_CANDIDATES}"
                ),
                &[
                    ip.into(),
                    at.saturating_add(slack).into(),
                    at.saturating_sub(slack).into(),
                ],
            )?;
            closest_window(&rows, at, 3, 4)?
                .map(|r| {
                    Ok(Lease {
                        ip: r.text(0)?,
                        mac: r.text(1)?,
                        hostname: r.opt_text(2)?,
                        starts: r.int(3)?,
                        ends: r.int(4)?,
                        origin: r.text(5)?,
                    })
                })
                .transpose()
        })
    }

    // ---- cases ----

    /// The most recent case for an activity key, whatever its status.
    pub fn case_by_key(&self, key: &str) -> Result<Option<Case>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                &format!(
                    "SELECT {CASE_COLS} FROM cases WHERE activity_key = ? ORDER BY id DESC LIMIT 1"
                ),
                &[key.into()],
            )?;
            rows.first().map(case_from).transpose()
        })
    }

    pub fn case(&self, id: i64) -> Result<Option<Case>, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                &format!("SELECT {CASE_COLS} FROM cases WHERE id = ?"),
                &[id.into()],
            )?;
            rows.first().map(case_from).transpose()
        })
    }

    /// Open cases that do not yet name a host or a unit (what new registry, NAT or DHCP data may
    /// attribute), oldest first.
    pub fn cases_lacking_attribution(&self, limit: i64) -> Result<Vec<Case>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!(
                    "SELECT {CASE_COLS} FROM cases WHERE status <> 'closed' \
                     AND (host_name IS NULL OR unit_id IS NULL) ORDER BY id LIMIT ?"
                ),
                &[limit.clamp(1, MAX_LIST).into()],
            )?
            .iter()
            .map(case_from)
            .collect()
        })
    }

    pub fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, StoreError> {
        let mut sql = format!("SELECT {CASE_COLS} FROM cases WHERE 1 = 1");
        let mut params: Vec<Value> = Vec::new();
        if let Some(s) = &filter.status {
            sql.push_str(" AND status = ?");
            params.push(s.clone().into());
        }
        if let Some(u) = &filter.unit {
            sql.push_str(" AND unit_name = ?");
            params.push(u.clone().into());
        }
        if let Some(c) = filter.campaign_id {
            sql.push_str(" AND campaign_id = ?");
            params.push(c.into());
        }
        sql.push_str(" ORDER BY id LIMIT ? OFFSET ?");
        params.push(filter.limit.unwrap_or(1000).clamp(1, MAX_LIST).into());
        params.push(filter.offset.unwrap_or(0).max(0).into());
        self.rtx(|tx| tx.query(&sql, &params)?.iter().map(case_from).collect())
    }

    /// Writes a case (inserting it when `id` is 0), links findings to it, and records the change
    /// in its timeline and in the ledger, all in one transaction.
    pub fn save_case(
        &self,
        case: &mut Case,
        link_findings: &[String],
        actor: &str,
        event_kind: &str,
        detail: &serde_json::Value,
    ) -> Result<CaseEvent, StoreError> {
        self.tx(|tx| {
            self.with_chain(tx, |tx, chain| {
                self.save_case_tx(tx, chain, case, link_findings, actor, event_kind, detail)
            })
        })
    }

    /// Saves several case changes in one transaction (the correlator's batch).
    pub fn save_cases(&self, changes: &mut [CaseChange]) -> Result<Vec<CaseEvent>, StoreError> {
        self.tx(|tx| {
            let mut chain = self.open_chain(tx)?;
            let mut out = Vec::with_capacity(changes.len());
            for c in changes.iter_mut() {
                out.push(self.save_case_tx(
                    tx,
                    &mut chain,
                    &mut c.case,
                    &c.link_findings,
                    &c.actor,
                    &c.event_kind,
                    &c.detail,
                )?);
            }
            self.close_chain(tx, chain)?;
            Ok(out)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn save_case_tx(
        &self,
        tx: &mut dyn Tx,
        chain: &mut Chain,
        case: &mut Case,
        link_findings: &[String],
        actor: &str,
        event_kind: &str,
        detail: &serde_json::Value,
    ) -> Result<CaseEvent, StoreError> {
        let at = now();
        case.updated_at = at;
        let params = case_params(case);
        if case.id == 0 {
            let placeholders = vec!["?"; params.len()].join(", ");
            let cols = CASE_COLS.trim_start_matches("id, ");
            let rows = tx.query(
                &format!("INSERT INTO cases ({cols}) VALUES ({placeholders}) RETURNING id"),
                &params,
            )?;
            case.id = rows.first().ok_or(StoreError::Poisoned)?.int(0)?;
        } else {
            // `confidential` is never written from a (possibly stale) in-memory case: only
            // `set_case_confidential` changes it, so a correlator batch or a workflow update that
            // read the case before a regulator marked it cannot reveal it again.
            let (sets, mut p): (Vec<String>, Vec<Value>) = CASE_COLS
                .split(", ")
                .skip(1)
                .zip(params)
                .filter(|(c, _)| c.trim() != "confidential")
                .map(|(c, v)| (format!("{} = ?", c.trim()), v))
                .unzip();
            p.push(case.id.into());
            let n = tx.execute(
                &format!("UPDATE cases SET {} WHERE id = ?", sets.join(", ")),
                &p,
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: format!("case {}", case.id),
                });
            }
            let stored = tx.query(
                "SELECT confidential FROM cases WHERE id = ?",
                &[case.id.into()],
            )?;
            case.confidential = stored.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) != 0;
        }
        for id in link_findings {
            tx.execute(
                "UPDATE findings SET case_id = ?, correlated = 1 WHERE id = ?",
                &[case.id.into(), id.clone().into()],
            )?;
        }
        let payload = serde_json::json!({
            "case": case.id, "actor": actor, "event": event_kind, "detail": detail,
            "status": case.status, "class": case.class, "proposed_class": case.proposed_class,
            "findings": link_findings,
        })
        .to_string();
        let seq = self.append(tx, chain, event_kind, &format!("case:{}", case.id), payload)?;
        let rows = tx.query(
            "INSERT INTO case_events (case_id, at, actor, kind, detail, ledger_seq) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            &[
                case.id.into(),
                at.into(),
                actor.into(),
                event_kind.into(),
                detail.to_string().into(),
                seq.into(),
            ],
        )?;
        Ok(CaseEvent {
            id: rows.first().ok_or(StoreError::Poisoned)?.int(0)?,
            case_id: case.id,
            at,
            actor: actor.to_string(),
            kind: event_kind.to_string(),
            detail: detail.clone(),
            ledger_seq: seq,
        })
    }

    /// Marks findings as correlated without a case (e.g. below the reporting threshold).
    pub fn mark_correlated(&self, ids: &[String]) -> Result<(), StoreError> {
        self.tx(|tx| {
            for id in ids {
                tx.execute(
                    "UPDATE findings SET correlated = 1 WHERE id = ?",
                    &[id.clone().into()],
                )?;
            }
            Ok(())
        })
    }

    pub fn case_findings(
        &self,
        case_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT {FINDING_COLS} WHERE f.case_id = ? ORDER BY f.first_seen, f.ledger_seq LIMIT ?"),
                &[case_id.into(), limit.clamp(1, MAX_LIST).into()],
            )?
            .iter()
            .map(stored_finding)
            .collect()
        })
    }

    /// The host findings of a case (what classification reads), most recent first.
    pub fn case_host_findings(
        &self,
        case_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT {FINDING_COLS} WHERE f.case_id = ? AND f.kind = 'host' ORDER BY f.ledger_seq DESC LIMIT ?"),
                &[case_id.into(), limit.clamp(1, MAX_LIST).into()],
            )?
            .iter()
            .map(stored_finding)
            .collect()
        })
    }

    pub fn case_events(&self, case_id: i64) -> Result<Vec<CaseEvent>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!("SELECT id, case_id, at, actor, kind, detail, ledger_seq FROM case_events WHERE case_id = ? ORDER BY id LIMIT {MAX_LIST}"),
                &[case_id.into()],
            )?
            .iter()
            .map(|r| {
                Ok(CaseEvent {
                    id: r.int(0)?,
                    case_id: r.int(1)?,
                    at: r.int(2)?,
                    actor: r.text(3)?,
                    kind: r.text(4)?,
                    detail: serde_json::from_str(&r.text(5)?).unwrap_or(serde_json::Value::Null),
                    ledger_seq: r.int(6)?,
                })
            })
            .collect()
        })
    }

    /// The campaign for a wallet, created on first use.
    pub fn campaign_for_wallet(&self, wallet: &str) -> Result<i64, StoreError> {
        // Read first, on the reader: almost every call finds it and needs no write turn.
        let found = self.rtx(|tx| {
            let rows = tx.query(
                "SELECT id FROM campaigns WHERE wallet = ?",
                &[wallet.into()],
            )?;
            rows.first().map(|r| r.int(0)).transpose()
        })?;
        if let Some(id) = found {
            return Ok(id);
        }
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO campaigns (wallet, created_at) VALUES (?, ?) ON CONFLICT (wallet) DO NOTHING",
                &[wallet.into(), now().into()],
            )?;
            let rows = tx.query("SELECT id FROM campaigns WHERE wallet = ?", &[wallet.into()])?;
            rows.first().ok_or(StoreError::Poisoned)?.int(0)
        })
    }

    pub fn list_campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                &format!(
                    "SELECT c.id, c.wallet, COUNT(k.id), COUNT(DISTINCT k.activity_key) FROM campaigns c \
                     LEFT JOIN cases k ON k.campaign_id = c.id \
                     AND (k.class IS NULL OR k.class <> 'false-positive') GROUP BY c.id, c.wallet ORDER BY c.id LIMIT {MAX_LIST}"
                ),
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Campaign {
                    id: r.int(0)?,
                    wallet: r.text(1)?,
                    cases: r.int(2)?,
                    hosts: r.int(3)?,
                })
            })
            .collect()
        })
    }

    /// Distinct machines (activity keys) in a campaign.
    pub fn campaign_hosts(&self, campaign_id: i64) -> Result<i64, StoreError> {
        self.rtx(|tx| {
            let rows = tx.query(
                // A case a person confirmed as a false positive is no machine of the campaign.
                "SELECT COUNT(DISTINCT activity_key) FROM cases WHERE campaign_id = ? \
                 AND (class IS NULL OR class <> 'false-positive')",
                &[campaign_id.into()],
            )?;
            rows.first().map_or(Ok(0), |r| r.int(0))
        })
    }

    // ---- ledger ----

    pub fn ledger_len(&self) -> Result<i64, StoreError> {
        self.rtx(|tx| Ok(head(tx)?.seq))
    }

    /// Records with `seq >= from`, in order.
    pub fn ledger_records(&self, from: i64, limit: i64) -> Result<Vec<LedgerRecord>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                "SELECT seq, at, kind, subject, payload, prev, hash, sig FROM ledger WHERE seq >= ? ORDER BY seq LIMIT ?",
                &[from.into(), limit.clamp(1, MAX_LIST).into()],
            )?
            .iter()
            .map(record_from)
            .collect()
        })
    }

    /// Like [`Store::ledger_records`], each sealed record with its seal and Merkle path.
    pub fn ledger_records_with_proofs(
        &self,
        from: i64,
        limit: i64,
    ) -> Result<Vec<LedgerRecord>, StoreError> {
        let mut records = self.ledger_records(from, limit)?;
        self.rtx(|tx| attach_seal_proofs(tx, &mut records))?;
        Ok(records)
    }

    /// Checks the whole chain: every hash and link, and every record's signature (its own, or
    /// its seal's over the Merkle root of the seal's records). Returns the number of records.
    pub fn verify_ledger(&self) -> Result<i64, StoreError> {
        let key = self.key.verifying_key();
        let mut prev = GENESIS.to_string();
        let mut expect = 1;
        // The seal being checked and the hashes of its records read so far.
        let mut open: Option<(Seal, Vec<[u8; 32]>)> = None;
        let fault = |seq: i64, message: &str| StoreError::Ledger {
            seq,
            message: message.to_string(),
        };
        loop {
            let batch = self.ledger_records(expect, 5000)?;
            if batch.is_empty() {
                if let Some((seal, _)) = open {
                    return Err(fault(
                        seal.last,
                        "missing: its seal lists it but the ledger ends before it",
                    ));
                }
                return Ok(expect - 1);
            }
            for r in batch {
                if r.seq != expect || r.prev != prev {
                    return Err(fault(
                        expect,
                        "chain broken: record missing or out of order",
                    ));
                }
                if !r.sig.is_empty() {
                    if open.is_some() {
                        return Err(fault(r.seq, "signed on its own inside a seal's range"));
                    }
                    r.check(&key).map_err(|e| StoreError::Ledger {
                        seq: r.seq,
                        message: format!("{e:?} does not verify"),
                    })?;
                } else {
                    let h = crate::ledger::record_hash(
                        r.seq, r.at, &r.kind, &r.subject, &r.payload, &r.prev,
                    );
                    if hex::encode(h) != r.hash || r.prev.len() != 64 {
                        return Err(fault(r.seq, "Hash does not verify"));
                    }
                    if open.is_none() {
                        let seal = self
                            .rtx(|tx| seal_covering(tx, r.seq))?
                            .filter(|s| s.first == r.seq)
                            .ok_or_else(|| fault(r.seq, "not signed: no seal starts here"))?;
                        if !seal.check(&key) {
                            return Err(fault(r.seq, "its seal's signature does not verify"));
                        }
                        open = Some((seal, Vec::new()));
                    }
                    if let Some((seal, hashes)) = open.as_mut() {
                        hashes.push(h);
                        if r.seq == seal.last {
                            let root = crate::ledger::merkle_root(hashes).map(hex::encode);
                            if root.as_deref() != Some(seal.root.as_str()) {
                                return Err(fault(
                                    seal.first,
                                    "the records of its seal do not match the seal's root",
                                ));
                            }
                            open = None;
                        }
                    }
                }
                prev = r.hash;
                expect += 1;
            }
        }
    }

    /// The ledger records about a case: its findings, their attachments, and its own changes,
    /// each with the proof of its signature.
    pub fn case_records(&self, case_id: i64) -> Result<Vec<LedgerRecord>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                "SELECT seq, at, kind, subject, payload, prev, hash, sig FROM ledger WHERE seq IN ( \
                   SELECT ledger_seq FROM findings WHERE case_id = ? \
                   UNION SELECT a.ledger_seq FROM attachments a JOIN findings f ON f.id = a.finding_id WHERE f.case_id = ? \
                   UNION SELECT ledger_seq FROM case_events WHERE case_id = ?) ORDER BY seq",
                &[case_id.into(), case_id.into(), case_id.into()],
            )?
            .iter()
            .map(record_from)
            .collect::<Result<Vec<_>, _>>()
            .and_then(|mut records| {
                attach_seal_proofs(tx, &mut records)?;
                Ok(records)
            })
        })
    }

    pub fn case_attachments(&self, case_id: i64) -> Result<Vec<Attachment>, StoreError> {
        self.rtx(|tx| {
            tx.query(
                "SELECT a.sha256, a.size, a.name, a.media_type, a.finding_id, a.ledger_seq FROM attachments a \
                 JOIN findings f ON f.id = a.finding_id WHERE f.case_id = ? ORDER BY a.ledger_seq",
                &[case_id.into()],
            )?
            .iter()
            .map(attachment_from)
            .collect()
        })
    }

    // ---- metrics ----

    /// Counters for `/metrics`; a source is silent when not heard from for `silent_after` µs.
    pub fn stats(&self, silent_after: i64) -> Result<Stats, StoreError> {
        let cutoff = now().saturating_sub(silent_after);
        self.rtx(|tx| {
            let one = |tx: &mut dyn Tx, sql: &str, p: &[Value]| -> Result<i64, StoreError> {
                let rows = tx.query(sql, p)?;
                rows.first().map_or(Ok(0), |r| r.int(0))
            };
            let mut s = Stats {
                findings: one(tx, "SELECT COUNT(*) FROM findings", &[])?,
                pending: one(
                    tx,
                    "SELECT COUNT(*) FROM findings WHERE correlated = 0",
                    &[],
                )?,
                ledger_length: head(tx)?.seq,
                sources: one(
                    tx,
                    "SELECT COUNT(*) FROM sources WHERE revoked_at IS NULL",
                    &[],
                )?,
                sources_silent: one(
                    tx,
                    "SELECT COUNT(*) FROM sources WHERE revoked_at IS NULL AND role <> 'admin' \
                     AND (last_seen IS NULL OR last_seen < ?)",
                    &[cutoff.into()],
                )?,
                campaigns: one(tx, "SELECT COUNT(*) FROM campaigns", &[])?,
                ..Stats::default()
            };
            for r in tx.query(
                "SELECT status, COUNT(*) FROM cases GROUP BY status ORDER BY status",
                &[],
            )? {
                s.cases_by_status.push((r.text(0)?, r.int(1)?));
            }
            Ok(s)
        })
    }
}

fn record_from(r: &Row) -> Result<LedgerRecord, StoreError> {
    Ok(LedgerRecord {
        seq: r.int(0)?,
        at: r.int(1)?,
        kind: r.text(2)?,
        subject: r.text(3)?,
        payload: r.text(4)?,
        prev: r.text(5)?,
        hash: r.text(6)?,
        sig: r.text(7)?,
        seal: None,
    })
}

/// The seal whose range holds `seq`, if any.
fn seal_covering(tx: &mut dyn Tx, seq: i64) -> Result<Option<Seal>, StoreError> {
    let rows = tx.query(
        "SELECT first_seq, last_seq, at, root, sig FROM ledger_seals WHERE last_seq >= ? \
         ORDER BY last_seq LIMIT 1",
        &[seq.into()],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let seal = Seal {
        first: r.int(0)?,
        last: r.int(1)?,
        at: r.int(2)?,
        root: r.text(3)?,
        sig: r.text(4)?,
    };
    Ok((seal.first <= seq).then_some(seal))
}

/// The hashes of records `first..=last`, in order (None when one is missing or unreadable).
fn hashes_between(
    tx: &mut dyn Tx,
    first: i64,
    last: i64,
) -> Result<Option<Vec<[u8; 32]>>, StoreError> {
    let rows = tx.query(
        "SELECT seq, hash FROM ledger WHERE seq >= ? AND seq <= ? ORDER BY seq",
        &[first.into(), last.into()],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        match crate::ledger::decode_hash(&r.text(1)?) {
            Some(h) if r.int(0)? == first + i as i64 => out.push(h),
            _ => return Ok(None),
        }
    }
    Ok((out.len() as i64 == last - first + 1).then_some(out))
}

/// Gives every sealed record (empty `sig`) its seal and Merkle path, so it verifies on its own.
/// `records` are in seq order; each seal's tree is built once.
fn attach_seal_proofs(tx: &mut dyn Tx, records: &mut [LedgerRecord]) -> Result<(), StoreError> {
    let mut i = 0;
    while i < records.len() {
        if !records[i].sig.is_empty() || records[i].seal.is_some() {
            i += 1;
            continue;
        }
        let Some(seal) = seal_covering(tx, records[i].seq)? else {
            i += 1; // unsealed: it will not verify, which is what a reader must see
            continue;
        };
        let end = records[i..]
            .iter()
            .position(|r| r.seq > seal.last)
            .map_or(records.len(), |n| i + n);
        if let Some(hashes) = hashes_between(tx, seal.first, seal.last)? {
            let seqs: Vec<i64> = records[i..end].iter().map(|r| r.seq).collect();
            for (r, proof) in records[i..end]
                .iter_mut()
                .zip(seal.proofs_for(&hashes, &seqs))
            {
                if r.sig.is_empty() {
                    r.seal = proof;
                }
            }
        }
        i = end.max(i + 1);
    }
    Ok(())
}

fn attachment_from(r: &Row) -> Result<Attachment, StoreError> {
    Ok(Attachment {
        sha256: r.text(0)?,
        size: r.int(1)?,
        name: r.text(2)?,
        media_type: r.text(3)?,
        finding_id: r.opt_text(4)?,
        ledger_seq: r.int(5)?,
    })
}

fn unit_id(tx: &mut dyn Tx, name: &str) -> Result<i64, StoreError> {
    let rows = tx.query("SELECT id FROM units WHERE name = ?", &[name.into()])?;
    rows.first()
        .ok_or(StoreError::NotFound {
            what: format!("unit {name:?}"),
        })?
        .int(0)
}

fn host_from(tx: &mut dyn Tx, r: &Row) -> Result<Host, StoreError> {
    let id = r.int(0)?;
    let mut h = Host {
        id,
        name: r.text(1)?,
        unit_name: r.opt_text(2)?,
        owner: r.opt_text(3)?,
        owner_contact: r.opt_text(4)?,
        admin: r.opt_text(5)?,
        admin_contact: r.opt_text(6)?,
        origin: r.text(7)?,
        ips: Vec::new(),
        macs: Vec::new(),
    };
    for a in tx.query(
        "SELECT kind, value FROM host_addrs WHERE host_id = ? ORDER BY kind, value LIMIT 256",
        &[id.into()],
    )? {
        match a.text(0)?.as_str() {
            "ip" => h.ips.push(a.text(1)?),
            _ => h.macs.push(a.text(1)?),
        }
    }
    Ok(h)
}

/// Who says a host has its addresses.
#[derive(Debug, Clone, Copy)]
enum Statement {
    /// The registry: ownership fields are overwritten, addresses are the host's for good.
    Registry,
    /// An agent's heartbeat received at `at`: fills only missing fields; each address is the
    /// host's from its first report until another host reports it (a tenure).
    AgentReport { at: i64 },
}

/// Creates or updates a host by name with its addresses.
fn upsert_host_tx(tx: &mut dyn Tx, host: &Host, said: Statement) -> Result<i64, StoreError> {
    let authoritative = matches!(said, Statement::Registry);
    let unit = match &host.unit_name {
        Some(u) if !u.is_empty() => Some(unit_id(tx, u)?),
        _ => None,
    };
    let existing = tx.query(
        "SELECT id FROM hosts WHERE name = ?",
        &[host.name.clone().into()],
    )?;
    let id = match existing.first() {
        Some(r) => {
            let id = r.int(0)?;
            if authoritative {
                tx.execute(
                    "UPDATE hosts SET unit_id = COALESCE(?, unit_id), owner = COALESCE(?, owner), \
                     owner_contact = COALESCE(?, owner_contact), admin = COALESCE(?, admin), \
                     admin_contact = COALESCE(?, admin_contact), origin = 'registry' WHERE id = ?",
                    &[
                        unit.into(),
                        host.owner.clone().into(),
                        host.owner_contact.clone().into(),
                        host.admin.clone().into(),
                        host.admin_contact.clone().into(),
                        id.into(),
                    ],
                )?;
            }
            id
        }
        None => {
            let origin = if authoritative { "registry" } else { "agent" };
            let rows = tx.query(
                "INSERT INTO hosts (name, unit_id, owner, owner_contact, admin, admin_contact, origin) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                &[
                    host.name.clone().into(),
                    unit.into(),
                    host.owner.clone().into(),
                    host.owner_contact.clone().into(),
                    host.admin.clone().into(),
                    host.admin_contact.clone().into(),
                    origin.into(),
                ],
            )?;
            rows.first().ok_or(StoreError::Poisoned)?.int(0)?
        }
    };
    let mut learned = 0;
    for (kind, values) in [("ip", &host.ips), ("mac", &host.macs)] {
        for v in values.iter().take(64) {
            learned += add_host_addr(tx, id, kind, v, said)?;
        }
    }
    // An address new to the host may attribute open cases (an agent's heartbeat can name its
    // host's address after that address's network findings were correlated).
    if learned > 0 {
        registry_changed(tx)?;
    }
    Ok(id)
}

/// How stale a tenure's `last_seen` may get before a report writes it again.
const TENURE_LAST_SEEN_STEP_US: i64 = 3_600_000_000;

/// Tenures kept per address (the oldest go first): two machines on overlapping private
/// networks can report one address in turn for ever.
const TENURES_KEPT: i64 = 64;

/// Tenures kept per host (the least recently seen go first, and with them the agent-reported
/// addresses they leave without one): an agent on a desktop reports a new temporary IPv6
/// address every day or so for as long as it runs, and a host's history must not grow for ever.
/// The registry's addresses are not counted and never go.
pub const HOST_TENURES_KEPT: i64 = 1024;

/// Records that host `id` has an address; returns 1 when the host had never had it, else 0.
fn add_host_addr(
    tx: &mut dyn Tx,
    id: i64,
    kind: &str,
    value: &str,
    said: Statement,
) -> Result<u64, StoreError> {
    let key = [id.into(), kind.into(), value.into()];
    let added = tx.execute(
        "INSERT INTO host_addrs (host_id, kind, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        &key,
    )?;
    let Statement::AgentReport { at } = said else {
        // The registry's word makes the address the host's for good, whatever agents said.
        tx.execute(
            "UPDATE host_addrs SET stated = 1 WHERE host_id = ? AND kind = ? AND value = ?",
            &key,
        )?;
        return Ok(added);
    };
    // The address's latest tenure goes on while this host holds it; otherwise one begins.
    let latest = tx.query(
        "SELECT id, host_id, last_seen FROM addr_tenures WHERE kind = ? AND value = ? \
         ORDER BY first_seen DESC, id DESC LIMIT 1",
        &[kind.into(), value.into()],
    )?;
    match latest.first() {
        Some(r) if r.int(1)? == id => {
            // To the hour: a heartbeat every few minutes need not write every time.
            if at.saturating_sub(r.int(2)?) > TENURE_LAST_SEEN_STEP_US {
                tx.execute(
                    "UPDATE addr_tenures SET last_seen = ? WHERE id = ?",
                    &[at.into(), r.int(0)?.into()],
                )?;
            }
        }
        _ => {
            tx.execute(
                "INSERT INTO addr_tenures (host_id, kind, value, first_seen, last_seen) \
                 VALUES (?, ?, ?, ?, ?)",
                &[id.into(), kind.into(), value.into(), at.into(), at.into()],
            )?;
            tx.execute(
                "DELETE FROM addr_tenures WHERE kind = ? AND value = ? AND id NOT IN \
                 (SELECT id FROM addr_tenures WHERE kind = ? AND value = ? \
                  ORDER BY first_seen DESC, id DESC LIMIT ?)",
                &[
                    kind.into(),
                    value.into(),
                    kind.into(),
                    value.into(),
                    TENURES_KEPT.into(),
                ],
            )?;
            prune_host_tenures(tx, id)?;
        }
    }
    Ok(added)
}

/// Keeps host `id`'s [`HOST_TENURES_KEPT`] most recently seen tenures, and of the addresses
/// only agents reported for it those that still have one.
fn prune_host_tenures(tx: &mut dyn Tx, id: i64) -> Result<(), StoreError> {
    let count = tx.query(
        "SELECT COUNT(*) FROM addr_tenures WHERE host_id = ?",
        &[id.into()],
    )?;
    if count.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) <= HOST_TENURES_KEPT {
        return Ok(());
    }
    tx.execute(
        "DELETE FROM addr_tenures WHERE host_id = ? AND id NOT IN \
         (SELECT id FROM addr_tenures WHERE host_id = ? ORDER BY last_seen DESC, id DESC LIMIT ?)",
        &[id.into(), id.into(), HOST_TENURES_KEPT.into()],
    )?;
    tx.execute(
        "DELETE FROM host_addrs WHERE host_id = ? AND stated = 0 AND NOT EXISTS \
         (SELECT 1 FROM addr_tenures t WHERE t.host_id = host_addrs.host_id \
          AND t.kind = host_addrs.kind AND t.value = host_addrs.value)",
        &[id.into()],
    )?;
    Ok(())
}

/// Candidate windows read per NAT or DHCP lookup (mappings of one port overlapping the slack).
const WINDOW_CANDIDATES: usize = 16;

/// Of rows with a window in columns `starts_col`..`ends_col`, the one that holds `at`, else
/// the one nearest to it; ties go to the later start (rows come latest first).
fn closest_window(
    rows: &[Row],
    at: i64,
    starts_col: usize,
    ends_col: usize,
) -> Result<Option<&Row>, StoreError> {
    let mut best: Option<(i64, &Row)> = None;
    for r in rows {
        let (starts, ends) = (r.int(starts_col)?, r.int(ends_col)?);
        let distance = if at < starts {
            starts - at
        } else if at > ends {
            at - ends
        } else {
            0
        };
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, r));
        }
    }
    Ok(best.map(|(_, r)| r))
}
