//! `/api/v1/accounts/…`: profiles, the signed-in user's credentials, account
//! statuses, followers and following, relationships, and the follow, block and mute
//! actions.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use fulmar_store::accounts::AccountRow;
use fulmar_store::relationships::ListedAccount;
use fulmar_store::PageParams;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::core::follows::{self, FollowParams};
use crate::core::ids::parse_id;
use crate::core::profile::{self, ProfileChanges};
use crate::core::CoreError;
use crate::http::{ApiError, ApiResult};
use crate::mastodon::auth::{Auth, MaybeAuth};
use crate::mastodon::entities::{Account, Relationship, Status};
use crate::mastodon::pagination::{self, link_header, PageQuery};
use crate::mastodon::params::{flex, Params};
use crate::mastodon::to_mastodon;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/api/v1/accounts/verify_credentials",
            get(verify_credentials),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            patch(update_credentials).put(update_credentials),
        )
        .route("/api/v1/accounts/relationships", get(relationships))
        .route("/api/v1/accounts/lookup", get(lookup))
        .route("/api/v1/accounts/search", get(search))
        .route(
            "/api/v1/accounts/familiar_followers",
            get(familiar_followers),
        )
        .route("/api/v1/accounts/{id}", get(show))
        .route("/api/v1/accounts/{id}/statuses", get(statuses))
        .route("/api/v1/accounts/{id}/followers", get(followers))
        .route("/api/v1/accounts/{id}/following", get(following))
        .route("/api/v1/accounts/{id}/follow", post(follow))
        .route("/api/v1/accounts/{id}/unfollow", post(unfollow))
        .route(
            "/api/v1/accounts/{id}/remove_from_followers",
            post(remove_from_followers),
        )
        .route("/api/v1/accounts/{id}/block", post(block))
        .route("/api/v1/accounts/{id}/unblock", post(unblock))
        .route("/api/v1/accounts/{id}/mute", post(mute))
        .route("/api/v1/accounts/{id}/unmute", post(unmute))
        .route("/api/v1/accounts/{id}/note", post(note))
        .route("/api/v1/accounts/{id}/featured_tags", get(featured_tags))
        .route("/api/v1/accounts/{id}/lists", get(lists))
}

