//! Backfill: a remote account's recent public posts, fetched from its outbox (and its
//! pinned posts from `featured`) when someone here follows it or opens its profile,
//! so that a profile or a new follow does not start empty. The queue job that runs
//! this, with its politeness limits, is `worker::backfill`; reading the collections is
//! `fulmar_federation::collections_in`.
//!
//! Every status goes through `remote_status::store_remote_object`, the path pushed
//! posts take, and like every fetched status notifies no one and is sent nowhere. The
//! ids of stored statuses come from their `published` time, so they fall into their
//! place in timelines.

use std::collections::HashSet;
use std::time::Instant;

use fulmar_federation::client::ClientError;
use fulmar_federation::collections_in::{
    read_item, read_page, CollectionPage, OutboxItem, PageRef,
};
use fulmar_federation::from_activitypub::{self as ap, id_of};
use fulmar_store::accounts::AccountRow;
use fulmar_store::backfill::OUTBOX_PRIVATE;
use fulmar_store::remote;
use fulmar_store::status_actions as actions;
use fulmar_store::statuses::{NewStatus, StatusRow};
use fulmar_store::StoreError;
use serde_json::Value;

use super::ids::{id_at, next_id};
use super::remote_status::{self, read_object};
use super::resolve::{self, authority, ResolveError};
use super::time::now_ms;
use crate::config::Backfill as Limits;
use crate::state::App;

/// Pinned posts looked at, at most (Mastodon allows 5 pins; other servers more).
const MAX_FEATURED: usize = 20;

/// Why a backfill stopped without reading the outbox.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The outbox answered 401/403 or hides its items: recorded on the account.
    #[error("the outbox is not public")]
    Private,
    /// The server answered with something that is not an outbox: not worth retrying.
    #[error("unusable outbox: {0}")]
    Garbage(String),
    /// A failure that may pass (timeout, connection, 5xx, database).
    #[error("{0}")]
    Transient(String),
}

impl From<StoreError> for BackfillError {
    fn from(e: StoreError) -> Self {
        BackfillError::Transient(format!("database: {e}"))
    }
}

impl From<ClientError> for BackfillError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::BadStatus(401 | 403) => BackfillError::Private,
            ClientError::Timeout | ClientError::Connect(_) => {
                BackfillError::Transient(e.to_string())
            }
            ClientError::BadStatus(s) if s >= 500 || s == 429 || s == 408 => {
                BackfillError::Transient(e.to_string())
            }
            other => BackfillError::Garbage(other.to_string()),
        }
    }
}

/// What a backfill did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Statuses of the account now known from its outbox (new or stored before).
    pub seen: usize,
    /// Statuses stored by this run.
    pub stored: usize,
    /// Pages fetched.
    pub pages: usize,
    /// Statuses pinned from `featured`.
    pub pinned: usize,
}

/// Runs a backfill of `account`: its outbox within `limits`, then its `featured`
/// collection. Progress is stored item by item, so a run cut short (the worker's time
/// limit) keeps what it got.
pub async fn run(
    app: &App,
    account: &AccountRow,
    limits: &Limits,
) -> Result<Summary, BackfillError> {
    let mut summary = Summary::default();
    if account.is_local() || account.suspended_at.is_some() || limits.count == 0 {
        return Ok(summary);
    }
    let result = read_outbox(app, account, limits, &mut summary).await;
    match &result {
        Err(BackfillError::Private) => {
            fulmar_store::backfill::set_note(&app.db, account.id, Some(OUTBOX_PRIVATE)).await?;
        }
        Ok(()) if account.backfill_note.is_some() => {
            fulmar_store::backfill::set_note(&app.db, account.id, None).await?;
        }
        _ => {}
    }
    // Pinned posts are worth having even when the outbox is closed (Threads serves
    // no outbox items) or failed.
    if let Err(e) = read_featured(app, account, &mut summary).await {
        tracing::info!(account = %account.uri, "featured posts not fetched: {e}");
    }
    result.map(|()| summary)
}

/// Fetches a collection document from the account's own host. The host where it was
/// finally served (after redirects) must be the account's too: the items of a page
/// are trusted to speak for the account's own posts.
async fn fetch_page(app: &App, account: &AccountRow, url: &str) -> Result<Value, BackfillError> {
    let host = authority(&account.uri);
    if authority(url) != host {
        return Err(BackfillError::Garbage(format!(
            "{url} is not on the account's host"
        )));
    }
    let (served_from, doc) = app
        .client
        .get_activity_from(url, app.instance_signer().await)
        .await?;
    if authority(served_from.as_str()) != host {
        return Err(BackfillError::Garbage(format!(
            "{url} was served from another host"
        )));
    }
    Ok(doc)
}

