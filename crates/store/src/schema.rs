//! Migrations for both backends, written once with type tokens: `{ID}` (an auto-increment primary
//! key), `{INT}` (64-bit integer), `{REAL}`, `{BLOB}`. Applied in order; each runs once.

use crate::db::{BackendKind, Tx, Value};
use crate::StoreError;

/// Ordered migrations: (version, statements).
pub const MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE sources (id {ID}, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
            token_sha256 TEXT NOT NULL UNIQUE, created_at {INT} NOT NULL, revoked_at {INT},
            last_seen {INT})",
        "CREATE TABLE ledger (seq {INT} PRIMARY KEY, at {INT} NOT NULL, kind TEXT NOT NULL,
            subject TEXT NOT NULL, payload TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL,
            sig TEXT NOT NULL)",
        "CREATE TABLE findings (id TEXT PRIMARY KEY, source_id {INT} NOT NULL, kind TEXT NOT NULL,
            detector TEXT NOT NULL, client_ip TEXT, client_port {INT}, server_ip TEXT,
            server_port {INT}, host TEXT, wallet TEXT, first_seen {INT} NOT NULL,
            last_seen {INT} NOT NULL, received_at {INT} NOT NULL, ledger_seq {INT} NOT NULL,
            case_id {INT}, correlated {INT} NOT NULL DEFAULT 0)",
        "CREATE INDEX findings_pending ON findings(correlated, received_at)",
        "CREATE INDEX findings_case ON findings(case_id)",
        "CREATE TABLE attachments (sha256 TEXT PRIMARY KEY, size {INT} NOT NULL, name TEXT NOT NULL,
            media_type TEXT NOT NULL, finding_id TEXT, data {BLOB} NOT NULL,
            ledger_seq {INT} NOT NULL, received_at {INT} NOT NULL)",
        "CREATE INDEX attachments_finding ON attachments(finding_id)",
        "CREATE TABLE heartbeats (source_id {INT} NOT NULL, host TEXT NOT NULL, at {INT} NOT NULL,
            body TEXT NOT NULL, PRIMARY KEY (source_id, host))",
        "CREATE TABLE units (id {ID}, name TEXT NOT NULL UNIQUE, region TEXT NOT NULL,
            unit_type TEXT NOT NULL, contact TEXT)",
        "CREATE TABLE ranges (id {ID}, cidr TEXT NOT NULL UNIQUE,
            unit_id {INT} NOT NULL REFERENCES units(id), note TEXT)",
        "CREATE TABLE hosts (id {ID}, name TEXT NOT NULL UNIQUE, unit_id {INT} REFERENCES units(id),
            owner TEXT, owner_contact TEXT, admin TEXT, admin_contact TEXT,
            origin TEXT NOT NULL)",
        "CREATE TABLE host_addrs (host_id {INT} NOT NULL REFERENCES hosts(id), kind TEXT NOT NULL,
            value TEXT NOT NULL, PRIMARY KEY (host_id, kind, value))",
        "CREATE INDEX host_addrs_value ON host_addrs(kind, value)",
        "CREATE TABLE projects (id {ID}, name TEXT NOT NULL, unit_id {INT} REFERENCES units(id),
            host TEXT, account TEXT, starts {INT} NOT NULL, ends {INT} NOT NULL,
            approver TEXT NOT NULL)",
        "CREATE TABLE nat_map (id {ID}, public_ip TEXT NOT NULL, public_port {INT} NOT NULL,
            private_ip TEXT NOT NULL, private_port {INT} NOT NULL, protocol TEXT NOT NULL,
            starts {INT} NOT NULL, ends {INT} NOT NULL, origin TEXT NOT NULL,
            UNIQUE (public_ip, public_port, private_ip, private_port, starts))",
        "CREATE INDEX nat_map_public ON nat_map(public_ip, public_port)",
        "CREATE TABLE leases (id {ID}, ip TEXT NOT NULL, mac TEXT NOT NULL, hostname TEXT,
            starts {INT} NOT NULL, ends {INT} NOT NULL, origin TEXT NOT NULL,
            UNIQUE (ip, mac, starts))",
        "CREATE INDEX leases_ip ON leases(ip)",
        "CREATE TABLE campaigns (id {ID}, wallet TEXT NOT NULL UNIQUE, created_at {INT} NOT NULL)",
        "CREATE TABLE cases (id {ID}, activity_key TEXT NOT NULL, status TEXT NOT NULL,
            class TEXT, proposed_class TEXT, reasons TEXT NOT NULL, unit_id {INT}, unit_name TEXT,
            host_id {INT}, host_name TEXT, client_ip TEXT, public_ip TEXT, mac TEXT, process TEXT,
            account TEXT, wallet TEXT, coin TEXT, pool TEXT, campaign_id {INT},
            recurrence {INT} NOT NULL DEFAULT 0, flags TEXT NOT NULL, estimate TEXT NOT NULL,
            opened_at {INT} NOT NULL, updated_at {INT} NOT NULL, closed_at {INT},
            first_seen {INT} NOT NULL, last_seen {INT} NOT NULL,
            findings_count {INT} NOT NULL DEFAULT 0, network_findings {INT} NOT NULL DEFAULT 0,
            host_findings {INT} NOT NULL DEFAULT 0, assignee TEXT,
            confidential {INT} NOT NULL DEFAULT 0)",
        "CREATE INDEX cases_key ON cases(activity_key)",
        "CREATE INDEX cases_campaign ON cases(campaign_id)",
        "CREATE TABLE case_events (id {ID}, case_id {INT} NOT NULL REFERENCES cases(id),
            at {INT} NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
            ledger_seq {INT} NOT NULL)",
        "CREATE INDEX case_events_case ON case_events(case_id)",
    ],
), (
    2,
    &[
        // Console users: role regulator | unit_admin | investigator | auditor; scope is a region
        // (regulators, `*` for all) or a unit (unit administrators).
        "CREATE TABLE users (id {ID}, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
            region TEXT, unit TEXT, password_hash TEXT NOT NULL, created_at {INT} NOT NULL,
            disabled_at {INT})",
        // Sessions are kept by the SHA-256 of their cookie value.
        "CREATE TABLE sessions (id_sha256 TEXT PRIMARY KEY, user_id {INT} NOT NULL REFERENCES users(id),
            csrf TEXT NOT NULL, created_at {INT} NOT NULL, expires_at {INT} NOT NULL)",
    ],
), (
    3,
    &[
        // Self-inspection tasks a regulator gives a unit, and the unit's answer.
        "CREATE TABLE tasks (id {ID}, unit TEXT NOT NULL, title TEXT NOT NULL, detail TEXT NOT NULL,
            deadline {INT} NOT NULL, created_by TEXT NOT NULL, created_at {INT} NOT NULL,
            answer TEXT, answered_by TEXT, answered_at {INT})",
        "CREATE INDEX tasks_unit ON tasks(unit)",
    ],
), (
    4,
    &[
        // A unit under confidential investigation: cases opened for it start confidential, so
        // the unit never sees them (nor do alerts) until a regulator reveals them.
        "ALTER TABLE units ADD COLUMN confidential_watch {INT} NOT NULL DEFAULT 0",
    ],
), (
    5,
    &[
        // One Ed25519 signature per transaction over the Merkle root of the records it appended
        // (see ledger.rs); records sealed this way keep an empty `sig`.
        "CREATE TABLE ledger_seals (last_seq {INT} PRIMARY KEY, first_seq {INT} NOT NULL,
            at {INT} NOT NULL, root TEXT NOT NULL, sig TEXT NOT NULL)",
    ],
), (
    6,
    &[
        // Named counters; `registry` moves on every change to ranges, hosts, projects, NAT and
        // DHCP data, so a correlator (in any replica) knows to re-attribute open cases.
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value {INT} NOT NULL)",
    ],
), (
    7,
    &[
        // Addresses the registry states are the host's for good; those only agents report are
        // the host's from a report until another host reports them (DHCP moves addresses).
        "ALTER TABLE host_addrs ADD COLUMN stated {INT} NOT NULL DEFAULT 0",
        "UPDATE host_addrs SET stated = 1
            WHERE host_id IN (SELECT id FROM hosts WHERE origin = 'registry')",
        // Who held an agent-reported address when (server time), a row per tenure; the latest
        // begun is the holder now; `last_seen` is kept to the hour.
        "CREATE TABLE addr_tenures (id {ID}, host_id {INT} NOT NULL REFERENCES hosts(id),
            kind TEXT NOT NULL, value TEXT NOT NULL, first_seen {INT} NOT NULL,
            last_seen {INT} NOT NULL)",
        "CREATE INDEX addr_tenures_value ON addr_tenures(kind, value, first_seen)",
        // What agents reported before: a tenure from the beginning.
        "INSERT INTO addr_tenures (host_id, kind, value, first_seen, last_seen)
            SELECT host_id, kind, value, 0, 0 FROM host_addrs WHERE stated = 0",
    ],
), (
    8,
    &[
        // A host's tenures are counted and pruned when it begins a new one (store.rs,
        // HOST_TENURES_KEPT).
        "CREATE INDEX addr_tenures_host ON addr_tenures(host_id, last_seen)",
    ],
), (
    9,
    &[
        // The proposed class's reasons and the cross-check flags in Simplified Chinese, beside
        // the English ones (cases correlated before stay English-only until updated).
        "ALTER TABLE cases ADD COLUMN reasons_zh TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE cases ADD COLUMN flags_zh TEXT NOT NULL DEFAULT '[]'",
    ],
)];

