//! NodeInfo discovery and documents.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::core::time::now_ms;
use crate::http::{ApiError, ApiResult};
use crate::state::App;

/// `GET /.well-known/nodeinfo`
pub async fn discovery(State(app): State<App>) -> Json<serde_json::Value> {
    Json(fulmar_federation::nodeinfo::discovery(
        app.urls.base(),
        &app.urls.instance_actor(),
    ))
}

/// `GET /nodeinfo/2.0` and `/nodeinfo/2.1` (with or without `.json`).
pub async fn nodeinfo(State(app): State<App>, Path(version): Path<String>) -> ApiResult<Response> {
    let version = version.strip_suffix(".json").unwrap_or(&version);
    if version != "2.0" && version != "2.1" {
        return Err(ApiError::not_found());
    }
    let usage = fulmar_store::instance::usage(&app.db, now_ms()).await?;
    let info = fulmar_federation::nodeinfo::NodeInfo {
        software_version: env!("CARGO_PKG_VERSION").to_owned(),
        // Accounts are created by the operator (`fulmar admin create-user`) until
        // sign-up through the API exists.
        open_registrations: false,
        users_total: usage.users_total,
        active_month: usage.active_month,
        active_halfyear: usage.active_halfyear,
        local_posts: usage.local_posts,
        node_name: app.urls.domain().to_owned(),
        node_description: String::new(),
    };
    let doc = fulmar_federation::nodeinfo::document(&info, version);
    Ok((
        [(
            header::CONTENT_TYPE,
            fulmar_federation::nodeinfo::content_type(version),
        )],
        Json(doc),
    )
        .into_response())
}
