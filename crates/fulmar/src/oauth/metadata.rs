//! `GET /.well-known/oauth-authorization-server`: OAuth 2.0 Authorization Server
//! Metadata (RFC 8414), with the fields Mastodon 4.3 publishes.
//!
//! Clients decide from it: Phanpy uses PKCE only when `S256` is listed, and
//! Mastodon.py uses the password grant only when `password` is listed (and refuses
//! `http://` endpoints here unless told `allow_http`).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::core::scopes::KNOWN;
use crate::state::App;

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub service_documentation: &'static str,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub app_registration_endpoint: String,
    pub revocation_endpoint: String,
    pub scopes_supported: &'static [&'static str],
    pub response_types_supported: [&'static str; 1],
    pub response_modes_supported: [&'static str; 3],
    pub code_challenge_methods_supported: [&'static str; 1],
    pub grant_types_supported: [&'static str; 3],
    pub token_endpoint_auth_methods_supported: [&'static str; 2],
}

pub fn metadata(app: &App) -> Metadata {
    let base = app.urls.base();
    Metadata {
        // Mastodon's issuer is its root URL, with the trailing slash.
        issuer: format!("{base}/"),
        service_documentation: "https://docs.joinmastodon.org/",
        authorization_endpoint: format!("{base}/oauth/authorize"),
        token_endpoint: format!("{base}/oauth/token"),
        app_registration_endpoint: format!("{base}/api/v1/apps"),
        revocation_endpoint: format!("{base}/oauth/revoke"),
        scopes_supported: KNOWN,
        response_types_supported: ["code"],
        response_modes_supported: ["query", "fragment", "form_post"],
        code_challenge_methods_supported: ["S256"],
        grant_types_supported: ["authorization_code", "password", "client_credentials"],
        token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    }
}

pub async fn show(State(app): State<App>) -> Response {
    let mut res = Json(metadata(&app)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=900"),
    );
    res
}
