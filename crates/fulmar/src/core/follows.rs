//! Follows, follow requests, blocks and mutes: what each action means beyond its row.
//!
//! A follow moves the counters (in the store, in one transaction with the row),
//! notifies the followed account and fills the follower's home feed with recent posts;
//! an unfollow undoes all three. A block ends follows both ways and pending requests,
//! and clears feeds and notifications between the two accounts.
//!
//! Remote accounts hear of these actions through the outbox (Follow, Undo, Block,
//! Accept, Reject). A follow of a remote account stays a request until its server
//! answers with Accept (even when the account is not locked, as in Mastodon); the
//! `receive_*` and `remote_*` functions here are what received activities mean.

use fulmar_store::accounts::AccountRow;
use fulmar_store::relationships::{FollowOptions, FollowRow, NewFollowRow};
use fulmar_store::Db;

use super::error::{CoreError, CoreResult};
use super::ids::next_id;
use super::notifications::{notify, Kind};
use super::time::now_ms;
use super::urls::Urls;
use crate::worker::outbox::{self, Event};

/// How many of an author's recent posts a new follower's home feed receives at once.
pub const BACKFILL_ON_FOLLOW: i64 = 40;

/// The options of `POST /api/v1/accounts/:id/follow`; `None` leaves an option as it
/// was (or at its default for a new follow).
#[derive(Clone, Debug, Default)]
pub struct FollowParams {
    pub reblogs: Option<bool>,
    pub notify: Option<bool>,
    /// Language codes to limit the feed to; an empty list means every language.
    pub languages: Option<Vec<String>>,
}

/// What a follow led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Followed {
    /// The follow is in place.
    Following,
    /// The account approves followers by hand; a request waits for it.
    Requested,
}

/// Keeps the language codes that look like ISO 639 codes, lowercased and without
/// repeats, as the JSON array stored with a follow; `None` for "every language".
fn languages_json(languages: &[String]) -> Option<String> {
    let mut codes: Vec<String> = Vec::new();
    for code in languages {
        let code = code.trim().to_ascii_lowercase();
        let plausible =
            (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
        if plausible && !codes.contains(&code) {
            codes.push(code);
        }
    }
    (!codes.is_empty()).then(|| serde_json::Value::from(codes).to_string())
}

fn merged_options(existing: Option<&FollowRow>, params: &FollowParams) -> FollowOptions {
    FollowOptions {
        show_reblogs: params
            .reblogs
            .or(existing.map(|f| f.show_reblogs))
            .unwrap_or(true),
        notify: params
            .notify
            .or(existing.map(|f| f.notify))
            .unwrap_or(false),
        languages: match &params.languages {
            Some(list) => languages_json(list),
            None => existing.and_then(|f| f.languages.clone()),
        },
    }
}

/// `source` follows `target`, or asks to when `target` is locked. Following again
/// changes the options of the follow (or of the pending request) and nothing else.
/// Refused with `Forbidden` for oneself and when either blocks the other, with
/// `NotFound` for a suspended account.
pub async fn follow(
    db: &Db,
    urls: &Urls,
    source: &AccountRow,
    target: &AccountRow,
    params: &FollowParams,
) -> CoreResult<Followed> {
    if source.id == target.id {
        return Err(CoreError::Forbidden);
    }
    if target.suspended_at.is_some() {
        return Err(CoreError::NotFound);
    }
    if fulmar_store::relationships::blocked_either_way(db, source.id, target.id).await? {
        return Err(CoreError::Forbidden);
    }
    if let Some(existing) =
        fulmar_store::relationships::get_follow(db, source.id, target.id).await?
    {
        let options = merged_options(Some(&existing), params);
        fulmar_store::relationships::set_follow_options(db, source.id, target.id, &options).await?;
        return Ok(Followed::Following);
    }
    if let Some(existing) =
        fulmar_store::relationships::get_request(db, source.id, target.id).await?
    {
        let options = merged_options(Some(&existing), params);
        fulmar_store::relationships::set_request_options(db, source.id, target.id, &options)
            .await?;
        return Ok(Followed::Requested);
    }
    let options = merged_options(None, params);
    let remote = !target.is_local();
    let row = NewFollowRow {
        id: next_id(),
        account_id: source.id,
        target_account_id: target.id,
        // The id of the Follow activity sent, which the Accept or Reject names.
        uri: remote.then(|| follow_activity_id(urls, &source.username, target.id)),
        show_reblogs: options.show_reblogs,
        notify: options.notify,
        languages: options.languages,
        created_at: now_ms(),
    };
    if remote {
        // A remote account answers the Follow with Accept or Reject; until then the
        // follow is a request, whatever the account's `locked` flag says.
        fulmar_store::relationships::request(db, &row).await?;
        outbox::emit(
            db,
            Event::Follow {
                account_id: source.id,
                target_id: target.id,
            },
        )
        .await?;
        return Ok(Followed::Requested);
    }
    if target.locked {
        if fulmar_store::relationships::request(db, &row).await? {
            notify(db, target.id, source.id, Kind::FollowRequest, None).await?;
        }
        return Ok(Followed::Requested);
    }
    if fulmar_store::relationships::follow(db, &row).await? {
        notify(db, target.id, source.id, Kind::Follow, None).await?;
        if source.is_local() {
            fulmar_store::timelines::backfill_author(db, source.id, target.id, BACKFILL_ON_FOLLOW)
                .await?;
        }
    }
    Ok(Followed::Following)
}

/// The id of the `Follow` activity `username` sends to the account `target_id`
/// (`activitypub::to_activitypub::follow` builds the same one).
pub fn follow_activity_id(urls: &Urls, username: &str, target_id: i64) -> String {
    format!("{}#follows/{target_id}", urls.actor(username))
}

/// What a received Follow led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceivedFollow {
    /// Now (or already) following; an Accept was queued.
    Accepted,
    /// The local account approves followers by hand: a request waits for it.
    Requested,
    /// The local account blocks the follower: a Reject was queued.
    Rejected,
}

