//! The console's tables (users, sessions, self-inspection tasks, the confidential flag) on SQLite
//! and (when MINETRACE_TEST_POSTGRES is set) PostgreSQL.

use minetrace_store::{Case, ConsoleRole, Store};

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
            let scoped = minetrace_store::fresh_schema_url(&url, "console_store_test").unwrap();
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

const HOUR_US: i64 = 3_600_000_000;

#[test]
fn users_and_sessions() {
    for (name, store, _dir) in stores() {
        assert_eq!(store.count_users().unwrap(), 0, "{name}");
        let reg = store
            .create_user(
                "zhao",
                ConsoleRole::Regulator,
                Some("R1"),
                None,
                "$argon2id$x",
            )
            .unwrap();
        store
            .create_user(
                "wang",
                ConsoleRole::UnitAdmin,
                None,
                Some("Unit A"),
                "$argon2id$y",
            )
            .unwrap();
        assert!(
            store
                .create_user("zhao", ConsoleRole::Auditor, None, None, "h")
                .is_err(),
            "{name}: duplicate name accepted"
        );
        assert_eq!(store.count_users().unwrap(), 2, "{name}");
        let found = store.user_by_name("wang").unwrap().unwrap();
        assert_eq!(found.role, ConsoleRole::UnitAdmin);
        assert_eq!(found.unit.as_deref(), Some("Unit A"));
        assert!(store.user_by_name("nobody").unwrap().is_none());

        // Sessions are found by the id the cookie carries, never by what the table stores.
        let sid = "a".repeat(64);
        store.create_session(&sid, &reg, "csrf-1", HOUR_US).unwrap();
        let (u, csrf) = store.session(&sid).unwrap().unwrap();
        assert_eq!(
            (u.name.as_str(), csrf.as_str()),
            ("zhao", "csrf-1"),
            "{name}"
        );
        let stored_key = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(sid.as_bytes()))
        };
        assert!(
            store.session(&stored_key).unwrap().is_none(),
            "{name}: the stored hash works as a session id"
        );
        assert!(store.session("b").unwrap().is_none());
        // Expired sessions do not log in.
        let old = "c".repeat(64);
        store.create_session(&old, &reg, "csrf-2", -1).unwrap();
        assert!(store.session(&old).unwrap().is_none(), "{name}");
        // Logout, and a password change ends every session of that user.
        store.delete_session(&sid).unwrap();
        assert!(store.session(&sid).unwrap().is_none(), "{name}");
        let again = "d".repeat(64);
        store
            .create_session(&again, &reg, "csrf-3", HOUR_US)
            .unwrap();
        assert!(store.set_password("zhao", "$argon2id$z").unwrap());
        assert!(store.session(&again).unwrap().is_none(), "{name}");
        assert!(!store.set_password("nobody", "h").unwrap());
        assert!(store.verify_ledger().unwrap() >= 3, "{name}");
    }
}

#[test]
fn tasks_are_answered_and_flagged_overdue() {
    for (name, store, _dir) in stores() {
        let now = minetrace_core::Timestamp::now().0;
        let late = store
            .create_task(
                "Unit A",
                "Check GPU nodes",
                "all of them",
                now - HOUR_US,
                "zhao",
            )
            .unwrap();
        let open = store
            .create_task("Unit B", "Check labs", "", now + HOUR_US, "zhao")
            .unwrap();
        assert!(store.create_task("Unit A", " ", "", now, "zhao").is_err());
        assert!(store
            .create_task("Unit A", "x", "nul\0inside", now, "zhao")
            .is_err());
        let t = store.task(late).unwrap().unwrap();
        assert!(t.overdue(now), "{name}");
        assert!(!store.task(open).unwrap().unwrap().overdue(now), "{name}");
        store
            .answer_task(late, "one miner removed", "wang")
            .unwrap();
        let t = store.task(late).unwrap().unwrap();
        assert_eq!(t.answer.as_deref(), Some("one miner removed"));
        assert_eq!(t.answered_by.as_deref(), Some("wang"));
        assert!(!t.overdue(now), "{name}: answered task still overdue");
        assert!(store.answer_task(late, "", "wang").is_err());
        assert_eq!(store.list_tasks().unwrap().len(), 2, "{name}");
        assert!(store.task(9999).unwrap().is_none());
    }
}

#[test]
fn only_set_case_confidential_changes_the_flag() {
    for (name, store, _dir) in stores() {
        let mut case = Case {
            activity_key: "ip:10.2.0.10".into(),
            status: "detected".into(),
            estimate: serde_json::json!({}),
            ..Case::default()
        };
        store
            .save_case(
                &mut case,
                &[],
                "correlator",
                "case-opened",
                &serde_json::json!({}),
            )
            .unwrap();
        // The correlator read the case before the regulator marked it...
        let mut stale = store.case(case.id).unwrap().unwrap();
        assert!(!stale.confidential);
        store.set_case_confidential(case.id, true, "zhao").unwrap();
        // ...and saves its stale copy afterwards: the case stays confidential.
        stale.recurrence += 1;
        store
            .save_case(
                &mut stale,
                &[],
                "correlator",
                "findings-linked",
                &serde_json::json!({}),
            )
            .unwrap();
        assert!(stale.confidential, "{name}: the saved copy reads back");
        let now = store.case(case.id).unwrap().unwrap();
        assert!(now.confidential, "{name}: a stale save revealed the case");
        assert_eq!(now.recurrence, 1);
        // Revealing is explicit, and both changes are ledger records naming who.
        store.set_case_confidential(case.id, false, "zhao").unwrap();
        assert!(!store.case(case.id).unwrap().unwrap().confidential);
        let subject = format!("case:{}", case.id);
        let kinds: Vec<String> = store
            .ledger_records(1, 1000)
            .unwrap()
            .into_iter()
            .filter(|r| r.subject == subject && r.payload.contains("\"zhao\""))
            .map(|r| r.kind)
            .collect();
        assert!(
            kinds.iter().any(|k| k == "case.confidential")
                && kinds.iter().any(|k| k == "case.revealed"),
            "{name}: {kinds:?}"
        );
        store.verify_ledger().unwrap();
    }
}

#[test]
fn unit_confidential_watch_is_set_recorded_and_kept_by_upserts() {
    for (name, store, _dir) in stores() {
        store.upsert_unit("Unit A", "R1", "company", None).unwrap();
        assert!(!store.unit_confidential_watch("Unit A").unwrap(), "{name}");
        assert!(store
            .set_unit_confidential_watch("Unit A", true, "zhao")
            .unwrap());
        assert!(!store
            .set_unit_confidential_watch("Nowhere", true, "zhao")
            .unwrap());
        assert!(!store.unit_confidential_watch("Nowhere").unwrap());
        // A registry import updating the unit does not end the investigation.
        store
            .upsert_unit("Unit A", "R1", "university", None)
            .unwrap();
        assert!(store.unit_confidential_watch("Unit A").unwrap(), "{name}");
        assert!(store
            .set_unit_confidential_watch("Unit A", false, "zhao")
            .unwrap());
        assert!(!store.unit_confidential_watch("Unit A").unwrap(), "{name}");
        let n = store
            .ledger_records(1, 1000)
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "unit.confidential-watch")
            .count();
        assert_eq!(n, 2, "{name}");
        store.verify_ledger().unwrap();
    }
}
