//! Real processes, never real miners: renamed `sleep`s carrying miner-like command lines, a
//! CPU-burning look-alike, a process connected to a one-line Stratum test pool on 127.0.0.1, a
//! generated harmless executable carrying miner strings, a deleted executable and a memfd
//! execution. Every child is killed by a Drop guard.

use minetrace_core::{Confidence, Finding};
use minetrace_host::{ScanConfig, ScanReport, Scanner};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills and reaps the child when dropped, even when the test fails.
/// Bounded whole-file read for tests.
fn slurp(p: impl AsRef<std::path::Path>) -> Result<Vec<u8>, minetrace_core::io::ReadError> {
    minetrace_core::io::read_bounded(p.as_ref(), 256 * 1024 * 1024)
}

fn slurp_string(p: impl AsRef<std::path::Path>) -> Result<String, minetrace_core::io::ReadError> {
    slurp(p).map(|b| String::from_utf8_lossy(&b).into_owned())
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Guard {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

fn spawn_bash(script: &str) -> Guard {
    let child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bash");
    Guard(child)
}

/// Waits until the process has exec'd into its final command line.
fn wait_for_cmdline(pid: u32, needle: &str) {
    for _ in 0..200 {
        if let Ok(b) = slurp(format!("/proc/{pid}/cmdline")) {
            if String::from_utf8_lossy(&b).contains(needle) {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("process {pid} never showed {needle:?}");
}

fn wait_for_comm(pid: u32, comm: &str) {
    for _ in 0..200 {
        if slurp_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("process {pid} never became {comm:?}");
}

fn scanner(window_ms: u64) -> Scanner {
    Scanner::new(ScanConfig {
        root: PathBuf::from("/"),
        cpu_window: Duration::from_millis(window_ms),
        file_checks: false,
        hidden_pid_probe: false,
        gpu: false,
        ..ScanConfig::default()
    })
}

fn for_pid(report: &ScanReport, pid: u32) -> Vec<&Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.evidence.process.as_ref().is_some_and(|p| p.pid == pid))
        .collect()
}

fn detector<'a>(fs: &[&'a Finding], name: &str) -> &'a Finding {
    fs.iter()
        .find(|f| f.detector == name)
        .copied()
        .unwrap_or_else(|| panic!("no {name} finding in {fs:#?}"))
}

/// Attribution every process finding must carry: the account, the parent chain up to this test.
fn assert_attributed(f: &Finding, expect_loginuid: Option<u32>) {
    let p = f.evidence.process.as_ref().expect("process evidence");
    let me = std::process::id();
    assert_eq!(p.uid, Some(rustix::process::getuid().as_raw()));
    assert!(p.user.is_some(), "user name resolved from /etc/passwd");
    assert!(
        p.ancestry.iter().any(|a| a.starts_with(&format!("{me} "))),
        "ancestry {:?} reaches the test process {me}",
        p.ancestry
    );
    if let Some(l) = expect_loginuid {
        assert_eq!(p.loginuid, Some(l));
        assert!(p.session_id.is_some());
    }
}

const WALLET: &str = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";

/// Sets an audit login uid in the child when the kernel lets us (root without an immutable
/// loginuid); returns the uid expected in the finding.
fn loginuid_prefix() -> (String, Option<u32>) {
    let ok = Command::new("bash")
        .arg("-c")
        .arg("echo 4242 > /proc/self/loginuid")
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        (
            "echo 4242 > /proc/self/loginuid 2>/dev/null; ".into(),
            Some(4242),
        )
    } else {
        eprintln!("note: cannot set loginuid here; loginuid attribution not asserted");
        (String::new(), None)
    }
}

