//! Batches of plain `Create`s: the common case of the inbox (a followed account's new
//! post, with no reply, mention, hashtag, attachment, poll or quote) handled for a
//! whole batch at once, with every read made once for the batch and one transaction
//! storing the statuses, their home-feed rows and the jobs' completion
//! (`fulmar_store::inbound`). The batch is either the deliveries of one group commit
//! of the inbox (`worker::inbox::GroupCommit`, which stores their statuses as it
//! accepts them, so that they never become jobs) or the inbox jobs of one claim of
//! the worker (whatever reached the queue anyway).
//!
//! The result is the one [`super::process`] would reach for each activity: the same
//! checks decide, in the same order of precedence, and the row is built by the same
//! function (`remote_status::new_status`). Anything this module is not sure of (a
//! reply, an unknown or stale actor, a status already stored, an id taken, a blocked
//! host, a batch that fails to commit) is left to the usual path, one job at a time,
//! which also keeps retries where they were.

use std::collections::{HashMap, HashSet};

use fulmar_federation::from_activitypub::{self as ap, parse_activity};
use fulmar_store::accounts::AccountRow;
use fulmar_store::inbound::{self as store, JobOf, Received};
use fulmar_store::statuses::NewStatus;
use fulmar_store::Db;

use crate::core::remote_status::{self, ObjectDoc};
use crate::core::resolve::{authority, REFRESH_AFTER_MS};
use crate::core::time::now_ms;
use crate::core::urls::Urls;
use crate::state::App;
use crate::worker::inbox::InboxJob;

/// A job whose activity may be a plain `Create`, before the batch's reads.
struct Candidate {
    /// The job's position in the caller's list.
    index: usize,
    actor: String,
    host: String,
    doc: ObjectDoc,
    /// The object's non-public `to` and `cc`: stored accounts among them would be
    /// silently mentioned, which only the usual path does.
    targets: Vec<String>,
}

/// What the activity of `job` is, when it is a plain `Create` this module can store.
fn candidate(urls: &Urls, index: usize, job: &InboxJob) -> Option<Candidate> {
    // A forwarded activity's object is fetched, and a personal inbox's recipient is
    // silently mentioned: both are for the usual path.
    if job.forwarded || job.recipient.is_some() {
        return None;
    }
    let a = parse_activity(&job.activity).ok()?;
    if a.kind != "Create" || a.object_type.as_deref() != Some("Note") || !a.object.is_object() {
        return None;
    }
    let object_id = a.object_id.as_deref()?;
    if a.actor.starts_with(urls.base()) {
        return None;
    }
    let host = authority(&a.actor)?;
    if authority(object_id).as_deref() != Some(host.as_str()) {
        return None;
    }
    let mut doc = remote_status::read_object(&a.object).ok()?;
    if doc.obj.id != object_id || doc.obj.attributed_to != a.actor {
        return None;
    }
    if doc.obj.to.is_empty() && doc.obj.cc.is_empty() {
        doc.obj.to = a.to.clone();
        doc.obj.cc = a.cc.clone();
    }
    if !remote_status::is_plain_note(&doc) {
        return None;
    }
    let mut targets = Vec::new();
    for target in doc.obj.to.iter().chain(&doc.obj.cc) {
        if ap::is_public(target) {
            continue;
        }
        // Addressed to a local account: it concerns someone here and mentions them.
        if urls.username_of(target).is_some() {
            return None;
        }
        targets.push(target.clone());
    }
    if targets.len() > remote_status::MAX_TAGS {
        return None;
    }
    Some(Candidate {
        index,
        actor: a.actor,
        host,
        doc,
        targets,
    })
}

