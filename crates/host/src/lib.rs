//! Host detection on Linux: finds mining processes and the person behind each.
//!
//! A [`Scanner`] walks `/proc` with bounded reads and runs one detector per signal: miner names,
//! parsed command lines (Stratum URLs, also base64-encoded, xmrig flags, pool hosts, algorithms),
//! mining environment variables, executables deleted or run from `/tmp`, `/dev/shm` or memfd,
//! kernel-thread masquerades, YARA rules over executables (pure-Rust `boreal`), sockets tied to
//! pools, CPU share, GPU use (NVML loaded at run time), hidden PIDs. The file tree under a
//! configurable root is checked for persistence (cron, systemd, rc.local, init.d, profiles,
//! authorized_keys), `/etc/ld.so.preload`, disabled defences, log and history tampering. Each
//! process finding carries its attribution: user, audit login uid, session, ancestry up to the
//! login, the source address, the cgroup's container or unit. A summary finding proposes a class
//! (active or passive) with its reasons. [`agent`] adds the on-disk spool and the uploader.
//!
//! ```
//! use minetrace_host::{ScanConfig, Scanner};
//! use std::time::Duration;
//! let root = tempfile::tempdir().unwrap(); // an empty file tree: no persistence to find
//! let cfg = ScanConfig {
//!     root: root.path().to_path_buf(),
//!     cpu_window: Duration::ZERO,
//!     hidden_pid_probe: false,
//!     gpu: false,
//!     ..ScanConfig::default()
//! };
//! let mut scanner = Scanner::new(cfg);
//! let report = scanner.scan();
//! assert!(report.stats.processes > 0);
//! for f in &report.findings {
//!     println!("{} {:?} {:?}", f.detector, f.confidence, f.reasons);
//! }
//! ```
#![deny(unsafe_code)]

pub mod agent;
pub mod attribution;
pub mod cmdline;
pub mod cpu;
pub mod error;
pub mod files;
pub mod gpu;
pub mod hashcache;
pub mod indicators;
pub mod inventory;
pub mod power;
pub mod procfs;
pub mod respond;
pub mod scanner;
pub mod sockets;
pub mod yara;

pub use error::HostError;
pub use indicators::{BuiltinPools, IntelPools, PoolIntel};
pub use respond::Response;
pub use scanner::{ScanConfig, ScanReport, ScanStats, Scanner};
