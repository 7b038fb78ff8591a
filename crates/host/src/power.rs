//! Power drawn by a flagged process. Measured where the hardware tells: the RAPL package energy
//! counters (`/sys/class/powercap/intel-rapl:N/energy_uj`) between two samples, attributed to the
//! process by its share of the busy CPU time (`/proc/stat`) over the same interval; NVML power of
//! the GPUs the process computes on, split by its share of them. Otherwise estimated from the
//! cores it keeps busy. Every figure says which (`crates/estimate` figures, basis and method).

use minetrace_estimate::power::{attribute_by_share, rapl_power, RaplSample};
use minetrace_estimate::Figure;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Watts one fully busy core draws, for the estimate when no counter can be read: a server core
/// under a hashing load draws about 6-20 W including its share of uncore and memory.
pub const WATTS_PER_BUSY_CORE: (f64, f64, f64) = (6.0, 12.0, 20.0);
/// RAPL package domains read at most (sockets).
const MAX_PACKAGES: usize = 16;

/// One sample of the counters.
#[derive(Debug, Clone)]
struct Reading {
    at: Instant,
    /// (domain name, energy_uj, max_energy_range_uj) per package.
    packages: Vec<(String, u64, u64)>,
    /// Busy and total jiffies from the first line of /proc/stat.
    busy_ticks: u64,
}

/// What happened on the host between the last two samples.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerWindow {
    /// Package power, measured (RAPL), when the counters are readable.
    pub package: Option<Figure>,
    /// Cores kept busy on average (all processes).
    pub busy_cores: f64,
    pub seconds: f64,
}

/// Reads RAPL and /proc/stat at each scan and keeps the previous reading.
#[derive(Debug)]
pub struct PowerMeter {
    sys_root: PathBuf,
    proc_root: PathBuf,
    ticks_per_second: u64,
    last: Option<Reading>,
}

impl PowerMeter {
    pub fn new(sys_root: &Path, proc_root: &Path, ticks_per_second: u64) -> Self {
        PowerMeter {
            sys_root: sys_root.to_path_buf(),
            proc_root: proc_root.to_path_buf(),
            ticks_per_second: ticks_per_second.max(1),
            last: None,
        }
    }

    /// Takes a sample; returns the window since the previous one (`None` on the first).
    pub fn sample(&mut self) -> Option<PowerWindow> {
        let now = Reading {
            at: Instant::now(),
            packages: read_rapl(&self.sys_root),
            busy_ticks: read_busy_ticks(&self.proc_root)?,
        };
        let prev = self.last.replace(now.clone())?;
        let seconds = now.at.duration_since(prev.at).as_secs_f64();
        if seconds <= 0.0 {
            return None;
        }
        let busy = now.busy_ticks.saturating_sub(prev.busy_ticks) as f64;
        let busy_cores = busy / self.ticks_per_second as f64 / seconds;
        let mut total: Option<Figure> = None;
        for (name, energy, range) in &now.packages {
            let Some((_, before, _)) = prev.packages.iter().find(|(n, _, _)| n == name) else {
                continue;
            };
            let samples = [
                RaplSample {
                    at_s: 0.0,
                    energy_uj: *before,
                },
                RaplSample {
                    at_s: seconds,
                    energy_uj: *energy,
                },
            ];
            if let Ok(w) = rapl_power(&samples, *range, name) {
                total = Some(match total {
                    None => w,
                    Some(t) => Figure::measured(
                        t.value + w.value,
                        "W",
                        format!("{} + {}", t.method, w.method),
                    ),
                });
            }
        }
        Some(PowerWindow {
            package: total,
            busy_cores,
            seconds,
        })
    }
}

/// The process's power from its CPU share (percent of one core) and, when known, the GPUs' power
/// it is responsible for (already attributed, in watts, measured by NVML).
pub fn process_power(
    window: Option<&PowerWindow>,
    cpu_percent: f64,
    gpu_watts: Option<f64>,
) -> Figure {
    let cores = (cpu_percent / 100.0).max(0.0);
    let cpu = match window.and_then(|w| w.package.as_ref().map(|p| (p, w.busy_cores))) {
        Some((package, busy)) if busy > 0.0 => {
            let share = (cores / busy).clamp(0.0, 1.0);
            attribute_by_share(package, share, "busy CPU time").ok()
        }
        _ => None,
    };
    let cpu = cpu.unwrap_or_else(|| {
        let (low, mid, high) = WATTS_PER_BUSY_CORE;
        Figure::estimated(
            cores * mid,
            cores * low,
            cores * high,
            "W",
            format!(
                "{cores:.2} busy cores x {mid} W per core ({low}-{high} W; no RAPL counters readable)"
            ),
        )
    });
    match gpu_watts {
        Some(g) if g > 0.0 => Figure {
            value: cpu.value + g,
            low: cpu.low + g,
            high: cpu.high + g,
            unit: "W".into(),
            basis: cpu.basis,
            method: format!(
                "{} + {g:.0} W of GPU power (NVML, by the process's share)",
                cpu.method
            ),
        },
        _ => cpu,
    }
}

