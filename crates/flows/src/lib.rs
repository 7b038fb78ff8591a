//! Flow records in, behavioural mining findings out.
//!
//! Regulators and ISPs often have flow records rather than packets. This crate reads them into
//! one [`FlowRecord`] shape — from ipfixprobe CSV (with per-packet sizes, times, directions and
//! flags), `nfdump -o csv`, Zeek conn/dns/ssl logs (TSV or JSON), Suricata EVE (flow, dns, tls),
//! IPFIX files, and NetFlow v5/v9 or IPFIX datagrams ([`collector::Collector`]) — and judges them
//! with the behavioural model of `minetrace_detect::behaviour` ([`Classifier`]). Readers stream
//! one record at a time with bounded lines and messages; every error names the file and the
//! record, and every finding names its source record (`source.record`, 1-based).
//!
//! ```
//! use minetrace_flows::{reader::{FlowReader, InputFormat}, Classifier, Item};
//! use std::sync::Arc;
//! let csv = "uint64 BYTES,uint64 BYTES_REV,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL\n\
//!            1200,900,2021-12-14T16:45:34.9,2021-12-14T16:45:35.2,9,7,443,51000,6\n";
//! let reader = FlowReader::new("demo.csv".as_ref(), csv.as_bytes(), InputFormat::Ipfixprobe);
//! let mut classifier = Classifier::new(Arc::new(minetrace_intel::Intel::builtin()));
//! let source = minetrace_core::SourceRef { kind: "flows".into(), name: "demo.csv".into(), ..Default::default() };
//! let mut findings = Vec::new();
//! for item in reader {
//!     let item = item.expect("well-formed");
//!     if let Item::Flow(r) = &item { assert_eq!(r.record, 2); }
//!     findings.extend(classifier.observe(&item, &source));
//! }
//! assert!(findings.is_empty()); // a short web exchange is not mining
//! ```
#![forbid(unsafe_code)]

pub mod classify;
pub mod collector;
pub mod csv;
pub mod error;
pub mod eve;
pub mod export;
pub mod reader;
pub mod record;
pub mod text;
pub mod zeek;

pub use classify::{Classifier, Confusion, Evaluation, Part};
pub use error::{DecodeError, FlowError};
pub use reader::{detect_format, open, FlowReader, InputFormat};
pub use record::{FlowRecord, Item, Label, NameKind, NameRecord, PacketRecord};
