//! `/api/v1/notifications`: the signed-in user's notifications, one entity per event
//! (the grouped v2 API is built on the same rows).

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fulmar_store::notifications::NotificationFilter;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::core::ids::parse_id;
use crate::core::time::now_ms;
use crate::http::{ApiError, ApiResult};
use crate::mastodon::auth::Auth;
use crate::mastodon::entities::Notification;
use crate::mastodon::pagination::{self, link_header, PageQuery};
use crate::mastodon::params::{flex, Params};
use crate::mastodon::to_mastodon;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/notifications", get(index))
        .route("/api/v1/notifications/unread_count", get(unread_count))
        .route("/api/v1/notifications/clear", post(clear))
        // The pre-3.1 form, with the id in the body; some clients still send it.
        .route("/api/v1/notifications/dismiss", post(dismiss_legacy))
        .route("/api/v1/notifications/{id}", get(show))
        .route("/api/v1/notifications/{id}/dismiss", post(dismiss))
}

#[derive(Deserialize)]
struct FilterQuery {
    #[serde(default, deserialize_with = "flex::string_list")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "flex::string_list")]
    exclude_types: Vec<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    account_id: Option<String>,
}

impl FilterQuery {
    /// The store's filter; `None` when `account_id` names no possible account, so
    /// that the answer is simply empty.
    fn filter(self) -> Option<NotificationFilter> {
        let from_account_id = match self.account_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => Some(parse_id(id)?),
        };
        let clean = |list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect()
        };
        Some(NotificationFilter {
            types: clean(self.types),
            exclude_types: clean(self.exclude_types),
            from_account_id,
        })
    }
}

#[derive(Deserialize)]
struct IndexQuery {
    #[serde(flatten)]
    page: PageQuery,
    #[serde(flatten)]
    filter: FilterQuery,
}

/// `GET /api/v1/notifications`
async fn index(
    State(app): State<App>,
    auth: Auth,
    uri: Uri,
    Params(q): Params<IndexQuery>,
) -> ApiResult<Response> {
    auth.require("read:notifications")?;
    let page = q.page.params(pagination::NOTIFICATIONS)?;
    let rows = match q.filter.filter() {
        Some(filter) => {
            fulmar_store::notifications::page(&app.db, auth.account_id(), &filter, &page, now_ms())
                .await?
        }
        None => Vec::new(),
    };
    let entities: Vec<Notification> =
        to_mastodon::notifications(&app, &rows, auth.account_id()).await?;
    // Cursors come from the rows, so a notification left out in conversion (its
    // status no longer visible) does not end the paging early.
    let headers = link_header(
        &app,
        &uri,
        &page,
        rows.len(),
        rows.first().map(|n| n.id),
        rows.last().map(|n| n.id),
    );
    Ok((headers, Json(entities)).into_response())
}

/// `GET /api/v1/notifications/:id`
async fn show(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Notification>> {
    auth.require("read:notifications")?;
    let id = parse_id(&id).ok_or_else(ApiError::not_found)?;
    let row = fulmar_store::notifications::visible_by_id(&app.db, auth.account_id(), id, now_ms())
        .await?
        .ok_or_else(ApiError::not_found)?;
    to_mastodon::notifications(&app, std::slice::from_ref(&row), auth.account_id())
        .await?
        .pop()
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// `POST /api/v1/notifications/clear`
async fn clear(State(app): State<App>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require("write:notifications")?;
    fulmar_store::notifications::delete_all(&app.db, auth.account_id()).await?;
    Ok(Json(json!({})))
}

async fn dismiss_id(app: &App, auth: &Auth, id: &str) -> ApiResult<Json<Value>> {
    auth.require("write:notifications")?;
    let id = parse_id(id.trim()).ok_or_else(ApiError::not_found)?;
    if !fulmar_store::notifications::delete_one(&app.db, auth.account_id(), id).await? {
        return Err(ApiError::not_found());
    }
    Ok(Json(json!({})))
}

/// `POST /api/v1/notifications/:id/dismiss`
async fn dismiss(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    dismiss_id(&app, &auth, &id).await
}

#[derive(Deserialize)]
struct DismissForm {
    #[serde(default, deserialize_with = "flex::opt_string")]
    id: Option<String>,
}

/// `POST /api/v1/notifications/dismiss` with `id` in the body.
async fn dismiss_legacy(
    State(app): State<App>,
    auth: Auth,
    Params(form): Params<DismissForm>,
) -> ApiResult<Json<Value>> {
    dismiss_id(&app, &auth, form.id.as_deref().unwrap_or_default()).await
}

#[derive(Deserialize)]
struct UnreadQuery {
    #[serde(default, deserialize_with = "flex::opt_string")]
    limit: Option<String>,
    #[serde(flatten)]
    filter: FilterQuery,
}

/// Default and largest count of `unread_count`, as in Mastodon.
const UNREAD_LIMITS: pagination::Limits = pagination::Limits {
    default: 100,
    max: 1000,
};

/// `GET /api/v1/notifications/unread_count`: notifications newer than the user's
/// `notifications` marker, counted up to `limit`.
async fn unread_count(
    State(app): State<App>,
    auth: Auth,
    Params(q): Params<UnreadQuery>,
) -> ApiResult<Json<Value>> {
    auth.require("read:notifications")?;
    let limit = q
        .limit
        .as_deref()
        .and_then(|l| l.trim().parse::<i64>().ok())
        .map(|l| l.clamp(1, UNREAD_LIMITS.max))
        .unwrap_or(UNREAD_LIMITS.default);
    let count = match q.filter.filter() {
        Some(filter) => {
            fulmar_store::notifications::unread_count(
                &app.db,
                auth.account_id(),
                auth.user.id,
                &filter,
                limit,
                now_ms(),
            )
            .await?
        }
        None => 0,
    };
    Ok(Json(json!({ "count": count })))
}
