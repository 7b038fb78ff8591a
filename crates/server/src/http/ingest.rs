//! `POST /api/v1/ingest/findings`, `/heartbeat`, `/attachments`.

use super::auth::Principal;
use crate::error::{blocking, ApiError};
use crate::metrics::Metrics;
use crate::service::ingest::{parse_findings, parse_heartbeat};
use crate::service::ServiceError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::routing::post;
use axum::{Json, Router};
use minetrace_store::Role;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ingest/findings", post(findings))
        .route("/api/v1/ingest/heartbeat", post(heartbeat))
        .route(
            "/api/v1/ingest/attachments",
            post(attachment).layer(DefaultBodyLimit::max(minetrace_store::MAX_ATTACHMENT_BYTES)),
        )
}

pub(crate) fn service_error(e: ServiceError) -> ApiError {
    match e {
        ServiceError::Invalid { .. }
        | ServiceError::Transition { .. }
        | ServiceError::Registry(_) => ApiError::bad(e.to_string()),
        ServiceError::NotFound { what } => ApiError::NotFound { what },
        ServiceError::Store(s) => s.into(),
    }
}

async fn findings(
    State(st): State<AppState>,
    who: Principal,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    Metrics::add(&st.metrics.ingest_requests, 1);
    let reject = |e: ApiError| {
        Metrics::add(&st.metrics.requests_rejected, 1);
        e
    };
    who.require(&[Role::Sensor, Role::Agent], "submit findings")
        .map_err(reject)?;
    let batch = parse_findings(&body).map_err(|e| reject(service_error(e)))?;
    if let Some(stream) = &st.stream {
        // Scale-out: durable in the replicated stream before the answer; a worker on some
        // replica stores it (crates/server/src/stream.rs).
        let n = batch.len();
        stream.publish(who.name(), &batch).await.map_err(|e| {
            Metrics::add(&st.metrics.backpressure, 1);
            ApiError::StreamUnavailable {
                message: e.to_string(),
            }
        })?;
        tracing::info!(source = %who.name(), findings = n, "findings queued in the stream");
        return Ok(Json(
            serde_json::json!({"accepted": n, "duplicates": 0, "queued": true}),
        ));
    }
    if let Err(bp) = st.queue.admit(batch.len()) {
        Metrics::add(&st.metrics.backpressure, 1);
        return Err(ApiError::Busy {
            depth: bp.depth,
            limit: bp.limit,
        });
    }
    let store = st.store.clone();
    let source = who.0.clone();
    let n = batch.len();
    let outcome = blocking(move || Ok(store.ingest_findings(&source, &batch)?)).await?;
    Metrics::add(&st.metrics.findings_accepted, outcome.accepted);
    Metrics::add(&st.metrics.findings_duplicate, outcome.duplicates);
    tracing::info!(source = %who.name(), accepted = outcome.accepted, duplicates = outcome.duplicates, "findings ingested");
    if outcome.accepted == 0 {
        Metrics::add(&st.metrics.requests_rejected, 1);
        return Err(ApiError::Conflict {
            message: format!("replayed batch: all {n} findings are already stored; nothing stored"),
            duplicates: n,
        });
    }
    let accepted = outcome.accepted;
    st.queue.publish(outcome.accepted_ids);
    Ok(Json(
        serde_json::json!({"accepted": accepted, "duplicates": outcome.duplicates}),
    ))
}

async fn heartbeat(
    State(st): State<AppState>,
    who: Principal,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Agent], "send heartbeats")?;
    let hb = parse_heartbeat(&body).map_err(|e| {
        Metrics::add(&st.metrics.requests_rejected, 1);
        service_error(e)
    })?;
    let store = st.store.clone();
    let source = who.0.clone();
    let text = serde_json::to_string(&hb).unwrap_or_default();
    let ips: Vec<String> = hb.addresses.iter().map(|a| a.to_string()).collect();
    let macs: Vec<String> = hb
        .macs
        .iter()
        .filter_map(|m| crate::service::netaddr::normalize_mac(m))
        .collect();
    let at = hb.at.map_or(0, |t| t.0);
    blocking(move || Ok(store.record_heartbeat(&source, &hb.host, at, &text, &ips, &macs)?))
        .await?;
    Metrics::add(&st.metrics.heartbeats, 1);
    Ok(Json(serde_json::json!({"ok": true})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentQuery {
    name: String,
    #[serde(default)]
    finding: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
}

async fn attachment(
    State(st): State<AppState>,
    who: Principal,
    Query(q): Query<AttachmentQuery>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Sensor, Role::Agent], "submit attachments")?;
    if q.name.is_empty()
        || q.name.len() > 255
        || q.name.chars().any(char::is_control)
        || body.is_empty()
    {
        return Err(ApiError::bad(
            "attachment needs a printable name (<= 255 bytes) and a non-empty body",
        ));
    }
    let media = q
        .media_type
        .unwrap_or_else(|| "application/octet-stream".into());
    if media.len() > 128 || media.chars().any(|c| c.is_control()) {
        return Err(ApiError::bad("media_type too long"));
    }
    let store = st.store.clone();
    let (att, new) = blocking(move || {
        if let Some(f) = &q.finding {
            if store.finding(f)?.is_none() {
                return Err(ApiError::NotFound {
                    what: format!("finding {f}"),
                });
            }
        }
        Ok(store.put_attachment(&q.name, &media, q.finding.as_deref(), &body)?)
    })
    .await?;
    Metrics::add(&st.metrics.attachments, 1);
    Ok(Json(
        serde_json::json!({"sha256": att.sha256, "size": att.size, "new": new}),
    ))
}
