//! Quote posts (FEP-044f, Mastodon 4.5) and their consent model.
//!
//! A quote has a state on the quoting status: `pending` until the quoted author's
//! server approves it, then `accepted`, or `rejected`, or `revoked` when the quoted
//! author withdraws the approval later. Approval is a `QuoteAuthorization` document
//! published by the quoted author's server; a quote is only shown with its quoted
//! status once it is accepted.
//!
//! Who may quote a status is its quote policy: `public` (anyone, approved
//! automatically), `followers` (the author's followers, automatically) or `nobody`.
//! Mastodon 4.5 offers no manual approval yet, and neither does Fulmar: what is not
//! approved automatically is rejected.
//!
//! Received quotes name the quoted object in one of several properties (`quote`,
//! `quoteUrl`, `quoteUri`, `_misskey_quote`); the federation parser reads them into
//! `RemoteObject::quote`. Resolving is bounded to one level: the quoted status is
//! fetched and stored, but a quote *it* carries is only linked when that status is
//! already known, so that a chain of quotes cannot make one delivery fetch an
//! unbounded number of documents.

use std::future::Future;
use std::pin::Pin;

use fulmar_store::accounts::AccountRow;
use fulmar_store::quotes::{self as store, AuthorizationRow};
use fulmar_store::remote;
use fulmar_store::statuses::StatusRow;
use fulmar_store::Db;
use serde_json::Value;

use super::error::{CoreError, CoreResult};
use super::ids::{next_id, parse_id};
use super::notifications::{notify, Kind};
use super::resolve::{self, authority};
use super::time::now_ms;
use super::urls::Urls;
use crate::state::App;
use crate::worker::outbox::{self, Event};

pub const PENDING: &str = "pending";
pub const ACCEPTED: &str = "accepted";
pub const REJECTED: &str = "rejected";
pub const REVOKED: &str = "revoked";

/// The quote policies a client may choose (`quote_approval_policy`).
pub const POLICIES: &[&str] = &["public", "followers", "nobody"];

/// Reads a client's `quote_approval_policy`; absent or empty is `default`.
pub fn parse_policy(text: Option<&str>, default: &str) -> CoreResult<&'static str> {
    let text = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(default);
    POLICIES
        .iter()
        .find(|p| **p == text)
        .copied()
        .ok_or_else(|| {
            CoreError::Invalid("quote_approval_policy must be public, followers or nobody".into())
        })
}

/// The policy that applies to a status: a followers-only or direct status can be
/// quoted by nobody but its author, whatever was chosen for it, because a quote would
/// show it to people it was not addressed to.
pub fn effective_policy<'a>(status: &StatusRow, stored: &'a str) -> &'a str {
    match status.visibility.as_str() {
        "private" | "direct" => "nobody",
        _ => stored,
    }
}

/// How `viewer` may quote `quoted` under `policy`: `automatic`, `denied`, or
/// `unknown` for an anonymous viewer (Mastodon's `current_user` values; `manual` is
/// never given, as there is no manual approval).
pub async fn approval_for(
    db: &Db,
    quoted: &StatusRow,
    policy: &str,
    viewer: Option<i64>,
) -> CoreResult<&'static str> {
    let follows = match viewer {
        Some(v) if needs_follow_check(quoted, policy, v) => {
            fulmar_store::follows::exists(db, v, quoted.account_id).await?
        }
        _ => false,
    };
    Ok(approval_given(quoted, policy, viewer, follows))
}

/// True when [`approval_given`] depends on whether `viewer` follows the author of
/// `quoted`, so that callers look the follow up only then.
pub fn needs_follow_check(quoted: &StatusRow, policy: &str, viewer: i64) -> bool {
    viewer != quoted.account_id && effective_policy(quoted, policy) == "followers"
}

/// [`approval_for`] with the follow already known: `follows` says whether `viewer`
/// follows the author of `quoted` (only read when [`needs_follow_check`]).
pub fn approval_given(
    quoted: &StatusRow,
    policy: &str,
    viewer: Option<i64>,
    follows: bool,
) -> &'static str {
    let Some(viewer) = viewer else {
        return "unknown";
    };
    if viewer == quoted.account_id {
        return "automatic";
    }
    match effective_policy(quoted, policy) {
        "public" => "automatic",
        "followers" if follows => "automatic",
        _ => "denied",
    }
}

