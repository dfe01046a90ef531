//! The small endpoints apps call right after signing in: preferences and markers,
//! and the lists of things Fulmar does not have yet (lists, filters, custom emojis,
//! announcements, trends ...), which answer with an empty list instead of an error so
//! that Ivory, Tusky and Elk get through their start-up without complaint. Each still
//! checks the scope Mastodon requires for it, so an app learns about a missing scope
//! now rather than when the feature arrives.

use std::collections::BTreeMap;

use axum::routing::{get, MethodRouter};
use axum::{extract::State, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::ids::{next_id, parse_id};
use crate::core::time::{now_ms, rfc3339_ms};
use crate::http::{ApiError, ApiResult};
use crate::mastodon::auth::Auth;
use crate::mastodon::params::{flex, Params};
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/preferences", get(preferences))
        .route("/api/v1/markers", get(get_markers).post(set_markers))
        .route("/api/v1/lists", empty_for("read:lists"))
        .route("/api/v1/filters", empty_for("read:filters"))
        .route("/api/v2/filters", empty_for("read:filters"))
        .route("/api/v1/announcements", empty_for("read"))
        .route("/api/v1/followed_tags", empty_for("read:follows"))
        .route("/api/v1/suggestions", empty_for("read"))
        .route("/api/v2/suggestions", empty_for("read"))
        .route("/api/v1/conversations", empty_for("read:statuses"))
        .route("/api/v1/scheduled_statuses", empty_for("read:statuses"))
        .route("/api/v1/domain_blocks", empty_for("read:blocks"))
        .route("/api/v1/endorsements", empty_for("read:accounts"))
        .route("/api/v1/featured_tags", empty_for("read:accounts"))
        // Public in Mastodon: no token needed.
        .route("/api/v1/custom_emojis", get(public_empty))
        .route("/api/v1/trends", get(public_empty))
        .route("/api/v1/trends/tags", get(public_empty))
        .route("/api/v1/trends/statuses", get(public_empty))
        .route("/api/v1/trends/links", get(public_empty))
        .route(
            "/api/v1/push/subscription",
            get(push_subscription)
                .put(push_subscription)
                .post(push_subscribe)
                .delete(push_unsubscribe),
        )
}

/// `GET` for a signed-in user with `scope`, answering `[]`.
fn empty_for(scope: &'static str) -> MethodRouter<App> {
    get(move |auth: Auth| async move {
        auth.require(scope)?;
        Ok::<_, ApiError>(Json(Vec::<Value>::new()))
    })
}

async fn public_empty() -> Json<Vec<Value>> {
    Json(Vec::new())
}

/// `GET` and `PUT /api/v1/push/subscription`: there is never a subscription yet, and
/// Mastodon answers 404 when there is none.
async fn push_subscription(auth: Auth) -> ApiResult<Json<Value>> {
    auth.require("push")?;
    Err(ApiError::not_found())
}

/// `POST /api/v1/push/subscription`: web push is not implemented, which apps learn
/// from a refusal (Tusky and Ivory then poll for notifications instead).
async fn push_subscribe(auth: Auth) -> ApiResult<Json<Value>> {
    auth.require("push")?;
    Err(ApiError::unprocessable(
        "Validation failed: Web push is not available on this server yet",
    ))
}

/// `DELETE /api/v1/push/subscription`: removing no subscription succeeds, as in
/// Mastodon.
async fn push_unsubscribe(auth: Auth) -> ApiResult<Json<Value>> {
    auth.require("push")?;
    Ok(Json(Value::Object(Default::default())))
}

/// `GET /api/v1/preferences`: the user's posting defaults and reading preferences.
async fn preferences(auth: Auth, State(app): State<App>) -> ApiResult<Json<Value>> {
    auth.require("read:accounts")?;
    let settings: Value =
        serde_json::from_str(&fulmar_store::users::settings(&app.db, auth.user.id).await?)
            .unwrap_or(Value::Null);
    // Reading preferences are kept under their API names in `users.settings`;
    // Mastodon's defaults apply until a user changes them.
    let expand_media = settings
        .get("reading:expand:media")
        .and_then(Value::as_str)
        .filter(|v| matches!(*v, "default" | "show_all" | "hide_all"))
        .unwrap_or("default");
    let expand_spoilers = settings
        .get("reading:expand:spoilers")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Json(serde_json::json!({
        "posting:default:visibility": auth.user.default_visibility,
        "posting:default:sensitive": auth.user.default_sensitive,
        "posting:default:language": auth.user.default_language,
        "reading:expand:media": expand_media,
        "reading:expand:spoilers": expand_spoilers,
    })))
}

/// The timelines that have markers.
const TIMELINES: [&str; 2] = ["home", "notifications"];

/// A Marker entity.
#[derive(Serialize)]
struct Marker {
    last_read_id: String,
    version: i64,
    updated_at: String,
}

fn marker(row: fulmar_store::timelines::MarkerRow) -> (String, Marker) {
    (
        row.timeline,
        Marker {
            last_read_id: row.last_read_id.to_string(),
            version: row.version,
            updated_at: rfc3339_ms(row.updated_at),
        },
    )
}

#[derive(Deserialize, Default)]
struct MarkersQuery {
    #[serde(default, deserialize_with = "flex::string_list")]
    timeline: Vec<String>,
}

/// `GET /api/v1/markers?timeline[]=home&timeline[]=notifications`: the markers asked
/// for that exist, keyed by timeline.
async fn get_markers(
    auth: Auth,
    State(app): State<App>,
    Params(q): Params<MarkersQuery>,
) -> ApiResult<Json<BTreeMap<String, Marker>>> {
    auth.require("read:statuses")?;
    let wanted: Vec<&str> = TIMELINES
        .into_iter()
        .filter(|t| q.timeline.iter().any(|w| w == t))
        .collect();
    let rows = fulmar_store::timelines::markers(&app.db, auth.user.id, &wanted).await?;
    Ok(Json(rows.into_iter().map(marker).collect()))
}

#[derive(Deserialize, Default)]
struct MarkerParam {
    #[serde(default, deserialize_with = "flex::opt_string")]
    last_read_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct SetMarkers {
    home: Option<MarkerParam>,
    notifications: Option<MarkerParam>,
}

/// `POST /api/v1/markers` with `home[last_read_id]` and/or
/// `notifications[last_read_id]`: saves them (each save bumps `version`) and returns
/// the markers saved.
async fn set_markers(
    auth: Auth,
    State(app): State<App>,
    Params(p): Params<SetMarkers>,
) -> ApiResult<Json<BTreeMap<String, Marker>>> {
    auth.require("write:statuses")?;
    let mut updates = Vec::new();
    for (timeline, param) in [("home", &p.home), ("notifications", &p.notifications)] {
        let Some(param) = param else { continue };
        let id = param
            .last_read_id
            .as_deref()
            .map(str::trim)
            .and_then(parse_id)
            .ok_or_else(|| {
                ApiError::unprocessable("Validation failed: Last read can't be blank")
            })?;
        updates.push((timeline, id));
    }
    let now = now_ms();
    let mut out = BTreeMap::new();
    for (timeline, id) in updates {
        let row = fulmar_store::timelines::set_marker(
            &app.db,
            next_id(),
            auth.user.id,
            timeline,
            id,
            now,
        )
        .await?;
        let (k, v) = marker(row);
        out.insert(k, v);
    }
    Ok(Json(out))
}
