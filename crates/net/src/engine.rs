//! Analysis of one capture file: read -> decode -> flow table -> detectors -> findings.
//! Single-threaded by default; with `threads > 1` the reading thread decodes each packet, hashes
//! its flow and either analyses it itself or hands it to one of `threads - 1` workers, each with
//! its own flow table (flow-hash sharding: both directions of a flow land on the same thread).

use crate::capture::{CaptureError, CaptureReader, LinkType};
use crate::decode::{decode, Skip};
use crate::table::{FlowKey, FlowTable, TableLimits, TableStats};
use minetrace_core::{Finding, Timestamp};
use minetrace_detect::dns::DNS_PORT;
use minetrace_detect::endpoint::{ConnectionAttempt, ProvenPools};
use minetrace_detect::{Context, Detector};
use minetrace_intel::Intel;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub limits: TableLimits,
    /// Worker threads (1: everything on the calling thread).
    pub threads: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            limits: TableLimits::default(),
            threads: 1,
        }
    }
}

/// What happened while reading one file.
#[derive(Debug, Default)]
pub struct FileReport {
    pub path: PathBuf,
    pub packets: u64,
    pub bytes: u64,
    pub decoded: u64,
    /// Packets not decoded to TCP/UDP, by reason.
    pub skipped: BTreeMap<String, u64>,
    pub flows: u64,
    pub evicted: u64,
    pub findings: u64,
    /// The error that stopped reading (the packets before it were analysed).
    pub error: Option<CaptureError>,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

impl FileReport {
    fn skip(&mut self, why: Skip) {
        let key = match why {
            Skip::UnsupportedLink(t) => format!("unsupported link type {t}"),
            Skip::NotIp => "not IP".into(),
            Skip::Fragment => "IP fragment".into(),
            Skip::OtherTransport(p) => format!("IP protocol {p}"),
            Skip::Truncated => "truncated".into(),
            Skip::Malformed => "malformed".into(),
            Skip::TunnelTooDeep => "tunnel too deep".into(),
        };
        *self.skipped.entry(key).or_insert(0) += 1;
    }

    fn add_table(&mut self, t: &TableStats) {
        self.flows += t.flows;
        self.evicted += t.evicted;
    }
}

/// The packet engine: detectors plus indicators, reusable across files.
pub struct Engine {
    detectors: Vec<Box<dyn Detector>>,
    intel: Arc<Intel>,
    options: EngineOptions,
}

impl Engine {
    pub fn new(
        detectors: Vec<Box<dyn Detector>>,
        intel: Arc<Intel>,
        options: EngineOptions,
    ) -> Self {
        Engine {
            detectors,
            intel,
            options,
        }
    }

    pub fn detectors(&self) -> &[Box<dyn Detector>] {
        &self.detectors
    }

    /// Analyses one capture file. Findings go to `emit` as flows end; `progress` receives the
    /// number of bytes read so far. Never fails: a read error ends the file and is reported in
    /// [`FileReport::error`] together with everything found before it.
    pub fn analyze_file(
        &self,
        path: &Path,
        emit: &mut dyn FnMut(Finding),
        progress: &mut dyn FnMut(u64),
    ) -> FileReport {
        let mut report = FileReport {
            path: path.to_path_buf(),
            ..FileReport::default()
        };
        let mut reader = match CaptureReader::open(path) {
            Ok(r) => r,
            Err(e) => {
                report.error = Some(e);
                return report;
            }
        };
        let name = path.display().to_string();
        if self.options.threads <= 1 {
            self.run_single(&mut reader, &name, &mut report, emit, progress);
        } else {
            self.run_sharded(&mut reader, &name, &mut report, emit, progress);
        }
        report
    }

