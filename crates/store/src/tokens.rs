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

crate::lite_row!(TokenRow {
    id,
    application_id,
    user_id,
    scopes,
    created_at,
    revoked_at
});

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

/// A token with the user it acts for and that user's account, as one row of a
/// `LEFT JOIN`: `user` and `account` are `None` when the token has no user, or when
/// its user or account row is missing.
#[derive(Clone, Debug)]
pub struct TokenUser {
    pub token: TokenRow,
    pub user: Option<crate::users::UserRow>,
    pub account: Option<crate::accounts::AccountRow>,
    /// The `version` of the account's `accounts` row alone (migration 0011), without
    /// its `account_stats` part: with the counters' version a post's commit returns,
    /// it gives the rendered account's version after that post
    /// (`accounts::versions`), so that the answer to a post needs no query for it.
    pub account_version: Option<i64>,
    /// `(id, name, website)` of the application the token was issued to, which
    /// Mastodon shows on the author's own statuses (the answer to a post among them).
    pub application: Option<(i64, String, Option<String>)>,
}

/// `column AS prefix_column, …` for every column of a list, so that the columns of
/// several tables can share a row without their names colliding.
fn aliased(columns: &str, table: &str, prefix: &str) -> String {
    columns
        .split(',')
        .map(str::trim)
        .map(|c| format!("{table}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The three row types' columns under their prefixes, by name.
impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for TokenUser {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use crate::accounts::AccountRow;
        use crate::read::FromPrefixedPgRow;
        use crate::users::UserRow;
        use sqlx::Row;
        // A user or account row the LEFT JOIN did not find has a NULL id.
        let token = TokenRow::from_pg_prefixed(row, "t_")?;
        let user = match row.try_get::<Option<i64>, _>("u_id")? {
            Some(_) => Some(UserRow::from_pg_prefixed(row, "u_")?),
            None => None,
        };
        let account = match row.try_get::<Option<i64>, _>("a_id")? {
            Some(_) => Some(AccountRow::from_pg_prefixed(row, "a_")?),
            None => None,
        };
        let account_version = row.try_get::<Option<i64>, _>("a_version")?;
        let application = match row.try_get::<Option<i64>, _>("ap_id")? {
            Some(id) => Some((id, row.try_get("ap_name")?, row.try_get("ap_website")?)),
            None => None,
        };
        Ok(TokenUser {
            token,
            user,
            account,
            account_version,
            application,
        })
    }
}

/// The columns of [`TokenUser`] beyond the three rows, in the order `from_lite` reads
/// them.
const EXTRA_FIELDS: &[&str] = &["a_version", "ap_id", "ap_name", "ap_website"];

/// The three row types' columns under their prefixes, found once per query.
impl crate::read::FromLiteRow for TokenUser {
    fn columns(stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
        use crate::read::prefixed_positions;
        let names = stmt.column_names();
        let mut at = prefixed_positions(&names, "t_", TokenRow::FIELDS)?;
        at.extend(prefixed_positions(
            &names,
            "u_",
            crate::users::UserRow::FIELDS,
        )?);
        at.extend(prefixed_positions(
            &names,
            "a_",
            crate::accounts::AccountRow::FIELDS,
        )?);
        at.extend(prefixed_positions(&names, "", EXTRA_FIELDS)?);
        Ok(at)
    }

    fn from_lite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
        use crate::accounts::AccountRow;
        use crate::users::UserRow;
        let (t, rest) = columns.split_at(TokenRow::FIELDS.len().min(columns.len()));
        let (u, rest) = rest.split_at(UserRow::FIELDS.len().min(rest.len()));
        let (a, extra) = rest.split_at(AccountRow::FIELDS.len().min(rest.len()));
        let extra = |i: usize| {
            extra
                .get(i)
                .copied()
                .ok_or(rusqlite::Error::InvalidColumnIndex(i))
        };
        // A user or account row the LEFT JOIN did not find has a NULL id.
        let present = |fields: &[&str], at: &[usize]| -> rusqlite::Result<bool> {
            let id = fields
                .iter()
                .position(|f| *f == "id")
                .and_then(|i| at.get(i));
            match id {
                Some(i) => Ok(row.get::<_, Option<i64>>(*i)?.is_some()),
                None => Ok(false),
            }
        };
        let token = TokenRow::from_lite(row, t)?;
        let user = match present(UserRow::FIELDS, u)? {
            true => Some(UserRow::from_lite(row, u)?),
            false => None,
        };
        let account = match present(AccountRow::FIELDS, a)? {
            true => Some(AccountRow::from_lite(row, a)?),
            false => None,
        };
        let account_version = row.get::<_, Option<i64>>(extra(0)?)?;
        let application = match row.get::<_, Option<i64>>(extra(1)?)? {
            Some(id) => Some((id, row.get(extra(2)?)?, row.get(extra(3)?)?)),
            None => None,
        };
        Ok(TokenUser {
            token,
            user,
            account,
            account_version,
            application,
        })
    }
}

/// The token with the given digest, not revoked, with its user, its user's account
/// and its application, in one query (every authenticated API request makes it, so
/// it is one round trip instead of four). On the hot read path.
pub async fn active_by_hash_with_user(db: &Db, token_hash: &str) -> Result<Option<TokenUser>> {
    // Built once: every authenticated request makes this query.
    static SELECT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let select = SELECT.get_or_init(|| {
        format!(
            "SELECT t.id AS t_id, t.application_id AS t_application_id, t.user_id AS t_user_id, \
             t.scopes AS t_scopes, t.created_at AS t_created_at, t.revoked_at AS t_revoked_at, \
             {}, {}, a.version AS a_version, \
             ap.id AS ap_id, ap.name AS ap_name, ap.website AS ap_website \
             FROM oauth_access_tokens t \
             LEFT JOIN users u ON u.id = t.user_id \
             LEFT JOIN accounts a ON a.id = u.account_id \
             LEFT JOIN account_stats st ON st.account_id = a.id \
             LEFT JOIN oauth_applications ap ON ap.id = t.application_id \
             WHERE t.token_hash = ",
            aliased(crate::users::COLUMNS, "u", "u_"),
            crate::accounts::columns_as("a_"),
        )
    });
    let mut q = crate::read::Select::new(select.as_str());
    q.push_bind(token_hash);
    q.push(" AND t.revoked_at IS NULL");
    q.fetch_optional(db).await
}
