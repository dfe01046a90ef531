//! An actor's collections: outbox, followers, following, featured and featured tags.
//!
//! `GET …/followers` answers with an `OrderedCollection` that names its size and its
//! first page; `GET …/followers?page=true` is that first page, and each page links
//! to the next with `max_id` (older) and to the previous with `min_id` (newer), the
//! scheme Mastodon uses and GoToSocial and Mastodon 4.4+ follow when they backfill.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use fulmar_federation::collection::{OrderedCollection, OrderedCollectionPage};
use fulmar_store::accounts::AccountRow;
use fulmar_store::collections::{self as store, UriItem};
use fulmar_store::PageParams;
use serde::Deserialize;
use serde_json::Value;

use super::{to_activitypub, ActivityJson};
use crate::core::ids::parse_id;
use crate::http::{ApiError, ApiResult};
use crate::state::App;

/// Items per collection page, as in Mastodon's outbox.
pub const PAGE_SIZE: i64 = 20;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    page: Option<String>,
    max_id: Option<String>,
    min_id: Option<String>,
}

impl PageQuery {
    /// `None` for the collection itself, or the page asked for. Cursors that are not
    /// ids are a client error, not an empty page.
    fn page(&self) -> ApiResult<Option<PageParams>> {
        let is_page = self.page.is_some() || self.max_id.is_some() || self.min_id.is_some();
        if !is_page {
            return Ok(None);
        }
        let cursor = |v: &Option<String>, name: &str| -> ApiResult<Option<i64>> {
            match v.as_deref() {
                None | Some("") => Ok(None),
                Some(text) => parse_id(text)
                    .map(Some)
                    .ok_or_else(|| ApiError::bad_request(format!("{name} must be a decimal id"))),
            }
        };
        Ok(Some(PageParams {
            max_id: cursor(&self.max_id, "max_id")?,
            min_id: cursor(&self.min_id, "min_id")?,
            since_id: None,
            // One more than a page tells whether another page exists.
            limit: PAGE_SIZE + 1,
        }))
    }
}

/// The collection itself, without items: its size and where its first page is.
fn collection_root(id: &str, total: i64) -> Response {
    ActivityJson(OrderedCollection::new(
        id.to_owned(),
        total,
        format!("{id}?page=true"),
        None,
    ))
    .into_response()
}

/// Builds the collection or the requested page from rows that carry a cursor.
fn respond<T>(
    id: &str,
    total: i64,
    page: Option<PageParams>,
    rows: Vec<T>,
    cursor: impl Fn(&T) -> i64,
    item: impl Fn(&T) -> Value,
) -> Response {
    let Some(page) = page else {
        return collection_root(id, total);
    };
    let mut rows = rows;
    let has_more = rows.len() as i64 > PAGE_SIZE;
    if has_more {
        // Descending pages drop the oldest extra row; ascending (min_id) pages were
        // reversed after fetching, so their extra row is the newest, at the front.
        if page.ascending() {
            rows.remove(0);
        } else {
            rows.truncate(PAGE_SIZE as usize);
        }
    }
    let first = rows.first().map(&cursor);
    let last = rows.last().map(&cursor);
    let next = match last {
        // Going down, more rows mean another page; a min_id page always has older
        // rows below it (the ones it was anchored on).
        Some(last) if has_more || page.ascending() => Some(format!("{id}?page=true&max_id={last}")),
        _ => None,
    };
    let prev = match first {
        Some(first) if page.max_id.is_some() || (page.ascending() && has_more) => {
            Some(format!("{id}?page=true&min_id={first}"))
        }
        _ => None,
    };
    let mut page_id = format!("{id}?page=true");
    if let Some(max) = page.max_id {
        page_id.push_str(&format!("&max_id={max}"));
    }
    if let Some(min) = page.min_id {
        page_id.push_str(&format!("&min_id={min}"));
    }
    ActivityJson(OrderedCollectionPage::new(
        page_id,
        id.to_owned(),
        total,
        rows.iter().map(item).collect(),
        next,
        prev,
    ))
    .into_response()
}

async fn account(app: &App, username: &str) -> ApiResult<AccountRow> {
    fulmar_store::accounts::local_by_username(&app.db, username)
        .await?
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)
}

