//! Evidence pcaps: the packets of each detected session, written as a classic pcap with a JSON
//! sidecar carrying the finding and SHA-256 hashes of the session pcap and of the source capture.
//! A second pass over the source keeps memory independent of capture size.

use crate::capture::{CaptureError, CaptureReader};
use crate::decode::decode;
use minetrace_core::Finding;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Packets written per session at most (the sidecar says when the limit cut a session).
pub const MAX_PACKETS_PER_SESSION: usize = 20_000;
/// Sessions written per source file at most.
pub const MAX_SESSIONS: usize = 1_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One session written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionFile {
    pub finding_id: String,
    pub pcap: PathBuf,
    pub sidecar: PathBuf,
    pub packets: usize,
    pub pcap_sha256: String,
}

struct Session {
    finding: Finding,
    a: SocketAddr,
    b: SocketAddr,
    start: i64,
    end: i64,
    link: Option<u32>,
    records: Vec<u8>,
    packets: usize,
    truncated: bool,
}

/// Writes `<dir>/<finding id>.pcap` and `<dir>/<finding id>.json` for every finding of `source`
/// that names both endpoints.
pub fn write_sessions(
    source: &Path,
    findings: &[Finding],
    dir: &Path,
) -> Result<Vec<SessionFile>, EvidenceError> {
    let mut sessions: Vec<Session> = findings
        .iter()
        .filter_map(|f| {
            let (c, s) = (f.client.as_ref()?, f.server.as_ref()?);
            Some(Session {
                finding: f.clone(),
                a: SocketAddr::new(c.ip, c.port),
                b: SocketAddr::new(s.ip, s.port),
                // A second either side: stamps in findings are the flow's, packets may straddle.
                start: f.first_seen.0 - 1_000_000,
                end: f.last_seen.0 + 1_000_000,
                link: None,
                records: Vec::new(),
                packets: 0,
                truncated: false,
            })
        })
        .take(MAX_SESSIONS)
        .collect();
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_pair: HashMap<(SocketAddr, SocketAddr), Vec<usize>> = HashMap::new();
    for (i, s) in sessions.iter().enumerate() {
        let key = if s.a <= s.b { (s.a, s.b) } else { (s.b, s.a) };
        by_pair.entry(key).or_default().push(i);
    }
    let mut source_hash = Sha256::new();
    {
        let mut reader = CaptureReader::open(source)?;
        loop {
            let pkt = match reader.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                // Keep what was read before a damaged record.
                Err(_) => break,
            };
            let Ok(d) = decode(pkt.link, pkt.data) else {
                continue;
            };
            let x = SocketAddr::new(d.src, d.sport);
            let y = SocketAddr::new(d.dst, d.dport);
            let key = if x <= y { (x, y) } else { (y, x) };
            let Some(idx) = by_pair.get(&key) else {
                continue;
            };
            for &i in idx {
                let s = &mut sessions[i];
                if pkt.ts.0 < s.start || pkt.ts.0 > s.end {
                    continue;
                }
                if *s.link.get_or_insert(pkt.link.0) != pkt.link.0 {
                    continue;
                }
                if s.packets >= MAX_PACKETS_PER_SESSION {
                    s.truncated = true;
                    continue;
                }
                let secs = pkt.ts.0.div_euclid(1_000_000) as u32;
                let micros = pkt.ts.0.rem_euclid(1_000_000) as u32;
                s.records.extend_from_slice(&secs.to_le_bytes());
                s.records.extend_from_slice(&micros.to_le_bytes());
                s.records
                    .extend_from_slice(&(pkt.data.len() as u32).to_le_bytes());
                s.records.extend_from_slice(&pkt.orig_len.to_le_bytes());
                s.records.extend_from_slice(pkt.data);
                s.packets += 1;
            }
        }
    }
    // Hash the source in a separate bounded-memory pass.
    let mut file = std::fs::File::open(source).map_err(|e| EvidenceError::Write {
        path: source.to_path_buf(),
        source: e,
    })?;
    std::io::copy(&mut file, &mut HashWriter(&mut source_hash)).map_err(|e| {
        EvidenceError::Write {
            path: source.to_path_buf(),
            source: e,
        }
    })?;
    let source_sha = hex::encode(source_hash.finalize());

    let mut written = Vec::new();
    for s in sessions {
        let id = if s.finding.id.is_empty() {
            let mut f = s.finding.clone();
            f.assign_id();
            f.id
        } else {
            s.finding.id.clone()
        };
        let mut pcap = Vec::with_capacity(24 + s.records.len());
        pcap.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        pcap.extend_from_slice(&2u16.to_le_bytes());
        pcap.extend_from_slice(&4u16.to_le_bytes());
        pcap.extend_from_slice(&0i32.to_le_bytes());
        pcap.extend_from_slice(&0u32.to_le_bytes());
        pcap.extend_from_slice(&262_144u32.to_le_bytes());
        pcap.extend_from_slice(&s.link.unwrap_or(1).to_le_bytes());
        pcap.extend_from_slice(&s.records);
        let pcap_sha = hex::encode(Sha256::digest(&pcap));
        let pcap_path = dir.join(format!("{id}.pcap"));
        let sidecar_path = dir.join(format!("{id}.json"));
        write_file(&pcap_path, &pcap)?;
        let sidecar = serde_json::json!({
            "finding": s.finding,
            "pcap": pcap_path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "pcap_sha256": pcap_sha,
            "packets": s.packets,
            "truncated_at_limit": s.truncated,
            "source": source.display().to_string(),
            "source_sha256": source_sha,
        });
        let text = serde_json::to_vec_pretty(&sidecar).unwrap_or_default();
        write_file(&sidecar_path, &text)?;
        written.push(SessionFile {
            finding_id: id,
            pcap: pcap_path,
            sidecar: sidecar_path,
            packets: s.packets,
            pcap_sha256: pcap_sha,
        });
    }
    Ok(written)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    let err = |source| EvidenceError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::create(path).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
