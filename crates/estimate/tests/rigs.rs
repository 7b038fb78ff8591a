//! Rig counting against synthetic observations with a known number of rigs behind one address.

mod support;

use minetrace_core::Confidence;
use minetrace_estimate::rigs::{
    estimate_rigs, ip_id_hosts, tcp_timestamp_hosts, AddressObservations, ConnectionObservation,
    IpIdSample, TsSample,
};
use minetrace_estimate::EstimateConfig;
use support::rigsim::{self, Host, Rng, Visibility};

#[test]
fn every_benchmark_scenario_contains_the_truth() {
    let cfg = EstimateConfig::default();
    for s in rigsim::all() {
        let e = estimate_rigs(&cfg, &s.obs);
        assert!(
            e.contains(s.truth) && e.low <= e.point && e.point <= e.high,
            "{}: truth {} not in {:?}",
            s.name,
            s.truth,
            e
        );
    }
}

#[test]
fn many_random_farms_contain_the_truth() {
    let cfg = EstimateConfig::default();
    let mut rng = Rng::new(99);
    for seed in 100..160u64 {
        let rigs = 1 + (rng.next_u64() % 16) as usize;
        let conns = 1 + (rng.next_u64() % 3) as usize;
        let (vis, ts, ipid) = match seed % 4 {
            0 => (Visibility::Clear, true, true),
            1 => (Visibility::Tls, true, false),
            2 => (Visibility::Tls, false, true),
            _ => (Visibility::Tls, false, false),
        };
        let s = rigsim::farm(seed, "random", rigs, conns, vis, ts, ipid);
        let e = estimate_rigs(&cfg, &s.obs);
        assert!(
            e.contains(s.truth),
            "seed {seed}: {rigs} rigs x {conns} ({vis:?}, ts {ts}, ip-id {ipid}) -> {e:?}"
        );
    }
}

#[test]
fn plain_farm_is_pinned_down_with_high_confidence() {
    let cfg = EstimateConfig::default();
    let s = rigsim::farm(11, "5 rigs", 5, 1, Visibility::Clear, true, true);
    let e = estimate_rigs(&cfg, &s.obs);
    assert_eq!((e.low, e.point, e.high), (5, 5, 5), "{e:?}");
    assert_eq!(e.confidence, Confidence::High);
    assert!(e.methods.iter().any(|m| m.contains("5 distinct worker")));
}

#[test]
fn tls_farm_is_counted_by_clock_lines() {
    let cfg = EstimateConfig::default();
    let s = rigsim::farm(
        12,
        "7 rigs x 3 reconnects",
        7,
        3,
        Visibility::Tls,
        true,
        false,
    );
    // 21 connections, never more than 7 at once.
    let clocks = tcp_timestamp_hosts(&s.obs.connections, &cfg.rigs).unwrap();
    assert_eq!(clocks.by_line, 7, "{clocks:?}");
    assert_eq!(clocks.unresolved, 0);
    let e = estimate_rigs(&cfg, &s.obs);
    assert_eq!(e.point, 7, "{e:?}");
    assert!(e.contains(7));
    assert!(e.methods.iter().any(|m| m.contains("Kohno")));
}

#[test]
fn distinct_skews_separate_hosts_that_booted_together() {
    // Same offset (booted together, no offset randomisation): only the skew tells them apart.
    let cfg = EstimateConfig::default();
    let mut rng = Rng::new(21);
    let mut obs = AddressObservations::default();
    for (i, skew) in [-90.0, -30.0, 35.0, 100.0].into_iter().enumerate() {
        let mut host = Host::random(&mut rng, i);
        host.skew_ppm = skew;
        host.ts_offset = 1_000_000;
        let c = rigsim::connection(
            &mut rng,
            &mut host,
            &format!("c{i}"),
            0.0,
            300.0,
            20.0,
            Visibility::Tls,
            true,
            &mut obs.ip_ids,
        );
        obs.connections.push(c);
    }
    let clocks = tcp_timestamp_hosts(&obs.connections, &cfg.rigs).unwrap();
    assert_eq!((clocks.by_skew, clocks.by_line), (4, 4), "{clocks:?}");
    let mut skews = clocks.skews_ppm.clone();
    skews.sort_by(f64::total_cmp);
    for (got, want) in skews.iter().zip([-90.0, -30.0, 35.0, 100.0]) {
        assert!((got - want).abs() < 10.0, "skew {got} vs {want}");
    }
}

#[test]
fn same_skew_different_offsets_gives_a_range() {
    let cfg = EstimateConfig::default();
    let mut rng = Rng::new(22);
    let mut obs = AddressObservations::default();
    for i in 0..2 {
        let mut host = Host::random(&mut rng, i);
        host.skew_ppm = 12.0;
        let c = rigsim::connection(
            &mut rng,
            &mut host,
            &format!("c{i}"),
            0.0,
            300.0,
            20.0,
            Visibility::Tls,
            true,
            &mut obs.ip_ids,
        );
        obs.connections.push(c);
    }
    let clocks = tcp_timestamp_hosts(&obs.connections, &cfg.rigs).unwrap();
    assert_eq!((clocks.by_skew, clocks.by_line), (1, 2), "{clocks:?}");
    let e = estimate_rigs(&cfg, &obs);
    assert!(e.contains(2), "{e:?}");
}