/// A remote account's `Follow` (id `follow_uri`) of a local one, as Mastodon takes
/// it: a repeated Follow of a pending request only updates its id; a blocked follower
/// is sent Reject; a repeated Follow of an existing follow is accepted again; a locked
/// account gets a request and a `follow_request` notification; any other gets the
/// follow, a `follow` notification and Accept.
pub async fn receive_follow(
    db: &Db,
    follower: &AccountRow,
    target: &AccountRow,
    follow_uri: &str,
) -> CoreResult<ReceivedFollow> {
    use fulmar_store::relationships as rel;
    let answer = |accept: bool| {
        let (account_id, requester_id, follow_uri) =
            (target.id, follower.id, Some(follow_uri.to_owned()));
        if accept {
            Event::Accept {
                account_id,
                requester_id,
                follow_uri,
            }
        } else {
            Event::Reject {
                account_id,
                requester_id,
                follow_uri,
            }
        }
    };
    if rel::get_request(db, follower.id, target.id)
        .await?
        .is_some()
    {
        rel::set_follow_uri(db, true, follower.id, target.id, follow_uri).await?;
        return Ok(ReceivedFollow::Requested);
    }
    if rel::blocks(db, target.id, follower.id).await? || target.suspended_at.is_some() {
        outbox::emit(db, answer(false)).await?;
        return Ok(ReceivedFollow::Rejected);
    }
    if rel::get_follow(db, follower.id, target.id).await?.is_some() {
        rel::set_follow_uri(db, false, follower.id, target.id, follow_uri).await?;
        outbox::emit(db, answer(true)).await?;
        return Ok(ReceivedFollow::Accepted);
    }
    let row = NewFollowRow {
        id: next_id(),
        account_id: follower.id,
        target_account_id: target.id,
        uri: Some(follow_uri.to_owned()),
        show_reblogs: true,
        notify: false,
        languages: None,
        created_at: now_ms(),
    };
    if target.locked {
        if rel::request(db, &row).await? {
            notify(db, target.id, follower.id, Kind::FollowRequest, None).await?;
        }
        return Ok(ReceivedFollow::Requested);
    }
    if rel::follow(db, &row).await? {
        notify(db, target.id, follower.id, Kind::Follow, None).await?;
    }
    outbox::emit(db, answer(true)).await?;
    Ok(ReceivedFollow::Accepted)
}

