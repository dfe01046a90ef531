//! `GET /api/v1/timelines/home`, `/public`, `/tag/:hashtag` and `/list/:id`.
//!
//! The home timeline reads the reader's precomputed feed (fan-out on write, see
//! `fulmar_store::timelines`); the public and hashtag timelines read public statuses
//! directly. All page with `max_id`, `since_id`, `min_id` and `limit` (20, at most
//! 40) and answer with a `Link` header that keeps every other parameter.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::routing::get;
use axum::{Json, Router};
use fulmar_store::statuses::StatusRow;
use fulmar_store::timelines::{PublicFilter, TagIds};
use fulmar_store::PageParams;
use serde::Deserialize;

use crate::http::{ApiError, ApiResult};
use crate::mastodon::auth::{Auth, MaybeAuth};
use crate::mastodon::entities::Status;
use crate::mastodon::pagination::{link_header, PageQuery, STATUSES};
use crate::mastodon::params::{flex, Params};
use crate::mastodon::{status_page, RawJson};
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/timelines/home", get(home))
        .route("/api/v1/timelines/public", get(public))
        .route("/api/v1/timelines/tag/{hashtag}", get(tag))
        .route("/api/v1/timelines/list/{id}", get(list))
}

/// The parameters every timeline understands (each uses those that apply to it).
#[derive(Deserialize, Default, Debug)]
struct TimelineParams {
    #[serde(flatten)]
    page: PageQuery,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    remote: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    only_media: Option<bool>,
    #[serde(default, deserialize_with = "flex::string_list")]
    any: Vec<String>,
    #[serde(default, deserialize_with = "flex::string_list")]
    all: Vec<String>,
    #[serde(default, deserialize_with = "flex::string_list")]
    none: Vec<String>,
}

impl TimelineParams {
    fn filter(&self, viewer: Option<i64>) -> PublicFilter {
        PublicFilter {
            local: self.local.unwrap_or(false),
            remote: self.remote.unwrap_or(false),
            only_media: self.only_media.unwrap_or(false),
            viewer,
        }
    }
}

/// Renders a page of statuses with its `Link` header. The cursors come from the rows
/// the query returned, so that a status left out in conversion cannot end paging
/// early or make it skip.
async fn page_response(
    app: &App,
    uri: &Uri,
    page: &PageParams,
    rows: Vec<StatusRow>,
    viewer: Option<i64>,
) -> ApiResult<(HeaderMap, RawJson)> {
    let entries: Vec<(i64, i64)> = rows.iter().map(|r| (r.id, r.version)).collect();
    page_json(app, uri, page, &entries, rows, viewer, None).await
}

/// [`page_response`] for a page known by its statuses' ids and versions (and those
/// of its rows already read, `known`): the statuses come from the status cache and
/// only those not kept at that version are read and rendered (`status_page`).
async fn page_json(
    app: &App,
    uri: &Uri,
    page: &PageParams,
    entries: &[(i64, i64)],
    known: Vec<StatusRow>,
    viewer: Option<i64>,
    prefetched: Option<status_page::Prefetched>,
) -> ApiResult<(HeaderMap, RawJson)> {
    let headers = link_header(
        app,
        uri,
        page,
        entries.len(),
        entries.first().map(|r| r.0),
        entries.last().map(|r| r.0),
    );
    let body = status_page::statuses_json(app, entries, known, viewer, prefetched).await?;
    Ok((headers, RawJson(body)))
}

/// `GET /api/v1/timelines/home`: the reader's own statuses and those of the accounts
/// they follow, newest first. The page query reads only ids and versions.
async fn home(
    auth: Auth,
    State(app): State<App>,
    uri: Uri,
    Params(params): Params<TimelineParams>,
) -> ApiResult<(HeaderMap, RawJson)> {
    auth.require("read:statuses")?;
    let page = params.page.params(STATUSES)?;
    let viewer = auth.account_id();
    let rows = fulmar_store::timelines::home_versions(&app.db, viewer, &page).await?;
    let entries: Vec<(i64, i64)> = rows.iter().map(|e| (e.id, e.version)).collect();
    let prefetched = status_page::Prefetched::from_entries(&rows);
    page_json(
        &app,
        &uri,
        &page,
        &entries,
        Vec::new(),
        Some(viewer),
        Some(prefetched),
    )
    .await
}

/// `GET /api/v1/timelines/public`: public statuses, all or only `local` or `remote`
/// ones. Open without a token, as Mastodon's default settings allow.
async fn public(
    auth: MaybeAuth,
    State(app): State<App>,
    uri: Uri,
    Params(params): Params<TimelineParams>,
) -> ApiResult<(HeaderMap, RawJson)> {
    auth.require("read:statuses")?;
    let page = params.page.params(STATUSES)?;
    let viewer = auth.account_id();
    let rows = fulmar_store::timelines::public(&app.db, &params.filter(viewer), &page).await?;
    page_response(&app, &uri, &page, rows, viewer).await
}

/// A hashtag as typed (`#Fulmar`, `fulmar`) in its stored, normalised form.
pub fn normalize_tag(name: &str) -> String {
    name.trim().trim_start_matches('#').to_lowercase()
}

/// `GET /api/v1/timelines/tag/:hashtag`: public statuses with the hashtag, or with
/// `any[]` of more, and `all[]` and `none[]` of others.
async fn tag(
    auth: MaybeAuth,
    State(app): State<App>,
    uri: Uri,
    Path(hashtag): Path<String>,
    Params(params): Params<TimelineParams>,
) -> ApiResult<(HeaderMap, RawJson)> {
    auth.require("read:statuses")?;
    let page = params.page.params(STATUSES)?;
    let viewer = auth.account_id();
    let mut any = vec![normalize_tag(&hashtag)];
    any.extend(params.any.iter().map(|t| normalize_tag(t)));
    let all: Vec<String> = params.all.iter().map(|t| normalize_tag(t)).collect();
    let none: Vec<String> = params.none.iter().map(|t| normalize_tag(t)).collect();
    let mut names: Vec<String> = any.iter().chain(&all).chain(&none).cloned().collect();
    names.sort();
    names.dedup();
    let known = fulmar_store::timelines::tag_ids(&app.db, &names).await?;
    let id_of = |name: &String| known.iter().find(|(n, _)| n == name).map(|(_, id)| *id);
    let mut ids = TagIds {
        any: any.iter().filter_map(id_of).collect(),
        all: Vec::new(),
        none: none.iter().filter_map(id_of).collect(),
    };
    ids.any.sort_unstable();
    ids.any.dedup();
    // A required tag nobody has used yet matches nothing.
    let mut rows = Vec::new();
    if let Some(all_ids) = all.iter().map(id_of).collect::<Option<Vec<i64>>>() {
        ids.all = all_ids;
        rows =
            fulmar_store::timelines::tagged(&app.db, &ids, &params.filter(viewer), &page).await?;
    }
    page_response(&app, &uri, &page, rows, viewer).await
}

/// `GET /api/v1/timelines/list/:id`. Lists cannot be created yet, so every id is
/// unknown.
async fn list(auth: Auth, Path(_id): Path<String>) -> ApiResult<Json<Vec<Status>>> {
    auth.require("read:lists")?;
    Err(ApiError::not_found())
}
