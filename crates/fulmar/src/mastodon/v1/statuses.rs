//! `/api/v1/statuses…`: posting, reading, editing and deleting statuses, and what
//! accounts do with them. Scopes are Mastodon's: `write:statuses` to post, edit,
//! delete and reblog; `write:favourites`, `write:bookmarks`; `write:accounts` to pin;
//! `read:statuses` to read (optional for public statuses); `read:accounts` for the
//! lists of accounts who favourited or reblogged.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::statuses::{self, Compose, Edit, ReblogError};
use crate::core::threads;
use crate::core::time::rfc3339_ms;
use crate::core::CoreError;
use crate::http::{ApiError, ApiResult};
use crate::mastodon::auth::{Auth, MaybeAuth};
use crate::mastodon::entities::{Account, CustomEmoji, MediaAttachment, Status};
use crate::mastodon::pagination::{self, link_header, PageQuery};
use crate::mastodon::params::{flex, Params};
use crate::mastodon::to_mastodon;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/statuses", post(create).get(index))
        .route(
            "/api/v1/statuses/{id}",
            get(show).put(update).delete(destroy),
        )
        .route("/api/v1/statuses/{id}/context", get(context))
        .route("/api/v1_alpha/async_refreshes/{id}", get(async_refresh))
        .route("/api/v1/statuses/{id}/history", get(history))
        .route("/api/v1/statuses/{id}/source", get(source))
        .route("/api/v1/statuses/{id}/favourite", post(favourite))
        .route("/api/v1/statuses/{id}/unfavourite", post(unfavourite))
        .route("/api/v1/statuses/{id}/reblog", post(reblog))
        .route("/api/v1/statuses/{id}/unreblog", post(unreblog))
        .route("/api/v1/statuses/{id}/bookmark", post(bookmark))
        .route("/api/v1/statuses/{id}/unbookmark", post(unbookmark))
        .route("/api/v1/statuses/{id}/pin", post(pin))
        .route("/api/v1/statuses/{id}/unpin", post(unpin))
        .route("/api/v1/statuses/{id}/favourited_by", get(favourited_by))
        .route("/api/v1/statuses/{id}/reblogged_by", get(reblogged_by))
        .route("/api/v1/statuses/{id}/quotes", get(quotes))
        .route(
            "/api/v1/statuses/{id}/quotes/{quoting_id}/revoke",
            post(revoke_quote),
        )
        .route(
            "/api/v1/statuses/{id}/interaction_policy",
            axum::routing::put(interaction_policy),
        )
}

/// True when a `poll` parameter actually describes a poll (clients send `null` or an
/// empty object when there is none).
fn describes_poll(poll: &Option<Value>) -> bool {
    match poll {
        None | Some(Value::Null) => false,
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

#[derive(Deserialize, Default)]
struct CreateParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    language: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    in_reply_to_id: Option<String>,
    #[serde(default, deserialize_with = "flex::string_list")]
    media_ids: Vec<String>,
    #[serde(default)]
    poll: Option<Value>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    scheduled_at: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    quoted_status_id: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    quote_approval_policy: Option<String>,
}

/// `POST /api/v1/statuses`
async fn create(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Params(p): Params<CreateParams>,
) -> ApiResult<Json<Status>> {
    auth.require("write:statuses")?;
    let compose = Compose {
        text: p.status,
        spoiler_text: p.spoiler_text,
        sensitive: p.sensitive,
        visibility: p.visibility,
        language: p.language,
        in_reply_to_id: p.in_reply_to_id,
        media_ids: p.media_ids,
        has_poll: describes_poll(&p.poll),
        scheduled_at: p.scheduled_at,
        application_id: auth.token.application_id,
        idempotency_key: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        quoted_status_id: p.quoted_status_id,
        quote_approval_policy: p.quote_approval_policy,
    };
    let (row, stored) = statuses::create(
        &app.db,
        &app.urls,
        &app.post_commits,
        &auth.user,
        &auth.account,
        compose,
    )
    .await
    .map_err(|e| match e {
        // The only thing `create` does not find is the status replied to.
        CoreError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "The post you are trying to reply to does not appear to exist.",
        ),
        e => e.into(),
    })?;
    let viewer = Some(auth.account_id());
    let entity = match &stored {
        Some(stored) => {
            let posted = to_mastodon::Posted {
                stored,
                author: &auth.account,
                author_version: auth.account_version,
                application: auth.application.as_ref(),
            };
            to_mastodon::new_status(&app, &row, viewer, &posted).await?
        }
        None => to_mastodon::status(&app, &row, viewer).await?,
    };
    Ok(Json(entity))
}

