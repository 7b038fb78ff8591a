//! `minetrace-server`: the same server as `minetrace server`, as a standalone binary (used by
//! the crash-durability tests and for slim deployments).

use clap::Parser;

#[derive(Parser)]
#[command(name = "minetrace-server", version, about = "The minetrace server")]
struct Cli {
    #[command(flatten)]
    args: minetrace_server::ServerArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match minetrace_server::run(&cli.args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minetrace-server: error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
