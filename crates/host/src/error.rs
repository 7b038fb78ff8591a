//! Errors of the host crate. Most problems on a live host (a process that exits mid-read, an
//! unreadable file) become notes on the report instead; these are the ones a caller sees.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("process {pid}: cannot read {file}: {source}")]
    Proc {
        pid: u32,
        file: &'static str,
        #[source]
        source: minetrace_core::io::ReadError,
    },
    #[error("{path}: malformed {what}")]
    Malformed { path: PathBuf, what: String },
    #[error("rules {path}: {message}")]
    Rules { path: PathBuf, message: String },
    #[error("evidence for process {pid} could not be saved: {message}")]
    Evidence { pid: u32, message: String },
    #[error("spool {path}: {message}")]
    Spool { path: PathBuf, message: String },
    #[error("server {url}: {message}")]
    Upload { url: String, message: String },
}

impl HostError {
    pub(crate) fn proc(
        pid: u32,
        file: &'static str,
        source: minetrace_core::io::ReadError,
    ) -> Self {
        HostError::Proc { pid, file, source }
    }

    /// True when the error means the process is gone (exited between listing and reading).
    pub fn is_vanished(&self) -> bool {
        let io = match self {
            HostError::Proc {
                source: minetrace_core::io::ReadError::Io { source, .. },
                ..
            } => source,
            HostError::Io { source, .. } => source,
            _ => return false,
        };
        io.kind() == std::io::ErrorKind::NotFound || io.raw_os_error() == Some(3)
    }
}
