//! Server-to-server endpoints: discovery (WebFinger, host-meta, NodeInfo), actors and
//! their collections. Handlers here speak ActivityPub and never touch Mastodon API
//! entities; they turn rows into wire documents through `to_activitypub`.

pub mod actor;
pub mod collections;
pub mod host_meta;
pub mod inbox;
pub mod limits;
pub mod nodeinfo;
pub mod receive;
pub mod signed;
pub mod statuses;
pub mod to_activitypub;
pub mod webfinger;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger::webfinger))
        .route("/.well-known/host-meta", get(host_meta::host_meta))
        .route("/.well-known/nodeinfo", get(nodeinfo::discovery))
        .route("/nodeinfo/{version}", get(nodeinfo::nodeinfo))
        .route("/actor", get(actor::instance_actor))
        .route("/actor/inbox", post(inbox::shared_inbox))
        .route("/inbox", post(inbox::shared_inbox))
        .route("/users/{username}/inbox", post(inbox::user_inbox))
        .route("/actor/outbox", get(collections::instance_outbox))
        .route("/users/{username}", get(actor::actor))
        .route("/users/{username}/outbox", get(collections::outbox))
        .route("/users/{username}/statuses/{id}", get(statuses::status))
        .route(
            "/users/{username}/quote_authorizations/{id}",
            get(statuses::quote_authorization),
        )
        .route(
            "/users/{username}/statuses/{id}/replies",
            get(collections::replies),
        )
        .route(
            "/users/{username}/statuses/{id}/context",
            get(collections::context),
        )
        .route("/users/{username}/followers", get(collections::followers))
        .route("/users/{username}/following", get(collections::following))
        .route(
            "/users/{username}/collections/featured",
            get(collections::featured),
        )
        .route(
            "/users/{username}/collections/tags",
            get(collections::featured_tags),
        )
}

/// A JSON body served as `application/activity+json`. Mastodon refuses fetched
/// documents of any other type.
pub struct ActivityJson<T>(pub T);

impl<T: Serialize> IntoResponse for ActivityJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [
                    (header::CONTENT_TYPE, fulmar_federation::ACTIVITY_JSON),
                    (header::VARY, "Accept"),
                ],
                body,
            )
                .into_response(),
            Err(e) => crate::http::ApiError::from(crate::core::CoreError::Internal(e.into()))
                .into_response(),
        }
    }
}
