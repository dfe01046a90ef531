//! `/api/v1/…`

pub mod accounts;
pub mod blocks_mutes;
pub mod bookmarks_favourites;
pub mod follow_requests;
pub mod instance;
pub mod misc;
pub mod notifications;
pub mod statuses;
pub mod timelines;

use axum::Router;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(accounts::routes())
        .merge(blocks_mutes::routes())
        .merge(bookmarks_favourites::routes())
        .merge(follow_requests::routes())
        .merge(instance::routes())
        .merge(misc::routes())
        .merge(notifications::routes())
        .merge(statuses::routes())
        .merge(timelines::routes())
}
