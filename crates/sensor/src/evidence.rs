//! Evidence for live capture: each worker keeps its most recent packets in memory (bounded by
//! bytes); when a finding is made, that session's packets become a pcap with a JSON sidecar in a
//! directory whose total size is bounded (oldest sessions removed first).

use minetrace_core::{Finding, Timestamp};
use minetrace_net::capture::LinkType;
use minetrace_net::decode::decode;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub struct RecentPackets {
    packets: VecDeque<(Timestamp, Box<[u8]>)>,
    bytes: usize,
    limit: usize,
}

impl RecentPackets {
    pub fn new(limit: usize) -> Self {
        RecentPackets {
            packets: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    pub fn push(&mut self, ts: Timestamp, data: &[u8]) {
        self.bytes += data.len() + 16;
        self.packets.push_back((ts, data.into()));
        while self.bytes > self.limit {
            match self.packets.pop_front() {
                Some((_, d)) => self.bytes -= d.len() + 16,
                None => break,
            }
        }
    }
}

pub struct EvidenceRing {
    dir: PathBuf,
    max_bytes: u64,
    files: VecDeque<(PathBuf, u64)>,
    total: u64,
}

impl EvidenceRing {
    pub fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut existing: Vec<(std::time::SystemTime, PathBuf, u64)> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                if !m.is_file() {
                    return None;
                }
                Some((m.modified().ok()?, e.path(), m.len()))
            })
            .collect();
        existing.sort();
        let total = existing.iter().map(|(_, _, l)| l).sum();
        Ok(EvidenceRing {
            dir: dir.to_path_buf(),
            max_bytes,
            files: existing.into_iter().map(|(_, p, l)| (p, l)).collect(),
            total,
        })
    }

    pub fn write_session(&mut self, f: &Finding, recent: &RecentPackets) -> std::io::Result<()> {
        let (Some(c), Some(s)) = (&f.client, &f.server) else {
            return Ok(());
        };
        let a = SocketAddr::new(c.ip, c.port);
        let b = SocketAddr::new(s.ip, s.port);
        let mut pcap = Vec::new();
        pcap.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        pcap.extend_from_slice(&2u16.to_le_bytes());
        pcap.extend_from_slice(&4u16.to_le_bytes());
        pcap.extend_from_slice(&[0; 8]);
        pcap.extend_from_slice(&262_144u32.to_le_bytes());
        pcap.extend_from_slice(&LinkType::ETHERNET.0.to_le_bytes());
        let mut packets = 0;
        for (ts, data) in &recent.packets {
            let Ok(d) = decode(LinkType::ETHERNET, data) else {
                continue;
            };
            let x = SocketAddr::new(d.src, d.sport);
            let y = SocketAddr::new(d.dst, d.dport);
            if !((x == a && y == b) || (x == b && y == a)) {
                continue;
            }
            pcap.extend_from_slice(&(ts.0.div_euclid(1_000_000) as u32).to_le_bytes());
            pcap.extend_from_slice(&(ts.0.rem_euclid(1_000_000) as u32).to_le_bytes());
            pcap.extend_from_slice(&(data.len() as u32).to_le_bytes());
            pcap.extend_from_slice(&(data.len() as u32).to_le_bytes());
            pcap.extend_from_slice(data);
            packets += 1;
        }
        let sha = hex::encode(Sha256::digest(&pcap));
        let sidecar = serde_json::to_vec_pretty(&serde_json::json!({
            "finding": f,
            "pcap": format!("{}.pcap", f.id),
            "pcap_sha256": sha,
            "packets": packets,
            "note": "packets still held in the sensor's memory when the finding was made",
        }))
        .unwrap_or_default();
        for (name, bytes) in [
            (format!("{}.pcap", f.id), &pcap),
            (format!("{}.json", f.id), &sidecar),
        ] {
            let path = self.dir.join(name);
            let mut file = std::fs::File::create(&path)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            self.total += bytes.len() as u64;
            self.files.push_back((path, bytes.len() as u64));
        }
        while self.total > self.max_bytes && self.files.len() > 2 {
            if let Some((old, len)) = self.files.pop_front() {
                let _ = std::fs::remove_file(&old);
                self.total = self.total.saturating_sub(len);
            }
        }
        Ok(())
    }
}
