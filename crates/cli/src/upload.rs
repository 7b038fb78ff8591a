//! `--server URL --token T [--spool DIR]` for `analyze` and `scan`: findings are also submitted
//! to a minetrace server. Checked before the work starts, so a typo fails in a second rather than
//! after an hour of analysis.

use anyhow::{bail, Context as _};
use minetrace_client::{Client, Spool, SubmitOutcome};
use minetrace_core::Finding;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct UploadArgs {
    /// Also submit the findings to this minetrace server (URL/api/v1/ingest/findings).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The source's token from `minetrace token create` (default: the MINETRACE_TOKEN environment
    /// variable, which keeps it out of the process list).
    #[arg(long, value_name = "T", requires = "server")]
    pub token: Option<String>,
    /// Keep findings here while the server is unreachable; they are sent first on the next run.
    #[arg(long, value_name = "DIR", requires = "server")]
    pub spool: Option<PathBuf>,
}

/// A checked connection to the server, with an optional spool.
pub struct Uploader {
    client: Client,
    spool: Option<Spool>,
    /// What was sent so far, for the closing line.
    pub sent: SubmitOutcome,
    pub spooled: usize,
    /// Findings sent from the spool (left there by an earlier run).
    pub drained: usize,
}

impl UploadArgs {
    /// `None` without `--server`; an error names the flag at fault.
    pub fn uploader(&self) -> anyhow::Result<Option<Uploader>> {
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let token = self
            .token
            .clone()
            .or_else(|| std::env::var("MINETRACE_TOKEN").ok())
            .unwrap_or_default();
        if token.is_empty() {
            bail!("--server needs --token T (or the MINETRACE_TOKEN environment variable)");
        }
        let client = Client::new(server, &token).with_context(|| format!("--server {server}"))?;
        let spool = match &self.spool {
            Some(dir) => {
                Some(Spool::open(dir).with_context(|| format!("--spool {}", dir.display()))?)
            }
            None => None,
        };
        Ok(Some(Uploader {
            client,
            spool,
            sent: SubmitOutcome::default(),
            spooled: 0,
            drained: 0,
        }))
    }
}

impl Uploader {
    /// Submits findings (with retries); with a spool, what waits there goes first, and an
    /// unreachable server spools the findings instead.
    pub fn send(&mut self, findings: &[Finding]) -> anyhow::Result<()> {
        let base = self.client.base_url().to_string();
        let context = || format!("submitting findings to {base}");
        let Some(spool) = &self.spool else {
            let o = self.client.submit(findings).with_context(context)?;
            self.add(o);
            return Ok(());
        };
        if spool.pending().with_context(context)? > 0 {
            match spool.drain(&self.client) {
                Ok(d) => self.drained += d.accepted + d.duplicates,
                Err(e) if e.is_transient() => {
                    spool.push(findings).with_context(context)?;
                    self.spooled += findings.len();
                    return Ok(());
                }
                Err(e) => return Err(e).with_context(context),
            }
        }
        match self.client.submit(findings) {
            Ok(o) => self.add(o),
            Err(e) if e.is_transient() => {
                spool.push(findings).with_context(context)?;
                self.spooled += findings.len();
            }
            Err(e) => return Err(e).with_context(context),
        }
        Ok(())
    }

    fn add(&mut self, o: SubmitOutcome) {
        self.sent.accepted += o.accepted;
        self.sent.duplicates += o.duplicates;
    }

    /// One line for stderr: what the server took.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "submitted to {}: {} new finding(s), {} already stored",
            self.client.base_url(),
            self.sent.accepted,
            self.sent.duplicates
        );
        if self.drained > 0 {
            s.push_str(&format!("; {} sent from the spool", self.drained));
        }
        if self.spooled > 0 {
            s.push_str(&format!(
                "; {} spooled (server unreachable; sent on the next run)",
                self.spooled
            ));
        }
        s
    }
}
