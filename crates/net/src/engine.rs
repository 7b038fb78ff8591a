//! Analysis of one capture file: read -> decode -> flow table -> detectors -> findings.
//! Single-threaded by default; with `threads > 1` every thread reads and decodes the whole file
//! and analyses the flows whose hash falls to it, in a flow table of its own (flow-hash
//! sharding: both directions of a flow land on the same thread).

use crate::capture::{CaptureError, CaptureReader};
use crate::decode::{decode, Skip};
use crate::table::{FlowTable, TableLimits, TableStats};
use minetrace_core::{Finding, Timestamp};
use minetrace_detect::dns::DNS_PORT;
use minetrace_detect::endpoint::{ConnectionAttempt, ProvenPools};
use minetrace_detect::{Context, Detector};
use minetrace_intel::Intel;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
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
    /// Adds `n` packets skipped for `why` (counted by reason while reading: naming the reason
    /// once per packet cost a string each).
    fn count_skipped(&mut self, why: Skip, n: u64) {
        let key = match why {
            Skip::UnsupportedLink(t) => format!("unsupported link type {t}"),
            Skip::NotIp => "not IP".into(),
            Skip::Fragment => "IP fragment".into(),
            Skip::OtherTransport(p) => format!("IP protocol {p}"),
            Skip::Truncated => "truncated".into(),
            Skip::Malformed => "malformed".into(),
            Skip::TunnelTooDeep => "tunnel too deep".into(),
        };
        *self.skipped.entry(key).or_insert(0) += n;
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
            self.run_sharded(&mut reader, path, &name, &mut report, emit, progress);
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
        let mut proven = ProvenPools::default();
        let mut findings = 0u64;
        let shard = self.run_shard(reader, 0, 1, name, progress, &mut |found| {
            for f in found {
                proven.observe(&f);
                findings += 1;
                emit(f);
            }
        });
        end_file(vec![shard], &proven, findings, report, emit);
    }

    /// Flow-hash sharding without a hand-over: each of N threads reads and decodes the whole
    /// file itself (the calling thread with `reader`, the others with readers of their own) and
    /// analyses the flows whose hash falls to it. Copying packets from one reading thread to
    /// the others cost as much as the analysis it spread (docs/benchmarks.md); reading the file
    /// twice from the page cache costs less, and no thread ever waits for another. Findings go
    /// to `emit` as the shards find them: their order depends on the scheduling.
    fn run_sharded<R: std::io::Read>(
        &self,
        reader: &mut CaptureReader<R>,
        path: &Path,
        name: &str,
        report: &mut FileReport,
        emit: &mut dyn FnMut(Finding),
        progress: &mut dyn FnMut(u64),
    ) {
        // A pipe or device can be read once only: one thread reads it all.
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            return self.run_single(reader, name, report, emit, progress);
        }
        let shards = self.options.threads.max(2);
        let mut readers = Vec::with_capacity(shards - 1);
        for _ in 1..shards {
            match CaptureReader::open(path) {
                Ok(r) => readers.push(r),
                // Opened once already: if it cannot be opened again, one thread reads it all.
                Err(_) => return self.run_single(reader, name, report, emit, progress),
            }
        }
        let mut proven = ProvenPools::default();
        let mut findings = 0u64;
        let mut pass_on = |f: Finding| {
            proven.observe(&f);
            findings += 1;
            emit(f)
        };
        let results = std::thread::scope(|scope| {
            let (found_tx, found_rx) = mpsc::channel::<Vec<Finding>>();
            let handles: Vec<_> = readers
                .into_iter()
                .enumerate()
                .map(|(i, mut r)| {
                    let found_tx = found_tx.clone();
                    scope.spawn(move || {
                        self.run_shard(&mut r, i + 1, shards, name, &mut |_| {}, &mut |found| {
                            let _ = found_tx.send(found);
                        })
                    })
                })
                .collect();
            drop(found_tx);
            // The calling thread passes on the other shards' findings as it goes.
            let mut deliver = |found: Vec<Finding>| {
                found.into_iter().for_each(&mut pass_on);
                while let Ok(more) = found_rx.try_recv() {
                    more.into_iter().for_each(&mut pass_on);
                }
            };
            let mut results = vec![self.run_shard(reader, 0, shards, name, progress, &mut deliver)];
            for more in found_rx {
                more.into_iter().for_each(&mut pass_on);
            }
            for h in handles {
                match h.join() {
                    Ok(r) => results.push(r),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            results
        });
        end_file(results, &proven, findings, report, emit);
    }

    /// One shard's pass over the whole file (with `shards` = 1, the whole analysis): the flows
    /// that [`shard_of`] puts in `shard`, and every DNS flow in shard 0. The other shards also
    /// run DNS flows through a table of their own whose findings are dropped: they learn the
    /// answers in capture order, so a connection never misses the answer that preceded it.
    /// Findings go to `deliver` in batches, at least every 4,096 packets.
    fn run_shard<R: std::io::Read>(
        &self,
        reader: &mut CaptureReader<R>,
        shard: usize,
        shards: usize,
        name: &str,
        progress: &mut dyn FnMut(u64),
        deliver: &mut dyn FnMut(Vec<Finding>),
    ) -> Shard {
        let mut ctx = Context::new(self.intel.clone(), "capture", name);
        let mut table = FlowTable::new(&self.detectors, self.options.limits.clone());
        table.collect_attempts();
        let mut dns_learning =
            (shard != 0).then(|| FlowTable::new(&self.detectors, self.options.limits.clone()));
        let mut report = FileReport::default();
        let mut skips: FxHashMap<Skip, u64> = FxHashMap::default();
        let mut found = Vec::new();
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
                    *skips.entry(why).or_insert(0) += 1;
                    continue;
                }
            };
            report.decoded += 1;
            if d.sport == DNS_PORT || d.dport == DNS_PORT {
                match &mut dns_learning {
                    Some(t) => t.packet(pkt.ts, pkt.number, &d, &mut ctx, &mut |_| {}),
                    None => table.packet(pkt.ts, pkt.number, &d, &mut ctx, &mut |f| found.push(f)),
                }
            } else if shards == 1 || shard_of(&d, shards) == shard {
                table.packet(pkt.ts, pkt.number, &d, &mut ctx, &mut |f| found.push(f));
            }
            if report.packets.is_multiple_of(4096) {
                progress(reader.position());
                if !found.is_empty() {
                    deliver(std::mem::take(&mut found));
                }
            }
        }
        for (why, n) in skips {
            report.count_skipped(why, n);
        }
        table.finish(&mut ctx, &mut |f| found.push(f));
        deliver(found);
        progress(reader.position());
        Shard {
            attempts: table.take_attempts(),
            stats: table.stats,
            report,
            ctx,
        }
    }
}