/// The account an id in a path names; 404 for ids that are malformed or unknown.
pub(crate) async fn find_account(app: &App, id: &str) -> ApiResult<AccountRow> {
    let id = parse_id(id).ok_or_else(ApiError::not_found)?;
    fulmar_store::accounts::by_id(&app.db, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Renders a page of listed accounts with its `Link` header, which pages by the id
/// of the row that lists each account (follow, block, mute, request).
pub(crate) fn listed_accounts<T: serde::Serialize>(
    app: &App,
    uri: &Uri,
    page: &PageParams,
    rows: &[ListedAccount],
    render: impl Fn(&ListedAccount) -> T,
) -> Response {
    let headers = link_header(
        app,
        uri,
        page,
        rows.len(),
        rows.first().map(|r| r.cursor),
        rows.last().map(|r| r.cursor),
    );
    let body: Vec<T> = rows.iter().map(render).collect();
    (headers, Json(body)).into_response()
}

/// `Option<Vec<String>>`: `None` when the parameter is absent, the list otherwise.
fn opt_string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    flex::string_list(d).map(Some)
}

/// `GET /api/v1/accounts/verify_credentials`
async fn verify_credentials(State(app): State<App>, auth: Auth) -> ApiResult<Json<Account>> {
    auth.require("read:accounts")?;
    Ok(Json(
        to_mastodon::credential_account(&app, &auth.user, &auth.account).await?,
    ))
}

#[derive(Deserialize, Default)]
struct CredentialsForm {
    #[serde(default, deserialize_with = "flex::opt_string")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    note: Option<String>,
    #[serde(default, deserialize_with = "opt_object_list")]
    fields_attributes: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    locked: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    bot: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    discoverable: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    indexable: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    hide_collections: Option<bool>,
    #[serde(default)]
    source: Option<SourceForm>,
}

#[derive(Deserialize, Default)]
struct SourceForm {
    #[serde(default, deserialize_with = "flex::opt_string")]
    privacy: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    language: Option<String>,
}

fn opt_object_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Value>>, D::Error> {
    flex::object_list(d).map(Some)
}

/// A field's `name` or `value` from a form (string) or JSON (string, number, null).
fn field_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// `PATCH /api/v1/accounts/update_credentials`. Avatar and header uploads are not
/// supported yet; file parts are ignored.
async fn update_credentials(
    State(app): State<App>,
    auth: Auth,
    Params(form): Params<CredentialsForm>,
) -> ApiResult<Json<Account>> {
    auth.require("write:accounts")?;
    let source = form.source.unwrap_or_default();
    let changes = ProfileChanges {
        display_name: form.display_name,
        note: form.note,
        fields: form.fields_attributes.map(|list| {
            list.iter()
                .map(|f| (field_text(f.get("name")), field_text(f.get("value"))))
                .collect()
        }),
        locked: form.locked,
        bot: form.bot,
        discoverable: form.discoverable,
        indexable: form.indexable,
        hide_collections: form.hide_collections,
        privacy: source.privacy,
        sensitive: source.sensitive,
        language: source.language,
    };
    let account = profile::update(&app.db, &app.urls, &auth.user, &auth.account, changes).await?;
    let user = fulmar_store::users::by_id(&app.db, auth.user.id)
        .await?
        .unwrap_or(auth.user);
    Ok(Json(
        to_mastodon::credential_account(&app, &user, &account).await?,
    ))
}

/// `GET /api/v1/accounts/:id`
async fn show(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Account>> {
    auth.require("read:accounts")?;
    let account = find_account(&app, &id).await?;
    backfill_on_view(&app, &auth, &account).await;
    Ok(Json(to_mastodon::account(&app.urls, &account)))
}

/// A signed-in user opening a remote profile (or its first page of statuses) has its
/// recent posts fetched in the background, at most once per cooldown. A failure to
/// queue the job does not fail the request: the profile is shown with what is known.
async fn backfill_on_view(app: &App, auth: &MaybeAuth, account: &AccountRow) {
    if auth.account_id().is_none() || account.is_local() {
        return;
    }
    if let Err(e) = crate::worker::backfill::request(
        app,
        account,
        crate::worker::backfill::Reason::Profile,
        None,
    )
    .await
    {
        tracing::warn!(account = %account.uri, "queueing a backfill: {e}");
    }
}

#[derive(Deserialize)]
struct StatusesQuery {
    #[serde(flatten)]
    page: PageQuery,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    only_media: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    exclude_replies: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    exclude_reblogs: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pinned: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    tagged: Option<String>,
}

/// `GET /api/v1/accounts/:id/statuses`
async fn statuses(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    uri: Uri,
    Params(q): Params<StatusesQuery>,
) -> ApiResult<Response> {
    auth.require("read:statuses")?;
    let account = find_account(&app, &id).await?;
    let page = q.page.params(pagination::STATUSES)?;
    if page.max_id.is_none() && page.min_id.is_none() && page.since_id.is_none() {
        backfill_on_view(&app, &auth, &account).await;
    }
    let viewer = auth.account_id();
    let tagged = q
        .tagged
        .map(|t| t.trim().trim_start_matches('#').to_owned())
        .filter(|t| !t.is_empty());
    let options = follows::StatusListOptions {
        pinned: q.pinned.unwrap_or(false),
        only_media: q.only_media.unwrap_or(false),
        exclude_replies: q.exclude_replies.unwrap_or(false),
        exclude_reblogs: q.exclude_reblogs.unwrap_or(false),
        tagged,
    };
    let rows = follows::account_statuses(&app.db, &account, viewer, options, &page).await?;
    let entities: Vec<Status> = to_mastodon::statuses(&app, &rows, viewer).await?;
    // The cursors come from the rows, so a status left out in conversion does not
    // end the paging early.
    let headers = link_header(
        &app,
        &uri,
        &page,
        rows.len(),
        rows.first().map(|s| s.id),
        rows.last().map(|s| s.id),
    );
    Ok((headers, Json(entities)).into_response())
}

#[derive(Deserialize)]
struct PageOnly {
    #[serde(flatten)]
    page: PageQuery,
}

/// Followers and following are hidden from others when the account hides its
/// collections, and from the accounts it blocks.
async fn collection_hidden(
    app: &App,
    account: &AccountRow,
    viewer: Option<i64>,
) -> ApiResult<bool> {
    if viewer == Some(account.id) {
        return Ok(false);
    }
    if account.hide_collections {
        return Ok(true);
    }
    Ok(match viewer {
        Some(v) => fulmar_store::relationships::blocks(&app.db, account.id, v).await?,
        None => false,
    })
}

/// `GET /api/v1/accounts/:id/followers`
async fn followers(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    uri: Uri,
    Params(q): Params<PageOnly>,
) -> ApiResult<Response> {
    account_collection(app, auth, id, uri, q, true).await
}

/// `GET /api/v1/accounts/:id/following`
async fn following(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
    uri: Uri,
    Params(q): Params<PageOnly>,
) -> ApiResult<Response> {
    account_collection(app, auth, id, uri, q, false).await
}

async fn account_collection(
    app: App,
    auth: MaybeAuth,
    id: String,
    uri: Uri,
    q: PageOnly,
    followers: bool,
) -> ApiResult<Response> {
    auth.require("read:accounts")?;
    let account = find_account(&app, &id).await?;
    let page = q.page.params(pagination::ACCOUNTS)?;
    let rows = if collection_hidden(&app, &account, auth.account_id()).await? {
        Vec::new()
    } else if followers {
        fulmar_store::relationships::followers(&app.db, account.id, &page).await?
    } else {
        fulmar_store::relationships::following(&app.db, account.id, &page).await?
    };
    Ok(listed_accounts(&app, &uri, &page, &rows, |r| {
        to_mastodon::account(&app.urls, &r.account)
    }))
}

#[derive(Deserialize)]
struct RelationshipsQuery {
    #[serde(default, deserialize_with = "flex::string_list")]
    id: Vec<String>,
}

/// The most accounts one relationships request answers for.
const MAX_RELATIONSHIPS: usize = 1000;

/// `GET /api/v1/accounts/relationships?id[]=…`: unknown ids are skipped.
async fn relationships(
    State(app): State<App>,
    auth: Auth,
    Params(q): Params<RelationshipsQuery>,
) -> ApiResult<Json<Vec<Relationship>>> {
    auth.require("read:follows")?;
    let mut ids = id_list(&q.id, MAX_RELATIONSHIPS);
    let known: std::collections::HashSet<i64> = fulmar_store::accounts::by_ids(&app.db, &ids)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    ids.retain(|id| known.contains(id));
    Ok(Json(
        to_mastodon::relationships(&app, auth.account_id(), &ids).await?,
    ))
}

/// The ids of a `id[]` list that are well-formed, without repeats, at most `max`.
fn id_list(raw: &[String], max: usize) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    for id in raw.iter().filter_map(|s| parse_id(s.trim())) {
        if !ids.contains(&id) && ids.len() < max {
            ids.push(id);
        }
    }
    ids
}

/// One entry of `familiar_followers`.
#[derive(serde::Serialize)]
struct FamiliarFollowers {
    id: String,
    accounts: Vec<Account>,
}

/// How many familiar followers are listed per account.
const FAMILIAR_PER_ACCOUNT: usize = 40;

/// `GET /api/v1/accounts/familiar_followers?id[]=…`: for each known account, the
/// accounts the user follows that follow it too.
async fn familiar_followers(
    State(app): State<App>,
    auth: Auth,
    Params(q): Params<RelationshipsQuery>,
) -> ApiResult<Json<Vec<FamiliarFollowers>>> {
    auth.require("read:follows")?;
    let mut ids = id_list(&q.id, pagination::ACCOUNTS.max as usize);
    let known: std::collections::HashSet<i64> = fulmar_store::accounts::by_ids(&app.db, &ids)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    ids.retain(|id| known.contains(id));
    let rows =
        fulmar_store::relationships::familiar_followers(&app.db, auth.account_id(), &ids).await?;
    Ok(Json(
        ids.iter()
            .map(|id| FamiliarFollowers {
                id: id.to_string(),
                accounts: rows
                    .iter()
                    .filter(|r| r.target == *id)
                    .take(FAMILIAR_PER_ACCOUNT)
                    .map(|r| to_mastodon::account(&app.urls, &r.account))
                    .collect(),
            })
            .collect(),
    ))
}

/// `GET /api/v1/accounts/:id/featured_tags`: featuring hashtags on a profile is not
/// supported yet, so every profile features none.
async fn featured_tags(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    auth.require("read:accounts")?;
    find_account(&app, &id).await?;
    Ok(Json(Vec::new()))
}

/// `GET /api/v1/accounts/:id/lists`: the user's lists that contain the account;
/// lists are not supported yet, so there are none.
async fn lists(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    auth.require("read:lists")?;
    find_account(&app, &id).await?;
    Ok(Json(Vec::new()))
}

#[derive(Deserialize)]
struct LookupQuery {
    #[serde(default, deserialize_with = "flex::opt_string")]
    acct: Option<String>,
}

/// Splits `user`, `@user`, `user@domain` or `@user@domain` into the username and,
/// for another server, its domain (`None` for ours).
fn split_acct<'a>(app: &App, acct: &'a str) -> Option<(&'a str, Option<&'a str>)> {
    let acct = acct.trim().trim_start_matches('@');
    let (user, domain) = match acct.split_once('@') {
        Some((u, d)) => (u, Some(d)),
        None => (acct, None),
    };
    if user.is_empty() || domain.is_some_and(str::is_empty) {
        return None;
    }
    let ours = domain.is_none_or(|d| d.eq_ignore_ascii_case(app.urls.domain()));
    Some((user, if ours { None } else { domain }))
}

