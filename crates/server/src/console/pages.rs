//! The console's pages. maud escapes every interpolated string, so wallet, worker, host and
//! process names (which come from attackers) are always text, never markup.

use super::i18n::{t, Lang};
use super::{Scope, Viewer};
use maud::{html, Markup, DOCTYPE};
use minetrace_core::Timestamp;
use minetrace_estimate::EstimateConfig;
use minetrace_store::{Case, CaseEvent, IpRange, StoredFinding, Task, Unit};
use std::collections::{BTreeMap, HashMap};

pub const STYLE: &str = r#"
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#1d3557;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;font-weight:600}header .who{margin-left:auto;font-size:.9rem}
header form{display:inline}header button{background:none;border:1px solid #fff;color:#fff;border-radius:3px;cursor:pointer}
main{padding:1rem 1.2rem;max-width:1200px}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.4rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#fff;border-radius:6px;padding:.8rem 1rem;min-width:160px;box-shadow:0 1px 2px #0002}
.card b{font-size:1.6rem;display:block}table{border-collapse:collapse;background:#fff;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e3e7eb;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#eef2f6}
.conf{color:#b00020;font-weight:700}.tag{display:inline-block;padding:0 .4rem;border-radius:3px;background:#e8eef7;font-size:.85rem}
.ok{color:#1b7f3b;font-weight:700}.bad{color:#b00020;font-weight:700}.mono{font-family:ui-monospace,monospace;word-break:break-all}
.chain{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center}.chain span{background:#fff;border:1px solid #c9d3de;border-radius:4px;padding:.2rem .5rem}
form.wf label{display:block;margin:.3rem 0}input,select,textarea{font:inherit}.err{color:#b00020}
.login{max-width:360px;margin:4rem auto;background:#fff;padding:1.5rem;border-radius:6px;box-shadow:0 1px 3px #0003}
"#;

fn page(lang: Lang, v: Option<&Viewer>, title: &str, body: Markup) -> Markup {
    let other = match lang {
        Lang::Zh => "en",
        Lang::En => "zh",
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t(lang, "title")) }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                header {
                    a href="/console/" { (t(lang, "title")) }
                    @if v.is_some() {
                        a href="/console/" { (t(lang, "overview")) }
                        a href="/console/cases" { (t(lang, "cases")) }
                        a href="/console/units" { (t(lang, "units")) }
                        a href="/console/tasks" { (t(lang, "tasks")) }
                        a href="/console/report" { (t(lang, "report_html")) }
                        a href="/console/report.csv" { (t(lang, "report")) }
                    }
                    a href={ "/console/lang/" (other) } { (t(lang, "language")) }
                    @if let Some(v) = v {
                        span.who {
                            (v.user.name) " · " (t(lang, &format!("role.{}", v.user.role.as_str())))
                            @if let Some(u) = &v.user.unit { " · " (u) }
                            @if let Some(r) = &v.user.region { " · " (r) }
                            " "
                            form method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button type="submit" { (t(lang, "logout")) }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn message(lang: Lang, text: &str) -> Markup {
    page(
        lang,
        None,
        text,
        html! { h1 { (text) } p { a href="/console/" { (t(lang, "overview")) } } },
    )
}

pub fn login(lang: Lang, csrf: &str, error: Option<&str>) -> Markup {
    page(
        lang,
        None,
        &t(lang, "login"),
        html! {
            form.login method="post" action="/console/login" {
                h1 { (t(lang, "login")) }
                @if let Some(e) = error { p.err { (e) } }
                input type="hidden" name="csrf" value=(csrf);
                label { (t(lang, "user")) br; input name="user" id="user" autocomplete="username" required; }
                br;
                label { (t(lang, "password")) br; input name="password" id="password" type="password" autocomplete="current-password" required; }
                br; br;
                button type="submit" id="login" { (t(lang, "login")) }
            }
        },
    )
}

fn class_key(c: &Case) -> String {
    format!(
        "class.{}",
        c.class
            .as_deref()
            .or(c.proposed_class.as_deref())
            .unwrap_or("none")
    )
}

fn when(us: i64) -> String {
    Timestamp(us)
        .to_rfc3339()
        .chars()
        .take(19)
        .collect::<String>()
        .replace('T', " ")
}

fn count_by(items: impl Iterator<Item = String>) -> Vec<(String, usize)> {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for k in items {
        *m.entry(k).or_default() += 1;
    }
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Bars as inline SVG, one per (day `YYYY-MM-DD`, value), scaled to the largest; the axis shows
/// `MM-DD`, the tooltip the whole date.
fn daily_bar_chart(points: &[(String, usize)], width: u32) -> Markup {
    let max = points.iter().map(|p| p.1).max().unwrap_or(1).max(1);
    let n = points.len().max(1) as u32;
    let bw = (width / n).clamp(4, 60);
    let h = 120u32;
    html! {
        svg width=(bw * n + 10) height=(h + 30) role="img" {
            @for (i, (label, v)) in points.iter().enumerate() {
                @let bh = (*v as u32 * h) / max as u32;
                @let x = i as u32 * bw + 5;
                rect x=(x) y=(h - bh + 5) width=(bw.saturating_sub(3)) height=(bh) fill="#457b9d" {
                    title { (label) ": " (v) }
                }
                @if n <= 16 || i % (n as usize / 8).max(1) == 0 {
                    text x=(x) y=(h + 22) font-size="9" { (label.get(5..).unwrap_or(label)) }
                }
            }
        }
    }
}

/// Horizontal bars as inline SVG for named categories: the label left of its bar, the value
/// after it, so long labels (Chinese class names) never overlap.
fn hbar_chart(points: &[(String, usize)], width: u32) -> Markup {
    let max = points.iter().map(|p| p.1).max().unwrap_or(1).max(1);
    let (label_w, row_h) = (170u32, 22u32);
    let bar_max = width.saturating_sub(label_w + 50).max(20);
    let height = row_h * points.len().max(1) as u32 + 6;
    html! {
        svg width=(width) height=(height) role="img" {
            @for (i, (label, v)) in points.iter().enumerate() {
                @let y = i as u32 * row_h + 3;
                @let bw = ((*v as u64 * u64::from(bar_max)) / max as u64) as u32;
                text x=(label_w - 6) y=(y + 14) font-size="12" text-anchor="end" { (label) }
                rect x=(label_w) y=(y + 2) width=(bw.max(1)) height=(row_h - 6) fill="#457b9d" {
                    title { (label) ": " (v) }
                }
                text x=(label_w + bw.max(1) + 5) y=(y + 14) font-size="12" { (v) }
            }
        }
    }
}

fn kv_table(lang: Lang, rows: &[(String, usize)], key_prefix: Option<&str>) -> Markup {
    html! {
        table {
            @for (k, n) in rows {
                tr {
                    td { @if let Some(p) = key_prefix { (t(lang, &format!("{p}{k}"))) } @else { (k) } }
                    td { (n) }
                }
            }
        }
    }
}

pub fn overview(
    v: &Viewer,
    cases: &[Case],
    units: &HashMap<String, Unit>,
    est: &EstimateConfig,
    overdue_tasks: usize,
) -> Markup {
    let lang = v.lang;
    let by_class = count_by(
        cases
            .iter()
            .map(|c| class_key(c).trim_start_matches("class.").to_string()),
    );
    let by_status = count_by(cases.iter().map(|c| c.status.clone()));
    let by_type = count_by(cases.iter().map(|c| {
        c.unit_name
            .as_deref()
            .and_then(|u| units.get(u))
            .map(|u| u.unit_type.clone())
            .unwrap_or_else(|| "-".into())
    }));
    let by_coin = count_by(
        cases
            .iter()
            .map(|c| c.coin.clone().unwrap_or_else(|| "-".into())),
    );
    let top_units = count_by(cases.iter().filter_map(|c| c.unit_name.clone()));
    let per_day = {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for c in cases {
            *m.entry(when(c.first_seen).chars().take(10).collect())
                .or_default() += 1;
        }
        m.into_iter().collect::<Vec<_>>()
    };
    let recurrences: i64 = cases.iter().map(|c| c.recurrence).sum();
    // Energy that rectification would save: open cases' estimated kWh/day.
    let kwh: f64 = cases
        .iter()
        .filter(|c| c.status != "closed")
        .filter_map(|c| c.estimate.get("kwh_per_day")?.get("value")?.as_f64())
        .sum();
    let impact = minetrace_estimate::calc::calculate(
        est,
        &minetrace_estimate::calc::CalcInputs {
            kwh_per_day: Some(kwh.max(0.0)),
            ..Default::default()
        },
    )
    .ok()
    .and_then(|r| r.energy);
    // Energy, coal, CO2, cost and gains of the open cases by region and by coin, with one
    // factor set for the whole table.
    let energy_tables = {
        let figures = open_case_figures(cases, units);
        let coal = minetrace_estimate::energy::coal_factor(est, None);
        let co2 = minetrace_estimate::energy::co2_factor(est, None);
        match (coal, co2) {
            (Ok(coal), Ok(co2)) if !figures.is_empty() => {
                use minetrace_estimate::stats::{aggregate, GroupBy};
                Some((
                    aggregate(&figures, GroupBy::Region, &coal, &co2),
                    aggregate(&figures, GroupBy::Coin, &coal, &co2),
                ))
            }
            _ => None,
        }
    };
    page(
        lang,
        Some(v),
        &t(lang, "overview"),
        html! {
            h1 { (t(lang, "overview")) }
            div.cards {
                div.card #cases-total { (t(lang, "cases_total")) b { (cases.len()) } }
                div.card { (t(lang, "recurrences")) b { (recurrences) } }
                @if overdue_tasks > 0 {
                    div.card { a href="/console/tasks" { (t(lang, "overdue_tasks")) } b.bad #overdue { (overdue_tasks) } }
                }
                div.card { (t(lang, "energy")) b { (format!("{kwh:.1}")) } (t(lang, "kwh_day")) }
                @if let Some(e) = &impact {
                    div.card { b { (format!("{:.3}", e.coal_t_per_day.value)) } (t(lang, "coal_day")) }
                    div.card { b { (format!("{:.1}", e.co2_t_per_year.value)) } (t(lang, "co2_year")) }
                }
            }
            h2 { (t(lang, "trend")) }
            (daily_bar_chart(&per_day, 600))
            div.cards {
                div.card { h2 { (t(lang, "by_class")) } (kv_table(lang, &by_class, Some("class."))) }
                div.card { h2 { (t(lang, "by_status")) } (kv_table(lang, &by_status, Some("status."))) }
                div.card { h2 { (t(lang, "by_unit_type")) } (kv_table(lang, &by_type, None)) }
                div.card { h2 { (t(lang, "by_coin")) } (kv_table(lang, &by_coin, None)) }
            }
            h2 { (t(lang, "top_units")) }
            (kv_table(lang, &top_units.into_iter().take(10).collect::<Vec<_>>(), None))
            @if let Some((by_region, by_coin)) = &energy_tables {
                h2 { (t(lang, "stats_open")) }
                (stats_table(lang, "region", by_region))
                (stats_table(lang, "coin", by_coin))
            }
        },
    )
}

/// Open cases' figures for the statistics tables (the estimate crate groups and totals them).
fn open_case_figures(
    cases: &[Case],
    units: &HashMap<String, Unit>,
) -> Vec<minetrace_estimate::stats::CaseFigures> {
    let value = |c: &Case, path: &[&str]| {
        path.iter()
            .try_fold(&c.estimate, |v, k| v.get(k))
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    cases
        .iter()
        .filter(|c| c.status != "closed")
        .map(|c| minetrace_estimate::stats::CaseFigures {
            case_id: c.id.to_string(),
            unit: c.unit_name.clone().unwrap_or_default(),
            region: c
                .unit_name
                .as_deref()
                .and_then(|u| units.get(u))
                .map(|u| u.region.clone())
                .unwrap_or_default(),
            coin: c.coin.clone().unwrap_or_default(),
            class: class_key(c).trim_start_matches("class.").to_string(),
            kwh_per_day: value(c, &["kwh_per_day", "value"]),
            cost: value(c, &["energy", "cost_total", "value"]),
            gains: value(c, &["gains_total", "value"]),
            machines: c.estimate["machines"].as_u64().unwrap_or(1),
        })
        .collect()
}

/// One statistics table: cases, machines, kWh/day, coal, CO2, cost and gains per group.
fn stats_table(lang: Lang, key: &str, table: &minetrace_estimate::stats::StatsTable) -> Markup {
    html! {
        table.stats id={ "stats-" (key) } {
            tr {
                th { (t(lang, key)) } th { (t(lang, "cases")) } th { (t(lang, "machines")) }
                th { (t(lang, "kwh_day")) } th { (t(lang, "coal_day")) } th { (t(lang, "co2_year")) }
                th { (t(lang, "electricity_loss")) } th { (t(lang, "gains_estimated")) }
            }
            @for r in &table.rows {
                tr { td { (r.key) } (stats_cells(r)) }
            }
            // Apart from the rows: a region may be called "total".
            tr.total { td { b { (t(lang, "total")) } } (stats_cells(&table.total)) }
        }
    }
}

fn stats_cells(r: &minetrace_estimate::stats::StatsRow) -> Markup {
    html! {
        td { (r.cases) } td { (r.machines) }
        td { (format!("{:.1}", r.kwh_per_day)) }
        td { (format!("{:.3}", r.coal_t_per_day)) }
        td { (format!("{:.1}", r.co2_t_per_year)) }
        td { (format!("{:.0}", r.cost)) }
        td { (format!("{:.0}", r.gains)) }
    }
}

pub fn case_list(v: &Viewer, cases: &[Case], needle: &str) -> Markup {
    let lang = v.lang;
    page(
        lang,
        Some(v),
        &t(lang, "cases"),
        html! {
            h1 { (t(lang, "cases")) }
            form method="get" action="/console/cases" {
                input name="q" size="50" value=(needle) placeholder=(t(lang, "search"));
                " " button type="submit" { "🔍" }
            }
            @if cases.is_empty() { p { (t(lang, "no_cases")) } }
            @else {
                table #cases {
                    tr {
                        th { "#" } th { (t(lang, "status")) } th { (t(lang, "class")) } th { (t(lang, "unit")) }
                        th { (t(lang, "host")) } th { (t(lang, "address")) } th { (t(lang, "wallet")) }
                        th { (t(lang, "pool")) } th { (t(lang, "last_seen")) } th { (t(lang, "recurrence")) }
                    }
                    @for c in cases {
                        tr {
                            td { a href={ "/console/cases/" (c.id) } { (c.id) }
                                 @if c.confidential { " " span.conf title=(t(lang, "confidential")) { "🔒" } } }
                            td { (t(lang, &format!("status.{}", c.status))) }
                            td { (t(lang, &class_key(c))) }
                            td { (c.unit_name.as_deref().unwrap_or("-")) }
                            td { (c.host_name.as_deref().unwrap_or("-")) }
                            td.mono { (c.client_ip.as_deref().unwrap_or("-")) }
                            td.mono { (c.wallet.as_deref().map(|w| w.chars().take(24).collect::<String>()).unwrap_or_default()) }
                            td { (c.pool.as_deref().unwrap_or("")) }
                            td { (when(c.last_seen)) }
                            td { (c.recurrence) }
                        }
                    }
                }
            }
        },
    )
}

fn figure(v: &serde_json::Value) -> Option<String> {
    let value = v.get("value")?.as_f64()?;
    let unit = v.get("unit")?.as_str().unwrap_or("");
    let basis = v.get("basis").and_then(|b| b.as_str()).unwrap_or("");
    Some(format!("{value:.1} {unit} ({basis})"))
}

pub fn case_page(
    v: &Viewer,
    c: &Case,
    findings: &[StoredFinding],
    events: &[CaseEvent],
    records: usize,
    verified: bool,
) -> Markup {
    let lang = v.lang;
    let band = c
        .estimate
        .get("legal")
        .and_then(|l| l.get("band"))
        .and_then(|b| b.as_str())
        .unwrap_or("none");
    // One timeline: findings (network and host) and workflow events, by time.
    let mut timeline: Vec<(i64, String, String)> = findings
        .iter()
        .map(|sf| {
            let f = &sf.finding;
            let kind = match f.kind {
                minetrace_core::FindingKind::Network => t(lang, "network"),
                _ => t(lang, "host_kind"),
            };
            let what = format!(
                "[{kind}] {} {}",
                f.detector,
                f.reasons.first().cloned().unwrap_or_default()
            );
            let origin = f
                .client
                .as_ref()
                .map(|e| e.to_string())
                .or_else(|| {
                    f.evidence
                        .process
                        .as_ref()
                        .map(|p| format!("pid {} {}", p.pid, p.name))
                })
                .unwrap_or_default();
            (f.first_seen.0, what, origin)
        })
        .collect();
    timeline.extend(events.iter().map(|e| {
        (
            e.at,
            format!("{} ({})", super::i18n::event_label(lang, &e.kind), e.actor),
            e.detail.to_string().chars().take(300).collect(),
        )
    }));
    timeline.sort_by_key(|x| x.0);
    page(
        lang,
        Some(v),
        &format!("#{}", c.id),
        html! {
            h1 #case-title {
                (t(lang, "cases")) " #" (c.id) " — " (t(lang, &format!("status.{}", c.status)))
                " · " (t(lang, &class_key(c)))
                @if c.confidential { " " span.conf { "🔒 " (t(lang, "confidential")) } }
            }
            h2 { (t(lang, "attribution")) }
            div.chain #chain {
                span { (t(lang, "address")) ": " (c.public_ip.as_deref().or(c.client_ip.as_deref()).unwrap_or("?")) }
                "→" span { (t(lang, "unit")) ": "
                    @if let Some(u) = &c.unit_name { a href={ "/console/units/" (urlencode(u)) } { (u) } }
                    @else { "?" } }
                "→" span { (t(lang, "host")) ": "
                    @if let Some(h) = &c.host_name { a href={ "/console/hosts/" (urlencode(h)) } { (h) } }
                    @else { (c.client_ip.as_deref().unwrap_or("?")) } }
                "→" span { (t(lang, "process")) ": " (c.process.as_deref().unwrap_or("?")) }
                "→" span { (t(lang, "account")) ": " (c.account.as_deref().unwrap_or("?")) }
            }
            table {
                tr { th { (t(lang, "wallet")) } td.mono #wallet { (c.wallet.as_deref().unwrap_or("-")) } }
                tr { th { (t(lang, "coin")) } td { (c.coin.as_deref().unwrap_or("-")) } }
                tr { th { (t(lang, "pool")) } td { (c.pool.as_deref().unwrap_or("-")) } }
                tr { th { (t(lang, "first_seen")) } td { (when(c.first_seen)) } }
                tr { th { (t(lang, "last_seen")) } td { (when(c.last_seen)) } }
                tr { th { (t(lang, "recurrence")) } td { (c.recurrence) } }
                @if let Some(id) = c.campaign_id { tr { th { (t(lang, "campaign")) } td { "#" (id) } } }
                @if let Some(a) = &c.assignee { tr { th { (t(lang, "assignee")) } td { (a) } } }
            }
            h2 { (t(lang, "reasons")) " (" (t(lang, "proposed")) ": " (t(lang, &format!("class.{}", c.proposed_class.as_deref().unwrap_or("none")))) ")" }
            ul #reasons { @for r in in_lang(lang, &c.reasons, &c.reasons_zh) { li { (r) } } }
            @if !c.flags.is_empty() {
                h2 { (t(lang, "flags")) }
                ul #flags { @for f in in_lang(lang, &c.flags, &c.flags_zh) { li.bad { (f) } } }
            }
            h2 { (t(lang, "estimate")) }
            table #estimate {
                @if let Some(h) = c.estimate.get("hashrate_hps").and_then(|x| x.as_f64()) {
                    tr { th { (t(lang, "hashrate")) } td { (format!("{h:.1} H/s")) } }
                } @else if let Some(by) = c.estimate.get("hashrate_by_family").and_then(|x| x.as_object()) {
                    // Several algorithms: one figure each, never a sum.
                    tr { th { (t(lang, "hashrate")) } td { (by.iter().filter_map(|(k, v)| Some(format!("{k} {:.1} H/s", v.as_f64()?))).collect::<Vec<_>>().join(" · ")) } }
                }
                @if let Some(p) = c.estimate.get("power_w").and_then(figure) {
                    tr { th { (t(lang, "power")) } td { (p) } }
                }
                @if let Some(k) = c.estimate.get("kwh_per_day").and_then(figure) {
                    tr { th { (t(lang, "kwh_day")) } td { (k) } }
                }
                @if let Some(e) = c.estimate.get("energy") {
                    @if let (Some(cost), Some(days)) = (e.get("cost_total").and_then(figure), e["duration"]["days"].as_f64()) {
                        tr {
                            th { (t(lang, "electricity_loss")) }
                            td #loss {
                                (cost) " · " (format!("{days:.0}")) " "
                                (t(lang, if e["duration"]["assumed"] == true { "days_assumed" } else { "days_observed" }))
                            }
                        }
                    }
                }
                @if let (Some(gains), Some(days)) = (c.estimate.get("gains_total").and_then(figure), c.estimate["energy"]["duration"]["days"].as_f64()) {
                    tr {
                        th { (t(lang, "gains_estimated")) }
                        td #gains title=(c.estimate["gains_total"]["method"].as_str().unwrap_or("")) {
                            (gains) " · " (format!("{days:.0}")) " "
                            (t(lang, if c.estimate["energy"]["duration"]["assumed"] == true { "days_assumed" } else { "days_observed" }))
                        }
                    }
                }
                tr { th { (t(lang, "legal")) } td { (t(lang, &format!("band.{band}"))) } }
            }
            h2 { (t(lang, "timeline")) }
            table #timeline {
                @for (at, what, origin) in &timeline {
                    tr { td { (when(*at)) } td { (what) } td.mono { (origin) } }
                }
            }
            h2 { (t(lang, "evidence")) }
            p {
                @if verified { span.ok #verified { "✔ " (t(lang, "verified")) } }
                @else { span.bad #verified { "✘ " (t(lang, "not_verified")) } }
                " (" (records) " " (t(lang, "records")) ") · "
                a #download href={ "/console/cases/" (c.id) "/evidence" } { (t(lang, "download_bundle")) }
            }
            @if v.may_write() {
                h2 { (t(lang, "workflow")) }
                form.wf method="post" action={ "/console/cases/" (c.id) } {
                    input type="hidden" name="csrf" value=(v.csrf);
                    label { (t(lang, "status")) " "
                        select name="status" {
                            @for s in ["detected", "investigating", "confirmed", "rectifying", "closed"] {
                                option value=(s) selected[s == c.status] { (t(lang, &format!("status.{s}"))) }
                            }
                        }
                    }
                    label { (t(lang, "class")) " "
                        select name="class" {
                            option value="" { "-" }
                            @for k in ["active", "passive", "research", "false-positive"] {
                                option value=(k) selected[c.class.as_deref() == Some(k)] { (t(lang, &format!("class.{k}"))) }
                            }
                        }
                    }
                    label { (t(lang, "assignee")) " " input name="assignee" value=(c.assignee.as_deref().unwrap_or("")); }
                    label { (t(lang, "note")) br; textarea name="note" rows="2" cols="60" {} }
                    @if v.user.role == minetrace_store::ConsoleRole::Regulator {
                        label {
                            select name="confidential" {
                                option value="" { "-" }
                                option value="1" { (t(lang, "make_confidential")) }
                                option value="0" { (t(lang, "reveal")) }
                            }
                        }
                    }
                    button type="submit" #save { (t(lang, "save")) }
                }
            } @else {
                p { "(" (t(lang, "read_only")) ")" }
            }
        },
    )
}

pub fn units(v: &Viewer, units: &[&Unit], ranges: &[IpRange], cases: &[Case]) -> Markup {
    let lang = v.lang;
    let mut by_region: BTreeMap<&str, Vec<&Unit>> = BTreeMap::new();
    for u in units {
        by_region.entry(u.region.as_str()).or_default().push(u);
    }
    page(
        lang,
        Some(v),
        &t(lang, "units"),
        html! {
            h1 { (t(lang, "units")) }
            form method="get" action="/console/report" #report-form {
                (t(lang, "report_html")) ": "
                input name="region" placeholder=(t(lang, "region")) size="12";
                " " input name="unit" placeholder=(t(lang, "unit")) size="16";
                " " input name="from" type="date";
                " → " input name="to" type="date";
                " " button type="submit" { "HTML" }
                " " button type="submit" formaction="/console/report.pdf" { "PDF" }
                " " button type="submit" formaction="/console/report.csv" { "CSV" }
            }
            @for (region, us) in &by_region {
                h2 { (t(lang, "region")) ": " (region) }
                table {
                    tr { th { (t(lang, "unit")) } th { (t(lang, "unit_type")) } th { (t(lang, "ranges")) } th { (t(lang, "cases")) } th { "" } }
                    @for u in us {
                        tr {
                            td { a href={ "/console/units/" (urlencode(&u.name)) } { (u.name) } }
                            td { (u.unit_type) }
                            td.mono { @for r in ranges.iter().filter(|r| r.unit_name == u.name) { (r.cidr) " " } }
                            td { (cases.iter().filter(|c| c.unit_name.as_deref() == Some(u.name.as_str())).count()) }
                            td { a href={ "/console/report.csv?unit=" (urlencode(&u.name)) } { "CSV" } }
                        }
                    }
                }
            }
        },
    )
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A CSV cell: quoted, and prefixed with `'` when a spreadsheet would read it as a formula.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn cases_csv(cases: &[&Case], scope: &Scope) -> String {
    let mut out = String::from(
        "id,status,class,proposed_class,region,unit,host,address,public_address,process,account,wallet,coin,pool,first_seen,last_seen,recurrence,kwh_per_day,legal_band,confidential,electricity_cost,cost_days,cost_days_assumed,gains\n",
    );
    for c in cases {
        let kwh = c
            .estimate
            .get("kwh_per_day")
            .and_then(|k| k.get("value"))
            .and_then(|x| x.as_f64())
            .map(|x| format!("{x:.3}"))
            .unwrap_or_default();
        let energy = &c.estimate["energy"];
        let band = c
            .estimate
            .get("legal")
            .and_then(|l| l.get("band"))
            .and_then(|b| b.as_str())
            .unwrap_or("");
        let fields = [
            c.id.to_string(),
            c.status.clone(),
            c.class.clone().unwrap_or_default(),
            c.proposed_class.clone().unwrap_or_default(),
            scope.region_of(c).unwrap_or("").to_string(),
            c.unit_name.clone().unwrap_or_default(),
            c.host_name.clone().unwrap_or_default(),
            c.client_ip.clone().unwrap_or_default(),
            c.public_ip.clone().unwrap_or_default(),
            c.process.clone().unwrap_or_default(),
            c.account.clone().unwrap_or_default(),
            c.wallet.clone().unwrap_or_default(),
            c.coin.clone().unwrap_or_default(),
            c.pool.clone().unwrap_or_default(),
            Timestamp(c.first_seen).to_rfc3339(),
            Timestamp(c.last_seen).to_rfc3339(),
            c.recurrence.to_string(),
            kwh,
            band.to_string(),
            c.confidential.to_string(),
            // Added last, so that the columns before keep their places.
            energy["cost_total"]["value"]
                .as_f64()
                .map(|x| format!("{x:.2}"))
                .unwrap_or_default(),
            energy["duration"]["days"]
                .as_f64()
                .map(|x| format!("{x:.1}"))
                .unwrap_or_default(),
            energy["duration"]["assumed"]
                .as_bool()
                .map(|b| b.to_string())
                .unwrap_or_default(),
            // Over the same days as the cost; empty where no coin is priced.
            c.estimate["gains_total"]["value"]
                .as_f64()
                .map(|x| format!("{x:.2}"))
                .unwrap_or_default(),
        ];
        let row: Vec<String> = fields.iter().map(|f| cell(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

pub fn tasks(v: &Viewer, tasks: &[Task], units: &[&Unit], now_us: i64) -> Markup {
    let lang = v.lang;
    let regulator = v.user.role == minetrace_store::ConsoleRole::Regulator;
    let unit_admin = v.user.role == minetrace_store::ConsoleRole::UnitAdmin;
    page(
        lang,
        Some(v),
        &t(lang, "tasks"),
        html! {
            h1 { (t(lang, "tasks")) }
            @if regulator {
                form.wf method="post" action="/console/tasks" #new-task {
                    input type="hidden" name="csrf" value=(v.csrf);
                    label { (t(lang, "unit")) " "
                        select name="unit" { @for u in units { option value=(u.name) { (u.name) } } }
                    }
                    label { (t(lang, "task_title")) " " input name="title" size="60" required; }
                    label { (t(lang, "task_detail")) br; textarea name="detail" rows="2" cols="60" {} }
                    label { (t(lang, "deadline")) " " input name="deadline" type="date" required; }
                    button type="submit" { (t(lang, "assign")) }
                }
            }
            table #tasks {
                tr { th { "#" } th { (t(lang, "unit")) } th { (t(lang, "task_title")) } th { (t(lang, "deadline")) } th { (t(lang, "answer")) } }
                @for task in tasks {
                    tr {
                        td { (task.id) }
                        td { (task.unit) }
                        td { b { (task.title) } br; (task.detail) }
                        td {
                            (when(task.deadline).chars().take(10).collect::<String>())
                            @if task.overdue(now_us) { " " span.bad.overdue { (t(lang, "overdue")) } }
                        }
                        td {
                            @if let Some(a) = &task.answer {
                                (a) br; small { (task.answered_by.as_deref().unwrap_or("")) " " (task.answered_at.map(when).unwrap_or_default()) }
                            } @else if unit_admin {
                                form method="post" action={ "/console/tasks/" (task.id) "/answer" } {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    textarea name="answer" rows="2" cols="40" required {}
                                    button type="submit" { (t(lang, "submit_answer")) }
                                }
                            } @else { "-" }
                        }
                    }
                }
            }
        },
    )
}

fn health(lang: Lang, beat: Option<i64>, now_us: i64) -> Markup {
    html! {
        @match beat {
            None => span.bad { (t(lang, "no_agent")) },
            Some(b) if now_us - b > super::extra::AGENT_SILENT_US => span.bad { (t(lang, "agent_silent")) " " (when(b)) },
            Some(b) => span.ok { (t(lang, "agent_ok")) " " (when(b)) },
        }
    }
}

pub fn unit_page(
    v: &Viewer,
    unit: &Unit,
    ranges: &[IpRange],
    hosts: &[(minetrace_store::Host, Option<i64>)],
    cases: &[&Case],
    now_us: i64,
    watch: Option<bool>,
) -> Markup {
    let lang = v.lang;
    page(
        lang,
        Some(v),
        &unit.name,
        html! {
            h1 { (unit.name) " · " (unit.region) " · " (unit.unit_type) }
            // Shown to regulators and auditors only: the unit must not learn it is watched.
            @if let Some(on) = watch {
                p #watch {
                    @if on { span.conf { "🔒 " (t(lang, "watch_on")) } } @else { (t(lang, "watch_off")) }
                    @if v.user.role == minetrace_store::ConsoleRole::Regulator {
                        form method="post" action={ "/console/units/" (urlencode(&unit.name)) "/watch" } style="display:inline" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            input type="hidden" name="watch" value=(if on { "0" } else { "1" });
                            " " button type="submit" #watch-toggle { (t(lang, if on { "watch_stop" } else { "watch_start" })) }
                        }
                    }
                }
            }
            h2 { (t(lang, "ranges")) }
            p.mono { @for r in ranges { (r.cidr) " " } }
            h2 { (t(lang, "hosts")) }
            table #hosts {
                tr { th { (t(lang, "host")) } th { (t(lang, "address")) } th { (t(lang, "owner")) } th { (t(lang, "agent")) } }
                @for (h, beat) in hosts {
                    tr {
                        td { a href={ "/console/hosts/" (urlencode(&h.name)) } { (h.name) } }
                        td.mono { (h.ips.join(" ")) }
                        td { (h.owner.as_deref().unwrap_or("-")) " / " (h.admin.as_deref().unwrap_or("-")) }
                        td { (health(lang, *beat, now_us)) }
                    }
                }
            }
            h2 { (t(lang, "cases")) }
            table {
                @for c in cases {
                    tr {
                        td { a href={ "/console/cases/" (c.id) } { "#" (c.id) } }
                        td { (t(lang, &format!("status.{}", c.status))) }
                        td { (t(lang, &class_key(c))) }
                        td.mono { (c.client_ip.as_deref().unwrap_or("-")) }
                        td { (c.host_name.as_deref().unwrap_or("-")) }
                        td { (when(c.last_seen)) }
                    }
                }
            }
            p { a href={ "/console/report?unit=" (urlencode(&unit.name)) } { (t(lang, "report_html")) } }
        },
    )
}

pub fn host_page(
    v: &Viewer,
    host: &minetrace_store::Host,
    beat: Option<i64>,
    tenures: &[minetrace_store::AddressTenure],
    cases: &[&Case],
    now_us: i64,
) -> Markup {
    let lang = v.lang;
    page(
        lang,
        Some(v),
        &host.name,
        html! {
            h1 { (t(lang, "host")) ": " (host.name) }
            table {
                tr { th { (t(lang, "unit")) } td { (host.unit_name.as_deref().unwrap_or("-")) } }
                tr { th { (t(lang, "address")) } td.mono { (host.ips.join(" ")) } }
                tr { th { "MAC" } td.mono { (host.macs.join(" ")) } }
                tr { th { (t(lang, "owner")) } td { (host.owner.as_deref().unwrap_or("-")) " " (host.owner_contact.as_deref().unwrap_or("")) } }
                tr { th { (t(lang, "admin")) } td { (host.admin.as_deref().unwrap_or("-")) " " (host.admin_contact.as_deref().unwrap_or("")) } }
                tr { th { (t(lang, "agent")) } td { (health(lang, beat, now_us)) } }
            }
            // When the agent said the machine held each address: what ties a network finding
            // of that address, at its time, to this machine.
            @if !tenures.is_empty() {
                h2 { (t(lang, "address_history")) }
                table {
                    tr {
                        th { (t(lang, "address")) }
                        th { (t(lang, "held_from")) }
                        th { (t(lang, "held_until")) }
                        th { (t(lang, "last_reported")) }
                    }
                    @for a in tenures {
                        tr {
                            td.mono { (a.value) }
                            td { (when(a.from)) }
                            td { (a.until.map(when).unwrap_or_else(|| t(lang, "still_held"))) }
                            td { (when(a.last_seen)) }
                        }
                    }
                }
            }
            h2 { (t(lang, "cases")) }
            table {
                @for c in cases {
                    tr {
                        td { a href={ "/console/cases/" (c.id) } { "#" (c.id) } }
                        td { (t(lang, &format!("status.{}", c.status))) }
                        td { (t(lang, &class_key(c))) }
                        td { (c.process.as_deref().unwrap_or("-")) }
                        td { (c.account.as_deref().unwrap_or("-")) }
                    }
                }
            }
        },
    )
}

/// The printable report: self-contained (inline style, SVG charts), for the browser's print
/// dialog or headless chromium's PDF.
pub fn report(
    v: &Viewer,
    rows: &[&Case],
    scope: &Scope,
    q: &super::extra::ReportQuery,
    est: &EstimateConfig,
) -> Markup {
    let lang = v.lang;
    let by_class = count_by(
        rows.iter()
            .map(|c| class_key(c).trim_start_matches("class.").to_string()),
    );
    let by_unit = count_by(rows.iter().filter_map(|c| c.unit_name.clone()));
    let kwh: f64 = rows
        .iter()
        .filter_map(|c| c.estimate.get("kwh_per_day")?.get("value")?.as_f64())
        .sum();
    let impact = minetrace_estimate::calc::calculate(
        est,
        &minetrace_estimate::calc::CalcInputs {
            kwh_per_day: Some(kwh.max(0.0)),
            ..Default::default()
        },
    )
    .ok()
    .and_then(|r| r.energy);
    let scope_line = format!(
        "{}{}{}{}",
        q.region
            .as_deref()
            .map(|r| format!("{r} "))
            .unwrap_or_default(),
        q.unit
            .as_deref()
            .map(|u| format!("{u} "))
            .unwrap_or_default(),
        q.from
            .as_deref()
            .map(|f| format!("{f} → "))
            .unwrap_or_default(),
        q.to.as_deref().unwrap_or("")
    );
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                title { (t(lang, "report_html")) }
                style { (maud::PreEscaped(STYLE)) "@media print{header{display:none}}" }
            }
            body { main {
                h1 { (t(lang, "title")) " — " (t(lang, "report_html")) }
                p { (scope_line) " · " (when(minetrace_core::Timestamp::now().0)) " · " (v.user.name) }
                div.cards {
                    div.card { (t(lang, "cases_total")) b #report-total { (rows.len()) } }
                    div.card { (t(lang, "energy")) b { (format!("{kwh:.1}")) } (t(lang, "kwh_day")) }
                    @if let Some(e) = &impact {
                        div.card { b { (format!("{:.3}", e.coal_t_per_day.value)) } (t(lang, "coal_day")) }
                        div.card { b { (format!("{:.1}", e.co2_t_per_year.value)) } (t(lang, "co2_year")) }
                    }
                }
                h2 { (t(lang, "by_class")) }
                (hbar_chart(&by_class.iter().map(|(k, n)| (t(lang, &format!("class.{k}")), *n)).collect::<Vec<_>>(), 520))
                h2 { (t(lang, "top_units")) }
                (kv_table(lang, &by_unit, None))
                h2 { (t(lang, "cases")) }
                table {
                    tr { th { "#" } th { (t(lang, "unit")) } th { (t(lang, "address")) } th { (t(lang, "class")) } th { (t(lang, "status")) } th { (t(lang, "kwh_day")) } th { (t(lang, "electricity_loss")) } th { (t(lang, "legal")) } }
                    @for c in rows {
                        tr {
                            td { (c.id) @if c.confidential { " " span.conf title=(t(lang, "confidential")) { "🔒" } } }
                            td { (c.unit_name.as_deref().unwrap_or("-")) " " small { (scope.region_of(c).unwrap_or("")) } }
                            td.mono { (c.client_ip.as_deref().unwrap_or("-")) }
                            td { (t(lang, &class_key(c))) }
                            td { (t(lang, &format!("status.{}", c.status))) }
                            td { (c.estimate.get("kwh_per_day").and_then(|k| k.get("value")).and_then(|x| x.as_f64()).map(|x| format!("{x:.1}")).unwrap_or_default()) }
                            td { (c.estimate["energy"]["cost_total"]["value"].as_f64().map(|x| format!("{x:.0}")).unwrap_or_default()) }
                            td { (t(lang, &format!("band.{}", c.estimate.get("legal").and_then(|l| l.get("band")).and_then(|b| b.as_str()).unwrap_or("none")))) }
                        }
                    }
                }
            } }
        }
    }
}

/// Reasons or flags in the page's language: the Chinese ones where the case has them line for
/// line (cases last updated by an older server have English only).
fn in_lang<'a>(lang: Lang, en: &'a [String], zh: &'a [String]) -> &'a [String] {
    if lang == Lang::Zh && zh.len() == en.len() {
        zh
    } else {
        en
    }
}
