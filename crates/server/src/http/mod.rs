//! HTTP: one router per resource, merged here; one error type ([`crate::error::ApiError`]).

pub mod auth;
pub mod cases;
pub mod ingest;
pub mod ops;
pub mod registry;
pub mod sources;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::Router;

/// The whole API.
pub fn router(state: AppState) -> Router {
    let limit = state.limits.max_body_bytes;
    Router::new()
        .merge(ingest::router())
        .merge(registry::router())
        .merge(cases::router())
        .merge(sources::router())
        .merge(ops::router())
        .merge(crate::console::router())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(ops::log_requests))
        .with_state(state)
}