/// The URL of a collection item: local actors and statuses are built from the
/// configuration (an architecture invariant), remote ones are their stored URIs.
fn uri_item(urls: &crate::core::urls::Urls, item: &UriItem) -> Value {
    Value::String(match (item.local, item.status_id) {
        (true, Some(status_id)) => urls.status(&item.username, status_id),
        (true, None) => urls.actor(&item.username),
        (false, _) => item.uri.clone(),
    })
}

/// `GET /users/NAME/followers`. Accounts that hide their network show only the
/// count, as in Mastodon.
pub async fn followers(
    State(app): State<App>,
    Path(username): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let account = account(&app, &username).await?;
    let page = q.page()?;
    let total = store::followers_count(&app.db, account.id).await?;
    let rows = match page {
        Some(p) if !account.hide_collections => store::followers(&app.db, account.id, &p).await?,
        _ => Vec::new(),
    };
    let id = app.urls.followers(&account.username);
    Ok(respond(
        &id,
        total,
        page,
        rows,
        |r| r.cursor,
        |r| uri_item(&app.urls, r),
    ))
}

/// `GET /users/NAME/following`.
pub async fn following(
    State(app): State<App>,
    Path(username): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let account = account(&app, &username).await?;
    let page = q.page()?;
    let total = store::following_count(&app.db, account.id).await?;
    let rows = match page {
        Some(p) if !account.hide_collections => store::following(&app.db, account.id, &p).await?,
        _ => Vec::new(),
    };
    let id = app.urls.following(&account.username);
    Ok(respond(
        &id,
        total,
        page,
        rows,
        |r| r.cursor,
        |r| uri_item(&app.urls, r),
    ))
}

/// `GET /users/NAME/collections/featured`: pinned public and unlisted statuses.
pub async fn featured(
    State(app): State<App>,
    Path(username): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let account = account(&app, &username).await?;
    let page = q.page()?;
    let total = store::featured_count(&app.db, account.id).await?;
    let rows = match page {
        Some(p) => store::featured(&app.db, account.id, &p).await?,
        None => Vec::new(),
    };
    let id = app.urls.featured(&account.username);
    Ok(respond(
        &id,
        total,
        page,
        rows,
        |r| r.cursor,
        |r| uri_item(&app.urls, r),
    ))
}

/// `GET /users/NAME/collections/tags`: featured hashtags (none until profiles can
/// feature them).
pub async fn featured_tags(
    State(app): State<App>,
    Path(username): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let account = account(&app, &username).await?;
    let page = q.page()?;
    let id = app.urls.featured_tags(&account.username);
    Ok(respond(
        &id,
        0,
        page,
        Vec::<UriItem>::new(),
        |r| r.cursor,
        |r| uri_item(&app.urls, r),
    ))
}

/// `GET /users/NAME/outbox`: public and unlisted statuses as `Create` activities and
/// reblogs as `Announce`, newest first.
pub async fn outbox(
    State(app): State<App>,
    Path(username): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let account = account(&app, &username).await?;
    let page = q.page()?;
    let total = store::outbox_count(&app.db, account.id).await?;
    let rows = match page {
        Some(p) => store::outbox(&app.db, account.id, &p).await?,
        None => Vec::new(),
    };
    // Reblogs point at the reblogged status by URI.
    let mut reblogged = std::collections::HashMap::new();
    for row in &rows {
        if let Some(of) = row.reblog_of_id {
            if let Some(original) = fulmar_store::statuses::by_id(&app.db, of).await? {
                let uri = if original.local {
                    match fulmar_store::accounts::by_id(&app.db, original.account_id).await? {
                        Some(author) => app.urls.status(&author.username, original.id),
                        None => continue,
                    }
                } else {
                    original.uri
                };
                reblogged.insert(of, uri);
            }
        }
    }
    let id = app.urls.outbox(&account.username);
    let urls = app.urls.clone();
    Ok(respond(
        &id,
        total,
        page,
        rows,
        |r| r.id,
        |r| {
            let object = r
                .reblog_of_id
                .and_then(|of| reblogged.get(&of))
                .map(String::as_str);
            to_activitypub::outbox_item(r, &account, object, &urls)
        },
    ))
}

