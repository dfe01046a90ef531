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

use axum::Router;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new().merge(v1::routes()).merge(v2::routes())
}
