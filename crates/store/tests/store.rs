//! Store and ledger tests on SQLite and (when MINETRACE_TEST_POSTGRES is set) PostgreSQL.

use minetrace_core::{Finding, FindingKind, Timestamp, Wallet};
use minetrace_store::{bundle, Case, Role, Store};

fn stores() -> Vec<(String, Store, tempfile::TempDir)> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    out.push((
        "sqlite".to_string(),
        Store::open(dir.path(), None).unwrap(),
        dir,
    ));
    match std::env::var("MINETRACE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let dir = tempfile::tempdir().unwrap();
            let scoped = minetrace_store::fresh_schema_url(&url, "store_test").unwrap();
            out.push((
                "postgres".to_string(),
                Store::open(dir.path(), Some(&scoped)).unwrap(),
                dir,
            ));
        }
        _ => println!("skipped: MINETRACE_TEST_POSTGRES not set"),
    }
    out
}

fn finding(n: i64, ip: &str) -> Finding {
    let mut f = Finding::new(
        "stratum",
        FindingKind::Network,
        Timestamp::from_micros(1_700_000_000_000_000 + n),
    );
    f.client = Some(
        format!("{ip}:40000")
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    );
    f.server = Some(
        "192.0.2.10:3333"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    );
    f.evidence.wallet = Some(Wallet {
        address: "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684Rge".into(),
        coin: Some("XMR".into()),
        format: "monero".into(),
        checksum_ok: true,
    });
    f.reason("test <script>alert(1)</script> ' OR 1=1 --");
    f.assign_id();
    f
}

#[test]
fn ingest_dedupes_by_id_and_every_record_verifies() {
    for (name, store, _dir) in stores() {
        let (src, token) = store.create_source("sensor-a", Role::Sensor).unwrap();
        assert_eq!(
            store.authenticate(&token).unwrap().unwrap().id,
            src.id,
            "{name}"
        );
        assert!(store.authenticate("mt1_wrong").unwrap().is_none());
        let batch: Vec<Finding> = (0..50).map(|i| finding(i, "10.1.2.3")).collect();
        let a = store.ingest_findings(&src, &batch).unwrap();
        assert_eq!((a.accepted, a.duplicates), (50, 0), "{name}");
        let b = store.ingest_findings(&src, &batch).unwrap();
        assert_eq!((b.accepted, b.duplicates), (0, 50), "{name}");
        assert_eq!(store.count_findings().unwrap(), 50);
        let back = store.finding(&batch[7].id).unwrap().unwrap();
        assert_eq!(
            back.finding, batch[7],
            "{name}: hostile strings round-trip unchanged"
        );
        assert_eq!(store.verify_ledger().unwrap(), 51, "{name}");
        assert!(store.revoke_source("sensor-a").unwrap());
        assert!(
            store.authenticate(&token).unwrap().is_none(),
            "{name}: revoked"
        );
        assert!(!store.revoke_source("sensor-a").unwrap());
    }
}

fn case_with_evidence(store: &Store) -> (i64, Vec<u8>) {
    let (src, _) = store.create_source("sensor-b", Role::Sensor).unwrap();
    let batch: Vec<Finding> = (0..3).map(|i| finding(i, "10.9.9.9")).collect();
    store.ingest_findings(&src, &batch).unwrap();
    let (att, new) = store
        .put_attachment(
            "session.pcap",
            "application/vnd.tcpdump.pcap",
            Some(&batch[0].id),
            b"pcap bytes \x00\x01",
        )
        .unwrap();
    assert!(new);
    let mut case = Case {
        activity_key: "ip:10.9.9.9".into(),
        status: "detected".into(),
        estimate: serde_json::json!({}),
        ..Case::default()
    };
    let ids: Vec<String> = batch.iter().map(|f| f.id.clone()).collect();
    store
        .save_case(
            &mut case,
            &ids,
            "correlator",
            "case-opened",
            &serde_json::json!({"why": "test"}),
        )
        .unwrap();
    case.status = "investigating".into();
    store
        .save_case(
            &mut case,
            &[],
            "alice",
            "case-updated",
            &serde_json::json!({"status": "investigating"}),
        )
        .unwrap();
    let mut out = Vec::new();
    let m = bundle::export_case(store, case.id, &mut out).unwrap();
    assert_eq!(m.records.len(), 3 + 1 + 2);
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].sha256, att.sha256);
    (case.id, out)
}

