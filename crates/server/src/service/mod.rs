//! Domain rules over the [`minetrace_store::Store`]: ingest checks, the asset registry and its
//! log imports, correlation into cases, classification rules, the case workflow, estimates.

pub mod cases;
pub mod correlate;
pub mod csv;
pub mod estimate;
pub mod ingest;
pub mod logs;
pub mod netaddr;
pub mod registry;
pub mod rules;

use minetrace_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("a case cannot go from {from} to {to}")]
    Transition { from: String, to: String },
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
