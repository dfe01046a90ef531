//! OAuth 2 as Mastodon implements it: app registration, the sign-in and consent
//! page, tokens, revocation and the server metadata document.
//!
//! - [`apps`]: `POST /api/v1/apps`, `GET /api/v1/apps/verify_credentials`.
//! - [`authorize`]: `GET`/`POST /oauth/authorize`, the HTML sign-in and consent page.
//! - [`token`]: `POST /oauth/token`, `POST /oauth/revoke`.
//! - [`metadata`]: `GET /.well-known/oauth-authorization-server` (RFC 8414).
//! - [`grants`]: what the endpoints decide (registration, codes, tokens, sign-in),
//!   without HTTP.
//!
//! No session cookie exists: every authorization asks for the password again, so
//! Mastodon's `force_login` is always in effect.

pub mod apps;
pub mod authorize;
pub mod csrf;
pub mod grants;
pub mod metadata;
pub mod redirect_uri;
pub mod token;

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::state::App;

/// The redirect URI that asks for the code to be shown instead of sent.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/apps", post(apps::create))
        .route(
            "/api/v1/apps/verify_credentials",
            get(apps::verify_credentials),
        )
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::decide),
        )
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(token::revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::show),
        )
}

/// An error of the token and revocation endpoints, as RFC 6749 section 5.2 shapes
/// it: `{"error": code, "error_description": text}`. Mastodon's descriptions are
/// Doorkeeper's; clients show them, and Elk re-registers on `invalid_client`.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: Cow<'static, str>,
}

impl OAuthError {
    pub fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
        )
    }

    pub fn invalid_grant() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        )
    }

    pub fn invalid_scope() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
        )
    }

    pub fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        )
    }

    pub fn unauthorized_client() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "You are not authorized to revoke this token",
        )
    }

    pub fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The authorization server encountered an unexpected condition which prevented it from fulfilling the request.",
        )
    }
}

impl From<crate::core::CoreError> for OAuthError {
    fn from(e: crate::core::CoreError) -> Self {
        tracing::error!(error = %e, "OAuth endpoint failed");
        OAuthError::server_error()
    }
}

impl From<fulmar_store::StoreError> for OAuthError {
    fn from(e: fulmar_store::StoreError) -> Self {
        crate::core::CoreError::from(e).into()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // RFC 6749 section 5.2: a 401 names the authentication scheme the client may
        // use.
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"OAuth\""),
            );
        }
        res
    }
}