#[derive(Deserialize, Default)]
struct IndexParams {
    #[serde(default, deserialize_with = "flex::string_list")]
    id: Vec<String>,
}

/// Mastodon answers at most this many statuses at once from `GET /statuses?id[]=`.
const MANY_LIMIT: usize = 20;

/// `GET /api/v1/statuses?id[]=…`
async fn index(
    State(app): State<App>,
    auth: MaybeAuth,
    Params(p): Params<IndexParams>,
) -> ApiResult<Json<Vec<Status>>> {
    auth.require("read:statuses")?;
    if p.id.len() > MANY_LIMIT {
        return Err(ApiError::unprocessable(format!(
            "Validation failed: at most {MANY_LIMIT} ids may be requested at once"
        )));
    }
    let viewer = auth.account_id();
    let rows = statuses::many(&app.db, viewer, &p.id).await?;
    Ok(Json(to_mastodon::statuses(&app, &rows, viewer).await?))
}

/// `GET /api/v1/statuses/:id`
async fn show(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("read:statuses")?;
    let viewer = auth.account_id();
    let row = statuses::find_visible(&app.db, &id, viewer).await?;
    Ok(Json(to_mastodon::status(&app, &row, viewer).await?))
}

#[derive(Deserialize, Default)]
struct UpdateParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    status: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    language: Option<String>,
    #[serde(default, deserialize_with = "flex::string_list")]
    media_ids: Vec<String>,
    #[serde(default)]
    poll: Option<Value>,
}

/// `PUT /api/v1/statuses/:id`
async fn update(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<UpdateParams>,
) -> ApiResult<Json<Status>> {
    auth.require("write:statuses")?;
    let edit = Edit {
        text: p.status,
        spoiler_text: p.spoiler_text,
        sensitive: p.sensitive,
        language: p.language,
        media_ids: p.media_ids,
        has_poll: describes_poll(&p.poll),
    };
    let row = statuses::edit(&app.db, &app.urls, &auth.user, &auth.account, &id, edit).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

/// `DELETE /api/v1/statuses/:id`: answers the deleted status with its `text`, for
/// "delete and redraft".
async fn destroy(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("write:statuses")?;
    let row = statuses::delete(&app.db, &auth.account, &id).await?;
    let mut entity = to_mastodon::status(&app, &row, Some(auth.account_id())).await?;
    entity.text = Some(row.text.clone().unwrap_or_default());
    Ok(Json(entity))
}

#[derive(Serialize)]
struct ContextEntity {
    ancestors: Vec<Status>,
    descendants: Vec<Status>,
}

/// `GET /api/v1/statuses/:id/context`: what is known at once. A thread that may be
/// incomplete is fetched in the background (`core::threads`); while that runs the
/// answer carries Mastodon 4.4's `Mastodon-Async-Refresh` header, naming the refresh
/// to poll (`/api/v1_alpha/async_refreshes/:id`) and when to ask again.
async fn context(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    auth.require("read:statuses")?;
    let viewer = auth.account_id();
    let status = statuses::find_visible(&app.db, &id, viewer).await?;
    // Only a signed-in reader sets off fetches, as in Mastodon: anonymous requests
    // must not be a way to make this server fetch from others.
    let refresh = match viewer {
        Some(_) => threads::request_fetch(&app, &status).await?,
        None => None,
    };
    let ctx = statuses::context(&app.db, viewer, &id).await?;
    let entity = ContextEntity {
        ancestors: to_mastodon::statuses(&app, &ctx.ancestors, viewer).await?,
        descendants: to_mastodon::statuses(&app, &ctx.descendants, viewer).await?,
    };
    let body = serde_json::to_value(entity)
        .map_err(anyhow::Error::from)
        .map_err(CoreError::from)?;
    let mut response = Json(body).into_response();
    if let Some(refresh) = refresh.filter(|r| r.running()) {
        let value = format!(
            "id=\"{}\", retry={}, result_count={}",
            threads::refresh_id(refresh.root_id),
            ASYNC_REFRESH_RETRY_SECONDS,
            refresh.state.result_count
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static("mastodon-async-refresh"), value);
        }
    }
    Ok(response)
}

