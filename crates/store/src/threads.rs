//! Threads: the rows behind a status's `replies` and `context` collections, replies
//! that arrived before their parent, and the bookkeeping of background thread fetches
//! (`thread_fetches`: deduplication, cooldown, progress).

use crate::collections::UriItem;
use crate::{with_pool, Db, Result};

/// Public and unlisted replies to a status that are not deleted, oldest first, after
/// the cursor `after` (a status id), at most `limit`.
pub async fn replies(
    db: &Db,
    status_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<UriItem>> {
    let sql = "SELECT s.id AS cursor, s.uri AS uri, a.username AS username, s.local AS local, \
               s.id AS status_id FROM statuses s JOIN accounts a ON a.id = s.account_id \
               WHERE s.in_reply_to_id = $1 AND s.id > $2 AND s.deleted_at IS NULL \
               AND s.reblog_of_id IS NULL AND s.visibility IN ('public', 'unlisted') \
               ORDER BY s.id ASC LIMIT $3";
    Ok(with_pool!(db, p => sqlx::query_as::<_, UriItem>(sql)
        .bind(status_id)
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(p)
        .await)?)
}

/// How many items [`replies`] has in all.
pub async fn replies_count(db: &Db, status_id: i64) -> Result<i64> {
    let sql = "SELECT COUNT(*) FROM statuses s WHERE s.in_reply_to_id = $1 \
               AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL \
               AND s.visibility IN ('public', 'unlisted')";
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(status_id).fetch_one(p).await)?)
}

/// The root-most known status above `status_id` (itself when it has no known
/// parent), following `in_reply_to_id` at most `max_depth` steps.
pub async fn root_of(db: &Db, status_id: i64, max_depth: i64) -> Result<i64> {
    let sql = "WITH RECURSIVE up(id, parent, depth) AS ( \
                 SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = $1 \
                 UNION ALL \
                 SELECT s.id, s.in_reply_to_id, up.depth + 1 FROM statuses s \
                 JOIN up ON s.id = up.parent WHERE up.depth < $2 \
               ) SELECT id FROM up ORDER BY depth DESC LIMIT 1";
    let found = with_pool!(db, p => sqlx::query_scalar::<_, i64>(sql)
        .bind(status_id)
        .bind(max_depth)
        .fetch_optional(p)
        .await)?;
    Ok(found.unwrap_or(status_id))
}

/// The whole thread below `root` (the root included) as collection items: public and
/// unlisted, not deleted, oldest first, at most `limit`, down to `max_depth` levels.
pub async fn thread_items(db: &Db, root: i64, max_depth: i64, limit: i64) -> Result<Vec<UriItem>> {
    let sql = "WITH RECURSIVE down(id, depth) AS ( \
                 SELECT id, 0 FROM statuses WHERE id = $1 \
                 UNION ALL \
                 SELECT s.id, down.depth + 1 FROM statuses s JOIN down ON s.in_reply_to_id = down.id \
                 WHERE down.depth < $2 \
               ) \
               SELECT s.id AS cursor, s.uri AS uri, a.username AS username, s.local AS local, \
               s.id AS status_id FROM down JOIN statuses s ON s.id = down.id \
               JOIN accounts a ON a.id = s.account_id \
               WHERE s.deleted_at IS NULL AND s.reblog_of_id IS NULL \
               AND s.visibility IN ('public', 'unlisted') ORDER BY s.id ASC LIMIT $3";
    Ok(with_pool!(db, p => sqlx::query_as::<_, UriItem>(sql)
        .bind(root)
        .bind(max_depth)
        .bind(limit)
        .fetch_all(p)
        .await)?)
}

/// The URIs of the remote statuses below `root` (down to `max_depth` levels, the root
/// excluded): public and unlisted, not deleted, oldest first, at most `limit`. Their
/// `replies` collections may hold what was never delivered here.
pub async fn remote_below(db: &Db, root: i64, max_depth: i64, limit: i64) -> Result<Vec<String>> {
    let sql = "WITH RECURSIVE down(id, depth) AS ( \
                 SELECT id, 0 FROM statuses WHERE id = $1 \
                 UNION ALL \
                 SELECT s.id, down.depth + 1 FROM statuses s JOIN down ON s.in_reply_to_id = down.id \
                 WHERE down.depth < $2 \
               ) \
               SELECT s.uri FROM down JOIN statuses s ON s.id = down.id \
               WHERE down.depth > 0 AND s.local = $3 AND s.deleted_at IS NULL \
               AND s.reblog_of_id IS NULL AND s.visibility IN ('public', 'unlisted') \
               ORDER BY s.id ASC LIMIT $4";
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, String>(sql)
        .bind(root)
        .bind(max_depth)
        .bind(false)
        .bind(limit)
        .fetch_all(p)
        .await)?)
}