#[test]
fn renamed_process_with_miner_command_line_is_found_with_attribution() {
    let (prefix, loginuid) = loginuid_prefix();
    let g = spawn_bash(&format!(
        "{prefix}exec -a 'xmrig -o stratum+tcp://pool.example.org:3333 -u {WALLET} --donate-level 1 -a rx/0' sleep 60"
    ));
    wait_for_cmdline(g.pid(), "stratum+tcp");
    let report = scanner(0).scan();
    let fs = for_pid(&report, g.pid());
    let f = detector(&fs, "host-miner-process");
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.evidence.pool_host.as_deref(), Some("pool.example.org"));
    assert_eq!(f.evidence.algorithm.as_deref(), Some("rx/0"));
    assert_eq!(
        f.evidence.wallet.as_ref().and_then(|w| w.coin.as_deref()),
        Some("XMR")
    );
    assert!(
        f.reasons.iter().any(|r| r.contains("xmrig")),
        "{:?}",
        f.reasons
    );
    assert!(!f.id.is_empty());
    assert_attributed(f, loginuid);
}

#[test]
fn argv_rewritten_after_start_is_seen_on_the_next_scan() {
    // The same pid, first benign, then (after exec) carrying a pool URL: rescans re-read argv.
    // The script text itself must not carry the URL: it is assembled at run time.
    let g = spawn_bash(
        "sleep 1; s=stratum2; exec -a \"minerd --url=${s}+tcp://198.51.100.7:3333\" sleep 60",
    );
    let mut s = scanner(0);
    let first = s.scan();
    assert!(for_pid(&first, g.pid()).is_empty());
    wait_for_comm(g.pid(), "sleep");
    let second = s.scan();
    let fs = for_pid(&second, g.pid());
    assert_eq!(
        detector(&fs, "host-miner-process").confidence,
        Confidence::High
    );
}

#[test]
fn kernel_thread_masquerade_is_found() {
    let g = spawn_bash("exec -a '[kworker/0:2]' sleep 60");
    wait_for_cmdline(g.pid(), "kworker");
    let report = scanner(0).scan();
    let fs = for_pid(&report, g.pid());
    let f = detector(&fs, "host-masquerade");
    assert_eq!(f.confidence, Confidence::High);
    assert_attributed(f, None);
}

#[test]
fn cpu_burning_look_alike_is_found_and_python_is_not() {
    // A bounded busy loop that exits on its own, named like the Kinsing miner.
    let burner = spawn_bash(
        "exec -a kdevtmpfsi bash -c 'end=$((SECONDS+6)); while [ $SECONDS -lt $end ]; do :; done'",
    );
    // The real interpreter, not a version-manager shim (a shim is a shell script for a while).
    let python_exe = Command::new("python3")
        .arg("-c")
        .arg("import sys; print(sys.executable)")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    let python = Command::new(&python_exe)
        .arg("-c")
        .arg("import time\nend=time.time()+6\nwhile time.time()<end: pass")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .map(Guard);
    wait_for_cmdline(burner.pid(), "kdevtmpfsi");
    if let Some(p) = &python {
        // A pyenv shim runs bash before it execs python: wait for python itself.
        for _ in 0..250 {
            if slurp_string(format!("/proc/{}/comm", p.pid()))
                .is_ok_and(|c| c.starts_with("python"))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    // The threshold is lowered because this 2-core test machine is shared with parallel builds
    // and tests (a busy loop may get only a fraction of a core); the mechanism is the same.
    let mut s = Scanner::new(ScanConfig {
        root: PathBuf::from("/"),
        cpu_window: Duration::from_millis(1500),
        cpu_threshold: 5.0,
        file_checks: false,
        hidden_pid_probe: false,
        gpu: false,
        ..ScanConfig::default()
    });
    let report = s.scan();
    let fs = for_pid(&report, burner.pid());
    let cpu = detector(&fs, "host-cpu");
    assert_eq!(cpu.confidence, Confidence::High, "{:?}", cpu.reasons);
    assert!(cpu.evidence.process.as_ref().unwrap().cpu_percent.unwrap() > 5.0);
    // Its power: measured from RAPL where readable, else estimated from the busy cores; the
    // figure says which.
    let power = &cpu.evidence.extra["estimate"]["power"];
    assert!(power["value"].as_f64().unwrap() > 0.0, "{power}");
    let basis = power["basis"].as_str().unwrap();
    let rapl = std::path::Path::new("/sys/class/powercap/intel-rapl:0/energy_uj").exists();
    assert_eq!(
        basis,
        if rapl { "measured" } else { "estimated" },
        "{power}"
    );
    assert_eq!(
        detector(&fs, "host-masquerade").confidence,
        Confidence::High
    );
    assert_attributed(cpu, None);
    match python {
        Some(p) => {
            let py = for_pid(&report, p.pid());
            assert!(py.is_empty(), "python busy loop must stay silent: {py:#?}");
        }
        None => eprintln!("skipped python look-alike: python3 not installed"),
    }
}

#[test]
fn connection_to_a_local_test_pool_is_tied_to_the_process() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(
                b"{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[16384]}\n",
            );
            std::thread::sleep(Duration::from_secs(8));
        }
    });
    let g = spawn_bash(&format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port}; exec -a 'cpuminer -o stratum+tcp://127.0.0.1:{port} -u test.worker' sleep 60"
    ));
    wait_for_cmdline(g.pid(), "cpuminer");
    let report = scanner(0).scan();
    let fs = for_pid(&report, g.pid());
    let f = detector(&fs, "host-pool-connection");
    assert_eq!(f.confidence, Confidence::High, "{:?}", f.reasons);
    assert!(f
        .reasons
        .iter()
        .any(|r| r.contains(&format!("127.0.0.1:{port}"))));
    assert!(f.evidence.extra.contains_key("sockets"));
    assert_attributed(f, None);
    drop(g);
    let _ = server.join();
}

