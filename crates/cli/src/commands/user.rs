//! `minetrace user create|list|password`: console users, kept in the server's store.
//!
//! ```text
//! minetrace user create --data /var/lib/minetrace --name wang.li --role unit_admin --unit "Demo University"
//! minetrace user create --data /var/lib/minetrace --name zhao.min --role regulator --region "Demo Province"
//! ```
//! The password comes from MINETRACE_PASSWORD, or is generated and printed once.

use super::token::StoreArgs;
use anyhow::{bail, Context};
use minetrace_store::ConsoleRole;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum RoleArg {
    Regulator,
    UnitAdmin,
    Investigator,
    Auditor,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create a console user.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Region a regulator or auditor oversees (`*` for all).
        #[arg(long)]
        region: Option<String>,
        /// Unit a unit administrator belongs to.
        #[arg(long)]
        unit: Option<String>,
    },
    /// List console users.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a new password (ends the user's sessions).
    Password {
        #[command(flatten)]
        store: StoreArgs,
        name: String,
    },
}

fn password() -> (String, bool) {
    match std::env::var("MINETRACE_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (minetrace_server::console::auth::generate_password(), true),
    }
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    match a.action {
        Action::Create {
            store,
            name,
            role,
            region,
            unit,
        } => {
            let role = match role {
                RoleArg::Regulator => ConsoleRole::Regulator,
                RoleArg::UnitAdmin => ConsoleRole::UnitAdmin,
                RoleArg::Investigator => ConsoleRole::Investigator,
                RoleArg::Auditor => ConsoleRole::Auditor,
            };
            match role {
                ConsoleRole::Regulator | ConsoleRole::Auditor if region.is_none() => {
                    bail!("--role {} needs --region R (or `*`)", role.as_str())
                }
                ConsoleRole::UnitAdmin if unit.is_none() => {
                    bail!("--role unit_admin needs --unit U")
                }
                _ => {}
            }
            let (pw, generated) = password();
            minetrace_server::console::create_user(
                &store.open()?,
                &name,
                role,
                region.as_deref(),
                unit.as_deref(),
                &pw,
            )
            .with_context(|| format!("creating user {name:?}"))?;
            if generated {
                println!("{pw}");
                eprintln!("minetrace: created {name}; its password is above (shown once)");
            }
        }
        Action::List { store } => {
            println!("{:<24} {:<13} {:<20} UNIT", "NAME", "ROLE", "REGION");
            for u in store.open()?.list_users()? {
                println!(
                    "{:<24} {:<13} {:<20} {}",
                    u.name,
                    u.role.as_str(),
                    u.region.as_deref().unwrap_or("-"),
                    u.unit.as_deref().unwrap_or("-")
                );
            }
        }
        Action::Password { store, name } => {
            let (pw, generated) = password();
            if pw.chars().count() < 12 {
                bail!("passwords have at least 12 characters");
            }
            let hash = minetrace_server::console::auth::hash_password(&pw)
                .map_err(|e| anyhow::anyhow!(e))?;
            if !store.open()?.set_password(&name, &hash)? {
                bail!("no user {name:?}");
            }
            if generated {
                println!("{pw}");
            }
        }
    }
    Ok(crate::EXIT_CLEAN)
}
