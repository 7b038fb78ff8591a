//! The `minetrace` binary: argument parsing and glue. Each subcommand lives in its own module
//! under `commands/`; the work happens in the library crates.

mod commands;
mod estimates;
mod output;
mod upload;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status, as a virus scanner: nothing found, findings, or an error.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "minetrace",
    version,
    about = "Finds cryptocurrency mining on an organisation's own machines and networks",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The first run: simulate a unit's traffic, analyse it, compare with the ground truth.
    Demo(commands::demo::Args),
    /// Analyse pcap/pcapng captures (files or directories) for mining sessions.
    Analyze(commands::analyze::Args),
    /// Write simulated mining and benign sessions as pcap files (no proof-of-work).
    Simulate(commands::simulate::Args),
    /// Hashrate, energy, coal/CO2, money and legal band calculator.
    Estimate(commands::estimate::Args),
    /// Scan this host once for mining processes, persistence and tampering.
    Scan(commands::scan::Args),
    /// Rescan this host continuously and report findings.
    Agent(commands::agent::Args),
    /// Capture live from an interface (AF_PACKET) and report mining as it happens.
    Sensor(commands::sensor::Args),
    /// List the built-in detectors.
    Detectors(commands::detectors::Args),
    /// Run the server: ingest, asset registry, correlation into cases, evidence ledger.
    Server(commands::server::Args),
    /// Enrol, list and revoke sensor, agent and operator tokens.
    Token(commands::token::Args),
    /// Create and list web console users (regulator, unit admin, investigator, auditor).
    User(commands::user::Args),
    /// List, show and update cases on a server.
    Cases(commands::cases::Args),
    /// Export a case's evidence bundle, or verify one offline.
    Evidence(commands::evidence::Args),
    /// Check a configuration file.
    Config(commands::config::Args),
    /// Read flow records (files or a NetFlow/IPFIX collector) and find mining by its traffic shape.
    Flows(commands::flows::Args),
}

/// Output piped into `head` or `less` ends quietly when the reader goes away, as for any Unix
/// tool, instead of a panic from `println!` on a broken pipe.
#[cfg(unix)]
fn default_sigpipe() {
    // SAFETY: resetting a signal disposition to its default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    #[cfg(unix)]
    default_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => commands::demo::run(a),
        Command::Analyze(a) => commands::analyze::run(a),
        Command::Simulate(a) => commands::simulate::run(a),
        Command::Estimate(a) => commands::estimate::run(a),
        Command::Scan(a) => commands::scan::run(a),
        Command::Agent(a) => commands::agent::run(a),
        Command::Sensor(a) => commands::sensor::run(a),
        Command::Detectors(a) => commands::detectors::run(a),
        Command::Server(a) => commands::server::run(a),
        Command::Token(a) => commands::token::run(a),
        Command::User(a) => commands::user::run(a),
        Command::Cases(a) => commands::cases::run(a),
        Command::Evidence(a) => commands::evidence::run(a),
        Command::Config(a) => commands::config::run(a),
        Command::Flows(a) => commands::flows::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(EXIT_CLEAN);
            }
            eprintln!("minetrace: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
