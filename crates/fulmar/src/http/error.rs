//! The HTTP layer's one error type, and the one place where errors become status
//! codes. Bodies are always JSON (`{"error": "..."}`), as Mastodon clients and
//! ActivityPub peers expect; internal details are logged, never sent.

use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::core::CoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: Cow<'static, str>,
    pub description: Option<Cow<'static, str>>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            description: None,
        }
    }

    pub fn bad_request(error: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, error)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Record not found")
    }

    pub fn not_acceptable(error: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::NOT_ACCEPTABLE, error)
    }

    pub fn unprocessable(error: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, error)
    }

    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> ApiError {
        self.description = Some(description.into());
        self
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        match e {
            CoreError::NotFound => ApiError::not_found(),
            CoreError::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                "This action is outside the authorized scopes",
            ),
            CoreError::Invalid(m) => ApiError::unprocessable(format!("Validation failed: {m}")),
            CoreError::Conflict(m) => ApiError::unprocessable(format!("Validation failed: {m}")),
            CoreError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

impl From<fulmar_store::StoreError> for ApiError {
    fn from(e: fulmar_store::StoreError) -> ApiError {
        CoreError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.description {
            Some(d) => json!({ "error": self.error, "error_description": d }),
            None => json!({ "error": self.error }),
        };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
