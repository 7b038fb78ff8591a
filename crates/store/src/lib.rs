//! Storage for the minetrace server: one domain API ([`Store`]) over two SQL backends (embedded
//! SQLite, PostgreSQL for scale-out), each with its migrations, plus the evidence ledger —
//! append-only records, SHA-256 hash chain, Ed25519 signatures — and offline-verifiable bundles.
//!
//! ```
//! use minetrace_core::{Finding, FindingKind, Timestamp};
//! use minetrace_store::{bundle, Role, Store};
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path(), None).unwrap();
//! let (sensor, _token) = store.create_source("sensor-1", Role::Sensor).unwrap();
//! let mut f = Finding::new("stratum", FindingKind::Network, Timestamp::from_micros(1));
//! f.assign_id();
//! assert_eq!(store.ingest_findings(&sensor, &[f.clone()]).unwrap().accepted, 1);
//! assert_eq!(store.ingest_findings(&sensor, &[f]).unwrap().duplicates, 1);
//! assert_eq!(store.verify_ledger().unwrap(), 2); // enrolment + finding
//! # let _ = bundle::FORMAT;
//! ```
#![forbid(unsafe_code)]

pub mod bundle;
pub mod db;
pub mod ledger;
pub mod model;
pub mod schema;
pub mod sqlite;
mod store;
mod users;
pub use users::{ConsoleRole, Task, User};

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
pub use postgres::{fresh_schema_url, redact, PostgresBackend};
#[cfg(not(feature = "postgres"))]
mod disabled;
#[cfg(not(feature = "postgres"))]
pub use disabled::{fresh_schema_url, redact, PostgresBackend};

pub use db::{Backend, BackendKind};
pub use ledger::{LedgerKey, LedgerRecord};
pub use model::*;
pub use store::{Store, HOST_TENURES_KEPT, MAX_ATTACHMENT_BYTES, MAX_LIST};

/// Longest name (source, unit, host, project) accepted.
pub const MAX_NAME: usize = 256;

/// Storage errors; messages name the table, file or record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot open {target}: {message}")]
    Open { target: String, message: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("ledger key {path}: {message}")]
    Key { path: String, message: String },
    #[error("SQL error in `{statement}`: {message}")]
    Sql { statement: String, message: String },
    #[error("conflict: {message}")]
    Conflict { message: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{what} larger than {limit} bytes")]
    TooLarge { what: String, limit: usize },
    #[error("stored data is corrupt: {what}")]
    Corrupt { what: String },
    #[error("column {index}: expected {expected}")]
    Column {
        index: usize,
        expected: &'static str,
    },
    #[error("schema: {message}")]
    Schema { message: String },
    #[error("ledger record {seq}: {message}")]
    Ledger { seq: i64, message: String },
    #[error("a store lock was poisoned by a panic")]
    Poisoned,
}

/// Names are printable, bounded, without control characters.
pub(crate) fn check_name(field: &str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field: field.into(),
            message: format!("must be 1..={MAX_NAME} bytes without control characters"),
        });
    }
    Ok(())
}
