//! The durable job queue, per-host delivery health, and the audience queries the
//! outbox fans out with.
//!
//! A job is a row of `jobs`. Workers *claim* ready rows by setting a lease
//! (`locked_until`); a finished job is deleted, a failed one is rescheduled
//! (`attempts + 1`, `run_at` later, `last_error`) or, after `max_attempts`, marked dead
//! (`dead_at`) and pruned later. A worker that dies simply lets its lease pass, and the
//! job becomes claimable again: delivery is at least once.

use crate::read::{AsTx as _, Select};
use crate::WritePool as _;
use crate::{with_pool, Backend, Db, Result};

/// One row of `jobs`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub queue: String,
    pub concurrency_key: Option<String>,
    pub payload: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: i64,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub dead_at: Option<i64>,
}

const COLUMNS: &str = "id, queue, concurrency_key, payload, attempts, max_attempts, run_at, \
    locked_until, last_error, created_at, dead_at";

/// What it takes to enqueue a job. `id` comes from the caller's id generator.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub id: i64,
    pub queue: String,
    pub payload: String,
    pub run_at: i64,
    pub concurrency_key: Option<String>,
    pub max_attempts: i32,
    pub created_at: i64,
}

const INSERT: &str = "INSERT INTO jobs \
    (id, queue, concurrency_key, payload, attempts, max_attempts, run_at, created_at) \
    VALUES ($1, $2, $3, $4, 0, $5, $6, $7)";

/// Adds one job.
pub async fn enqueue(db: &Db, job: &NewJob) -> Result<()> {
    with_pool!(db, p => insert_with(p, job).await)
}

/// Inserts one job on a pool or inside a caller's transaction, so that a change and
/// the job announcing it commit together (`status_actions::publish_local`).
pub(crate) async fn insert_with<'e, E, DB>(executor: E, job: &NewJob) -> Result<()>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(INSERT)
        .bind(job.id)
        .bind(job.queue.clone())
        .bind(job.concurrency_key.clone())
        .bind(job.payload.clone())
        // As `insert_many` binds it: for one job both write the same SQL, which a
        // PostgreSQL connection prepares once, with the types of the first binding.
        .bind(i64::from(job.max_attempts))
        .bind(job.run_at)
        .bind(job.created_at)
        .execute(executor)
        .await?;
    Ok(())
}

/// Rows per multi-row statement: far below both databases' limits on bound
/// parameters (32,766 for SQLite, 65,535 for PostgreSQL) at eight per row.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// One multi-row INSERT of `jobs` (at most [`ROWS_PER_STATEMENT`] of them), for
/// [`enqueue_batch`], [`complete_with`] and the inbox's group commit
/// (`inbound::store_statuses`).
pub(crate) fn insert_many(jobs: &[&NewJob]) -> Select {
    let mut q = Select::new(
        "INSERT INTO jobs (id, queue, concurrency_key, payload, attempts, max_attempts, \
         run_at, created_at) VALUES ",
    );
    for (i, job) in jobs.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(")
            .push_bind(job.id)
            .push(", ")
            .push_bind(job.queue.as_str())
            .push(", ")
            .push_bind(job.concurrency_key.as_deref())
            .push(", ")
            .push_bind(job.payload.as_str())
            .push(", 0, ")
            .push_bind(i64::from(job.max_attempts))
            .push(", ")
            .push_bind(job.run_at)
            .push(", ")
            .push_bind(job.created_at)
            .push(")");
    }
    q
}

/// Adds many jobs in one transaction: all of them or none. Inserted with multi-row
/// statements, so that a burst (the inbox's group commit) costs a few statements
/// rather than one per job.
pub async fn enqueue_batch(db: &Db, jobs: &[NewJob]) -> Result<()> {
    enqueue_all(db, &jobs.iter().collect::<Vec<_>>()).await
}

