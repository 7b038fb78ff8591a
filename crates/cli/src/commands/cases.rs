//! `minetrace cases list|show|update`: the case workflow against a running server
//! (`--server URL --token T`, an admin token).

use anyhow::Context;
use minetrace_client::Client;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Server URL, e.g. http://127.0.0.1:8440.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = "http://127.0.0.1:8440"
    )]
    pub server: String,
    /// Admin token (`minetrace token create --role admin`).
    #[arg(long, global = true, value_name = "TOKEN", default_value = "")]
    pub token: String,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// List cases.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        unit: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one case: attribution, class and reasons, timeline, estimates (JSON).
    Show { id: i64 },
    /// Move a case through the workflow.
    Update {
        id: i64,
        /// detected, investigating, confirmed, rectifying, closed.
        #[arg(long)]
        status: Option<String>,
        /// active, passive, research, false-positive.
        #[arg(long)]
        class: Option<String>,
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    if a.token.is_empty() {
        anyhow::bail!(
            "--token is required (an admin token from `minetrace token create --role admin`)"
        );
    }
    let client = Client::new(&a.server, &a.token)?;
    match a.action {
        Action::List { status, unit, json } => {
            let mut q = Vec::new();
            if let Some(s) = status {
                q.push(format!("status={}", enc(&s)));
            }
            if let Some(u) = unit {
                q.push(format!("unit={}", enc(&u)));
            }
            let v = client
                .get_json(&format!("/api/v1/cases?{}", q.join("&")))
                .context("listing cases")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(crate::EXIT_CLEAN);
            }
            println!(
                "{:>5} {:<13} {:<13} {:<20} {:<16} {:<16} {:>4} ACCOUNT",
                "ID", "STATUS", "CLASS", "UNIT", "HOST", "ADDRESS", "REC"
            );
            let s = |v: &serde_json::Value| {
                v.as_str()
                    .unwrap_or("-")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(20)
                    .collect::<String>()
            };
            for c in v["cases"].as_array().into_iter().flatten() {
                let class = if c["class"].is_null() {
                    format!("({})", s(&c["proposed_class"]))
                } else {
                    s(&c["class"])
                };
                let addr = if c["client_ip"].is_null() {
                    s(&c["public_ip"])
                } else {
                    s(&c["client_ip"])
                };
                println!(
                    "{:>5} {:<13} {:<13} {:<20} {:<16} {:<16} {:>4} {}",
                    c["id"],
                    s(&c["status"]),
                    class,
                    s(&c["unit_name"]),
                    s(&c["host_name"]),
                    addr,
                    c["recurrence"],
                    s(&c["account"])
                );
            }
        }
        Action::Show { id } => {
            let v = client
                .get_json(&format!("/api/v1/cases/{id}"))
                .with_context(|| format!("case {id}"))?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Action::Update {
            id,
            status,
            class,
            assignee,
            note,
        } => {
            let body = serde_json::json!({"status": status, "class": class, "assignee": assignee, "note": note});
            let body: serde_json::Map<String, serde_json::Value> = body
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let v = client
                .send_json(
                    "PATCH",
                    &format!("/api/v1/cases/{id}"),
                    &serde_json::Value::Object(body),
                )
                .with_context(|| format!("updating case {id}"))?;
            println!(
                "case {id}: {} ({})",
                v["case"]["status"].as_str().unwrap_or("?"),
                v["case"]["class"].as_str().unwrap_or("no class")
            );
        }
    }
    Ok(crate::EXIT_CLEAN)
}