/// The remote account `accepter` accepted `follower`'s request: it becomes a follow
/// and the follower's home feed gets the account's recent posts. False when there was
/// no request (already accepted, withdrawn, or never asked).
pub async fn remote_accepted(
    db: &Db,
    follower: &AccountRow,
    accepter: &AccountRow,
) -> CoreResult<bool> {
    if !fulmar_store::relationships::accept_request(
        db,
        follower.id,
        accepter.id,
        next_id(),
        now_ms(),
    )
    .await?
    {
        return Ok(false);
    }
    if follower.is_local() {
        fulmar_store::timelines::backfill_author(db, follower.id, accepter.id, BACKFILL_ON_FOLLOW)
            .await?;
    }
    Ok(true)
}

/// The remote account `rejecter` turned down `follower`'s request, or removed an
/// accepted follow from its followers (Mastodon sends Reject for both). Nothing is
/// sent back. False when there was neither.
pub async fn remote_rejected(
    db: &Db,
    follower: &AccountRow,
    rejecter: &AccountRow,
) -> CoreResult<bool> {
    let withdrawn =
        fulmar_store::relationships::delete_request(db, follower.id, rejecter.id).await?;
    let unfollowed = fulmar_store::relationships::unfollow(db, follower.id, rejecter.id).await?;
    if unfollowed {
        fulmar_store::timelines::remove_author(db, follower.id, rejecter.id).await?;
    }
    Ok(withdrawn || unfollowed)
}

/// A remote account blocks a local one: follows and requests end both ways and each
/// one's posts leave the other's home feed, as for a local block, but nothing is sent
/// (the blocker's server knows). The block is stored with its activity's id.
pub async fn remote_block(
    db: &Db,
    blocker: &AccountRow,
    target: &AccountRow,
    block_uri: Option<&str>,
) -> CoreResult<()> {
    for (a, b) in [(blocker.id, target.id), (target.id, blocker.id)] {
        fulmar_store::relationships::unfollow(db, a, b).await?;
        fulmar_store::relationships::delete_request(db, a, b).await?;
        fulmar_store::timelines::remove_author(db, a, b).await?;
    }
    fulmar_store::notifications::delete_from(
        db,
        target.id,
        blocker.id,
        &[Kind::Follow.as_str(), Kind::FollowRequest.as_str()],
    )
    .await?;
    fulmar_store::relationships::block_with_uri(
        db,
        next_id(),
        blocker.id,
        target.id,
        block_uri,
        now_ms(),
    )
    .await?;
    Ok(())
}

/// A remote account deleted itself: it is suspended here (its profile, posts and
/// notifications disappear from the API) and its follows end both ways.
pub async fn remote_account_deleted(db: &Db, account: &AccountRow) -> CoreResult<()> {
    if account.is_local() {
        return Err(CoreError::Forbidden);
    }
    fulmar_store::relationships::remove_account(db, account.id, now_ms()).await?;
    Ok(())
}

/// `source` stops following `target`, or withdraws its request. The follow
/// notification goes too, as in Mastodon, and so do `target`'s posts in `source`'s
/// home feed (except those that mention `source`).
pub async fn unfollow(db: &Db, source: &AccountRow, target: &AccountRow) -> CoreResult<()> {
    let unfollowed = fulmar_store::relationships::unfollow(db, source.id, target.id).await?;
    let withdrawn = fulmar_store::relationships::delete_request(db, source.id, target.id).await?;
    if unfollowed || withdrawn {
        fulmar_store::notifications::delete_from(
            db,
            target.id,
            source.id,
            &[Kind::Follow.as_str(), Kind::FollowRequest.as_str()],
        )
        .await?;
    }
    if unfollowed {
        fulmar_store::timelines::remove_author(db, source.id, target.id).await?;
    }
    if (unfollowed || withdrawn) && !target.is_local() {
        outbox::emit(
            db,
            Event::UndoFollow {
                account_id: source.id,
                target_id: target.id,
            },
        )
        .await?;
    }
    Ok(())
}

/// `me` removes `follower` from its followers.
pub async fn remove_from_followers(
    db: &Db,
    me: &AccountRow,
    follower: &AccountRow,
) -> CoreResult<()> {
    if fulmar_store::relationships::unfollow(db, follower.id, me.id).await? {
        fulmar_store::timelines::remove_author(db, follower.id, me.id).await?;
    }
    Ok(())
}

