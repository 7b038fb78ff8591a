//! Evidence first: a snapshot of a process (command line, environment keys, maps summary,
//! sockets, parent chain, executable hash and an optional copy) is written before any response.
//! `kill` and `quarantine` act only on a process whose snapshot is on disk, and only when the
//! process is still the same instance (pid and start time).

use crate::error::HostError;
use crate::procfs::{read_stat, ProcInfo};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What to do with a confirmed miner after its evidence is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// SIGKILL.
    Kill,
    /// SIGSTOP (resumable with SIGCONT) and the executable's permissions removed.
    Quarantine,
}

/// Largest executable copied into the evidence directory.
pub const MAX_EXE_COPY: u64 = 512 * 1024 * 1024;

/// Writes `<dir>/<pid>-<starttime>/snapshot.json` (and `exe` when `copy_exe`), each file synced.
/// Returns the snapshot directory.
pub fn save_snapshot(
    dir: &Path,
    proc_root: &Path,
    info: &ProcInfo,
    snapshot: &serde_json::Value,
    copy_exe: bool,
) -> Result<PathBuf, HostError> {
    let err = |message: String| HostError::Evidence {
        pid: info.pid,
        message,
    };
    let sub = dir.join(format!("{}-{}", info.pid, info.stat.starttime));
    std::fs::create_dir_all(&sub).map_err(|e| err(format!("{}: {e}", sub.display())))?;
    let mut value = snapshot.clone();
    if copy_exe {
        let src = proc_root.join(info.pid.to_string()).join("exe");
        match copy_hashed(&src, &sub.join("exe"), MAX_EXE_COPY) {
            Ok(hash) => {
                value["exe_copy"] = serde_json::json!({"path": sub.join("exe").display().to_string(), "sha256": hash});
            }
            Err(e) => value["exe_copy_error"] = e.to_string().into(),
        }
    }
    let path = sub.join("snapshot.json");
    let text = serde_json::to_string_pretty(&value).map_err(|e| err(e.to_string()))?;
    let mut f =
        std::fs::File::create(&path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    f.sync_all()
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    Ok(sub)
}

fn copy_hashed(src: &Path, dst: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut input = std::fs::File::open(src)?.take(limit);
    let mut out = std::fs::File::create(dst)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or(&[]);
        h.update(chunk);
        out.write_all(chunk)?;
    }
    out.sync_all()?;
    Ok(hex::encode(h.finalize()))
}

/// Acts on a process whose snapshot exists in `snapshot_dir`.
pub fn respond(
    proc_root: &Path,
    info: &ProcInfo,
    snapshot_dir: &Path,
    action: Response,
) -> Result<String, HostError> {
    let err = |message: String| HostError::Evidence {
        pid: info.pid,
        message,
    };
    if !snapshot_dir.join("snapshot.json").is_file() {
        return Err(err("no snapshot on disk: refusing to act".into()));
    }
    let now = read_stat(proc_root, info.pid)
        .map_err(|e| err(format!("gone before the response: {e}")))?;
    if now.starttime != info.stat.starttime {
        return Err(err(
            "pid now belongs to another process: refusing to act".into()
        ));
    }
    let pid =
        rustix::process::Pid::from_raw(info.pid as i32).ok_or_else(|| err("invalid pid".into()))?;
    match action {
        Response::Kill => {
            rustix::process::kill_process(pid, rustix::process::Signal::KILL)
                .map_err(|e| err(format!("kill: {e}")))?;
            Ok(format!(
                "process {} killed (SIGKILL) after evidence saved to {}",
                info.pid,
                snapshot_dir.display()
            ))
        }
        Response::Quarantine => {
            rustix::process::kill_process(pid, rustix::process::Signal::STOP)
                .map_err(|e| err(format!("stop: {e}")))?;
            let mut msg = format!(
                "process {} stopped (SIGSTOP; resume with SIGCONT)",
                info.pid
            );
            if let Some(exe) = info
                .exe
                .as_deref()
                .filter(|e| !e.ends_with(" (deleted)") && e.starts_with('/'))
            {
                use std::os::unix::fs::PermissionsExt;
                match std::fs::set_permissions(exe, std::fs::Permissions::from_mode(0o000)) {
                    Ok(()) => msg.push_str(&format!(
                        "; {exe} made unreadable and non-executable (mode 000)"
                    )),
                    Err(e) => msg.push_str(&format!("; could not change {exe}: {e}")),
                }
            }
            Ok(msg)
        }
    }
}