/// `GET /actor/outbox`: the instance actor publishes nothing.
pub async fn instance_outbox(
    State(app): State<App>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let page = q.page()?;
    let id = format!("{}/outbox", app.urls.instance_actor());
    Ok(respond(
        &id,
        0,
        page,
        Vec::<UriItem>::new(),
        |r| r.cursor,
        |r| uri_item(&app.urls, r),
    ))
}

/// How deep and how large a served thread may be; larger threads are cut, newest
/// last.
const THREAD_DEPTH: i64 = 100;
const THREAD_ITEMS: i64 = 2000;

/// A local status by a local account that anyone may see, for its thread
/// collections: deleted, private and direct statuses have none (404).
async fn public_status(
    app: &App,
    username: &str,
    id: &str,
) -> ApiResult<(AccountRow, fulmar_store::statuses::StatusRow)> {
    let account = account(app, username).await?;
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    let status = fulmar_store::statuses::by_id(&app.db, id)
        .await?
        .filter(|s| {
            s.account_id == account.id
                && s.local
                && s.deleted_at.is_none()
                && s.reblog_of_id.is_none()
                && (s.visibility == "public" || s.visibility == "unlisted")
        })
        .ok_or_else(ApiError::not_found)?;
    Ok((account, status))
}

/// Builds an oldest-first collection or page, paged forward with `min_id` as
/// Mastodon pages its `replies` (FEP-f228 asks for oldest first). `rows` holds the
/// items after the cursor, one more than a page when there are more.
fn respond_ascending(
    id: &str,
    total: i64,
    page: Option<PageParams>,
    mut rows: Vec<UriItem>,
    urls: &crate::core::urls::Urls,
) -> Response {
    let Some(page) = page else {
        return collection_root(id, total);
    };
    let has_more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next = match rows.last() {
        Some(last) if has_more => Some(format!("{id}?page=true&min_id={}", last.cursor)),
        _ => None,
    };
    let mut page_id = format!("{id}?page=true");
    if let Some(min) = page.min_id {
        page_id.push_str(&format!("&min_id={min}"));
    }
    ActivityJson(OrderedCollectionPage::new(
        page_id,
        id.to_owned(),
        total,
        rows.iter().map(|r| uri_item(urls, r)).collect(),
        next,
        None,
    ))
    .into_response()
}

/// `GET /users/NAME/statuses/ID/replies`: the public and unlisted replies to a status,
/// from here and elsewhere, oldest first.
pub async fn replies(
    State(app): State<App>,
    Path((username, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let (account, status) = public_status(&app, &username, &id).await?;
    let page = q.page()?;
    let total = fulmar_store::threads::replies_count(&app.db, status.id).await?;
    let rows = match &page {
        Some(p) => {
            fulmar_store::threads::replies(&app.db, status.id, p.min_id, PAGE_SIZE + 1).await?
        }
        None => Vec::new(),
    };
    let id = format!("{}/replies", app.urls.status(&account.username, status.id));
    Ok(respond_ascending(&id, total, page, rows, &app.urls))
}

/// `GET /users/NAME/statuses/ID/context`: the FEP-7888 context collection of the
/// thread the status belongs to: every public and unlisted status known here from
/// the root-most known one down, oldest first.
pub async fn context(
    State(app): State<App>,
    Path((username, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let (account, status) = public_status(&app, &username, &id).await?;
    let page = q.page()?;
    let root = fulmar_store::threads::root_of(&app.db, status.id, THREAD_DEPTH).await?;
    let all =
        fulmar_store::threads::thread_items(&app.db, root, THREAD_DEPTH, THREAD_ITEMS).await?;
    let total = all.len() as i64;
    let rows: Vec<UriItem> = match &page {
        Some(p) => all
            .into_iter()
            .filter(|r| p.min_id.is_none_or(|min| r.cursor > min))
            .take(PAGE_SIZE as usize + 1)
            .collect(),
        None => Vec::new(),
    };
    let id = format!("{}/context", app.urls.status(&account.username, status.id));
    Ok(respond_ascending(&id, total, page, rows, &app.urls))
}
