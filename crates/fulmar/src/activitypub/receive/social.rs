//! Relations and interactions: Follow, Accept, Reject, Undo, Like (and EmojiReact),
//! Announce, Block, and Update or Delete of an actor.
//!
//! Mastodon's handling is the reference. Objects are named by id or embedded; either
//! way an activity only ever acts for its own actor (the inbox checked the signature
//! against it): an Undo of someone else's activity, or an Update or Delete of another
//! actor, is refused.

use fulmar_federation::from_activitypub::{id_of, is_public, parse_actor};
use fulmar_store::accounts::AccountRow;
use fulmar_store::relationships::{self as rel, FollowByUri};
use fulmar_store::remote;
use fulmar_store::status_actions as actions;
use fulmar_store::statuses::{NewStatus, StatusRow};
use fulmar_store::StoreError;
use serde_json::Value;

use super::{ignored, invalid, ReceiveResult, Received};
use crate::core::follows;
use crate::core::ids::next_id;
use crate::core::notifications::{notify, Kind};
use crate::core::resolve;
use crate::core::time::now_ms;
use crate::state::App;

/// The local account an actor URL of this server names, if any.
async fn local_account(app: &App, uri: &str) -> ReceiveResult<Option<AccountRow>> {
    let Some(name) = app.urls.username_of(uri) else {
        return Ok(None);
    };
    Ok(fulmar_store::accounts::local_by_username(&app.db, &name).await?)
}

