//! Create, Update and Delete of statuses (Note, Question, Article, Page, Image, Video,
//! Event, Audio), with Mastodon's rules:
//!
//! - a `Create` is stored only when it concerns someone here: a local account follows
//!   the author, it mentions or addresses a local account (or was delivered to one's
//!   personal inbox), or it replies to a local status or to someone a local account
//!   follows. Anything else is dropped, which keeps unsolicited spam out;
//! - the object must be the actor's own: attributed to the actor, its id on the
//!   actor's host. A forwarded activity (signed by someone else) is not trusted: its
//!   object is fetched from its origin and that is what is stored;
//! - `Update` and `Delete` act only on a stored status of the actor's; an unknown one
//!   is ignored.
//!
//! Storing goes through [`remote_status::store_remote_object`], the same path as a
//! fetched status.

use fulmar_federation::from_activitypub::OBJECT_TYPES;
use fulmar_store::accounts::AccountRow;
use fulmar_store::statuses::StatusRow;

use super::{ignored, invalid, ReceiveError, ReceiveResult, Received};
use crate::core::notifications::{notify, Kind};
use crate::core::remote_status::{self, known_status, ObjectDoc};
use crate::core::resolve::{self, authority};
use crate::core::time::now_ms;
use crate::state::App;

/// The activity's object as a document to store: the embedded object, or (when it is
/// only an id, or the activity was forwarded) the object fetched from its origin.
async fn object_doc(r: &Received<'_>) -> ReceiveResult<ObjectDoc> {
    let a = &r.activity;
    if let Some(kind) = a.object_type.as_deref() {
        if !OBJECT_TYPES.contains(&kind) {
            return Err(ignored(format!("{kind} objects are not shown")));
        }
    }
    let id = a
        .object_id
        .clone()
        .ok_or_else(|| invalid("the activity has no object"))?;
    if authority(&id) != authority(&r.actor.uri) {
        return Err(invalid("the object is not on the actor's host"));
    }
    // A bare id, or a stub without a type, is only a reference: fetch what it names.
    let embedded = a.object.is_object() && a.object_type.is_some();
    let mut doc = if r.forwarded || !embedded {
        resolve::fetch_object(r.app, &id).await?
    } else {
        remote_status::read_object(&a.object).map_err(|e| invalid(e.to_string()))?
    };
    if doc.obj.id != id && authority(&doc.obj.id) != authority(&r.actor.uri) {
        return Err(invalid("the fetched object is not on the actor's host"));
    }
    if doc.obj.attributed_to != r.actor.uri {
        return Err(invalid("the object is attributed to someone else"));
    }
    // Addressing may sit on the activity only (as Mastodon reads it, the object's
    // `to`/`cc` when present, else the activity's).
    if doc.obj.to.is_empty() && doc.obj.cc.is_empty() {
        doc.obj.to = a.to.clone();
        doc.obj.cc = a.cc.clone();
    }
    Ok(doc)
}

