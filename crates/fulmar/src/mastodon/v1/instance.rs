//! `GET /api/v1/instance` and its sub-resources, and the facts about this server that
//! both instance entities (v1 here, v2 in `v2::instance`) are built from.
//!
//! Both paths also answer with a trailing slash: Mastodon.py asks for
//! `/api/v1/instance/` and `/api/v2/instance/`, and recurses until it crashes on a 404.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use fulmar_store::accounts::AccountRow;
use serde_json::{json, Value};

use crate::core::time::now_ms;
use crate::http::{ApiError, ApiResult};
use crate::mastodon::to_mastodon;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/instance", get(instance))
        .route("/api/v1/instance/", get(instance))
        .route("/api/v1/instance/peers", get(empty_list))
        .route("/api/v1/instance/activity", get(empty_list))
        .route("/api/v1/instance/rules", get(empty_list))
        .route(
            "/api/v1/instance/extended_description",
            get(extended_description),
        )
        .route("/api/v1/instance/domain_blocks", get(domain_blocks))
        .route(
            "/api/v1/instance/translation_languages",
            get(translation_languages),
        )
}

/// The Mastodon version Fulmar claims to be compatible with. Apps and libraries
/// switch features on by this number, so it must not promise more than Fulmar does:
/// Phanpy broke on a server that claimed 4.3 without grouped notifications
/// (`/api/v2/notifications`, new in 4.3), and Mastodon.py's version checks let an
/// app call any method "created" up to the claimed version. Fulmar has the 4.2-era
/// API (instance v2, search v2, filters v2 as empty lists, markers) but none of
/// 4.3's additions (grouped notifications, notification policies, `GET
/// /statuses?id[]`), so it says 4.2.0. Raise it when those exist.
pub const MASTODON_COMPAT: &str = "4.2.0";

/// `api_versions.mastodon`. Mastodon started numbering its API in 4.3.0 (which
/// reports 2; 4.4 reports 6, 4.5 with quote posts 7) and clients treat a server
/// without the number as version 0, the API of 4.2 and earlier. That is what Fulmar
/// implements, so it says 0 explicitly: the key is present, as Mastodon.py expects
/// of new servers, and promises nothing that is not there.
pub const MASTODON_API_VERSION: u32 = 0;

/// Mastodon's status length limit; posting enforces the same number.
pub const MAX_STATUS_CHARS: u32 = 500;

/// `"4.2.0 (compatible; Fulmar 0.1.0)"`, the form other compatible servers use and
/// that clients parse (they read the leading version up to the first space).
pub fn version() -> String {
    format!(
        "{MASTODON_COMPAT} (compatible; Fulmar {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// Everything both instance entities say, loaded once per request.
pub struct Facts {
    pub title: String,
    pub description: String,
    pub version: String,
    pub users_total: i64,
    pub active_month: i64,
    pub local_posts: i64,
    pub domain_count: i64,
    pub vapid_key: String,
    pub contact_email: String,
    pub contact_account: Option<AccountRow>,
}

pub async fn facts(app: &App) -> ApiResult<Facts> {
    let db = &app.db;
    let usage = fulmar_store::instance::usage(db, now_ms()).await?;
    let setting = |key: &'static str| fulmar_store::instance::get_setting(db, key);
    let title = setting("site_title")
        .await?
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| app.urls.domain().to_owned());
    let description = setting("site_description").await?.unwrap_or_default();
    // The same key apps receive as `vapid_key` when they register.
    let vapid_key = crate::core::vapid::public_key(db).await?;
    let (contact_email, contact_account) = match fulmar_store::instance::first_admin(db).await? {
        Some((account_id, email)) => (email, fulmar_store::accounts::by_id(db, account_id).await?),
        None => (String::new(), None),
    };
    Ok(Facts {
        title,
        description,
        version: version(),
        users_total: usage.users_total,
        active_month: usage.active_month,
        local_posts: usage.local_posts,
        domain_count: fulmar_store::instance::known_domains(db).await?,
        vapid_key,
        contact_email,
        contact_account,
    })
}

/// The source code link of both entities. Fulmar has no public repository yet, so
/// this points at the instance itself until it does.
pub fn source_url(app: &App) -> String {
    option_env!("CARGO_PKG_REPOSITORY")
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| app.urls.base().to_owned())
}

/// `configuration.statuses`, `.media_attachments` and `.polls`, shared by both
/// entities.
///
/// Media upload does not exist yet, and the configuration says so the way apps
/// understand: `supported_mime_types` is empty, so apps that check it (Ivory, Elk,
/// Phanpy build their file pickers from it) offer nothing to attach. The size limits
/// keep Mastodon's values, which apps require to be numbers; they become true when
/// uploads land, together with the MIME type list.
pub fn limits() -> (Value, Value, Value) {
    (
        json!({
            "max_characters": MAX_STATUS_CHARS,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        }),
        json!({
            "supported_mime_types": [],
            "image_size_limit": 16_777_216,
            "image_matrix_limit": 33_177_600,
            "video_size_limit": 103_809_024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8_294_400,
        }),
        json!({
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2_629_746,
        }),
    )
}

/// `GET /api/v1/instance` (and `/api/v1/instance/`): the V1::Instance entity, still
/// read by older apps and by libraries' version checks.
async fn instance(State(app): State<App>) -> ApiResult<Json<Value>> {
    let f = facts(&app).await?;
    let (statuses, media, polls) = limits();
    Ok(Json(json!({
        "uri": app.urls.domain(),
        "title": f.title,
        "short_description": f.description,
        "description": f.description,
        "email": f.contact_email,
        "version": f.version,
        // Streaming is not served yet; see v2's `configuration.urls.streaming`.
        "urls": { "streaming_api": app.urls.streaming() },
        "stats": {
            "user_count": f.users_total,
            "status_count": f.local_posts,
            "domain_count": f.domain_count,
        },
        "thumbnail": app.urls.instance_thumbnail(),
        "languages": ["en"],
        "registrations": false,
        "approval_required": false,
        "invites_enabled": false,
        "configuration": {
            "accounts": { "max_featured_tags": 10 },
            "statuses": statuses,
            "media_attachments": media,
            "polls": polls,
        },
        "contact_account": f.contact_account.as_ref().map(|a| to_mastodon::account(&app.urls, a)),
        "rules": [],
    })))
}

/// `GET /api/v1/instance/peers`, `/activity` and `/rules`: nothing to list yet.
async fn empty_list() -> Json<Vec<Value>> {
    Json(Vec::new())
}

/// `GET /api/v1/instance/extended_description`: none set, which Mastodon renders as
/// an empty text without a date.
async fn extended_description() -> Json<Value> {
    Json(json!({ "updated_at": null, "content": "" }))
}

/// `GET /api/v1/instance/domain_blocks`: Mastodon keeps the list private by default
/// and answers 404 then; so does Fulmar.
async fn domain_blocks() -> ApiError {
    ApiError::not_found()
}

/// `GET /api/v1/instance/translation_languages`: translation is not available.
async fn translation_languages() -> Json<Value> {
    Json(json!({}))
}
