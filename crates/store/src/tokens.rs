//! OAuth access tokens. Only SHA-256 digests of tokens are stored.

use crate::{with_pool, Db, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub scopes: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct NewToken {
    pub id: i64,
    pub token_hash: String,
    pub application_id: Option<i64>,
    pub user_id: Option<i64>,
    pub scopes: String,
    pub created_at: i64,
}

pub async fn insert(db: &Db, t: &NewToken) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO oauth_access_tokens (id, token_hash, application_id, user_id, scopes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(t.id)
    .bind(&t.token_hash)
    .bind(t.application_id)
    .bind(t.user_id)
    .bind(&t.scopes)
    .bind(t.created_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A token that has not been revoked, by the digest of its secret.
pub async fn active_by_hash(db: &Db, token_hash: &str) -> Result<Option<TokenRow>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, TokenRow>(
        "SELECT id, application_id, user_id, scopes, created_at, revoked_at \
         FROM oauth_access_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(p)
    .await)?)
}

/// A token by the digest of its secret, revoked or not.
pub async fn by_hash(db: &Db, token_hash: &str) -> Result<Option<TokenRow>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, TokenRow>(
        "SELECT id, application_id, user_id, scopes, created_at, revoked_at \
         FROM oauth_access_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(p)
    .await)?)
}

/// Revokes a token; revoking a revoked or unknown token changes nothing.
pub async fn revoke(db: &Db, id: i64, now: i64) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "UPDATE oauth_access_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
