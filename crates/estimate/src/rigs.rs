//! How many rigs stand behind one address: an estimate with its range and confidence, never a
//! bare number.
//!
//! Methods, combined in [`estimate_rigs`]:
//! - **distinct identities**: worker names, rig ids, extranonce1 values and concurrently open
//!   connections are each a lower bound on miners;
//! - **share rate**: pools tune each miner's difficulty to one share every 15-30 s, so the
//!   address's share rate times that interval is a range of miners;
//! - **proxies**: one xmrig-proxy connection may hide up to 256 miners (nicehash mode), so the
//!   upper bound widens and the estimate says so;
//! - **TCP timestamp clocks** (Kohno, Broido, claffy 2005, "Remote physical device
//!   fingerprinting"): each host's TSval clock runs at its own rate (skew, in ppm) from its own
//!   offset, so connections whose (TSval, capture time) points fall on one line share a host;
//! - **IPv4 IP-ID sequences** (Bellovin 2002, "A technique for counting NATted hosts"): hosts
//!   with a global IP-ID counter produce interleaved increasing sequences, one per host.

use crate::config::{EstimateConfig, RigConfig};
use minetrace_core::Confidence;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One TCP timestamp option value seen in a packet from the address.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TsSample {
    /// Capture time in seconds (any epoch, the same for all samples).
    pub capture_s: f64,
    pub tsval: u32,
}

/// One IPv4 Identification value seen in a packet from the address.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IpIdSample {
    pub capture_s: f64,
    pub ip_id: u16,
}

/// What one mining connection from the address showed (clear-text fields are `None` under TLS).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectionObservation {
    /// Any stable key (`10.0.0.5:51234 -> 1.2.3.4:3333`).
    pub id: String,
    pub worker: Option<String>,
    pub rig_id: Option<String>,
    pub extranonce1: Option<String>,
    /// Miner software as announced (`XMRig/6.21.0`, `xmrig-proxy/6.19.0`).
    pub agent: Option<String>,
    /// Connection open/close times when known (else taken from the samples).
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    /// Times of share submissions (or, under TLS, of records shaped like them).
    pub share_times_s: Vec<f64>,
    pub tcp_timestamps: Vec<TsSample>,
}

/// Everything seen from one address.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AddressObservations {
    pub connections: Vec<ConnectionObservation>,
    /// IP-ID values of all packets from the address, any connection.
    pub ip_ids: Vec<IpIdSample>,
}

/// The estimate: a range, a point inside it, how sure, and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RigEstimate {
    pub low: u64,
    pub high: u64,
    pub point: u64,
    pub confidence: Confidence,
    pub methods: Vec<String>,
}

impl RigEstimate {
    pub fn contains(&self, n: u64) -> bool {
        self.low <= n && n <= self.high
    }
}

/// Result of clustering connections by TCP timestamp clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockClusters {
    /// Hosts distinguished by clock rate alone (a lower bound: same host = same rate).
    pub by_skew: usize,
    /// Hosts distinguished by rate and offset (clock lines): the point estimate.
    pub by_line: usize,
    /// Connections with too few samples to fit a clock.
    pub unresolved: usize,
    /// Estimated skew of each line cluster, ppm against the nearest nominal rate.
    pub skews_ppm: Vec<f64>,
    /// Nominal clock rates (Hz) seen.
    pub rates_hz: Vec<f64>,
}

/// A fitted clock line for one connection: tsval = offset + rate * (t - t_mean).
#[derive(Debug, Clone, Copy)]
struct ClockFit {
    t_mean: f64,
    y_mean: f64,
    rate: f64,
    rate_se: f64,
    resid_var: f64,
    n: f64,
    sxx: f64,
    t_first: f64,
    t_last: f64,
}

impl ClockFit {
    fn at(&self, t: f64) -> f64 {
        self.y_mean + self.rate * (t - self.t_mean)
    }
    fn prediction_var(&self, t: f64) -> f64 {
        let dt = t - self.t_mean;
        self.resid_var * (1.0 / self.n + dt * dt / self.sxx)
    }
}

const NOMINAL_HZ: [f64; 7] = [1.0, 2.0, 10.0, 100.0, 250.0, 300.0, 1000.0];