/// Top-level RAPL package domains (`intel-rapl:0`, not the `intel-rapl:0:0` subzones).
fn read_rapl(sys_root: &Path) -> Vec<(String, u64, u64)> {
    let dir = sys_root.join("class/powercap");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten().take(256) {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_package = name
            .strip_prefix("intel-rapl:")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_package || out.len() >= MAX_PACKAGES {
            continue;
        }
        let read = |f: &str| {
            minetrace_core::io::read_bounded_string(&e.path().join(f), 64)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
        };
        if let (Some(energy), Some(range)) = (read("energy_uj"), read("max_energy_range_uj")) {
            out.push((name, energy, range));
        }
    }
    out.sort();
    out
}

/// Busy jiffies of all CPUs: the first line of /proc/stat minus idle and iowait.
fn read_busy_ticks(proc_root: &Path) -> Option<u64> {
    let text = minetrace_core::io::read_bounded_string(&proc_root.join("stat"), 1 << 20).ok()?;
    let line = text.lines().next()?;
    let mut fields = line.split_ascii_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.take(8).filter_map(|f| f.parse().ok()).collect();
    if v.len() < 4 {
        return None;
    }
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    Some(v.iter().sum::<u64>().saturating_sub(idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path, energy: u64, busy: u64) {
        let rapl = dir.join("sys/class/powercap/intel-rapl:0");
        std::fs::create_dir_all(&rapl).unwrap();
        std::fs::write(rapl.join("energy_uj"), energy.to_string()).unwrap();
        std::fs::write(rapl.join("max_energy_range_uj"), "262143328850").unwrap();
        // A subzone must not be added to the package.
        let sub = dir.join("sys/class/powercap/intel-rapl:0:0");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("energy_uj"), (energy / 2).to_string()).unwrap();
        std::fs::write(sub.join("max_energy_range_uj"), "262143328850").unwrap();
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        std::fs::write(
            dir.join("proc/stat"),
            format!("cpu  {busy} 0 0 1000 0 0 0 0 0 0\ncpu0 1 2 3 4\n"),
        )
        .unwrap();
    }

    #[test]
    fn rapl_power_is_attributed_by_busy_share() {
        let d = tempfile::tempdir().unwrap();
        tree(d.path(), 1_000_000, 0);
        let mut m = PowerMeter::new(&d.path().join("sys"), &d.path().join("proc"), 100);
        assert!(m.sample().is_none());
        std::thread::sleep(std::time::Duration::from_millis(200));
        // 200 busy ticks at 100/s over ~0.2 s: about 10 busy cores; 20 J more energy.
        tree(d.path(), 21_000_000, 200);
        let w = m.sample().unwrap();
        let package = w.package.clone().unwrap();
        assert_eq!(package.basis, minetrace_estimate::Basis::Measured);
        assert!(
            (package.value - 20.0 / w.seconds).abs() < 1e-6,
            "{package:?}"
        );
        // A process keeping 2 of the 10 busy cores gets a fifth of the package.
        let p = process_power(Some(&w), 200.0 * w.busy_cores / 10.0, None);
        assert!(
            (p.value - package.value * 0.2).abs() / package.value < 0.02,
            "{p:?}"
        );
        assert_eq!(p.basis, minetrace_estimate::Basis::Measured);
    }

    #[test]
    fn without_counters_the_estimate_says_so() {
        let p = process_power(None, 400.0, Some(250.0));
        assert_eq!(p.basis, minetrace_estimate::Basis::Estimated);
        assert!((p.value - (4.0 * 12.0 + 250.0)).abs() < 1e-9);
        assert!(p.method.contains("no RAPL"), "{}", p.method);
        // Unreadable roots never panic and give no window.
        let mut m = PowerMeter::new(Path::new("/nonexistent"), Path::new("/nonexistent"), 100);
        assert!(m.sample().is_none() && m.sample().is_none());
    }
}