/// Seconds a client is asked to wait before polling a running thread fetch again.
const ASYNC_REFRESH_RETRY_SECONDS: u32 = 3;

/// `GET /api/v1_alpha/async_refreshes/:id`: the state of a background thread fetch,
/// as Mastodon 4.4 answers it.
async fn async_refresh(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require("read:statuses")?;
    let root_id = threads::parse_refresh_id(&id).ok_or_else(ApiError::not_found)?;
    let state = fulmar_store::threads::fetch_state(&app.db, root_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = if state.finished_at.is_some() {
        "finished"
    } else {
        "running"
    };
    Ok(Json(serde_json::json!({
        "async_refresh": {
            "id": id,
            "status": status,
            "result_count": state.result_count,
        }
    })))
}

/// Mastodon's `StatusEdit` entity.
#[derive(Serialize)]
struct StatusEdit {
    content: String,
    spoiler_text: String,
    sensitive: bool,
    created_at: String,
    account: Account,
    poll: Option<Value>,
    media_attachments: Vec<MediaAttachment>,
    emojis: Vec<CustomEmoji>,
}

/// `GET /api/v1/statuses/:id/history`: every version, oldest first, the current one
/// last.
async fn history(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<StatusEdit>>> {
    auth.require("read:statuses")?;
    let versions = statuses::history(&app.db, auth.account_id(), &id).await?;
    let Some(first) = versions.first() else {
        return Ok(Json(Vec::new()));
    };
    let author = fulmar_store::accounts::by_id(&app.db, first.account_id)
        .await?
        .ok_or(CoreError::NotFound)?;
    let account = to_mastodon::account(&app.urls, &author);
    Ok(Json(
        versions
            .into_iter()
            .map(|v| StatusEdit {
                content: v.content,
                spoiler_text: v.spoiler_text,
                sensitive: v.sensitive,
                created_at: rfc3339_ms(v.created_at),
                account: account.clone(),
                // Mastodon's StatusEdit poll holds the options' titles only.
                poll: v.poll_options.map(|options| {
                    serde_json::json!({
                        "options": options
                            .into_iter()
                            .map(|title| serde_json::json!({"title": title}))
                            .collect::<Vec<_>>()
                    })
                }),
                media_attachments: v.media.iter().map(to_mastodon::media_attachment).collect(),
                emojis: Vec::new(),
            })
            .collect(),
    ))
}

/// Mastodon's `StatusSource` entity.
#[derive(Serialize)]
struct StatusSource {
    id: String,
    text: String,
    spoiler_text: String,
}

/// `GET /api/v1/statuses/:id/source`: what the author typed, for editing.
async fn source(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<StatusSource>> {
    auth.require("read:statuses")?;
    let row = statuses::source(&app.db, &auth.account, &id).await?;
    Ok(Json(StatusSource {
        id: row.id.to_string(),
        text: row.text.unwrap_or_default(),
        spoiler_text: row.spoiler_text,
    }))
}

/// `POST /api/v1/statuses/:id/favourite`
async fn favourite(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("write:favourites")?;
    let row = statuses::favourite(&app.db, &auth.account, &id).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

/// `POST /api/v1/statuses/:id/unfavourite`
async fn unfavourite(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("write:favourites")?;
    let row = statuses::unfavourite(&app.db, &auth.account, &id).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

#[derive(Deserialize, Default)]
struct ReblogParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    visibility: Option<String>,
}

/// `POST /api/v1/statuses/:id/reblog`: answers the reblog, a status of its own with
/// the original nested in `reblog`.
async fn reblog(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<ReblogParams>,
) -> ApiResult<Json<Status>> {
    auth.require("write:statuses")?;
    let row = statuses::reblog(
        &app.db,
        &app.urls,
        &auth.user,
        &auth.account,
        &id,
        p.visibility.as_deref(),
        auth.token.application_id,
    )
    .await
    .map_err(|e| match e {
        ReblogError::NotAllowed => {
            ApiError::new(StatusCode::FORBIDDEN, "This action is not allowed")
        }
        ReblogError::Core(e) => e.into(),
    })?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

/// `POST /api/v1/statuses/:id/unreblog`: answers the original status.
async fn unreblog(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("write:statuses")?;
    let row = statuses::unreblog(&app.db, &auth.account, &id).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

/// `POST /api/v1/statuses/:id/bookmark`
async fn bookmark(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("write:bookmarks")?;
    let row = statuses::bookmark(&app.db, &auth.account, &id).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

/// `POST /api/v1/statuses/:id/unbookmark`
async fn unbookmark(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("write:bookmarks")?;
    let row = statuses::unbookmark(&app.db, &auth.account, &id).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

/// `POST /api/v1/statuses/:id/pin`
async fn pin(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("write:accounts")?;
    let row = statuses::pin(&app.db, &auth.account, &id).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

/// `POST /api/v1/statuses/:id/unpin`
async fn unpin(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Status>> {
    auth.require("write:accounts")?;
    let row = statuses::unpin(&app.db, &auth.account, &id).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

/// `GET /api/v1/statuses/:id/favourited_by`
async fn favourited_by(
    State(app): State<App>,
    auth: MaybeAuth,
    uri: Uri,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<Account>>)> {
    accounts_who(app, auth, uri, id, q, false).await
}

/// `GET /api/v1/statuses/:id/reblogged_by`
async fn reblogged_by(
    State(app): State<App>,
    auth: MaybeAuth,
    uri: Uri,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<Account>>)> {
    accounts_who(app, auth, uri, id, q, true).await
}

/// `GET /api/v1/statuses/:id/quotes`: the statuses quoting one of the viewer's own
/// statuses, newest first. Mastodon 4.5 shows this list to the quoted status's author
/// only (others get 403), and only the quotes the viewer may see.
async fn quotes(
    State(app): State<App>,
    auth: Auth,
    uri: Uri,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<Status>>)> {
    auth.require("read:statuses")?;
    let viewer = auth.account_id();
    let page = q.params(pagination::STATUSES)?;
    let quoted = statuses::find_visible(&app.db, &id, Some(viewer)).await?;
    if quoted.account_id != viewer {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Only the author of a status may list its quotes",
        ));
    }
    let rows = fulmar_store::statuses::quotes_of(&app.db, quoted.id, &page).await?;
    let headers = link_header(
        &app,
        &uri,
        &page,
        rows.len(),
        rows.first().map(|r| r.id),
        rows.last().map(|r| r.id),
    );
    let mut visible = Vec::with_capacity(rows.len());
    for row in rows {
        if statuses::is_visible(&app.db, &row, Some(viewer)).await? {
            visible.push(row);
        }
    }
    Ok((
        headers,
        Json(to_mastodon::statuses(&app, &visible, Some(viewer)).await?),
    ))
}

async fn accounts_who(
    app: App,
    auth: MaybeAuth,
    uri: Uri,
    id: String,
    q: PageQuery,
    reblogs: bool,
) -> ApiResult<(HeaderMap, Json<Vec<Account>>)> {
    auth.require("read:accounts")?;
    let page = q.params(pagination::ACCOUNTS)?;
    let rows = statuses::interacted_by(&app.db, auth.account_id(), &id, reblogs, &page).await?;
    let headers = link_header(
        &app,
        &uri,
        &page,
        rows.len(),
        rows.first().map(|(c, _)| *c),
        rows.last().map(|(c, _)| *c),
    );
    let accounts = rows
        .iter()
        .map(|(_, a)| to_mastodon::account(&app.urls, a))
        .collect();
    Ok((headers, Json(accounts)))
}

/// `POST /api/v1/statuses/:id/quotes/:quoting_status_id/revoke`: the author of a
/// status withdraws their approval of a quote of it (Mastodon 4.5). Answers the
/// quoting status, whose quote now reads `revoked`.
async fn revoke_quote(
    State(app): State<App>,
    auth: Auth,
    Path((id, quoting_id)): Path<(String, String)>,
) -> ApiResult<Json<Status>> {
    auth.require("write:statuses")?;
    let row = crate::core::quotes::revoke(&app.db, &auth.account, &id, &quoting_id).await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}

#[derive(Deserialize, Default)]
struct PolicyParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    quote_approval_policy: Option<String>,
}

/// `PUT /api/v1/statuses/:id/interaction_policy`: changes who may quote one of the
/// viewer's own statuses (Mastodon 4.5).
async fn interaction_policy(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Params(p): Params<PolicyParams>,
) -> ApiResult<Json<Status>> {
    auth.require("write:statuses")?;
    let row = crate::core::quotes::set_policy(
        &app.db,
        &auth.account,
        &id,
        p.quote_approval_policy.as_deref(),
    )
    .await?;
    Ok(Json(
        to_mastodon::status(&app, &row, Some(auth.account_id())).await?,
    ))
}
