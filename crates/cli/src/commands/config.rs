//! `minetrace config check FILE`: reads the TOML configuration (one section per role:
//! [server], [sensor], [agent]) strictly and reports the first problem.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Check a configuration file.
    Check { file: PathBuf },
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    match a.action {
        Action::Check { file } => {
            let c = minetrace_server::config::Config::load(&file)?;
            let mut sections = Vec::new();
            if let Some(s) = &c.server {
                if let Some(r) = &s.rules {
                    let text = minetrace_core::io::read_bounded_string(r, 1 << 20)?;
                    minetrace_server::service::rules::Rules::parse(
                        &text,
                        &r.display().to_string(),
                    )?;
                }
                sections.push("server");
            }
            if c.sensor.is_some() {
                sections.push("sensor");
            }
            if c.agent.is_some() {
                sections.push("agent");
            }
            println!(
                "{}: OK ({})",
                file.display(),
                if sections.is_empty() {
                    "no sections".to_string()
                } else {
                    sections.join(", ")
                }
            );
            Ok(crate::EXIT_CLEAN)
        }
    }
}
