//! Per-case estimates from the findings' hashrate figures, through crates/estimate.

use minetrace_core::{AlgorithmFamily, Endpoint, FindingKind, Timestamp};
use minetrace_estimate::{energy, family, gains, legal, power, EstimateConfig, Figure};
use minetrace_store::StoredFinding;
use std::collections::BTreeMap;

/// Most sessions remembered per case.
const MAX_SESSIONS: usize = 1000;

/// Sessions priced together: (family name, hardware class when not the family's default).
type PricingKey<'a> = (&'a str, Option<&'a str>);

/// Hashrate per algorithm family (sum over sessions of each session's latest figure), power,
/// energy per day, the electricity cost over the case's duration (`seen`: its first and last
/// findings), the expected gains when the configuration prices the case's `coin` (`[coins.X]`,
/// dated), and the legal band for `machines`, those gains and that cost. Sessions carry over from
/// `previous` (the case's last estimate), so only new findings are read. Every figure keeps its
/// derivation.
pub fn for_case(
    cfg: &EstimateConfig,
    previous: &serde_json::Value,
    findings: &[&StoredFinding],
    machines: i64,
    seen: (Timestamp, Timestamp),
    coin: Option<&str>,
) -> serde_json::Value {
    let mut sessions: BTreeMap<String, (f64, Option<AlgorithmFamily>, String)> =
        per_session(&previous["sessions"]);
    // The hardware class of sessions whose miner software says it (GPU-only miners of a family
    // whose default class is an ASIC); the others go on their family's default.
    let mut classes: BTreeMap<String, String> = per_session(&previous["session_classes"]);
    // The power host agents measured (or estimated from busy cores) per miner program on each
    // machine: the latest report of each replaces the one before (a restarted miner is the
    // same draw, not a second one).
    let mut host_power: BTreeMap<String, Figure> =
        serde_json::from_value(previous["host_power"].clone()).unwrap_or_default();
    for sf in findings {
        let f = &sf.finding;
        if f.kind == FindingKind::Host {
            if let Some((key, power)) = agent_power(f) {
                if host_power.len() < MAX_SESSIONS || host_power.contains_key(&key) {
                    host_power.insert(key, power);
                }
            }
            continue;
        }
        if let Some(h) = &f.evidence.hashrate {
            if h.hashes_per_second.is_finite() && h.hashes_per_second >= 0.0 {
                let key = session_key(f.client.as_ref(), f.server.as_ref());
                if sessions.len() >= MAX_SESSIONS && !sessions.contains_key(&key) {
                    continue;
                }
                let family = f.evidence.algorithm_family;
                match family
                    .zip(f.evidence.agent.as_deref())
                    .and_then(|(fam, agent)| power::class_for_agent(cfg, fam, agent))
                {
                    Some(class) => classes.insert(key.clone(), class.name.to_string()),
                    None => classes.remove(&key),
                };
                sessions.insert(key, (h.hashes_per_second, family, h.method.clone()));
            }
        }
    }
    // Hashrates of different algorithms are not added (a kH/s of RandomX and a TH/s of
    // SHA-256d are different work): each family's sessions are summed, and priced in power per
    // hardware class, and the powers are added.
    let mut by_family: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut by_class: BTreeMap<PricingKey, (Option<AlgorithmFamily>, f64)> = BTreeMap::new();
    for (key, (hps, family, _)) in &sessions {
        let name = family.map_or("unknown", family::family_name);
        *by_family.entry(name).or_default() += hps;
        by_class
            .entry((name, classes.get(key).map(String::as_str)))
            .or_insert((*family, 0.0))
            .1 += hps;
    }
    let mut out = serde_json::json!({
        "machines": machines,
        "sessions_with_hashrate": sessions.len(),
        "hashrate_by_family": by_family,
        "hashrate_methods": sessions.values().map(|s| s.2.clone()).take(20).collect::<Vec<_>>(),
    });
    if let [total] = by_family.values().collect::<Vec<_>>()[..] {
        out["hashrate_hps"] = (*total).into();
    }
    let mut powers = Vec::new();
    let mut notes = Vec::new();
    for ((_, class), (fam, hps)) in by_class.into_iter().filter(|(_, (_, hps))| *hps > 0.0) {
        let priced = match (fam, class) {
            (Some(_), Some(class)) => {
                power::hardware_class(cfg, class).and_then(|c| power::power_on_class(cfg, &c, hps))
            }
            (Some(fam), None) => power::power_for_family(cfg, fam, hps),
            (None, _) => {
                notes.push("a hashrate of no known algorithm is not priced".to_string());
                continue;
            }
        };
        match priced {
            Ok(p) => powers.push(p),
            Err(e) => notes.push(e.to_string()),
        }
    }
    // A machine's own agent knows its draw better than a hashrate priced on typical hardware:
    // where agents reported, their figures are the case's power (the hashrate's is kept beside
    // them for comparison).
    let from_hashrate = Figure::sum(&powers);
    let reported: Vec<Figure> = host_power.values().cloned().collect();
    let power = match Figure::sum(&reported) {
        Some(mut agents) => {
            agents.method = format!(
                "reported by host agents for {} miner program(s): {}",
                reported.len(),
                agents.method
            );
            if let Some(h) = &from_hashrate {
                out["power_from_hashrate"] = serde_json::to_value(h).unwrap_or_default();
            }
            out["power_source"] = "host agents".into();
            Some(agents)
        }
        None => {
            if from_hashrate.is_some() {
                out["power_source"] = "hashrate".into();
            }
            from_hashrate
        }
    };
    if !host_power.is_empty() {
        out["host_power"] = serde_json::to_value(&host_power).unwrap_or_default();
    }
    let mut loss = None;
    let mut duration = None;
    if let Some(p) = power {
        let kwh_day = energy::kwh_per_day(&p);
        match electricity(cfg, &kwh_day, seen) {
            Ok(impact) => {
                loss = Some(impact.cost_total.value);
                duration = Some(impact.duration.clone());
                out["energy"] = serde_json::to_value(impact).unwrap_or_default();
            }
            Err(e) => notes.push(e.to_string()),
        }
        out["kwh_per_day"] = serde_json::to_value(kwh_day).unwrap_or_default();
        out["power_w"] = serde_json::to_value(p).unwrap_or_default();
    }
    if !notes.is_empty() {
        out["power_note"] = notes.join("; ").into();
    }
    out["sessions"] = serde_json::to_value(&sessions).unwrap_or_default();
    if !classes.is_empty() {
        out["session_classes"] = serde_json::to_value(&classes).unwrap_or_default();
    }
    let mut gains = None;
    let mut gains_reason = None;
    match coin.and_then(|c| case_gains(cfg, c, &by_family, duration.as_ref())) {
        Some(Ok((per_day, total))) => {
            gains = Some(total.value);
            gains_reason = Some(
                "gains estimated from the hashrate and the configured coin parameters".to_string(),
            );
            out["gains_per_day"] = serde_json::to_value(per_day).unwrap_or_default();
            out["gains_total"] = serde_json::to_value(total).unwrap_or_default();
        }
        Some(Err(why)) => {
            out["gains_note"] = why.clone().into();
            gains_reason = Some(why);
        }
        None => {}
    }
    let mut band = legal::assess(
        cfg,
        &legal::LegalInputs {
            machines: u64::try_from(machines).ok(),
            gains,
            loss,
        },
    );
    band.reasons.extend(gains_reason);
    if let Some(duration) = out["energy"]["duration"]["method"].as_str() {
        band.reasons.push(format!(
            "loss estimated as the electricity cost over the duration ({duration})"
        ));
    }
    out["legal"] = serde_json::to_value(band).unwrap_or_default();
    out
}