fn nominal_rate(rate: f64) -> f64 {
    NOMINAL_HZ
        .iter()
        .copied()
        .min_by(|a, b| {
            ((rate / a).ln().abs())
                .partial_cmp(&(rate / b).ln().abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .unwrap_or(1000.0)
}

/// Least-squares clock line through one connection's samples, with the TSval unwrapped across
/// the 2^32 boundary. `None` when there are too few samples, too short a span or a bad clock.
fn fit_clock(samples: &[TsSample], cfg: &RigConfig) -> Option<ClockFit> {
    let mut pts: Vec<TsSample> = samples
        .iter()
        .take(cfg.max_samples_per_connection)
        .filter(|s| s.capture_s.is_finite())
        .copied()
        .collect();
    if pts.len() < cfg.tcp_ts_min_samples {
        return None;
    }
    pts.sort_by(|a, b| a.capture_s.total_cmp(&b.capture_s));
    let first = pts.first()?;
    let last = pts.last()?;
    if last.capture_s - first.capture_s < cfg.tcp_ts_min_span_s {
        return None;
    }
    // Unwrap: a step is the signed 32-bit difference (a clock never jumps 2^31 ticks forward).
    let mut y = Vec::with_capacity(pts.len());
    let mut acc = first.tsval as i64;
    let mut prev = first.tsval;
    for s in &pts {
        acc += s.tsval.wrapping_sub(prev) as i32 as i64;
        prev = s.tsval;
        y.push(acc as f64);
    }
    let n = pts.len() as f64;
    let t_mean = pts.iter().map(|s| s.capture_s).sum::<f64>() / n;
    let y_mean = y.iter().sum::<f64>() / n;
    let mut sxx = 0.0;
    let mut sxy = 0.0;
    for (s, yy) in pts.iter().zip(&y) {
        let dt = s.capture_s - t_mean;
        sxx += dt * dt;
        sxy += dt * (yy - y_mean);
    }
    if sxx <= 0.0 {
        return None;
    }
    let rate = sxy / sxx;
    if !(rate.is_finite() && rate > 0.5) {
        return None; // a stopped or backwards clock is not a host clock
    }
    let ssr: f64 = pts
        .iter()
        .zip(&y)
        .map(|(s, yy)| {
            let r = yy - (y_mean + rate * (s.capture_s - t_mean));
            r * r
        })
        .sum();
    // TSval is quantised to one tick: never believe a residual variance below 1/12 tick^2.
    let resid_var = (ssr / (n - 2.0).max(1.0)).max(1.0 / 12.0);
    Some(ClockFit {
        t_mean,
        y_mean,
        rate,
        rate_se: (resid_var / sxx).sqrt(),
        resid_var,
        n,
        sxx,
        t_first: first.capture_s,
        t_last: last.capture_s,
    })
}

fn same_rate(a: &ClockFit, b: &ClockFit, cfg: &RigConfig) -> bool {
    let mean = (a.rate + b.rate) / 2.0;
    let diff_ppm = (a.rate - b.rate).abs() / mean * 1e6;
    let noise_ppm = 4.0 * (a.rate_se.powi(2) + b.rate_se.powi(2)).sqrt() / mean * 1e6;
    diff_ppm <= cfg.tcp_ts_skew_tolerance_ppm.max(noise_ppm)
}

fn same_line(a: &ClockFit, b: &ClockFit) -> bool {
    // Compare both lines where the two connections meet (midpoint of their spans' centres).
    let t = ((a.t_first + a.t_last) / 2.0 + (b.t_first + b.t_last) / 2.0) / 2.0;
    let diff = a.at(t) - b.at(t);
    // Offsets compare modulo 2^32.
    let wrapped = diff.rem_euclid(4_294_967_296.0);
    let diff = wrapped.min(4_294_967_296.0 - wrapped);
    let tolerance = 2.0 + 4.0 * (a.prediction_var(t) + b.prediction_var(t)).sqrt();
    diff <= tolerance
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra] = rb;
        }
    }
    fn groups(&mut self) -> Vec<Vec<usize>> {
        let mut map: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for i in 0..self.0.len() {
            let r = self.find(i);
            map.entry(r).or_default().push(i);
        }
        map.into_values().collect()
    }
}

