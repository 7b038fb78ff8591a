//! SHA-256 of executables, cached by (device, inode, mtime, size): a steady-state rescan hashes
//! nothing. Reads go through `/proc/<pid>/exe`, which still opens deleted and memfd executables.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Identity of an executable file's content as far as metadata can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub size: u64,
}

impl FileKey {
    pub fn of(path: &Path) -> std::io::Result<FileKey> {
        let m = std::fs::metadata(path)?;
        Ok(FileKey {
            dev: m.dev(),
            ino: m.ino(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            size: m.size(),
        })
    }
}

/// What is known about one executable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExeFacts {
    pub sha256: Option<String>,
    /// YARA rules that matched (namespace:rule).
    pub yara: Vec<String>,
    /// Why the file was not (fully) read.
    pub note: Option<String>,
}

/// Cache of [`ExeFacts`] keyed by [`FileKey`], bounded in entries.
#[derive(Debug, Default)]
pub struct ExeCache {
    entries: HashMap<FileKey, ExeFacts>,
    pub hits: u64,
    pub misses: u64,
}

const MAX_ENTRIES: usize = 8192;

impl ExeCache {
    pub fn get(&mut self, key: &FileKey) -> Option<&ExeFacts> {
        let hit = self.entries.get(key);
        if hit.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        hit
    }

    pub fn insert(&mut self, key: FileKey, facts: ExeFacts) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(key, facts);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Reads up to `limit` bytes of a file, hashing the whole file (streaming) while keeping only the
/// first `limit` bytes for rule scanning.
pub fn hash_and_head(path: &Path, limit: usize) -> std::io::Result<(String, Vec<u8>, bool)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut truncated = false;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or(&[]);
        hasher.update(chunk);
        let room = limit.saturating_sub(head.len());
        if room > 0 {
            head.extend_from_slice(chunk.get(..n.min(room)).unwrap_or(&[]));
        }
        if n > room {
            truncated = true;
        }
    }
    Ok((hex::encode(hasher.finalize()), head, truncated))
}