/// Energy, coal, CO2 and electricity cost of a case's draw over its duration: the time its
/// findings span, or, when that is shorter, the configured assumption for a start nobody saw
/// (mining found by monitoring was usually running before it; one province assumes 3 months).
/// The national tariff without surcharges: a unit's own tariff is for the investigator to give.
fn electricity(
    cfg: &EstimateConfig,
    kwh_day: &Figure,
    (first, last): (Timestamp, Timestamp),
) -> Result<energy::EnergyImpact, minetrace_estimate::EstimateError> {
    let observed = energy::activity_duration(cfg, Some(first.min(last)), last)?;
    let duration = if observed.days >= cfg.energy.unknown_start_days {
        observed
    } else {
        let assumed = energy::activity_duration(cfg, None, last)?;
        energy::ActivityDuration {
            method: format!("{}; observed {:.1} days", assumed.method, observed.days),
            ..assumed
        }
    };
    energy::energy_impact(
        kwh_day,
        duration,
        energy::coal_factor(cfg, None)?,
        energy::co2_factor(cfg, None)?,
        energy::tariff(cfg, None)?,
    )
}

/// Expected gains of `coin` (per day, and over the case's duration) from the case's hashrate
/// of that coin's algorithm; `None` without a hashrate or a duration, `Err` with the reason
/// when the coin cannot be priced (no dated `[coins.X]` in the configuration: network figures
/// change daily, so none is built in).
fn case_gains(
    cfg: &EstimateConfig,
    coin: &str,
    by_family: &BTreeMap<&'static str, f64>,
    duration: Option<&energy::ActivityDuration>,
) -> Option<Result<(Figure, Figure), String>> {
    let duration = duration?;
    let Ok((symbol, params)) = gains::coin(cfg, coin) else {
        return Some(Err(format!(
            "gains not estimated: the estimate configuration has no [coins.{coin}] (network \
             difficulty, reward and price, dated)"
        )));
    };
    let Some(fam) = family::parse_family(&params.family) else {
        return Some(Err(format!(
            "gains not estimated: [coins.{symbol}] names the unknown algorithm '{}'",
            params.family
        )));
    };
    // (An ETC coin table prices Ethash counted over EthProxy too.)
    let hps: f64 = by_family
        .iter()
        .filter(|(name, _)| family::parse_family(name).is_some_and(|f| family::same_work(f, fam)))
        .map(|(_, h)| *h)
        .sum();
    let name = family::family_name(fam);
    if hps <= 0.0 {
        return (!by_family.is_empty()).then(|| {
            Err(format!(
                "gains not estimated: [coins.{symbol}] is {name}, and the case has no {name} hashrate"
            ))
        });
    }
    let sessions = format!("the case's {name} sessions");
    let hashrate = Figure::estimated(hps, hps, hps, "H/s", sessions);
    let per_day = match gains::gains_per_day(&hashrate, symbol, params) {
        Ok(g) => g,
        Err(e) => return Some(Err(format!("gains not estimated: {e}"))),
    };
    let total = per_day.scaled(
        duration.days,
        &cfg.electricity.currency,
        &format!("x {:.1} days ({})", duration.days, duration.method),
    );
    Some(Ok((per_day, total)))
}

