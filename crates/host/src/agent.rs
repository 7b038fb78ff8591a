//! The agent's plumbing: an append-only on-disk spool of findings (JSON Lines, fsync'd, bounded
//! in size), a cursor of what the server has acknowledged, and a small blocking HTTP uploader
//! (`POST <server>/api/v1/ingest/findings`, body `{"findings":[...]}`, bearer token). When the
//! server is unreachable findings stay in the spool and are sent later; ids are stable, so a
//! finding seen again is not spooled twice and the server can deduplicate what it gets twice.

use crate::error::HostError;
use minetrace_core::Finding;
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Size of one spool segment before a new one is started.
const SEGMENT_BYTES: u64 = 1024 * 1024;
/// Longest spooled line read back (a finding is far smaller).
const MAX_LINE: usize = 1024 * 1024;
const MAX_IDS: usize = 200_000;

/// Append-only spool of findings in `dir/spool-<n>.jsonl`, with `dir/cursor` naming the first
/// byte not yet acknowledged by the server.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    /// Findings dropped because the spool was full (oldest segments removed).
    pub dropped_segments: u64,
}

/// A position in the spool: segment number and byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Cursor {
    pub segment: u64,
    pub offset: u64,
}

impl Spool {
    /// Opens (creating) a spool; remembers the ids already spooled so they are not added again.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, HostError> {
        std::fs::create_dir_all(dir).map_err(|e| spool_err(dir, e.to_string()))?;
        let mut s = Spool {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(SEGMENT_BYTES),
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            dropped_segments: 0,
        };
        for seg in s.segments()? {
            for line in read_lines(&s.segment_path(seg), 0)? {
                if let Some(id) = line.1.get("id").and_then(|v| v.as_str()) {
                    s.remember(id.to_string());
                }
            }
        }
        Ok(s)
    }

    fn remember(&mut self, id: String) {
        if self.seen.insert(id.clone()) {
            self.seen_order.push_back(id);
            if self.seen_order.len() > MAX_IDS {
                if let Some(old) = self.seen_order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
    }

    fn segment_path(&self, n: u64) -> PathBuf {
        self.dir.join(format!("spool-{n:012}.jsonl"))
    }

    /// Segment numbers present, ascending.
    pub fn segments(&self) -> Result<Vec<u64>, HostError> {
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| spool_err(&self.dir, e.to_string()))?;
        let mut v: Vec<u64> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let name = name.to_str()?;
                name.strip_prefix("spool-")?
                    .strip_suffix(".jsonl")?
                    .parse()
                    .ok()
            })
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Appends the findings not spooled before; returns those that were new.
    pub fn append(&mut self, findings: &[Finding]) -> Result<Vec<Finding>, HostError> {
        let mut fresh = Vec::new();
        for f in findings {
            let mut f = f.clone();
            if f.id.is_empty() {
                f.assign_id();
            }
            if self.seen.contains(&f.id) {
                continue;
            }
            fresh.push(f);
        }
        if fresh.is_empty() {
            return Ok(fresh);
        }
        let segs = self.segments()?;
        let mut seg = segs.last().copied().unwrap_or(0);
        let path = self.segment_path(seg);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() >= SEGMENT_BYTES) {
            seg += 1;
        }
        let path = self.segment_path(seg);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| spool_err(&path, e.to_string()))?;
        let mut buf = String::new();
        for f in &fresh {
            buf.push_str(&f.to_json_line());
            buf.push('\n');
        }
        file.write_all(buf.as_bytes())
            .map_err(|e| spool_err(&path, e.to_string()))?;
        file.sync_data()
            .map_err(|e| spool_err(&path, e.to_string()))?;
        for f in &fresh {
            self.remember(f.id.clone());
        }
        self.enforce_limit()?;
        Ok(fresh)
    }

    /// Removes the oldest segments while the spool is over its size limit.
    fn enforce_limit(&mut self) -> Result<(), HostError> {
        loop {
            let segs = self.segments()?;
            let total: u64 = segs
                .iter()
                .filter_map(|s| std::fs::metadata(self.segment_path(*s)).ok())
                .map(|m| m.len())
                .sum();
            if total <= self.max_bytes || segs.len() <= 1 {
                return Ok(());
            }
            let oldest = segs[0];
            let _ = std::fs::remove_file(self.segment_path(oldest));
            self.dropped_segments += 1;
        }
    }

    /// The acknowledged position.
    pub fn cursor(&self) -> Cursor {
        let path = self.dir.join("cursor");
        minetrace_core::io::read_head(&path, 128)
            .ok()
            .and_then(|b| {
                let t = String::from_utf8_lossy(&b).into_owned();
                let (s, o) = t.trim().split_once(' ')?;
                Some(Cursor {
                    segment: s.parse().ok()?,
                    offset: o.parse().ok()?,
                })
            })
            .unwrap_or_default()
    }

    fn set_cursor(&self, c: Cursor) -> Result<(), HostError> {
        let tmp = self.dir.join("cursor.tmp");
        let path = self.dir.join("cursor");
        let mut f = std::fs::File::create(&tmp).map_err(|e| spool_err(&tmp, e.to_string()))?;
        f.write_all(format!("{} {}\n", c.segment, c.offset).as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| spool_err(&tmp, e.to_string()))?;
        std::fs::rename(&tmp, &path).map_err(|e| spool_err(&path, e.to_string()))
    }

    /// Up to `max` spooled findings after the cursor, with the position after each.
    pub fn pending(&self, max: usize) -> Result<Vec<(Cursor, serde_json::Value)>, HostError> {
        let cur = self.cursor();
        let mut out = Vec::new();
        for seg in self.segments()?.into_iter().filter(|s| *s >= cur.segment) {
            let from = if seg == cur.segment { cur.offset } else { 0 };
            for (end, v) in read_lines(&self.segment_path(seg), from)? {
                out.push((
                    Cursor {
                        segment: seg,
                        offset: end,
                    },
                    v,
                ));
                if out.len() >= max {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// Marks everything up to `c` as delivered and deletes fully delivered older segments.
    pub fn acknowledge(&self, c: Cursor) -> Result<(), HostError> {
        self.set_cursor(c)?;
        for seg in self.segments()? {
            if seg < c.segment {
                let _ = std::fs::remove_file(self.segment_path(seg));
            }
        }
        Ok(())
    }

    /// Sends everything pending in batches of `batch`; stops at the first failure (kept for later).
    pub fn drain(&self, uploader: &Uploader, batch: usize) -> Result<usize, HostError> {
        let mut sent = 0;
        loop {
            let items = self.pending(batch.max(1))?;
            let Some(last) = items.last().map(|(c, _)| *c) else {
                return Ok(sent);
            };
            let values: Vec<serde_json::Value> = items.into_iter().map(|(_, v)| v).collect();
            uploader.post(&values)?;
            sent += values.len();
            self.acknowledge(last)?;
        }
    }
}

/// Reads JSON lines from `offset`; returns (offset after the line, value). A torn last line (a
/// crash mid-write) and malformed lines are skipped.
fn read_lines(path: &Path, offset: u64) -> Result<Vec<(u64, serde_json::Value)>, HostError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(spool_err(path, e.to_string())),
    };
    let mut reader = std::io::BufReader::new(file);
    reader
        .seek(SeekFrom::Start(offset))
        .map_err(|e| spool_err(path, e.to_string()))?;
    let mut pos = offset;
    let mut out = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| spool_err(path, e.to_string()))?;
        if n == 0 || line.last() != Some(&b'\n') {
            break; // end, or a torn line
        }
        pos += n as u64;
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) {
            out.push((pos, v));
        }
    }
    Ok(out)
}