fn copy_exe(src: &str, dst: &Path, extra: &[u8]) {
    let mut bytes = slurp(src).unwrap();
    bytes.extend_from_slice(extra);
    std::fs::write(dst, &bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Miner strings for the generated executable, stored hex-encoded so that this test binary does
/// not itself carry them (it is scanned too when other tests run).
fn miner_strings() -> Vec<u8> {
    let mut v = b"\nharmless test data: ".to_vec();
    v.extend(hex::decode("584d5269672f2573206c696275762f2573").unwrap()); // agent format
    v.push(b'\n');
    v.extend(hex::decode("646f6e6174652e76322e786d7269672e636f6d").unwrap()); // donation host
    v.push(b'\n');
    v
}

#[test]
fn generated_executable_with_miner_strings_matches_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("worker");
    copy_exe("/bin/sleep", &exe, &miner_strings());
    let g = Guard(Command::new(&exe).arg("60").spawn().unwrap());
    wait_for_cmdline(g.pid(), "60");
    let report = scanner(0).scan();
    let fs = for_pid(&report, g.pid());
    let f = detector(&fs, "host-yara");
    assert!(
        f.reasons
            .iter()
            .any(|r| r.contains("minetrace_xmrig_family")),
        "{:?}",
        f.reasons
    );
    let expected = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(slurp(&exe).unwrap()))
    };
    assert_eq!(
        f.evidence.process.as_ref().unwrap().exe_sha256.as_deref(),
        Some(expected.as_str())
    );
    assert_attributed(f, None);
    // The same file is not read again on a rescan.
    let mut s = scanner(0);
    let first = s.scan();
    let again = s.scan();
    assert!(first.stats.executables_read > 0);
    // Other tests start new executables concurrently; the ones already seen are not read again.
    assert!(
        again.stats.executables_read < first.stats.executables_read,
        "steady-state rescan reads only new executables"
    );
}

#[test]
fn deleted_executable_in_tmp_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("updater");
    copy_exe("/bin/sleep", &exe, b"");
    let g = Guard(Command::new(&exe).arg("60").spawn().unwrap());
    wait_for_cmdline(g.pid(), "60");
    std::fs::remove_file(&exe).unwrap();
    let report = scanner(0).scan();
    let fs = for_pid(&report, g.pid());
    let f = detector(&fs, "host-exe-location");
    assert_eq!(f.confidence, Confidence::High, "{:?}", f.reasons);
    assert!(f.reasons.iter().any(|r| r.contains("deleted")));
    assert!(
        f.evidence.process.as_ref().unwrap().exe_sha256.is_some(),
        "deleted files are still hashed through /proc/PID/exe"
    );
    assert_attributed(f, None);
}

