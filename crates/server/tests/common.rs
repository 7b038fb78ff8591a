//! Shared helpers: servers on SQLite and (when MINETRACE_TEST_POSTGRES is set) PostgreSQL.
#![allow(dead_code)]

use minetrace_core::{Confidence, Finding, FindingKind, Timestamp, Wallet};
use minetrace_server::{spawn_background, BackgroundServer, ServeOptions};

pub struct Env {
    pub name: &'static str,
    pub server: BackgroundServer,
    pub _dir: tempfile::TempDir,
}

pub fn servers() -> Vec<Env> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    out.push(Env {
        name: "sqlite",
        server: spawn_background(ServeOptions::new(dir.path())).unwrap(),
        _dir: dir,
    });
    match std::env::var("MINETRACE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let dir = tempfile::tempdir().unwrap();
            let mut o = ServeOptions::new(dir.path());
            o.database = Some(minetrace_store::fresh_schema_url(&url, "server_test").unwrap());
            out.push(Env {
                name: "postgres",
                server: spawn_background(o).unwrap(),
                _dir: dir,
            });
        }
        _ => println!("skipped: MINETRACE_TEST_POSTGRES not set"),
    }
    out
}

pub const WALLET: &str = "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684Rge";
pub const T0: i64 = 1_704_880_000_000_000; // 2024-01-10T09:46:40Z

pub fn network_finding(client: &str, at: i64) -> Finding {
    let mut f = Finding::new("stratum", FindingKind::Network, Timestamp(at));
    f.last_seen = Timestamp(at + 60_000_000);
    f.source.kind = "capture".into();
    f.source.name = "mirror-port.pcap".into();
    f.client = Some(client.parse::<std::net::SocketAddr>().unwrap().into());
    f.server = Some(
        "192.0.2.10:3333"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    );
    f.dialect = Some(minetrace_core::Dialect::CryptoNote);
    f.confidence = Confidence::High;
    f.evidence.pool_host = Some("pool.example".into());
    f.evidence.wallet = Some(Wallet {
        address: WALLET.into(),
        coin: Some("XMR".into()),
        format: "monero".into(),
        checksum_ok: true,
    });
    f.evidence.algorithm_family = Some(minetrace_core::AlgorithmFamily::CryptoNote);
    f.evidence.hashrate = Some(minetrace_core::HashrateFigure {
        hashes_per_second: 5000.0,
        basis: "estimated".into(),
        method: "test shares".into(),
    });
    f.reason("login/job/submit sequence");
    f.assign_id();
    f
}

pub fn host_finding(host: &str, at: i64) -> Finding {
    let mut f = Finding::new("miner-process", FindingKind::Host, Timestamp(at));
    f.host = Some(host.into());
    f.source.kind = "host".into();
    f.source.name = host.into();
    f.confidence = Confidence::High;
    f.evidence.process = Some(minetrace_core::ProcessEvidence {
        pid: 4242,
        name: "xmrig".into(),
        exe: Some("/home/li.wei/.cache/xmrig".into()),
        user: Some("li.wei".into()),
        uid: Some(1001),
        loginuid: Some(1001),
        login_user: Some("li.wei".into()),
        login_from: Some("10.20.0.8".into()),
        ancestry: vec!["4100 bash".into(), "4000 sshd".into()],
        ..Default::default()
    });
    f.evidence.wallet = Some(Wallet {
        address: WALLET.into(),
        coin: Some("XMR".into()),
        format: "monero".into(),
        checksum_ok: true,
    });
    f.reason("process connects to a pool and burns CPU");
    f.assign_id();
    f
}

/// A raw request: (status, body).
pub fn call(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
    content_type: &str,
) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}{path}");
    let r = match (method, body) {
        ("GET", _) => {
            let mut q = agent.get(&url);
            if let Some(t) = token {
                q = q.header("Authorization", &format!("Bearer {t}"));
            }
            q.call()
        }
        (_, b) => {
            let mut q = if method == "PATCH" {
                agent.patch(&url)
            } else {
                agent.post(&url)
            };
            if let Some(t) = token {
                q = q.header("Authorization", &format!("Bearer {t}"));
            }
            q.header("Content-Type", content_type)
                .send(b.unwrap_or(b""))
        }
    };
    match r {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            (
                status,
                resp.body_mut()
                    .with_config()
                    .limit(1 << 30)
                    .read_to_string()
                    .unwrap_or_default(),
            )
        }
        Err(e) => (0, e.to_string()),
    }
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
