//! Quote posts with FEP-044f consent: the state of a quote on the quoting status,
//! who may quote a status, and the QuoteAuthorizations issued for local statuses.

use crate::statuses::{StatusRow, COLUMNS};
use crate::{with_pool, Db, Result};

/// The quote columns of one status that [`StatusRow`] does not carry.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct QuoteFacts {
    pub id: i64,
    pub quote_of_id: Option<i64>,
    pub quote_state: Option<String>,
    /// `public`, `followers` or `nobody`.
    pub quote_policy: String,
    pub quote_authorization_uri: Option<String>,
    pub quote_request_uri: Option<String>,
}

const FACTS: &str =
    "id, quote_of_id, quote_state, quote_policy, quote_authorization_uri, quote_request_uri";

pub async fn facts(db: &Db, status_id: i64) -> Result<Option<QuoteFacts>> {
    let sql = format!("SELECT {FACTS} FROM statuses WHERE id = $1");
    Ok(with_pool!(db, p => sqlx::query_as::<_, QuoteFacts>(&sql)
        .bind(status_id)
        .fetch_optional(p)
        .await)?)
}

/// Sets who may quote a status.
pub async fn set_policy(db: &Db, status_id: i64, policy: &str) -> Result<()> {
    with_pool!(db, p => sqlx::query("UPDATE statuses SET quote_policy = $2 WHERE id = $1")
        .bind(status_id)
        .bind(policy)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Recounts `quotes_count` of a quoted status from its accepted, undeleted quotes.
/// Recounting (rather than adding and subtracting) keeps the count right whatever
/// order states change in, and however often a peer repeats itself.
pub async fn recount(db: &Db, quoted_id: i64) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "UPDATE statuses SET quotes_count = (SELECT COUNT(*) FROM statuses q \
         WHERE q.quote_of_id = $1 AND q.quote_state = 'accepted' AND q.deleted_at IS NULL) \
         WHERE id = $1")
        .bind(quoted_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Changes the state of the quote `status_id` carries (and, when given, the
/// authorization that approved it), then recounts the quoted status.
pub async fn set_state(
    db: &Db,
    status_id: i64,
    state: &str,
    authorization_uri: Option<&str>,
) -> Result<()> {
    let quoted: Option<Option<i64>> = with_pool!(db, p => sqlx::query_scalar(
        "UPDATE statuses SET quote_state = $2, \
         quote_authorization_uri = COALESCE($3, quote_authorization_uri) \
         WHERE id = $1 RETURNING quote_of_id")
        .bind(status_id)
        .bind(state)
        .bind(authorization_uri)
        .fetch_optional(p)
        .await)?;
    if let Some(Some(quoted)) = quoted {
        recount(db, quoted).await?;
    }
    Ok(())
}

/// Records the id of the QuoteRequest sent for a local quote.
pub async fn set_request_uri(db: &Db, status_id: i64, uri: &str) -> Result<()> {
    with_pool!(db, p => sqlx::query("UPDATE statuses SET quote_request_uri = $2 WHERE id = $1")
        .bind(status_id)
        .bind(uri)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The local status whose QuoteRequest had this id.
pub async fn by_request_uri(db: &Db, uri: &str) -> Result<Option<StatusRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM statuses WHERE quote_request_uri = $1 AND local = TRUE");
    Ok(with_pool!(db, p => sqlx::query_as::<_, StatusRow>(&sql)
        .bind(uri)
        .fetch_optional(p)
        .await)?)
}

/// The statuses whose quote this authorization approved.
pub async fn by_authorization_uri(db: &Db, uri: &str) -> Result<Vec<StatusRow>> {
    let sql = format!("SELECT {COLUMNS} FROM statuses WHERE quote_authorization_uri = $1");
    Ok(with_pool!(db, p => sqlx::query_as::<_, StatusRow>(&sql)
        .bind(uri)
        .fetch_all(p)
        .await)?)
}

/// A QuoteAuthorization issued here.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthorizationRow {
    pub id: i64,
    pub quoted_status_id: i64,
    pub account_id: i64,
    pub quoting_status_id: i64,
    pub quoting_uri: String,
    pub quoting_account_id: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const AUTH_COLUMNS: &str = "id, quoted_status_id, account_id, quoting_status_id, quoting_uri, \
    quoting_account_id, created_at, revoked_at";

/// Issues an authorization for a quote, or returns the one issued before for the same
/// quoting status (a peer that repeats its QuoteRequest gets the same answer).
pub async fn issue(db: &Db, new: &AuthorizationRow) -> Result<AuthorizationRow> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO quote_authorizations (id, quoted_status_id, account_id, quoting_status_id, \
         quoting_uri, quoting_account_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (quoting_status_id) DO NOTHING")
        .bind(new.id)
        .bind(new.quoted_status_id)
        .bind(new.account_id)
        .bind(new.quoting_status_id)
        .bind(&new.quoting_uri)
        .bind(new.quoting_account_id)
        .bind(new.created_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    let sql =
        format!("SELECT {AUTH_COLUMNS} FROM quote_authorizations WHERE quoting_status_id = $1");
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, AuthorizationRow>(&sql)
        .bind(new.quoting_status_id)
        .fetch_one(p)
        .await)?,
    )
}

pub async fn authorization(db: &Db, id: i64) -> Result<Option<AuthorizationRow>> {
    let sql = format!("SELECT {AUTH_COLUMNS} FROM quote_authorizations WHERE id = $1");
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, AuthorizationRow>(&sql)
        .bind(id)
        .fetch_optional(p)
        .await)?,
    )
}

pub async fn authorization_for(
    db: &Db,
    quoting_status_id: i64,
) -> Result<Option<AuthorizationRow>> {
    let sql =
        format!("SELECT {AUTH_COLUMNS} FROM quote_authorizations WHERE quoting_status_id = $1");
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, AuthorizationRow>(&sql)
        .bind(quoting_status_id)
        .fetch_optional(p)
        .await)?,
    )
}

/// Marks an authorization revoked; true when it was not revoked before.
pub async fn revoke(db: &Db, id: i64, now: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "UPDATE quote_authorizations SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}