async fn read_outbox(
    app: &App,
    account: &AccountRow,
    limits: &Limits,
    summary: &mut Summary,
) -> Result<(), BackfillError> {
    let Some(outbox) = account.outbox_url.as_deref() else {
        return Ok(());
    };
    let oldest = now_ms() - i64::from(limits.max_age_days) * 24 * 60 * 60 * 1000;
    let want = limits.count as usize;
    let started = Instant::now();
    let collection = read_page(&fetch_page(app, account, outbox).await?)
        .map_err(|e| BackfillError::Garbage(e.to_string()))?;
    summary.pages += 1;
    let mut visited: HashSet<String> = HashSet::from([outbox.to_owned()]);
    let mut page: CollectionPage = collection.clone();
    let mut any_item = !collection.items.is_empty();
    let mut taken: Vec<OutboxItem> = Vec::new();
    let mut next = match collection.first.clone() {
        Some(PageRef::Embedded(first)) => {
            // The collection's own items, if any, come first; then the embedded page.
            let own = std::mem::take(&mut page.items);
            let mut stop = consume(&own, oldest, want, &mut taken);
            any_item |= !first.items.is_empty();
            page = *first;
            if !stop {
                stop = consume(&page.items, oldest, want, &mut taken);
            }
            if stop {
                None
            } else {
                page.next.clone()
            }
        }
        Some(PageRef::Url(url)) => {
            let own = std::mem::take(&mut page.items);
            if consume(&own, oldest, want, &mut taken) {
                None
            } else {
                Some(url)
            }
        }
        None => {
            let stop = consume(&page.items, oldest, want, &mut taken);
            if stop {
                None
            } else {
                page.next.clone()
            }
        }
    };
    // The pages after the first, each a `next` link, bounded in count and time, and
    // never the same URL twice (an outbox whose `next` points to itself).
    while let Some(url) = next.take() {
        if summary.pages >= limits.max_pages as usize
            // Half the job's time for paging leaves the other half for storing.
            || started.elapsed().as_secs() >= u64::from(limits.timeout_secs / 2)
            || !visited.insert(url.clone())
        {
            break;
        }
        let doc = match fetch_page(app, account, &url).await {
            Ok(doc) => doc,
            // A later page failing keeps what the earlier ones gave.
            Err(e) if summary.pages > 1 || any_item => {
                tracing::info!(account = %account.uri, "outbox page {url}: {e}");
                break;
            }
            Err(e) => return Err(e),
        };
        let p = match read_page(&doc) {
            Ok(p) => p,
            Err(e) if any_item => {
                tracing::info!(account = %account.uri, "outbox page {url}: {e}");
                break;
            }
            Err(e) => return Err(BackfillError::Garbage(e.to_string())),
        };
        summary.pages += 1;
        any_item |= !p.items.is_empty();
        if consume(&p.items, oldest, want, &mut taken) {
            break;
        }
        next = p.next;
    }
    // A collection that counts posts but shows none hides them (Threads).
    if !any_item && collection.total_items.unwrap_or(0) > 0 {
        return Err(BackfillError::Private);
    }
    store_items(app, account, taken, oldest, summary).await
}

/// Takes the items of one page, newest first as outboxes list them, into `taken`.
/// True when the backfill has all it wants: enough items, or one older than the age
/// limit (the rest are older still).
fn consume(items: &[Value], oldest: i64, want: usize, taken: &mut Vec<OutboxItem>) -> bool {
    for item in items {
        if taken.len() >= want {
            return true;
        }
        let Some(item) = read_item(item) else {
            continue;
        };
        let time = match &item {
            OutboxItem::Create { object, published } => object
                .get("published")
                .and_then(Value::as_str)
                .or(published.as_deref())
                .and_then(resolve::parse_time),
            OutboxItem::Announce { published, .. } => {
                published.as_deref().and_then(resolve::parse_time)
            }
            OutboxItem::Object(o) => o
                .get("published")
                .and_then(Value::as_str)
                .and_then(resolve::parse_time),
        };
        if time.is_some_and(|t| t < oldest) {
            return true;
        }
        taken.push(item);
    }
    taken.len() >= want
}