/// Cluster connections by TCP timestamp clock (Kohno et al. 2005). `None` when no connection
/// carries enough timestamps.
pub fn tcp_timestamp_hosts(
    connections: &[ConnectionObservation],
    cfg: &RigConfig,
) -> Option<ClockClusters> {
    let conns = &connections[..connections.len().min(cfg.max_connections)];
    let fits: Vec<ClockFit> = conns
        .iter()
        .filter_map(|c| fit_clock(&c.tcp_timestamps, cfg))
        .collect();
    let unresolved = conns.len() - fits.len();
    if fits.is_empty() {
        return None;
    }
    let mut by_skew = UnionFind::new(fits.len());
    let mut by_line = UnionFind::new(fits.len());
    for i in 0..fits.len() {
        for j in (i + 1)..fits.len() {
            if same_rate(&fits[i], &fits[j], cfg) {
                by_skew.union(i, j);
                if same_line(&fits[i], &fits[j]) {
                    by_line.union(i, j);
                }
            }
        }
    }
    let line_groups = by_line.groups();
    let mut skews_ppm = Vec::new();
    let mut rates: BTreeSet<u64> = BTreeSet::new();
    for g in &line_groups {
        let rate = g.iter().map(|&i| fits[i].rate).sum::<f64>() / g.len() as f64;
        let nominal = nominal_rate(rate);
        rates.insert(nominal as u64);
        skews_ppm.push((rate / nominal - 1.0) * 1e6);
    }
    Some(ClockClusters {
        by_skew: by_skew.groups().len(),
        by_line: line_groups.len(),
        unresolved,
        skews_ppm,
        rates_hz: rates.into_iter().map(|r| r as f64).collect(),
    })
}

/// Result of splitting an address's IP-ID values into monotonic counters (Bellovin 2002).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpIdSequences {
    /// Sequences with at least `ip_id_min_run` samples: one per host with a global counter.
    pub sequences: usize,
    /// Share of the non-zero samples that fell into those sequences.
    pub coverage: f64,
    pub samples: usize,
    /// False when the IDs look random or per-connection (modern Linux, zero IDs with DF):
    /// then the count says nothing and is not used.
    pub usable: bool,
}

/// Split IP-ID values into interleaved increasing counters. Each sample joins the sequence whose
/// last value it follows by the smallest forward step up to `ip_id_max_gap` (mod 2^16), else
/// starts a new sequence.
pub fn ip_id_hosts(samples: &[IpIdSample], cfg: &RigConfig) -> Option<IpIdSequences> {
    // Work is samples x open sequences: both bounded (inputs come from attackers).
    const MAX_SEQUENCES: usize = 1024;
    const MAX_SAMPLES: usize = 20_000;
    let mut pts: Vec<IpIdSample> = samples
        .iter()
        .take(MAX_SAMPLES.min(cfg.max_samples_per_connection))
        .filter(|s| s.capture_s.is_finite() && s.ip_id != 0)
        .copied()
        .collect();
    if pts.is_empty() {
        return None;
    }
    pts.sort_by(|a, b| a.capture_s.total_cmp(&b.capture_s));
    let mut seqs: Vec<(u16, usize)> = Vec::new(); // (last id, count)
    let mut steps: Vec<u16> = Vec::new();
    for s in &pts {
        let best = seqs
            .iter()
            .enumerate()
            .map(|(i, (last, _))| (i, s.ip_id.wrapping_sub(*last)))
            .filter(|(_, d)| *d <= cfg.ip_id_max_gap)
            .min_by_key(|(_, d)| *d);
        match best {
            Some((i, step)) => {
                steps.push(step);
                if let Some(seq) = seqs.get_mut(i) {
                    *seq = (s.ip_id, seq.1 + 1);
                }
            }
            None if seqs.len() < MAX_SEQUENCES => seqs.push((s.ip_id, 1)),
            None => {}
        }
    }
    let strong: Vec<usize> = seqs
        .iter()
        .map(|(_, n)| *n)
        .filter(|n| *n >= cfg.ip_id_min_run)
        .collect();
    let covered: usize = strong.iter().sum();
    let coverage = covered as f64 / pts.len() as f64;
    // Real counters give few long runs with small steps. Random IDs make the greedy split open
    // sequences until any new value lands near one of them: then the sequences cover the ID
    // space (count x typical step ~ 2^16) and say nothing.
    steps.sort_unstable();
    let p95_step = steps
        .get(steps.len().saturating_mul(95) / 100)
        .copied()
        .unwrap_or(u16::MAX) as f64;
    let space_covered = seqs.len() as f64 * (p95_step + 1.0) / 65_536.0;
    let usable = !strong.is_empty()
        && coverage >= 0.9
        && space_covered <= 0.25
        && seqs.len() * cfg.ip_id_min_run * 2 <= pts.len();
    Some(IpIdSequences {
        sequences: strong.len(),
        coverage,
        samples: pts.len(),
        usable,
    })
}

