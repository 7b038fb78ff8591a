//! The minetrace server: ingest from sensors and agents, the asset registry, correlation into
//! cases, classification with reasons, the case workflow, and the signed evidence ledger, behind
//! an HTTP/JSON API (`/api/v1`, OpenAPI at `/api/v1/openapi.json`, `/metrics`).
//!
//! Layers: [`http`] (one router per resource, one error type) -> [`service`] (domain rules) ->
//! [`minetrace_store::Store`] (SQLite or PostgreSQL). Accepted findings pass through an
//! [`queue::EventQueue`] (in-process here) to the correlator.
//!
//! ```
//! use minetrace_server::{spawn_background, ServeOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let server = spawn_background(ServeOptions::new(dir.path())).unwrap();
//! let store = server.state.store.clone();
//! let (_, token) = store.create_source("sensor-1", minetrace_store::Role::Sensor).unwrap();
//! let mut f = minetrace_core::Finding::new("stratum", minetrace_core::FindingKind::Network,
//!     minetrace_core::Timestamp::from_micros(1));
//! f.assign_id();
//! let got = minetrace_client::submit_findings(&server.url(), &token, &[f]).unwrap();
//! assert_eq!(got.accepted, 1);
//! server.stop();
//! ```
#![forbid(unsafe_code)]

pub mod alerts;
pub mod config;
pub mod console;
pub mod error;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod queue;
pub mod service;
pub mod state;
pub mod stream;
pub mod tls;

use minetrace_estimate::EstimateConfig;
use minetrace_store::Store;
use queue::InProcessQueue;
use service::correlate::Correlator;
use service::rules::Rules;
use state::{AppState, Limits};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] minetrace_store::StoreError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Rules(#[from] service::rules::RulesError),
    #[error("estimate config {path}: {message}")]
    Estimate { path: String, message: String },
    #[error("listen {addr}: {message}")]
    Listen { addr: String, message: String },
    #[error("TLS: {message}")]
    Tls { message: String },
    #[error(transparent)]
    Stream(#[from] stream::StreamError),
    #[error(transparent)]
    Alerts(#[from] alerts::AlertsError),
}

/// `minetrace server` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Data directory: SQLite database, ledger signing key, generated TLS material.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// PostgreSQL URL instead of the embedded SQLite database.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// PEM certificate (with --tls-key) to serve HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Generate a self-signed certificate in DIR/tls on first start and serve HTTPS.
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls_generate: bool,
    /// Classification rules file (TOML); the embedded default when absent.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Configuration file; its [server] section gives defaults for the flags above.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log lines as JSON.
    #[arg(long)]
    pub log_json: bool,
    /// Scale-out mode: NATS server URLs (comma-separated) of a JetStream cluster; accepted
    /// findings go through its replicated stream and are stored by any replica's worker.
    #[arg(long, value_name = "URLS", requires = "database")]
    pub nats: Option<String>,
    /// Copies of the stream kept by the cluster.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub nats_replicas: usize,
    /// Do not run the correlation worker in this replica (ingest and storage only). Without it,
    /// replicas on one database take turns: one correlates at a time.
    #[arg(long)]
    pub no_correlator: bool,
    /// Alert sinks (webhook, syslog RFC 5424, CEF) and their filters, as TOML (docs/console.md).
    #[arg(long, value_name = "FILE")]
    pub alerts: Option<PathBuf>,
}

/// Everything `start` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub database: Option<String>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub rules: Option<PathBuf>,
    pub estimate: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub queue_capacity: usize,
    pub silent_after_secs: u64,
    /// Run the correlation worker in this process (off for ingest-only replicas).
    pub correlator: bool,
    /// Scale-out mode through NATS JetStream.
    pub stream: Option<stream::StreamConfig>,
    /// Alert sinks (TOML file).
    pub alerts: Option<PathBuf>,
}