/// Most power one miner process is believed to draw (an eight-GPU server draws about 6 kW): an
/// agent report above it (or inconsistent, or not in watts) is not taken; agents run on
/// machines an intruder may control.
const MAX_PROCESS_WATTS: f64 = 50_000.0;

/// The power a host finding's agent gives for its miner process, keyed by machine and program.
fn agent_power(f: &minetrace_core::Finding) -> Option<(String, Figure)> {
    let raw = f.evidence.extra.get("estimate")?.get("power")?;
    let power: Figure = serde_json::from_value(raw.clone()).ok()?;
    let plausible = power.unit == "W"
        && power.is_consistent()
        && power.low >= 0.0
        && power.high <= MAX_PROCESS_WATTS;
    if !plausible {
        return None;
    }
    let process = f.evidence.process.as_ref()?;
    let program = process.exe.as_deref().unwrap_or(&process.name);
    let host = f.host.as_deref().unwrap_or("?");
    Some((format!("{host} {program}"), power))
}

/// A per-session table of the previous estimate, keyed as today (see [`readable_session_key`]).
fn per_session<T: serde::de::DeserializeOwned>(stored: &serde_json::Value) -> BTreeMap<String, T> {
    serde_json::from_value::<BTreeMap<String, T>>(stored.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (readable_session_key(k), v))
        .collect()
}

