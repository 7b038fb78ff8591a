//! Evidence first, then the response: runs alone in its own test binary because `--respond kill`
//! acts on every confirmed miner the scan sees.

use minetrace_host::{ScanConfig, Scanner};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Bounded whole-file read for tests.
fn slurp(p: impl AsRef<std::path::Path>) -> Result<Vec<u8>, minetrace_core::io::ReadError> {
    minetrace_core::io::read_bounded(p.as_ref(), 256 * 1024 * 1024)
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn evidence_is_saved_before_a_response() {
    let evidence = tempfile::tempdir().unwrap();
    let mut g = Guard(
        Command::new("bash")
            .arg("-c")
            .arg("exec -a 'xmrig --url=stratum+ssl://pool.example.org:443 --donate-level=0' sleep 60")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = g.0.id();
    for _ in 0..200 {
        if slurp(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|b| String::from_utf8_lossy(&b).contains("stratum+ssl"))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut s = Scanner::new(ScanConfig {
        root: PathBuf::from("/"),
        cpu_window: Duration::ZERO,
        file_checks: false,
        hidden_pid_probe: false,
        gpu: false,
        evidence_dir: Some(evidence.path().to_path_buf()),
        respond: Some(minetrace_host::Response::Kill),
        // Only our own child: the machine is shared with other tests.
        respond_only: Some(vec![pid]),
        ..ScanConfig::default()
    });
    let report = s.scan();
    let f = report
        .findings
        .iter()
        .find(|f| {
            f.detector == "host-miner-process"
                && f.evidence.process.as_ref().is_some_and(|p| p.pid == pid)
        })
        .expect("miner finding");
    let dir = f
        .evidence
        .extra
        .get("evidence_dir")
        .and_then(|v| v.as_str())
        .expect("evidence dir recorded");
    let snap: serde_json::Value =
        serde_json::from_slice(&slurp(Path::new(dir).join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(snap["process"]["pid"], pid);
    assert!(snap["environment_keys"].as_array().is_some());
    assert!(Path::new(dir).join("exe").is_file(), "executable copied");
    let response = f
        .evidence
        .extra
        .get("response")
        .and_then(|v| v.as_str())
        .unwrap();
    assert!(response.contains("killed"), "{response}");
    // The process is gone.
    let status = g.0.wait().unwrap();
    assert!(!status.success());
}
