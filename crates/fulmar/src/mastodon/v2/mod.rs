//! `/api/v2/…`

pub mod instance;
pub mod search;

use axum::Router;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(instance::routes())
        .merge(search::routes())
}