#[test]
fn tsval_wrap_around_does_not_split_a_host() {
    let cfg = EstimateConfig::default();
    let mut rng = Rng::new(23);
    let mut host = Host::random(&mut rng, 0);
    host.ts_offset = u32::MAX - 50_000; // wraps 50 s into the connection
    let mut ids = Vec::new();
    let a = rigsim::connection(
        &mut rng,
        &mut host,
        "a",
        0.0,
        120.0,
        20.0,
        Visibility::Tls,
        true,
        &mut ids,
    );
    let b = rigsim::connection(
        &mut rng,
        &mut host,
        "b",
        130.0,
        250.0,
        20.0,
        Visibility::Tls,
        true,
        &mut ids,
    );
    let clocks = tcp_timestamp_hosts(&[a, b], &cfg.rigs).unwrap();
    assert_eq!(clocks.by_line, 1, "{clocks:?}");
    assert!(clocks.skews_ppm[0].abs() < 150.0);
}

#[test]
fn ip_id_interleaving_counts_hosts() {
    let cfg = EstimateConfig::default();
    let s = rigsim::farm(31, "3 hosts", 3, 1, Visibility::Tls, false, true);
    let seqs = ip_id_hosts(&s.obs.ip_ids, &cfg.rigs).unwrap();
    assert!(seqs.usable, "{seqs:?}");
    assert_eq!(seqs.sequences, 3, "{seqs:?}");
    let e = estimate_rigs(&cfg, &s.obs);
    assert!(
        e.contains(3) && e.methods.iter().any(|m| m.contains("Bellovin")),
        "{e:?}"
    );
}

#[test]
fn random_ip_ids_are_not_used() {
    let cfg = EstimateConfig::default();
    let mut rng = Rng::new(32);
    let ids: Vec<IpIdSample> = (0..2000)
        .map(|i| IpIdSample {
            capture_s: i as f64 * 0.1,
            ip_id: (rng.next_u64() as u16).max(1),
        })
        .collect();
    let seqs = ip_id_hosts(&ids, &cfg.rigs).unwrap();
    assert!(!seqs.usable, "{seqs:?}");
    // Zero IDs (DF set, Linux) carry nothing at all.
    let zeros: Vec<IpIdSample> = (0..100)
        .map(|i| IpIdSample {
            capture_s: i as f64,
            ip_id: 0,
        })
        .collect();
    assert!(ip_id_hosts(&zeros, &cfg.rigs).is_none());
}

#[test]
fn proxy_widens_the_upper_bound_and_lowers_confidence() {
    let cfg = EstimateConfig::default();
    let s = rigsim::behind_proxy(41, 40);
    let e = estimate_rigs(&cfg, &s.obs);
    assert!(e.contains(40), "{e:?}");
    assert!((30..=60).contains(&e.point), "{e:?}");
    assert!(e.high >= 256, "{e:?}");
    assert_eq!(e.confidence, Confidence::Low);
    assert!(e.methods.iter().any(|m| m.contains("up to 256 miners")));
}

#[test]
fn generic_worker_names_do_not_count_as_rigs() {
    let cfg = EstimateConfig::default();
    let conns: Vec<ConnectionObservation> = (0..3)
        .map(|i| ConnectionObservation {
            id: format!("c{i}"),
            worker: Some(if i == 0 { "x".into() } else { "X".into() }),
            start_s: Some(i as f64 * 100.0),
            end_s: Some(i as f64 * 100.0 + 50.0),
            ..Default::default()
        })
        .collect();
    let e = estimate_rigs(
        &cfg,
        &AddressObservations {
            connections: conns,
            ip_ids: vec![],
        },
    );
    assert_eq!((e.low, e.high), (1, 3), "{e:?}");
}

#[test]
fn hostile_inputs_do_not_panic() {
    let cfg = EstimateConfig::default();
    let weird = ConnectionObservation {
        id: String::new(),
        start_s: Some(f64::NAN),
        end_s: Some(-1.0),
        share_times_s: vec![f64::NAN, f64::INFINITY, 1.0, 1.0, 1.0],
        tcp_timestamps: vec![
            TsSample {
                capture_s: f64::NAN,
                tsval: 0,
            },
            TsSample {
                capture_s: 1.0,
                tsval: u32::MAX,
            },
            TsSample {
                capture_s: 1.0,
                tsval: 0,
            },
            TsSample {
                capture_s: 1.0,
                tsval: 7,
            },
            TsSample {
                capture_s: 9.0,
                tsval: 3,
            },
        ],
        ..Default::default()
    };
    let obs = AddressObservations {
        connections: vec![weird; 50],
        ip_ids: vec![IpIdSample {
            capture_s: f64::NAN,
            ip_id: 5,
        }],
    };
    let e = estimate_rigs(&cfg, &obs);
    assert!(e.low <= e.point && e.point <= e.high);
    let empty = estimate_rigs(&cfg, &AddressObservations::default());
    assert_eq!((empty.low, empty.high), (0, 0));
    assert_eq!(empty.confidence, Confidence::Low);
}
