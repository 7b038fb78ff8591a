//! `minetrace estimate` end to end: the worked examples of docs/estimation.md.

use assert_cmd::Command;
use predicates::str::contains;

fn estimate() -> Command {
    let mut c = Command::cargo_bin("minetrace").unwrap();
    c.arg("estimate");
    c
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = estimate()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn bitcoin_shares_give_28_th() {
    let v = json(&[
        "--algo",
        "sha256d",
        "--difficulty",
        "65536",
        "--shares",
        "1",
        "--seconds",
        "10",
    ]);
    let h = v["hashrate"]["value"].as_f64().unwrap();
    assert!((h / 1e12 - 28.147).abs() < 0.01, "{h}");
    assert_eq!(v["hashrate"]["basis"], "estimated");
    assert!(v["power"]["value"].as_f64().unwrap() > 0.0);
    estimate()
        .args([
            "--algo",
            "sha256d",
            "--difficulty",
            "65536",
            "--shares",
            "1",
            "--seconds",
            "10",
        ])
        .assert()
        .success()
        .stdout(contains("28.1 TH/s"));
}

#[test]
fn cryptonote_target_gives_difficulty_10000() {
    let v = json(&["--target", "b88d0600"]);
    assert_eq!(v["difficulty"]["value"].as_f64(), Some(10000.0));
}

#[test]
fn provincial_kwh_reproduces_the_report() {
    let v = json(&["--kwh-per-day", "148500", "--days", "365"]);
    let coal = v["energy"]["coal_t_per_day"]["value"].as_f64().unwrap();
    let co2 = v["energy"]["co2_t_per_year"]["value"].as_f64().unwrap();
    assert!((coal - 60.0).abs() < 0.5, "{coal}");
    assert!((co2 - 54_000.0).abs() < 100.0, "{co2}");
    assert_eq!(v["energy"]["co2_factor"]["name"], "provincial-report");
    // Another named set is selectable and named in the output.
    estimate()
        .args(["--kwh-per-day", "148500", "--factors", "grid-national-2023"])
        .assert()
        .success()
        .stdout(contains("grid-national-2023"))
        .stdout(contains("3 months"));
}

#[test]
fn reference_case_is_especially_serious_in_both_languages() {
    estimate()
        .args(["--machines", "155", "--gains", "100000", "--loss", "27000"])
        .assert()
        .success()
        .stdout(contains("especially serious / 情节特别严重"))
        .stdout(contains("155 machines >= 100"));
    let v = json(&["--machines", "155", "--gains", "100000", "--loss", "27000"]);
    assert_eq!(v["legal"]["band"], "especially-serious");
}

#[test]
fn config_file_changes_thresholds_and_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("estimate.toml");
    std::fs::write(
        &path,
        "[legal]\nserious = { machines = 5 }\nespecially_serious = { machines = 500 }\n",
    )
    .unwrap();
    let v = json(&["--config", path.to_str().unwrap(), "--machines", "155"]);
    assert_eq!(v["legal"]["band"], "serious");

    std::fs::write(&path, "[legal]\nthreshold = 1\n").unwrap();
    estimate()
        .args(["--config", path.to_str().unwrap(), "--machines", "1"])
        .assert()
        .code(2)
        .stderr(contains("estimate.toml"));
    estimate()
        .args(["--region", "atlantis", "--kwh-per-day", "1"])
        .assert()
        .code(2)
        .stderr(contains("sichuan"));
    estimate().args(["--algo", "md5"]).assert().code(2);
}

#[test]
fn list_shows_the_tables() {
    estimate()
        .arg("--list")
        .assert()
        .success()
        .stdout(contains("s19-pro"))
        .stdout(contains("grid-2022-southwest"))
        .stdout(contains("四川"));
}
