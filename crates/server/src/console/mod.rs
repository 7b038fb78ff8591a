//! The web console, served by `minetrace server` under `/console/`: server-rendered HTML (maud
//! escapes every interpolated string), one small embedded stylesheet, charts as inline SVG, no
//! script and no CDN. Every page checks the viewer's role and scope (see [`Scope`]); every case
//! view and change is a ledger record naming who.
//!
//! Roles: regulator (all units of its region; `*` = every region), unit administrator (its own
//! unit, never a confidential case), investigator (cases assigned to it), auditor (what a
//! regulator of its region sees, read-only).

pub mod auth;
mod extra;
pub mod i18n;
mod pages;

use crate::state::AppState;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use i18n::Lang;
use minetrace_store::{Case, ConsoleRole, Unit, User};
use std::collections::HashMap;
use std::net::SocketAddr;

pub use auth::{bootstrap_admin, create_user};

const SESSION_COOKIE: &str = "mt_session";
const LOGIN_CSRF_COOKIE: &str = "mt_login_csrf";
const LANG_COOKIE: &str = "mt_lang";
/// Cases a page reads at most (then filters by scope).
const MAX_CASES: i64 = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(overview))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/lang/{code}", get(set_lang))
        .route("/console/cases", get(cases))
        .route("/console/cases/{id}", get(case_page).post(case_update))
        .route("/console/cases/{id}/evidence", get(evidence))
        .route("/console/units", get(units))
        .route("/console/units/{name}", get(extra::unit_page))
        .route("/console/units/{name}/watch", post(extra::set_unit_watch))
        .route("/console/hosts/{name}", get(extra::host_page))
        .route("/console/tasks", get(extra::tasks).post(extra::create_task))
        .route("/console/tasks/{id}/answer", post(extra::answer_task))
        .route("/console/report", get(extra::report))
        .route("/console/report.pdf", get(extra::report_pdf))
        .route("/console/report.csv", get(report_csv))
        .route("/console/style.css", get(style))
}

/// A logged-in viewer.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: User,
    pub csrf: String,
    pub lang: Lang,
}