/// Statuses that answer `parent_uri` but are not linked to a stored parent: replies
/// that arrived before it. At most 1000.
pub async fn orphans(db: &Db, parent_uri: &str) -> Result<Vec<(i64, bool)>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, (i64, bool)>(
        "SELECT id, (deleted_at IS NULL AND visibility IN ('public', 'unlisted')) FROM statuses \
         WHERE in_reply_to_uri = $1 AND in_reply_to_id IS NULL ORDER BY id LIMIT 1000")
        .bind(parent_uri)
        .fetch_all(p)
        .await)?)
}

/// The ids above a status (its parent, the parent's parent ...), at most `max_depth`.
pub async fn ancestor_ids(db: &Db, status_id: i64, max_depth: i64) -> Result<Vec<i64>> {
    let sql = "WITH RECURSIVE up(id, depth) AS ( \
                 SELECT in_reply_to_id, 1 FROM statuses WHERE id = $1 AND in_reply_to_id IS NOT NULL \
                 UNION ALL \
                 SELECT s.in_reply_to_id, up.depth + 1 FROM statuses s JOIN up ON s.id = up.id \
                 WHERE s.in_reply_to_id IS NOT NULL AND up.depth < $2 \
               ) SELECT id FROM up";
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, i64>(sql)
        .bind(status_id)
        .bind(max_depth)
        .fetch_all(p)
        .await)?)
}

/// Links a reply stored before its parent to it (parent id and author), and counts it
/// in the parent's `replies_count` when `counts` (public or unlisted, not deleted).
pub async fn link_orphan(
    db: &Db,
    orphan_id: i64,
    parent_id: i64,
    parent_account_id: i64,
    counts: bool,
) -> Result<()> {
    let linked = with_pool!(db, p => sqlx::query(
        "UPDATE statuses SET in_reply_to_id = $1, in_reply_to_account_id = $2 \
         WHERE id = $3 AND in_reply_to_id IS NULL")
        .bind(parent_id)
        .bind(parent_account_id)
        .bind(orphan_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    if linked > 0 && counts {
        with_pool!(db, p => sqlx::query(
            "UPDATE statuses SET replies_count = replies_count + 1 WHERE id = $1")
            .bind(parent_id)
            .execute(p)
            .await
            .map(|_| ()))?;
    }
    Ok(())
}

/// The state of one thread's background fetch.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ThreadFetch {
    pub status_id: i64,
    pub queued_at: i64,
    pub finished_at: Option<i64>,
    pub result_count: i64,
}

pub async fn fetch_state(db: &Db, status_id: i64) -> Result<Option<ThreadFetch>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, ThreadFetch>(
        "SELECT status_id, queued_at, finished_at, result_count FROM thread_fetches WHERE status_id = $1")
        .bind(status_id)
        .fetch_optional(p)
        .await)?)
}

/// Claims the fetch of a thread: true when no fetch of it was queued since
/// `cooldown_start` (then the row says "queued now" and the caller queues the job),
/// false when one is queued, running, or finished within the cooldown. One statement,
/// so that two concurrent requests cannot both claim it.
pub async fn claim_fetch(db: &Db, status_id: i64, now: i64, cooldown_start: i64) -> Result<bool> {
    let changed = with_pool!(db, p => sqlx::query(
        "INSERT INTO thread_fetches (status_id, queued_at, finished_at, result_count) \
         VALUES ($1, $2, NULL, 0) \
         ON CONFLICT (status_id) DO UPDATE SET queued_at = $2, finished_at = NULL, result_count = 0 \
         WHERE thread_fetches.queued_at < $3")
        .bind(status_id)
        .bind(now)
        .bind(cooldown_start)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(changed > 0)
}

/// Records progress (`finished_at` stays empty) or the end of a fetch.
pub async fn record_fetch(
    db: &Db,
    status_id: i64,
    result_count: i64,
    finished_at: Option<i64>,
) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "UPDATE thread_fetches SET result_count = $1, finished_at = $2 WHERE status_id = $3")
        .bind(result_count)
        .bind(finished_at)
        .bind(status_id)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}
