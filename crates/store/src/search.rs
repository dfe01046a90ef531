//! Search over what this server stores: accounts by name, statuses by words, hashtags
//! by prefix. Plain `LIKE` matching, the same on both databases; a real full-text
//! index is a later concern.

use sqlx::QueryBuilder;

use crate::accounts::AccountRow;
use crate::statuses::StatusRow;
use crate::{with_pool, Db, Result};

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An account search.
#[derive(Clone, Debug, Default)]
pub struct AccountQuery {
    /// Lower-case start of a username, or a word of a display name.
    pub text: String,
    /// `None`: any server; `Some(None)`: this server only; `Some(Some(d))`: that domain.
    pub domain: Option<Option<String>>,
    /// The signed-in viewer: hides accounts blocked either way.
    pub viewer: Option<i64>,
    /// Only accounts the viewer follows.
    pub following: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Accounts whose username starts with the text or whose display name contains it,
/// exact username matches first, then the most followed.
pub async fn accounts(db: &Db, q: &AccountQuery) -> Result<Vec<AccountRow>> {
    let text = q.text.to_lowercase();
    let prefix = format!("{}%", like_escape(&text));
    let contains = format!("%{}%", like_escape(&text));
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(format!(
            "SELECT {} FROM {} WHERE a.suspended_at IS NULL \
             AND (lower(a.username) LIKE ",
            crate::accounts::columns(),
            crate::accounts::FROM,
        ));
        qb.push_bind(prefix.clone())
            .push(" ESCAPE '\\' OR lower(a.display_name) LIKE ")
            .push_bind(contains.clone())
            .push(" ESCAPE '\\')");
        match &q.domain {
            None => {}
            Some(None) => {
                qb.push(" AND a.domain IS NULL");
            }
            Some(Some(domain)) => {
                qb.push(" AND lower(a.domain) = ").push_bind(domain.to_lowercase());
            }
        }
        if let Some(viewer) = q.viewer {
            if q.following {
                qb.push(" AND EXISTS (SELECT 1 FROM follows f WHERE f.account_id = ")
                    .push_bind(viewer)
                    .push(" AND f.target_account_id = a.id)");
            }
            qb.push(" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = ")
                .push_bind(viewer)
                .push(" AND b.target_account_id = a.id) OR (b.account_id = a.id AND b.target_account_id = ")
                .push_bind(viewer)
                .push("))");
        }
        qb.push(" ORDER BY CASE WHEN lower(a.username) = ")
            .push_bind(text.clone())
            .push(" THEN 0 ELSE 1 END, a.followers_count DESC, a.id LIMIT ")
            .push_bind(q.limit)
            .push(" OFFSET ")
            .push_bind(q.offset);
        qb.build_query_as::<AccountRow>().fetch_all(p).await
    })?;
    Ok(rows)
}

/// A status search.
#[derive(Clone, Debug, Default)]
pub struct StatusQuery {
    /// Words to find, matched case-insensitively as one phrase.
    pub text: String,
    /// The signed-in viewer: their own statuses of any visibility are found too.
    pub viewer: i64,
    /// Only statuses of this account.
    pub account_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Local statuses containing the text, newest first: public statuses of accounts that
/// allow search indexing (`indexable`), and the viewer's own. What the author typed
/// (`text`) is searched when it is known, so that markup never matches.
pub async fn statuses(db: &Db, q: &StatusQuery) -> Result<Vec<StatusRow>> {
    let pattern = format!("%{}%", like_escape(&q.text.to_lowercase()));
    let columns = qualified(crate::statuses::COLUMNS, "s");
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(format!(
            "SELECT {columns} FROM statuses s JOIN accounts a ON a.id = s.account_id \
             WHERE s.local = TRUE AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL \
             AND a.suspended_at IS NULL AND ((s.visibility = 'public' AND a.indexable = TRUE) OR s.account_id = "
        ));
        qb.push_bind(q.viewer)
            .push(") AND lower(COALESCE(s.text, s.content)) LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\'");
        if let Some(account_id) = q.account_id {
            qb.push(" AND s.account_id = ").push_bind(account_id);
        }
        qb.push(" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = ")
            .push_bind(q.viewer)
            .push(" AND b.target_account_id = s.account_id) OR (b.account_id = s.account_id AND b.target_account_id = ")
            .push_bind(q.viewer)
            .push("))");
        qb.push(" ORDER BY s.id DESC LIMIT ")
            .push_bind(q.limit)
            .push(" OFFSET ")
            .push_bind(q.offset);
        qb.build_query_as::<StatusRow>().fetch_all(p).await
    })?;
    Ok(rows)
}

/// A hashtag as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TagRow {
    pub id: i64,
    /// Normalised, lower-case.
    pub name: String,
    /// As first written.
    pub display_name: String,
}

/// Usable hashtags whose name starts with `prefix` (lower-case), the exact match
/// first, then shorter names.
pub async fn tags(db: &Db, prefix: &str, limit: i64, offset: i64) -> Result<Vec<TagRow>> {
    let prefix = prefix.to_lowercase();
    let pattern = format!("{}%", like_escape(&prefix));
    let rows = with_pool!(db, p => sqlx::query_as::<_, TagRow>(
        "SELECT id, name, display_name FROM tags \
         WHERE usable = TRUE AND name LIKE $1 ESCAPE '\\' \
         ORDER BY CASE WHEN name = $2 THEN 0 ELSE 1 END, length(name), name \
         LIMIT $3 OFFSET $4",
    )
    .bind(&pattern)
    .bind(&prefix)
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(super::like_escape(r"50%_off\now"), r"50\%\_off\\now");
    }
}