fn span(c: &ConnectionObservation) -> Option<(f64, f64)> {
    let times = c
        .share_times_s
        .iter()
        .copied()
        .chain(c.tcp_timestamps.iter().map(|t| t.capture_s))
        .filter(|t| t.is_finite());
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for t in times {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    let start = c.start_s.filter(|t| t.is_finite()).unwrap_or(lo);
    let end = c.end_s.filter(|t| t.is_finite()).unwrap_or(hi);
    (start.is_finite() && end.is_finite() && start <= end).then_some((start, end))
}

/// Largest number of connections open at the same time. Connections without any timing are
/// taken as open throughout (they were seen in the same observation window).
fn max_concurrent(conns: &[ConnectionObservation]) -> usize {
    let mut untimed = 0usize;
    let mut events: Vec<(f64, i32)> = Vec::new();
    for c in conns {
        match span(c) {
            Some((a, b)) => {
                events.push((a, 1));
                events.push((b, -1));
            }
            None => untimed += 1,
        }
    }
    // Opens sort before closes at the same instant: touching connections overlap.
    events.sort_by(|x, y| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)));
    let (mut open, mut best) = (0i32, 0i32);
    for (_, d) in events {
        open += d;
        best = best.max(open);
    }
    best.max(0) as usize + untimed
}

fn distinct<'a>(values: impl Iterator<Item = Option<&'a String>>, generic: &[String]) -> usize {
    values
        .flatten()
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !generic.iter().any(|g| g.eq_ignore_ascii_case(v)))
        .collect::<BTreeSet<_>>()
        .len()
}