/// [`enqueue_batch`] for jobs the caller keeps.
pub async fn enqueue_all(db: &Db, jobs: &[&NewJob]) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
            tx.as_tx().execute(insert_many(chunk)).await?;
        }
        tx.commit().await
    })?;
    Ok(())
}

/// Claims up to `limit` ready jobs (due, not dead, not leased or with an expired
/// lease), leasing them until `now + lease_ms`, oldest first.
///
/// The SQL differs per database, which is why this branches on the backend:
/// PostgreSQL runs many writers at once, so the selecting subquery takes
/// `FOR UPDATE SKIP LOCKED` and two workers never claim the same row; SQLite has no
/// row locks (nor that syntax) but a single writer, so the plain
/// `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` is already atomic.
pub async fn claim(db: &Db, limit: i64, now: i64, lease_ms: i64) -> Result<Vec<JobRow>> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET locked_until = $1 WHERE id IN (\
            SELECT id FROM jobs WHERE dead_at IS NULL AND run_at <= $2 \
            AND (locked_until IS NULL OR locked_until <= $2) \
            ORDER BY run_at, id LIMIT $3{lock}) \
         RETURNING {COLUMNS}"
    );
    let mut rows = with_pool!(db, p => sqlx::query_as::<_, JobRow>(&sql)
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(p)
        .await)?;
    rows.sort_by_key(|r| (r.run_at, r.id));
    Ok(rows)
}

/// A finished job leaves the queue.
pub async fn complete(db: &Db, id: i64) -> Result<()> {
    with_pool!(db, p => sqlx::query("DELETE FROM jobs WHERE id = $1").bind(id).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// Finished jobs leave the queue, many in one statement (the worker's group
/// completion). Ids not present (already deleted) are skipped.
pub async fn complete_many(db: &Db, ids: &[i64]) -> Result<()> {
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        with_pool!(db, p => {
            let mut q = sqlx::QueryBuilder::new("DELETE FROM jobs WHERE id IN ");
            crate::push_id_list(&mut q, chunk);
            q.build().execute(p).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Records a failed attempt. The job runs again at `retry_at`, unless that was its last
/// attempt: then it is marked dead. Returns true when the job is now dead.
pub async fn fail(db: &Db, id: i64, retry_at: i64, error: &str, now: i64) -> Result<bool> {
    let dead: Option<Option<i64>> = with_pool!(db, p => sqlx::query_scalar(
        "UPDATE jobs SET attempts = attempts + 1, run_at = $2, locked_until = NULL, \
         last_error = $3, \
         dead_at = CASE WHEN attempts + 1 >= max_attempts THEN $4 ELSE NULL END \
         WHERE id = $1 RETURNING dead_at")
        .bind(id)
        .bind(retry_at)
        .bind(truncate(error))
        .bind(now)
        .fetch_optional(p)
        .await)?;
    Ok(matches!(dead, Some(Some(_))))
}

/// Gives a job up at once (a permanent failure): it is kept, marked dead, until pruned.
pub async fn bury(db: &Db, id: i64, error: &str, now: i64) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "UPDATE jobs SET attempts = attempts + 1, locked_until = NULL, last_error = $2, \
         dead_at = $3 WHERE id = $1")
        .bind(id)
        .bind(truncate(error))
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Lets go of a leased job without counting an attempt (shutdown, host busy): it can
/// be claimed again from `run_at`.
pub async fn release(db: &Db, id: i64, run_at: i64) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "UPDATE jobs SET locked_until = NULL, run_at = $2 WHERE id = $1")
        .bind(id)
        .bind(run_at)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Keeps the dead jobs bounded: deletes those older than `before`, and beyond the
/// newest `keep`. Returns how many went.
pub async fn prune_dead(db: &Db, before: i64, keep: i64) -> Result<u64> {
    let a = with_pool!(db, p => sqlx::query(
        "DELETE FROM jobs WHERE dead_at IS NOT NULL AND dead_at < $1")
        .bind(before)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    let b = with_pool!(db, p => sqlx::query(
        "DELETE FROM jobs WHERE dead_at IS NOT NULL AND id NOT IN \
         (SELECT id FROM jobs WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC LIMIT $1)")
        .bind(keep)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(a + b)
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<JobRow>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    Ok(with_pool!(db, p => sqlx::query_as::<_, JobRow>(&sql).bind(id).fetch_optional(p).await)?)
}

/// Every job of a queue, dead or alive, in id order (tests and operators).
pub async fn list(db: &Db, queue: &str) -> Result<Vec<JobRow>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE queue = $1 ORDER BY id");
    Ok(with_pool!(db, p => sqlx::query_as::<_, JobRow>(&sql).bind(queue).fetch_all(p).await)?)
}

/// How many live (not dead) jobs a queue holds.
pub async fn pending(db: &Db, queue: &str) -> Result<i64> {
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM jobs WHERE queue = $1 AND dead_at IS NULL")
        .bind(queue)
        .fetch_one(p)
        .await)?)
}

fn truncate(error: &str) -> String {
    let mut end = error.len().min(1000);
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    error[..end].to_owned()
}

// ---- per-host delivery health (`instances`) ----

/// The health of a host as the delivery worker sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct HostHealth {
    pub last_success_at: Option<i64>,
    pub last_failure_at: Option<i64>,
    pub failure_count: i32,
    pub unreachable_since: Option<i64>,
    pub failing_since: Option<i64>,
}

pub async fn host_health(db: &Db, domain: &str) -> Result<Option<HostHealth>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, HostHealth>(
        "SELECT last_success_at, last_failure_at, failure_count, unreachable_since, \
         failing_since FROM instances WHERE domain = $1")
        .bind(domain)
        .fetch_optional(p)
        .await)?)
}

