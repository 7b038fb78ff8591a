//! The live sensor: packets from a Linux interface through an AF_PACKET TPACKET_V3 ring (one
//! socket per worker thread, balanced by PACKET_FANOUT on the flow hash), the same decoder, flow
//! table and detectors as `minetrace analyze`, findings streamed out as they are made, and the
//! packets of each detected session kept in a bounded ring of pcaps on disk.
//!
//! ```no_run
//! use minetrace_sensor::{Sensor, SensorConfig};
//! use std::sync::{atomic::AtomicBool, Arc};
//! let config = SensorConfig { interface: "eth0".into(), ..SensorConfig::default() };
//! let stop = Arc::new(AtomicBool::new(false));
//! let sensor = Sensor::start(config, Arc::new(minetrace_intel::Intel::builtin()), stop.clone())?;
//! for finding in sensor.findings() {
//!     println!("{}", finding.to_json_line());
//! }
//! # Ok::<(), minetrace_sensor::SensorError>(())
//! ```

pub mod afpacket;
mod evidence;

use afpacket::{RingOptions, RxRing};
use minetrace_core::{Endpoint, Finding, Timestamp};
use minetrace_detect::endpoint::{ConnectionAttempt, ProvenPools};
use minetrace_detect::{Context, Detector, DnsLearned};
use minetrace_net::capture::LinkType;
use minetrace_net::decode::decode;
use minetrace_net::table::{proven_attempt_findings, FlowTable, TableLimits};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SensorError {
    #[error("opening {interface}: {source}")]
    Open {
        interface: String,
        #[source]
        source: std::io::Error,
    },
    #[error("evidence directory {path}: {source}")]
    Evidence {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct SensorConfig {
    pub interface: String,
    pub threads: usize,
    pub ring: RingOptions,
    pub limits: TableLimits,
    /// Report flows still followed after this many seconds (and again every period).
    pub checkpoint_secs: i64,
    /// Keep the packets of detected sessions as pcaps here, bounded by `evidence_max_bytes`.
    pub evidence_dir: Option<PathBuf>,
    pub evidence_max_bytes: u64,
    /// Recent packets each worker keeps in memory for evidence (bytes).
    pub recent_bytes: usize,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            interface: String::new(),
            threads: 1,
            ring: RingOptions::default(),
            limits: TableLimits::default(),
            checkpoint_secs: 300,
            evidence_dir: None,
            evidence_max_bytes: 1 << 30,
            recent_bytes: 32 << 20,
        }
    }
}

/// Counters across all workers.
#[derive(Debug, Default)]
pub struct Counters {
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    pub decoded: AtomicU64,
    pub kernel_drops: AtomicU64,
    pub findings: AtomicU64,
    pub flows: AtomicU64,
    /// Kernel timestamps (µs) of the first and last packet seen by any worker; 0 = none yet.
    pub first_packet_us: AtomicI64,
    pub last_packet_us: AtomicI64,
}

impl Counters {
    /// Seconds from the first packet to the last (the time traffic actually flowed).
    pub fn active_seconds(&self) -> f64 {
        let (first, last) = (
            self.first_packet_us.load(Ordering::Relaxed),
            self.last_packet_us.load(Ordering::Relaxed),
        );
        if first == 0 || last <= first {
            0.0
        } else {
            (last - first) as f64 / 1e6
        }
    }
}

