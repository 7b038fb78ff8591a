//! Flow decode + classification throughput on one core, records per second.
//!
//! `cargo run --release -p minetrace-flows --example throughput [RECORDS]`
//!
//! ipfixprobe CSV lines with per-packet arrays — the CESNET-MINER22 development sample when
//! ../shared is present, else generated lines of the same shape — are read from memory with
//! [`FlowReader`] in two mixes:
//!
//! - **balanced**: the sample as it is. It was built with as many Miner as Other records (1,002
//!   and 998), so about half the records are flagged, and every flagged record pays for a full
//!   finding (reasons, evidence, SHA-256 id). A worst case, not what a network exports.
//! - **1% miners**: the sample's Other records with one Miner record in every 100. Mining is a
//!   small share of the flows a network exports; 1% is still generous. 10% and 25% show how the
//!   cost grows with the share of flagged records.
//!
//! Each mix is decoded only, then decoded and classified (findings built for flagged records).
//! IPFIX messages and NetFlow v5 datagrams (30 records each) follow.
//!
//! Besides elapsed time, the classification pass reports the thread's CPU time (from
//! /proc/thread-self/stat), which on a shared machine leaves out time spent waiting for a core.
//!
//! The sample is looked up in `../shared/data` beside the checkout, or in `$MINETRACE_SHARED/data`
//! when that is set (for a worktree that is not beside `shared/`).

use minetrace_core::SourceRef;
use minetrace_flows::export::build::{ipfix_message, v5_packet, Flow};
use minetrace_flows::export::{decode_datagram, TemplateCache};
use minetrace_flows::{Classifier, FlowReader, InputFormat, Item, Label};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

const HEADER: &str = "uint64 BYTES,uint64 BYTES_REV,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV,string LABEL,int8* PPI_PKT_DIRECTIONS,uint8* PPI_PKT_FLAGS,uint16* PPI_PKT_LENGTHS,time* PPI_PKT_TIMES";

/// The sample's header and data lines: (header, all lines in file order, miner lines, other lines).
fn sample() -> (String, Vec<String>, Vec<String>, Vec<String>) {
    let shared = std::env::var_os("MINETRACE_SHARED")
        .map(|dir| Path::new(&dir).join("data"))
        .unwrap_or_else(|| Path::new(SHARED).to_path_buf());
    let path = shared.join("flows/cesnet-miner22-dev.csv");
    if let Ok(text) = minetrace_core::io::read_bounded_string(&path, 64 << 20) {
        let header = text.lines().next().unwrap_or_default().to_string();
        let lines: Vec<&str> = text.lines().skip(1).filter(|l| !l.is_empty()).collect();
        let labels: Vec<Option<Label>> =
            FlowReader::new(&path, text.as_bytes(), InputFormat::Ipfixprobe)
                .map(|item| match item {
                    Ok(Item::Flow(r)) => r.label,
                    _ => None,
                })
                .collect();
        if labels.len() == lines.len() {
            let (mut miner, mut other) = (Vec::new(), Vec::new());
            for (line, label) in lines.iter().zip(&labels) {
                match label {
                    Some(Label::Miner) => miner.push(line.to_string()),
                    _ => other.push(line.to_string()),
                }
            }
            let all = lines.iter().map(|l| l.to_string()).collect();
            return (header, all, miner, other);
        }
    }
    println!("(../shared not present: generated lines)");
    let line = |dirs: &[&str], flags: &str, lens: &[&str], port: u16, label: &str| {
        let n = 30;
        let join = |items: &[&str]| {
            (0..n)
                .map(|i| items[i % items.len()])
                .collect::<Vec<_>>()
                .join("|")
        };
        let times: Vec<String> = (0..n)
            .map(|i| format!("2021-12-14T16:43:{:02}.{:06}", 10 + i, i * 37_111))
            .collect();
        format!(
            "12477,65693,2021-12-14T16:43:05.816078,2021-12-14T16:48:05.843353,217,220,{port},51305,6,24,24,{label},[{}],[{}],[{}],[{}]",
            join(dirs),
            join(&[flags]),
            join(lens),
            times.join("|")
        )
    };
    let miner = line(
        &["1", "-1", "-1"],
        "24",
        &["187", "276", "276"],
        5555,
        "Miner",
    );
    let other = line(
        &["1", "-1", "-1", "-1"],
        "16",
        &["517", "1448"],
        443,
        "Other",
    );
    let all = vec![miner.clone(), other.clone()];
    (HEADER.to_string(), all, vec![miner], vec![other])
}

