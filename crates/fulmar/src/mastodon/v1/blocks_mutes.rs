//! `/api/v1/blocks` and `/api/v1/mutes`: the accounts a user blocks or mutes.

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use super::accounts::listed_accounts;
use crate::core::time::{now_ms, rfc3339_ms};
use crate::http::ApiResult;
use crate::mastodon::auth::Auth;
use crate::mastodon::entities::Account;
use crate::mastodon::pagination::{self, PageQuery};
use crate::mastodon::params::Params;
use crate::mastodon::to_mastodon;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/blocks", get(blocks))
        .route("/api/v1/mutes", get(mutes))
}

#[derive(Deserialize)]
struct PageOnly {
    #[serde(flatten)]
    page: PageQuery,
}

/// An account in the mutes list carries when its mute ends, as in Mastodon.
#[derive(Serialize)]
struct MutedAccount {
    #[serde(flatten)]
    account: Account,
    mute_expires_at: Option<String>,
}

/// `GET /api/v1/blocks`
async fn blocks(
    State(app): State<App>,
    auth: Auth,
    uri: Uri,
    Params(q): Params<PageOnly>,
) -> ApiResult<Response> {
    auth.require("read:blocks")?;
    let page = q.page.params(pagination::ACCOUNTS)?;
    let rows = fulmar_store::relationships::blocked_by(&app.db, auth.account_id(), &page).await?;
    Ok(listed_accounts(&app, &uri, &page, &rows, |r| {
        to_mastodon::account(&app.urls, &r.account)
    }))
}

/// `GET /api/v1/mutes`
async fn mutes(
    State(app): State<App>,
    auth: Auth,
    uri: Uri,
    Params(q): Params<PageOnly>,
) -> ApiResult<Response> {
    auth.require("read:mutes")?;
    let page = q.page.params(pagination::ACCOUNTS)?;
    let rows =
        fulmar_store::relationships::muted_by(&app.db, auth.account_id(), &page, now_ms()).await?;
    Ok(listed_accounts(&app, &uri, &page, &rows, |r| {
        MutedAccount {
            account: to_mastodon::account(&app.urls, &r.account),
            mute_expires_at: r.expires_at.map(rfc3339_ms),
        }
    }))
}