impl Viewer {
    /// Whether a form's CSRF token is the session's (compared in constant time).
    pub fn csrf_ok(&self, token: &str) -> bool {
        let (a, b) = (token.as_bytes(), self.csrf.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn may_write(&self) -> bool {
        matches!(
            self.user.role,
            ConsoleRole::Regulator | ConsoleRole::Investigator
        )
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::pick(
        cookie(headers, LANG_COOKIE),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Every console page takes its viewer from the session cookie; without one it redirects to
/// the login page.
impl axum::extract::FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        viewer(state, &parts.headers).await
    }
}

/// The session's viewer, or a redirect to the login page.
async fn viewer(st: &AppState, headers: &HeaderMap) -> Result<Viewer, Response> {
    let lang = lang_of(headers);
    let Some(sid) = cookie(headers, SESSION_COOKIE).map(str::to_string) else {
        return Err(Redirect::to("/console/login").into_response());
    };
    let store = st.store.clone();
    let found = tokio::task::spawn_blocking(move || store.session(&sid))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    match found {
        Some((user, csrf)) => Ok(Viewer { user, csrf, lang }),
        None => Err(Redirect::to("/console/login").into_response()),
    }
}

/// What a viewer may see: decided from the case's unit (and its region), its confidentiality
/// and its assignee. Used by every page, list, count and download.
pub struct Scope {
    units: HashMap<String, Unit>,
}

impl Scope {
    pub fn new(units: Vec<Unit>) -> Scope {
        Scope {
            units: units.into_iter().map(|u| (u.name.clone(), u)).collect(),
        }
    }

    fn region_of(&self, c: &Case) -> Option<&str> {
        c.unit_name
            .as_deref()
            .and_then(|u| self.units.get(u))
            .map(|u| u.region.as_str())
    }

    pub fn can_see(&self, u: &User, c: &Case) -> bool {
        match u.role {
            ConsoleRole::Regulator | ConsoleRole::Auditor => match u.region.as_deref() {
                Some("*") => true,
                Some(r) => self.region_of(c) == Some(r),
                None => false,
            },
            ConsoleRole::UnitAdmin => {
                !c.confidential && u.unit.is_some() && c.unit_name.as_deref() == u.unit.as_deref()
            }
            ConsoleRole::Investigator => c.assignee.as_deref() == Some(u.name.as_str()),
        }
    }

    pub fn can_see_unit(&self, u: &User, unit: &Unit) -> bool {
        match u.role {
            ConsoleRole::Regulator | ConsoleRole::Auditor => match u.region.as_deref() {
                Some("*") => true,
                Some(r) => unit.region == r,
                None => false,
            },
            ConsoleRole::UnitAdmin => u.unit.as_deref() == Some(unit.name.as_str()),
            ConsoleRole::Investigator => false,
        }
    }
}

/// The cases `v` may see, newest first, and the scope that decided it.
async fn visible_cases(st: &AppState, v: &Viewer) -> Result<(Vec<Case>, Scope), Response> {
    let store = st.store.clone();
    let user = v.user.clone();
    let got = tokio::task::spawn_blocking(move || {
        let units = store.list_units()?;
        let cases = store.list_cases(&minetrace_store::CaseFilter {
            limit: Some(MAX_CASES),
            ..Default::default()
        })?;
        Ok::<_, minetrace_store::StoreError>((cases, units))
    })
    .await;
    match got {
        Ok(Ok((cases, units))) => {
            let scope = Scope::new(units);
            let cases = cases
                .into_iter()
                .filter(|c| scope.can_see(&user, c))
                .collect();
            Ok((cases, scope))
        }
        _ => Err(error_page(
            v.lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            "store",
        )),
    }
}

fn error_page(lang: Lang, status: StatusCode, key: &str) -> Response {
    (status, pages::message(lang, &i18n::t(lang, key))).into_response()
}

/// The same answer for "no such case" and "not yours": ids must not reveal what exists.
fn not_found(lang: Lang) -> Response {
    error_page(lang, StatusCode::NOT_FOUND, "not_found")
}

fn session_cookie(st: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if st.limits.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

// ---- handlers ----

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        pages::STYLE,
    )
}

async fn set_lang(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let code = if code == "en" { "en" } else { "zh" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/console/").map(|i| r[i..].to_string()))
        .unwrap_or_else(|| "/console/".into());
    let mut resp = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={code}; Path=/console; SameSite=Strict; Max-Age=31536000"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn login_form(headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let csrf = auth::random_token();
    let mut resp = pages::login(lang, &csrf, None).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={csrf}; Path=/console/login; HttpOnly; SameSite=Strict"
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(serde::Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    csrf: String,
}

async fn login(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    // Double-submit: the form's token must match the cookie set with the form.
    if cookie(&headers, LOGIN_CSRF_COOKIE) != Some(f.csrf.as_str()) || f.csrf.is_empty() {
        return error_page(lang, StatusCode::FORBIDDEN, "forbidden");
    }
    let addr = peer.ip().to_string();
    if !st.console.limiter.allowed(&addr, &f.user) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(lang, &f.csrf, Some(&i18n::t(lang, "login_slow"))),
        )
            .into_response();
    }
    let store = st.store.clone();
    let (name, password) = (f.user.clone(), f.password.clone());
    let user = tokio::task::spawn_blocking(move || {
        let user = store.user_by_name(&name).ok().flatten()?;
        auth::verify_password(&password, &user.password_hash).then_some(user)
    })
    .await
    .ok()
    .flatten();
    let Some(user) = user else {
        st.console.limiter.failed(&addr, &f.user);
        return (
            StatusCode::UNAUTHORIZED,
            pages::login(lang, &f.csrf, Some(&i18n::t(lang, "login_failed"))),
        )
            .into_response();
    };
    st.console.limiter.succeeded(&addr, &f.user);
    let sid = auth::random_token();
    let csrf = auth::random_token();
    let store = st.store.clone();
    let (s2, u2) = (sid.clone(), user.clone());
    let ok = tokio::task::spawn_blocking(move || {
        store.create_session(&s2, &u2, &csrf, auth::SESSION_LIFETIME_US)?;
        store.append_record(
            "console.login",
            &format!("user:{}", u2.name),
            &serde_json::json!({"user": u2.name, "from": addr}),
        )
    })
    .await
    .map(|r| r.is_ok())
    .unwrap_or(false);
    if !ok {
        return error_page(lang, StatusCode::INTERNAL_SERVER_ERROR, "store");
    }
    let mut resp = Redirect::to("/console/").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&st, &sid, auth::SESSION_LIFETIME_US / 1_000_000),
    );
    resp
}

