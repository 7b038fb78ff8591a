//! One TOML configuration file, one section per role; unknown keys are refused.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8440"
//! data = "/var/lib/minetrace"
//! # database = "postgres://minetrace@localhost/minetrace"
//!
//! [sensor]
//! server = "https://minetrace.example:8440"
//! token = "mt1_..."
//! spool = "/var/spool/minetrace"
//!
//! [agent]
//! server = "https://minetrace.example:8440"
//! token = "mt1_..."
//! interval_secs = 60
//! ```

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: Option<ServerSection>,
    #[serde(default)]
    pub sensor: Option<SourceSection>,
    #[serde(default)]
    pub agent: Option<SourceSection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    #[serde(default = "default_listen")]
    pub listen: String,
    pub data: PathBuf,
    /// `postgres://...`; SQLite in `data` when absent.
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    #[serde(default)]
    pub tls_generate: bool,
    /// Classification rules (TOML); the embedded default when absent.
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// Estimation factors (crates/estimate TOML); defaults when absent.
    #[serde(default)]
    pub estimate: Option<PathBuf>,
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    #[serde(default = "default_queue")]
    pub queue_capacity: usize,
    #[serde(default = "default_silent")]
    pub silent_after_secs: u64,
    /// `text` or `json`.
    #[serde(default = "default_log")]
    pub log_format: String,
}

/// What a sensor or an agent needs to reach the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    pub server: String,
    pub token: String,
    #[serde(default)]
    pub spool: Option<PathBuf>,
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    #[serde(default)]
    pub interval_secs: Option<u64>,
}

pub fn default_listen() -> String {
    "127.0.0.1:8440".into()
}
pub fn default_body() -> usize {
    16 * 1024 * 1024
}
pub fn default_queue() -> usize {
    200_000
}
pub fn default_silent() -> u64 {
    900
}
pub fn default_log() -> String {
    "text".into()
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let c: Config = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if let Some(s) = &c.server {
            s.listen.parse::<std::net::SocketAddr>().map_err(|_| {
                invalid(format!(
                    "[server] listen {:?} is not address:port",
                    s.listen
                ))
            })?;
            if s.tls_cert.is_some() != s.tls_key.is_some() {
                return Err(invalid("[server] tls_cert and tls_key go together".into()));
            }
            if !matches!(s.log_format.as_str(), "text" | "json") {
                return Err(invalid("[server] log_format is text or json".into()));
            }
            if s.max_body_bytes < 1024 || s.queue_capacity == 0 {
                return Err(invalid(
                    "[server] max_body_bytes >= 1024 and queue_capacity >= 1".into(),
                ));
            }
        }
        for (name, s) in [("sensor", &c.sensor), ("agent", &c.agent)] {
            if let Some(s) = s {
                if !(s.server.starts_with("http://") || s.server.starts_with("https://")) {
                    return Err(invalid(format!("[{name}] server must be an http(s) URL")));
                }
            }
        }
        Ok(c)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = minetrace_core::io::read_bounded_string(path, 1 << 20).map_err(|e| {
            ConfigError::Read {
                path: path.display().to_string(),
                message: e.to_string(),
            }
        })?;
        Config::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_and_refuses_unknown_keys() {
        let p = Path::new("t.toml");
        let c = Config::parse(
            "[server]\ndata = \"/tmp/x\"\n[agent]\nserver=\"http://a\"\ntoken=\"t\"\n",
            p,
        )
        .unwrap();
        assert_eq!(c.server.unwrap().listen, "127.0.0.1:8440");
        assert!(Config::parse("[server]\ndata = \"/x\"\nlisten_typo = 1\n", p).is_err());
        assert!(Config::parse("[bogus]\n", p).is_err());
        assert!(Config::parse("[server]\ndata=\"/x\"\nlisten=\"nope\"\n", p).is_err());
    }
}
