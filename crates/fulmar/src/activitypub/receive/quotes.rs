//! The consent side of quote posts (FEP-044f, as Mastodon 4.5 speaks it):
//! `QuoteRequest` for a local status, the `Accept` or `Reject` answering one of ours,
//! and the `Delete` of a `QuoteAuthorization` that revokes an approval.

use fulmar_federation::from_activitypub::id_of;
use fulmar_store::quotes as store;
use fulmar_store::statuses::StatusRow;

use super::{ignored, invalid, ReceiveResult, Received};
use crate::core::notifications::{notify, Kind};
use crate::core::quotes::{self, ACCEPTED, REJECTED, REVOKED};
use crate::core::resolve::{self, authority};
use crate::worker::outbox::{self, Event};

/// `QuoteRequest{actor, object: our status, instrument: their quoting object}`.
/// Approved automatically when the status's policy lets the actor quote it (the
/// answer is an `Accept` whose `result` is an authorization served here), rejected
/// otherwise: like Mastodon 4.5, Fulmar has no manual approval.
pub async fn request(r: &Received<'_>) -> ReceiveResult<()> {
    let app = r.app;
    let a = &r.activity;
    let request_id =
        a.id.clone()
            .ok_or_else(|| invalid("a QuoteRequest without an id"))?;
    if authority(&request_id) != authority(&r.actor.uri) {
        return Err(invalid(
            "the QuoteRequest's id is on another host than its actor",
        ));
    }
    let object = a
        .object_id
        .clone()
        .ok_or_else(|| invalid("the QuoteRequest has no object"))?;
    let instrument =
        id_of(&a.instrument).ok_or_else(|| invalid("the QuoteRequest has no instrument"))?;
    if authority(&instrument) != authority(&r.actor.uri) {
        return Err(invalid(
            "the quoting object is on another host than the actor",
        ));
    }
    if !object.starts_with(app.urls.base()) {
        return Err(ignored("a QuoteRequest for a status of another server"));
    }
    let quoted = match resolve::resolve_status(app, &object).await {
        Ok(s) => s,
        Err(resolve::ResolveError::NotFound) => {
            return Err(ignored("a QuoteRequest for a status that does not exist"))
        }
        Err(e) => return Err(e.into()),
    };
    if quoted.deleted_at.is_some() || !matches!(quoted.visibility.as_str(), "public" | "unlisted") {
        return Err(ignored("a QuoteRequest for a status that cannot be quoted"));
    }
    let facts = store::facts(&app.db, quoted.id)
        .await?
        .ok_or_else(|| ignored("the quoted status is gone"))?;
    let approval =
        quotes::approval_for(&app.db, &quoted, &facts.quote_policy, Some(r.actor.id)).await?;
    if approval != "automatic" {
        // The quoting object may be stored here already (it was delivered to a
        // follower): it shows as rejected.
        if let Some(quoting) = fulmar_store::remote::status_by_uri(&app.db, &instrument).await? {
            if quoting.quote_of_id == Some(quoted.id) && quoting.account_id == r.actor.id {
                store::set_state(&app.db, quoting.id, REJECTED, None).await?;
            }
        }
        outbox::emit(
            &app.db,
            Event::RejectQuote {
                account_id: quoted.account_id,
                requester_id: r.actor.id,
                quoted_status_id: quoted.id,
                request_uri: request_id,
                instrument,
            },
        )
        .await?;
        return Ok(());
    }
    // The quoting object, fetched from its origin (an embedded copy is not trusted).
    let quoting = resolve::resolve_status(app, &instrument).await?;
    if quoting.quote_of_id != Some(quoted.id) || quoting.account_id != r.actor.id {
        return Err(invalid(
            "the quoting object does not quote this status, or is not by the actor",
        ));
    }
    let before = store::facts(&app.db, quoting.id).await?;
    let auth = quotes::issue(&app.db, &app.urls, &quoted, &quoting, &quoting.uri).await?;
    if auth.revoked_at.is_some() {
        // Revoked earlier: a repeated request does not bring the approval back.
        store::set_state(&app.db, quoting.id, REVOKED, None).await?;
        return Err(ignored("a QuoteRequest for a quote that was revoked"));
    }
    if before.and_then(|f| f.quote_state).as_deref() != Some(ACCEPTED) {
        notify(
            &app.db,
            quoted.account_id,
            r.actor.id,
            Kind::Quote,
            Some(quoting.id),
        )
        .await?;
    }
    outbox::emit(
        &app.db,
        Event::AcceptQuote {
            authorization_id: auth.id,
            request_uri: request_id,
        },
    )
    .await?;
    Ok(())
}