/// What a new local status quotes, decided before it is stored.
pub struct Planned {
    pub quoted: StatusRow,
    pub state: &'static str,
    /// The id of the QuoteRequest to send (remote quoted statuses only).
    pub request_uri: Option<String>,
}

/// Checks that `author` may quote the status `quoted_id` and works out the state the
/// quote starts in. As in Mastodon, a status one may not see, a reblog, a
/// followers-only or direct status of someone else, or a status whose policy denies
/// the author cannot be quoted (422).
pub async fn plan_local(
    db: &Db,
    author: &AccountRow,
    quoted_id: &str,
    status_uri: &str,
) -> CoreResult<Planned> {
    let refused = |m: &'static str| CoreError::Invalid(m.into());
    let quoted = match super::statuses::find_visible(db, quoted_id, Some(author.id)).await {
        Ok(row) => row,
        Err(CoreError::NotFound) => return Err(refused("The quoted post was not found")),
        Err(e) => return Err(e),
    };
    if quoted.reblog_of_id.is_some() {
        return Err(refused("A reblog cannot be quoted"));
    }
    let facts = store::facts(db, quoted.id)
        .await?
        .ok_or(CoreError::NotFound)?;
    if approval_for(db, &quoted, &facts.quote_policy, Some(author.id)).await? != "automatic" {
        return Err(refused("You are not allowed to quote this post"));
    }
    // A quote of one's own status, or of a local status the policy lets the author
    // quote, is approved at once; a remote status's server is asked.
    let (state, request_uri) = if quoted.local || quoted.account_id == author.id {
        (ACCEPTED, None)
    } else {
        (PENDING, Some(format!("{status_uri}#quote_request")))
    };
    Ok(Planned {
        quoted,
        state,
        request_uri,
    })
}

/// What follows the storing of a new local quote: the authorization and notification
/// for a local quoted status, the QuoteRequest for a remote one.
pub async fn after_local(
    db: &Db,
    urls: &Urls,
    status: &StatusRow,
    planned: &Planned,
) -> CoreResult<()> {
    let quoted = &planned.quoted;
    if planned.state == PENDING {
        return outbox::emit(
            db,
            Event::QuoteRequest {
                status_id: status.id,
            },
        )
        .await;
    }
    if quoted.local && quoted.account_id != status.account_id {
        issue(db, urls, quoted, status, &status.uri).await?;
        notify(
            db,
            quoted.account_id,
            status.account_id,
            Kind::Quote,
            Some(status.id),
        )
        .await?;
    }
    Ok(())
}

/// Issues (or finds again) the authorization of a quote of the local status
/// `quoted`, and marks the quote accepted with it.
pub async fn issue(
    db: &Db,
    urls: &Urls,
    quoted: &StatusRow,
    quoting: &StatusRow,
    quoting_uri: &str,
) -> CoreResult<AuthorizationRow> {
    let auth = store::issue(
        db,
        &AuthorizationRow {
            id: next_id(),
            quoted_status_id: quoted.id,
            account_id: quoted.account_id,
            quoting_status_id: quoting.id,
            quoting_uri: quoting_uri.to_owned(),
            quoting_account_id: quoting.account_id,
            created_at: now_ms(),
            revoked_at: None,
        },
    )
    .await?;
    let author = fulmar_store::accounts::by_id(db, quoted.account_id)
        .await?
        .ok_or(CoreError::NotFound)?;
    let uri = urls.quote_authorization(&author.username, auth.id);
    store::set_state(db, quoting.id, ACCEPTED, Some(&uri)).await?;
    Ok(auth)
}

