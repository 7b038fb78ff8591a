//! `minetrace evidence export CASE -o FILE` (from a server, or directly from a data directory)
//! and `minetrace evidence verify FILE` (offline; exit 1 and the first changed, removed,
//! reordered or added record or attachment when it fails).

use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Write a case's evidence bundle (records, attachments, manifest, public key).
    Export {
        case: i64,
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Fetch from this server (with --token) ...
        #[arg(long, value_name = "URL", conflicts_with = "data")]
        server: Option<String>,
        #[arg(long, value_name = "TOKEN", default_value = "")]
        token: String,
        /// ... or read the data directory directly.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        #[arg(long, value_name = "URL", requires = "data")]
        database: Option<String>,
    },
    /// Verify a bundle offline.
    Verify {
        file: PathBuf,
        /// Expected signer (hex Ed25519 public key, from GET /api/v1/ledger).
        #[arg(long, value_name = "HEX")]
        key: Option<String>,
    },
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    match a.action {
        Action::Export {
            case,
            output,
            server,
            token,
            data,
            database,
        } => {
            let bytes = match (server, data) {
                (Some(url), _) => minetrace_client::Client::new(&url, &token)?
                    .get_text(&format!("/api/v1/cases/{case}/evidence"))
                    .with_context(|| format!("fetching the bundle of case {case}"))?
                    .into_bytes(),
                (None, Some(dir)) => {
                    let store = minetrace_store::Store::open(&dir, database.as_deref())?;
                    let mut out = Vec::new();
                    minetrace_store::bundle::export_case(&store, case, &mut out)?;
                    out
                }
                (None, None) => anyhow::bail!("give --server URL --token T, or --data DIR"),
            };
            std::fs::write(&output, &bytes)
                .with_context(|| format!("writing {}", output.display()))?;
            let v = minetrace_store::bundle::verify(&bytes, None)
                .context("the exported bundle does not verify")?;
            println!(
                "wrote {} ({} records, {} attachments, key {})",
                output.display(),
                v.records,
                v.attachments,
                v.public_key
            );
            Ok(crate::EXIT_CLEAN)
        }
        Action::Verify { file, key } => {
            let bytes =
                minetrace_core::io::read_bounded(&file, minetrace_store::bundle::MAX_BUNDLE_BYTES)
                    .with_context(|| format!("reading {}", file.display()))?;
            match minetrace_store::bundle::verify(&bytes, key.as_deref()) {
                Ok(v) => {
                    println!(
                        "OK: case {} bundle verifies: {} records, {} attachments, signed by {}",
                        v.case, v.records, v.attachments, v.public_key
                    );
                    if key.is_none() {
                        println!("note: compare the signer with the server's key (GET /api/v1/ledger) or pass --key");
                    }
                    Ok(crate::EXIT_CLEAN)
                }
                Err(e) => {
                    println!("FAILED: {}: {e}", file.display());
                    Ok(crate::EXIT_FINDINGS)
                }
            }
        }
    }
}