/// `records` data lines after `header`, drawn in turn by `pick(i)`.
fn csv_input<'a>(header: &str, records: usize, pick: impl Fn(usize) -> &'a str) -> String {
    let mut s = String::with_capacity(records * 800);
    s.push_str(header);
    s.push('\n');
    for i in 0..records {
        s.push_str(pick(i));
        s.push('\n');
    }
    s
}

fn bench_csv(name: &str, csv: &str, intel: &Arc<minetrace_intel::Intel>, source: &SourceRef) {
    let reader = || {
        FlowReader::new(
            Path::new("bench.csv"),
            csv.as_bytes(),
            InputFormat::Ipfixprobe,
        )
    };
    let start = Instant::now();
    let parsed = reader().filter(|i| i.is_ok()).count();
    let decode_secs = start.elapsed().as_secs_f64();

    let mut classifier = Classifier::new(intel.clone());
    let cpu_start = thread_cpu_secs();
    let start = Instant::now();
    let (mut n, mut found) = (0u64, 0u64);
    for item in reader() {
        if let Ok(Item::Flow(r)) = item {
            n += 1;
            found += u64::from(classifier.classify(&r, source).is_some());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, thread_cpu_secs()) {
        (Some(a), Some(b)) if b > a => format!(
            "; on the CPU {:.2} s = {:.0} records per CPU second",
            b - a,
            n as f64 / (b - a)
        ),
        _ => String::new(),
    };
    println!(
        "ipfixprobe CSV, {name} ({:.0} B/record): decode only {:.0} records/s; decode + classify {n} records in {secs:.3} s = {:.0} records/s ({:.0} MB/s), {found} flagged ({:.1}%){cpu}",
        csv.len() as f64 / n.max(1) as f64,
        parsed as f64 / decode_secs,
        n as f64 / secs,
        csv.len() as f64 / secs / 1e6,
        found as f64 * 100.0 / n.max(1) as f64
    );
}

/// CPU time (user + system) of this thread so far, from /proc (Linux; 10 ms ticks, assuming the
/// usual 100 Hz): on a shared machine it leaves out the time other processes held the core.
fn thread_cpu_secs() -> Option<f64> {
    let stat = minetrace_core::io::read_head(Path::new("/proc/thread-self/stat"), 4096).ok()?;
    let stat = String::from_utf8_lossy(&stat);
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

fn main() {
    let records: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let intel = Arc::new(minetrace_intel::Intel::builtin());
    let source = SourceRef {
        kind: "flows".into(),
        name: "bench".into(),
        ..SourceRef::default()
    };

    let (header, all, miner, other) = sample();
    let balanced = csv_input(&header, records, |i| &all[i % all.len()]);
    bench_csv("balanced sample", &balanced, &intel, &source);
    drop(balanced);
    // One Miner record in every `every`: how the cost grows with the share of flagged records.
    for (name, every) in [("1% miners", 100), ("10% miners", 10), ("25% miners", 4)] {
        let mix = csv_input(&header, records, |i| {
            if i % every == every - 1 {
                &miner[(i / every) % miner.len()]
            } else {
                &other[i % other.len()]
            }
        });
        bench_csv(name, &mix, &intel, &source);
    }

    let flow = Flow {
        src: "10.0.0.5".parse().unwrap(),
        dst: "198.51.100.7".parse().unwrap(),
        src_port: 50123,
        dst_port: 443,
        proto: 6,
        packets: 40,
        bytes: 4000,
        rev_packets: 60,
        rev_bytes: 16000,
        flags: 0x18,
        start: 1_700_000_000,
        end: 1_700_000_300,
    };
    let template = ipfix_message(1, 0, &[], true);
    let ipfix = ipfix_message(1, 1, &[flow; 30], false);
    let v5 = v5_packet(&[flow; 30]);
    for (name, msg) in [("IPFIX", &ipfix), ("NetFlow v5", &v5)] {
        let mut cache = TemplateCache::default();
        let mut out = Vec::with_capacity(30);
        decode_datagram(&template, None, &mut cache, &mut out).unwrap();
        let mut classifier = Classifier::new(intel.clone());
        let messages = records / 30;
        let start = Instant::now();
        let (mut n, mut found) = (0u64, 0u64);
        for _ in 0..messages {
            out.clear();
            decode_datagram(msg, None, &mut cache, &mut out).unwrap();
            for r in &out {
                n += 1;
                found += u64::from(classifier.classify(r, &source).is_some());
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name} (30 records/message): {n} records in {secs:.3} s = {:.0} records/s, {found} flagged",
            n as f64 / secs
        );
    }
}