    fn run_single<R: std::io::Read>(
        &self,
        reader: &mut CaptureReader<R>,
        name: &str,
        report: &mut FileReport,
        emit: &mut dyn FnMut(Finding),
        progress: &mut dyn FnMut(u64),
    ) {
        let mut ctx = Context::new(self.intel.clone(), "capture", name);
        let mut table = FlowTable::new(&self.detectors, self.options.limits.clone());
        table.collect_attempts();
        let mut findings = 0u64;
        let mut proven = ProvenPools::default();
        let mut sink = |f: Finding| {
            proven.observe(&f);
            findings += 1;
            emit(f)
        };
        loop {
            let pkt = match reader.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    report.error = Some(e);
                    break;
                }
            };
            report.packets += 1;
            report.bytes += pkt.data.len() as u64;
            report.first_ts.get_or_insert(pkt.ts);
            report.last_ts = Some(pkt.ts);
            match decode(pkt.link, pkt.data) {
                Ok(d) => {
                    report.decoded += 1;
                    table.packet(pkt.ts, pkt.number, &d, &mut ctx, &mut sink);
                }
                Err(why) => report.skip(why),
            }
            if report.packets.is_multiple_of(4096) {
                progress(reader.position());
            }
        }
        table.finish(&mut ctx, &mut sink);
        let attempts = table.take_attempts();
        for f in attempts_to_proven_pools(attempts, &proven, &ctx) {
            findings += 1;
            emit(f);
        }
        progress(reader.position());
        report.add_table(&table.stats);
        report.findings = findings;
    }

    fn run_sharded<R: std::io::Read>(
        &self,
        reader: &mut CaptureReader<R>,
        name: &str,
        report: &mut FileReport,
        emit: &mut dyn FnMut(Finding),
        progress: &mut dyn FnMut(u64),
    ) {
        // The reading thread is also a shard: with N threads, N - 1 workers each take
        // `WORKER_BUCKETS` of the flow-hash buckets and the reader, which also reads, decodes and
        // hands over every packet, analyses the one bucket left inline (no copy, no hand-over).
        // Both directions of a flow land in the same bucket.
        let workers = self.options.threads.saturating_sub(1).max(1);
        let buckets = (WORKER_BUCKETS * workers + 1) as u64;
        // One DNS table shared by all shards: answers seen by one inform connections on another.
        let base_ctx = Context::new(self.intel.clone(), "capture", name);
        let dns = base_ctx.dns.clone();
        let mut own_ctx = Context::new(self.intel.clone(), "capture", name);
        own_ctx.dns = dns.clone();
        let mut own_table = FlowTable::new(&self.detectors, self.options.limits.clone());
        own_table.collect_attempts();
        let mut own_found: Vec<Finding> = Vec::new();
        std::thread::scope(|scope| {
            let (found_tx, found_rx) =
                mpsc::channel::<(Vec<Finding>, TableStats, Vec<ConnectionAttempt>)>();
            // Workers hand emptied batches back, so arenas are allocated once, not per batch.
            let (spare_tx, spare_rx) = mpsc::channel::<Batch>();
            let mut senders = Vec::with_capacity(workers);
            for _ in 0..workers {
                let (tx, rx) = mpsc::sync_channel::<Batch>(BATCHES_QUEUED);
                senders.push(tx);
                let found_tx = found_tx.clone();
                let spare_tx = spare_tx.clone();
                let detectors = &self.detectors;
                let limits = self.options.limits.clone();
                let mut ctx = Context::new(self.intel.clone(), "capture", name);
                ctx.dns = dns.clone();
                scope.spawn(move || {
                    let mut table = FlowTable::new(detectors, limits);
                    table.collect_attempts();
                    let mut out = Vec::new();
                    for mut batch in rx {
                        for p in &batch.packets {
                            let data = &batch.arena[p.start..p.end];
                            if let Ok(d) = decode(p.link, data) {
                                table.packet(p.ts, p.number, &d, &mut ctx, &mut |f| out.push(f));
                            }
                        }
                        if !out.is_empty() {
                            let _ = found_tx.send((
                                std::mem::take(&mut out),
                                TableStats::default(),
                                Vec::new(),
                            ));
                        }
                        batch.clear();
                        let _ = spare_tx.send(batch);
                    }
                    table.finish(&mut ctx, &mut |f| out.push(f));
                    let attempts = table.take_attempts();
                    let _ = found_tx.send((out, table.stats, attempts));
                });
            }
            drop(found_tx);
            drop(spare_tx);
            let mut batches: Vec<Batch> = (0..workers).map(|_| Batch::new()).collect();
            loop {
                let pkt = match reader.next_packet() {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    Err(e) => {
                        report.error = Some(e);
                        break;
                    }
                };
                report.packets += 1;
                report.bytes += pkt.data.len() as u64;
                report.first_ts.get_or_insert(pkt.ts);
                report.last_ts = Some(pkt.ts);
                let d = match decode(pkt.link, pkt.data) {
                    Ok(d) => d,
                    Err(why) => {
                        report.skip(why);
                        continue;
                    }
                };
                report.decoded += 1;
                let key = FlowKey::new(
                    SocketAddr::new(d.src, d.sport),
                    SocketAddr::new(d.dst, d.dport),
                    d.transport,
                );
                let mut h = rustc_hash::FxHasher::default();
                key.hash(&mut h);
                // DNS flows stay on this thread: their answers are learned in capture order,
                // before any later packet is handed to a worker, so a connection never misses
                // the answer that preceded it (the workers run behind this thread).
                let dns = d.sport == DNS_PORT || d.dport == DNS_PORT;
                let bucket = if dns { 0 } else { h.finish() % buckets };
                if bucket == 0 {
                    own_table.packet(pkt.ts, pkt.number, &d, &mut own_ctx, &mut |f| {
                        own_found.push(f)
                    });
                } else {
                    let worker = ((bucket - 1) / WORKER_BUCKETS as u64) as usize;
                    let b = &mut batches[worker];
                    b.push(pkt.ts, pkt.number, pkt.link, pkt.data);
                    if b.packets.len() >= BATCH_PACKETS || b.arena.len() >= BATCH_BYTES {
                        let spare = spare_rx.try_recv().unwrap_or_else(|_| Batch::new());
                        let full = std::mem::replace(b, spare);
                        if senders[worker].send(full).is_err() {
                            break;
                        }
                    }
                }
                if report.packets.is_multiple_of(4096) {
                    progress(reader.position());
                }
            }
            for (worker, b) in batches.into_iter().enumerate() {
                if !b.packets.is_empty() {
                    let _ = senders[worker].send(b);
                }
            }
            drop(senders);
            own_table.finish(&mut own_ctx, &mut |f| own_found.push(f));
            report.add_table(&own_table.stats);
            progress(reader.position());
            let mut all = std::mem::take(&mut own_found);
            let mut attempts = own_table.take_attempts();
            for (found, stats, more) in found_rx {
                all.extend(found);
                report.add_table(&stats);
                attempts.extend(more);
            }
            let mut proven = ProvenPools::default();
            for f in &all {
                proven.observe(f);
            }
            let extra = attempts_to_proven_pools(attempts, &proven, &own_ctx);
            all.extend(extra);
            // Deterministic order whatever the scheduling.
            all.sort_by(|a, b| {
                (a.source.packet, &a.detector, &a.id).cmp(&(b.source.packet, &b.detector, &b.id))
            });
            report.findings = all.len() as u64;
            for f in all {
                emit(f);
            }
        });
    }
}