/// Stores the items taken, oldest first: posts published in the same second (times
/// often have no milliseconds) then get ids in their order.
async fn store_items(
    app: &App,
    account: &AccountRow,
    taken: Vec<OutboxItem>,
    oldest: i64,
    summary: &mut Summary,
) -> Result<(), BackfillError> {
    for item in taken.into_iter().rev() {
        let stored = match item {
            OutboxItem::Create { object, .. } | OutboxItem::Object(object) => {
                store_object(app, account, &object, Some(oldest)).await
            }
            OutboxItem::Announce {
                id,
                object,
                to,
                cc,
                published,
            } => store_announce(app, account, &id, &object, &to, &cc, published.as_deref()).await,
        };
        match stored {
            Ok(Some((_, new))) => {
                summary.seen += 1;
                summary.stored += usize::from(new);
            }
            Ok(None) => {}
            Err(ResolveError::Store(e)) => return Err(e.into()),
            // One post that cannot be had does not stop the others.
            Err(e) => tracing::debug!(account = %account.uri, "backfill item skipped: {e}"),
        }
    }
    Ok(())
}

/// Stores a post of `account` given in its outbox or `featured` collection. An
/// embedded object is taken as it is only when it is on the account's host and
/// attributed to it (the outbox speaks for its own posts, as Mastodon trusts it);
/// otherwise it is fetched from its id. `None` for what is not a public post of the
/// account, or older than `oldest`.
async fn store_object(
    app: &App,
    account: &AccountRow,
    object: &Value,
    oldest: Option<i64>,
) -> Result<Option<(StatusRow, bool)>, ResolveError> {
    let id = id_of(object).ok_or(ResolveError::NotFound)?;
    if let Some(row) = remote::status_by_uri(&app.db, &id).await? {
        return Ok((row.account_id == account.id).then_some((row, false)));
    }
    let embedded = object.get("type").is_some();
    let trusted = embedded
        && authority(&id) == authority(&account.uri)
        && object.get("attributedTo").and_then(id_of).as_deref() == Some(account.uri.as_str());
    let doc = if trusted {
        read_object(object)?
    } else {
        resolve::fetch_object(app, &id).await?
    };
    if doc.obj.attributed_to != account.uri || authority(&doc.obj.id) != authority(&account.uri) {
        return Ok(None);
    }
    if !matches!(
        remote_status::visibility_of(&doc.obj, account),
        "public" | "unlisted"
    ) {
        return Ok(None);
    }
    let published = doc.obj.published.as_deref().and_then(resolve::parse_time);
    if let (Some(oldest), Some(t)) = (oldest, published) {
        if t < oldest {
            return Ok(None);
        }
    }
    remote_status::store_remote_object(app, &doc, account)
        .await
        .map(Some)
}

