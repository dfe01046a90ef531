//! `/api/v1/follow_requests`: the requests waiting for a locked account's answer.

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::accounts::{find_account, listed_accounts};
use crate::core::follows;
use crate::http::ApiResult;
use crate::mastodon::auth::Auth;
use crate::mastodon::entities::Relationship;
use crate::mastodon::pagination::{self, PageQuery};
use crate::mastodon::params::Params;
use crate::mastodon::to_mastodon;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/follow_requests", get(index))
        .route("/api/v1/follow_requests/{id}/authorize", post(authorize))
        .route("/api/v1/follow_requests/{id}/reject", post(reject))
}

#[derive(Deserialize)]
struct PageOnly {
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /api/v1/follow_requests`: the accounts asking to follow, newest first.
async fn index(
    State(app): State<App>,
    auth: Auth,
    uri: Uri,
    Params(q): Params<PageOnly>,
) -> ApiResult<Response> {
    auth.require("read:follows")?;
    let page = q.page.params(pagination::ACCOUNTS)?;
    let rows = fulmar_store::relationships::requests_to(&app.db, auth.account_id(), &page).await?;
    Ok(listed_accounts(&app, &uri, &page, &rows, |r| {
        to_mastodon::account(&app.urls, &r.account)
    }))
}

/// `POST /api/v1/follow_requests/:account_id/authorize`
async fn authorize(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Relationship>> {
    auth.require("write:follows")?;
    let requester = find_account(&app, &id).await?;
    follows::authorize(&app.db, &auth.account, &requester).await?;
    Ok(Json(
        to_mastodon::relationship(&app, auth.account_id(), requester.id).await?,
    ))
}

/// `POST /api/v1/follow_requests/:account_id/reject`
async fn reject(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Relationship>> {
    auth.require("write:follows")?;
    let requester = find_account(&app, &id).await?;
    follows::reject(&app.db, &auth.account, &requester).await?;
    Ok(Json(
        to_mastodon::relationship(&app, auth.account_id(), requester.id).await?,
    ))
}