/// `me` accepts `requester`'s follow request. `NotFound` when there is none.
pub async fn authorize(db: &Db, me: &AccountRow, requester: &AccountRow) -> CoreResult<()> {
    // Before the request row goes: the Accept embeds the Follow's id.
    outbox::emit_answer(db, me, requester, true).await?;
    if !fulmar_store::relationships::accept_request(db, requester.id, me.id, next_id(), now_ms())
        .await?
    {
        return Err(CoreError::NotFound);
    }
    // The request has been answered: its notification has nothing left to ask.
    fulmar_store::notifications::delete_from(
        db,
        me.id,
        requester.id,
        &[Kind::FollowRequest.as_str()],
    )
    .await?;
    if requester.is_local() {
        fulmar_store::timelines::backfill_author(db, requester.id, me.id, BACKFILL_ON_FOLLOW)
            .await?;
    }
    Ok(())
}

/// `me` turns down `requester`'s follow request. `NotFound` when there is none.
pub async fn reject(db: &Db, me: &AccountRow, requester: &AccountRow) -> CoreResult<()> {
    // Before the request row goes: the Reject embeds the Follow's id.
    outbox::emit_answer(db, me, requester, false).await?;
    if !fulmar_store::relationships::delete_request(db, requester.id, me.id).await? {
        return Err(CoreError::NotFound);
    }
    fulmar_store::notifications::delete_from(
        db,
        me.id,
        requester.id,
        &[Kind::FollowRequest.as_str()],
    )
    .await?;
    Ok(())
}

/// `source` blocks `target`: follows and requests between them end both ways, each
/// one's posts leave the other's home feed, and `target`'s notifications to `source`
/// are deleted. Blocking oneself does nothing, as in Mastodon.
pub async fn block(db: &Db, source: &AccountRow, target: &AccountRow) -> CoreResult<()> {
    if source.id == target.id {
        return Ok(());
    }
    for (a, b) in [(source.id, target.id), (target.id, source.id)] {
        fulmar_store::relationships::unfollow(db, a, b).await?;
        fulmar_store::relationships::delete_request(db, a, b).await?;
        fulmar_store::timelines::remove_author(db, a, b).await?;
    }
    fulmar_store::notifications::delete_from(
        db,
        target.id,
        source.id,
        &[Kind::Follow.as_str(), Kind::FollowRequest.as_str()],
    )
    .await?;
    fulmar_store::notifications::delete_from(db, source.id, target.id, &[]).await?;
    if fulmar_store::relationships::block(db, next_id(), source.id, target.id, now_ms()).await?
        && !target.is_local()
    {
        outbox::emit(
            db,
            Event::Block {
                account_id: source.id,
                target_id: target.id,
            },
        )
        .await?;
    }
    Ok(())
}

pub async fn unblock(db: &Db, source: &AccountRow, target: &AccountRow) -> CoreResult<()> {
    if fulmar_store::relationships::unblock(db, source.id, target.id).await? && !target.is_local() {
        outbox::emit(
            db,
            Event::UndoBlock {
                account_id: source.id,
                target_id: target.id,
            },
        )
        .await?;
    }
    Ok(())
}

/// `source` mutes `target`, hiding its notifications too unless told otherwise, for
/// `duration_secs` seconds (0 or less: until unmuted). Muting again changes the
/// options. `target`'s posts leave `source`'s home feed, as in Mastodon. Muting
/// oneself does nothing.
pub async fn mute(
    db: &Db,
    source: &AccountRow,
    target: &AccountRow,
    hide_notifications: bool,
    duration_secs: i64,
) -> CoreResult<()> {
    if source.id == target.id {
        return Ok(());
    }
    let now = now_ms();
    let expires_at =
        (duration_secs > 0).then(|| now.saturating_add(duration_secs.saturating_mul(1000)));
    fulmar_store::relationships::mute(
        db,
        next_id(),
        source.id,
        target.id,
        hide_notifications,
        expires_at,
        now,
    )
    .await?;
    fulmar_store::timelines::remove_author(db, source.id, target.id).await?;
    Ok(())
}

/// Ends a mute; a followed account's recent posts come back into the home feed.
pub async fn unmute(db: &Db, source: &AccountRow, target: &AccountRow) -> CoreResult<()> {
    if fulmar_store::relationships::unmute(db, source.id, target.id).await?
        && fulmar_store::follows::exists(db, source.id, target.id).await?
    {
        fulmar_store::timelines::backfill_author(db, source.id, target.id, BACKFILL_ON_FOLLOW)
            .await?;
    }
    Ok(())
}

/// The longest private note about an account, as in Mastodon.
pub const MAX_ACCOUNT_NOTE: usize = 2000;

