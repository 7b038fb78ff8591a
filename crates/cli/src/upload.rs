//! `--server URL --token T [--spool DIR]` for `analyze`, `scan`, `sensor` and `flows`: findings
//! are also submitted to a minetrace server (long-running inputs stream them in batches).
//! Checked before the work starts, so a typo fails in a second rather than after an hour of
//! analysis.

use anyhow::{bail, Context as _};
use minetrace_client::{Client, Spool, SubmitOutcome};
use minetrace_core::Finding;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct UploadArgs {
    /// Also submit the findings to this minetrace server (URL/api/v1/ingest/findings).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The source's token from `minetrace token create` (default: the MINETRACE_TOKEN environment
    /// variable, which keeps it out of the process list).
    #[arg(long, value_name = "T", requires = "server")]
    pub token: Option<String>,
    /// Keep findings here while the server is unreachable; they are sent first once it answers
    /// again (on the next run, for analyze and scan; within the run, for sensor and flows).
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
    /// For long-running inputs (a live interface, a flow collector): `None` without `--server`.
    pub fn streaming(&self) -> anyhow::Result<Option<Streaming>> {
        Ok(self.uploader()?.map(|uploader| Streaming {
            uploader,
            batch: Vec::new(),
            last_send: Instant::now(),
            lost: 0,
            last_error: None,
        }))
    }

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
        if spool.has_pending().with_context(context)? {
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

/// Findings go to the server in batches of at most this many...
const UPLOAD_BATCH: usize = 500;
/// ...at least this often while any wait.
const UPLOAD_EVERY: Duration = Duration::from_secs(1);
/// A failure to submit that repeats is reported again only after this long.
const UPLOAD_ERROR_EVERY: Duration = Duration::from_secs(60);

/// Streams the sensor's findings to the server as they are made: batched, spooled while the
/// server is unreachable (with `--spool`), and never stopping the capture when it fails.
pub struct Streaming {
    uploader: Uploader,
    batch: Vec<minetrace_core::Finding>,
    last_send: Instant,
    /// Findings the server did not get (a failure without a spool to keep them).
    pub lost: usize,
    last_error: Option<(String, Instant)>,
}

impl Streaming {
    pub fn push(&mut self, f: &minetrace_core::Finding) {
        self.batch.push(f.clone());
    }

    /// Sends what waits when a batch is full or a second has passed (always when `force`).
    pub fn send_due(&mut self, force: bool) {
        if self.batch.is_empty() {
            return;
        }
        if !force && self.batch.len() < UPLOAD_BATCH && self.last_send.elapsed() < UPLOAD_EVERY {
            return;
        }
        self.last_send = Instant::now();
        let batch = std::mem::take(&mut self.batch);
        if let Err(e) = self.uploader.send(&batch) {
            self.lost += batch.len();
            let message = format!("{e:#}");
            let repeat = self
                .last_error
                .as_ref()
                .is_some_and(|(m, at)| *m == message && at.elapsed() < UPLOAD_ERROR_EVERY);
            if !repeat {
                eprintln!("minetrace: error: {message} (the work goes on; findings are still written here)");
                self.last_error = Some((message, Instant::now()));
            }
        }
    }

    /// Sends what is left and says on stderr what the server took and what it did not get.
    pub fn finish(&mut self) {
        self.send_due(true);
        eprintln!("minetrace: {}", self.uploader.summary());
        if self.lost > 0 {
            eprintln!(
                "minetrace: {} finding(s) did not reach the server (use --spool DIR to keep them while it is down)",
                self.lost
            );
        }
    }
}
