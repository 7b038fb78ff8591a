//! The capture engine: pcap/pcapng files, link/IP/TCP/UDP decoding, a bounded flow table with
//! TCP reassembly, and the loop that drives the detectors of `minetrace-detect`.
//!
//! ```no_run
//! use minetrace_net::{Engine, EngineOptions};
//! use std::sync::Arc;
//! let engine = Engine::new(
//!     minetrace_detect::builtin(),
//!     Arc::new(minetrace_intel::Intel::builtin()),
//!     EngineOptions::default(),
//! );
//! let mut findings = Vec::new();
//! let report = engine.analyze_file("capture.pcap".as_ref(), &mut |f| findings.push(f), &mut |_| {});
//! println!("{} packets, {} findings", report.packets, findings.len());
//! ```
#![forbid(unsafe_code)]

pub mod capture;
pub mod decode;
pub mod engine;
pub mod evidence;
pub mod reassembly;
pub mod table;

pub use engine::{Engine, EngineOptions, FileReport};
pub use table::TableLimits;