/// A running sensor.
pub struct Sensor {
    workers: Vec<JoinHandle<()>>,
    findings: Receiver<Finding>,
    pub counters: Arc<Counters>,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Sensor {
    /// Opens one ring per worker (so failures surface before anything runs) and starts them.
    pub fn start(
        config: SensorConfig,
        intel: Arc<minetrace_intel::Intel>,
        stop: Arc<AtomicBool>,
    ) -> Result<Sensor, SensorError> {
        let threads = config.threads.max(1);
        let mut ring_opts = config.ring.clone();
        if threads > 1 {
            ring_opts.fanout_group = Some((std::process::id() & 0xffff) as u16);
        }
        let mut rings = Vec::with_capacity(threads);
        for _ in 0..threads {
            rings.push(
                RxRing::open(&config.interface, &ring_opts).map_err(|source| {
                    SensorError::Open {
                        interface: config.interface.clone(),
                        source,
                    }
                })?,
            );
        }
        let evidence = match &config.evidence_dir {
            Some(dir) => Some(Arc::new(Mutex::new(
                evidence::EvidenceRing::open(dir, config.evidence_max_bytes).map_err(|source| {
                    SensorError::Evidence {
                        path: dir.clone(),
                        source,
                    }
                })?,
            ))),
            None => None,
        };
        let detectors: Arc<Vec<Box<dyn Detector>>> = Arc::new(minetrace_detect::builtin());
        let dns = DnsLearned::default();
        let counters = Arc::new(Counters::default());
        let errors = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let proven = Arc::new(Mutex::new(ProvenPools::default()));
        let internal = Arc::new(Mutex::new(InternalPools::default()));
        let finishing = Arc::new(Barrier::new(rings.len()));
        let mut workers = Vec::new();
        for ring in rings {
            let w = Worker {
                ring,
                detectors: detectors.clone(),
                intel: intel.clone(),
                dns: dns.clone(),
                config: config.clone(),
                stop: stop.clone(),
                counters: counters.clone(),
                errors: errors.clone(),
                evidence: evidence.clone(),
                proven: proven.clone(),
                internal: internal.clone(),
                finishing: finishing.clone(),
                out: tx.clone(),
            };
            workers.push(std::thread::spawn(move || w.run()));
        }
        Ok(Sensor {
            workers,
            findings: rx,
            counters,
            errors,
        })
    }

    /// Findings as they are made; the iterator ends when every worker has stopped.
    pub fn findings(&self) -> impl Iterator<Item = Finding> + '_ {
        self.findings.iter()
    }

    /// Waits up to `timeout` for the next finding.
    pub fn recv_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Finding, mpsc::RecvTimeoutError> {
        self.findings.recv_timeout(timeout)
    }

    /// Waits for the workers (after the stop flag was set) and returns the errors they met.
    pub fn join(self) -> Vec<String> {
        for w in self.workers {
            let _ = w.join();
        }
        let errors = self.errors.lock().map(|e| e.clone()).unwrap_or_default();
        errors
    }
}

struct Worker {
    ring: RxRing,
    detectors: Arc<Vec<Box<dyn Detector>>>,
    intel: Arc<minetrace_intel::Intel>,
    dns: DnsLearned,
    config: SensorConfig,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    errors: Arc<Mutex<Vec<String>>>,
    evidence: Option<Arc<Mutex<evidence::EvidenceRing>>>,
    /// Pool addresses proven by any worker's findings (a session and an attempt to the same
    /// pool may land on different workers).
    proven: Arc<Mutex<ProvenPools>>,
    /// Sessions served by internal addresses, from every worker (an internal pool's miners land
    /// on different workers).
    internal: Arc<Mutex<InternalPools>>,
    /// Workers wait here at the end so that every worker's last findings count as proof before
    /// the remaining attempts are judged.
    finishing: Arc<Barrier>,
    out: mpsc::Sender<Finding>,
}

/// A connection attempt is judged once it has been closed this long, so that the session that
/// proves its server a pool (often the miner's next, successful connection) has been seen.
const ATTEMPT_SETTLE_SECS: i64 = 60;
/// An attempt whose server nothing proved a pool within this time is forgotten.
const ATTEMPT_FORGET_SECS: i64 = 600;
/// Most attempts a worker keeps waiting for proof (the oldest go first).
const MAX_WAITING_ATTEMPTS: usize = 65_536;

