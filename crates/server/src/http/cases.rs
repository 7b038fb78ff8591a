//! Cases: list, show (timeline across network and host evidence, attribution, class and
//! reasons, estimates), update (workflow), evidence bundle; campaigns.

use super::auth::Principal;
use super::ingest::service_error;
use crate::error::{blocking, ApiError};
use crate::service::cases::{update as apply_update, CaseUpdate};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use minetrace_core::FindingKind;
use minetrace_store::{CaseFilter, Role};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", get(list))
        .route("/api/v1/cases/{id}", get(show).patch(update))
        .route("/api/v1/cases/{id}/evidence", get(evidence))
        .route("/api/v1/campaigns", get(campaigns))
}

const READ: &[Role] = &[Role::Admin];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    unit: Option<String>,
    campaign: Option<i64>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list(
    State(st): State<AppState>,
    who: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(READ, "read cases")?;
    let s = st.store.clone();
    let filter = CaseFilter {
        status: q.status,
        unit: q.unit,
        campaign_id: q.campaign,
        limit: q.limit,
        offset: q.offset,
    };
    let cases = blocking(move || Ok(s.list_cases(&filter)?)).await?;
    Ok(Json(serde_json::json!({"cases": cases})))
}

async fn show(
    State(st): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(READ, "read cases")?;
    let s = st.store.clone();
    let out = blocking(move || {
        let case = s.case(id)?.ok_or(ApiError::NotFound { what: format!("case {id}") })?;
        let findings = s.case_findings(id, 1000)?;
        let events = s.case_events(id)?;
        let attachments = s.case_attachments(id)?;
        let campaign = match case.campaign_id {
            Some(c) => s.list_campaigns()?.into_iter().find(|x| x.id == c),
            None => None,
        };
        let timeline: Vec<serde_json::Value> = findings
            .iter()
            .map(|sf| {
                let f = &sf.finding;
                serde_json::json!({
                    "at": f.first_seen, "until": f.last_seen,
                    "kind": match f.kind { FindingKind::Network => "network", FindingKind::Host => "host" },
                    "detector": f.detector, "finding": f.id, "source": sf.source,
                    "client": f.client.as_ref().map(|e| e.to_string()),
                    "server": f.server.as_ref().map(|e| e.to_string()),
                    "process": f.evidence.process.as_ref().map(|p| format!("{} (pid {})", p.name, p.pid)),
                    "reasons": f.reasons,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "case": case,
            "attribution": {
                "unit": case.unit_name, "public_ip": case.public_ip, "client_ip": case.client_ip,
                "mac": case.mac, "host": case.host_name, "process": case.process, "account": case.account,
            },
            "timeline": timeline,
            "events": events,
            "attachments": attachments,
            "campaign": campaign,
            "findings": findings.iter().map(|sf| &sf.finding).collect::<Vec<_>>(),
        }))
    })
    .await?;
    Ok(Json(out))
}

async fn update(
    State(st): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "change cases")?;
    let u: CaseUpdate =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("case update: {e}")))?;
    let s = st.store.clone();
    let actor = who.name().to_string();
    let (case, ev) =
        blocking(move || apply_update(&s, id, &actor, &u).map_err(service_error)).await?;
    Ok(Json(serde_json::json!({"case": case, "event": ev})))
}

async fn evidence(
    State(st): State<AppState>,
    who: Principal,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    who.require(READ, "export evidence")?;
    let s = st.store.clone();
    let bytes = blocking(move || {
        let mut out = Vec::new();
        minetrace_store::bundle::export_case(&s, id, &mut out)?;
        s.append_record(
            "evidence-exported",
            &format!("case:{id}"),
            &serde_json::json!({"case": id, "bytes": out.len()}),
        )?;
        Ok(out)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"case-{id}.evidence.jsonl\""),
            ),
        ],
        bytes,
    ))
}

async fn campaigns(
    State(st): State<AppState>,
    who: Principal,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(READ, "read campaigns")?;
    let s = st.store.clone();
    Ok(Json(
        serde_json::json!({"campaigns": blocking(move || Ok(s.list_campaigns()?)).await?}),
    ))
}