/// Stores a boost from the account's outbox: the boosted status fetched from its
/// origin (never taken from the outbox), then the boost at its own time.
async fn store_announce(
    app: &App,
    account: &AccountRow,
    id: &str,
    object: &str,
    to: &[String],
    cc: &[String],
    published: Option<&str>,
) -> Result<Option<(StatusRow, bool)>, ResolveError> {
    if let Some(row) = remote::status_by_uri(&app.db, id).await? {
        return Ok((row.account_id == account.id).then_some((row, false)));
    }
    if authority(id) != authority(&account.uri) {
        return Ok(None);
    }
    let visibility = if to.iter().any(|t| ap::is_public(t)) {
        "public"
    } else if cc.iter().any(|t| ap::is_public(t)) {
        "unlisted"
    } else {
        return Ok(None);
    };
    let original = resolve::resolve_status(app, object).await?;
    let original = match original.reblog_of_id {
        Some(inner) => match fulmar_store::statuses::by_id(&app.db, inner).await? {
            Some(row) => row,
            None => return Ok(None),
        },
        None => original,
    };
    if original.deleted_at.is_some()
        || !matches!(original.visibility.as_str(), "public" | "unlisted")
        || actions::reblog_by(&app.db, account.id, original.id)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    let now = now_ms();
    let at = published
        .and_then(resolve::parse_time)
        .map(|t| t.min(now))
        .unwrap_or(now);
    let status = NewStatus {
        id: id_at(at),
        uri: id.to_owned(),
        url: Some(id.to_owned()),
        account_id: account.id,
        reblog_of_id: Some(original.id),
        visibility: visibility.to_owned(),
        local: false,
        created_at: at,
        ..Default::default()
    };
    let published = actions::publish_reblog(&app.db, &status).await;
    match published {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let row = fulmar_store::statuses::by_id(&app.db, status.id)
        .await?
        .ok_or(ResolveError::NotFound)?;
    Ok(Some((row, true)))
}

/// Fetches the account's pinned posts (`featured`, one page) and pins them here.
async fn read_featured(
    app: &App,
    account: &AccountRow,
    summary: &mut Summary,
) -> Result<(), BackfillError> {
    let Some(url) = account.featured_url.as_deref() else {
        return Ok(());
    };
    let collection = read_page(&fetch_page(app, account, url).await?)
        .map_err(|e| BackfillError::Garbage(e.to_string()))?;
    let items = match collection.first {
        Some(PageRef::Embedded(first)) if collection.items.is_empty() => first.items,
        Some(PageRef::Url(first)) if collection.items.is_empty() => {
            read_page(&fetch_page(app, account, &first).await?)
                .map_err(|e| BackfillError::Garbage(e.to_string()))?
                .items
        }
        _ => collection.items,
    };
    for item in items.iter().take(MAX_FEATURED) {
        let object = match read_item(item) {
            Some(OutboxItem::Object(o)) | Some(OutboxItem::Create { object: o, .. }) => o,
            // Mastodon lists objects; a bare URL is fetched.
            _ if item.is_string() => item.clone(),
            _ => continue,
        };
        match store_object(app, account, &object, None).await {
            Ok(Some((row, _))) => {
                if actions::pin(&app.db, next_id(), account.id, row.id, now_ms()).await? {
                    summary.pinned += 1;
                }
            }
            Ok(None) => {}
            Err(ResolveError::Store(e)) => return Err(e.into()),
            Err(e) => tracing::debug!(account = %account.uri, "featured post skipped: {e}"),
        }
    }
    Ok(())
}

/// After a backfill for a new follow: the follower's home feed gets the account's
/// recent statuses, each in its place by id (their `published` time), within the
/// backfill's count and age: a pinned post older than that stays on the profile only.
/// Nobody is notified. Nothing happens when the follow is gone meanwhile.
pub async fn fill_home(
    app: &App,
    reader_id: i64,
    account: &AccountRow,
    limits: &Limits,
) -> Result<u64, StoreError> {
    if fulmar_store::relationships::get_follow(&app.db, reader_id, account.id)
        .await?
        .is_none()
    {
        return Ok(0);
    }
    let oldest = now_ms() - i64::from(limits.max_age_days) * 24 * 60 * 60 * 1000;
    fulmar_store::timelines::backfill_author_since(
        &app.db,
        reader_id,
        account.id,
        // The smallest id `id_at` gives for that time.
        oldest.max(0) << 16,
        i64::from(limits.count),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_sort_into_private_garbage_and_transient() {
        let kind = |e: ClientError| match BackfillError::from(e) {
            BackfillError::Private => "private",
            BackfillError::Garbage(_) => "garbage",
            BackfillError::Transient(_) => "transient",
        };
        assert_eq!(kind(ClientError::BadStatus(401)), "private");
        assert_eq!(kind(ClientError::BadStatus(403)), "private");
        assert_eq!(kind(ClientError::BadStatus(404)), "garbage");
        assert_eq!(kind(ClientError::BadStatus(410)), "garbage");
        assert_eq!(kind(ClientError::BadStatus(503)), "transient");
        assert_eq!(kind(ClientError::BadStatus(429)), "transient");
        assert_eq!(kind(ClientError::Timeout), "transient");
        assert_eq!(kind(ClientError::TooLarge(1)), "garbage");
        assert_eq!(kind(ClientError::BadJson("x".into())), "garbage");
    }

    #[test]
    fn items_stop_at_the_count_and_at_the_first_old_one() {
        let now = now_ms();
        let item = |n: i64, age_days: i64| {
            serde_json::json!({"type": "Create", "object": {
                "id": format!("https://x.example/n/{n}"), "type": "Note",
                "published": chrono::DateTime::from_timestamp_millis(now - age_days * 86_400_000)
                    .unwrap().to_rfc3339()}})
        };
        let oldest = now - 30 * 86_400_000;
        let mut taken = Vec::new();
        let page: Vec<Value> = (0..5).map(|n| item(n, 1)).collect();
        assert!(!consume(&page, oldest, 10, &mut taken));
        assert_eq!(taken.len(), 5);
        assert!(consume(&page, oldest, 7, &mut taken));
        assert_eq!(taken.len(), 7);
        let mut taken = Vec::new();
        let page = vec![item(1, 1), item(2, 31), item(3, 1)];
        assert!(consume(&page, oldest, 10, &mut taken));
        assert_eq!(taken.len(), 1);
        // Likes, strings and the like are passed over.
        let mut taken = Vec::new();
        let page = vec![serde_json::json!({"type": "Like"}), serde_json::json!("x")];
        assert!(!consume(&page, oldest, 10, &mut taken));
        assert!(taken.is_empty());
    }
}