/// The author of `quoted` withdraws the approval of the quote `quoting_id` (`POST
/// /api/v1/statuses/:id/quotes/:quoting_status_id/revoke`). The quote becomes
/// `revoked` here, the authorization stops being served, and the quoting server is
/// told with a `Delete` of the authorization. Returns the quoting status.
pub async fn revoke(
    db: &Db,
    me: &AccountRow,
    quoted_id: &str,
    quoting_id: &str,
) -> CoreResult<StatusRow> {
    let quoted = super::statuses::find_visible(db, quoted_id, Some(me.id)).await?;
    if quoted.account_id != me.id {
        return Err(CoreError::Forbidden);
    }
    let quoting_id = parse_id(quoting_id).ok_or(CoreError::NotFound)?;
    let quoting = fulmar_store::statuses::by_id(db, quoting_id)
        .await?
        .filter(|s| s.quote_of_id == Some(quoted.id))
        .ok_or(CoreError::NotFound)?;
    store::set_state(db, quoting.id, REVOKED, None).await?;
    if let Some(auth) = store::authorization_for(db, quoting.id).await? {
        if store::revoke(db, auth.id, now_ms()).await? && !quoting.local {
            outbox::emit(
                db,
                Event::RevokeQuote {
                    authorization_id: auth.id,
                },
            )
            .await?;
        }
    }
    fulmar_store::statuses::by_id(db, quoting.id)
        .await?
        .ok_or(CoreError::NotFound)
}

/// Changes who may quote one of the author's own statuses (`PUT
/// /api/v1/statuses/:id/interaction_policy`); the status is sent again as an Update
/// so that other servers learn the new `interactionPolicy`.
pub async fn set_policy(
    db: &Db,
    me: &AccountRow,
    id: &str,
    policy: Option<&str>,
) -> CoreResult<StatusRow> {
    let mut status = super::statuses::find_visible(db, id, Some(me.id)).await?;
    if status.account_id != me.id || status.reblog_of_id.is_some() {
        return Err(CoreError::NotFound);
    }
    let facts = store::facts(db, status.id)
        .await?
        .ok_or(CoreError::NotFound)?;
    let policy = parse_policy(policy, &facts.quote_policy)?;
    if policy != facts.quote_policy {
        store::set_policy(db, status.id, policy).await?;
        outbox::emit(
            db,
            Event::UpdateStatus {
                status_id: status.id,
            },
        )
        .await?;
        // The row was read before the change, and the response shows the new policy.
        status.quote_policy = policy.to_owned();
    }
    Ok(status)
}

// ---- received quotes ----

tokio::task_local! {
    /// Set while the status a received quote points at is being resolved: storing
    /// that status must not fetch what it quotes in turn.
    static RESOLVING_QUOTE: ();
}

/// Links a just-stored remote status to the status its object quotes, if any, with
/// the state its authorization earns it. A quoted status that cannot be resolved
/// (gone, refused, unreachable) leaves the status unquoted: the quote is an addition
/// to the post, never a reason to drop it. Returns the id of the quoted status when
/// the link was stored.
///
/// The future is boxed (and declared `Send`) because resolving stores the quoted
/// status, which comes back here: the compiler needs the cycle broken by a named type.
pub fn link_received<'a>(
    app: &'a App,
    row: &'a StatusRow,
    quote_uri: Option<&'a str>,
    authorization: Option<&'a str>,
) -> Pin<Box<dyn Future<Output = Option<i64>> + Send + 'a>> {
    Box::pin(link(app, row, quote_uri, authorization))
}

async fn link(
    app: &App,
    row: &StatusRow,
    quote_uri: Option<&str>,
    authorization: Option<&str>,
) -> Option<i64> {
    let uri = quote_uri.filter(|u| *u != row.uri)?;
    let quoted = if RESOLVING_QUOTE.try_with(|_| ()).is_ok() {
        // Already one level down: only a status that is known links.
        remote::status_by_uri(&app.db, uri).await.ok().flatten()
    } else {
        match RESOLVING_QUOTE
            .scope((), resolve::resolve_status(app, uri))
            .await
        {
            Ok(quoted) => Some(quoted),
            Err(e) => {
                tracing::info!(status = row.id, quote = uri, error = %e, "quoted status not resolved");
                None
            }
        }
    };
    let quoted = quoted.filter(|q| q.id != row.id && q.reblog_of_id.is_none())?;
    let verdict = received_state(app, row, &quoted, authorization).await;
    let (state, auth) = match verdict {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(status = row.id, error = %e, "quote authorization not verified");
            (PENDING, None)
        }
    };
    let stored = async {
        fulmar_store::statuses::set_quote(&app.db, row.id, quoted.id, PENDING).await?;
        if state != PENDING {
            store::set_state(&app.db, row.id, state, auth.as_deref()).await?;
        }
        Ok::<_, fulmar_store::StoreError>(())
    };
    match stored.await {
        Ok(()) => Some(quoted.id),
        Err(e) => {
            tracing::warn!(status = row.id, error = %e, "storing a quote failed");
            None
        }
    }
}

