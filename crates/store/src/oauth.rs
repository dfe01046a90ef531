//! OAuth applications and authorization codes. Client secrets and codes are stored
//! as SHA-256 digests only: the database never holds anything that authenticates.

use crate::{with_pool, Db, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: i64,
    pub name: String,
    pub website: Option<String>,
    /// Newline-separated.
    pub redirect_uris: String,
    /// Space-separated.
    pub scopes: String,
    pub client_id: String,
    /// The digest of the client secret, not the secret.
    pub client_secret: String,
    pub owner_user_id: Option<i64>,
    pub created_at: i64,
}

const APP_COLUMNS: &str =
    "id, name, website, redirect_uris, scopes, client_id, client_secret, owner_user_id, created_at";

pub async fn insert_application(db: &Db, app: &ApplicationRow) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO oauth_applications \
         (id, name, website, redirect_uris, scopes, client_id, client_secret, owner_user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(app.id)
    .bind(&app.name)
    .bind(&app.website)
    .bind(&app.redirect_uris)
    .bind(&app.scopes)
    .bind(&app.client_id)
    .bind(&app.client_secret)
    .bind(app.owner_user_id)
    .bind(app.created_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn application_by_client_id(db: &Db, client_id: &str) -> Result<Option<ApplicationRow>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM oauth_applications WHERE client_id = $1");
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, ApplicationRow>(&sql)
        .bind(client_id)
        .fetch_optional(p)
        .await)?,
    )
}

pub async fn application_by_id(db: &Db, id: i64) -> Result<Option<ApplicationRow>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM oauth_applications WHERE id = $1");
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, ApplicationRow>(&sql)
        .bind(id)
        .fetch_optional(p)
        .await)?,
    )
}

/// An authorization code as stored: what the user agreed to, and for whom.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CodeRow {
    pub id: i64,
    pub code_hash: String,
    pub application_id: i64,
    pub user_id: i64,
    pub redirect_uri: String,
    pub scopes: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub created_at: i64,
}

const CODE_COLUMNS: &str = "id, code_hash, application_id, user_id, redirect_uri, scopes, \
    code_challenge, code_challenge_method, expires_at, used_at, created_at";

pub async fn insert_code(db: &Db, code: &CodeRow) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO oauth_authorization_codes \
         (id, code_hash, application_id, user_id, redirect_uri, scopes, code_challenge, \
          code_challenge_method, expires_at, used_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(code.id)
    .bind(&code.code_hash)
    .bind(code.application_id)
    .bind(code.user_id)
    .bind(&code.redirect_uri)
    .bind(&code.scopes)
    .bind(&code.code_challenge)
    .bind(&code.code_challenge_method)
    .bind(code.expires_at)
    .bind(code.used_at)
    .bind(code.created_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A code by its digest, used or not.
pub async fn code_by_hash(db: &Db, code_hash: &str) -> Result<Option<CodeRow>> {
    let sql = format!("SELECT {CODE_COLUMNS} FROM oauth_authorization_codes WHERE code_hash = $1");
    Ok(with_pool!(db, p => sqlx::query_as::<_, CodeRow>(&sql)
        .bind(code_hash)
        .fetch_optional(p)
        .await)?)
}

/// Marks a code used. Returns false when it already was: of two concurrent
/// exchanges of one code, exactly one wins.
pub async fn use_code(db: &Db, id: i64, now: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "UPDATE oauth_authorization_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Deletes codes that expired before `before`; they can never be exchanged, and a
/// used code is only kept to recognise its replay within its lifetime.
pub async fn delete_expired_codes(db: &Db, before: i64) -> Result<u64> {
    Ok(with_pool!(db, p => sqlx::query(
        "DELETE FROM oauth_authorization_codes WHERE expires_at < $1",
    )
    .bind(before)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?)
}
