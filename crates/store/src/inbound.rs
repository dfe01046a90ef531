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
use crate::read::{Arg, AsTx as _, Select};
use crate::statuses::NewStatus;
use crate::{with_pool, Db, Result, WritePool as _};

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
///
/// [`LiteWriter::store_statuses`] runs the same statements on SQLite without the
/// driver's thread.
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
        for q in status_inserts(batch) {
            stored.extend(tx.as_tx().ids(q).await?);
        }
        for q in after_inserts(batch, enqueue, &stored) {
            tx.as_tx().execute(q).await?;
        }
        tx.commit().await?;
        Ok::<Vec<i64>, crate::StoreError>(stored)
    })?;
    Ok(stored)
}

/// The first statements of [`store_statuses`]: the status rows, each returning the
/// ids it stored.
fn status_inserts(batch: &[Received<'_>]) -> Vec<Select> {
    batch
        .chunks(ROWS_PER_STATEMENT)
        .map(|chunk| {
            let mut q = Select::new(
                "INSERT INTO statuses (id, uri, url, account_id, in_reply_to_id, \
                 in_reply_to_account_id, in_reply_to_uri, reblog_of_id, content, text, \
                 spoiler_text, sensitive, visibility, language, context_uri, local, \
                 application_id, created_at, updated_at) VALUES ",
            );
            for (i, r) in chunk.iter().enumerate() {
                let s = r.status;
                if i > 0 {
                    q.push(", ");
                }
                q.push("(");
                let values: [Arg; 19] = [
                    s.id.into(),
                    s.uri.as_str().into(),
                    s.url.as_deref().into(),
                    s.account_id.into(),
                    s.in_reply_to_id.into(),
                    s.in_reply_to_account_id.into(),
                    s.in_reply_to_uri.as_deref().into(),
                    s.reblog_of_id.into(),
                    s.content.as_str().into(),
                    s.text.as_deref().into(),
                    s.spoiler_text.as_str().into(),
                    s.sensitive.into(),
                    s.visibility.as_str().into(),
                    s.language.as_deref().into(),
                    s.context_uri.as_deref().into(),
                    s.local.into(),
                    s.application_id.into(),
                    s.created_at.into(),
                    s.created_at.into(),
                ];
                for (j, v) in values.into_iter().enumerate() {
                    if j > 0 {
                        q.push(", ");
                    }
                    q.push_bind(v);
                }
                q.push(")");
            }
            q.push(" ON CONFLICT DO NOTHING RETURNING id");
            q
        })
        .collect()
}

/// The rest of [`store_statuses`], once the inserts said which statuses were
/// `stored`: their feed rows, the claimed jobs' deletion, the jobs to store, the
/// authors' counters.
fn after_inserts(batch: &[Received<'_>], enqueue: &[&NewJob], stored: &[i64]) -> Vec<Select> {
    let mut out = Vec::new();
    let kept: HashSet<i64> = stored.iter().copied().collect();
    let (kept, left): (Vec<&Received<'_>>, Vec<&Received<'_>>) =
        batch.iter().partition(|r| kept.contains(&r.status.id));
    // Every feed row of the batch in a few statements rather than one per status.
    let kept_ids: Vec<i64> = kept.iter().map(|r| r.status.id).collect();
    for chunk in kept_ids.chunks(ROWS_PER_STATEMENT) {
        let mut q = Select::new("");
        crate::timelines::push_fan_out_many(&mut q, chunk);
        out.push(q);
    }
    let claimed: Vec<i64> = kept
        .iter()
        .filter_map(|r| match r.job {
            JobOf::Claimed(id) => Some(id),
            JobOf::Unstored(_) => None,
        })
        .collect();
    for chunk in claimed.chunks(ROWS_PER_STATEMENT) {
        let mut q = Select::new("DELETE FROM jobs WHERE id IN ");
        crate::push_id_list(&mut q, chunk);
        out.push(q);
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
        out.push(crate::jobs::insert_many(chunk));
    }
    // The authors' counters last, just before the commit, as in
    // `status_actions::publish` (a row lock held only for the commit), in one
    // multi-row upsert with one row per author. The same columns `publish` counts in:
    // a status that is not direct counts for its author, and `last_status_at` is the
    // newest stored.
    let authors = crate::status_actions::author_counts(
        kept.iter()
            .filter(|r| r.status.visibility != "direct")
            .map(|r| (r.status.account_id, r.status.created_at)),
    );
    for chunk in authors.chunks(ROWS_PER_STATEMENT) {
        let mut q = Select::new("");
        crate::status_actions::push_author_counts(&mut q, chunk);
        out.push(q);
    }
    out
}

/// A connection of its own that writes to an SQLite file on the caller's thread,
/// for the inbox's group commit (`fulmar::worker::inbox`), which runs on a thread of
/// its own.
///
/// Every other write goes through sqlx, whose SQLite driver gives each connection a
/// thread and hands each statement to it and back: a group of deliveries made about
/// a dozen such hand-offs, and the task waiting for each of them queued behind the
/// requests on the runtime's threads, so one group took several milliseconds while
/// the deliveries behind it waited (BENCHMARKS.md). Here a group is one call, on one
/// thread. The connection is a writer like any other: `BEGIN IMMEDIATE` takes
/// SQLite's one write lock, waiting for the pool's writers as they wait for it (the
/// same busy timeout), and it has the pool's settings.
///
/// Its commits do not checkpoint the log themselves, as SQLite's connections do by
/// default once it holds 1,000 pages: that copies the pages into the database file
/// and syncs it, holding up every delivery waiting for the next group. A thread of
/// its own ("fulmar-checkpoint", with its own connection) runs a passive checkpoint
/// after commits instead, at most every [`CHECKPOINT_EVERY`]; a passive checkpoint
/// takes no lock that a writer waits for.
pub struct LiteWriter {
    conn: rusqlite::Connection,
    /// Asks the checkpointing thread for a checkpoint; `None` when the writer
    /// checkpoints as SQLite does by default (that thread could not be started).
    checkpoints: Option<std::sync::mpsc::SyncSender<()>>,
}

/// How often the checkpointing thread of a [`LiteWriter`] checkpoints while commits
/// come in.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Opens a read-write connection with the pool's settings (`Db::connect`); the file
/// is in WAL mode already.
fn open_writer(path: &std::path::Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(crate::BUSY_TIMEOUT_SECS))?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = memory; PRAGMA cache_size = -8000;",
    )?;
    Ok(conn)
}

