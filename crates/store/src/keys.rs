//! Signing and verification keys.

use crate::read::Select;
use crate::{with_pool, Db, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRow {
    pub id: i64,
    pub account_id: Option<i64>,
    pub key_id: String,
    pub owner_uri: String,
    pub algorithm: String,
    pub public_key_pem: String,
    pub private_key_pem: Option<String>,
    pub created_at: i64,
}

crate::lite_row!(KeyRow {
    id,
    account_id,
    key_id,
    owner_uri,
    algorithm,
    public_key_pem,
    private_key_pem,
    created_at,
});

#[derive(Clone, Debug)]
pub struct NewKey {
    pub id: i64,
    pub account_id: Option<i64>,
    pub key_id: String,
    pub owner_uri: String,
    pub public_key_pem: String,
    pub private_key_pem: Option<String>,
    pub created_at: i64,
}

pub(crate) const INSERT: &str = "INSERT INTO account_keys \
    (id, account_id, key_id, owner_uri, algorithm, public_key_pem, private_key_pem, created_at) \
    VALUES ($1, $2, $3, $4, 'rsa', $5, $6, $7)";

const COLUMNS: &str =
    "id, account_id, key_id, owner_uri, algorithm, public_key_pem, private_key_pem, created_at";

/// The newest RSA key of an account: the one it signs with and publishes.
pub async fn main_key_of(db: &Db, account_id: i64) -> Result<Option<KeyRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM account_keys WHERE account_id = $1 AND algorithm = 'rsa' \
         ORDER BY id DESC LIMIT 1"
    );
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, KeyRow>(&sql).bind(account_id).fetch_optional(p).await)?,
    )
}

///
/// Asked for the first delivery of every remote key (and again when the inbox's key
/// cache expires): through the read path, which on SQLite runs on the caller's thread
/// instead of a hand-off to the driver's thread and back.
pub async fn by_key_id(db: &Db, key_id: &str) -> Result<Option<KeyRow>> {
    let mut q = Select::new(format!(
        "SELECT {COLUMNS} FROM account_keys WHERE key_id = "
    ));
    q.push_bind(key_id);
    q.fetch_optional(db).await
}
