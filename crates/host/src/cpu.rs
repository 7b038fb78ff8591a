//! CPU share over a window and RandomX tell-tales (huge pages reserved, the msr module loaded
//! with writes allowed).

use std::path::Path;

/// CPU share in percent of one core between two samples of utime+stime.
pub fn cpu_percent(
    ticks_before: u64,
    ticks_after: u64,
    seconds: f64,
    ticks_per_second: u64,
) -> Option<f64> {
    if seconds <= 0.0 || ticks_per_second == 0 || ticks_after < ticks_before {
        return None;
    }
    Some((ticks_after - ticks_before) as f64 / ticks_per_second as f64 / seconds * 100.0)
}

/// Clock ticks per second of `/proc/<pid>/stat` times.
pub fn ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second()
}

/// Host-wide RandomX tuning facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RandomxTuning {
    pub huge_pages_total: u64,
    pub huge_pages_free: u64,
    pub msr_loaded: bool,
    pub msr_allow_writes: Option<String>,
}

impl RandomxTuning {
    pub fn huge_pages_in_use(&self) -> u64 {
        self.huge_pages_total.saturating_sub(self.huge_pages_free)
    }
}

/// Reads `/proc/meminfo`, `/proc/modules` and `/sys/module/msr/parameters/allow_writes`.
pub fn read_tuning(proc_root: &Path, sys_root: &Path) -> RandomxTuning {
    let mut t = RandomxTuning::default();
    if let Ok(b) = minetrace_core::io::read_head(&proc_root.join("meminfo"), 64 * 1024) {
        for line in String::from_utf8_lossy(&b).lines() {
            let mut w = line.split_whitespace();
            let (Some(k), Some(v)) = (w.next(), w.next().and_then(|v| v.parse::<u64>().ok()))
            else {
                continue;
            };
            match k {
                "HugePages_Total:" => t.huge_pages_total = v,
                "HugePages_Free:" => t.huge_pages_free = v,
                _ => {}
            }
        }
    }
    if let Ok(b) = minetrace_core::io::read_head(&proc_root.join("modules"), 1024 * 1024) {
        t.msr_loaded = String::from_utf8_lossy(&b)
            .lines()
            .any(|l| l.split_whitespace().next() == Some("msr"));
    }
    if let Ok(b) =
        minetrace_core::io::read_head(&sys_root.join("module/msr/parameters/allow_writes"), 64)
    {
        t.msr_allow_writes = Some(String::from_utf8_lossy(&b).trim().to_string());
        t.msr_loaded = true;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent() {
        assert_eq!(cpu_percent(100, 200, 1.0, 100), Some(100.0));
        assert_eq!(cpu_percent(200, 100, 1.0, 100), None);
        assert_eq!(cpu_percent(1, 2, 0.0, 100), None);
    }

    #[test]
    fn tuning_from_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("meminfo"),
            "MemTotal: 1 kB\nHugePages_Total:    1280\nHugePages_Free:      10\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("modules"),
            "msr 16384 0 - Live 0x0\next4 1 1 - Live 0\n",
        )
        .unwrap();
        let t = read_tuning(d.path(), d.path());
        assert_eq!(t.huge_pages_in_use(), 1270);
        assert!(t.msr_loaded);
    }
}
