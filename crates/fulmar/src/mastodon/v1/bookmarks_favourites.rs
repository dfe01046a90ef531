//! `GET /api/v1/favourites` and `GET /api/v1/bookmarks`: the statuses a user saved,
//! newest saved first, paged by the id of the favourite or bookmark (not of the
//! status), as Mastodon does.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::routing::get;
use axum::{Json, Router};

use crate::core::statuses;
use crate::http::ApiResult;
use crate::mastodon::auth::Auth;
use crate::mastodon::entities::Status;
use crate::mastodon::pagination::{self, link_header, PageQuery};
use crate::mastodon::params::Params;
use crate::mastodon::to_mastodon;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/favourites", get(favourites))
        .route("/api/v1/bookmarks", get(bookmarks))
}

/// `GET /api/v1/favourites`
async fn favourites(
    State(app): State<App>,
    auth: Auth,
    uri: Uri,
    Params(q): Params<PageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<Status>>)> {
    auth.require("read:favourites")?;
    saved(app, auth, uri, q, false).await
}

/// `GET /api/v1/bookmarks`
async fn bookmarks(
    State(app): State<App>,
    auth: Auth,
    uri: Uri,
    Params(q): Params<PageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<Status>>)> {
    auth.require("read:bookmarks")?;
    saved(app, auth, uri, q, true).await
}

async fn saved(
    app: App,
    auth: Auth,
    uri: Uri,
    q: PageQuery,
    bookmarks: bool,
) -> ApiResult<(HeaderMap, Json<Vec<Status>>)> {
    let page = q.params(pagination::STATUSES)?;
    let viewer = auth.account_id();
    let saved = statuses::saved(&app.db, viewer, bookmarks, &page).await?;
    let headers = link_header(
        &app,
        &uri,
        &page,
        saved.raw_count,
        saved.first_cursor,
        saved.last_cursor,
    );
    let list: Vec<_> = saved.items.into_iter().map(|(_, row)| row).collect();
    Ok((
        headers,
        Json(to_mastodon::statuses(&app, &list, Some(viewer)).await?),
    ))
}
