//! `GET /api/v2/instance` (and `/api/v2/instance/`, which Mastodon.py asks for): the
//! Instance entity apps read right after signing in, for limits, version and keys.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::ApiResult;
use crate::mastodon::to_mastodon;
use crate::mastodon::v1::instance::{facts, limits, source_url, MASTODON_API_VERSION};
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v2/instance", get(instance))
        .route("/api/v2/instance/", get(instance))
}

async fn instance(State(app): State<App>) -> ApiResult<Json<Value>> {
    let f = facts(&app).await?;
    let (statuses, mut media, polls) = limits();
    if let Some(m) = media.as_object_mut() {
        m.insert("description_limit".into(), json!(1500));
    }
    let thumbnail = app.urls.instance_thumbnail();
    Ok(Json(json!({
        "domain": app.urls.domain(),
        "title": f.title,
        "version": f.version,
        "source_url": source_url(&app),
        "description": f.description,
        "usage": { "users": { "active_month": f.active_month } },
        "thumbnail": {
            "url": thumbnail,
            "blurhash": null,
            "versions": { "@1x": thumbnail, "@2x": thumbnail },
        },
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {
                // The WebSocket streaming API is not served yet; this is where it
                // will be. Apps that find it unreachable fall back to refreshing
                // timelines and notifications by polling (Elk, Phanpy, Ivory and
                // Tusky reconnect with backoff in the meantime).
                "streaming": app.urls.streaming(),
                "status": null,
            },
            "vapid": { "public_key": f.vapid_key },
            "accounts": { "max_featured_tags": 10, "max_pinned_statuses": 5 },
            "statuses": statuses,
            "media_attachments": media,
            "polls": polls,
            "translation": { "enabled": false },
        },
        "registrations": {
            // Accounts are created by the operator (`fulmar admin create-user`).
            "enabled": false,
            "approval_required": false,
            "message": null,
            "url": null,
        },
        "api_versions": { "mastodon": MASTODON_API_VERSION },
        "contact": {
            "email": f.contact_email,
            "account": f.contact_account.as_ref().map(|a| to_mastodon::account(&app.urls, a)),
        },
        "rules": [],
    })))
}
