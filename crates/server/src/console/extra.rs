//! Console pages beyond cases: self-inspection tasks, a unit's page (ranges, hosts and their
//! agents' health), a host's page, and the printable report with its PDF.

use super::{error_page, not_found, pages, visible_cases, Scope, Viewer};
use crate::state::AppState;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minetrace_store::{Case, ConsoleRole, Task, Unit};

/// An agent not heard from for this long is shown as silent.
pub const AGENT_SILENT_US: i64 = 15 * 60 * 1_000_000;

fn can_see_task(scope: &Scope, v: &Viewer, t: &Task) -> bool {
    match v.user.role {
        ConsoleRole::UnitAdmin => v.user.unit.as_deref() == Some(t.unit.as_str()),
        ConsoleRole::Regulator | ConsoleRole::Auditor => scope
            .units
            .get(&t.unit)
            .is_some_and(|u| scope.can_see_unit(&v.user, u)),
        ConsoleRole::Investigator => false,
    }
}

async fn units_and_tasks(st: &AppState) -> Option<(Scope, Vec<Task>)> {
    let store = st.store.clone();
    tokio::task::spawn_blocking(move || {
        Ok::<_, minetrace_store::StoreError>((Scope::new(store.list_units()?), store.list_tasks()?))
    })
    .await
    .ok()
    .and_then(Result::ok)
}

/// Overdue self-inspection tasks the viewer may see (for the overview).
pub async fn overdue_tasks(st: &AppState, v: &Viewer, scope: &Scope) -> usize {
    let store = st.store.clone();
    let tasks = tokio::task::spawn_blocking(move || store.list_tasks())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let now = minetrace_core::Timestamp::now().0;
    tasks
        .iter()
        .filter(|t| can_see_task(scope, v, t) && t.overdue(now))
        .count()
}

pub async fn tasks(State(st): State<AppState>, v: Viewer) -> Response {
    let Some((scope, tasks)) = units_and_tasks(&st).await else {
        return error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store");
    };
    let tasks: Vec<Task> = tasks
        .into_iter()
        .filter(|t| can_see_task(&scope, &v, t))
        .collect();
    let units: Vec<&Unit> = scope
        .units
        .values()
        .filter(|u| scope.can_see_unit(&v.user, u))
        .collect();
    pages::tasks(&v, &tasks, &units, minetrace_core::Timestamp::now().0).into_response()
}

#[derive(serde::Deserialize)]
pub struct NewTask {
    csrf: String,
    unit: String,
    title: String,
    #[serde(default)]
    detail: String,
    /// `YYYY-MM-DD`
    deadline: String,
}

fn day_to_us(day: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(23, 59, 59)?.and_utc().timestamp_micros())
}

pub async fn create_task(
    State(st): State<AppState>,
    v: Viewer,
    Form(f): Form<NewTask>,
) -> Response {
    if !v.csrf_ok(&f.csrf) || v.user.role != ConsoleRole::Regulator {
        return error_page(v.lang, StatusCode::FORBIDDEN, "forbidden");
    }
    let Some((scope, _)) = units_and_tasks(&st).await else {
        return error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store");
    };
    if !scope
        .units
        .get(&f.unit)
        .is_some_and(|u| scope.can_see_unit(&v.user, u))
    {
        return not_found(v.lang);
    }
    let Some(deadline) = day_to_us(&f.deadline) else {
        return (
            StatusCode::BAD_REQUEST,
            pages::message(v.lang, "deadline: YYYY-MM-DD"),
        )
            .into_response();
    };
    let store = st.store.clone();
    let by = v.user.name.clone();
    match tokio::task::spawn_blocking(move || {
        store.create_task(&f.unit, &f.title, &f.detail, deadline, &by)
    })
    .await
    {
        Ok(Ok(_)) => Redirect::to("/console/tasks").into_response(),
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            pages::message(v.lang, &e.to_string()),
        )
            .into_response(),
        Err(_) => error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store"),
    }
}

#[derive(serde::Deserialize)]
pub struct Answer {
    csrf: String,
    answer: String,
}