/// A session's key in the case estimate: `client -> server`, as the API shows it.
fn session_key(client: Option<&Endpoint>, server: Option<&Endpoint>) -> String {
    let side = |e: Option<&Endpoint>| e.map_or_else(|| "?".to_string(), Endpoint::to_string);
    format!("{} -> {}", side(client), side(server))
}

/// Estimates stored before 8 Dec 2026 keyed sessions by the endpoints' debug form
/// (`Some(Endpoint { ip: 10.0.0.5, port: 40000 })-Some(...)`); read into today's key, the
/// same session seen again replaces its figure instead of adding a second one.
fn readable_session_key(key: String) -> String {
    fn endpoint(side: &str) -> Option<Option<Endpoint>> {
        if side == "None" {
            return Some(None);
        }
        let inner = side
            .strip_prefix("Some(Endpoint { ip: ")?
            .strip_suffix(" })")?;
        let (ip, port) = inner.split_once(", port: ")?;
        Some(Some(Endpoint {
            ip: ip.parse().ok()?,
            port: port.parse().ok()?,
        }))
    }
    let Some((client, server)) = key
        .split_once(")-")
        .map(|(c, s)| (format!("{c})"), s))
        .or_else(|| key.strip_prefix("None-").map(|s| ("None".to_string(), s)))
    else {
        return key;
    };
    match (endpoint(&client), endpoint(server)) {
        (Some(c), Some(s)) => session_key(c.as_ref(), s.as_ref()),
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minetrace_core::{Finding, HashrateFigure};

    /// A day of findings.
    const SEEN: (Timestamp, Timestamp) = (Timestamp(0), Timestamp(86_400_000_000));

    #[test]
    fn sessions_are_keyed_by_their_endpoints_and_old_keys_read_into_the_same_form() {
        let client: Endpoint = "10.0.0.5:40000"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into();
        let server: Endpoint = "[2001:db8::9]:3333"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into();
        let key = session_key(Some(&client), Some(&server));
        assert_eq!(key, "10.0.0.5:40000 -> [2001:db8::9]:3333");
        assert_eq!(session_key(None, Some(&server)), "? -> [2001:db8::9]:3333");
        let old = format!("{:?}-{:?}", Some(&client), Some(&server));
        assert_eq!(readable_session_key(old), key);
        let old = format!("{:?}-{:?}", None::<Endpoint>, Some(&server));
        assert_eq!(readable_session_key(old), "? -> [2001:db8::9]:3333");
        let old = format!("{:?}-{:?}", Some(&client), None::<Endpoint>);
        assert_eq!(readable_session_key(old), "10.0.0.5:40000 -> ?");
        assert_eq!(readable_session_key(key.clone()), key);
    }

    fn previous(sessions: &[(&str, f64, AlgorithmFamily)]) -> serde_json::Value {
        let map: BTreeMap<String, (f64, Option<AlgorithmFamily>, String)> = sessions
            .iter()
            .map(|(k, h, f)| (k.to_string(), (*h, Some(*f), "shares".to_string())))
            .collect();
        serde_json::json!({ "sessions": map })
    }

    /// A case with a CPU miner and an ASIC: their hashrates are not added, their powers are.
    #[test]
    fn hashrates_of_different_algorithms_are_priced_apart() {
        let cfg = EstimateConfig::default();
        let xmr = ("a", 3_750.0, AlgorithmFamily::CryptoNote);
        let btc = ("b", 100e12, AlgorithmFamily::Sha256d);
        let both = for_case(&cfg, &previous(&[xmr, btc]), &[], 2, SEEN, None);
        assert!(both.get("hashrate_hps").is_none(), "{both}");
        assert_eq!(both["hashrate_by_family"]["randomx"], 3_750.0);
        assert_eq!(both["hashrate_by_family"]["sha256d"], 100e12);
        let watts = |v: &serde_json::Value| v["power_w"]["value"].as_f64().unwrap();
        let alone = |s| watts(&for_case(&cfg, &previous(&[s]), &[], 1, SEEN, None));
        let sum = alone(xmr) + alone(btc);
        assert!((watts(&both) / sum - 1.0).abs() < 1e-9, "{both}");
        let one = for_case(
            &cfg,
            &previous(&[xmr, ("c", 1_250.0, xmr.2)]),
            &[],
            2,
            SEEN,
            None,
        );
        assert_eq!(one["hashrate_hps"], 5_000.0);
    }

    /// The electricity a case's miners drew over its duration (a start nobody saw assumed 3
    /// months before) is an economic loss, and reaches the legal band on its own.
    #[test]
    fn gains_of_a_configured_coin_enter_the_legal_band() {
        let mut cfg = EstimateConfig::default();
        cfg.coins.insert(
            "XMR".into(),
            minetrace_estimate::config::CoinParams {
                family: "randomx".into(),
                network_difficulty: Some(360e9),
                network_hashrate: None,
                block_reward: 0.6,
                block_time_s: 120.0,
                price: 10_000.0,
                pool_fee: 0.0,
                as_of: "2026-12-01".into(),
                source: "test snapshot".into(),
            },
        );
        // 300 kH/s of a 3 GH/s network: 0.0432 XMR a day, 432 yuan, 38,880 in the 90 days
        // assumed: especially serious (>= 25,000), which its 6 kW of electricity (about 8,200
        // yuan) does not reach.
        let farm = previous(&[("a", 3e5, AlgorithmFamily::CryptoNote)]);
        let priced = for_case(&cfg, &farm, &[], 1, SEEN, Some("XMR"));
        let per_day = priced["gains_per_day"]["value"].as_f64().unwrap();
        assert!((per_day - 432.0).abs() < 1e-6, "{priced}");
        let total = priced["gains_total"]["value"].as_f64().unwrap();
        assert!((total - 432.0 * 90.0).abs() < 1e-3, "{priced}");
        assert!(priced["gains_total"]["method"]
            .as_str()
            .unwrap()
            .contains("as of 2026-12-01"));
        assert_eq!(priced["legal"]["band"], "especially-serious", "{priced}");
        let reasons = priced["legal"]["reasons"].to_string();
        assert!(reasons.contains("gains estimated"), "{reasons}");
        assert!(!reasons.contains("loss 8"), "{reasons}");
        // A coin the configuration does not price: no gains, and the band says why.
        let unpriced = for_case(&cfg, &farm, &[], 1, SEEN, Some("BTC"));
        assert!(unpriced.get("gains_total").is_none());
        assert!(unpriced["legal"]["reasons"]
            .to_string()
            .contains("no [coins.BTC]"));
        // A coin of another algorithm than the case's hashrate: said, not priced.
        let asic = previous(&[("b", 1e14, AlgorithmFamily::Sha256d)]);
        let other = for_case(&cfg, &asic, &[], 1, SEEN, Some("XMR"));
        assert!(other.get("gains_total").is_none());
        assert!(other["gains_note"]
            .as_str()
            .unwrap()
            .contains("no randomx hashrate"));
        // Ethash counted over EthProxy is priced by an Ethash coin table.
        cfg.coins.insert(
            "ETC".into(),
            minetrace_estimate::config::CoinParams {
                family: "etchash".into(),
                network_difficulty: None,
                network_hashrate: Some(1.5e14),
                block_reward: 2.56,
                block_time_s: 13.0,
                price: 150.0,
                pool_fee: 0.01,
                as_of: "2026-12-01".into(),
                source: "test snapshot".into(),
            },
        );
        let rig = previous(&[("c", 3e8, AlgorithmFamily::EthashProxy)]);
        let etc = for_case(&cfg, &rig, &[], 1, SEEN, Some("ETC"));
        assert!(
            etc["gains_per_day"]["value"].as_f64().unwrap() > 0.0,
            "{etc}"
        );
        // No coin: as before.
        let unknown = for_case(&cfg, &farm, &[], 1, SEEN, None);
        assert!(unknown.get("gains_total").is_none() && unknown.get("gains_note").is_none());
    }

    #[test]
    fn the_electricity_cost_is_a_loss_for_the_legal_band() {
        let cfg = EstimateConfig::default();
        let cpu = for_case(
            &cfg,
            &previous(&[("a", 3_750.0, AlgorithmFamily::CryptoNote)]),
            &[],
            1,
            SEEN,
            None,
        );
        assert_eq!(cpu["energy"]["duration"]["days"], 90.0, "{cpu}");
        assert_eq!(cpu["energy"]["duration"]["assumed"], true);
        let method = cpu["energy"]["duration"]["method"].as_str().unwrap();
        assert!(method.contains("observed 1.0 days"), "{method}");
        // 75 W x 24 h x 90 days x 0.63 yuan: about a hundred yuan.
        let cost = cpu["energy"]["cost_total"]["value"].as_f64().unwrap();
        assert!((cost - 0.075 * 24.0 * 90.0 * 0.63).abs() < 1.0, "{cost}");
        assert_eq!(cpu["legal"]["band"], "none");
        // 400 TH/s of SHA-256d: 9 kW, about 12,000 yuan in 90 days: serious (>= 10,000).
        let asic = for_case(
            &cfg,
            &previous(&[("b", 400e12, AlgorithmFamily::Sha256d)]),
            &[],
            1,
            SEEN,
            None,
        );
        assert_eq!(asic["legal"]["band"], "serious", "{asic}");
        let reasons = asic["legal"]["reasons"].to_string();
        assert!(reasons.contains("electricity cost"), "{reasons}");
        // Findings over more than the assumption: the observed span.
        let long = (Timestamp(0), Timestamp(200 * 86_400_000_000));
        let seen = for_case(&cfg, &asic, &[], 1, long, None);
        assert_eq!(seen["energy"]["duration"]["days"], 200.0);
        assert_eq!(seen["energy"]["duration"]["assumed"], false);
    }

    /// Equihash from a graphics card miner is priced on a graphics card, and stays so when the
    /// case's estimate is carried over to its next findings.
    #[test]
    fn gpu_miner_sessions_keep_their_class() {
        let cfg = EstimateConfig::default();
        let mut f = Finding::new("stratum", FindingKind::Network, Timestamp(0));
        f.client = Some(
            "10.0.0.7:5000"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        );
        f.evidence.algorithm_family = Some(AlgorithmFamily::Equihash);
        f.evidence.agent = Some("EWBF 0.3.4b".into());
        f.evidence.hashrate = Some(HashrateFigure {
            hashes_per_second: 675.0,
            basis: "estimated".into(),
            method: "shares".into(),
        });
        let stored = StoredFinding {
            finding: f,
            source: "sensor".into(),
            received_at: 0,
            ledger_seq: 1,
            case_id: Some(1),
        };
        let watts = |v: &serde_json::Value| v["power_w"]["value"].as_f64().unwrap();
        let first = for_case(&cfg, &serde_json::Value::Null, &[&stored], 1, SEEN, None);
        assert!((watts(&first) - 236.25).abs() < 1e-9, "{first}");
        let later = for_case(&cfg, &first, &[], 1, SEEN, None);
        assert!((watts(&later) - 236.25).abs() < 1e-9, "{later}");
        // Without the software's word: the family's ASIC.
        let mut asic = stored.clone();
        asic.finding.evidence.agent = None;
        let plain = for_case(&cfg, &first, &[&asic], 1, SEEN, None);
        assert!((watts(&plain) - 2.3625).abs() < 1e-9, "{plain}");
    }

    /// A host finding of `program` (pid `pid`) on gpu-01 whose agent gives `watts`.
    fn agent_report(program: &str, pid: u32, watts: serde_json::Value) -> StoredFinding {
        let mut f = Finding::new("miner-process", FindingKind::Host, Timestamp(0));
        f.host = Some("gpu-01".into());
        f.evidence.process = Some(minetrace_core::ProcessEvidence {
            pid,
            name: "xmrig".into(),
            exe: Some(program.into()),
            ..Default::default()
        });
        f.evidence
            .extra
            .insert("estimate".into(), serde_json::json!({ "power": watts }));
        StoredFinding {
            finding: f,
            source: "agent".into(),
            received_at: 0,
            ledger_seq: 1,
            case_id: Some(1),
        }
    }

    fn measured(w: f64) -> serde_json::Value {
        serde_json::to_value(Figure::measured(w, "W", "RAPL package x busy CPU share")).unwrap()
    }

    #[test]
    fn the_power_host_agents_report_is_the_case_power() {
        let cfg = EstimateConfig::default();
        // A host-only case: the agent measured 250 W; 90 days of it cost about 3,400 yuan.
        let first = for_case(
            &cfg,
            &serde_json::Value::Null,
            &[&agent_report("/tmp/.x/xmrig", 4242, measured(250.0))],
            1,
            SEEN,
            None,
        );
        assert_eq!(first["power_w"]["value"], 250.0, "{first}");
        assert_eq!(first["power_w"]["basis"], "measured");
        assert_eq!(first["power_source"], "host agents");
        let cost = first["energy"]["cost_total"]["value"].as_f64().unwrap();
        assert!((cost - 0.25 * 24.0 * 90.0 * 0.63).abs() < 0.01, "{cost}");
        // The miner restarted (new pid, same program): the same draw, not twice it; a second
        // program adds its own.
        let later = for_case(
            &cfg,
            &first,
            &[
                &agent_report("/tmp/.x/xmrig", 5151, measured(240.0)),
                &agent_report("/usr/bin/t-rex", 6000, measured(300.0)),
            ],
            1,
            SEEN,
            None,
        );
        assert_eq!(later["power_w"]["value"], 540.0, "{later}");
        // A network session of the same case: its hashrate-derived power is kept beside the
        // agents' figure, which stays the case's power.
        let mut net = Finding::new("stratum", FindingKind::Network, Timestamp(0));
        net.evidence.algorithm_family = Some(AlgorithmFamily::CryptoNote);
        net.evidence.hashrate = Some(HashrateFigure {
            hashes_per_second: 5000.0,
            basis: "estimated".into(),
            method: "shares".into(),
        });
        let net = StoredFinding {
            finding: net,
            ..agent_report("-", 1, serde_json::Value::Null)
        };
        let both = for_case(&cfg, &later, &[&net], 1, SEEN, None);
        assert_eq!(both["power_w"]["value"], 540.0, "{both}");
        assert_eq!(both["power_from_hashrate"]["value"], 100.0, "{both}");
    }

    #[test]
    fn implausible_agent_power_is_not_taken() {
        let cfg = EstimateConfig::default();
        let absurd = [
            measured(5e9),
            measured(-10.0),
            serde_json::json!({"value": 100.0, "low": 200.0, "high": 300.0, "unit": "W", "basis": "measured", "method": "x"}),
            serde_json::json!({"value": 100.0, "low": 100.0, "high": 100.0, "unit": "kW", "basis": "measured", "method": "x"}),
            serde_json::json!("250 W"),
        ];
        for p in absurd {
            let e = for_case(
                &cfg,
                &serde_json::Value::Null,
                &[&agent_report("/tmp/x", 1, p.clone())],
                1,
                SEEN,
                None,
            );
            assert!(e.get("power_w").is_none(), "{p} -> {e}");
        }
    }
}
