//! What is remembered about fetching the history (outbox) of remote accounts: when it
//! was last done, for a cooldown, and why it could not be done.

use crate::{with_pool, Db, Result};

/// The note recorded when an account's outbox refuses to be read (401/403, or a
/// collection that counts posts but lists none, as Threads serves it).
pub const OUTBOX_PRIVATE: &str = "outbox_private";

/// Claims the right to backfill a remote account now: true, and `backfilled_at` set to
/// `now`, when it was never backfilled or last before `now - cooldown_ms`. One
/// conditional UPDATE, so that two requests at once cannot both win.
pub async fn claim(db: &Db, account_id: i64, now: i64, cooldown_ms: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "UPDATE accounts SET backfilled_at = $2 WHERE id = $1 AND domain IS NOT NULL \
         AND (backfilled_at IS NULL OR backfilled_at <= $3)",
    )
    .bind(account_id)
    .bind(now)
    .bind(now - cooldown_ms)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// When the account was last claimed for a backfill.
pub async fn backfilled_at(db: &Db, account_id: i64) -> Result<Option<i64>> {
    let v: Option<Option<i64>> = with_pool!(db, p => sqlx::query_scalar(
        "SELECT backfilled_at FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_optional(p)
    .await)?;
    Ok(v.flatten())
}

/// Records (or, with `None`, clears) why the account's history could not be fetched.
pub async fn set_note(db: &Db, account_id: i64, note: Option<&str>) -> Result<()> {
    with_pool!(db, p => sqlx::query("UPDATE accounts SET backfill_note = $2 WHERE id = $1")
        .bind(account_id)
        .bind(note)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}