impl ServeOptions {
    /// Defaults with SQLite in `data`, listening on an ephemeral loopback port.
    pub fn new(data: &Path) -> Self {
        ServeOptions {
            data: data.to_path_buf(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: None,
            tls: None,
            rules: None,
            estimate: None,
            max_body_bytes: config::default_body(),
            queue_capacity: config::default_queue(),
            silent_after_secs: config::default_silent(),
            correlator: true,
            stream: None,
            alerts: None,
        }
    }

    /// Merges flags over the config file's [server] section.
    pub fn from_args(a: &ServerArgs) -> Result<(ServeOptions, bool), ServerError> {
        let section = match &a.config {
            Some(p) => config::Config::load(p)?.server,
            None => None,
        };
        let data = a
            .data
            .clone()
            .or_else(|| section.as_ref().map(|s| s.data.clone()))
            .ok_or(ServerError::Config(config::ConfigError::Invalid {
                path: "arguments".into(),
                message: "--data DIR is required (or [server] data in --config)".into(),
            }))?;
        let mut o = ServeOptions::new(&data);
        o.listen = SocketAddr::from(([127, 0, 0, 1], 8440));
        let mut json = a.log_json;
        let mut generate = a.tls_generate;
        if let Some(s) = &section {
            o.listen = s.listen.parse().unwrap_or(o.listen);
            o.database = s.database.clone();
            o.rules = s.rules.clone();
            o.estimate = s.estimate.clone();
            o.max_body_bytes = s.max_body_bytes;
            o.queue_capacity = s.queue_capacity;
            o.silent_after_secs = s.silent_after_secs;
            json |= s.log_format == "json";
            generate |= s.tls_generate;
            if let (Some(c), Some(k)) = (&s.tls_cert, &s.tls_key) {
                o.tls = Some((c.clone(), k.clone()));
            }
        }
        if let Some(l) = a.listen {
            o.listen = l;
        }
        if a.database.is_some() {
            o.database = a.database.clone();
        }
        if a.rules.is_some() {
            o.rules = a.rules.clone();
        }
        if let (Some(c), Some(k)) = (&a.tls_cert, &a.tls_key) {
            o.tls = Some((c.clone(), k.clone()));
        }
        if let Some(urls) = &a.nats {
            o.stream = Some(stream::StreamConfig {
                urls: urls.clone(),
                replicas: a.nats_replicas.max(1),
            });
        }
        o.correlator = !a.no_correlator;
        if a.alerts.is_some() {
            o.alerts = a.alerts.clone();
        }
        if generate && o.tls.is_none() {
            let pair =
                tls::generate(&o.data, &[]).map_err(|message| ServerError::Tls { message })?;
            o.tls = Some(pair);
        }
        Ok((o, json))
    }
}

/// Opens the store and builds the shared state (no network yet).
pub fn build_state(o: &ServeOptions) -> Result<AppState, ServerError> {
    let rules = match &o.rules {
        Some(p) => {
            let text = minetrace_core::io::read_bounded_string(p, 1 << 20).map_err(|e| {
                service::rules::RulesError::Invalid {
                    source_name: p.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            Rules::parse(&text, &p.display().to_string())?
        }
        None => Rules::parse(service::rules::DEFAULT_RULES, "embedded rules")?,
    };
    let estimate = match &o.estimate {
        Some(p) => {
            let text = minetrace_core::io::read_bounded_string(p, 1 << 20).map_err(|e| {
                ServerError::Estimate {
                    path: p.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            EstimateConfig::from_toml_str(&text).map_err(|e| ServerError::Estimate {
                path: p.display().to_string(),
                message: e.to_string(),
            })?
        }
        None => EstimateConfig::default(),
    };
    let alerter = match &o.alerts {
        Some(p) => {
            let name = p.display().to_string();
            let text = minetrace_core::io::read_bounded_string(p, 1 << 20).map_err(|e| {
                alerts::AlertsError::Config {
                    path: name.clone(),
                    message: e.to_string(),
                }
            })?;
            Some(Arc::new(alerts::Alerter::start(
                alerts::AlertsConfig::parse(&text, &name)?,
            )))
        }
        None => None,
    };
    let store = Store::open(&o.data, o.database.as_deref())?;
    Ok(AppState {
        store: Arc::new(store),
        queue: Arc::new(InProcessQueue::new(o.queue_capacity)),
        rules: Arc::new(rules),
        estimate: Arc::new(estimate),
        metrics: Arc::new(metrics::Metrics::default()),
        limits: Limits {
            max_body_bytes: o.max_body_bytes,
            tls: o.tls.is_some(),
        },
        silent_after_us: i64::try_from(o.silent_after_secs)
            .unwrap_or(900)
            .saturating_mul(1_000_000),
        stream: None,
        console: Arc::new(console::ConsoleState::default()),
        alerter,
        registry_attributed: Arc::new(std::sync::atomic::AtomicI64::new(-1)),
    })
}

/// Correlates whatever is pending; returns how many findings it processed.
pub fn correlate_pending(state: &AppState) -> Result<usize, service::ServiceError> {
    let mut done = 0;
    loop {
        let batch = state.store.pending_findings(1000)?;
        if batch.is_empty() {
            return Ok(done);
        }
        let c = Correlator::new(&state.store, &state.rules, &state.estimate)?;
        let touched = c.run_batch(&batch)?;
        if let Some(alerter) = &state.alerter {
            for id in touched {
                if let Some(case) = state.store.case(id)? {
                    alerter.case_changed(&case);
                }
            }
        }
        done += batch.len();
        metrics::Metrics::add(&state.metrics.correlated, batch.len());
    }
}

/// Re-attributes open cases when the registry (ranges, hosts, projects, NAT, DHCP) changed since
/// `seen`; returns the registry version now. Runs once at start (`seen` = None).
pub fn reattribute_if_registry_changed(
    state: &AppState,
    seen: Option<i64>,
) -> Result<i64, service::ServiceError> {
    let version = state.store.registry_version()?;
    if seen == Some(version) {
        return Ok(version);
    }
    let c = Correlator::new(&state.store, &state.rules, &state.estimate)?;
    let touched = c.reattribute(service::correlate::REATTRIBUTE_CASES)?;
    if !touched.is_empty() {
        tracing::info!(
            registry_version = version,
            cases = touched.len(),
            "re-attributed open cases after a registry change"
        );
    }
    if let Some(alerter) = &state.alerter {
        for id in touched {
            if let Some(case) = state.store.case(id)? {
                alerter.case_changed(&case);
            }
        }
    }
    Ok(version)
}

/// When the next re-attribution pass may run: passes are spaced so that they take at most a
/// tenth of the correlator's time (registry, NAT and DHCP imports and agents' new addresses can
/// move the registry version many times a second, and a pass reads every open case that lacks a
/// host or unit).
#[derive(Debug, Default)]
struct PassSpacing {
    /// The last pass's start and end.
    last: Option<(std::time::Instant, std::time::Instant)>,
}

impl PassSpacing {
    fn due(&self, now: std::time::Instant) -> bool {
        self.last.is_none_or(|(start, end)| {
            now.saturating_duration_since(end) >= end.saturating_duration_since(start) * 9
        })
    }

    fn ran(&mut self, start: std::time::Instant, end: std::time::Instant) {
        self.last = Some((start, end));
    }
}

/// The correlation worker: wakes on queued ids (or every second) and drains the store's backlog,
/// which also picks up what was acknowledged before a crash; then re-attributes open cases when
/// registry, NAT or DHCP data arrived (it may come after the findings it explains). Replicas on
/// one PostgreSQL database take turns: one correlates, the others wait and take over within a
/// wake-up when it stops ([`minetrace_store::Store::correlator_turn`]).
pub fn spawn_correlator(state: AppState, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("correlator".into())
        .spawn(move || {
            let mut registry_seen = None;
            let mut my_turn = None;
            let mut spacing = PassSpacing::default();
            while !stop.load(Ordering::Relaxed) {
                let _woken = state.queue.take(usize::MAX, Duration::from_millis(500));
                let turn = state
                    .store
                    .correlator_turn()
                    .map_err(service::ServiceError::from);
                // The database out of reach: not correlating, and a turn to ask for again.
                let now = turn.as_ref().ok().copied();
                if my_turn != now {
                    match now {
                        Some(true) => tracing::info!("correlating on this replica"),
                        Some(false) => {
                            tracing::info!("another replica correlates; this one waits its turn")
                        }
                        None => {}
                    }
                    // A replica taking over re-attributes as at start.
                    registry_seen = None;
                    my_turn = now;
                    state
                        .metrics
                        .correlating
                        .store(u64::from(now == Some(true)), Ordering::Relaxed);
                }
                let result = turn.and_then(|now| {
                    if !now {
                        return Ok(());
                    }
                    correlate_pending(&state)?;
                    let started = std::time::Instant::now();
                    if !spacing.due(started) {
                        return Ok(());
                    }
                    let version = reattribute_if_registry_changed(&state, registry_seen)?;
                    if registry_seen != Some(version) {
                        spacing.ran(started, std::time::Instant::now());
                    }
                    registry_seen = Some(version);
                    state.registry_attributed.store(version, Ordering::Release);
                    Ok(())
                });
                if let Err(e) = result {
                    metrics::Metrics::add(&state.metrics.correlation_errors, 1);
                    tracing::error!(error = %e, "correlation failed");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .unwrap_or_else(|_| std::thread::spawn(|| {}))
}

/// A server running on its own runtime thread (tests, embedding).
pub struct BackgroundServer {
    pub addr: SocketAddr,
    pub state: AppState,
    /// Runs a correlator (which re-attributes after registry changes).
    correlating: bool,
    pub tls: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl BackgroundServer {
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }
    /// Waits until everything queued so far is correlated, and open cases are re-attributed
    /// for every registry change (registry data, NAT and DHCP imports, host addresses that
    /// heartbeats teach) made so far.
    pub fn settle(&self) {
        for _ in 0..400 {
            let registry_done = !self.correlating
                || self
                    .state
                    .store
                    .registry_version()
                    .is_ok_and(|v| self.state.registry_attributed.load(Ordering::Acquire) == v);
            if registry_done
                && self.state.queue.depth() == 0
                && self
                    .state
                    .store
                    .pending_findings(1)
                    .map(|p| p.is_empty())
                    .unwrap_or(true)
            {
                std::thread::sleep(Duration::from_millis(20));
                if self
                    .state
                    .store
                    .pending_findings(1)
                    .map(|p| p.is_empty())
                    .unwrap_or(true)
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
    pub fn stop(mut self) {
        self.shutdown_now();
    }
    fn shutdown_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

fn bind(o: &ServeOptions) -> Result<std::net::TcpListener, ServerError> {
    let l = std::net::TcpListener::bind(o.listen).map_err(|e| ServerError::Listen {
        addr: o.listen.to_string(),
        message: e.to_string(),
    })?;
    l.set_nonblocking(true).map_err(|e| ServerError::Listen {
        addr: o.listen.to_string(),
        message: e.to_string(),
    })?;
    Ok(l)
}

async fn serve(
    listener: std::net::TcpListener,
    tls: Option<(PathBuf, PathBuf)>,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let listen_err = |e: std::io::Error| ServerError::Listen {
        addr: addr.clone(),
        message: e.to_string(),
    };
    match tls {
        None => {
            let l = tokio::net::TcpListener::from_std(listener).map_err(listen_err)?;
            axum::serve(
                l,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(listen_err)
        }
        Some((cert, key)) => {
            tls::install_provider();
            let cfg = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| ServerError::Tls {
                    message: format!("{} / {}: {e}", cert.display(), key.display()),
                })?;
            let handle = axum_server::Handle::new();
            let h2 = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h2.graceful_shutdown(Some(Duration::from_secs(5)));
            });
            axum_server::from_tcp_rustls(listener, cfg)
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .await
                .map_err(listen_err)
        }
    }
}

/// Starts the server on a background thread with its own runtime.
pub fn spawn_background(o: ServeOptions) -> Result<BackgroundServer, ServerError> {
    let state = build_state(&o)?;
    let listener = bind(&o)?;
    let addr = listener.local_addr().map_err(|e| ServerError::Listen {
        addr: o.listen.to_string(),
        message: e.to_string(),
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let correlating = o.correlator;
    let worker = if o.correlator {
        spawn_correlator(state.clone(), stop.clone())
    } else {
        std::thread::spawn(|| {})
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = http::router(state.clone());
    let tls = o.tls.clone();
    let is_tls = tls.is_some();
    let thread = std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "runtime");
                return;
            }
        };
        let r = rt.block_on(serve(listener, tls, app, async move {
            let _ = rx.await;
        }));
        if let Err(e) = r {
            tracing::error!(error = %e, "server stopped");
        }
        let _ = worker.join();
    });
    Ok(BackgroundServer {
        addr,
        state,
        correlating,
        tls: is_tls,
        shutdown: Some(tx),
        thread: Some(thread),
        stop,
    })
}

/// `minetrace server`: runs until Ctrl-C / SIGTERM.
pub fn run(args: &ServerArgs) -> Result<(), ServerError> {
    let (o, json) = ServeOptions::from_args(args)?;
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    let mut state = build_state(&o)?;
    let listener = bind(&o)?;
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServerError::Listen {
            addr: addr.clone(),
            message: e.to_string(),
        })?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    if let Some(cfg) = &o.stream {
        state.stream = Some(rt.block_on(stream::StreamIngest::connect(cfg))?);
        workers.push(stream::spawn_worker(
            state.clone(),
            cfg.clone(),
            stop.clone(),
        ));
        tracing::info!(nats = %cfg.urls, replicas = cfg.replicas, "scale-out mode: findings go through JetStream");
    }
    let scheme = if o.tls.is_some() { "https" } else { "http" };
    let backend = match &o.database {
        Some(url) => minetrace_store::redact(url),
        None => o.data.join("minetrace.sqlite3").display().to_string(),
    };
    tracing::info!(listen = %addr, store = %backend, ledger_key = %state.store.key().public_hex(), "minetrace server ready");
    println!("minetrace server listening on {scheme}://{addr}");
    println!("console: {scheme}://{addr}/console/");
    if let Some(password) = console::bootstrap_admin(&state.store)? {
        // Shown once, here, on the console that started the server; only its hash is stored.
        println!("console: first start: created user `admin` (regulator, all regions), password: {password}");
        println!(
            "console: add users with `minetrace user create`; this password is not shown again"
        );
    }
    if o.correlator {
        workers.push(spawn_correlator(state.clone(), stop.clone()));
    }
    let app = http::router(state);
    let result = rt.block_on(serve(listener, o.tls.clone(), app, async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    }));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::PassSpacing;
    use std::time::{Duration, Instant};

    /// A pass that took a second waits nine before the next; cheap passes run at every wake-up.
    #[test]
    fn reattribution_passes_take_at_most_a_tenth_of_the_time() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut spacing = PassSpacing::default();
        assert!(spacing.due(t0));
        spacing.ran(at(0), at(1_000));
        assert!(!spacing.due(at(1_000)));
        assert!(!spacing.due(at(9_999)));
        assert!(spacing.due(at(10_000)));
        spacing.ran(at(10_000), at(10_001));
        assert!(spacing.due(at(10_010)));
    }
}
