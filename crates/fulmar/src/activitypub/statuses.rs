//! `GET /users/NAME/statuses/ID`: a local status as a `Note`.
//!
//! Public and unlisted statuses are served to anyone. Followers-only and direct ones
//! are served only to a signed fetch (draft-cavage or RFC 9421, checked like an
//! inbox delivery) whose signer may see them: a follower of the author, or an account
//! the status mentions. Anyone else, signed or not, gets 404, as if nothing existed;
//! a signature that does not verify is logged and treated the same.
//!
//! A deleted public or unlisted status answers 410 Gone with a `Tombstone`, so that
//! servers holding a copy drop it; a deleted private one stays a plain 404, which
//! tells nothing about what existed.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::{to_activitypub, ActivityJson};
use crate::http::negotiate::{negotiate, Format};
use crate::http::{ApiError, ApiResult};
use crate::state::App;

pub async fn status(
    State(app): State<App>,
    Path((username, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let format = negotiate(&headers).ok_or_else(|| {
        ApiError::not_acceptable("This URL serves application/activity+json or text/html")
    })?;
    let account = fulmar_store::accounts::local_by_username(&app.db, &username)
        .await?
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let status = fulmar_store::statuses::by_id(&app.db, id)
        .await?
        .filter(|s| s.account_id == account.id && s.local && s.reblog_of_id.is_none())
        .ok_or_else(ApiError::not_found)?;
    let public = matches!(status.visibility.as_str(), "public" | "unlisted");
    if status.deleted_at.is_some() {
        if !public {
            return Err(ApiError::not_found());
        }
        let uri = app.urls.status(&account.username, status.id);
        let tombstone = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": uri,
            "type": "Tombstone",
        });
        return Ok((StatusCode::GONE, ActivityJson(tombstone)).into_response());
    }
    let viewer = if public || format != Format::ActivityJson {
        None
    } else {
        match super::signed::optional_signer(&app, &method, &uri, &headers).await {
            Ok(signer) => signer.map(|s| s.account.id),
            Err(e) => {
                tracing::info!(
                    path = %uri.path(),
                    "a signed fetch of a non-public status failed: {}",
                    e.error
                );
                return Err(ApiError::not_found());
            }
        }
    };
    if !crate::core::visibility::can_see(&app.db, &status, viewer).await? {
        return Err(ApiError::not_found());
    }
    match format {
        Format::Html => {
            Ok(Redirect::to(&app.urls.status_page(&account.username, status.id)).into_response())
        }
        Format::ActivityJson => {
            let mentions: Vec<to_activitypub::Mentioned> =
                fulmar_store::jobs::mentioned_accounts(&app.db, status.id)
                    .await?
                    .into_iter()
                    .map(|(uri, username, domain)| match domain {
                        Some(d) => to_activitypub::Mentioned {
                            acct: format!("@{username}@{d}"),
                            uri,
                        },
                        None => to_activitypub::Mentioned {
                            uri: app.urls.actor(&username),
                            acct: format!("@{username}"),
                        },
                    })
                    .collect();
            let mut note =
                to_activitypub::note_with_mentions(&status, &account, &mentions, &app.urls);
            let quote = quote_of(&app.db, &app.urls, &status).await?;
            to_activitypub::add_quote(&mut note, &quote, &account, &app.urls);
            note["@context"] = fulmar_federation::context::note();
            Ok(ActivityJson(note).into_response())
        }
    }
}

/// The quote facts of a local status, for its Note (see `to_activitypub::add_quote`).
pub(crate) async fn quote_of(
    db: &fulmar_store::Db,
    urls: &crate::core::urls::Urls,
    status: &fulmar_store::statuses::StatusRow,
) -> Result<to_activitypub::QuoteOf, fulmar_store::StoreError> {
    let Some(facts) = fulmar_store::quotes::facts(db, status.id).await? else {
        return Ok(to_activitypub::QuoteOf::default());
    };
    let policy = crate::core::quotes::effective_policy(status, &facts.quote_policy).to_owned();
    let quoted = match facts.quote_of_id {
        Some(id) => fulmar_store::statuses::by_id(db, id).await?,
        None => None,
    };
    let quoted = match quoted {
        Some(q) if q.local => fulmar_store::accounts::by_id(db, q.account_id)
            .await?
            .map(|a| {
                (
                    urls.status(&a.username, q.id),
                    urls.status_page(&a.username, q.id),
                )
            }),
        Some(q) => Some((q.uri.clone(), q.url.clone().unwrap_or(q.uri))),
        None => None,
    };
    // The authorization is published only while the quote stands.
    let authorization = facts
        .quote_authorization_uri
        .filter(|_| facts.quote_state.as_deref() == Some(crate::core::quotes::ACCEPTED));
    Ok(to_activitypub::QuoteOf {
        policy,
        quoted,
        authorization,
    })
}

/// `GET /users/NAME/quote_authorizations/ID`: a QuoteAuthorization this server issued
/// (FEP-044f), for the quoting server and anyone it shows the quote to. A revoked
/// authorization is 404, as in Mastodon: the approval no longer exists.
pub async fn quote_authorization(
    State(app): State<App>,
    Path((username, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let account = fulmar_store::accounts::local_by_username(&app.db, &username)
        .await?
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let auth = fulmar_store::quotes::authorization(&app.db, id)
        .await?
        .filter(|a| a.account_id == account.id && a.revoked_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    let quoted = fulmar_store::statuses::by_id(&app.db, auth.quoted_status_id)
        .await?
        .filter(|s| s.deleted_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    let doc = to_activitypub::quote_authorization(
        &app.urls.quote_authorization(&account.username, auth.id),
        &app.urls.actor(&account.username),
        &auth.quoting_uri,
        &app.urls.status(&account.username, quoted.id),
    );
    Ok(ActivityJson(doc).into_response())
}
