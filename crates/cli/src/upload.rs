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
        Ok(self.uploader()?.map(|u| Streaming::start(u, false)))
    }

    /// For files read faster than the server stores: the reader waits for the upload thread
    /// when the queue is full instead of counting findings as not delivered.
    pub fn streaming_with_backpressure(&self) -> anyhow::Result<Option<Streaming>> {
        Ok(self.uploader()?.map(|u| Streaming::start(u, true)))
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
/// Most findings waiting for the upload thread (a server that answers slowly or not at all must
/// not grow the sensor's memory); beyond it findings are counted as not delivered.
const UPLOAD_QUEUE: usize = 100_000;

/// Streams the findings of a long-running source (sensor, flow collector) to the server as they
/// are made, from a thread of its own: a slow or unreachable server (each submission may retry
/// for minutes) never holds up the capture or the local output. Batched, spooled while the
/// server is unreachable (with `--spool`).
pub struct Streaming {
    queue: Option<std::sync::mpsc::SyncSender<minetrace_core::Finding>>,
    /// Wait when the queue is full (files) rather than count the finding as not delivered
    /// (live sources, which must not stall).
    wait_when_full: bool,
    thread: Option<std::thread::JoinHandle<(Uploader, usize)>>,
    /// Findings the server did not get (a failure without a spool to keep them, or a full queue).
    pub lost: usize,
}

impl Streaming {
    fn start(uploader: Uploader, wait_when_full: bool) -> Streaming {
        let (tx, rx) = std::sync::mpsc::sync_channel(UPLOAD_QUEUE);
        let thread = std::thread::spawn(move || upload_loop(uploader, rx));
        Streaming {
            queue: Some(tx),
            wait_when_full,
            thread: Some(thread),
            lost: 0,
        }
    }

    /// Hands a finding to the upload thread (a live source never waits; see
    /// [`UploadArgs::streaming_with_backpressure`]).
    pub fn push(&mut self, f: &minetrace_core::Finding) {
        let sent = self.queue.as_ref().is_some_and(|q| {
            if self.wait_when_full {
                q.send(f.clone()).is_ok()
            } else {
                q.try_send(f.clone()).is_ok()
            }
        });
        if !sent {
            self.lost += 1;
        }
    }

    /// Sends what is left, waits for the upload thread, and says on stderr what the server took
    /// and what it did not get.
    pub fn finish(&mut self) {
        self.queue = None;
        let Some(thread) = self.thread.take() else {
            return;
        };
        match thread.join() {
            Ok((uploader, lost)) => {
                self.lost += lost;
                eprintln!("minetrace: {}", uploader.summary());
            }
            Err(_) => eprintln!("minetrace: error: the upload thread failed"),
        }
        if self.lost > 0 {
            eprintln!(
                "minetrace: {} finding(s) did not reach the server (use --spool DIR to keep them while it is down)",
                self.lost
            );
        }
    }
}

/// The upload thread: batches of at most [`UPLOAD_BATCH`], sent at least every
/// [`UPLOAD_EVERY`], until the queue closes; returns the uploader and the findings not delivered.
fn upload_loop(
    mut uploader: Uploader,
    queue: std::sync::mpsc::Receiver<minetrace_core::Finding>,
) -> (Uploader, usize) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut batch = Vec::new();
    let mut lost = 0;
    let mut last_error: Option<(String, Instant)> = None;
    let mut due = Instant::now() + UPLOAD_EVERY;
    let mut open = true;
    while open || !batch.is_empty() {
        if open {
            match queue.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(f) => {
                    batch.push(f);
                    if batch.len() < UPLOAD_BATCH {
                        continue;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }
        due = Instant::now() + UPLOAD_EVERY;
        if batch.is_empty() {
            continue;
        }
        let sending = std::mem::take(&mut batch);
        if let Err(e) = uploader.send(&sending) {
            lost += sending.len();
            let message = format!("{e:#}");
            let repeat = last_error
                .as_ref()
                .is_some_and(|(m, at)| *m == message && at.elapsed() < UPLOAD_ERROR_EVERY);
            if !repeat {
                eprintln!("minetrace: error: {message} (the work goes on; findings are still written here)");
                last_error = Some((message, Instant::now()));
            }
        }
    }
    (uploader, lost)
}
