//! Times steady-state rescans of this host's processes (hashes and details cached), for
//! scripts/bench-scan.sh. Usage: `rescan [N]` prints one line per rescan in milliseconds and a
//! summary line `median_ms=<x> processes=<n>`.

use minetrace_host::{ScanConfig, Scanner};
use std::time::Duration;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let root = std::env::temp_dir();
    let mut scanner = Scanner::new(ScanConfig {
        root,
        cpu_window: Duration::ZERO,
        file_checks: false,
        hidden_pid_probe: false,
        gpu: false,
        ..ScanConfig::default()
    });
    let first = scanner.scan();
    eprintln!(
        "first scan: {:.1} ms, {} processes, {} executables read",
        first.stats.elapsed_ms, first.stats.processes, first.stats.executables_read
    );
    let mut times = Vec::with_capacity(n);
    let mut processes = 0;
    for _ in 0..n {
        let r = scanner.scan();
        processes = r.stats.processes;
        println!("{:.3}", r.stats.elapsed_ms);
        times.push(r.stats.elapsed_ms);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
    println!("median_ms={median:.3} processes={processes}");
}