/// Payload-less TCP connections (see `minetrace_detect::endpoint`) waiting for proof that their
/// server is a pool. A capture file judges them once its whole input is read; a live sensor has
/// no end of input, so it judges each attempt once it has settled, keeps unproven ones for a
/// while, and judges whatever is left when it stops.
#[derive(Default)]
struct PendingAttempts {
    waiting: Vec<ConnectionAttempt>,
    /// Endpoint pairs already reported: a later bare end (the lone ACK after a close) of the
    /// same pair is not a connection of its own.
    reported: HashSet<(SocketAddr, SocketAddr)>,
}

fn endpoint_pair(a: &ConnectionAttempt) -> (SocketAddr, SocketAddr) {
    if a.client <= a.server {
        (a.client, a.server)
    } else {
        (a.server, a.client)
    }
}

impl PendingAttempts {
    /// Reports the settled attempts (all of them when `all`) whose server is proven a pool.
    fn judge(
        &mut self,
        table: &mut FlowTable,
        now: Timestamp,
        all: bool,
        proven: &Mutex<ProvenPools>,
        ctx: &Context,
        out: &mut Vec<Finding>,
    ) {
        self.waiting.extend(table.take_attempts());
        if self.waiting.len() > MAX_WAITING_ATTEMPTS {
            self.waiting.sort_by_key(|a| a.last_seen);
            let excess = self.waiting.len() - MAX_WAITING_ATTEMPTS;
            self.waiting.drain(..excess);
        }
        let settled = now.0 - ATTEMPT_SETTLE_SECS * 1_000_000;
        let (ripe, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|a| all || a.last_seen.0 <= settled);
        self.waiting = waiting;
        if ripe.is_empty() {
            return;
        }
        let ripe: Vec<ConnectionAttempt> = ripe
            .into_iter()
            .filter(|a| a.initiator_known || !self.reported.contains(&endpoint_pair(a)))
            .collect();
        let found = match proven.lock() {
            Ok(proven) => proven_attempt_findings(ripe.clone(), &proven, ctx),
            Err(_) => Vec::new(),
        };
        let reported: HashSet<u64> = found.iter().map(|(p, _)| *p).collect();
        let forget = now.0 - ATTEMPT_FORGET_SECS * 1_000_000;
        for a in ripe {
            if reported.contains(&a.first_packet) {
                if self.reported.len() >= MAX_WAITING_ATTEMPTS {
                    self.reported.clear();
                }
                self.reported.insert(endpoint_pair(&a));
            } else if !all && a.last_seen.0 > forget {
                self.waiting.push(a);
            }
        }
        out.extend(found.into_iter().map(|(_, f)| f));
    }
}

/// An internal pool is reported once its first session has been known this long, with the
/// sessions seen by then (a capture file is summarised at its end; a live link has no end).
const INTERNAL_POOL_SETTLE_SECS: i64 = 60;
/// Most sessions held for internal pools not yet reported (later ones are not counted).
const MAX_INTERNAL_POOL_SESSIONS: usize = 65_536;

/// Mining sessions answered by an internal address to another one
/// ([`minetrace_detect::summary::internal_pool_server`]), gathered per server until the
/// internal pool is reported: once settled, or when the sensor stops.
#[derive(Default)]
struct InternalPools {
    /// Server -> (when its first session arrived, wall clock; its sessions so far).
    waiting: HashMap<Endpoint, (Timestamp, Vec<Finding>)>,
    reported: HashSet<Endpoint>,
    held: usize,
}

impl InternalPools {
    fn observe(&mut self, f: &Finding, now: Timestamp) {
        let Some(server) = minetrace_detect::summary::internal_pool_server(f) else {
            return;
        };
        if self.held >= MAX_INTERNAL_POOL_SESSIONS || self.reported.contains(server) {
            return;
        }
        self.waiting
            .entry(server.clone())
            .or_insert_with(|| (now, Vec::new()))
            .1
            .push(f.clone());
        self.held += 1;
    }

