//! Notifications.

use crate::{with_pool, Db, Result};

#[derive(Clone, Debug)]
pub struct NewNotification {
    pub id: i64,
    pub account_id: i64,
    pub from_account_id: i64,
    pub kind: String,
    pub status_id: Option<i64>,
    pub created_at: i64,
}

/// Stores a notification for a local account; notifications for remote accounts are
/// their own server's business and are silently skipped.
pub async fn insert(db: &Db, n: &NewNotification) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO notifications (id, account_id, from_account_id, notification_type, status_id, created_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2 AND domain IS NULL)",
    )
    .bind(n.id)
    .bind(n.account_id)
    .bind(n.from_account_id)
    .bind(&n.kind)
    .bind(n.status_id)
    .bind(n.created_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