/// `GET /api/v1/accounts/lookup?acct=`
async fn lookup(
    State(app): State<App>,
    auth: MaybeAuth,
    Params(q): Params<LookupQuery>,
) -> ApiResult<Json<Account>> {
    auth.require("read:accounts")?;
    let acct = q.acct.unwrap_or_default();
    let (user, domain) = split_acct(&app, &acct).ok_or_else(ApiError::not_found)?;
    let mut account = fulmar_store::accounts::by_acct(&app.db, user, domain).await?;
    if let (None, Some(domain)) = (&account, domain) {
        // Not known here yet: ask its server.
        account = crate::core::resolve::resolve_account(&app, &format!("{user}@{domain}"))
            .await
            .inspect_err(|e| tracing::info!(error = %e, "resolving {user}@{domain} failed"))
            .ok();
    }
    let account = account
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(to_mastodon::account(&app.urls, &account)))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default, deserialize_with = "flex::opt_string")]
    q: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    limit: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    offset: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    following: Option<bool>,
}

/// `GET /api/v1/accounts/search?q=`: local accounts whose username or display name
/// starts with the query; `user@domain` finds that exact account. Resolving remote
/// accounts comes with federation.
async fn search(
    State(app): State<App>,
    auth: Auth,
    Params(q): Params<SearchQuery>,
) -> ApiResult<Json<Vec<Account>>> {
    auth.require("read:accounts")?;
    let limits = pagination::ACCOUNTS;
    let limit = q
        .limit
        .as_deref()
        .and_then(|l| l.trim().parse::<i64>().ok())
        .map(|l| l.clamp(1, limits.max))
        .unwrap_or(limits.default);
    let offset = q
        .offset
        .as_deref()
        .and_then(|o| o.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let text = q.q.unwrap_or_default();
    let text = text.trim();
    if text.trim_start_matches('@').is_empty() {
        return Ok(Json(Vec::new()));
    }
    let following = q.following.unwrap_or(false).then_some(auth.account_id());
    let rows = if text.trim_start_matches('@').contains('@') {
        // A full handle names one account.
        let found = match split_acct(&app, text) {
            Some((user, domain)) if offset == 0 => {
                fulmar_store::accounts::by_acct(&app.db, user, domain).await?
            }
            _ => None,
        };
        let mut rows: Vec<AccountRow> = found
            .into_iter()
            .filter(|a| a.suspended_at.is_none())
            .collect();
        if let Some(me) = following {
            let mut kept = Vec::new();
            for a in rows {
                if fulmar_store::follows::exists(&app.db, me, a.id).await? {
                    kept.push(a);
                }
            }
            rows = kept;
        }
        rows
    } else {
        fulmar_store::accounts::search_local(
            &app.db,
            text.trim_start_matches('@'),
            following,
            limit,
            offset,
        )
        .await?
    };
    Ok(Json(
        rows.iter()
            .map(|a| to_mastodon::account(&app.urls, a))
            .collect(),
    ))
}

#[derive(Deserialize)]
struct FollowForm {
    #[serde(default, deserialize_with = "flex::opt_bool")]
    reblogs: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    notify: Option<bool>,
    #[serde(default, deserialize_with = "opt_string_list")]
    languages: Option<Vec<String>>,
}

fn not_allowed() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "This action is not allowed")
}

