//! The disk spool: append-only JSON Lines, fsynced, drained in order after an outage.
//!
//! Draining records how far it got (`spool.offset`, fsynced after each acknowledged batch), so a
//! crash mid-drain resends at most one batch, which the server recognises as duplicates.

use crate::{Client, ClientError, SubmitOutcome, BATCH};
use minetrace_core::Finding;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Longest spooled line read back (one finding).
const MAX_LINE: usize = 4 * 1024 * 1024;

/// Most bytes a spool holds by default: a long outage fills the disk no further; findings that
/// do not fit are refused with an error (the caller counts them as not delivered).
pub const MAX_SPOOL_BYTES: u64 = 1 << 30;

/// A directory holding `spool.jsonl` (pending findings) and `spool.offset` (drain progress).
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
}

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainOutcome {
    pub sent: usize,
    pub accepted: usize,
    pub duplicates: usize,
    /// Lines the server refused for good (moved to `rejected.jsonl`), or unreadable lines.
    pub rejected: usize,
}

impl Spool {
    pub fn open(dir: &Path) -> Result<Spool, ClientError> {
        std::fs::create_dir_all(dir).map_err(|e| ClientError::Spool {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes: MAX_SPOOL_BYTES,
        })
    }

    /// The same spool holding at most `max_bytes` (sent findings included until it is emptied).
    pub fn with_limit(mut self, max_bytes: u64) -> Spool {
        self.max_bytes = max_bytes;
        self
    }

