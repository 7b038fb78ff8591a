//! What every handler shares.

use crate::metrics::Metrics;
use crate::queue::EventQueue;
use crate::service::rules::Rules;
use minetrace_estimate::EstimateConfig;
use minetrace_store::Store;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    /// Served over TLS (console cookies get `Secure`).
    pub tls: bool,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub queue: Arc<dyn EventQueue>,
    pub rules: Arc<Rules>,
    pub estimate: Arc<EstimateConfig>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    /// Sources not heard from for this long count as silent (µs).
    pub silent_after_us: i64,
    /// Scale-out mode: accepted findings go to NATS JetStream instead of straight to the store.
    pub stream: Option<crate::stream::StreamIngest>,
    pub console: Arc<crate::console::ConsoleState>,
    /// Alert sinks, when configured.
    pub alerter: Option<Arc<crate::alerts::Alerter>>,
    /// The registry version whose changes the correlator has re-attributed open cases for
    /// (-1 before its first pass): registry data, NAT and DHCP imports and the host addresses
    /// heartbeats teach move the version, and open cases follow a pass later.
    pub registry_attributed: Arc<std::sync::atomic::AtomicI64>,
}