/// A host failed to answer (network error or 5xx). Once it has failed continuously for
/// `unreachable_after_ms` it is marked unreachable. Returns the health afterwards.
pub async fn host_failed(
    db: &Db,
    domain: &str,
    now: i64,
    unreachable_after_ms: i64,
) -> Result<HostHealth> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, HostHealth>(
        "INSERT INTO instances (domain, first_seen_at, last_failure_at, failure_count, \
         failing_since, unreachable_since) \
         VALUES ($1, $2, $2, 1, $2, CASE WHEN $3 <= 0 THEN $2 ELSE NULL END) \
         ON CONFLICT (domain) DO UPDATE SET last_failure_at = $2, \
         failure_count = instances.failure_count + 1, \
         failing_since = COALESCE(instances.failing_since, $2), \
         unreachable_since = CASE \
            WHEN instances.unreachable_since IS NOT NULL THEN instances.unreachable_since \
            WHEN COALESCE(instances.failing_since, $2) <= $2 - $3 THEN $2 \
            ELSE NULL END \
         RETURNING last_success_at, last_failure_at, failure_count, unreachable_since, \
         failing_since")
        .bind(domain)
        .bind(now)
        .bind(unreachable_after_ms)
        .fetch_one(p)
        .await)?)
}

// ---- audiences: where the outbox delivers ----

/// The distinct inboxes of `account_id`'s remote followers, each follower's shared
/// inbox when it has one.
pub async fn follower_inboxes(db: &Db, account_id: i64) -> Result<Vec<String>> {
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, String>(
        "SELECT DISTINCT COALESCE(a.shared_inbox_url, a.inbox_url) FROM follows f \
         JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = $1 AND a.domain IS NOT NULL \
         AND COALESCE(a.shared_inbox_url, a.inbox_url) IS NOT NULL")
        .bind(account_id)
        .fetch_all(p)
        .await)?)
}

