//! OAuth 2 as Mastodon implements it: app registration, the sign-in and consent
//! page, tokens, revocation and the server metadata document.

use axum::Router;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
}