/// The state of a received quote of `quoted` by `row`: accepted when it quotes its
/// own author, or carries an authorization that verifies; otherwise pending, which is
/// what Mastodon 4.5 shows for quotes from servers that do not ask for consent (such
/// as Misskey's `_misskey_quote`).
async fn received_state(
    app: &App,
    row: &StatusRow,
    quoted: &StatusRow,
    authorization: Option<&str>,
) -> Result<(&'static str, Option<String>), String> {
    if quoted.account_id == row.account_id {
        return Ok((ACCEPTED, None));
    }
    let Some(auth) = authorization else {
        return Ok((PENDING, None));
    };
    if quoted.local {
        let issued = own_authorization(app, auth)
            .await
            .ok_or("an authorization this server did not issue")?;
        if issued.revoked_at.is_some() {
            return Ok((REVOKED, None));
        }
        if issued.quoting_uri != row.uri || issued.quoted_status_id != quoted.id {
            return Err("the authorization is for another quote".into());
        }
        return Ok((ACCEPTED, Some(auth.to_owned())));
    }
    let author = fulmar_store::accounts::by_id(&app.db, quoted.account_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the quoted author is gone")?;
    verify_remote(app, auth, &author.uri, &row.uri, &quoted.uri).await?;
    Ok((ACCEPTED, Some(auth.to_owned())))
}

/// One of this server's authorizations, by its URL.
pub async fn own_authorization(app: &App, uri: &str) -> Option<AuthorizationRow> {
    let path = uri.strip_prefix(app.urls.base())?;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (name, id) = match segments[..] {
        ["users", name, "quote_authorizations", id] => (name, parse_id(id)?),
        _ => return None,
    };
    let auth = store::authorization(&app.db, id).await.ok()??;
    let author = fulmar_store::accounts::by_id(&app.db, auth.account_id)
        .await
        .ok()??;
    (author.username == name).then_some(auth)
}

/// Fetches a remote QuoteAuthorization and checks it approves exactly this quote: on
/// the quoted author's host, attributed to the quoted author, naming the quoting
/// object and the quoted one (FEP-044f; Mastodon's `VerifyQuoteService` checks the
/// same).
pub async fn verify_remote(
    app: &App,
    auth_uri: &str,
    quoted_author: &str,
    quoting_uri: &str,
    quoted_uri: &str,
) -> Result<(), String> {
    if authority(auth_uri).is_none() || authority(auth_uri) != authority(quoted_author) {
        return Err("the authorization is not on the quoted author's host".into());
    }
    let doc = resolve::fetch_document(app, auth_uri)
        .await
        .map_err(|e| e.to_string())?;
    check_authorization(&doc, auth_uri, quoted_author, quoting_uri, quoted_uri)
}

/// The checks of [`verify_remote`] on a document already in hand.
pub fn check_authorization(
    doc: &Value,
    auth_uri: &str,
    quoted_author: &str,
    quoting_uri: &str,
    quoted_uri: &str,
) -> Result<(), String> {
    let id_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
    };
    let typed = match &doc["type"] {
        Value::String(t) => t == "QuoteAuthorization",
        Value::Array(ts) => ts.iter().any(|t| t == "QuoteAuthorization"),
        _ => false,
    };
    if !typed {
        return Err("the document is not a QuoteAuthorization".into());
    }
    if id_of(&doc["id"]).as_deref() != Some(auth_uri) {
        return Err("the authorization's id does not match".into());
    }
    if id_of(&doc["attributedTo"]).as_deref() != Some(quoted_author) {
        return Err("the authorization is not by the quoted author".into());
    }
    if id_of(&doc["interactingObject"]).as_deref() != Some(quoting_uri) {
        return Err("the authorization is for another quoting object".into());
    }
    if id_of(&doc["interactionTarget"]).as_deref() != Some(quoted_uri) {
        return Err("the authorization is for another quoted object".into());
    }
    Ok(())
}