/// `POST /api/v1/accounts/:id/follow`
async fn follow(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(form): Params<FollowForm>,
) -> ApiResult<Json<Relationship>> {
    auth.require("write:follows")?;
    let target = find_account(&app, &id).await?;
    if target.id == auth.account.id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Following your own account is not allowed",
        ));
    }
    let params = FollowParams {
        reblogs: form.reblogs,
        notify: form.notify,
        languages: form.languages,
    };
    match follows::follow(&app.db, &app.urls, &auth.account, &target, &params).await {
        Ok(_) => {}
        Err(CoreError::Forbidden) => return Err(not_allowed()),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(
        to_mastodon::relationship(&app, auth.account_id(), target.id).await?,
    ))
}

/// Runs one relationship action against the account in the path and answers with
/// the relationship afterwards.
async fn act<F, Fut>(
    app: &App,
    auth: &Auth,
    scope: &str,
    id: &str,
    action: F,
) -> ApiResult<Json<Relationship>>
where
    F: FnOnce(AccountRow) -> Fut,
    Fut: std::future::Future<Output = Result<(), CoreError>>,
{
    auth.require(scope)?;
    let target = find_account(app, id).await?;
    let target_id = target.id;
    match action(target).await {
        Ok(()) => {}
        Err(CoreError::Forbidden) => return Err(not_allowed()),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(
        to_mastodon::relationship(app, auth.account_id(), target_id).await?,
    ))
}

