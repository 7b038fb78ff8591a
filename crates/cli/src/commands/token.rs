//! `minetrace token create|list|revoke`: enrol sensors, agents and operators directly on the
//! server's data directory (or its PostgreSQL database). A token is shown once; the server keeps
//! only its SHA-256. Sources use it as `Authorization: Bearer <token>`.

use anyhow::Context;
use minetrace_store::{Role, Store};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// The server's data directory (ledger key; SQLite database unless --database).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// PostgreSQL URL when the server runs on PostgreSQL.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

impl StoreArgs {
    pub fn open(&self) -> anyhow::Result<Store> {
        Store::open(&self.data, self.database.as_deref())
            .with_context(|| format!("opening the store in {}", self.data.display()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Sensor,
    Agent,
    Admin,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Enrol a source and print its token (shown once).
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// Unique name of the sensor, agent or operator.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List enrolled sources.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a source's token by name.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        name: String,
    },
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    match a.action {
        Action::Create { store, name, role } => {
            let role = match role {
                RoleArg::Sensor => Role::Sensor,
                RoleArg::Agent => Role::Agent,
                RoleArg::Admin => Role::Admin,
            };
            let (_, token) = store
                .open()?
                .create_source(&name, role)
                .with_context(|| format!("enrolling {name:?}"))?;
            println!("{token}");
        }
        Action::List { store } => {
            println!(
                "{:<24} {:<7} {:<28} {:<28} REVOKED",
                "NAME", "ROLE", "CREATED", "LAST SEEN"
            );
            let t = |v: Option<i64>| {
                v.map(|u| minetrace_core::Timestamp(u).to_rfc3339())
                    .unwrap_or_else(|| "-".into())
            };
            for s in store.open()?.list_sources()? {
                println!(
                    "{:<24} {:<7} {:<28} {:<28} {}",
                    s.name,
                    s.role.as_str(),
                    t(Some(s.created_at)),
                    t(s.last_seen),
                    t(s.revoked_at)
                );
            }
        }
        Action::Revoke { store, name } => {
            if !store.open()?.revoke_source(&name)? {
                anyhow::bail!("no active source named {name:?}");
            }
            println!("revoked {name}");
        }
    }
    Ok(crate::EXIT_CLEAN)
}
