//! Blocking client for the minetrace server, for sensors (`analyze`), agents (`scan`, `agent`)
//! and the command line: submit findings and heartbeats with retries, and a disk [`Spool`] that
//! keeps findings while the server is down and drains them afterwards without loss or duplicates
//! (the server deduplicates by finding id).
//!
//! ```no_run
//! use minetrace_client::{submit_findings, Spool, Client};
//! # let findings: Vec<minetrace_core::Finding> = Vec::new();
//! // One call: retries transient failures, then gives up with an error.
//! let outcome = submit_findings("http://127.0.0.1:8440", "mt1_...", &findings)?;
//! println!("{} stored, {} already there", outcome.accepted, outcome.duplicates);
//!
//! // With a spool: nothing is lost while the server is away.
//! let spool = Spool::open(std::path::Path::new("/var/lib/minetrace/spool"))?;
//! let client = Client::new("http://127.0.0.1:8440", "mt1_...")?;
//! spool.submit_or_spool(&client, &findings)?;
//! # Ok::<(), minetrace_client::ClientError>(())
//! ```
//!
//! Wire format: `POST {server}/api/v1/ingest/findings`, header `Authorization: Bearer <token>`,
//! body `{"findings":[Finding...]}`; answer `{"accepted":N,"duplicates":M}`. A batch whose every
//! finding is already stored is answered `409 Conflict` (a replay) and counts as delivered.
#![forbid(unsafe_code)]

mod spool;

pub use spool::{DrainOutcome, Spool, SpoolResult};

use minetrace_core::Finding;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Most findings sent in one request (the server accepts up to 5,000).
pub const BATCH: usize = 1000;

/// Client errors; messages name the URL or file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("invalid server URL {url:?}: {message}")]
    Url { url: String, message: String },
    #[error("server {url} unreachable after {attempts} attempts: {message}")]
    Unavailable {
        url: String,
        attempts: u32,
        message: String,
    },
    #[error("server {url} rejected the request ({status}): {message}")]
    Rejected {
        url: String,
        status: u16,
        message: String,
    },
    #[error("server {url} answered unreadably: {message}")]
    Protocol { url: String, message: String },
    #[error("spool {path}: {message}")]
    Spool { path: String, message: String },
}

impl ClientError {
    /// True when trying again later may succeed (the server was down or overloaded).
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Unavailable { .. })
    }
}

/// What the server said about a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitOutcome {
    pub accepted: usize,
    pub duplicates: usize,
}

/// An agent's heartbeat with its inventory (`POST /api/v1/ingest/heartbeat`). Unknown fields
/// are rejected by the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Host name the agent reports for (matches `Finding::host`).
    pub host: String,
    /// Agent software and version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// When the agent sent it (RFC 3339); the server also records its own time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<minetrace_core::Timestamp>,
    /// The host's IP addresses (inventory: lets the server map network findings to the host).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<std::net::IpAddr>,
    /// The host's MAC addresses (`aa:bb:cc:dd:ee:ff`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub macs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
    /// Scans completed since the agent started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scans: Option<u64>,
    /// Findings the agent produced since it started (0 on a clean host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<u64>,
}

#[derive(Serialize)]
struct FindingsBody<'a> {
    findings: &'a [Finding],
}

/// A connection to one server with one token.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
    /// Attempts per request (at least 1).
    pub attempts: u32,
    /// First wait between attempts; doubles each time.
    pub backoff: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({})", self.base)
    }
}