/// `POST /api/v1/accounts/:id/unfollow`
async fn unfollow(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Relationship>> {
    let (db, me) = (app.db.clone(), auth.account.clone());
    act(&app, &auth, "write:follows", &id, |t| async move {
        follows::unfollow(&db, &me, &t).await
    })
    .await
}

/// `POST /api/v1/accounts/:id/remove_from_followers`
async fn remove_from_followers(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Relationship>> {
    let (db, me) = (app.db.clone(), auth.account.clone());
    act(&app, &auth, "write:follows", &id, |t| async move {
        follows::remove_from_followers(&db, &me, &t).await
    })
    .await
}

/// `POST /api/v1/accounts/:id/block`
async fn block(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Relationship>> {
    let (db, me) = (app.db.clone(), auth.account.clone());
    act(&app, &auth, "write:blocks", &id, |t| async move {
        follows::block(&db, &me, &t).await
    })
    .await
}

/// `POST /api/v1/accounts/:id/unblock`
async fn unblock(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Relationship>> {
    let (db, me) = (app.db.clone(), auth.account.clone());
    act(&app, &auth, "write:blocks", &id, |t| async move {
        follows::unblock(&db, &me, &t).await
    })
    .await
}

#[derive(Deserialize)]
struct MuteForm {
    #[serde(default, deserialize_with = "flex::opt_bool")]
    notifications: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    duration: Option<i64>,
}

/// `POST /api/v1/accounts/:id/mute`: `notifications` (default true) also hides
/// their notifications; `duration` in seconds, 0 for indefinitely.
async fn mute(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(form): Params<MuteForm>,
) -> ApiResult<Json<Relationship>> {
    let hide = form.notifications.unwrap_or(true);
    let duration = form.duration.unwrap_or(0);
    let (db, me) = (app.db.clone(), auth.account.clone());
    act(&app, &auth, "write:mutes", &id, |t| async move {
        follows::mute(&db, &me, &t, hide, duration).await
    })
    .await
}

/// `POST /api/v1/accounts/:id/unmute`
async fn unmute(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Relationship>> {
    let (db, me) = (app.db.clone(), auth.account.clone());
    act(&app, &auth, "write:mutes", &id, |t| async move {
        follows::unmute(&db, &me, &t).await
    })
    .await
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default, deserialize_with = "flex::opt_string")]
    comment: Option<String>,
}

/// `POST /api/v1/accounts/:id/note`: a private note about an account, shown as
/// `Relationship.note`; an empty or missing comment removes it.
async fn note(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(form): Params<NoteForm>,
) -> ApiResult<Json<Relationship>> {
    let comment = form.comment.unwrap_or_default();
    let (db, me) = (app.db.clone(), auth.account.clone());
    act(&app, &auth, "write:accounts", &id, |t| async move {
        follows::set_note(&db, &me, &t, &comment).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_text_accepts_json_scalars() {
        assert_eq!(field_text(Some(&Value::from("a"))), "a");
        assert_eq!(field_text(Some(&Value::from(5))), "5");
        assert_eq!(field_text(Some(&Value::Null)), "");
        assert_eq!(field_text(None), "");
    }
}