fn render(sql: &str, kind: BackendKind) -> String {
    let (id, int, real, blob) = match kind {
        BackendKind::Sqlite => (
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "INTEGER",
            "REAL",
            "BLOB",
        ),
        BackendKind::Postgres => (
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            "BIGINT",
            "DOUBLE PRECISION",
            "BYTEA",
        ),
    };
    sql.replace("{ID}", id)
        .replace("{INT}", int)
        .replace("{REAL}", real)
        .replace("{BLOB}", blob)
}

/// Highest migration version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

pub fn apply(tx: &mut dyn Tx, kind: BackendKind) -> Result<(), StoreError> {
    apply_until(tx, kind, latest_version())
}

/// Applies the migrations up to `last` (tests build databases of earlier versions with it).
pub fn apply_until(tx: &mut dyn Tx, kind: BackendKind, last: i64) -> Result<(), StoreError> {
    tx.execute(
        &render(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version {INT} PRIMARY KEY, applied_at {INT} NOT NULL)",
            kind,
        ),
        &[],
    )?;
    let rows = tx.query(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        &[],
    )?;
    let current = match rows.first() {
        Some(r) => r.int(0)?,
        None => 0,
    };
    if current > latest_version() {
        return Err(StoreError::Schema {
            message: format!(
                "database schema version {current} is newer than this build knows ({})",
                latest_version()
            ),
        });
    }
    for (version, statements) in MIGRATIONS {
        if *version <= current || *version > last {
            continue;
        }
        for s in *statements {
            tx.execute(&render(s, kind), &[])?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
            &[
                Value::Int(*version),
                Value::Int(minetrace_core::Timestamp::now().0),
            ],
        )?;
    }
    Ok(())
}