/// Stores the plain `Create`s among `jobs` (inbox job id and payload) in one go.
/// Returns the ids of the jobs it finished (and deleted); the others are for
/// [`super::process`], one by one. An error means nothing was stored.
pub async fn store_plain_creates(
    app: &App,
    jobs: &[(i64, InboxJob)],
) -> fulmar_store::Result<HashSet<i64>> {
    let rows = plain_creates(&app.db, &app.urls, jobs.iter().map(|(_, job)| job)).await?;
    let batch: Vec<Received<'_>> = rows
        .iter()
        .map(|(status, index)| Received {
            status,
            job: JobOf::Claimed(jobs[*index].0),
        })
        .collect();
    let stored: HashSet<i64> = store::store_statuses(&app.db, &batch, &[])
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .iter()
        .filter(|(s, _)| stored.contains(&s.id))
        .map(|(_, index)| jobs[*index].0)
        .collect())
}

/// The statuses of the plain `Create`s among `jobs` that can be stored at once, each
/// with its job's position in `jobs`, after the batch's reads (one each for all the
/// jobs). Used by the worker on the jobs of a claim ([`store_plain_creates`]) and by
/// the inbox's group commit on the deliveries it is about to store
/// (`worker::inbox::GroupCommit`), which then stores these statuses instead of their
/// jobs. Takes the database and the URLs rather than an `App`, since the group
/// commit belongs to the `App`.
pub async fn plain_creates<'j>(
    db: &Db,
    urls: &Urls,
    jobs: impl Iterator<Item = &'j InboxJob>,
) -> fulmar_store::Result<Vec<(NewStatus, usize)>> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut candidates: Vec<Candidate> = jobs
        .enumerate()
        .filter_map(|(index, job)| candidate(urls, index, job))
        // The same object twice in one batch: the first stores it, the other finds it
        // stored on the usual path.
        .filter(|c| seen.insert(c.doc.obj.id.clone()))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }

    // The reads `process` makes for every activity, made once for the batch.
    let hosts: Vec<String> = dedup(candidates.iter().map(|c| c.host.clone()));
    let blocked = fulmar_store::domain_blocks::blocked_among(db, &hosts).await?;
    candidates.retain(|c| !blocked.contains(&c.host));
    let uris: Vec<String> = dedup(
        candidates
            .iter()
            .flat_map(|c| std::iter::once(c.actor.clone()).chain(c.targets.iter().cloned())),
    );
    let accounts: HashMap<String, (AccountRow, Option<i64>)> = store::accounts_by_uris(db, &uris)
        .await?
        .into_iter()
        .map(|(a, fetched)| (a.uri.clone(), (a, fetched)))
        .collect();
    let now = now_ms();
    candidates.retain(|c| {
        let Some((actor, fetched)) = accounts.get(&c.actor) else {
            // Not stored yet: it is fetched on the usual path.
            return false;
        };
        // A stale profile is refreshed on the usual path first.
        let fresh = fetched.is_some_and(|t| now - t < REFRESH_AFTER_MS);
        fresh
            && !actor.is_local()
            && actor.suspended_at.is_none()
            && !c.targets.iter().any(|t| accounts.contains_key(t))
    });
    let object_ids: Vec<String> = candidates.iter().map(|c| c.doc.obj.id.clone()).collect();
    let stored = store::stored_status_uris(db, &object_ids).await?;
    let awaited = store::awaited_parents(db, &object_ids).await?;
    candidates.retain(|c| !stored.contains(&c.doc.obj.id) && !awaited.contains(&c.doc.obj.id));
    let actor_ids: Vec<i64> = dedup(candidates.iter().map(|c| accounts[&c.actor].0.id));
    let followed = store::with_local_followers(db, &actor_ids).await?;

    let mut rows: Vec<(NewStatus, usize)> = Vec::with_capacity(candidates.len());
    let mut ids: HashSet<i64> = HashSet::new();
    for c in &candidates {
        let actor = &accounts[&c.actor].0;
        // Nobody here follows the author and it addresses nobody here: dropped on the
        // usual path (which logs why).
        if !followed.contains(&actor.id) {
            continue;
        }
        let status = remote_status::new_status(&c.doc, actor, None);
        // Two posts of one millisecond drawing the same id: the second goes the usual
        // way, which draws again.
        if status.visibility == "direct" || !ids.insert(status.id) {
            continue;
        }
        rows.push((status, c.index));
    }
    Ok(rows)
}

fn dedup<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = items.collect();
    v.sort_unstable();
    v.dedup();
    v
}
