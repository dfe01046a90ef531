//! The inbox worker's batches of plain `Create`s (`fulmar::activitypub::receive::batch`):
//! the reads it makes once for a whole batch of received activities instead of once
//! per activity, and the one transaction that stores the batch's statuses, fills the
//! home feeds and deletes the finished jobs.
//!
//! Each query here replaces the same query made for every activity; a batch of 32
//! activities costs a handful of statements instead of about 13 each, which is what
//! bounded the inbox on both databases (on SQLite, every statement is a hand-off to
//! the driver's thread and back).

use std::collections::{HashMap, HashSet};

use crate::accounts::{self, AccountRow};
use crate::jobs::NewJob;
use crate::read::Select;
use crate::statuses::NewStatus;
use crate::{with_pool, Db, Result, WritePool};

/// Most rows one multi-row statement writes (18 parameters each, far below either
/// database's limit on parameters).
const ROWS_PER_STATEMENT: usize = 200;

/// Appends `(v1, v2, …)` with each value bound, for `IN`.
pub(crate) fn push_text_list(q: &mut Select, values: &[String]) {
    q.push("(");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push_bind(v.clone());
    }
    q.push(")");
}

/// The stored accounts among `uris`, each with when it was last fetched (`None` for
/// an account never fetched).
pub async fn accounts_by_uris(db: &Db, uris: &[String]) -> Result<Vec<(AccountRow, Option<i64>)>> {
    if uris.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Select::new(format!(
        "SELECT {} FROM {} WHERE a.uri IN ",
        accounts::columns(),
        accounts::FROM
    ));
    push_text_list(&mut q, uris);
    let rows: Vec<AccountRow> = q.fetch_all(db).await?;
    let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
    let mut q = Select::new("SELECT id, fetched_at FROM accounts WHERE id IN ");
    crate::push_id_list(&mut q, &ids);
    let fetched: HashMap<i64, Option<i64>> = q
        .fetch_all::<(i64, Option<i64>)>(db)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|a| {
            let at = fetched.get(&a.id).copied().flatten();
            (a, at)
        })
        .collect())
}

