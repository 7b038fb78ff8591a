//! The collector receives real UDP NetFlow v5, v9 and IPFIX datagrams on loopback, and (when
//! softflowd is installed) real NetFlow v9 and IPFIX exported by softflowd from a shared capture.

use minetrace_flows::collector::Collector;
use minetrace_flows::export::build::{ipfix_message, v5_packet, v9_packet, Flow};
use minetrace_flows::FlowRecord;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn flow(port: u16) -> Flow {
    Flow {
        src: "10.0.0.5".parse().unwrap(),
        dst: "198.51.100.7".parse().unwrap(),
        src_port: 50123,
        dst_port: port,
        proto: 6,
        packets: 40,
        bytes: 4000,
        rev_packets: 60,
        rev_bytes: 16000,
        flags: 0x18,
        start: 1_700_000_000,
        end: 1_700_000_300,
    }
}

fn collect(c: &mut Collector, secs: u64) -> Vec<(SocketAddr, FlowRecord)> {
    let stop = AtomicBool::new(false);
    let mut got = Vec::new();
    c.run(
        &stop,
        Some(Instant::now() + Duration::from_secs(secs)),
        &mut |from, r| got.push((from, r)),
        &mut |_, e| panic!("malformed datagram: {e}"),
    )
    .expect("collector");
    got
}

#[test]
fn netflow_v5_v9_and_ipfix_over_udp() {
    let mut c = Collector::bind("127.0.0.1:0".parse().unwrap()).expect("bind loopback");
    let to = c.local_addr().unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(&v5_packet(&[flow(3333), flow(4444)]), to)
        .unwrap();
    tx.send_to(&v9_packet(1, &[flow(5555)], true), to).unwrap();
    // Data with the template learned earlier from the same exporter and source id.
    tx.send_to(&v9_packet(1, &[flow(5556)], false), to).unwrap();
    tx.send_to(&ipfix_message(9, 1, &[flow(14444)], true), to)
        .unwrap();
    tx.send_to(&ipfix_message(9, 2, &[flow(14433)], false), to)
        .unwrap();
    let got = collect(&mut c, 1);
    let ports: Vec<u16> = got.iter().map(|(_, r)| r.dst_port).collect();
    assert_eq!(ports, vec![3333, 4444, 5555, 5556, 14444, 14433]);
    assert!(got.iter().all(|(from, _)| from.ip().is_loopback()));
    let records: Vec<u64> = got.iter().map(|(_, r)| r.record).collect();
    assert_eq!(records, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(got[5].1.bytes, [4000, 16000]);
    let s = c.stats();
    assert_eq!((s.datagrams, s.records, s.malformed), (5, 6, 0));
}

#[test]
fn templates_from_another_exporter_are_not_used() {
    let mut c = Collector::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let to = c.local_addr().unwrap();
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.send_to(&ipfix_message(1, 1, &[], true), to).unwrap();
    b.send_to(&ipfix_message(1, 1, &[flow(3333)], false), to)
        .unwrap();
    assert!(collect(&mut c, 1).is_empty());
}

#[test]
fn softflowd_exports_to_the_collector() {
    let capture = Path::new(SHARED).join("captures/benign");
    if !capture.exists() {
        println!("skipped: ../shared not present");
        return;
    }
    let Ok(out) = std::process::Command::new("softflowd").arg("-h").output() else {
        println!("skipped: softflowd not installed");
        return;
    };
    let _ = out;
    // The largest TCP-rich capture gives many flows.
    let mut files: Vec<_> = std::fs::read_dir(&capture)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort_by_key(|p| std::cmp::Reverse(std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)));
    let pcap = files.first().expect("a pcap").clone();
    for version in ["9", "10"] {
        let mut c = Collector::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = c.local_addr().unwrap();
        let status = std::process::Command::new("softflowd")
            .args(["-r"])
            .arg(&pcap)
            .args(["-n", &to.to_string(), "-v", version, "-D"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let Ok(status) = status else {
            println!("skipped: softflowd did not start");
            return;
        };
        assert!(
            status.success(),
            "softflowd -v {version} failed on {}",
            pcap.display()
        );
        let got = collect(&mut c, 1);
        println!(
            "softflowd -v {version} on {}: {} records",
            pcap.display(),
            got.len()
        );
        assert!(!got.is_empty(), "no records from softflowd -v {version}");
        assert!(got
            .iter()
            .all(|(_, r)| r.first_us <= r.last_us && r.packets[0] > 0));
    }
}
