//! The HTTP surface: one router for the Mastodon API, ActivityPub, OAuth and the web
//! pages, and the middleware every request passes through.

pub mod error;
pub mod negotiate;
pub mod rate_limit;

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::state::App;
use crate::{activitypub, mastodon, oauth, web};

pub use error::{ApiError, ApiResult};

/// The longest query string or path accepted. Real clients and servers stay far
/// below; anything longer is an attack or a bug, and is refused before routing.
pub const MAX_URI_PART: usize = 4096;
/// Request bodies are capped at 1 MB except where a route says otherwise (media).
pub const MAX_BODY: usize = 1024 * 1024;

/// Builds the whole router.
pub fn router(app: App) -> Router {
    let mut router = Router::new()
        .route("/health", get(health))
        .merge(activitypub::routes())
        .merge(web::routes())
        .merge(mastodon::routes())
        .merge(oauth::routes())
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(middleware::from_fn(json_errors));
    // Inside CORS, so that preflights are not counted and a 429 still carries CORS
    // headers a browser app can read.
    if let Some(limiter) = rate_limit::RateLimiter::new(app.config.rate_limit) {
        router = router.layer(middleware::from_fn_with_state(limiter, rate_limit::limit));
    }
    router
        .layer(cors())
        .layer(middleware::from_fn(limit_uri))
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}

/// Turns error responses that are not JSON into `{"error": ...}` bodies. Fulmar's own
/// handlers always answer errors through `ApiError`, but axum's extractors (a wrong
/// method, a query string that does not parse) and tower-http's body limit answer in
/// plain text or with an empty body; clients and peers expect JSON everywhere. HTML
/// error pages (the OAuth sign-in page) are left alone, and the original text, which
/// says what was wrong, becomes the message.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.contains("json") || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text
    };
    let mut fixed = ApiError::new(status, message).into_response();
    // Keep headers such as `Allow` (405) and `Retry-After`.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fixed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fixed
}

/// `GET /health`: 200 when the database answers, 503 otherwise.
async fn health(State(app): State<App>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), app.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "OK").into_response(),
        _ => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable").into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// CORS as Mastodon allows it: any origin may call the API, the OAuth token endpoint
/// and the well-known documents, with the headers clients need to send and read.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::LINK,
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(Duration::from_secs(24 * 60 * 60))
}

/// Refuses absurdly long paths and query strings with a JSON 414.
async fn limit_uri(req: Request, next: Next) -> Response {
    let uri = req.uri();
    if uri.path().len() > MAX_URI_PART || uri.query().is_some_and(|q| q.len() > MAX_URI_PART) {
        return ApiError::new(StatusCode::URI_TOO_LONG, "Request URI is too long").into_response();
    }
    next.run(req).await
}

/// One log line per request: method, path, status and latency.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "fulmar::http",
        %method,
        path = %path,
        status,
        latency_ms = format_args!("{latency_ms:.2}"),
        "request"
    );
    response
}