/// Combine every available method into one range with a point and a confidence.
pub fn estimate_rigs(cfg: &EstimateConfig, obs: &AddressObservations) -> RigEstimate {
    let r = &cfg.rigs;
    let conns = &obs.connections[..obs.connections.len().min(r.max_connections)];
    let mut methods = Vec::new();
    if obs.connections.len() > conns.len() {
        methods.push(format!(
            "only the first {} of {} connections considered",
            conns.len(),
            obs.connections.len()
        ));
    }
    let n_conns = conns.len() as u64;
    let workers = distinct(
        conns.iter().map(|c| c.worker.as_ref()),
        &r.generic_worker_names,
    ) as u64;
    let rig_ids = distinct(
        conns.iter().map(|c| c.rig_id.as_ref()),
        &r.generic_worker_names,
    ) as u64;
    let extranonces = distinct(conns.iter().map(|c| c.extranonce1.as_ref()), &[]) as u64;
    let concurrent = max_concurrent(conns) as u64;
    let proxies = conns
        .iter()
        .filter(|c| {
            c.agent.as_ref().is_some_and(|a| {
                let a = a.to_lowercase();
                r.proxy_agent_markers.iter().any(|m| a.contains(m.as_str()))
            })
        })
        .count() as u64;

    let mut low = 0u64;
    let mut lower = |v: u64, what: String, methods: &mut Vec<String>| {
        if v > 0 {
            methods.push(what);
            low = low.max(v);
        }
    };
    lower(
        workers,
        format!("{workers} distinct worker name(s) (lower bound)"),
        &mut methods,
    );
    lower(
        rig_ids,
        format!("{rig_ids} distinct rig id(s) (lower bound)"),
        &mut methods,
    );
    if extranonces > 0 {
        methods.push(format!(
            "{extranonces} distinct extranonce1 value(s) (one per pool session)"
        ));
    }
    lower(
        concurrent,
        format!("{concurrent} connection(s) open at once, of {n_conns} (lower bound)"),
        &mut methods,
    );

    let clocks = tcp_timestamp_hosts(conns, r);
    if let Some(c) = &clocks {
        let skews: Vec<String> = c.skews_ppm.iter().map(|s| format!("{s:+.0}")).collect();
        methods.push(format!(
            "TCP timestamp clocks: {} clock line(s), {} distinct skew(s) ppm [{}] at {:?} Hz, {} connection(s) unresolved (Kohno et al. 2005)",
            c.by_line,
            c.by_skew,
            skews.join(", "),
            c.rates_hz,
            c.unresolved
        ));
        low = low.max(c.by_skew as u64);
    }
    let ipid = ip_id_hosts(&obs.ip_ids, r);
    if let Some(s) = &ipid {
        if s.usable {
            // Two counters that run close together can split or merge in the greedy
            // assignment, so the count is an estimate: only three quarters of it is a bound.
            let bound = (s.sequences as u64 * 3) / 4;
            methods.push(format!(
                "IP-ID: {} interleaved counter(s) covering {:.0}% of {} packets (Bellovin 2002; lower bound {bound})",
                s.sequences,
                s.coverage * 100.0,
                s.samples
            ));
            low = low.max(bound);
        } else {
            methods.push(format!(
                "IP-ID: {} packets look random or per-connection; not used",
                s.samples
            ));
        }
    }

    // Upper bound: every connection a different rig, unless clocks resolved them all.
    let mut high = n_conns.max(low);
    if let Some(c) = &clocks {
        if c.unresolved == 0 && proxies == 0 {
            high = high.min((c.by_line as u64).max(low));
        }
    }
    // Share rate over the whole address.
    let share_range = share_rate_range(conns, r);
    if let Some((lo_m, hi_m, rate)) = share_range {
        methods.push(format!(
            "share rate {:.3}/s x {}-{} s per miner -> {lo_m}-{hi_m} miner(s)",
            rate, r.share_interval_min_s, r.share_interval_max_s
        ));
        if lo_m > high {
            methods.push(format!(
                "share rate exceeds what {n_conns} connection(s) explain: a proxy may multiplex miners"
            ));
            high = hi_m;
        }
    }
    if proxies > 0 {
        let hidden = proxies.saturating_mul(r.proxy_max_miners.saturating_sub(1));
        high = high.saturating_add(hidden);
        methods.push(format!(
            "{proxies} connection(s) from a mining proxy: each may hide up to {} miners; upper bound widened",
            r.proxy_max_miners
        ));
    }
    if n_conns > 0 {
        low = low.max(1);
        high = high.max(low);
    }

    // Point: the share-rate midpoint behind a proxy (clocks count the proxy host, not its
    // miners), else clock lines when they resolved every connection, else the strongest lower
    // bound.
    let ip_id_count = ipid
        .as_ref()
        .filter(|s| s.usable)
        .map(|s| s.sequences as u64);
    let point = match (&clocks, share_range, ip_id_count) {
        (_, Some((lo_m, hi_m, _)), _) if proxies > 0 || lo_m > n_conns => (lo_m + hi_m) / 2,
        (Some(c), _, _) if c.unresolved == 0 && proxies == 0 => c.by_line as u64,
        (_, _, Some(n)) if proxies == 0 => n,
        _ => low,
    }
    .clamp(low, high);

    let independent = [
        workers == point && workers > 0,
        rig_ids == point && rig_ids > 0,
        concurrent == point,
        clocks.as_ref().is_some_and(|c| c.by_line as u64 == point),
        ipid.as_ref()
            .is_some_and(|s| s.usable && s.sequences as u64 == point),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let confidence = if n_conns == 0 || proxies > 0 || high > low.saturating_mul(4) {
        Confidence::Low
    } else if low == high && independent >= 2 {
        Confidence::High
    } else {
        Confidence::Medium
    };
    if n_conns == 0 {
        methods.push("no connection observed".to_string());
    }
    RigEstimate {
        low,
        high,
        point,
        confidence,
        methods,
    }
}

/// Miners implied by the address's share rate: (low, high, shares per second).
fn share_rate_range(conns: &[ConnectionObservation], r: &RigConfig) -> Option<(u64, u64, f64)> {
    const MAX_SHARES: usize = 1_000_000;
    let mut times: Vec<f64> = conns
        .iter()
        .flat_map(|c| c.share_times_s.iter().take(r.max_samples_per_connection))
        .copied()
        .filter(|t| t.is_finite())
        .take(MAX_SHARES)
        .collect();
    if times.len() < 3 {
        return None;
    }
    times.sort_by(f64::total_cmp);
    let window = times.last()? - times.first()?;
    if window <= 0.0 {
        return None;
    }
    let rate = (times.len() - 1) as f64 / window;
    let lo = (rate * r.share_interval_min_s).floor().max(1.0) as u64;
    let hi = (rate * r.share_interval_max_s).ceil().max(1.0) as u64;
    Some((lo, hi, rate))
}
