//! `/api/v2/…`

use axum::Router;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
}
