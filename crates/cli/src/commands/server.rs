//! `minetrace server`: ingest, registry, correlation into cases and the evidence ledger.
//!
//! ```text
//! minetrace server --data /var/lib/minetrace --listen 0.0.0.0:8440 --tls-generate
//! minetrace server --data /var/lib/minetrace --database postgres://minetrace@db/minetrace
//! ```

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub server: minetrace_server::ServerArgs,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    minetrace_server::run(&a.server)?;
    Ok(crate::EXIT_CLEAN)
}
