//! Operations: `/metrics` (Prometheus text), `/healthz`, `/api/v1/openapi.json`, ledger status
//! and verification, request logging.

use super::auth::Principal;
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use minetrace_store::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/ledger", get(ledger))
        .route("/api/v1/ledger/verify", get(verify))
}

async fn metrics(State(st): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let s = st.store.clone();
    let silent = st.silent_after_us;
    let stats = blocking(move || Ok(s.stats(silent)?)).await?;
    let text = st
        .metrics
        .render(&stats, st.queue.depth(), st.queue.capacity());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document().to_string(),
    )
}

async fn ledger(State(st): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let s = st.store.clone();
    let (len, key) = blocking(move || Ok((s.ledger_len()?, s.key().public_hex()))).await?;
    Ok(Json(
        serde_json::json!({"length": len, "public_key": key, "algorithm": "ed25519", "hash": "sha256"}),
    ))
}

async fn verify(
    State(st): State<AppState>,
    who: Principal,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "verify the ledger")?;
    let s = st.store.clone();
    let r = blocking(move || Ok(s.verify_ledger())).await?;
    Ok(Json(match r {
        Ok(n) => serde_json::json!({"ok": true, "records": n}),
        Err(e) => serde_json::json!({"ok": false, "error": e.to_string()}),
    }))
}

/// One structured log line per request.
pub async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(%method, path = %path, status = resp.status().as_u16(), ms = start.elapsed().as_millis() as u64, "request");
    resp
}
