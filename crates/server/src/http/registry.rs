//! Asset registry: JSON listings and creation, CSV import/export, NAT and DHCP log import.
//! Reading needs any token; writing needs admin.

use super::auth::Principal;
use super::ingest::service_error;
use crate::error::{blocking, ApiError};
use crate::service::{logs, registry};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use minetrace_store::{Host, Project, Role};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/units", get(units).post(add_unit))
        .route("/api/v1/ranges", get(ranges).post(add_range))
        .route("/api/v1/hosts", get(hosts).post(add_host))
        .route("/api/v1/projects", get(projects).post(add_project))
        .route(
            "/api/v1/registry/{table}/csv",
            get(export_csv).post(import_csv),
        )
        .route("/api/v1/registry/nat", post(import_nat))
        .route("/api/v1/registry/dhcp", post(import_dhcp))
}

const READERS: &[Role] = &[Role::Admin];

async fn units(
    State(st): State<AppState>,
    who: Principal,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(READERS, "read the registry")?;
    let s = st.store.clone();
    Ok(Json(
        serde_json::json!({"units": blocking(move || Ok(s.list_units()?)).await?}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUnit {
    name: String,
    region: String,
    unit_type: String,
    #[serde(default)]
    contact: Option<String>,
}

async fn add_unit(
    State(st): State<AppState>,
    who: Principal,
    Json(u): Json<NewUnit>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "change the registry")?;
    let s = st.store.clone();
    let id = blocking(move || {
        Ok(s.upsert_unit(&u.name, &u.region, &u.unit_type, u.contact.as_deref())?)
    })
    .await?;
    Ok(Json(serde_json::json!({"id": id})))
}

async fn ranges(
    State(st): State<AppState>,
    who: Principal,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(READERS, "read the registry")?;
    let s = st.store.clone();
    Ok(Json(
        serde_json::json!({"ranges": blocking(move || Ok(s.list_ranges()?)).await?}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRange {
    cidr: String,
    unit: String,
    #[serde(default)]
    note: Option<String>,
}

async fn add_range(
    State(st): State<AppState>,
    who: Principal,
    Json(r): Json<NewRange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "change the registry")?;
    let c = crate::service::netaddr::Cidr::parse(&r.cidr).map_err(ApiError::bad)?;
    let s = st.store.clone();
    blocking(move || Ok(s.add_range(&c.to_string(), &r.unit, r.note.as_deref())?)).await?;
    Ok(Json(serde_json::json!({"ok": true})))
}

async fn hosts(
    State(st): State<AppState>,
    who: Principal,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(READERS, "read the registry")?;
    let s = st.store.clone();
    Ok(Json(
        serde_json::json!({"hosts": blocking(move || Ok(s.list_hosts()?)).await?}),
    ))
}

async fn add_host(
    State(st): State<AppState>,
    who: Principal,
    Json(mut h): Json<Host>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "change the registry")?;
    for ip in &h.ips {
        ip.parse::<std::net::IpAddr>()
            .map_err(|_| ApiError::bad(format!("{ip:?} is not an IP address")))?;
    }
    let mut macs = Vec::new();
    for m in &h.macs {
        macs.push(
            crate::service::netaddr::normalize_mac(m)
                .ok_or_else(|| ApiError::bad(format!("{m:?} is not a MAC address")))?,
        );
    }
    h.macs = macs;
    h.origin = "registry".into();
    let s = st.store.clone();
    let id = blocking(move || Ok(s.upsert_host(&h)?)).await?;
    Ok(Json(serde_json::json!({"id": id})))
}

async fn projects(
    State(st): State<AppState>,
    who: Principal,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(READERS, "read the registry")?;
    let s = st.store.clone();
    Ok(Json(
        serde_json::json!({"projects": blocking(move || Ok(s.list_projects()?)).await?}),
    ))
}

async fn add_project(
    State(st): State<AppState>,
    who: Principal,
    Json(p): Json<Project>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "change the registry")?;
    if p.ends < p.starts || (p.host.is_none() && p.account.is_none()) {
        return Err(ApiError::bad(
            "a project names a host or an account, and ends after it starts",
        ));
    }
    let s = st.store.clone();
    let id = blocking(move || Ok(s.add_project(&p)?)).await?;
    Ok(Json(serde_json::json!({"id": id})))
}

async fn export_csv(
    State(st): State<AppState>,
    who: Principal,
    Path(table): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    who.require(READERS, "read the registry")?;
    let s = st.store.clone();
    let text =
        blocking(move || registry::export_csv(&s, &table).map_err(|e| service_error(e.into())))
            .await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text))
}

fn utf8(body: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec()).map_err(|e| {
        ApiError::bad(format!(
            "body is not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

async fn import_csv(
    State(st): State<AppState>,
    who: Principal,
    Path(table): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "change the registry")?;
    let text = utf8(&body)?;
    let s = st.store.clone();
    let n = blocking(move || {
        registry::import_csv(&s, &table, &text).map_err(|e| service_error(e.into()))
    })
    .await?;
    Ok(Json(serde_json::json!({"imported": n})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    format: String,
    #[serde(default)]
    origin: Option<String>,
    /// dnsmasq: lease length in seconds (default 86400).
    #[serde(default)]
    lease_secs: Option<i64>,
}

async fn import_nat(
    State(st): State<AppState>,
    who: Principal,
    Query(q): Query<LogQuery>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "import NAT logs")?;
    let text = utf8(&body)?;
    let origin = q
        .origin
        .unwrap_or_else(|| format!("nat-{}", q.format))
        .chars()
        .take(64)
        .collect::<String>();
    let maps = match q.format.as_str() {
        "conntrack" => logs::parse_conntrack(&text, &origin, minetrace_core::Timestamp::now().0),
        "csv" => logs::parse_nat_csv(&text, &origin),
        other => return Err(ApiError::bad(format!("format {other:?}: conntrack or csv"))),
    }
    .map_err(|e| ApiError::bad(format!("NAT log: {e}")))?;
    let parsed = maps.len();
    let s = st.store.clone();
    let new = blocking(move || Ok(s.add_nat_mappings(&maps)?)).await?;
    Ok(Json(serde_json::json!({"parsed": parsed, "imported": new})))
}

async fn import_dhcp(
    State(st): State<AppState>,
    who: Principal,
    Query(q): Query<LogQuery>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "import DHCP logs")?;
    let text = utf8(&body)?;
    let origin = q
        .origin
        .unwrap_or_else(|| format!("dhcp-{}", q.format))
        .chars()
        .take(64)
        .collect::<String>();
    let leases = match q.format.as_str() {
        "isc" => logs::parse_isc_leases(&text, &origin),
        "dnsmasq" => logs::parse_dnsmasq_leases(
            &text,
            &origin,
            q.lease_secs.unwrap_or(86_400).clamp(60, 365 * 86_400),
        ),
        "csv" => logs::parse_dhcp_csv(&text, &origin),
        other => {
            return Err(ApiError::bad(format!(
                "format {other:?}: isc, dnsmasq or csv"
            )))
        }
    }
    .map_err(|e| ApiError::bad(format!("DHCP log: {e}")))?;
    let parsed = leases.len();
    let s = st.store.clone();
    let new = blocking(move || Ok(s.add_leases(&leases)?)).await?;
    Ok(Json(serde_json::json!({"parsed": parsed, "imported": new})))
}
