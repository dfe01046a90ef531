//! Statuses (posts, replies and reblogs).

use crate::{with_pool, Db, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusRow {
    pub id: i64,
    pub uri: String,
    pub url: Option<String>,
    pub account_id: i64,
    pub in_reply_to_id: Option<i64>,
    pub in_reply_to_account_id: Option<i64>,
    pub in_reply_to_uri: Option<String>,
    pub reblog_of_id: Option<i64>,
    pub content: String,
    pub text: Option<String>,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub visibility: String,
    pub language: Option<String>,
    pub context_uri: Option<String>,
    pub local: bool,
    pub replies_count: i64,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

pub(crate) const COLUMNS: &str =
    "id, uri, url, account_id, in_reply_to_id, in_reply_to_account_id, \
    in_reply_to_uri, reblog_of_id, content, text, spoiler_text, sensitive, visibility, language, \
    context_uri, local, replies_count, reblogs_count, favourites_count, created_at, edited_at, \
    deleted_at";

#[derive(Clone, Debug, Default)]
pub struct NewStatus {
    pub id: i64,
    pub uri: String,
    pub url: Option<String>,
    pub account_id: i64,
    pub in_reply_to_id: Option<i64>,
    pub in_reply_to_account_id: Option<i64>,
    pub in_reply_to_uri: Option<String>,
    pub reblog_of_id: Option<i64>,
    pub content: String,
    pub text: Option<String>,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub visibility: String,
    pub language: Option<String>,
    pub context_uri: Option<String>,
    pub local: bool,
    pub created_at: i64,
}

pub async fn insert(db: &Db, s: &NewStatus) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO statuses (id, uri, url, account_id, in_reply_to_id, in_reply_to_account_id, \
         in_reply_to_uri, reblog_of_id, content, text, spoiler_text, sensitive, visibility, language, \
         context_uri, local, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
    )
    .bind(s.id)
    .bind(&s.uri)
    .bind(&s.url)
    .bind(s.account_id)
    .bind(s.in_reply_to_id)
    .bind(s.in_reply_to_account_id)
    .bind(&s.in_reply_to_uri)
    .bind(s.reblog_of_id)
    .bind(&s.content)
    .bind(&s.text)
    .bind(&s.spoiler_text)
    .bind(s.sensitive)
    .bind(&s.visibility)
    .bind(&s.language)
    .bind(&s.context_uri)
    .bind(s.local)
    .bind(s.created_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<StatusRow>> {
    let sql = format!("SELECT {COLUMNS} FROM statuses WHERE id = $1");
    Ok(with_pool!(db, p => sqlx::query_as::<_, StatusRow>(&sql).bind(id).fetch_optional(p).await)?)
}