/// Whether an object concerns a local account (Mastodon's `related_to_local_activity?`).
async fn concerns_local_accounts(r: &Received<'_>, doc: &ObjectDoc) -> ReceiveResult<bool> {
    let app = r.app;
    if r.recipient.is_some() {
        return Ok(true);
    }
    if fulmar_store::remote::has_local_followers(&app.db, r.actor.id).await? {
        return Ok(true);
    }
    let obj = &doc.obj;
    let targets = obj.mentions.iter().chain(&obj.to).chain(&obj.cc);
    for target in targets.take(2 * remote_status::MAX_TAGS) {
        if let Some(name) = app.urls.username_of(target) {
            if fulmar_store::accounts::local_by_username(&app.db, &name)
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
    }
    if let Some(parent_uri) = obj.in_reply_to.as_deref() {
        if let Some(parent) = known_status(app, parent_uri).await? {
            if parent.local
                || fulmar_store::remote::has_local_followers(&app.db, parent.account_id).await?
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Tells local accounts they were mentioned, unless they block or mute the author.
async fn notify_mentions(
    app: &App,
    author: &AccountRow,
    status_id: i64,
    account_ids: &[i64],
) -> ReceiveResult<()> {
    for &account_id in account_ids {
        let Some(acc) = fulmar_store::accounts::by_id(&app.db, account_id).await? else {
            continue;
        };
        if !acc.is_local()
            || fulmar_store::remote::blocks_or_mutes(&app.db, acc.id, author.id, now_ms()).await?
        {
            continue;
        }
        notify(&app.db, acc.id, author.id, Kind::Mention, Some(status_id)).await?;
    }
    Ok(())
}

/// The stored status the activity's object names, looked up before anything is
/// fetched, so that repeated or unknown activities cost no request.
async fn stored_object(r: &Received<'_>) -> ReceiveResult<Option<StatusRow>> {
    match r.activity.object_id.as_deref() {
        Some(id) => Ok(fulmar_store::remote::status_by_uri(&r.app.db, id).await?),
        None => Err(invalid("the activity has no object")),
    }
}

pub async fn create(r: &Received<'_>) -> ReceiveResult<()> {
    if let Some(existing) = stored_object(r).await? {
        if existing.deleted_at.is_some() {
            return Err(ignored("the status was deleted"));
        }
        // Delivered twice (or fetched before): already stored and distributed.
        return Ok(());
    }
    let doc = object_doc(r).await?;
    if is_poll_vote(&doc.obj) {
        return Err(ignored(
            "a vote in a poll, and Fulmar has no polls of its own",
        ));
    }
    // A fetched object may have another id than the activity named; an embedded one
    // has the id just looked up, which needs no second query.
    let same_id = r.activity.object_id.as_deref() == Some(doc.obj.id.as_str());
    if !same_id {
        if let Some(existing) = fulmar_store::remote::status_by_uri(&r.app.db, &doc.obj.id).await? {
            if existing.deleted_at.is_some() {
                return Err(ignored("the status was deleted"));
            }
            return Ok(());
        }
    }
    if !concerns_local_accounts(r, &doc).await? {
        return Err(ignored(
            "nobody here follows, or is addressed by, the author",
        ));
    }
    let (status, created) = remote_status::store_remote_object(r.app, &doc, &r.actor).await?;
    if !created {
        return Ok(());
    }
    // Delivered to someone's personal inbox: they may see it (a silent mention, as
    // Mastodon records it), even when the object does not name them.
    if let Some(name) = &r.recipient {
        if let Some(acc) = fulmar_store::accounts::local_by_username(&r.app.db, name).await? {
            fulmar_store::remote::add_silent_mentions(
                &r.app.db,
                status.id,
                &[(crate::core::ids::next_id(), acc.id)],
            )
            .await?;
        }
    }
    distribute(r.app, &r.actor, &status).await
}

/// Whether an object is a vote in a poll: Mastodon sends each choice as a Note with the
/// option as its `name`, no content, replying to the poll. Without this check such a
/// vote was stored as an empty reply to the local status it answers.
fn is_poll_vote(obj: &fulmar_federation::from_activitypub::RemoteObject) -> bool {
    obj.kind == "Note"
        && obj.name.is_some()
        && obj.in_reply_to.is_some()
        && obj.content.as_deref().is_none_or(str::is_empty)
}

/// Notifies the mentioned local accounts and fills home feeds.
async fn distribute(app: &App, author: &AccountRow, status: &StatusRow) -> ReceiveResult<()> {
    let mentioned: Vec<i64> = fulmar_store::statuses::mentions_of(&app.db, &[status.id])
        .await?
        .into_iter()
        .map(|(_, account_id)| account_id)
        .collect();
    notify_mentions(app, author, status.id, &mentioned).await?;
    fulmar_store::timelines::fan_out(&app.db, status.id, author.id, &status.visibility).await?;
    Ok(())
}

pub async fn update(r: &Received<'_>) -> ReceiveResult<()> {
    let Some(status) = stored_object(r).await? else {
        return Err(ignored("an Update of a status not stored here"));
    };
    if status.account_id != r.actor.id {
        return Err(invalid("only the author may update a status"));
    }
    if status.deleted_at.is_some() {
        return Err(ignored("the status was deleted"));
    }
    let doc = object_doc(r).await?;
    if doc.obj.id != status.uri {
        return Err(invalid("the updated object is not the one named"));
    }
    // An older version arriving after a newer one is not applied over it.
    let updated = doc.obj.updated.as_deref().and_then(resolve::parse_time);
    if let (Some(updated), Some(edited)) = (updated, status.edited_at) {
        if updated < edited {
            return Err(ignored("an Update older than the stored version"));
        }
    }
    let edited = remote_status::apply_remote_edit(r.app, &status, &doc, &r.actor).await?;
    notify_mentions(r.app, &r.actor, status.id, &edited.newly_mentioned).await?;
    if edited.changed {
        // Those who reblogged it are told, as for local edits.
        for account_id in fulmar_store::status_actions::reblogger_ids(&r.app.db, status.id).await? {
            notify(
                &r.app.db,
                account_id,
                r.actor.id,
                Kind::Update,
                Some(status.id),
            )
            .await?;
        }
    }
    Ok(())
}

pub async fn delete(r: &Received<'_>) -> ReceiveResult<()> {
    let app = r.app;
    let id = r
        .activity
        .object_id
        .clone()
        .ok_or_else(|| invalid("the Delete has no object"))?;
    let status = match known_status(app, &id).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(ignored("a Delete of something not stored here")),
        Err(e) => return Err(ReceiveError::from(e)),
    };
    if status.account_id != r.actor.id {
        return Err(invalid("only the author may delete a status"));
    }
    if status.deleted_at.is_some() {
        return Ok(());
    }
    if status.reblog_of_id.is_some() {
        fulmar_store::status_actions::delete_reblog(&app.db, &status).await?;
        return Ok(());
    }
    let direct = status.visibility == "direct";
    let distributable = status.visibility == "public" || status.visibility == "unlisted";
    fulmar_store::status_actions::soft_delete(&app.db, &status, !direct, distributable, now_ms())
        .await?;
    // A deleted quote no longer counts on the status it quoted.
    if let Some(quoted) = status.quote_of_id {
        fulmar_store::quotes::recount(&app.db, quoted).await?;
    }
    Ok(())
}