    /// The internal pools settled as of `now` (all of them when `all`), each reported once.
    fn take_settled(&mut self, now: Timestamp, all: bool) -> Vec<Finding> {
        let settled = now.0 - INTERNAL_POOL_SETTLE_SECS * 1_000_000;
        let ripe: Vec<Endpoint> = self
            .waiting
            .iter()
            .filter(|(_, (first, _))| all || first.0 <= settled)
            .map(|(server, _)| server.clone())
            .collect();
        let mut sessions = Vec::new();
        for server in ripe {
            if let Some((_, found)) = self.waiting.remove(&server) {
                self.held -= found.len();
                sessions.extend(found);
            }
            if self.reported.len() < MAX_INTERNAL_POOL_SESSIONS {
                self.reported.insert(server);
            }
        }
        let mut pools = minetrace_detect::summary::internal_pools(&sessions);
        for f in &mut pools {
            f.assign_id();
        }
        pools
    }
}

impl Worker {
    fn run(mut self) {
        let detectors = self.detectors.clone();
        let mut table = FlowTable::new(&detectors, self.config.limits.clone());
        table.collect_attempts();
        let mut attempts = PendingAttempts::default();
        let mut ctx = Context::new(self.intel.clone(), "interface", &self.config.interface);
        ctx.dns = self.dns.clone();
        let mut recent = self
            .evidence
            .as_ref()
            .map(|_| evidence::RecentPackets::new(self.config.recent_bytes));
        let mut number = 0u64;
        let mut last_check = Timestamp::now();
        let mut found: Vec<Finding> = Vec::new();
        while !self.stop.load(Ordering::Relaxed) {
            let (mut block_first, mut block_last) = (i64::MAX, 0i64);
            let res = self.ring.next_block(100, &mut |p| {
                number += 1;
                let ts = Timestamp(i64::from(p.sec) * 1_000_000 + i64::from(p.nsec / 1000));
                block_first = block_first.min(ts.0);
                block_last = block_last.max(ts.0);
                self.counters.packets.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .bytes
                    .fetch_add(u64::from(p.wire_len), Ordering::Relaxed);
                if let Some(r) = recent.as_mut() {
                    r.push(ts, p.data);
                }
                if let Ok(d) = decode(LinkType::ETHERNET, p.data) {
                    self.counters.decoded.fetch_add(1, Ordering::Relaxed);
                    table.packet(ts, number, &d, &mut ctx, &mut |f| found.push(f));
                }
            });
            if block_last > 0 {
                // Once per block, not per packet: these are shared between workers.
                let _ = self.counters.first_packet_us.fetch_update(
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                    |cur| (cur == 0 || block_first < cur).then_some(block_first),
                );
                self.counters
                    .last_packet_us
                    .fetch_max(block_last, Ordering::Relaxed);
            }
            if let Err(e) = res {
                if let Ok(mut errs) = self.errors.lock() {
                    errs.push(format!("{}: {e}", self.config.interface));
                }
                break;
            }
            let now = Timestamp::now();
            if now.0 - last_check.0 >= 1_000_000 {
                table.tick(now, &mut ctx, &mut |f| found.push(f));
                table.checkpoint(now, self.config.checkpoint_secs, &mut ctx, &mut |f| {
                    found.push(f)
                });
                attempts.judge(&mut table, now, false, &self.proven, &ctx, &mut found);
                if let Ok(mut internal) = self.internal.lock() {
                    found.extend(internal.take_settled(now, false));
                }
                if let Ok(s) = self.ring.stats() {
                    self.counters
                        .kernel_drops
                        .fetch_add(s.drops, Ordering::Relaxed);
                }
                last_check = now;
            }
            self.flush(&mut found, recent.as_ref());
        }
        table.finish(&mut ctx, &mut |f| found.push(f));
        self.flush(&mut found, recent.as_ref());
        // Every worker's last findings are proof before the attempts left are judged, and
        // their sessions count for the internal pools the last worker reports.
        let last = self.finishing.wait().is_leader();
        attempts.judge(
            &mut table,
            Timestamp::now(),
            true,
            &self.proven,
            &ctx,
            &mut found,
        );
        if last {
            if let Ok(mut internal) = self.internal.lock() {
                found.extend(internal.take_settled(Timestamp::now(), true));
            }
        }
        self.flush(&mut found, recent.as_ref());
        self.counters
            .flows
            .fetch_add(table.stats.flows, Ordering::Relaxed);
    }

