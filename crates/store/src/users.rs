//! Users: the people who sign in to local accounts.

use crate::accounts::{self, AccountRow, NewAccount};
use crate::keys::{self, NewKey};
use crate::WritePool as _;
use crate::{with_pool, Db, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub password_hash: String,
    pub admin: bool,
    pub moderator: bool,
    pub locale: String,
    pub default_visibility: String,
    pub default_sensitive: bool,
    pub default_language: Option<String>,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

crate::lite_row!(UserRow {
    id,
    account_id,
    email,
    password_hash,
    admin,
    moderator,
    locale,
    default_visibility,
    default_sensitive,
    default_language,
    disabled_at,
    created_at
});

pub(crate) const COLUMNS: &str = "id, account_id, email, password_hash, admin, moderator, locale, \
    default_visibility, default_sensitive, default_language, disabled_at, created_at";

#[derive(Clone, Debug)]
pub struct NewUser {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub admin: bool,
}

/// Creates a local account, its key and its user in one transaction, so that no
/// account can exist without the key other servers need to verify it.
pub async fn create_local_user(
    db: &Db,
    account: &NewAccount,
    key: &NewKey,
    user: &NewUser,
) -> Result<()> {
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        accounts::insert(&mut *tx, account).await?;
        sqlx::query(keys::INSERT)
            .bind(key.id)
            .bind(key.account_id)
            .bind(&key.key_id)
            .bind(&key.owner_uri)
            .bind(&key.public_key_pem)
            .bind(&key.private_key_pem)
            .bind(key.created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO users (id, account_id, email, password_hash, admin, confirmed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
        )
        .bind(user.id)
        .bind(account.id)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.admin)
        .bind(account.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    })
}

pub async fn by_account_id(db: &Db, account_id: i64) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE account_id = $1");
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, UserRow>(&sql).bind(account_id).fetch_optional(p).await)?,
    )
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(with_pool!(db, p => sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(p).await)?)
}

pub async fn email_taken(db: &Db, email: &str) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// Finds the user of a local account by username or email, for sign-in.
pub async fn by_login(db: &Db, login: &str) -> Result<Option<(UserRow, AccountRow)>> {
    let sql = format!(
        "SELECT {} FROM users u JOIN accounts a ON a.id = u.account_id \
         WHERE a.domain IS NULL AND (lower(a.username) = lower($1) OR lower(u.email) = lower($1))",
        COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let user = with_pool!(db, p => sqlx::query_as::<_, UserRow>(&sql).bind(login).fetch_optional(p).await)?;
    match user {
        Some(user) => Ok(accounts::by_id(db, user.account_id)
            .await?
            .map(|a| (user, a))),
        None => Ok(None),
    }
}

/// The JSON object of a user's client preferences (`users.settings`).
pub async fn settings(db: &Db, user_id: i64) -> Result<String> {
    let value = with_pool!(db, p => sqlx::query_scalar::<_, String>(
        "SELECT settings FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(p)
    .await)?;
    Ok(value.unwrap_or_else(|| "{}".to_owned()))
}

/// Records a successful sign-in (NodeInfo's active-user counts read it).
pub async fn touch_sign_in(db: &Db, user_id: i64, now: i64) -> Result<()> {
    with_pool!(db, p => sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
        .bind(now)
        .bind(user_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
