//! Settings of the instance itself, and the counts NodeInfo reports.

use crate::{with_pool, Db, Result};

/// Reads one instance setting.
pub async fn get_setting(db: &Db, key: &str) -> Result<Option<String>> {
    let value = with_pool!(db, p => sqlx::query_scalar::<_, String>(
        "SELECT value FROM instance_settings WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(p)
    .await)?;
    Ok(value)
}

/// Stores a setting unless one is already there, and returns the value that won.
/// Two processes starting at once (a server and an admin command) therefore agree on
/// one instance key instead of overwriting each other's.
pub async fn insert_setting_once(db: &Db, key: &str, value: &str, now: i64) -> Result<String> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO instance_settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(get_setting(db, key)
        .await?
        .unwrap_or_else(|| value.to_owned()))
}

/// Usage figures for NodeInfo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub users_total: i64,
    pub active_month: i64,
    pub active_halfyear: i64,
    pub local_posts: i64,
}

/// Counts local users and posts. "Active" means signed in or posted within the
/// window, as Mastodon counts it.
pub async fn usage(db: &Db, now: i64) -> Result<Usage> {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let month = now - 30 * DAY;
    let halfyear = now - 180 * DAY;
    let (users_total, active_month, active_halfyear): (i64, i64, i64) = with_pool!(db, p => sqlx::query_as(
        "SELECT COUNT(*), \
           COALESCE(SUM(CASE WHEN COALESCE(u.last_sign_in_at, 0) >= $1 OR COALESCE(st.last_status_at, 0) >= $1 THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN COALESCE(u.last_sign_in_at, 0) >= $2 OR COALESCE(st.last_status_at, 0) >= $2 THEN 1 ELSE 0 END), 0) \
         FROM users u JOIN accounts a ON a.id = u.account_id \
         LEFT JOIN account_stats st ON st.account_id = a.id \
         WHERE u.disabled_at IS NULL AND a.suspended_at IS NULL",
    )
    .bind(month)
    .bind(halfyear)
    .fetch_one(p)
    .await)?;
    let local_posts: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM statuses WHERE local = TRUE AND reblog_of_id IS NULL AND deleted_at IS NULL",
    )
    .fetch_one(p)
    .await)?;
    Ok(Usage {
        users_total,
        active_month,
        active_halfyear,
        local_posts,
    })
}

/// The instance's contact: the account id and email of the first admin user, if any.
pub async fn first_admin(db: &Db) -> Result<Option<(i64, String)>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, (i64, String)>(
        "SELECT u.account_id, u.email FROM users u JOIN accounts a ON a.id = u.account_id \
         WHERE u.admin = TRUE AND u.disabled_at IS NULL AND a.suspended_at IS NULL \
         ORDER BY u.id LIMIT 1",
    )
    .fetch_optional(p)
    .await)?)
}

/// How many other servers this one knows of.
pub async fn known_domains(db: &Db) -> Result<i64> {
    Ok(
        with_pool!(db, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM instances")
        .fetch_one(p)
        .await)?,
    )
}
