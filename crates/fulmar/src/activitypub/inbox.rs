//! `POST /users/NAME/inbox`, `POST /inbox` (the shared inbox) and `POST /actor/inbox`
//! (the instance actor's): where other servers deliver activities.
//!
//! A delivery is checked as far as it can be without acting on it (content type, size,
//! JSON, the activity's envelope, the HTTP signature and that its key belongs to the
//! activity's actor), stored as an `inbox` job, and only then answered 202 Accepted:
//! once the answer is sent the activity survives a crash. The job is processed by
//! `worker::inbox` through `activitypub::receive`. A bad delivery gets a 4xx with the
//! reason in a JSON body, and a line in the log.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fulmar_federation::from_activitypub::parse_activity;
use serde_json::Value;

use super::signed;
use crate::core::resolve::authority;
use crate::http::{ApiError, ApiResult};
use crate::state::App;
use crate::worker::inbox::{self as queue, InboxJob};

/// Content types an inbox takes: ActivityPub's two, and plain JSON, which some small
/// servers send.
fn acceptable_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/activity+json" | "application/ld+json" | "application/json"
    )
}

/// A personal inbox.
pub async fn user_inbox(
    State(app): State<App>,
    Path(username): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let user = fulmar_store::accounts::local_by_username(&app.db, &username)
        .await?
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    receive(&app, Some(user.username), &method, &uri, &headers, &body).await
}

/// The shared inbox and the instance actor's inbox.
pub async fn shared_inbox(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    receive(&app, None, &method, &uri, &headers, &body).await
}

async fn receive(
    app: &App,
    recipient: Option<String>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let result = check_and_store(app, recipient, method, uri, headers, body).await;
    if let Err(e) = &result {
        tracing::info!(
            status = e.status.as_u16(),
            path = %uri.path(),
            "inbox refused a delivery: {}",
            e.error
        );
    }
    result
}

async fn check_and_store(
    app: &App,
    recipient: Option<String>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    if !acceptable_type(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "An inbox takes application/activity+json or application/ld+json",
        ));
    }
    let activity: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The body is not JSON: {e}")))?;
    let envelope = parse_activity(&activity)
        .map_err(|e| ApiError::bad_request(format!("Not an activity: {e}")))?;
    let signed = signed::parse(app, method, uri, headers, body)?;
    let signer = match signed::verify(app, &signed).await {
        Ok(signer) => signer,
        // An actor deleting itself: its key is gone with it, so the signature cannot be
        // checked. Mastodon drops these quietly, and so does Fulmar; answering 202 stops
        // the sender from retrying for days.
        Err(e)
            if envelope.kind == "Delete"
                && envelope.object_id.as_deref() == Some(envelope.actor.as_str())
                && e.status == StatusCode::UNAUTHORIZED =>
        {
            return Ok(StatusCode::ACCEPTED.into_response());
        }
        Err(e) => return Err(e),
    };
    // The signature vouches for the activity only when its key belongs to the actor.
    // A Create or Update forwarded by another server (Mastodon forwards replies to a
    // thread's followers) is kept, but marked: its object is then fetched from its own
    // server rather than believed.
    let forwarded = signer.owner != envelope.actor;
    if forwarded {
        let forwardable = matches!(envelope.kind.as_str(), "Create" | "Update")
            && envelope
                .object_id
                .as_deref()
                .is_some_and(|o| authority(o) == authority(&envelope.actor));
        if !forwardable {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Signature: the key's owner is not the activity's actor",
            ));
        }
    }
    queue::enqueue(
        &app.db,
        &InboxJob {
            activity,
            signer: signer.owner,
            forwarded,
            recipient,
        },
    )
    .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