/// Findings for the payload-less connections whose server the input proved a pool (sorted by
/// first packet, so threads and one thread agree).
fn attempts_to_proven_pools(
    attempts: Vec<ConnectionAttempt>,
    proven: &ProvenPools,
    ctx: &Context,
) -> Vec<Finding> {
    crate::table::proven_attempt_findings(attempts, proven, ctx)
        .into_iter()
        .map(|(_, f)| f)
        .collect()
}

/// Flow-hash buckets per worker thread for each one the reading thread analyses itself: the
/// reading thread also reads, decodes and copies every packet, which costs about as much as
/// analysing a third of the traffic (measured on the benchmark capture, docs/benchmarks.md).
const WORKER_BUCKETS: usize = 3;
/// A batch is handed to its worker at this many packets or bytes.
const BATCH_PACKETS: usize = 512;
const BATCH_BYTES: usize = 512 * 1024;
/// Batches queued per worker before the reading thread waits (at most about 24 MiB each). A
/// capture often holds one heavy session after another, and a session stays on one thread: a
/// deeper queue lets the other thread work ahead instead of waiting (CPUs used on the benchmark
/// capture: 1.4 with 8 batches, 1.5 with 32, 1.65 with 128).
const BATCHES_QUEUED: usize = 32;

/// Packets for one shard, copied into one arena.
#[derive(Default)]
struct Batch {
    arena: Vec<u8>,
    packets: Vec<BatchPacket>,
}

struct BatchPacket {
    ts: Timestamp,
    number: u64,
    link: LinkType,
    start: usize,
    end: usize,
}

impl Batch {
    /// Room for a full batch plus the largest record, so pushing never reallocates.
    fn new() -> Self {
        Batch {
            arena: Vec::with_capacity(BATCH_BYTES + crate::capture::MAX_SNAPLEN),
            packets: Vec::with_capacity(BATCH_PACKETS),
        }
    }

    fn clear(&mut self) {
        self.arena.clear();
        self.packets.clear();
    }

    fn push(&mut self, ts: Timestamp, number: u64, link: LinkType, data: &[u8]) {
        let start = self.arena.len();
        self.arena.extend_from_slice(data);
        self.packets.push(BatchPacket {
            ts,
            number,
            link,
            start,
            end: self.arena.len(),
        });
    }
}
