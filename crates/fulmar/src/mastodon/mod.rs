//! The Mastodon client API. Handlers authenticate, parse parameters, call the domain
//! services in `core` and render entities with `to_mastodon`. Nothing here builds or
//! reads ActivityPub JSON.

pub mod account_cache;
pub mod auth;
pub mod entities;
pub mod pagination;
pub mod params;
pub mod to_mastodon;
pub mod v1;
pub mod v2;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Serialize;

use crate::http::ApiError;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new().merge(v1::routes()).merge(v2::routes())
}

/// A JSON array of entities as a response, written into a buffer sized for it up
/// front. axum's `Json` starts with 128 bytes and doubles; a page of forty statuses
/// is about 70 kB, so it was copied ten times over while it was written.
pub struct JsonList<T>(pub Vec<T>);

/// About the size of one status as JSON, with its author.
const BYTES_PER_ENTITY: usize = 2048;

impl<T: Serialize> IntoResponse for JsonList<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(2 + self.0.len() * BYTES_PER_ENTITY);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => ApiError::from(crate::core::CoreError::Internal(e.into())).into_response(),
        }
    }
}