impl Client {
    pub fn new(server: &str, token: &str) -> Result<Client, ClientError> {
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Url {
                url: server.into(),
                message: "must start with http:// or https://".into(),
            });
        }
        if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
            return Err(ClientError::Url {
                url: server.into(),
                message: "token is empty or has spaces or control characters".into(),
            });
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Ok(Client {
            base,
            token: token.to_string(),
            agent: ureq::Agent::new_with_config(config),
            attempts: 4,
            backoff: Duration::from_millis(250),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends a request with retries on transport errors, 429 and 5xx. Returns status and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, String), ClientError> {
        let url = format!("{}{}", self.base, path);
        let mut wait = self.backoff;
        let mut last = String::new();
        let attempts = self.attempts.max(1);
        for attempt in 1..=attempts {
            let auth = format!("Bearer {}", self.token);
            let result = match (method, body) {
                ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
                ("DELETE", _) => self
                    .agent
                    .delete(&url)
                    .header("Authorization", &auth)
                    .call(),
                (m, b) => {
                    let b = b.unwrap_or(b"{}");
                    let req = match m {
                        "PATCH" => self.agent.patch(&url),
                        "PUT" => self.agent.put(&url),
                        _ => self.agent.post(&url),
                    };
                    req.header("Authorization", &auth)
                        .header("Content-Type", "application/json")
                        .send(b)
                }
            };
            match result {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let text = resp
                        .body_mut()
                        .with_config()
                        .limit(256 * 1024 * 1024)
                        .read_to_string()
                        .unwrap_or_default();
                    if status == 429 || status >= 500 {
                        last = format!(
                            "HTTP {status}: {}",
                            text.chars().take(300).collect::<String>()
                        );
                    } else {
                        return Ok((status, text));
                    }
                }
                Err(e) => last = e.to_string(),
            }
            if attempt < attempts {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
        Err(ClientError::Unavailable {
            url,
            attempts,
            message: last,
        })
    }

    /// Submits findings in batches of [`BATCH`]. Findings without an id get their stable id.
    pub fn submit(&self, findings: &[Finding]) -> Result<SubmitOutcome, ClientError> {
        let mut total = SubmitOutcome::default();
        let with_ids: Vec<Finding> = findings
            .iter()
            .map(|f| {
                let mut f = f.clone();
                if f.id.is_empty() {
                    f.assign_id();
                }
                f
            })
            .collect();
        for chunk in with_ids.chunks(BATCH) {
            let body = serde_json::to_vec(&FindingsBody { findings: chunk }).map_err(|e| {
                ClientError::Protocol {
                    url: self.base.clone(),
                    message: e.to_string(),
                }
            })?;
            let (status, text) = self.request("POST", "/api/v1/ingest/findings", Some(&body))?;
            let got = self.outcome(status, &text, chunk.len())?;
            total.accepted += got.accepted;
            total.duplicates += got.duplicates;
        }
        Ok(total)
    }

    fn outcome(&self, status: u16, text: &str, sent: usize) -> Result<SubmitOutcome, ClientError> {
        match status {
            200..=202 => serde_json::from_str(text).map_err(|e| ClientError::Protocol {
                url: self.base.clone(),
                message: format!("{e}: {}", text.chars().take(200).collect::<String>()),
            }),
            // Every finding of the batch was already stored: delivered earlier.
            409 => Ok(SubmitOutcome {
                accepted: 0,
                duplicates: sent,
            }),
            _ => Err(ClientError::Rejected {
                url: self.base.clone(),
                status,
                message: text.chars().take(500).collect(),
            }),
        }
    }

    /// Sends one heartbeat with the host's inventory.
    pub fn heartbeat(&self, hb: &Heartbeat) -> Result<(), ClientError> {
        let body = serde_json::to_vec(hb).map_err(|e| ClientError::Protocol {
            url: self.base.clone(),
            message: e.to_string(),
        })?;
        let (status, text) = self.request("POST", "/api/v1/ingest/heartbeat", Some(&body))?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(ClientError::Rejected {
                url: self.base.clone(),
                status,
                message: text.chars().take(500).collect(),
            })
        }
    }

    /// GET returning JSON; non-2xx becomes [`ClientError::Rejected`].
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let (status, text) = self.request("GET", path, None)?;
        self.json_or_error(status, &text)
    }

    /// Sends JSON with a method (POST, PATCH, PUT) and returns the JSON answer.
    pub fn send_json(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ClientError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let (status, text) = self.request(method, path, Some(&bytes))?;
        self.json_or_error(status, &text)
    }

    /// GET returning the raw body.
    pub fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (status, text) = self.request("GET", path, None)?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(ClientError::Rejected {
                url: format!("{}{}", self.base, path),
                status,
                message: text.chars().take(500).collect(),
            })
        }
    }

    fn json_or_error(&self, status: u16, text: &str) -> Result<serde_json::Value, ClientError> {
        if !(200..300).contains(&status) {
            return Err(ClientError::Rejected {
                url: self.base.clone(),
                status,
                message: text.chars().take(500).collect(),
            });
        }
        serde_json::from_str(text).map_err(|e| ClientError::Protocol {
            url: self.base.clone(),
            message: e.to_string(),
        })
    }
}

/// Submits findings to `url` with `token` (retrying transient failures).
pub fn submit_findings(
    url: &str,
    token: &str,
    findings: &[Finding],
) -> Result<SubmitOutcome, ClientError> {
    Client::new(url, token)?.submit(findings)
}