#[test]
fn memfd_execution_is_found() {
    use std::os::fd::AsRawFd;
    let fd = match rustix::fs::memfd_create("kworker", rustix::fs::MemfdFlags::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("skipped: memfd_create unavailable: {e}");
            return;
        }
    };
    let mut file = std::fs::File::from(fd);
    file.write_all(&slurp("/bin/sleep").unwrap()).unwrap();
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    let g = match Command::new(&path).arg("60").stdout(Stdio::null()).spawn() {
        Ok(c) => Guard(c),
        Err(e) => {
            eprintln!("skipped: exec of a memfd refused here: {e}");
            return;
        }
    };
    wait_for_cmdline(g.pid(), "60");
    for _ in 0..100 {
        if std::fs::read_link(format!("/proc/{}/exe", g.pid()))
            .is_ok_and(|p| p.to_string_lossy().starts_with("/memfd:"))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = scanner(0).scan();
    let fs = for_pid(&report, g.pid());
    let f = detector(&fs, "host-exe-location");
    assert_eq!(f.confidence, Confidence::High);
    assert!(
        f.reasons.iter().any(|r| r.contains("memfd")),
        "{:?}",
        f.reasons
    );
    assert_attributed(f, None);
    drop(file);
}

#[test]
fn benign_look_alikes_stay_silent() {
    let guards: Vec<Guard> = [
        "exec -a 'gcc -O2 -c pool.c -o pool.o' sleep 60",
        "exec -a 'zpool import -c /etc/zfs/zpool.cache tank' sleep 60",
        "exec -a 'make -C build -o pool all' sleep 60",
        "exec -a 'node_exporter --web.listen-address=:9100 --collector.cpu' sleep 60",
        "exec -a 'telegraf --config /etc/telegraf/telegraf.conf' sleep 60",
        "exec -a 'ptxas -arch=sm_80 -o kernel.cubin kernel.ptx' sleep 60",
    ]
    .iter()
    .map(|s| spawn_bash(s))
    .collect();
    for g in &guards {
        wait_for_comm(g.pid(), "sleep");
    }
    let report = scanner(0).scan();
    for g in &guards {
        let fs = for_pid(&report, g.pid());
        assert!(fs.is_empty(), "benign process {} flagged: {fs:#?}", g.pid());
    }
}

/// cron's PAM session gives its jobs the owner's login uid and a session id, as a login would:
/// a miner under cron is a scheduled job (persistence), not someone's login session.
#[test]
fn a_miner_started_by_cron_is_a_scheduled_job_not_a_login() {
    let (prefix, _) = loginuid_prefix();
    // A shell that names itself cron, then starts the look-alike as its child.
    let g = spawn_bash(&format!(
        "{prefix}printf cron > /proc/self/comm; bash -c \"exec -a 'xmrig -o stratum+tcp://pool.example.org:3333 --donate-level 1' sleep 60\" & wait"
    ));
    wait_for_comm(g.pid(), "cron");
    let mut miner = None;
    for _ in 0..200 {
        let children = slurp_string(format!("/proc/{}/task/{}/children", g.pid(), g.pid()))
            .unwrap_or_default();
        miner = children
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
            .find(|c| {
                slurp_string(format!("/proc/{c}/cmdline")).is_ok_and(|l| l.contains("stratum"))
            });
        if miner.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let miner = miner.expect("the look-alike under cron");
    let report = scanner(0).scan();
    let f = detector(&for_pid(&report, miner), "host-miner-process");
    let p = f.evidence.process.as_ref().unwrap();
    assert!(
        p.ancestry.iter().any(|a| a.ends_with(" cron")),
        "{:?}",
        p.ancestry
    );
    assert!(
        p.login_from.is_none(),
        "a job's owner logging in elsewhere is not where it came from: {:?}",
        p.login_from
    );
    let summary = report
        .findings
        .iter()
        .find(|f| f.detector == "host-summary")
        .expect("a host summary");
    let text = summary.evidence.extra["class_reasons"].to_string();
    assert!(
        text.contains(&format!("process {miner} was started by a cron job (cron)")),
        "{text}"
    );
    assert!(
        !text.contains(&format!("process {miner} started in login session")),
        "{text}"
    );
}