    fn file(&self) -> PathBuf {
        self.dir.join("spool.jsonl")
    }
    fn offset_file(&self) -> PathBuf {
        self.dir.join("spool.offset")
    }
    fn err(&self, path: &Path, e: impl std::fmt::Display) -> ClientError {
        ClientError::Spool {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Appends findings and syncs them to disk before returning.
    pub fn push(&self, findings: &[Finding]) -> Result<(), ClientError> {
        let path = self.file();
        let mut buf = Vec::new();
        for f in findings {
            buf.extend_from_slice(f.to_json_line().as_bytes());
            buf.push(b'\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| self.err(&path, e))?;
        let len = file.metadata().map_err(|e| self.err(&path, e))?.len();
        if len.saturating_add(buf.len() as u64) > self.max_bytes {
            return Err(self.err(
                &path,
                format!(
                    "spool full ({len} of {} bytes): {} finding(s) not kept",
                    self.max_bytes,
                    findings.len()
                ),
            ));
        }
        file.write_all(&buf).map_err(|e| self.err(&path, e))?;
        file.sync_data().map_err(|e| self.err(&path, e))
    }

    /// Whether anything waits, from the file's length and the drain offset (no reading: it is
    /// asked before every submission, and a spool can be large after an outage).
    pub fn has_pending(&self) -> Result<bool, ClientError> {
        let len = match std::fs::metadata(self.file()) {
            Ok(m) => m.len(),
            Err(_) => return Ok(false),
        };
        Ok(len > self.offset()?)
    }

    /// Findings waiting (lines after the drain offset).
    pub fn pending(&self) -> Result<usize, ClientError> {
        let path = self.file();
        let Ok(file) = File::open(&path) else {
            return Ok(0);
        };
        let mut reader = BufReader::new(file);
        reader
            .seek(SeekFrom::Start(self.offset()?))
            .map_err(|e| self.err(&path, e))?;
        Ok(reader.split(b'\n').count())
    }

    fn offset(&self) -> Result<u64, ClientError> {
        match minetrace_core::io::read_bounded_string(&self.offset_file(), 64) {
            Ok(t) => Ok(t.trim().parse().unwrap_or(0)),
            Err(_) => Ok(0),
        }
    }

    fn set_offset(&self, off: u64) -> Result<(), ClientError> {
        let path = self.offset_file();
        let tmp = self.dir.join("spool.offset.tmp");
        let mut f = File::create(&tmp).map_err(|e| self.err(&tmp, e))?;
        f.write_all(off.to_string().as_bytes())
            .map_err(|e| self.err(&tmp, e))?;
        f.sync_data().map_err(|e| self.err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| self.err(&path, e))
    }

    /// Sends everything spooled, in order, in batches. Stops at the first transient failure
    /// (what was acknowledged stays drained); empties the spool when all is sent.
    pub fn drain(&self, client: &Client) -> Result<DrainOutcome, ClientError> {
        let path = self.file();
        let mut out = DrainOutcome::default();
        let Ok(file) = File::open(&path) else {
            return Ok(out);
        };
        let mut reader = BufReader::new(file);
        let mut offset = self.offset()?;
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| self.err(&path, e))?;
        loop {
            let mut batch = Vec::new();
            let mut raw_lines: Vec<Vec<u8>> = Vec::new();
            let mut consumed = 0u64;
            while batch.len() < BATCH {
                let mut line = Vec::new();
                let n = std::io::Read::take(&mut reader, MAX_LINE as u64 + 1)
                    .read_until(b'\n', &mut line)
                    .map_err(|e| self.err(&path, e))?;
                if n == 0 {
                    break;
                }
                if !line.ends_with(b"\n") {
                    // A torn last line (crash during push) or an oversized one: stop here.
                    if n > MAX_LINE {
                        out.rejected += 1;
                        consumed += n as u64;
                        continue;
                    }
                    break;
                }
                consumed += n as u64;
                match serde_json::from_slice::<Finding>(&line) {
                    Ok(f) => {
                        batch.push(f);
                        raw_lines.push(line);
                    }
                    Err(_) => {
                        self.reject(&[line])?;
                        out.rejected += 1;
                    }
                }
            }
            if batch.is_empty() && consumed == 0 {
                break;
            }
            if !batch.is_empty() {
                match client.submit(&batch) {
                    Ok(SubmitOutcome {
                        accepted,
                        duplicates,
                    }) => {
                        out.sent += batch.len();
                        out.accepted += accepted;
                        out.duplicates += duplicates;
                    }
                    Err(ClientError::Rejected { status, .. })
                        if (400..500).contains(&status) && status != 401 && status != 403 =>
                    {
                        // The server will never take these: keep them aside, do not block the rest.
                        self.reject(&raw_lines)?;
                        out.rejected += raw_lines.len();
                    }
                    Err(e) => return Err(e),
                }
            }
            offset += consumed;
            self.set_offset(offset)?;
        }
        // Everything before the offset is delivered; start a fresh spool.
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if offset >= len {
            std::fs::remove_file(&path).map_err(|e| self.err(&path, e))?;
            let _ = std::fs::remove_file(self.offset_file());
        }
        Ok(out)
    }

    fn reject(&self, lines: &[Vec<u8>]) -> Result<(), ClientError> {
        let path = self.dir.join("rejected.jsonl");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| self.err(&path, e))?;
        for l in lines {
            f.write_all(l).map_err(|e| self.err(&path, e))?;
        }
        f.sync_data().map_err(|e| self.err(&path, e))
    }

    /// Drains what is waiting, then submits `findings`; when the server is unreachable the
    /// findings are spooled instead (and `Ok` says how many were spooled).
    pub fn submit_or_spool(
        &self,
        client: &Client,
        findings: &[Finding],
    ) -> Result<SpoolResult, ClientError> {
        if self.has_pending()? {
            match self.drain(client) {
                Ok(_) => {}
                Err(e) if e.is_transient() => {
                    self.push(findings)?;
                    return Ok(SpoolResult::Spooled(findings.len()));
                }
                Err(e) => return Err(e),
            }
        }
        match client.submit(findings) {
            Ok(o) => Ok(SpoolResult::Sent(o)),
            Err(e) if e.is_transient() => {
                self.push(findings)?;
                Ok(SpoolResult::Spooled(findings.len()))
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether findings went to the server or to the spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpoolResult {
    Sent(SubmitOutcome),
    Spooled(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use minetrace_core::{FindingKind, Timestamp};

    fn findings(n: i64) -> Vec<Finding> {
        (0..n)
            .map(|i| {
                let mut f = Finding::new("stratum", FindingKind::Network, Timestamp(i));
                f.assign_id();
                f
            })
            .collect()
    }

    #[test]
    fn a_full_spool_refuses_more_and_keeps_what_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert!(!spool.has_pending().unwrap());
        spool.push(&findings(1)).unwrap();
        let one = std::fs::metadata(spool.file()).unwrap().len();
        assert!(spool.has_pending().unwrap());

        // Room for two more lines of the same size, not three.
        let spool = spool.with_limit(one * 3 + one / 2);
        spool.push(&findings(2)).unwrap();
        let err = spool.push(&findings(1)).unwrap_err().to_string();
        assert!(err.contains("spool full"), "{err}");
        assert!(err.contains("spool.jsonl"), "{err}");
        assert_eq!(spool.pending().unwrap(), 3);
        assert_eq!(std::fs::metadata(spool.file()).unwrap().len(), one * 3);
    }
}
