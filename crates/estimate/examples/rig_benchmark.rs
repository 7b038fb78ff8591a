//! Prints the estimate-vs-truth table of docs/estimation.md:
//! `cargo run -p minetrace-estimate --example rig_benchmark`.

#[path = "../tests/support/rigsim.rs"]
mod rigsim;

use minetrace_estimate::{rigs::estimate_rigs, EstimateConfig};

fn main() {
    let cfg = EstimateConfig::default();
    println!(
        "| scenario | truth | connections | low | point | high | confidence | contains truth |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for s in rigsim::all() {
        let e = estimate_rigs(&cfg, &s.obs);
        println!(
            "| {} | {} | {} | {} | {} | {} | {:?} | {} |",
            s.name,
            s.truth,
            s.obs.connections.len(),
            e.low,
            e.point,
            e.high,
            e.confidence,
            if e.contains(s.truth) { "yes" } else { "NO" }
        );
    }
}
