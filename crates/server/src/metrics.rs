//! Counters exported at `/metrics` in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub ingest_requests: AtomicU64,
    pub findings_accepted: AtomicU64,
    pub findings_duplicate: AtomicU64,
    pub requests_rejected: AtomicU64,
    pub backpressure: AtomicU64,
    pub heartbeats: AtomicU64,
    pub attachments: AtomicU64,
    pub correlated: AtomicU64,
    pub correlation_errors: AtomicU64,
    /// 1 while this server holds the correlator's turn (replicas on one database take turns).
    pub correlating: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Renders counters plus the store's gauges.
    pub fn render(
        &self,
        stats: &minetrace_store::Stats,
        queue_depth: usize,
        queue_capacity: usize,
    ) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        counter(
            "minetrace_ingest_requests_total",
            "Ingest requests received.",
            g(&self.ingest_requests),
        );
        counter(
            "minetrace_findings_accepted_total",
            "Findings stored.",
            g(&self.findings_accepted),
        );
        counter(
            "minetrace_findings_duplicate_total",
            "Findings already stored (retries, replays).",
            g(&self.findings_duplicate),
        );
        counter(
            "minetrace_requests_rejected_total",
            "Requests refused with a 4xx.",
            g(&self.requests_rejected),
        );
        counter(
            "minetrace_backpressure_total",
            "Ingest requests refused because the queue was full.",
            g(&self.backpressure),
        );
        counter(
            "minetrace_heartbeats_total",
            "Agent heartbeats received.",
            g(&self.heartbeats),
        );
        counter(
            "minetrace_attachments_total",
            "Attachments received.",
            g(&self.attachments),
        );
        counter(
            "minetrace_findings_correlated_total",
            "Findings correlated into cases.",
            g(&self.correlated),
        );
        counter(
            "minetrace_correlation_errors_total",
            "Correlation batches that failed.",
            g(&self.correlation_errors),
        );
        let mut gauge = |name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            "minetrace_correlating",
            "1 while this server correlates (one replica at a time on a shared database).",
            g(&self.correlating) as i64,
        );
        gauge(
            "minetrace_queue_depth",
            "Events waiting for correlation.",
            queue_depth as i64,
        );
        gauge(
            "minetrace_queue_capacity",
            "Queue size at which ingest answers 503.",
            queue_capacity as i64,
        );
        gauge(
            "minetrace_findings_stored",
            "Findings in the store.",
            stats.findings,
        );
        gauge(
            "minetrace_findings_pending",
            "Stored findings not yet correlated.",
            stats.pending,
        );
        gauge(
            "minetrace_ledger_length",
            "Records in the evidence ledger.",
            stats.ledger_length,
        );
        gauge(
            "minetrace_sources_active",
            "Enrolled, unrevoked sources.",
            stats.sources,
        );
        gauge(
            "minetrace_sources_silent",
            "Sensors and agents not heard from within the silence window.",
            stats.sources_silent,
        );
        gauge(
            "minetrace_campaigns",
            "Wallets seen (campaigns).",
            stats.campaigns,
        );
        let _ = writeln!(
            out,
            "# HELP minetrace_cases Cases by status.\n# TYPE minetrace_cases gauge"
        );
        for (status, n) in &stats.cases_by_status {
            let clean: String = status
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            let _ = writeln!(out, "minetrace_cases{{status=\"{clean}\"}} {n}");
        }
        out
    }
}
