//! Estimated power, energy, coal and CO2 for what `analyze` found (crates/estimate does the
//! arithmetic; this only picks its inputs from findings and host summaries).

use minetrace_core::Finding;
use minetrace_detect::summary::MiningHost;
use minetrace_estimate::calc::{calculate, finding_figures, CalcInputs};
use minetrace_estimate::rigs::{
    estimate_rigs, AddressObservations, ConnectionObservation, IpIdSample, RigEstimate, TsSample,
};
use minetrace_estimate::EstimateConfig;
use std::collections::HashMap;

/// Adds `evidence.extra.estimate` (hashrate, power and kWh/day, each with its basis and method)
/// to every finding the figures can be derived for.
pub fn annotate(cfg: &EstimateConfig, findings: &mut [Finding]) {
    for f in findings {
        let Some(r) = finding_figures(cfg, f) else {
            continue;
        };
        let mut est = serde_json::Map::new();
        for (key, fig) in [
            ("hashrate", r.hashrate.as_ref()),
            ("power", r.power.as_ref()),
            ("kwh_per_day", r.energy.as_ref().map(|e| &e.kwh_per_day)),
        ] {
            if let Some(v) = fig.and_then(|fig| serde_json::to_value(fig).ok()) {
                est.insert(key.into(), v);
            }
        }
        if !est.is_empty() {
            f.evidence
                .extra
                .insert("estimate".into(), serde_json::Value::Object(est));
        }
    }
}

/// Power and kWh/day of one mining host: per (algorithm family, rig) the largest figure among
/// its findings (a rig that reconnected is counted once), summed. Hashrates of different
/// algorithms are never added together; their powers are. `findings` are the host's
/// ([`crate::output::by_client`]); any other host's are skipped.
pub fn host_figures(
    cfg: &EstimateConfig,
    host: &MiningHost,
    findings: &[&Finding],
) -> Option<HostEnergy> {
    let mut best: HashMap<(String, String), (f64, f64)> = HashMap::new();
    for f in findings
        .iter()
        .copied()
        .filter(|f| f.client.as_ref().is_some_and(|c| c.ip == host.client_ip))
    {
        let Some(r) = finding_figures(cfg, f) else {
            continue;
        };
        let (Some(power), Some(energy)) = (r.power.as_ref(), r.energy.as_ref()) else {
            continue;
        };
        let e = &f.evidence;
        let family = e
            .algorithm_family
            .map(|a| format!("{a:?}"))
            .unwrap_or_default();
        let rig = e
            .worker
            .clone()
            .or_else(|| e.rig_id.clone())
            .or_else(|| e.extranonce1.clone())
            .unwrap_or_else(|| f.id.clone());
        let slot = best.entry((family, rig)).or_default();
        if power.value > slot.0 {
            *slot = (power.value, energy.kwh_per_day.value);
        }
    }
    if best.is_empty() {
        return None;
    }
    Some(HostEnergy {
        watts: best.values().map(|v| v.0).sum(),
        kwh_per_day: best.values().map(|v| v.1).sum(),
    })
}

/// Estimated draw of one host's mining.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostEnergy {
    pub watts: f64,
    pub kwh_per_day: f64,
}

/// Coal, CO2 and cost for the summed kWh/day of all hosts (one line for the table's foot).
pub fn total_line(cfg: &EstimateConfig, hosts: &[Option<HostEnergy>]) -> Option<String> {
    let kwh: f64 = hosts.iter().flatten().map(|h| h.kwh_per_day).sum();
    if kwh <= 0.0 {
        return None;
    }
    let r = calculate(
        cfg,
        &CalcInputs {
            kwh_per_day: Some(kwh),
            ..Default::default()
        },
    )
    .ok()?;
    r.energy.as_ref().map(|e| {
        format!(
            "Estimated draw if the mining runs all day (default hardware per algorithm; see docs/estimation.md): \
             {:.1} kWh/day, {:.1} kg standard coal/day, {:.2} t CO2/year, {:.2} {}/day",
            e.kwh_per_day.value,
            e.coal_t_per_day.value * 1000.0,
            e.co2_t_per_year.value,
            e.cost_per_day.value,
            e.tariff.currency
        )
    })
}

/// How many rigs stand behind one mining host's address: distinct workers, rig ids and
/// extranonce1 values, concurrent connections, TCP timestamp clocks and IP-ID counters
/// (`minetrace_estimate::rigs`), from its findings. `None` without network findings.
pub fn host_rigs(
    cfg: &EstimateConfig,
    host: &MiningHost,
    findings: &[&Finding],
) -> Option<RigEstimate> {
    let mut obs = AddressObservations::default();
    let mut seen = std::collections::HashSet::new();
    for f in findings
        .iter()
        .copied()
        .filter(|f| f.client.as_ref().is_some_and(|c| c.ip == host.client_ip))
    {
        let (Some(c), Some(s)) = (&f.client, &f.server) else {
            continue;
        };
        let id = format!("{c} -> {s}");
        let clock = f.evidence.extra.get("client_clock");
        let pairs = |key: &str| -> Vec<(f64, u64)> {
            clock
                .and_then(|c| c.get(key))
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_u64()?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        obs.ip_ids
            .extend(pairs("ip_id").into_iter().filter_map(|(t, v)| {
                Some(IpIdSample {
                    capture_s: t,
                    ip_id: u16::try_from(v).ok()?,
                })
            }));
        let e = &f.evidence;
        // The share-rate method reads only how many shares fell in how long: the counted
        // submissions are laid evenly over the session's span (bounded).
        let (start, end) = (
            f.first_seen.micros() as f64 / 1e6,
            f.last_seen.micros() as f64 / 1e6,
        );
        let n = e.shares_submitted.min(10_000);
        let share_times_s: Vec<f64> = if n >= 2 && end > start {
            (0..n)
                .map(|i| start + (end - start) * i as f64 / (n - 1) as f64)
                .collect()
        } else {
            Vec::new()
        };
        obs.connections.push(ConnectionObservation {
            id,
            worker: e.worker.clone(),
            rig_id: e.rig_id.clone(),
            extranonce1: e.extranonce1.clone(),
            agent: e.agent.clone(),
            start_s: Some(start),
            end_s: Some(end),
            share_times_s,
            tcp_timestamps: pairs("tsval")
                .into_iter()
                .filter_map(|(t, v)| {
                    Some(TsSample {
                        capture_s: t,
                        tsval: u32::try_from(v).ok()?,
                    })
                })
                .collect(),
        });
    }
    if obs.connections.is_empty() {
        return None;
    }
    Some(estimate_rigs(cfg, &obs))
}
