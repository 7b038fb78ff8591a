//! Flow decode + classification throughput on one core, records per second.
//!
//! `cargo run --release -p minetrace-flows --example throughput [RECORDS]`
//!
//! Three inputs: ipfixprobe CSV lines with 30 per-packet entries (the CESNET sample repeated when
//! ../shared is present, else generated lines of the same shape), IPFIX messages (30 records
//! each) and NetFlow v5 datagrams (30 records each); each is decoded and classified in memory.

use minetrace_core::SourceRef;
use minetrace_flows::export::build::{ipfix_message, v5_packet, Flow};
use minetrace_flows::export::{decode_datagram, TemplateCache};
use minetrace_flows::{Classifier, FlowReader, InputFormat, Item};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn csv_input(records: usize) -> String {
    let path = Path::new(SHARED).join("flows/cesnet-miner22-dev.csv");
    let (header, lines): (String, Vec<String>) = match minetrace_core::io::read_bounded_string(
        &path,
        64 << 20,
    ) {
        Ok(text) => {
            let mut it = text.lines();
            let header = it.next().unwrap_or_default().to_string();
            (header, it.map(str::to_string).collect())
        }
        Err(_) => {
            let header = "uint64 BYTES,uint64 BYTES_REV,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV,string LABEL,int8* PPI_PKT_DIRECTIONS,uint8* PPI_PKT_FLAGS,uint16* PPI_PKT_LENGTHS,time* PPI_PKT_TIMES".to_string();
            let n = 30;
            let dirs = vec!["-1"; n].join("|");
            let flags = vec!["24"; n].join("|");
            let lens = vec!["276"; n].join("|");
            let times: Vec<String> = (0..n)
                .map(|i| format!("2021-12-14T16:43:{:02}.000000", 10 + i))
                .collect();
            let line = format!("12477,65693,2021-12-14T16:43:05.816078,2021-12-14T16:48:05.843353,217,220,5555,51305,6,24,24,Miner,[{dirs}],[{flags}],[{lens}],[{}]", times.join("|"));
            (header, vec![line])
        }
    };
    let mut s = String::with_capacity(records * 1600);
    s.push_str(&header);
    s.push('\n');
    for i in 0..records {
        s.push_str(&lines[i % lines.len()]);
        s.push('\n');
    }
    s
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

    let csv = csv_input(records);
    let start = Instant::now();
    let parsed = FlowReader::new(
        Path::new("bench.csv"),
        csv.as_bytes(),
        InputFormat::Ipfixprobe,
    )
    .filter(|i| i.is_ok())
    .count();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ipfixprobe CSV decode only: {parsed} records in {secs:.3} s = {:.0} records/s",
        parsed as f64 / secs
    );
    let mut classifier = Classifier::new(intel.clone());
    let start = Instant::now();
    let (mut n, mut found) = (0u64, 0u64);
    for item in FlowReader::new(
        Path::new("bench.csv"),
        csv.as_bytes(),
        InputFormat::Ipfixprobe,
    ) {
        if let Ok(Item::Flow(r)) = item {
            n += 1;
            found += u64::from(classifier.classify(&r, &source).is_some());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ipfixprobe CSV (30 packets/record): {n} records in {secs:.3} s = {:.0} records/s ({:.0} MB/s), {found} flagged",
        n as f64 / secs,
        csv.len() as f64 / secs / 1e6
    );

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
