//! The rows behind an actor's ActivityPub collections. Each list is paged by the id
//! of the row that puts an item in the collection, so pages are stable while the
//! collection grows.

use sqlx::QueryBuilder;

use crate::statuses::{StatusRow, COLUMNS as STATUS_COLUMNS};
use crate::{with_pool, Db, PageParams, Result};

/// An item of a collection of actors or objects: the paging cursor and the URI.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UriItem {
    pub cursor: i64,
    /// The stored URI: right for remote objects only. Local objects' URLs are built
    /// from the configuration by the caller, from `username` and `status_id`.
    pub uri: String,
    /// The account's username (for a status, its author's).
    pub username: String,
    /// True when the account (or the status) is local.
    pub local: bool,
    /// The status id, for collections of statuses.
    pub status_id: Option<i64>,
}

/// Visibilities that anyone may see in an outbox.
const PUBLIC_VISIBILITIES: &str = "('public', 'unlisted')";

async fn uri_page(db: &Db, base: &str, account_id: i64, page: &PageParams) -> Result<Vec<UriItem>> {
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(base);
        qb.push_bind(account_id);
        page.push_sql(&mut qb, "x.id");
        qb.build_query_as::<UriItem>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}

async fn count(db: &Db, sql: &str, account_id: i64) -> Result<i64> {
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, i64>(sql).bind(account_id).fetch_one(p).await)?)
}

/// Actors that follow the account, newest follow first.
pub async fn followers(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<UriItem>> {
    uri_page(
        db,
        "SELECT x.id AS cursor, a.uri AS uri, a.username AS username, (a.domain IS NULL) AS local, \
         CAST(NULL AS BIGINT) AS status_id FROM follows x JOIN accounts a ON a.id = x.account_id \
         WHERE x.target_account_id = ",
        account_id,
        page,
    )
    .await
}

pub async fn followers_count(db: &Db, account_id: i64) -> Result<i64> {
    count(
        db,
        "SELECT COUNT(*) FROM follows WHERE target_account_id = $1",
        account_id,
    )
    .await
}

/// Actors the account follows, newest follow first.
pub async fn following(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<UriItem>> {
    uri_page(
        db,
        "SELECT x.id AS cursor, a.uri AS uri, a.username AS username, (a.domain IS NULL) AS local, \
         CAST(NULL AS BIGINT) AS status_id FROM follows x JOIN accounts a ON a.id = x.target_account_id \
         WHERE x.account_id = ",
        account_id,
        page,
    )
    .await
}

pub async fn following_count(db: &Db, account_id: i64) -> Result<i64> {
    count(
        db,
        "SELECT COUNT(*) FROM follows WHERE account_id = $1",
        account_id,
    )
    .await
}

/// Pinned statuses that anyone may see, newest pin first.
pub async fn featured(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<UriItem>> {
    let base = format!(
        "SELECT x.id AS cursor, s.uri AS uri, a.username AS username, s.local AS local, \
         s.id AS status_id FROM status_pins x JOIN statuses s ON s.id = x.status_id \
         JOIN accounts a ON a.id = s.account_id \
         WHERE s.deleted_at IS NULL AND s.visibility IN {PUBLIC_VISIBILITIES} AND x.account_id = "
    );
    uri_page(db, &base, account_id, page).await
}

pub async fn featured_count(db: &Db, account_id: i64) -> Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM status_pins x JOIN statuses s ON s.id = x.status_id \
         WHERE s.deleted_at IS NULL AND s.visibility IN {PUBLIC_VISIBILITIES} AND x.account_id = $1"
    );
    count(db, &sql, account_id).await
}

/// The account's public and unlisted statuses and reblogs, newest first. Followers-only
/// and direct statuses never appear here: an outbox is readable by anyone.
pub async fn outbox(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<StatusRow>> {
    let base = format!(
        "SELECT {STATUS_COLUMNS} FROM statuses x WHERE x.deleted_at IS NULL \
         AND x.visibility IN {PUBLIC_VISIBILITIES} AND x.account_id = "
    );
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(base);
        qb.push_bind(account_id);
        page.push_sql(&mut qb, "x.id");
        qb.build_query_as::<StatusRow>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}

pub async fn outbox_count(db: &Db, account_id: i64) -> Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM statuses WHERE deleted_at IS NULL \
         AND visibility IN {PUBLIC_VISIBILITIES} AND account_id = $1"
    );
    count(db, &sql, account_id).await
}
