//! `POST /users/NAME/inbox`, `POST /inbox` (the shared inbox) and `POST /actor/inbox`
//! (the instance actor's): where other servers deliver activities.
//!
//! A delivery is checked as far as it can be without acting on it (content type, size,
//! JSON, the activity's envelope, the HTTP signature and that its key belongs to the
//! activity's actor), stored, and only then answered 202 Accepted: once the answer is
//! sent the activity survives a crash. A plain `Create` (a followed account's new
//! post) is stored as its status at once, by the group commit of `worker::inbox`;
//! anything else is stored as an `inbox` job, processed by `worker::inbox` through
//! `activitypub::receive`. A bad delivery gets a 4xx with the
//! reason in a JSON body, and a line in the log: 415 for another content type, 413
//! past 1 MB (the router's body limit), 400 for bad JSON or no activity, 403 from a
//! blocked domain, 429 past the origin's allowance (`activitypub::limits`), 401 for
//! a missing, malformed, expired or forged signature, a key that cannot be fetched,
//! or a key whose owner is not the actor.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fulmar_federation::from_activitypub::parse_activity;
use serde_json::Value;

use super::limits::InboxLimits;
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
    match check_and_store(app, recipient, method, uri, headers, body).await {
        Ok(response) => Ok(response),
        Err(Refusal { error, retry_after }) => {
            tracing::info!(
                status = error.status.as_u16(),
                path = %uri.path(),
                "inbox refused a delivery: {}",
                error.error
            );
            let mut response = error.into_response();
            if let Some(secs) = retry_after {
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Ok(response)
        }
    }
}

/// Why a delivery was refused, and when the sender may try again (for 429).
struct Refusal {
    error: ApiError,
    retry_after: Option<u64>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        // The one 429 made outside this module: every key-fetch slot of the sender's
        // host stayed busy. Those fetches end within the key-fetch timeout, so a short
        // wait is enough.
        let retry_after = (error.status == StatusCode::TOO_MANY_REQUESTS).then_some(30);
        Refusal { error, retry_after }
    }
}

impl From<fulmar_store::StoreError> for Refusal {
    fn from(e: fulmar_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::core::CoreError> for Refusal {
    fn from(e: crate::core::CoreError) -> Self {
        ApiError::from(e).into()
    }
}

fn blocked(host: &str) -> Refusal {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("{host} is blocked by this server"),
    )
    .into()
}

/// The checks, cheapest first, so that a bad delivery costs as little as possible:
/// nothing is fetched before the content type, the JSON, the envelope, the domain
/// blocks, the signature's form and date, and the origin's allowance all pass.
async fn check_and_store(
    app: &App,
    recipient: Option<String>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Refusal> {
    if !acceptable_type(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "An inbox takes application/activity+json or application/ld+json",
        )
        .into());
    }
    // serde_json refuses nesting deeper than 128 levels, so a body of a million `[`
    // is an error here rather than a stack overflow (tested).
    let activity: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The body is not JSON: {e}")))?;
    let envelope = parse_activity(&activity)
        .map_err(|e| ApiError::bad_request(format!("Not an activity: {e}")))?;
    let actor_host = authority(&envelope.actor).ok_or_else(|| {
        ApiError::bad_request(format!("The actor {:?} is not a URL", envelope.actor))
    })?;
    // A blocked server is turned away before its signature costs anything. This
    // first check reads a copy of the block list; the group commit checks the
    // database again before anything is stored (`domains::BlockList`).
    if app.domain_blocks.blocked(&app.db, &actor_host).await? {
        return Err(blocked(&actor_host));
    }
    let signed = signed::parse(app, method, uri, headers, body)?;
    let key_host = signed::key_host(&signed).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!("Signature: the key id {:?} is not a URL", signed.key_id()),
        )
    })?;
    if key_host != actor_host && app.domain_blocks.blocked(&app.db, &key_host).await? {
        return Err(blocked(&key_host));
    }
    // Counted before the key is fetched, since fetching is what a flood would cost.
    // Both origins count: the key's server signs, the actor's server is named.
    if let Some(over) = app.inbox_limits.hit(&[&key_host, &actor_host]) {
        return Err(Refusal {
            error: ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many deliveries from your server; retry later",
            ),
            retry_after: Some(InboxLimits::retry_after(&over)),
        });
    }
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
        // A server blocked since the copy of the block list was read: its key may not
        // be fetched, which would otherwise be answered 401.
        Err(e) => {
            for host in [&actor_host, &key_host] {
                if crate::core::domains::host_blocked(&app.db, host).await? {
                    return Err(blocked(host));
                }
            }
            return Err(e.into());
        }
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
            )
            .into());
        }
    }
    let hosts = if key_host == actor_host {
        vec![actor_host]
    } else {
        vec![actor_host, key_host]
    };
    let accepted = queue::accept(
        app,
        InboxJob {
            activity,
            signer: signer.owner,
            forwarded,
            recipient,
        },
        hosts,
        body,
    )
    .await?;
    match accepted {
        queue::Accepted::Stored => Ok(StatusCode::ACCEPTED.into_response()),
        queue::Accepted::Blocked(host) => Err(blocked(&host)),
    }
}
