//! Enrolled sources (tokens): list, create, revoke. Admin only.

use super::auth::Principal;
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::{Json, Router};
use minetrace_store::Role;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sources", get(list).post(create))
        .route("/api/v1/sources/{name}", delete(revoke))
}

async fn list(
    State(st): State<AppState>,
    who: Principal,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "list sources")?;
    let store = st.store.clone();
    let s = blocking(move || Ok(store.list_sources()?)).await?;
    Ok(Json(serde_json::json!({"sources": s})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSource {
    name: String,
    role: String,
}

async fn create(
    State(st): State<AppState>,
    who: Principal,
    Json(n): Json<NewSource>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "enrol sources")?;
    let role =
        Role::parse(&n.role).ok_or_else(|| ApiError::bad("role is sensor, agent or admin"))?;
    let store = st.store.clone();
    let (s, token) = blocking(move || Ok(store.create_source(&n.name, role)?)).await?;
    Ok(Json(serde_json::json!({"source": s, "token": token})))
}

async fn revoke(
    State(st): State<AppState>,
    who: Principal,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(&[Role::Admin], "revoke sources")?;
    let store = st.store.clone();
    let n2 = name.clone();
    if blocking(move || Ok(store.revoke_source(&n2)?)).await? {
        Ok(Json(serde_json::json!({"revoked": name})))
    } else {
        Err(ApiError::NotFound {
            what: format!("active source {name:?}"),
        })
    }
}
