//! The public profile page of a local account.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use fulmar_store::accounts::AccountRow;

use super::{escape, layout};
use crate::http::negotiate::{negotiate, Format};
use crate::http::{ApiError, ApiResult};
use crate::state::App;

/// `GET /@NAME`. A server that asks this URL for ActivityPub is sent to the actor.
pub async fn profile(
    State(app): State<App>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let account = fulmar_store::accounts::local_by_username(&app.db, &username)
        .await?
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    match negotiate(&headers) {
        Some(Format::ActivityJson) => Ok((
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, app.urls.actor(&account.username))],
        )
            .into_response()),
        _ => Ok(page(&app, &account).into_response()),
    }
}

/// Renders the profile page. The note is HTML that was sanitised when it was stored.
pub fn page(app: &App, account: &AccountRow) -> Html<String> {
    let handle = format!("@{}@{}", account.username, app.urls.domain());
    let display = if account.display_name.is_empty() {
        account.username.as_str()
    } else {
        account.display_name.as_str()
    };
    let head = format!(
        "<link rel=\"alternate\" type=\"application/activity+json\" href=\"{uri}\">\n\
         <meta property=\"og:title\" content=\"{title}\">\n\
         <meta property=\"profile:username\" content=\"{handle}\">",
        uri = escape(&app.urls.actor(&account.username)),
        title = escape(&format!("{display} ({handle})")),
        handle = escape(&handle[1..]),
    );
    let body = format!(
        "<main class=\"h-card\">\n<h1 class=\"p-name\">{display}</h1>\n\
         <p class=\"handle\"><a class=\"u-url\" href=\"{url}\">{handle}</a></p>\n\
         <div class=\"p-note\">{note}</div>\n\
         <p>{statuses} posts · {following} following · {followers} followers</p>\n</main>",
        display = escape(display),
        url = escape(&app.urls.profile(&account.username)),
        handle = escape(&handle),
        note = account.note,
        statuses = account.statuses_count,
        following = account.following_count,
        followers = account.followers_count,
    );
    layout(&format!("{display} ({handle})"), &head, &body)
}