/// The shard a packet's flow falls to, the same for both directions: its endpoints combined
/// by XOR (symmetric), spread by one multiplication and scaled to `0..shards` (this runs for
/// every packet on every thread: no division, no canonical key).
fn shard_of(d: &crate::decode::Decoded<'_>, shards: usize) -> usize {
    fn fold(ip: std::net::IpAddr) -> u64 {
        match ip {
            std::net::IpAddr::V4(v) => u64::from(u32::from(v)),
            std::net::IpAddr::V6(v) => {
                let x = u128::from(v);
                (x as u64) ^ ((x >> 64) as u64).rotate_left(17)
            }
        }
    }
    let transport = match d.transport {
        minetrace_detect::Transport::Tcp => 0,
        minetrace_detect::Transport::Udp => 1u64 << 63,
    };
    let mixed = fold(d.src) ^ fold(d.dst) ^ (u64::from(d.sport ^ d.dport) << 40) ^ transport;
    let spread = mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((u128::from(spread) * shards as u128) >> 64) as usize
}

/// What one shard found in a file.
struct Shard {
    report: FileReport,
    stats: TableStats,
    attempts: Vec<ConnectionAttempt>,
    ctx: Context,
}

/// Ends a file: its counters are the first shard's (every shard read the same packets), the
/// tables' are summed (each flow lives in one table), and the connection attempts of all shards
/// to servers the findings (`findings` of them, observed in `proven`) proved pools are reported.
fn end_file(
    shards: Vec<Shard>,
    proven: &ProvenPools,
    mut findings: u64,
    report: &mut FileReport,
    emit: &mut dyn FnMut(Finding),
) {
    let mut shards = shards.into_iter();
    let Some(first) = shards.next() else { return };
    *report = FileReport {
        path: std::mem::take(&mut report.path),
        ..first.report
    };
    report.add_table(&first.stats);
    let mut attempts = first.attempts;
    for s in shards {
        report.add_table(&s.stats);
        attempts.extend(s.attempts);
    }
    for f in attempts_to_proven_pools(attempts, proven, &first.ctx) {
        findings += 1;
        emit(f);
    }
    report.findings = findings;
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