/// The local status whose QuoteRequest an Accept or Reject answers, if it answers
/// one: the object is the request, by id or embedded.
pub async fn answered(r: &Received<'_>) -> ReceiveResult<Option<StatusRow>> {
    let Some(id) = r.activity.object_id.as_deref() else {
        return Ok(None);
    };
    Ok(store::by_request_uri(&r.app.db, id).await?)
}

/// The quoted author, and only they, answers a QuoteRequest.
async fn check_answerer(r: &Received<'_>, quoting: &StatusRow) -> ReceiveResult<StatusRow> {
    let quoted_id = quoting
        .quote_of_id
        .ok_or_else(|| ignored("the status no longer quotes anything"))?;
    let quoted = fulmar_store::statuses::by_id(&r.app.db, quoted_id)
        .await?
        .ok_or_else(|| ignored("the quoted status is gone"))?;
    if quoted.account_id != r.actor.id {
        return Err(invalid("only the quoted author may answer a QuoteRequest"));
    }
    Ok(quoted)
}

/// `Accept{object: our QuoteRequest, result: QuoteAuthorization}`: the authorization
/// is fetched and verified, the quote becomes accepted, and the quoting Note is sent
/// again as an Update that carries `quoteAuthorization`.
pub async fn accept(r: &Received<'_>, quoting: StatusRow) -> ReceiveResult<()> {
    let quoted = check_answerer(r, &quoting).await?;
    let auth = r
        .activity
        .result
        .clone()
        .ok_or_else(|| invalid("an Accept of a QuoteRequest without a result"))?;
    quotes::verify_remote(r.app, &auth, &r.actor.uri, &quoting.uri, &quoted.uri)
        .await
        .map_err(invalid)?;
    store::set_state(&r.app.db, quoting.id, ACCEPTED, Some(&auth)).await?;
    outbox::emit(
        &r.app.db,
        Event::UpdateStatus {
            status_id: quoting.id,
        },
    )
    .await?;
    Ok(())
}

/// `Reject{object: our QuoteRequest}`.
pub async fn reject(r: &Received<'_>, quoting: StatusRow) -> ReceiveResult<()> {
    check_answerer(r, &quoting).await?;
    store::set_state(&r.app.db, quoting.id, REJECTED, None).await?;
    Ok(())
}

/// A `Delete` of a QuoteAuthorization this server knows: the quotes it approved
/// become revoked. Returns false when the object is no authorization known here.
pub async fn delete_authorization(r: &Received<'_>) -> ReceiveResult<bool> {
    let Some(id) = r.activity.object_id.as_deref() else {
        return Ok(false);
    };
    let approved = store::by_authorization_uri(&r.app.db, id).await?;
    if approved.is_empty() {
        return Ok(false);
    }
    if authority(id) != authority(&r.actor.uri) {
        return Err(invalid("a Delete of an authorization on another host"));
    }
    for quoting in approved {
        let Some(quoted_id) = quoting.quote_of_id else {
            continue;
        };
        let quoted = fulmar_store::statuses::by_id(&r.app.db, quoted_id).await?;
        if quoted.is_some_and(|q| q.account_id == r.actor.id) {
            store::set_state(&r.app.db, quoting.id, REVOKED, None).await?;
        }
    }
    Ok(true)
}