/// A status of this server named by one of its URLs, without any fetch.
async fn local_status(app: &App, uri: &str) -> ReceiveResult<Option<StatusRow>> {
    if !uri.starts_with(app.urls.base()) {
        return Ok(None);
    }
    match resolve::resolve_status(app, uri).await {
        Ok(s) => Ok(Some(s)),
        Err(resolve::ResolveError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A stored status, local or remote, named by its id; never fetched.
async fn known_status(app: &App, uri: &str) -> ReceiveResult<Option<StatusRow>> {
    if uri.starts_with(app.urls.base()) {
        return local_status(app, uri).await;
    }
    Ok(remote::status_by_uri(&app.db, uri).await?)
}

/// The actor of an embedded activity, when it names one.
fn actor_of(object: &Value) -> Option<String> {
    object.get("actor").and_then(id_of)
}

fn object_of(object: &Value) -> Option<String> {
    object.get("object").and_then(id_of)
}

fn type_of(object: &Value) -> Option<&str> {
    match object.get("type") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(items)) => items.iter().find_map(Value::as_str),
        _ => None,
    }
}

// -------------------------------------------------------------------------------
// Follow, Accept, Reject
// -------------------------------------------------------------------------------

pub async fn follow(r: &Received<'_>) -> ReceiveResult<()> {
    let a = &r.activity;
    let id =
        a.id.as_deref()
            .ok_or_else(|| invalid("a Follow needs an id"))?;
    let object = a
        .object_id
        .as_deref()
        .ok_or_else(|| invalid("a Follow needs an object"))?;
    let target = local_account(r.app, object)
        .await?
        .ok_or_else(|| invalid("the Follow's object is not a local account"))?;
    follows::receive_follow(&r.app.db, &r.actor, &target, id).await?;
    Ok(())
}

/// The local account whose follow (or request) of `answerer` an Accept or Reject
/// answers: by the Follow's id as stored, or, for an embedded Follow, by its actor
/// (which must be ours) and object (which must be the answerer); our own Follow ids
/// (`ACTOR#follows/TARGET_ID`) name the pair too.
async fn answered_follower(r: &Received<'_>) -> ReceiveResult<AccountRow> {
    let a = &r.activity;
    let answerer = &r.actor;
    if let Some(t) = a.object_type.as_deref() {
        if t != "Follow" {
            return Err(ignored(format!("{} of a {t} is not handled", a.kind)));
        }
    }
    if let Some(uri) = a.object_id.as_deref() {
        let found = match rel::follow_by_uri(&r.app.db, uri).await? {
            Some(FollowByUri::Follow(f) | FollowByUri::Request(f)) => Some(f),
            None => None,
        };
        if let Some(f) = found {
            if f.target_account_id != answerer.id {
                return Err(invalid(format!(
                    "{} of a Follow of another account",
                    a.kind
                )));
            }
            return fulmar_store::accounts::by_id(&r.app.db, f.account_id)
                .await?
                .ok_or_else(|| ignored("the follower is gone"));
        }
        // Our own Follow ids name the follower and the followed account.
        if let Some((actor, target)) = uri.split_once("#follows/") {
            if target == answerer.id.to_string() {
                if let Some(follower) = local_account(r.app, actor).await? {
                    return Ok(follower);
                }
            }
        }
    }
    if a.object.is_object() {
        let follower_uri =
            actor_of(&a.object).ok_or_else(|| invalid("the embedded Follow has no actor"))?;
        if object_of(&a.object).as_deref() != Some(answerer.uri.as_str()) {
            return Err(invalid(format!(
                "{} of a Follow of another account",
                a.kind
            )));
        }
        return local_account(r.app, &follower_uri)
            .await?
            .ok_or_else(|| invalid("the Follow's actor is not a local account"));
    }
    Err(ignored(format!("{} of an unknown Follow", a.kind)))
}

pub async fn accept(r: &Received<'_>) -> ReceiveResult<()> {
    let follower = answered_follower(r).await?;
    if follows::remote_accepted(&r.app.db, &follower, &r.actor).await? {
        if follower.is_local() {
            // The follow is effective: fetch the account's recent posts for the
            // follower's home feed (in the background, see worker::backfill). Not
            // queueing it is no reason to process the Accept again: the follow stands.
            if let Err(e) = crate::worker::backfill::request(
                r.app,
                &r.actor,
                crate::worker::backfill::Reason::Follow,
                Some(follower.id),
            )
            .await
            {
                tracing::warn!(account = %r.actor.uri, "queueing a backfill: {e}");
            }
        }
        return Ok(());
    }
    if rel::get_follow(&r.app.db, follower.id, r.actor.id)
        .await?
        .is_some()
    {
        // Accepted before: the same Accept again.
        return Ok(());
    }
    Err(ignored("Accept of a follow that was never requested"))
}

pub async fn reject(r: &Received<'_>) -> ReceiveResult<()> {
    let follower = answered_follower(r).await?;
    if follows::remote_rejected(&r.app.db, &follower, &r.actor).await? {
        Ok(())
    } else {
        Err(ignored("Reject of a follow that does not exist"))
    }
}

// -------------------------------------------------------------------------------
// Undo
// -------------------------------------------------------------------------------

/// What an Undo takes back, once its object is understood.
enum Undone {
    Follow(AccountRow),
    Like(StatusRow),
    Announce(StatusRow),
    Block(AccountRow),
}

pub async fn undo(r: &Received<'_>) -> ReceiveResult<()> {
    let a = &r.activity;
    let db = &r.app.db;
    let undone = if a.object.is_object() {
        if let Some(inner_actor) = actor_of(&a.object) {
            if inner_actor != r.actor.uri {
                return Err(invalid("an Undo of another actor's activity"));
            }
        }
        let kind = type_of(&a.object).unwrap_or_default();
        match by_uri(r, a.object_id.as_deref()).await? {
            Some(found) => found,
            None => by_content(r, kind, &a.object).await?,
        }
    } else {
        by_uri(r, a.object_id.as_deref())
            .await?
            .ok_or_else(|| ignored("Undo of an unknown activity"))?
    };
    match undone {
        Undone::Follow(target) => follows::unfollow(db, &r.actor, &target).await?,
        Undone::Block(target) => follows::unblock(db, &r.actor, &target).await?,
        Undone::Like(status) => {
            actions::unfavourite(db, r.actor.id, status.id).await?;
        }
        Undone::Announce(reblog) => {
            // The reblog's home-feed rows go with the row (they reference it).
            actions::delete_reblog(db, &reblog).await?;
        }
    }
    Ok(())
}

/// The activity with this id, if it is one stored here: a follow or request, a
/// favourite, a reblog or a block. It must be the Undo's actor's own.
async fn by_uri(r: &Received<'_>, uri: Option<&str>) -> ReceiveResult<Option<Undone>> {
    let Some(uri) = uri else {
        return Ok(None);
    };
    let db = &r.app.db;
    let me = r.actor.id;
    let not_yours = || invalid("an Undo of another actor's activity");
    let account = |id: i64| async move {
        fulmar_store::accounts::by_id(db, id)
            .await?
            .ok_or_else(|| ignored("the account is gone"))
    };
    if let Some(FollowByUri::Follow(f) | FollowByUri::Request(f)) =
        rel::follow_by_uri(db, uri).await?
    {
        if f.account_id != me {
            return Err(not_yours());
        }
        return Ok(Some(Undone::Follow(account(f.target_account_id).await?)));
    }
    if let Some((account_id, status_id)) = actions::favourite_by_uri(db, uri).await? {
        if account_id != me {
            return Err(not_yours());
        }
        let status = fulmar_store::statuses::by_id(db, status_id)
            .await?
            .ok_or_else(|| ignored("the status is gone"))?;
        return Ok(Some(Undone::Like(status)));
    }
    if let Some(status) = remote::status_by_uri(db, uri).await? {
        if status.reblog_of_id.is_some() {
            if status.account_id != me {
                return Err(not_yours());
            }
            return Ok(Some(Undone::Announce(status)));
        }
    }
    if let Some((account_id, target)) = rel::block_by_uri(db, uri).await? {
        if account_id != me {
            return Err(not_yours());
        }
        return Ok(Some(Undone::Block(account(target).await?)));
    }
    Ok(None)
}

/// An embedded activity not found by its id: what it names (its type and object).
async fn by_content(r: &Received<'_>, kind: &str, inner: &Value) -> ReceiveResult<Undone> {
    let object = object_of(inner).ok_or_else(|| invalid("the undone activity has no object"))?;
    match kind {
        "Follow" | "Block" => {
            let target = local_account(r.app, &object)
                .await?
                .ok_or_else(|| ignored(format!("Undo {kind} of an account not here")))?;
            Ok(if kind == "Follow" {
                Undone::Follow(target)
            } else {
                Undone::Block(target)
            })
        }
        "Like" | "EmojiReact" => {
            let status = known_status(r.app, &object)
                .await?
                .ok_or_else(|| ignored("Undo Like of an unknown status"))?;
            Ok(Undone::Like(status))
        }
        "Announce" => {
            let original = known_status(r.app, &object)
                .await?
                .ok_or_else(|| ignored("Undo Announce of an unknown status"))?;
            let reblog = actions::reblog_by(&r.app.db, r.actor.id, original.id)
                .await?
                .ok_or_else(|| ignored("Undo Announce of a status not reblogged"))?;
            Ok(Undone::Announce(reblog))
        }
        other => Err(ignored(format!("Undo {other} is not handled"))),
    }
}

// -------------------------------------------------------------------------------
// Like, Announce, Block
// -------------------------------------------------------------------------------

/// Like, Misskey's Like with a reaction (`_misskey_reaction`, `content`) and
/// Akkoma's EmojiReact: a favourite of one of this server's statuses. As in Mastodon,
/// Likes of other servers' statuses are not counted here.
pub async fn like(r: &Received<'_>) -> ReceiveResult<()> {
    let a = &r.activity;
    let db = &r.app.db;
    let object = a
        .object_id
        .as_deref()
        .ok_or_else(|| invalid("a Like needs an object"))?;
    let status = local_status(r.app, object)
        .await?
        .ok_or_else(|| ignored("Like of a status that is not here"))?;
    if !crate::core::visibility::can_see(db, &status, Some(r.actor.id)).await? {
        return Err(invalid("Like of a status the actor cannot see"));
    }
    if rel::blocked_either_way(db, status.account_id, r.actor.id).await? {
        return Err(invalid("Like across a block"));
    }
    let inserted = actions::favourite_with_uri(
        db,
        next_id(),
        r.actor.id,
        status.id,
        a.id.as_deref(),
        now_ms(),
    )
    .await?;
    if inserted {
        notify(
            db,
            status.account_id,
            r.actor.id,
            Kind::Favourite,
            Some(status.id),
        )
        .await?;
    }
    Ok(())
}

/// The visibility of an Announce from its addressing: Public in `to` is public, in
/// `cc` unlisted, the announcer's followers collection private.
fn announce_visibility(r: &Received<'_>) -> Option<&'static str> {
    let a = &r.activity;
    if a.to.iter().any(|t| is_public(t)) {
        Some("public")
    } else if a.cc.iter().any(|t| is_public(t)) {
        Some("unlisted")
    } else if r
        .actor
        .followers_url
        .as_deref()
        .is_some_and(|f| a.to.iter().chain(&a.cc).any(|t| t == f))
    {
        Some("private")
    } else {
        None
    }
}

pub async fn announce(r: &Received<'_>) -> ReceiveResult<()> {
    let a = &r.activity;
    let app = r.app;
    let db = &app.db;
    let id =
        a.id.as_deref()
            .ok_or_else(|| invalid("an Announce needs an id"))?;
    if remote::status_by_uri(db, id).await?.is_some() {
        return Ok(());
    }
    // A Lemmy community (FEP-1b12) announces the activities of its members, a Create
    // embedding the post rather than the post itself: what it boosts is the created
    // object. The object is fetched from its origin below, like any announced one.
    let created = match a.object.get("type").and_then(Value::as_str) {
        Some("Create") => id_of(&a.object["object"]),
        _ => None,
    };
    let object = created
        .as_deref()
        .or(a.object_id.as_deref())
        .ok_or_else(|| invalid("an Announce needs an object"))?;
    // As Mastodon, keep only what concerns someone here: a boost of one of our
    // posts, or by an account someone here follows. Checked before any fetch.
    if !object.starts_with(app.urls.base()) && !rel::has_local_followers(db, r.actor.id).await? {
        return Err(ignored("an Announce nobody here follows"));
    }
    let visibility =
        announce_visibility(r).ok_or_else(|| ignored("an Announce addressed to nobody"))?;
    // Embedded objects are not trusted: the status is fetched from its origin.
    let original = resolve::resolve_status(app, object).await?;
    if original.deleted_at.is_some() {
        return Err(ignored("Announce of a deleted status"));
    }
    let original = match original.reblog_of_id {
        Some(inner) => fulmar_store::statuses::by_id(db, inner)
            .await?
            .ok_or_else(|| ignored("the reblogged status is gone"))?,
        None => original,
    };
    let announceable = matches!(original.visibility.as_str(), "public" | "unlisted")
        || original.account_id == r.actor.id;
    if !announceable {
        return Err(invalid("Announce of a private or direct status"));
    }
    if rel::blocked_either_way(db, original.account_id, r.actor.id).await? {
        return Err(invalid("Announce across a block"));
    }
    if actions::reblog_by(db, r.actor.id, original.id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let reblog_id = next_id();
    let status = NewStatus {
        id: reblog_id,
        uri: id.to_owned(),
        url: Some(id.to_owned()),
        account_id: r.actor.id,
        reblog_of_id: Some(original.id),
        visibility: visibility.to_owned(),
        local: false,
        created_at: now_ms(),
        ..Default::default()
    };
    let published = actions::publish_reblog(db, &status).await;
    match published {
        Ok(()) => {}
        // The same Announce (or another of the same status) was stored meanwhile.
        Err(StoreError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    if original.local {
        notify(
            db,
            original.account_id,
            r.actor.id,
            Kind::Reblog,
            Some(original.id),
        )
        .await?;
    }
    fulmar_store::timelines::fan_out(db, reblog_id, r.actor.id, visibility).await?;
    Ok(())
}

pub async fn block(r: &Received<'_>) -> ReceiveResult<()> {
    let a = &r.activity;
    let object = a
        .object_id
        .as_deref()
        .ok_or_else(|| invalid("a Block needs an object"))?;
    let target = local_account(r.app, object)
        .await?
        .ok_or_else(|| invalid("the Block's object is not a local account"))?;
    follows::remote_block(&r.app.db, &r.actor, &target, a.id.as_deref()).await?;
    Ok(())
}

// -------------------------------------------------------------------------------
// Update and Delete of actors
// -------------------------------------------------------------------------------

/// An actor's new profile, embedded in its own signed Update. The handle (username
/// and domain) stays as stored: it was confirmed by WebFinger, and a renamed actor is
/// confirmed again by the next refresh.
pub async fn update_actor(r: &Received<'_>) -> ReceiveResult<()> {
    let a = &r.activity;
    if a.object_id.as_deref() != Some(r.actor.uri.as_str()) {
        return Err(invalid("an Update of another actor"));
    }
    if r.forwarded {
        return Err(invalid("an actor Update forwarded by another server"));
    }
    if !a.object.is_object() {
        // Only the id: what changed is on the actor's server.
        return Ok(());
    }
    let actor = parse_actor(&a.object).map_err(|e| invalid(e.to_string()))?;
    resolve::update_stored_actor(r.app, &r.actor, &actor).await?;
    Ok(())
}

/// An actor deleting itself: its follows end and it is suspended here, which hides
/// its profile and statuses, as Mastodon's account deletion does.
pub async fn delete_actor(r: &Received<'_>) -> ReceiveResult<()> {
    if r.activity.object_id.as_deref() != Some(r.actor.uri.as_str()) {
        return Err(invalid("a Delete of another actor"));
    }
    follows::remote_account_deleted(&r.app.db, &r.actor).await?;
    Ok(())
}
