//! `minetrace demo`: the newcomer's first run. Simulates a unit's traffic (every mining dialect,
//! TLS and Stratum V2, rigs behind a NAT, an internal pool, and benign look-alikes), analyses it
//! with the real engine, and shows the findings next to the simulator's ground truth.

use crate::output;
use anyhow::Context as _;
use minetrace_core::Finding;
use minetrace_net::{Engine, EngineOptions};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the simulated captures and the findings go.
    #[arg(long, default_value = "minetrace-demo")]
    pub out: PathBuf,
    /// Simulator seed (the same seed gives the same captures).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Minutes of traffic per scenario.
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// Stop after the analysis instead of serving the findings in the console.
    #[arg(long)]
    pub no_serve: bool,
    /// Where the demo's server and console listen (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8440")]
    pub listen: std::net::SocketAddr,
}

/// The demo unit registry: a region with three units of different types, whose address ranges
/// cover the simulator's LAN clients (192.168.0.0/16, 10.0.0.0/8, NAT addresses in 172.16/12).
const DEMO_UNITS: &[(&str, &str, &str, &str)] = &[
    (
        "Provincial Grid Co. branch",
        "Demo Province",
        "state-owned",
        "192.168.0.0/16",
    ),
    (
        "Demo University",
        "Demo Province",
        "university",
        "10.0.0.0/8",
    ),
    ("Demo Tech Co.", "Demo Province", "company", "172.16.0.0/12"),
];

/// Stores the findings (with a demo registry) in `out/server` and runs the server and console on
/// them until Ctrl-C. Re-running is harmless: finding ids are stable, so nothing is stored twice.
fn serve(args: &Args, findings: &[Finding]) -> anyhow::Result<()> {
    use minetrace_store::{Role, Store};
    let data = args.out.join("server");
    let store = Store::open(&data, None)
        .with_context(|| format!("opening the demo store in {}", data.display()))?;
    for (unit, region, kind, cidr) in DEMO_UNITS {
        store.upsert_unit(unit, region, kind, None)?;
        store.add_range(cidr, unit, Some("demo"))?;
    }
    let source = match store
        .list_sources()?
        .into_iter()
        .find(|s| s.name == "demo-sensor")
    {
        Some(s) => s,
        None => store.create_source("demo-sensor", Role::Sensor)?.0,
    };
    let stored = store.ingest_findings(&source, findings)?;
    // A console login for the newcomer: `admin` (regulator over every region), with a fresh
    // password on every demo run.
    let password = minetrace_server::console::auth::generate_password();
    if store.user_by_name("admin")?.is_some() {
        let hash = minetrace_server::console::auth::hash_password(&password)
            .map_err(|e| anyhow::anyhow!(e))?;
        store.set_password("admin", &hash)?;
    } else {
        minetrace_server::console::create_user(
            &store,
            "admin",
            minetrace_store::ConsoleRole::Regulator,
            Some("*"),
            None,
            &password,
        )?;
    }
    drop(store);
    println!(
        "\n== Console: http://{}/console/  user: admin  password: {password}",
        args.listen
    );
    println!(
        "\n== Serving the findings ({} new) in the console at http://{} (Ctrl-C to stop; --no-serve skips this)",
        stored.accepted, args.listen
    );
    minetrace_server::run(&minetrace_server::ServerArgs {
        data: Some(data),
        listen: Some(args.listen),
        database: None,
        tls_cert: None,
        tls_key: None,
        tls_generate: false,
        rules: None,
        config: None,
        log_json: false,
        nats: None,
        nats_replicas: 3,
        no_correlator: false,
        alerts: None,
    })?;
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let captures = args.out.join("captures");
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "== Simulating a unit's traffic into {} (no mining software runs, no proof-of-work)",
        captures.display()
    )?;
    out.flush()?;
    super::simulate::run(super::simulate::Args {
        out: Some(captures.clone()),
        seed: args.seed,
        scenarios: Vec::new(),
        minutes: args.minutes,
        list: false,
        single: None,
    })
    .context("simulating")?;

    let truth_text =
        minetrace_core::io::read_bounded_string(&captures.join("truth.json"), 16 << 20)?;
    let truth: Vec<serde_json::Value> =
        serde_json::from_str(&truth_text).context("reading truth.json")?;

    writeln!(out, "== Analysing {} captures", truth.len())?;
    let engine = Engine::new(
        minetrace_detect::builtin(),
        Arc::new(minetrace_intel::Intel::builtin()),
        EngineOptions::default(),
    );
    let mut findings: Vec<Finding> = Vec::new();
    let mut by_file: BTreeMap<String, usize> = BTreeMap::new();
    for t in &truth {
        let Some(file) = t["file"].as_str() else {
            continue;
        };
        let path = captures.join(file);
        let mut these = Vec::new();
        let report = engine.analyze_file(&path, &mut |f| these.push(f), &mut |_| {});
        if let Some(e) = report.error {
            writeln!(out, "   {file}: {e}")?;
        }
        these.extend(minetrace_detect::summary::internal_pools(&these));
        by_file.insert(file.to_string(), these.len());
        findings.extend(these);
    }
    let jsonl = args.out.join("findings.jsonl");
    let mut f =
        std::fs::File::create(&jsonl).with_context(|| format!("creating {}", jsonl.display()))?;
    for x in &findings {
        output::write_jsonl(&mut f, x)?;
    }

    output::write_table(&mut out, &findings)?;
    output::write_summary(
        &mut out,
        &minetrace_detect::summary::summarize(&findings),
        &findings,
    )?;

    writeln!(out, "\n== Against the simulator's ground truth")?;
    let (mut hit, mut miss, mut quiet, mut noisy) = (0, 0, 0, 0);
    for t in &truth {
        let file = t["file"].as_str().unwrap_or("");
        let expected = t["expected_finding"].as_bool().unwrap_or(false);
        let got = by_file.get(file).copied().unwrap_or(0);
        let verdict = match (expected, got > 0) {
            (true, true) => {
                hit += 1;
                "found"
            }
            (true, false) => {
                miss += 1;
                "MISSED"
            }
            (false, false) => {
                quiet += 1;
                "silent (benign)"
            }
            (false, true) => {
                noisy += 1;
                "FALSE POSITIVE"
            }
        };
        writeln!(
            out,
            "  {:<34} {:<20} {:<16} {} finding(s)",
            file,
            t["dialect"].as_str().unwrap_or(""),
            verdict,
            got
        )?;
    }
    writeln!(
        out,
        "\nmining scenarios found: {hit} of {}; benign look-alikes silent: {quiet} of {}",
        hit + miss,
        quiet + noisy
    )?;
    writeln!(
        out,
        "findings: {} (JSON Lines); try: minetrace analyze {}",
        jsonl.display(),
        captures.display()
    )?;
    out.flush()?;
    drop(out);
    if !args.no_serve {
        serve(&args, &findings)?;
    }
    Ok(if findings.is_empty() {
        crate::EXIT_CLEAN
    } else {
        crate::EXIT_FINDINGS
    })
}