/// The remote accounts a status mentions: (personal inbox, shared inbox).
pub async fn mentioned_inboxes(
    db: &Db,
    status_id: i64,
) -> Result<Vec<(Option<String>, Option<String>)>> {
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, (Option<String>, Option<String>)>(
        "SELECT a.inbox_url, a.shared_inbox_url FROM mentions m \
         JOIN accounts a ON a.id = m.account_id \
         WHERE m.status_id = $1 AND a.domain IS NOT NULL")
        .bind(status_id)
        .fetch_all(p)
        .await)?,
    )
}

/// The actor URIs of the remote accounts a status mentions (for `to`/`cc` and tags).
pub async fn mentioned_accounts(
    db: &Db,
    status_id: i64,
) -> Result<Vec<(String, String, Option<String>)>> {
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, (String, String, Option<String>)>(
        "SELECT a.uri, a.username, a.domain FROM mentions m JOIN accounts a ON a.id = m.account_id \
         WHERE m.status_id = $1 ORDER BY a.id")
        .bind(status_id)
        .fetch_all(p)
        .await)?,
    )
}

/// Whether a follow request (or follow) from `account_id` to `target` exists, and if so
/// the `uri` of its Follow activity when one was stored.
pub async fn follow_uri(db: &Db, account_id: i64, target: i64) -> Result<Option<Option<String>>> {
    let mut found = None;
    for table in ["follow_requests", "follows"] {
        let sql =
            format!("SELECT uri FROM {table} WHERE account_id = $1 AND target_account_id = $2");
        let row: Option<Option<String>> = with_pool!(db, p => sqlx::query_scalar(&sql)
            .bind(account_id)
            .bind(target)
            .fetch_optional(p)
            .await)?;
        if let Some(uri) = row {
            if uri.is_some() {
                return Ok(Some(uri));
            }
            found = Some(None);
        }
    }
    Ok(found)
}

/// Finishes job `done` and enqueues `jobs` in one transaction: a fan-out either fully
/// happens or is retried whole. The jobs go in multi-row INSERTs: a fan-out to a
/// thousand inboxes is then a few statements rather than a thousand round trips to
/// the database.
pub async fn complete_with(db: &Db, done: i64, jobs: &[NewJob]) -> Result<()> {
    let jobs: Vec<&NewJob> = jobs.iter().collect();
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
            tx.as_tx().execute(insert_many(chunk)).await?;
        }
        sqlx::query("DELETE FROM jobs WHERE id = $1").bind(done).execute(&mut *tx).await?;
        tx.commit().await
    })?;
    Ok(())
}

/// Records the outcome of many finished deliveries in one transaction: the jobs in
/// `done` leave the queue, and each host in `answered` is marked as answering at `now`
/// (its failures forgotten, reachable again). `answered` must not repeat a host.
///
/// The delivery worker calls this for every delivery that finished while the
/// previous call was running (group commit), so that a fan-out to a thousand servers
/// costs a few write transactions rather than two per delivery.
pub async fn finish_deliveries(db: &Db, done: &[i64], answered: &[String], now: i64) -> Result<()> {
    if done.is_empty() && answered.is_empty() {
        return Ok(());
    }
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        for chunk in answered.chunks(ROWS_PER_STATEMENT) {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO instances (domain, first_seen_at, last_success_at, failure_count) ",
            );
            qb.push_values(chunk, |mut row, domain| {
                row.push_bind(domain).push_bind(now).push_bind(now).push_bind(0i32);
            });
            qb.push(
                " ON CONFLICT (domain) DO UPDATE SET last_success_at = excluded.last_success_at, \
                 failure_count = 0, unreachable_since = NULL, failing_since = NULL",
            );
            qb.build().execute(&mut *tx).await?;
        }
        for chunk in done.chunks(ROWS_PER_STATEMENT) {
            let mut qb = sqlx::QueryBuilder::new("DELETE FROM jobs WHERE id IN ");
            crate::push_id_list(&mut qb, chunk);
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await
    })?;
    Ok(())
}
