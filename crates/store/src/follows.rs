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

/// Pending follow requests addressed to an account.
pub async fn requests_count(db: &Db, target_account_id: i64) -> Result<i64> {
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM follow_requests WHERE target_account_id = $1",
    )
    .bind(target_account_id)
    .fetch_one(p)
    .await)?)
}

/// True when `account_id` follows `target_account_id`.
pub async fn exists(db: &Db, account_id: i64, target_account_id: i64) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM follows WHERE account_id = $1 AND target_account_id = $2",
    )
    .bind(account_id)
    .bind(target_account_id)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// Which of `targets` `account_id` follows, in one query.
pub async fn followed_among(
    db: &Db,
    account_id: i64,
    targets: &[i64],
) -> Result<std::collections::HashSet<i64>> {
    if targets.is_empty() {
        return Ok(Default::default());
    }
    let mut q =
        crate::read::Select::new("SELECT target_account_id FROM follows WHERE account_id = ");
    q.push_bind(account_id);
    q.push(" AND target_account_id IN ");
    crate::push_id_list(&mut q, targets);
    let ids: Vec<(i64,)> = q.fetch_all(db).await?;
    Ok(ids.into_iter().map(|(id,)| id).collect())
}