#[derive(serde::Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    v: Viewer,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !v.csrf_ok(&f.csrf) {
        return error_page(v.lang, StatusCode::FORBIDDEN, "forbidden");
    }
    if let Some(sid) = cookie(&headers, SESSION_COOKIE).map(str::to_string) {
        let store = st.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.delete_session(&sid)).await;
    }
    let mut resp = Redirect::to("/console/login").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&st, "", 0));
    resp
}

async fn overview(State(st): State<AppState>, v: Viewer) -> Response {
    let (cases, scope) = match visible_cases(&st, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let overdue = extra::overdue_tasks(&st, &v, &scope).await;
    pages::overview(&v, &cases, &scope.units, &st.estimate, overdue).into_response()
}

#[derive(serde::Deserialize)]
struct CasesQuery {
    q: Option<String>,
}

async fn cases(State(st): State<AppState>, v: Viewer, Query(q): Query<CasesQuery>) -> Response {
    let (mut cases, _) = match visible_cases(&st, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let needle = q.q.unwrap_or_default();
    let needle = needle.trim().chars().take(256).collect::<String>();
    if !needle.is_empty() {
        let found = search(&st, &needle).await;
        cases.retain(|c| matches(c, &needle) || found.contains(&c.id));
    }
    pages::case_list(&v, &cases, &needle).into_response()
}

/// Does the case itself carry `needle` (address, wallet, pool, host, account, process)?
fn matches(c: &Case, needle: &str) -> bool {
    let n = needle.to_lowercase();
    [
        &c.client_ip,
        &c.public_ip,
        &c.wallet,
        &c.pool,
        &c.host_name,
        &c.account,
        &c.process,
        &c.mac,
        &c.unit_name,
    ]
    .iter()
    .any(|f| f.as_deref().is_some_and(|v| v.to_lowercase().contains(&n)))
}

/// Cases whose findings name `needle` as a worker, rig, executable hash or pool host.
async fn search(st: &AppState, needle: &str) -> Vec<i64> {
    let store = st.store.clone();
    let needle = needle.to_lowercase();
    tokio::task::spawn_blocking(move || {
        let mut ids = Vec::new();
        let Ok(cases) = store.list_cases(&minetrace_store::CaseFilter {
            limit: Some(MAX_CASES),
            ..Default::default()
        }) else {
            return ids;
        };
        for c in cases {
            let Ok(fs) = store.case_findings(c.id, 200) else {
                continue;
            };
            let hit = fs.iter().any(|sf| {
                let e = &sf.finding.evidence;
                [
                    e.worker.as_deref(),
                    e.rig_id.as_deref(),
                    e.pool_host.as_deref(),
                    e.login.as_deref(),
                    e.process.as_ref().and_then(|p| p.exe_sha256.as_deref()),
                ]
                .iter()
                .flatten()
                .any(|v| v.to_lowercase().contains(&needle))
            });
            if hit {
                ids.push(c.id);
            }
        }
        ids
    })
    .await
    .unwrap_or_default()
}

/// Loads a case the viewer may see; the same 404 otherwise.
async fn load_case(st: &AppState, v: &Viewer, id: i64) -> Result<Case, Response> {
    let store = st.store.clone();
    let got = tokio::task::spawn_blocking(move || {
        Ok::<_, minetrace_store::StoreError>((store.case(id)?, store.list_units()?))
    })
    .await;
    match got {
        Ok(Ok((Some(c), units))) => {
            if Scope::new(units).can_see(&v.user, &c) {
                Ok(c)
            } else {
                Err(not_found(v.lang))
            }
        }
        _ => Err(not_found(v.lang)),
    }
}

async fn case_page(State(st): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let case = match load_case(&st, &v, id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let store = st.store.clone();
    let who = v.user.name.clone();
    let details = tokio::task::spawn_blocking(move || {
        let findings = store.case_findings(id, 500)?;
        let events = store.case_events(id)?;
        let records = store.case_records(id)?;
        let key = store.key().verifying_key();
        let verified = records.iter().all(|r| r.check(&key).is_ok());
        // Who looked, and when: the view itself is evidence.
        store.append_record(
            "console.view",
            &format!("case:{id}"),
            &serde_json::json!({"user": who}),
        )?;
        Ok::<_, minetrace_store::StoreError>((findings, events, records.len(), verified))
    })
    .await;
    match details {
        Ok(Ok((findings, events, records, verified))) => {
            pages::case_page(&v, &case, &findings, &events, records, verified).into_response()
        }
        _ => error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store"),
    }
}

#[derive(serde::Deserialize)]
struct CaseForm {
    csrf: String,
    status: Option<String>,
    class: Option<String>,
    assignee: Option<String>,
    note: Option<String>,
    confidential: Option<String>,
}

async fn case_update(
    State(st): State<AppState>,
    v: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<CaseForm>,
) -> Response {
    if !v.csrf_ok(&f.csrf) {
        return error_page(v.lang, StatusCode::FORBIDDEN, "forbidden");
    }
    let case = match load_case(&st, &v, id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !v.may_write() {
        return error_page(v.lang, StatusCode::FORBIDDEN, "forbidden");
    }
    let blank = |s: Option<String>| s.filter(|x| !x.trim().is_empty());
    let update = crate::service::cases::CaseUpdate {
        status: blank(f.status).filter(|s| *s != case.status),
        class: blank(f.class),
        assignee: f.assignee,
        note: blank(f.note),
    };
    let confidential = match f.confidential.as_deref() {
        Some("1") => Some(true),
        Some("0") => Some(false),
        _ => None,
    };
    if confidential.is_some() && v.user.role != ConsoleRole::Regulator {
        return error_page(v.lang, StatusCode::FORBIDDEN, "forbidden");
    }
    let store = st.store.clone();
    let alerter = st.alerter.clone();
    let actor = format!("console:{}", v.user.name);
    let result = tokio::task::spawn_blocking(move || {
        crate::service::cases::update(&store, id, &actor, &update)?;
        if let Some(c) = confidential {
            store.set_case_confidential(id, c, &actor)?;
        }
        store.case(id).map_err(crate::service::ServiceError::from)
    })
    .await;
    match result {
        Ok(Ok(case)) => {
            if let (Some(a), Some(c)) = (alerter, case) {
                a.case_changed(&c);
            }
            Redirect::to(&format!("/console/cases/{id}")).into_response()
        }
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            pages::message(v.lang, &e.to_string()),
        )
            .into_response(),
        Err(_) => error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store"),
    }
}

async fn evidence(State(st): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    if let Err(r) = load_case(&st, &v, id).await {
        return r;
    }
    let store = st.store.clone();
    let who = v.user.name.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        minetrace_store::bundle::export_case(&store, id, &mut out)?;
        store.append_record(
            "evidence-exported",
            &format!("case:{id}"),
            &serde_json::json!({"case": id, "bytes": out.len(), "user": who}),
        )?;
        Ok::<_, minetrace_store::StoreError>(out)
    })
    .await;
    match bytes {
        Ok(Ok(b)) => (
            [
                (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"case-{id}.evidence.jsonl\""),
                ),
            ],
            b,
        )
            .into_response(),
        _ => error_page(v.lang, StatusCode::INTERNAL_SERVER_ERROR, "store"),
    }
}

