//! Follows between accounts (accepted ones; pending ones live in `follow_requests`).

use crate::{with_pool, Db, Result};

#[derive(Clone, Debug)]
pub struct NewFollow {
    pub id: i64,
    pub account_id: i64,
    pub target_account_id: i64,
    pub uri: Option<String>,
    pub created_at: i64,
}

pub async fn insert(db: &Db, f: &NewFollow) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO follows (id, account_id, target_account_id, uri, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(f.id)
    .bind(f.account_id)
    .bind(f.target_account_id)
    .bind(&f.uri)
    .bind(f.created_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
