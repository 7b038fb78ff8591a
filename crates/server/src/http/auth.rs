//! Bearer-token authentication: `Authorization: Bearer <token>` -> the enrolled source and its
//! role. (Console users and sessions build on this principal later.)

use crate::error::{blocking, ApiError};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use minetrace_store::{Role, Source};

#[derive(Debug, Clone)]
pub struct Principal(pub Source);

impl Principal {
    pub fn require(&self, roles: &[Role], action: &str) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                role: self.0.role.as_str().into(),
                action: action.into(),
            })
        }
    }
    pub fn name(&self) -> &str {
        &self.0.name
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or(ApiError::Unauthenticated)?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or(ApiError::Unauthenticated)?
            .to_string();
        let store = state.store.clone();
        let source = blocking(move || Ok(store.authenticate(&token)?)).await?;
        match source {
            Some(s) => Ok(Principal(s)),
            None => {
                crate::metrics::Metrics::add(&state.metrics.requests_rejected, 1);
                Err(ApiError::BadToken)
            }
        }
    }
}