/// Keeps `comment` as `source`'s private note about `target` (an empty comment
/// removes it).
pub async fn set_note(
    db: &Db,
    source: &AccountRow,
    target: &AccountRow,
    comment: &str,
) -> CoreResult<()> {
    if comment.chars().count() > MAX_ACCOUNT_NOTE {
        return Err(CoreError::Invalid(
            format!("Comment is too long (maximum is {MAX_ACCOUNT_NOTE} characters)").into(),
        ));
    }
    fulmar_store::relationships::set_note(db, next_id(), source.id, target.id, comment, now_ms())
        .await?;
    Ok(())
}

/// The filters of an account's status list (`GET /api/v1/accounts/:id/statuses`).
#[derive(Clone, Debug, Default)]
pub struct StatusListOptions {
    pub pinned: bool,
    pub only_media: bool,
    pub exclude_replies: bool,
    pub exclude_reblogs: bool,
    pub tagged: Option<String>,
}

/// A page of `account`'s statuses as `viewer` may see them, Mastodon's rule for
/// profiles: anonymous readers see public and unlisted posts; followers see
/// followers-only posts too; anyone sees the posts that mention them; the author sees
/// everything; an account that blocks the viewer shows nothing. Reblogs of accounts the
/// viewer blocks, mutes or is blocked by are left out.
pub async fn account_statuses(
    db: &Db,
    account: &AccountRow,
    viewer: Option<i64>,
    options: StatusListOptions,
    page: &fulmar_store::PageParams,
) -> CoreResult<Vec<fulmar_store::statuses::StatusRow>> {
    if account.suspended_at.is_some() {
        return Ok(Vec::new());
    }
    let public = || vec!["public".to_owned(), "unlisted".to_owned()];
    let (visibilities, mentioning, hide_reblogs_excluded_by) = match viewer {
        None => (Some(public()), None, None),
        Some(v) if v == account.id => (None, None, None),
        Some(v) => {
            if fulmar_store::relationships::blocks(db, account.id, v).await? {
                return Ok(Vec::new());
            }
            let mut visibilities = public();
            if fulmar_store::follows::exists(db, v, account.id).await? {
                visibilities.push("private".to_owned());
            }
            (Some(visibilities), Some(v), Some(v))
        }
    };
    let filter = fulmar_store::relationships::AccountStatusesFilter {
        account_id: account.id,
        visibilities,
        mentioning,
        pinned: options.pinned,
        only_media: options.only_media,
        exclude_replies: options.exclude_replies,
        exclude_reblogs: options.exclude_reblogs,
        tagged: options.tagged,
        hide_reblogs_excluded_by,
        now: now_ms(),
    };
    Ok(fulmar_store::relationships::account_statuses(db, &filter, page).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_follow_uri_is_the_id_of_the_follow_sent() {
        let urls = Urls::new("https", "fulmar.test");
        let sent = crate::activitypub::to_activitypub::follow(
            &urls.actor("alice"),
            42,
            "https://remote.test/users/bob",
        );
        assert_eq!(
            sent["id"].as_str(),
            Some(follow_activity_id(&urls, "alice", 42).as_str())
        );
    }

    #[test]
    fn languages_are_cleaned_up() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            languages_json(&list(&["en", "DE", "en", "x", "english", "fr1"])).as_deref(),
            Some(r#"["en","de"]"#)
        );
        assert_eq!(languages_json(&[]), None);
    }

    #[test]
    fn options_keep_what_is_not_given() {
        let existing = FollowRow {
            id: 1,
            account_id: 2,
            target_account_id: 3,
            show_reblogs: false,
            notify: true,
            languages: Some(r#"["en"]"#.into()),
            created_at: 0,
        };
        let o = merged_options(Some(&existing), &FollowParams::default());
        assert_eq!(
            (o.show_reblogs, o.notify, o.languages.as_deref()),
            (false, true, Some(r#"["en"]"#))
        );
        let o = merged_options(
            Some(&existing),
            &FollowParams {
                reblogs: Some(true),
                notify: None,
                languages: Some(vec![]),
            },
        );
        assert_eq!((o.show_reblogs, o.notify, o.languages), (true, true, None));
        let o = merged_options(None, &FollowParams::default());
        assert_eq!((o.show_reblogs, o.notify, o.languages), (true, false, None));
    }
}