async fn units(State(st): State<AppState>, v: Viewer) -> Response {
    let (cases, scope) = match visible_cases(&st, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let store = st.store.clone();
    let ranges = tokio::task::spawn_blocking(move || store.list_ranges())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let visible: Vec<&Unit> = scope
        .units
        .values()
        .filter(|u| scope.can_see_unit(&v.user, u))
        .collect();
    pages::units(&v, &visible, &ranges, &cases).into_response()
}

/// The visible cases as CSV (cells that a spreadsheet would run as formulas are prefixed).
async fn report_csv(
    State(st): State<AppState>,
    v: Viewer,
    Query(q): Query<extra::ReportQuery>,
) -> Response {
    let (cases, scope) = match visible_cases(&st, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let rows: Vec<&Case> = extra::report_rows(&cases, &scope, &q);
    let store = st.store.clone();
    let who = v.user.name.clone();
    let n = rows.len();
    let _ = tokio::task::spawn_blocking(move || {
        store.append_record(
            "console.report",
            "report:cases",
            &serde_json::json!({"user": who, "rows": n}),
        )
    })
    .await;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"minetrace-cases.csv\"",
            ),
        ],
        pages::cases_csv(&rows, &scope),
    )
        .into_response()
}

/// Console state shared by the handlers.
#[derive(Debug, Default)]
pub struct ConsoleState {
    pub limiter: auth::LoginLimiter,
}