pub async fn answer_task(
    State(st): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<Answer>,
) -> Response {
    if !v.csrf_ok(&f.csrf) {
        return error_page(v.lang, StatusCode::FORBIDDEN, "forbidden");
    }
    let store = st.store.clone();
    let task = tokio::task::spawn_blocking(move || store.task(id))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    // Only the unit's own administrators answer their unit's tasks.
    let Some(task) = task.filter(|t| v.user.unit.as_deref() == Some(t.unit.as_str())) else {
        return not_found(v.lang);
    };
    if v.user.role != ConsoleRole::UnitAdmin {
        return error_page(v.lang, StatusCode::FORBIDDEN, "forbidden");
    }
    let store = st.store.clone();
    let by = v.user.name.clone();
    match tokio::task::spawn_blocking(move || store.answer_task(task.id, &f.answer, &by)).await {
        Ok(Ok(())) => Redirect::to("/console/tasks").into_response(),
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            pages::message(v.lang, &e.to_string()),
        )
            .into_response(),
        Err(_) => error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store"),
    }
}

/// A unit: its ranges, registered hosts with their agents' last heartbeat, and its cases.
pub async fn unit_page(
    State(st): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
) -> Response {
    let (cases, scope) = match visible_cases(&st, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(unit) = scope
        .units
        .get(&name)
        .filter(|u| scope.can_see_unit(&v.user, u))
        .cloned()
    else {
        return not_found(v.lang);
    };
    let store = st.store.clone();
    let uname = unit.name.clone();
    let sees_watch = matches!(v.user.role, ConsoleRole::Regulator | ConsoleRole::Auditor);
    let details = tokio::task::spawn_blocking(move || {
        let watch = if sees_watch {
            Some(store.unit_confidential_watch(&uname)?)
        } else {
            None
        };
        let ranges: Vec<_> = store
            .list_ranges()?
            .into_iter()
            .filter(|r| r.unit_name == uname)
            .collect();
        let mut hosts = Vec::new();
        for h in store
            .list_hosts()?
            .into_iter()
            .filter(|h| h.unit_name.as_deref() == Some(uname.as_str()))
        {
            let beat = store.last_heartbeat(&h.name)?;
            hosts.push((h, beat));
        }
        Ok::<_, minetrace_store::StoreError>((ranges, hosts, watch))
    })
    .await;
    let Ok(Ok((ranges, hosts, watch))) = details else {
        return error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store");
    };
    let unit_cases: Vec<&Case> = cases
        .iter()
        .filter(|c| c.unit_name.as_deref() == Some(unit.name.as_str()))
        .collect();
    pages::unit_page(
        &v,
        &unit,
        &ranges,
        &hosts,
        &unit_cases,
        minetrace_core::Timestamp::now().0,
        watch,
    )
    .into_response()
}

#[derive(serde::Deserialize)]
pub struct WatchForm {
    csrf: String,
    watch: String,
}

/// A regulator puts a unit in its regions under confidential investigation (or ends it).
pub async fn set_unit_watch(
    State(st): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<WatchForm>,
) -> Response {
    if !v.csrf_ok(&f.csrf) || v.user.role != ConsoleRole::Regulator {
        return error_page(v.lang, StatusCode::FORBIDDEN, "forbidden");
    }
    let Some((scope, _)) = units_and_tasks(&st).await else {
        return error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store");
    };
    if !scope
        .units
        .get(&name)
        .is_some_and(|u| scope.can_see_unit(&v.user, u))
    {
        return not_found(v.lang);
    }
    let watch = f.watch == "1";
    let store = st.store.clone();
    let actor = format!("console:{}", v.user.name);
    let unit = name.clone();
    match tokio::task::spawn_blocking(move || {
        store.set_unit_confidential_watch(&unit, watch, &actor)
    })
    .await
    {
        Ok(Ok(true)) => {
            Redirect::to(&format!("/console/units/{}", pages::urlencode(&name))).into_response()
        }
        Ok(Ok(false)) => not_found(v.lang),
        _ => error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store"),
    }
}

/// A host: registry facts, agent health, and the cases in scope that name it.
pub async fn host_page(
    State(st): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
) -> Response {
    let (cases, scope) = match visible_cases(&st, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let store = st.store.clone();
    let hname = name.clone();
    let found = tokio::task::spawn_blocking(move || {
        Ok::<_, minetrace_store::StoreError>((
            store.host_by_name(&hname)?,
            store.last_heartbeat(&hname)?,
            store.address_tenures(&hname)?,
        ))
    })
    .await;
    let Ok(Ok((Some(host), beat, tenures))) = found else {
        return not_found(v.lang);
    };
    // A host is visible through its unit, or through a visible case that names it.
    let host_cases: Vec<&Case> = cases
        .iter()
        .filter(|c| c.host_name.as_deref() == Some(host.name.as_str()))
        .collect();
    let via_unit = host
        .unit_name
        .as_deref()
        .and_then(|u| scope.units.get(u))
        .is_some_and(|u| scope.can_see_unit(&v.user, u));
    if !via_unit && host_cases.is_empty() {
        return not_found(v.lang);
    }
    pages::host_page(
        &v,
        &host,
        beat,
        &tenures,
        &host_cases,
        minetrace_core::Timestamp::now().0,
    )
    .into_response()
}

#[derive(serde::Deserialize, Default)]
pub struct ReportQuery {
    pub unit: Option<String>,
    pub region: Option<String>,
    /// `YYYY-MM-DD`, inclusive, on the cases' last activity.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The cases of a report: in scope, then by unit, region and period.
pub fn report_rows<'a>(cases: &'a [Case], scope: &Scope, q: &ReportQuery) -> Vec<&'a Case> {
    let from = q
        .from
        .as_deref()
        .and_then(day_to_us)
        .map(|t| t - 86_399_999_999);
    let to = q.to.as_deref().and_then(day_to_us);
    cases
        .iter()
        .filter(|c| {
            q.unit
                .as_deref()
                .filter(|u| !u.is_empty())
                .is_none_or(|u| c.unit_name.as_deref() == Some(u))
        })
        .filter(|c| {
            q.region
                .as_deref()
                .filter(|r| !r.is_empty())
                .is_none_or(|r| scope.region_of(c) == Some(r))
        })
        .filter(|c| from.is_none_or(|f| c.last_seen >= f))
        .filter(|c| to.is_none_or(|t| c.first_seen <= t))
        .collect()
}

/// The printable report (HTML with its charts); `?pdf=1` renders it to PDF with chromium.
pub async fn report(
    State(st): State<AppState>,
    v: Viewer,
    Query(q): Query<ReportQuery>,
) -> Response {
    let (cases, scope) = match visible_cases(&st, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows = report_rows(&cases, &scope, &q);
    let html = pages::report(&v, &rows, &scope, &q, &st.estimate).into_string();
    let store = st.store.clone();
    let who = v.user.name.clone();
    let n = rows.len();
    let _ = tokio::task::spawn_blocking(move || {
        store.append_record(
            "console.report",
            "report:html",
            &serde_json::json!({"user": who, "rows": n}),
        )
    })
    .await;
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

pub async fn report_pdf(
    State(st): State<AppState>,
    v: Viewer,
    Query(q): Query<ReportQuery>,
) -> Response {
    let (cases, scope) = match visible_cases(&st, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows = report_rows(&cases, &scope, &q);
    let html = pages::report(&v, &rows, &scope, &q, &st.estimate).into_string();
    let lang = v.lang;
    let pdf = tokio::task::spawn_blocking(move || print_pdf(&html)).await;
    match pdf {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"minetrace-report.pdf\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(why)) => (
            StatusCode::NOT_IMPLEMENTED,
            pages::message(lang, &format!("PDF: {why}")),
        )
            .into_response(),
        Err(_) => error_page(lang, StatusCode::INTERNAL_SERVER_ERROR, "store"),
    }
}

/// Renders self-contained HTML to PDF with headless chromium (Debian's `chromium`).
fn print_pdf(html: &str) -> Result<Vec<u8>, String> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .ok_or("chromium is not installed on the server (apt-get install chromium); the HTML report prints from any browser")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let page = dir.path().join("report.html");
    let out = dir.path().join("report.pdf");
    std::fs::write(&page, html).map_err(|e| e.to_string())?;
    let status = std::process::Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("chromium exited with {status}"));
    }
    minetrace_core::io::read_bounded(&out, 64 << 20).map_err(|e| e.to_string())
}