use std::io::Read;

fn spool_err(path: &Path, message: String) -> HostError {
    HostError::Spool {
        path: path.to_path_buf(),
        message,
    }
}

/// Posts batches of findings to the server.
pub struct Uploader {
    url: String,
    token: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader").field("url", &self.url).finish()
    }
}

/// The ingest path on the server.
pub const INGEST_PATH: &str = "/api/v1/ingest/findings";

impl Uploader {
    pub fn new(server: &str, token: &str, timeout: Duration) -> Uploader {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .build();
        Uploader {
            url: format!("{}{INGEST_PATH}", server.trim_end_matches('/')),
            token: token.to_string(),
            agent: ureq::Agent::new_with_config(config),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn post(&self, findings: &[serde_json::Value]) -> Result<(), HostError> {
        let body = serde_json::json!({ "findings": findings }).to_string();
        self.agent
            .post(&self.url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(body.as_str())
            .map(|_| ())
            .map_err(|e| HostError::Upload {
                url: self.url.clone(),
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minetrace_core::{FindingKind, Timestamp};

    fn finding(n: u32) -> Finding {
        let mut f = Finding::new("host-test", FindingKind::Host, Timestamp(n as i64));
        f.reason(format!("n={n}"));
        f.assign_id();
        f
    }

    #[test]
    fn append_dedupes_and_survives_reopen() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::open(d.path(), 10 << 20).unwrap();
        assert_eq!(s.append(&[finding(1), finding(2)]).unwrap().len(), 2);
        assert_eq!(s.append(&[finding(2), finding(3)]).unwrap().len(), 1);
        let mut s2 = Spool::open(d.path(), 10 << 20).unwrap();
        assert_eq!(s2.append(&[finding(1)]).unwrap().len(), 0);
        assert_eq!(s2.pending(100).unwrap().len(), 3);
    }

    #[test]
    fn acknowledge_moves_the_cursor_and_torn_lines_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::open(d.path(), 10 << 20).unwrap();
        s.append(&[finding(1), finding(2), finding(3)]).unwrap();
        let p = s.pending(2).unwrap();
        s.acknowledge(p[1].0).unwrap();
        let rest = s.pending(10).unwrap();
        assert_eq!(rest.len(), 1);
        // A crash mid-write leaves a partial line: it is not returned.
        let seg = d.path().join("spool-000000000000.jsonl");
        let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(b"{\"id\":\"torn").unwrap();
        assert_eq!(s.pending(10).unwrap().len(), 1);
    }

    #[test]
    fn unreachable_server_is_an_error_and_keeps_the_spool() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Spool::open(d.path(), 10 << 20).unwrap();
        s.append(&[finding(1)]).unwrap();
        // Port 9 on loopback: nothing listens (discard is not run here).
        let up = Uploader::new("http://127.0.0.1:9", "t", Duration::from_secs(2));
        assert!(s.drain(&up, 10).is_err());
        assert_eq!(s.pending(10).unwrap().len(), 1);
    }
}