/// Starts the checkpointing thread of a writer on `path`; it ends when the returned
/// sender is dropped. `None` (and a warning) when it cannot be started.
fn start_checkpoints(path: &std::path::Path) -> Option<std::sync::mpsc::SyncSender<()>> {
    let conn = match open_writer(path) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!("opening the checkpointing connection: {e}");
            return None;
        }
    };
    // One request waits at most: requests made meanwhile are served by its checkpoint.
    let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
    let started = std::thread::Builder::new()
        .name("fulmar-checkpoint".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                // A failure (say, a reader holding the log) is retried with the next
                // request; the log only grows meanwhile.
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!("checkpointing the SQLite log: {e}");
                }
                std::thread::sleep(CHECKPOINT_EVERY);
            }
        });
    match started {
        Ok(_) => Some(tx),
        Err(e) => {
            tracing::warn!("starting the checkpointing thread: {e}");
            None
        }
    }
}

/// Prepared statements kept by the writer: a group's statements differ by their
/// number of rows.
const WRITER_STATEMENT_CACHE: usize = 256;

impl LiteWriter {
    /// Opens a writer on the database of `db`; `None` on PostgreSQL.
    pub fn open(db: &Db) -> Result<Option<LiteWriter>> {
        let Db::Sqlite(_, readers) = db else {
            return Ok(None);
        };
        let conn = open_writer(readers.path())?;
        conn.set_prepared_statement_cache_capacity(WRITER_STATEMENT_CACHE);
        // Without the thread, the writer checkpoints as it commits, as by default.
        let checkpoints = start_checkpoints(readers.path());
        if checkpoints.is_some() {
            conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        }
        Ok(Some(LiteWriter { conn, checkpoints }))
    }

    /// Asks for a checkpoint after a commit.
    fn committed(&self) {
        if let Some(checkpoints) = &self.checkpoints {
            // Full: one is asked for already. Disconnected: the thread has ended, and
            // the pool's connections still checkpoint as they commit.
            let _ = checkpoints.try_send(());
        }
    }

    /// [`store_statuses`], on this thread.
    pub fn store_statuses(
        &mut self,
        batch: &[Received<'_>],
        enqueue: &[&NewJob],
    ) -> Result<Vec<i64>> {
        if batch.is_empty() && enqueue.is_empty() {
            return Ok(Vec::new());
        }
        // Rolled back when dropped before the commit, as on an error.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut stored: Vec<i64> = Vec::with_capacity(batch.len());
        for q in status_inserts(batch) {
            stored.extend(q.ids_lite(&tx)?);
        }
        for q in after_inserts(batch, enqueue, &stored) {
            q.execute_lite(&tx)?;
        }
        tx.commit()?;
        self.committed();
        Ok(stored)
    }

    /// [`crate::jobs::enqueue_all`], on this thread.
    pub fn enqueue_all(&mut self, jobs: &[&NewJob]) -> Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for chunk in jobs.chunks(crate::jobs::ROWS_PER_STATEMENT) {
            crate::jobs::insert_many(chunk).execute_lite(&tx)?;
        }
        tx.commit()?;
        self.committed();
        Ok(())
    }
}
