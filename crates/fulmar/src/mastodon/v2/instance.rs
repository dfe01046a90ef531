//! Placeholder: routes are added by the work on this resource.

use axum::Router;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
}