/// Which of `uris` are stored as statuses (deleted ones included).
pub async fn stored_status_uris(db: &Db, uris: &[String]) -> Result<HashSet<String>> {
    if uris.is_empty() {
        return Ok(HashSet::new());
    }
    let mut q = Select::new("SELECT uri FROM statuses WHERE uri IN ");
    push_text_list(&mut q, uris);
    let rows: Vec<(String,)> = q.fetch_all(db).await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

/// Which of `uris` stored replies are waiting for (replies that arrived before their
/// parent, which `core::threads::link_orphans` links once the parent is stored).
pub async fn awaited_parents(db: &Db, uris: &[String]) -> Result<HashSet<String>> {
    if uris.is_empty() {
        return Ok(HashSet::new());
    }
    let mut q = Select::new(
        "SELECT DISTINCT in_reply_to_uri FROM statuses \
         WHERE in_reply_to_id IS NULL AND in_reply_to_uri IN ",
    );
    push_text_list(&mut q, uris);
    let rows: Vec<(String,)> = q.fetch_all(db).await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

/// Which of `account_ids` a local account follows (`remote::has_local_followers` for
/// many accounts at once).
pub async fn with_local_followers(db: &Db, account_ids: &[i64]) -> Result<HashSet<i64>> {
    if account_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let mut q = Select::new(
        "SELECT DISTINCT f.target_account_id FROM follows f \
         JOIN accounts a ON a.id = f.account_id \
         WHERE a.domain IS NULL AND f.target_account_id IN ",
    );
    crate::push_id_list(&mut q, account_ids);
    let rows: Vec<(i64,)> = q.fetch_all(db).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// One received status to store, and the inbox job that brought it.
pub struct Received<'a> {
    pub status: &'a NewStatus,
    pub job: JobOf<'a>,
}

/// The inbox job of a [`Received`] status, and what becomes of it.
pub enum JobOf<'a> {
    /// A job the worker claimed: deleted with its status when that is stored, left
    /// for the caller to run one by one when it is not.
    Claimed(i64),
    /// A delivery not stored yet (the inbox's group commit, which stores plain
    /// `Create`s as they are accepted): nothing to delete when its status is stored,
    /// and stored as this job, in the same transaction, when it is not, so that the
    /// usual path processes it.
    Unstored(&'a NewJob),
}

/// Stores received statuses that need nothing but their row (no mentions, tags,
/// media, poll or parent; not direct), in one transaction: the status rows, their
/// home-feed rows (`timelines::push_fan_out_many`, the rule every status goes
/// through), their authors' counters, the deletion of the claimed jobs that brought
/// them (so that a job is finished exactly when its status is stored), and the jobs
/// of `enqueue` (the other deliveries of the inbox's group commit).
///
/// A status whose id or URI is taken already is left out (`ON CONFLICT DO NOTHING`),
/// with its job: a claimed one the caller runs one by one, an unstored one is stored
/// as a job here; the usual path draws another id or finds the stored status.
/// Returns the ids of the statuses stored. An error means nothing was stored.
pub async fn store_statuses(
    db: &Db,
    batch: &[Received<'_>],
    enqueue: &[&NewJob],
) -> Result<Vec<i64>> {
    if batch.is_empty() && enqueue.is_empty() {
        return Ok(Vec::new());
    }
    let stored = with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut stored: Vec<i64> = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO statuses (id, uri, url, account_id, in_reply_to_id, \
                 in_reply_to_account_id, in_reply_to_uri, reblog_of_id, content, text, \
                 spoiler_text, sensitive, visibility, language, context_uri, local, \
                 application_id, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, r| {
                let s = r.status;
                b.push_bind(s.id)
                    .push_bind(s.uri.as_str())
                    .push_bind(s.url.as_deref())
                    .push_bind(s.account_id)
                    .push_bind(s.in_reply_to_id)
                    .push_bind(s.in_reply_to_account_id)
                    .push_bind(s.in_reply_to_uri.as_deref())
                    .push_bind(s.reblog_of_id)
                    .push_bind(s.content.as_str())
                    .push_bind(s.text.as_deref())
                    .push_bind(s.spoiler_text.as_str())
                    .push_bind(s.sensitive)
                    .push_bind(s.visibility.as_str())
                    .push_bind(s.language.as_deref())
                    .push_bind(s.context_uri.as_deref())
                    .push_bind(s.local)
                    .push_bind(s.application_id)
                    .push_bind(s.created_at)
                    .push_bind(s.created_at);
            });
            q.push(" ON CONFLICT DO NOTHING RETURNING id");
            let ids: Vec<i64> = q.build_query_scalar().fetch_all(&mut *tx).await?;
            stored.extend(ids);
        }
        let kept: HashSet<i64> = stored.iter().copied().collect();
        let (kept, left): (Vec<&Received<'_>>, Vec<&Received<'_>>) =
            batch.iter().partition(|r| kept.contains(&r.status.id));
        // Every feed row of the batch in a few statements rather than one per status.
        let kept_ids: Vec<i64> = kept.iter().map(|r| r.status.id).collect();
        for chunk in kept_ids.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new("");
            crate::timelines::push_fan_out_many(&mut q, chunk);
            q.build().execute(&mut *tx).await?;
        }
        let claimed: Vec<i64> = kept
            .iter()
            .filter_map(|r| match r.job {
                JobOf::Claimed(id) => Some(id),
                JobOf::Unstored(_) => None,
            })
            .collect();
        for chunk in claimed.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new("DELETE FROM jobs WHERE id IN ");
            crate::push_id_list(&mut q, chunk);
            q.build().execute(&mut *tx).await?;
        }
        let jobs: Vec<&NewJob> = enqueue
            .iter()
            .copied()
            .chain(left.iter().filter_map(|r| match r.job {
                JobOf::Unstored(job) => Some(job),
                JobOf::Claimed(_) => None,
            }))
            .collect();
        for chunk in jobs.chunks(crate::jobs::ROWS_PER_STATEMENT) {
            crate::jobs::insert_many(chunk).build().execute(&mut *tx).await?;
        }
        // The authors' counters last, just before the commit, as in
        // `status_actions::publish` (a row lock held only for the commit), in one
        // multi-row upsert with one row per author. The same columns `publish` counts
        // in: a status that is not direct counts for its author, and `last_status_at`
        // is the newest stored.
        let authors = crate::status_actions::author_counts(
            kept.iter()
                .filter(|r| r.status.visibility != "direct")
                .map(|r| (r.status.account_id, r.status.created_at)),
        );
        for chunk in authors.chunks(ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new("");
            crate::status_actions::push_author_counts(&mut q, chunk);
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<Vec<i64>, crate::StoreError>(stored)
    })?;
    Ok(stored)
}