#[test]
fn bundles_verify_and_name_what_was_tampered() {
    for (name, store, _dir) in stores() {
        let (_case, good) = case_with_evidence(&store);
        let ok = bundle::verify(&good, Some(&store.key().public_hex())).unwrap();
        assert_eq!((ok.records, ok.attachments), (6, 1), "{name}");
        let text = String::from_utf8(good.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        // Flip every byte of every record and attachment line: verification must fail and
        // the message must name a record seq or the attachment.
        for (i, line) in lines.iter().enumerate().skip(1) {
            let bytes = line.as_bytes();
            for pos in (0..bytes.len()).step_by(7) {
                let mut changed = lines
                    .iter()
                    .map(|l| l.as_bytes().to_vec())
                    .collect::<Vec<_>>();
                changed[i][pos] ^= 0x01;
                let joined = changed.join(&b'\n');
                let err = bundle::verify(&joined, None)
                    .expect_err(&format!("{name}: flip line {} byte {pos}", i + 1));
                let msg = err.to_string();
                assert!(
                    msg.contains("record")
                        || msg.contains("attachment")
                        || msg.contains(&format!("line {}", i + 1)),
                    "{name}: {msg}"
                );
            }
        }
        // Drop a record.
        let mut dropped: Vec<&str> = lines.clone();
        let gone = dropped.remove(3);
        let err = bundle::verify(dropped.join("\n").as_bytes(), None)
            .unwrap_err()
            .to_string();
        let seq: serde_json::Value = serde_json::from_str(gone).unwrap();
        assert!(
            err.contains(&format!("record seq {} was removed", seq["record"]["seq"])),
            "{name}: {err}"
        );
        // Reorder two records.
        let mut swapped = lines.clone();
        swapped.swap(2, 3);
        let err = bundle::verify(swapped.join("\n").as_bytes(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("out of order"), "{name}: {err}");
        // Add a record copied from elsewhere.
        let mut added = lines.clone();
        let extra = store.ledger_records(1, 1).unwrap().remove(0);
        let extra_line = serde_json::json!({"record": extra}).to_string();
        added.insert(1, &extra_line);
        let err = bundle::verify(added.join("\n").as_bytes(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("was added"), "{name}: {err}");
        // Drop the attachment.
        let no_att = lines[..lines.len() - 1].join("\n");
        let err = bundle::verify(no_att.as_bytes(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("attachment") && err.contains("removed"),
            "{name}: {err}"
        );
        // A different trusted key.
        let other = minetrace_store::LedgerKey::ephemeral().public_hex();
        assert!(bundle::verify(&good, Some(&other)).is_err());
    }
}

#[test]
fn registry_lookups_nat_and_leases() {
    for (name, store, _dir) in stores() {
        store
            .upsert_unit("College A", "North", "university", None)
            .unwrap();
        store
            .add_range("203.0.113.0/24", "College A", None)
            .unwrap();
        assert_eq!(
            store.list_ranges().unwrap()[0].unit_name,
            "College A",
            "{name}"
        );
        let h = minetrace_store::Host {
            name: "gpu-01".into(),
            unit_name: Some("College A".into()),
            admin: Some("li.wei".into()),
            macs: vec!["aa:bb:cc:00:00:01".into()],
            ..Default::default()
        };
        store.upsert_host(&h).unwrap();
        assert_eq!(
            store
                .host_by_addr_at("mac", "aa:bb:cc:00:00:01", 0, 0)
                .unwrap()
                .map(|(h, since)| (h.name, since)),
            Some(("gpu-01".to_string(), None))
        );
        store
            .add_nat_mappings(&[minetrace_store::NatMapping {
                public_ip: "203.0.113.5".into(),
                public_port: 40001,
                private_ip: "192.168.1.20".into(),
                private_port: 51000,
                protocol: "tcp".into(),
                starts: 100,
                ends: 200,
                origin: "test".into(),
            }])
            .unwrap();
        assert_eq!(
            store
                .nat_lookup("203.0.113.5", 40001, 150, 0)
                .unwrap()
                .unwrap()
                .private_ip,
            "192.168.1.20"
        );
        assert!(store
            .nat_lookup("203.0.113.5", 40001, 250, 0)
            .unwrap()
            .is_none());
        assert!(store
            .nat_lookup("203.0.113.5", 40002, 150, 0)
            .unwrap()
            .is_none());
        store
            .add_leases(&[minetrace_store::Lease {
                ip: "192.168.1.20".into(),
                mac: "aa:bb:cc:00:00:01".into(),
                hostname: None,
                starts: 0,
                ends: 1000,
                origin: "test".into(),
            }])
            .unwrap();
        assert_eq!(
            store.lease_at("192.168.1.20", 150, 0).unwrap().unwrap().mac,
            "aa:bb:cc:00:00:01"
        );
    }
}

/// Opens the SQLite file under the store's back to change what the server wrote.
fn raw_sqlite(dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("minetrace.sqlite3")).unwrap()
}

#[test]
fn one_seal_signs_each_batch_and_tampering_with_it_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    let (src, _) = store.create_source("sensor-s", Role::Sensor).unwrap();
    let batch: Vec<Finding> = (0..40).map(|i| finding(i, "10.7.7.7")).collect();
    store.ingest_findings(&src, &batch).unwrap();
    assert_eq!(store.verify_ledger().unwrap(), 41);
    let db = raw_sqlite(dir.path());
    let seals: Vec<(i64, i64)> = db
        .prepare("SELECT first_seq, last_seq FROM ledger_seals ORDER BY last_seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        seals,
        vec![(1, 1), (2, 41)],
        "one seal per transaction: enrolment, then the batch"
    );
    let unsigned: i64 = db
        .query_row("SELECT COUNT(*) FROM ledger WHERE sig = ''", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(unsigned, 41, "records carry no signature of their own");
    // Every record read with its proof verifies on its own.
    let records = store.ledger_records_with_proofs(1, 100).unwrap();
    let key = store.key().verifying_key();
    assert!(records.iter().all(|r| r.check(&key).is_ok()));
    assert!(records[20].seal.as_ref().unwrap().path.len() >= 5);

    // A changed seal signature.
    let sig: String = db
        .query_row(
            "SELECT sig FROM ledger_seals WHERE last_seq = 41",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    db.execute(
        "UPDATE ledger_seals SET sig = ?1 WHERE last_seq = 41",
        [&flipped],
    )
    .unwrap();
    let err = store.verify_ledger().unwrap_err().to_string();
    assert!(err.contains("record 2") && err.contains("seal"), "{err}");
    db.execute(
        "UPDATE ledger_seals SET sig = ?1 WHERE last_seq = 41",
        [&sig],
    )
    .unwrap();
    assert_eq!(store.verify_ledger().unwrap(), 41);

    // A record's payload changed (its hash no longer matches).
    db.execute(
        "UPDATE ledger SET payload = payload || ' ' WHERE seq = 17",
        [],
    )
    .unwrap();
    let err = store.verify_ledger().unwrap_err().to_string();
    assert!(err.contains("record 17"), "{err}");
    db.execute(
        "UPDATE ledger SET payload = rtrim(payload, ' ') WHERE seq = 17",
        [],
    )
    .unwrap();
    assert_eq!(store.verify_ledger().unwrap(), 41);

    // A record re-hashed consistently but outside its seal's root: the root no longer matches.
    let r17 = &records[16];
    let forged = minetrace_store::ledger::record_hash(
        r17.seq,
        r17.at + 1,
        &r17.kind,
        &r17.subject,
        &r17.payload,
        &r17.prev,
    );
    db.execute(
        "UPDATE ledger SET at = at + 1, hash = ?1 WHERE seq = 17",
        [hex::encode(forged)],
    )
    .unwrap();
    let err = store.verify_ledger().unwrap_err().to_string();
    assert!(err.contains("record"), "{err}");
    db.execute(
        "UPDATE ledger SET at = at - 1, hash = ?1 WHERE seq = 17",
        [&r17.hash],
    )
    .unwrap();
    assert_eq!(store.verify_ledger().unwrap(), 41);

    // A seal removed leaves its records unsigned.
    db.execute("DELETE FROM ledger_seals WHERE last_seq = 41", [])
        .unwrap();
    let err = store.verify_ledger().unwrap_err().to_string();
    assert!(
        err.contains("record 2") && err.contains("not signed"),
        "{err}"
    );
}

#[test]
fn records_signed_one_by_one_before_seals_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).unwrap();
    // Two records as an older server wrote them: each with its own signature, no seal.
    let db = raw_sqlite(dir.path());
    let a = store.key().seal_single(
        (0, minetrace_store::ledger::GENESIS),
        1,
        "source-enrolled",
        "source:old",
        "{}".into(),
    );
    let b = store
        .key()
        .seal_single((a.seq, &a.hash), 2, "finding", "finding:x", "{}".into());
    for r in [&a, &b] {
        db.execute(
            "INSERT INTO ledger (seq, at, kind, subject, payload, prev, hash, sig) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![r.seq, r.at, r.kind, r.subject, r.payload, r.prev, r.hash, r.sig],
        )
        .unwrap();
    }
    // New appends are sealed and chain on.
    let (src, _) = store.create_source("sensor-new", Role::Sensor).unwrap();
    store
        .ingest_findings(&src, &[finding(1, "10.0.0.1"), finding(2, "10.0.0.2")])
        .unwrap();
    assert_eq!(store.verify_ledger().unwrap(), 5);
    let records = store.ledger_records_with_proofs(1, 10).unwrap();
    let key = store.key().verifying_key();
    assert!(records.iter().all(|r| r.check(&key).is_ok()));
    assert!(records[0].seal.is_none() && !records[0].sig.is_empty());
    assert!(records[4].seal.is_some() && records[4].sig.is_empty());
    // An old record whose signature is changed is found.
    db.execute(
        "UPDATE ledger SET sig = ?1 WHERE seq = 2",
        [hex::encode([0u8; 64])],
    )
    .unwrap();
    let err = store.verify_ledger().unwrap_err().to_string();
    assert!(err.contains("record 2"), "{err}");
}

/// One correlator at a time on a shared database: a second store on the same schema waits its
/// turn until the first is gone; a store on another schema (another tenant) has its own turn.
#[test]
fn replicas_take_turns_to_correlate() {
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(sqlite_dir.path(), None).unwrap();
    assert!(sqlite.correlator_turn().unwrap());
    assert!(sqlite.correlator_turn().unwrap());
    let Ok(url) = std::env::var("MINETRACE_TEST_POSTGRES") else {
        println!("skipped (PostgreSQL part): MINETRACE_TEST_POSTGRES not set");
        return;
    };
    let scoped = minetrace_store::fresh_schema_url(&url, "turns_test").unwrap();
    let (dir_a, dir_b, dir_c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = Store::open(dir_a.path(), Some(&scoped)).unwrap();
    let b = Store::open(dir_b.path(), Some(&scoped)).unwrap();
    assert!(a.correlator_turn().unwrap());
    assert!(!b.correlator_turn().unwrap());
    // Kept while asked again.
    assert!(a.correlator_turn().unwrap());
    assert!(!b.correlator_turn().unwrap());
    let other = minetrace_store::fresh_schema_url(&url, "turns_test").unwrap();
    let c = Store::open(dir_c.path(), Some(&other)).unwrap();
    assert!(
        c.correlator_turn().unwrap(),
        "another schema has its own turn"
    );
    // The holder goes away (its connections close): the other takes over.
    drop(a);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !b.correlator_turn().unwrap() {
        assert!(std::time::Instant::now() < deadline, "turn never passed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// DHCP hands an address from machine to machine: a network finding goes to the host whose
/// agent held the address at the finding's time, not to whichever host reported it first.
#[test]
fn an_address_belongs_to_the_host_that_held_it_at_the_time() {
    for (name, store, _dir) in stores() {
        let (agent, _) = store.create_source("agent", Role::Agent).unwrap();
        let beat = |host: &str| {
            let before = Timestamp::now().0;
            std::thread::sleep(std::time::Duration::from_millis(3));
            store
                .record_heartbeat(&agent, host, 0, "{}", &["10.9.0.5".into()], &[])
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3));
            before
        };
        let holder = |at: i64| {
            store
                .host_by_addr_at("ip", "10.9.0.5", at, 0)
                .unwrap()
                .map(|(h, _)| h.name)
        };
        let version = store.registry_version().unwrap();
        let before_a = beat("lab-a");
        let before_b = beat("lab-b");
        assert_eq!(store.registry_version().unwrap(), version + 2, "{name}");
        // The address comes back to lab-a: a new tenure, but no address new to a host.
        let again_a = beat("lab-a");
        beat("lab-a");
        assert_eq!(
            store.registry_version().unwrap(),
            version + 2,
            "{name}: no news"
        );
        assert_eq!(holder(before_b).as_deref(), Some("lab-a"), "{name}");
        assert_eq!(holder(again_a).as_deref(), Some("lab-b"), "{name}");
        // With two minutes of clock slack: the next tenures began within it, but the address
        // was held by the one before them at that time.
        let holder_with_slack = |at: i64| {
            store
                .host_by_addr_at("ip", "10.9.0.5", at, 120_000_000)
                .unwrap()
                .map(|(h, _)| h.name)
        };
        assert_eq!(
            holder_with_slack(before_b).as_deref(),
            Some("lab-a"),
            "{name}"
        );
        assert_eq!(
            holder_with_slack(again_a).as_deref(),
            Some("lab-b"),
            "{name}"
        );
        // Before anyone reported it, by less than the slack: the first reporter.
        assert_eq!(
            holder_with_slack(before_a - 1_000_000).as_deref(),
            Some("lab-a"),
            "{name}"
        );
        assert_eq!(
            holder(Timestamp::now().0).as_deref(),
            Some("lab-a"),
            "{name}"
        );
        // Before anyone reported it: the first reporter.
        assert_eq!(
            holder(before_a - 1_000_000).as_deref(),
            Some("lab-a"),
            "{name}"
        );
        assert_eq!(store.host_by_addr_at("ip", "10.9.0.6", 0, 0).unwrap(), None);
        // The registry's word outranks every agent's.
        store
            .upsert_host(&minetrace_store::Host {
                name: "gpu-r".into(),
                ips: vec!["10.9.0.5".into()],
                ..Default::default()
            })
            .unwrap();
        let (host, since) = store
            .host_by_addr_at("ip", "10.9.0.5", Timestamp::now().0, 0)
            .unwrap()
            .unwrap();
        assert_eq!((host.name.as_str(), since), ("gpu-r", None), "{name}");
    }
}

/// An agent that reports a new address every day (a desktop's temporary IPv6 addresses) does
/// not grow its host's history for ever: the least recently seen tenures go, and with them the
/// addresses no tenure is left for; reported again, such an address is news again.
#[test]
fn a_hosts_address_history_is_bounded() {
    let per_report = 64;
    let reports = minetrace_store::HOST_TENURES_KEPT as usize / per_report + 1;
    for (name, store, _dir) in stores() {
        let (agent, _) = store.create_source("agent", Role::Agent).unwrap();
        let addr = |r: usize, i: usize| format!("2001:db8:{r:x}::{i:x}");
        for r in 0..reports {
            let ips: Vec<String> = (0..per_report).map(|i| addr(r, i)).collect();
            store
                .record_heartbeat(&agent, "desk-7", 0, "{}", &ips, &[])
                .unwrap();
        }
        let holder = |ip: &str| {
            store
                .host_by_addr_at("ip", ip, Timestamp::now().0, 0)
                .unwrap()
                .map(|(h, _)| h.name)
        };
        // The first report's addresses went; every later one is still the host's.
        for i in 0..per_report {
            assert_eq!(holder(&addr(0, i)), None, "{name}: {}", addr(0, i));
            assert_eq!(holder(&addr(1, i)).as_deref(), Some("desk-7"), "{name}");
        }
        let last = addr(reports - 1, per_report - 1);
        assert_eq!(holder(&last).as_deref(), Some("desk-7"), "{name}");
        let host = store.host_by_name("desk-7").unwrap().unwrap();
        assert!(!host.ips.contains(&addr(0, 0)), "{name}");
        let version = store.registry_version().unwrap();
        store
            .record_heartbeat(&agent, "desk-7", 0, "{}", &[addr(0, 0)], &[])
            .unwrap();
        assert_eq!(store.registry_version().unwrap(), version + 1, "{name}");
        assert_eq!(holder(&addr(0, 0)).as_deref(), Some("desk-7"), "{name}");
    }
}

/// A database of schema 6 moves to 7: the registry's hosts keep their addresses for good, the
/// addresses agents reported become tenures from the beginning.
#[test]
fn addresses_of_schema_6_become_statements_and_tenures() {
    use minetrace_store::db::{Backend, BackendKind};
    let dir = tempfile::tempdir().unwrap();
    {
        let old =
            minetrace_store::sqlite::SqliteBackend::open(&dir.path().join("minetrace.sqlite3"))
                .unwrap();
        old.transaction(&mut |tx| {
            minetrace_store::schema::apply_until(tx, BackendKind::Sqlite, 6)?;
            tx.execute(
                "INSERT INTO hosts (id, name, origin) VALUES (1, 'gpu-r', 'registry'), (2, 'lab-a', 'agent')",
                &[],
            )?;
            tx.execute(
                "INSERT INTO host_addrs (host_id, kind, value) VALUES \
                 (1, 'ip', '10.9.1.1'), (2, 'ip', '10.9.1.2'), (2, 'mac', 'aa:bb:cc:00:00:02')",
                &[],
            )?;
            Ok(())
        })
        .unwrap();
    }
    let store = Store::open(dir.path(), None).unwrap();
    let holder = |kind: &str, value: &str| {
        store
            .host_by_addr_at(kind, value, Timestamp::now().0, 0)
            .unwrap()
            .map(|(h, since)| (h.name, since))
    };
    assert_eq!(holder("ip", "10.9.1.1"), Some(("gpu-r".into(), None)));
    assert_eq!(holder("ip", "10.9.1.2"), Some(("lab-a".into(), Some(0))));
    assert_eq!(
        holder("mac", "aa:bb:cc:00:00:02"),
        Some(("lab-a".into(), Some(0)))
    );
}

#[test]
fn a_reused_nat_port_and_a_reassigned_address_go_to_whoever_held_them_then() {
    const SLACK: i64 = 120_000_000;
    const S: i64 = 1_000_000;
    for (name, store, _dir) in stores() {
        // One public port, three inside hosts in turn, each mapping a few seconds after the last
        // (a busy carrier-grade NAT): all three lie within the two minutes of slack.
        let map = |private: &str, starts: i64, ends: i64| minetrace_store::NatMapping {
            public_ip: "203.0.113.5".into(),
            public_port: 40001,
            private_ip: private.into(),
            private_port: 51000,
            protocol: "tcp".into(),
            starts,
            ends,
            origin: "cgnat.log".into(),
        };
        store
            .add_nat_mappings(&[
                map("192.168.1.20", 1000 * S, 1050 * S),
                map("192.168.1.21", 1060 * S, 1100 * S),
                map("192.168.1.22", 1105 * S, 1200 * S),
            ])
            .unwrap();
        let inside = |at: i64| {
            store
                .nat_lookup("203.0.113.5", 40001, at, SLACK)
                .unwrap()
                .map(|m| m.private_ip)
        };
        assert_eq!(inside(1030 * S).as_deref(), Some("192.168.1.20"), "{name}");
        assert_eq!(inside(1080 * S).as_deref(), Some("192.168.1.21"), "{name}");
        assert_eq!(inside(1150 * S).as_deref(), Some("192.168.1.22"), "{name}");
        // Between two windows: the nearer one; outside every window by less than the slack:
        // the nearest; beyond the slack: none.
        assert_eq!(inside(1057 * S).as_deref(), Some("192.168.1.21"), "{name}");
        assert_eq!(inside(990 * S).as_deref(), Some("192.168.1.20"), "{name}");
        assert_eq!(inside(1250 * S).as_deref(), Some("192.168.1.22"), "{name}");
        assert_eq!(inside(1400 * S), None, "{name}");

        // DHCP: the address went from one laptop to another a minute later.
        let lease = |mac: &str, starts: i64, ends: i64| minetrace_store::Lease {
            ip: "192.168.1.50".into(),
            mac: mac.into(),
            hostname: None,
            starts,
            ends,
            origin: "dhcpd.leases".into(),
        };
        store
            .add_leases(&[
                lease("aa:bb:cc:00:00:01", 0, 1000 * S),
                lease("aa:bb:cc:00:00:02", 1060 * S, 5000 * S),
            ])
            .unwrap();
        let mac = |at: i64| {
            store
                .lease_at("192.168.1.50", at, SLACK)
                .unwrap()
                .map(|l| l.mac)
        };
        assert_eq!(mac(990 * S).as_deref(), Some("aa:bb:cc:00:00:01"), "{name}");
        assert_eq!(
            mac(1070 * S).as_deref(),
            Some("aa:bb:cc:00:00:02"),
            "{name}"
        );
    }
}
