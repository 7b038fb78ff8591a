//! API tests against a real server on loopback (SQLite, and PostgreSQL when configured).

mod common;
use common::*;
use minetrace_store::Role;

fn body(findings: &[minetrace_core::Finding]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"findings": findings})).unwrap()
}

#[test]
fn bad_input_gets_clear_4xx_and_nothing_is_stored() {
    for env in servers() {
        let (n, s) = (env.name, &env.server);
        let url = s.url();
        let store = s.state.store.clone();
        let (_, sensor) = store.create_source("sensor-1", Role::Sensor).unwrap();
        let (_, admin) = store.create_source("admin", Role::Admin).unwrap();
        let (_, revoked) = store.create_source("old-sensor", Role::Sensor).unwrap();
        store.revoke_source("old-sensor").unwrap();
        let f = network_finding("192.168.10.20:51000", T0);
        let good = body(std::slice::from_ref(&f));
        let path = "/api/v1/ingest/findings";
        let ct = "application/json";

        assert_eq!(
            call(&url, "POST", path, None, Some(&good), ct).0,
            401,
            "{n}: no token"
        );
        assert_eq!(
            call(&url, "POST", path, Some("mt1_nope"), Some(&good), ct).0,
            401,
            "{n}: wrong token"
        );
        assert_eq!(
            call(&url, "POST", path, Some(&revoked), Some(&good), ct).0,
            401,
            "{n}: revoked"
        );
        assert_eq!(
            call(&url, "POST", path, Some(&admin), Some(&good), ct).0,
            403,
            "{n}: admin may not ingest"
        );
        let (st, txt) = call(
            &url,
            "POST",
            path,
            Some(&sensor),
            Some(b"{\"findings\": [ {"),
            ct,
        );
        assert_eq!(st, 400, "{n}: malformed: {txt}");
        let mut v = serde_json::to_value(&f).unwrap();
        v["evidence"]["smuggled"] = "x".into();
        let (st, txt) = call(
            &url,
            "POST",
            path,
            Some(&sensor),
            Some(serde_json::json!({"findings": [v]}).to_string().as_bytes()),
            ct,
        );
        assert_eq!(st, 400, "{n}: unknown field");
        assert!(txt.contains("smuggled"), "{n}: {txt}");
        let (st, _) = call(
            &url,
            "POST",
            path,
            Some(&sensor),
            Some(br#"{"findings":[],"also":1}"#),
            ct,
        );
        assert_eq!(st, 400);
        let mut nul = f.clone();
        nul.evidence.worker = Some("rig\u{0}1".into());
        assert_eq!(
            call(&url, "POST", path, Some(&sensor), Some(&body(&[nul])), ct).0,
            400,
            "{n}: NUL"
        );
        let big = vec![b' '; 17 * 1024 * 1024];
        // The server answers 413 as soon as the limit is passed and closes the connection; a
        // client still writing the rest may see the close before it reads the answer.
        let (st, txt) = call(&url, "POST", path, Some(&sensor), Some(&big), ct);
        assert!(st == 413 || st == 0, "{n}: oversized: {st} {txt}");
        assert_eq!(store.count_findings().unwrap(), 0, "{n}: nothing stored");

        // Hostile strings are stored verbatim and come back JSON-escaped.
        let mut hostile = network_finding("192.168.10.20:51001", T0);
        hostile.evidence.worker =
            Some("<script>alert('x')</script>\"; DROP TABLE findings; --".into());
        hostile.assign_id();
        let (st, txt) = call(
            &url,
            "POST",
            path,
            Some(&sensor),
            Some(&body(&[f.clone(), hostile.clone()])),
            ct,
        );
        assert_eq!(st, 200, "{n}: {txt}");
        assert_eq!(json(&txt)["accepted"], 2);
        // Replay: 409, nothing new.
        let (st, txt) = call(
            &url,
            "POST",
            path,
            Some(&sensor),
            Some(&body(&[f.clone(), hostile.clone()])),
            ct,
        );
        assert_eq!(st, 409, "{n}: {txt}");
        assert_eq!(json(&txt)["duplicates"], 2);
        assert_eq!(store.count_findings().unwrap(), 2);
        assert_eq!(
            store
                .finding(&hostile.id)
                .unwrap()
                .unwrap()
                .finding
                .evidence
                .worker,
            hostile.evidence.worker
        );
        // The client treats a replay as delivered.
        let got =
            minetrace_client::submit_findings(&url, &sensor, std::slice::from_ref(&f)).unwrap();
        assert_eq!((got.accepted, got.duplicates), (0, 1));
        assert!(store.verify_ledger().is_ok());

        // Heartbeats: agent only, strict.
        let (_, agent) = store.create_source("agent-1", Role::Agent).unwrap();
        let hb = br#"{"host":"gpu-01","addresses":["192.168.10.20"],"macs":["aa:bb:cc:00:00:01"]}"#;
        assert_eq!(
            call(
                &url,
                "POST",
                "/api/v1/ingest/heartbeat",
                Some(&sensor),
                Some(hb),
                ct
            )
            .0,
            403
        );
        assert_eq!(
            call(
                &url,
                "POST",
                "/api/v1/ingest/heartbeat",
                Some(&agent),
                Some(hb),
                ct
            )
            .0,
            200,
            "{n}"
        );
        assert_eq!(
            call(
                &url,
                "POST",
                "/api/v1/ingest/heartbeat",
                Some(&agent),
                Some(br#"{"host":"h","evil":1}"#),
                ct
            )
            .0,
            400
        );

        // Operations endpoints.
        let (st, doc) = call(&url, "GET", "/api/v1/openapi.json", None, None, ct);
        assert_eq!(st, 200);
        assert!(json(&doc)["paths"]["/api/v1/ingest/findings"]["post"].is_object());
        let (st, m) = call(&url, "GET", "/metrics", None, None, ct);
        assert_eq!(st, 200);
        assert!(
            m.contains("minetrace_findings_accepted_total 3")
                || m.contains("minetrace_findings_accepted_total 2"),
            "{m}"
        );
        assert!(m.contains("minetrace_ledger_length"));
        assert!(m.contains("minetrace_queue_depth"));
        let (st, _) = call(&url, "GET", "/api/v1/cases", Some(&sensor), None, ct);
        assert_eq!(st, 403, "{n}: sensors cannot read cases");
    }
}
