//! One error type for the HTTP layer: each variant maps to a status and a JSON body
//! `{"error": "...", "code": "..."}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minetrace_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { message: String },
    #[error("missing or malformed Authorization header (expected `Bearer <token>`)")]
    Unauthenticated,
    #[error("token unknown or revoked")]
    BadToken,
    #[error("role {role} may not {action}")]
    Forbidden { role: String, action: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{message}")]
    Conflict { message: String, duplicates: usize },
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("server busy: correlation queue holds {depth} events (limit {limit}); retry later")]
    Busy { depth: usize, limit: usize },
    #[error("internal error: {message}")]
    Internal { message: String },
    #[error("event stream unavailable: {message}; retry later")]
    StreamUnavailable { message: String },
}

impl ApiError {
    pub fn bad(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
        }
    }

    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad-request"),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::BadToken => (StatusCode::UNAUTHORIZED, "bad-token"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::StreamUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "stream-unavailable")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what } => ApiError::NotFound { what },
            StoreError::Invalid { .. } | StoreError::TooLarge { .. } => {
                ApiError::bad(e.to_string())
            }
            StoreError::Conflict { message } => ApiError::Conflict {
                message,
                duplicates: 0,
            },
            other => ApiError::Internal {
                message: other.to_string(),
            },
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal {
            message: format!("worker task failed: {e}"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), error = %self, "request refused");
        }
        let mut body = serde_json::json!({"error": self.to_string(), "code": code});
        if let ApiError::Conflict { duplicates, .. } = &self {
            body["duplicates"] = (*duplicates).into();
        }
        let mut resp = (status, axum::Json(body)).into_response();
        if let ApiError::Busy { .. } | ApiError::StreamUnavailable { .. } = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::Unauthenticated | ApiError::BadToken = self {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// Runs blocking store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}
