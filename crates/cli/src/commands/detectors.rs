//! `minetrace detectors`: the registered detectors and what they report.

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<u8> {
    for d in minetrace_detect::builtin() {
        let dialects: Vec<&str> = d.dialects().iter().map(|x| x.as_str()).collect();
        println!(
            "{:<16} {:<40} {}",
            d.name(),
            dialects.join(","),
            d.description()
        );
    }
    Ok(crate::EXIT_CLEAN)
}
