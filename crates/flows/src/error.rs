//! Errors of the flow readers and the collector: every one names its input and record.

use std::path::PathBuf;

/// Where a bad record sits: its input and 1-based record (or line) number, and byte offset
/// for binary formats.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: record {record}: {message}")]
    Record {
        path: PathBuf,
        record: u64,
        message: String,
    },
    #[error("{path}: record {record}: line longer than {limit} bytes (skipped)")]
    LineTooLong {
        path: PathBuf,
        record: u64,
        limit: usize,
    },
    #[error("{path}: byte offset {offset}: {message}")]
    Binary {
        path: PathBuf,
        offset: u64,
        message: String,
    },
    #[error("{path}: cannot tell the flow format ({message}); name it with --input-format")]
    UnknownFormat { path: PathBuf, message: String },
}

/// A decoding problem inside one binary message (IPFIX, NetFlow), before it is tied to an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("offset {offset}: truncated {what} (need {need} bytes, have {have})")]
    Truncated {
        offset: usize,
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("offset {offset}: {message}")]
    Invalid { offset: usize, message: String },
    #[error("unsupported export version {version}")]
    Version { version: u16 },
}

impl DecodeError {
    pub fn offset(&self) -> usize {
        match self {
            DecodeError::Truncated { offset, .. } | DecodeError::Invalid { offset, .. } => *offset,
            DecodeError::Version { .. } => 0,
        }
    }
}