    fn flush(&self, found: &mut Vec<Finding>, recent: Option<&evidence::RecentPackets>) {
        // Called after every ring block: the lock shared by the workers is taken only when
        // there is something to observe.
        if !found.is_empty() {
            if let Ok(mut proven) = self.proven.lock() {
                for f in found.iter() {
                    proven.observe(f);
                }
            }
            if let Ok(mut internal) = self.internal.lock() {
                let now = Timestamp::now();
                for f in found.iter() {
                    internal.observe(f, now);
                }
            }
        }
        for f in found.drain(..) {
            self.counters.findings.fetch_add(1, Ordering::Relaxed);
            if let (Some(ring), Some(recent)) = (&self.evidence, recent) {
                if let Ok(mut ring) = ring.lock() {
                    if let Err(e) = ring.write_session(&f, recent) {
                        if let Ok(mut errs) = self.errors.lock() {
                            errs.push(format!("evidence for {}: {e}", f.id));
                        }
                    }
                }
            }
            if self.out.send(f).is_err() {
                self.stop.store(true, Ordering::Relaxed);
            }
        }
    }
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM set a flag that [`signalled`] reads, so the sensor can finish its
/// flows and write its findings before exiting.
pub fn stop_on_signals() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

/// Whether SIGINT or SIGTERM arrived since [`stop_on_signals`].
pub fn signalled() -> bool {
    SIGNALLED.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minetrace_core::{Confidence, Dialect, FindingKind};

    const S: i64 = 1_000_000;

    fn attempt(server: &str, first_packet: u64, last_seen: i64) -> ConnectionAttempt {
        ConnectionAttempt {
            client: "192.168.1.20:50000".parse().unwrap(),
            server: server.parse().unwrap(),
            initiator_known: true,
            first_seen: Timestamp(last_seen - S),
            last_seen: Timestamp(last_seen),
            first_packet,
            client_packets: 3,
            server_packets: 0,
            handshake: false,
            reset: false,
        }
    }

    fn session_to(server: &str, at: i64) -> Finding {
        let mut f = Finding::new("stratum", FindingKind::Network, Timestamp(at));
        f.dialect = Some(Dialect::StratumV1);
        f.confidence = Confidence::High;
        f.client = Some("192.168.1.20:50001".parse::<SocketAddr>().unwrap().into());
        f.server = Some(server.parse::<SocketAddr>().unwrap().into());
        f
    }

    #[test]
    fn attempts_are_judged_once_settled_and_proven_and_forgotten_when_never_proven() {
        let detectors = minetrace_detect::builtin();
        let mut table = FlowTable::new(&detectors, TableLimits::default());
        table.collect_attempts();
        let ctx = Context::new(
            Arc::new(minetrace_intel::Intel::builtin()),
            "interface",
            "eth0",
        );
        let proven = Mutex::new(ProvenPools::default());
        let now = 10_000 * S;
        let mut pending = PendingAttempts {
            waiting: vec![
                attempt("203.0.113.5:3333", 1, now - 120 * S), // settled, proven below
                attempt("203.0.113.5:3333", 2, now - 10 * S),  // not settled yet
                attempt("198.51.100.7:3333", 3, now - 700 * S), // never proven, past forgetting
                attempt("198.51.100.8:3333", 4, now - 120 * S), // not proven yet, kept
            ],
            ..PendingAttempts::default()
        };
        let mut out = Vec::new();

        // Nothing proves a pool yet: no finding; what may still be proven waits.
        pending.judge(&mut table, Timestamp(now), false, &proven, &ctx, &mut out);
        assert!(out.is_empty());
        let mut waiting: Vec<u64> = pending.waiting.iter().map(|a| a.first_packet).collect();
        waiting.sort();
        assert_eq!(
            waiting,
            [1, 2, 4],
            "the attempt nothing proved for 10 minutes is forgotten"
        );

        // A session proves 203.0.113.5 a pool: the settled attempt to it is reported.
        proven
            .lock()
            .unwrap()
            .observe(&session_to("203.0.113.5:3333", now));
        pending.judge(&mut table, Timestamp(now), false, &proven, &ctx, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].source.packet, Some(1));
        assert_eq!(out[0].confidence, Confidence::Low);
        assert_eq!(out[0].evidence.extra["connection_attempt"], true);
        assert!(!out[0].id.is_empty());

        // Stopping judges the rest: the unsettled one to the proven pool is reported, the
        // unproven one is dropped.
        out.clear();
        pending.judge(&mut table, Timestamp(now), true, &proven, &ctx, &mut out);
        assert_eq!(
            out.iter().map(|f| f.source.packet).collect::<Vec<_>>(),
            [Some(2)]
        );
        assert!(pending.waiting.is_empty());
    }
    #[test]
    fn internal_pools_are_reported_once_settled_or_at_stop() {
        let session = |client: &str, server: &str| {
            let mut f = session_to(server, 5 * S);
            f.client = Some(client.parse::<SocketAddr>().unwrap().into());
            f.source.kind = "interface".into();
            f.source.name = "eth0".into();
            f
        };
        let mut pools = InternalPools::default();
        let t = 10_000 * S;
        pools.observe(&session("10.0.7.21:40000", "10.0.5.4:3333"), Timestamp(t));
        pools.observe(
            &session("10.0.7.22:40000", "10.0.5.4:3333"),
            Timestamp(t + S),
        );
        // A public pool and a session to itself are no internal pool.
        pools.observe(
            &session("10.0.7.23:40000", "203.0.113.5:3333"),
            Timestamp(t),
        );
        pools.observe(&session("10.0.5.9:40000", "10.0.5.9:3333"), Timestamp(t));
        pools.observe(
            &session("10.0.7.24:40000", "10.0.5.8:3333"),
            Timestamp(t + 30 * S),
        );
        assert!(pools.take_settled(Timestamp(t + 59 * S), false).is_empty());

        let settled = pools.take_settled(Timestamp(t + 60 * S), false);
        assert_eq!(settled.len(), 1, "{settled:#?}");
        let pool = &settled[0];
        assert_eq!(pool.detector, "internal-pool");
        assert_eq!(
            pool.server,
            Some("10.0.5.4:3333".parse::<SocketAddr>().unwrap().into())
        );
        assert_eq!(pool.source.kind, "interface");
        assert_eq!(
            pool.evidence.extra["clients"].as_array().map(Vec::len),
            Some(2)
        );
        assert!(!pool.id.is_empty());

        // Reported once: later sessions to it are not held; the other pool is reported at stop.
        pools.observe(
            &session("10.0.7.25:40000", "10.0.5.4:3333"),
            Timestamp(t + 61 * S),
        );
        let rest = pools.take_settled(Timestamp(t + 62 * S), true);
        assert_eq!(rest.len(), 1);
        assert_eq!(
            rest[0].server,
            Some("10.0.5.8:3333".parse::<SocketAddr>().unwrap().into())
        );
        assert_eq!(pools.held, 0);
        assert!(pools.take_settled(Timestamp(t + 63 * S), true).is_empty());
    }
}
