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

/// One row of `notifications`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub account_id: i64,
    pub from_account_id: i64,
    pub notification_type: String,
    pub status_id: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "n.id, n.account_id, n.from_account_id, n.notification_type, n.status_id, n.created_at";

/// Which notifications a list shows (Mastodon's `types[]`, `exclude_types[]` and
/// `account_id`). Empty lists filter nothing.
#[derive(Clone, Debug, Default)]
pub struct NotificationFilter {
    pub types: Vec<String>,
    pub exclude_types: Vec<String>,
    pub from_account_id: Option<i64>,
}

/// Appends the conditions every notification list shares: the recipient, the filter,
/// and the rows a user never sees: those from accounts they block, from accounts they
/// mute with notifications hidden (while the mute lasts), from suspended accounts, and
/// about statuses that have been deleted.
fn push_visible<'a, DB>(
    qb: &mut sqlx::QueryBuilder<'a, DB>,
    account_id: i64,
    filter: &NotificationFilter,
    now: i64,
) where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB> + 'a,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB> + 'a,
{
    qb.push(" n.account_id = ").push_bind(account_id);
    qb.push(
        " AND n.from_account_id NOT IN (SELECT target_account_id FROM blocks WHERE account_id = ",
    )
    .push_bind(account_id)
    .push(")");
    qb.push(
        " AND n.from_account_id NOT IN (SELECT target_account_id FROM mutes WHERE hide_notifications = TRUE \
         AND (expires_at IS NULL OR expires_at > ",
    )
    .push_bind(now)
    .push(") AND account_id = ")
    .push_bind(account_id)
    .push(")");
    qb.push(" AND NOT EXISTS (SELECT 1 FROM accounts fa WHERE fa.id = n.from_account_id AND fa.suspended_at IS NOT NULL)");
    qb.push(
        " AND (n.status_id IS NULL OR EXISTS \
         (SELECT 1 FROM statuses s WHERE s.id = n.status_id AND s.deleted_at IS NULL))",
    );
    for (list, op) in [(&filter.types, "IN"), (&filter.exclude_types, "NOT IN")] {
        if list.is_empty() {
            continue;
        }
        qb.push(format_args!(" AND n.notification_type {op} ("));
        let mut sep = qb.separated(", ");
        for t in list {
            sep.push_bind(t.clone());
        }
        qb.push(")");
    }
    if let Some(from) = filter.from_account_id {
        qb.push(" AND n.from_account_id = ").push_bind(from);
    }
}

/// A page of an account's notifications, newest first.
pub async fn page(
    db: &Db,
    account_id: i64,
    filter: &NotificationFilter,
    page: &crate::PageParams,
    now: i64,
) -> Result<Vec<NotificationRow>> {
    let rows = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM notifications n WHERE"));
        push_visible(&mut qb, account_id, filter, now);
        page.push_sql(&mut qb, "n.id");
        qb.build_query_as::<NotificationRow>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}

/// One of an account's notifications, unless it is hidden (see [`page`]).
pub async fn visible_by_id(
    db: &Db,
    account_id: i64,
    id: i64,
    now: i64,
) -> Result<Option<NotificationRow>> {
    let filter = NotificationFilter::default();
    let row = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM notifications n WHERE"));
        push_visible(&mut qb, account_id, &filter, now);
        qb.push(" AND n.id = ").push_bind(id);
        qb.build_query_as::<NotificationRow>().fetch_optional(p).await
    })?;
    Ok(row)
}

/// How many visible notifications arrived after the user's `notifications` marker
/// (all of them without a marker), counting no further than `limit`.
pub async fn unread_count(
    db: &Db,
    account_id: i64,
    user_id: i64,
    filter: &NotificationFilter,
    limit: i64,
    now: i64,
) -> Result<i64> {
    let n = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT n.id FROM notifications n WHERE");
        push_visible(&mut qb, account_id, filter, now);
        qb.push(
            " AND n.id > COALESCE((SELECT last_read_id FROM markers WHERE timeline = 'notifications' AND user_id = ",
        )
        .push_bind(user_id)
        .push("), 0) ORDER BY n.id DESC LIMIT ")
        .push_bind(limit)
        .push(") unread");
        qb.build_query_scalar::<i64>().fetch_one(p).await
    })?;
    Ok(n)
}

/// Deletes every notification of an account.
pub async fn delete_all(db: &Db, account_id: i64) -> Result<u64> {
    Ok(
        with_pool!(db, p => sqlx::query("DELETE FROM notifications WHERE account_id = $1")
        .bind(account_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?,
    )
}

/// Deletes one notification of an account; false when it has no such notification.
pub async fn delete_one(db: &Db, account_id: i64, id: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query("DELETE FROM notifications WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Deletes the notifications `account_id` got from `from_account_id`: of the given
/// kinds, or of every kind when `kinds` is empty (after a block).
pub async fn delete_from(
    db: &Db,
    account_id: i64,
    from_account_id: i64,
    kinds: &[&str],
) -> Result<u64> {
    let n = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("DELETE FROM notifications WHERE account_id = ");
        qb.push_bind(account_id);
        qb.push(" AND from_account_id = ").push_bind(from_account_id);
        if !kinds.is_empty() {
            qb.push(" AND notification_type IN (");
            let mut sep = qb.separated(", ");
            for k in kinds {
                sep.push_bind(k.to_string());
            }
            qb.push(")");
        }
        qb.build().execute(p).await.map(|r| r.rows_affected())
    })?;
    Ok(n)
}
