//! Home feeds (fan-out on write into `home_feed`) and the public timelines.
//!
//! A home feed is one row per (reader, status) in `home_feed`, whose primary key
//! (account_id, status_id) serves a page of any user's home timeline with one index
//! range scan, however large the statuses table grows.

use crate::statuses::{StatusRow, COLUMNS as STATUS_COLUMNS};
use crate::{with_pool, Db, PageParams, Result};

/// Inserts a status into the feeds of its author (when local), of its author's local
/// followers (unless it is direct), and of the local accounts it mentions when it is
/// direct. Idempotent.
pub async fn fan_out(db: &Db, status_id: i64, author_id: i64, visibility: &str) -> Result<u64> {
    let direct = visibility == "direct";
    let rows = with_pool!(db, p => sqlx::query(
        "INSERT INTO home_feed (account_id, status_id, author_account_id) \
         SELECT r.id, $1, $2 FROM accounts r WHERE r.domain IS NULL AND ( \
             r.id = $2 \
             OR ($3 = FALSE AND r.id IN (SELECT account_id FROM follows WHERE target_account_id = $2)) \
             OR ($3 = TRUE AND r.id IN (SELECT account_id FROM mentions WHERE status_id = $1)) \
         ) \
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(status_id)
    .bind(author_id)
    .bind(direct)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(rows)
}

/// Copies an author's recent non-direct statuses into a reader's feed (after a
/// follow), so that the home timeline is not empty until they post again.
pub async fn backfill_author(db: &Db, reader_id: i64, author_id: i64, limit: i64) -> Result<u64> {
    let rows = with_pool!(db, p => sqlx::query(
        "INSERT INTO home_feed (account_id, status_id, author_account_id) \
         SELECT $1, s.id, s.account_id FROM statuses s \
         WHERE s.account_id = $2 AND s.deleted_at IS NULL AND s.visibility <> 'direct' \
         ORDER BY s.id DESC LIMIT $3 \
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(reader_id)
    .bind(author_id)
    .bind(limit)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(rows)
}

/// Removes an author's statuses from a reader's feed (after an unfollow or a block),
/// except those that mention the reader.
pub async fn remove_author(db: &Db, reader_id: i64, author_id: i64) -> Result<u64> {
    let rows = with_pool!(db, p => sqlx::query(
        "DELETE FROM home_feed WHERE account_id = $1 AND author_account_id = $2 \
         AND status_id NOT IN (SELECT status_id FROM mentions WHERE account_id = $1)",
    )
    .bind(reader_id)
    .bind(author_id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(rows)
}

/// A page of a home feed, newest first.
pub async fn home(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<StatusRow>> {
    let columns: String = STATUS_COLUMNS
        .split(',')
        .map(|c| format!("s.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {columns} FROM home_feed h JOIN statuses s ON s.id = h.status_id \
             WHERE s.deleted_at IS NULL AND h.account_id = "
        ));
        qb.push_bind(account_id);
        page.push_sql(&mut qb, "h.status_id");
        qb.build_query_as::<StatusRow>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}
