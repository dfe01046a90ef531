//! The Mastodon client API. Handlers authenticate, parse parameters, call the domain
//! services in `core` and render entities with `to_mastodon`. Nothing here builds or
//! reads ActivityPub JSON.

pub mod account_cache;
pub mod auth;
pub mod entities;
pub mod pagination;
pub mod params;
pub mod status_cache;
pub mod status_page;
pub mod to_mastodon;
pub mod v1;
pub mod v2;

use crate::state::App;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Router;

pub fn routes() -> Router<App> {
    Router::new().merge(v1::routes()).merge(v2::routes())
}

/// A JSON body written beforehand: a page of statuses spliced from the JSON that
/// `status_cache` keeps (`status_page`), sized for its content as it was written.
pub struct RawJson(pub Vec<u8>);

impl IntoResponse for RawJson {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}
