//! Accounts, local and remote.

use crate::read::Select;
use crate::WritePool as _;
use crate::{with_pool, Db, Result};

/// One row of `accounts`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub username: String,
    pub domain: Option<String>,
    pub display_name: String,
    pub note: String,
    pub note_source: String,
    pub uri: String,
    pub url: Option<String>,
    pub actor_type: String,
    pub inbox_url: Option<String>,
    pub outbox_url: Option<String>,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub following_url: Option<String>,
    pub featured_url: Option<String>,
    pub featured_tags_url: Option<String>,
    pub avatar_url: Option<String>,
    pub header_url: Option<String>,
    pub fields: String,
    pub also_known_as: String,
    pub moved_to_account_id: Option<i64>,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub memorial: bool,
    pub hide_collections: bool,
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    pub last_status_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub suspended_at: Option<i64>,
    /// Why this remote account's history could not be fetched (`outbox_private`).
    pub backfill_note: Option<String>,
}

impl AccountRow {
    pub fn is_local(&self) -> bool {
        self.domain.is_none()
    }
}

crate::lite_row!(AccountRow {
    id,
    username,
    domain,
    display_name,
    note,
    note_source,
    uri,
    url,
    actor_type,
    inbox_url,
    outbox_url,
    shared_inbox_url,
    followers_url,
    following_url,
    featured_url,
    featured_tags_url,
    avatar_url,
    header_url,
    fields,
    also_known_as,
    moved_to_account_id,
    locked,
    bot,
    discoverable,
    indexable,
    memorial,
    hide_collections,
    followers_count,
    following_count,
    statuses_count,
    last_status_at,
    created_at,
    updated_at,
    suspended_at,
    backfill_note
});

/// The tables an [`AccountRow`] is read from: the account (`a`) and its counters
/// (`st`, the `account_stats` row of migration 0012, which an account that has never
/// posted lacks). Posting writes only the counters, so that it stops rewriting the
/// wide `accounts` row.
pub(crate) const FROM: &str = "accounts a LEFT JOIN account_stats st ON st.account_id = a.id";

/// The join of [`FROM`] alone, for queries that already name `accounts a`.
pub(crate) const JOIN_STATS: &str = "LEFT JOIN account_stats st ON st.account_id = a.id";

/// Where a column of [`AccountRow`] comes from, over [`FROM`].
fn source(column: &str) -> String {
    match column {
        "statuses_count" => "COALESCE(st.statuses_count, 0)".to_owned(),
        "last_status_at" => "st.last_status_at".to_owned(),
        _ => format!("a.{column}"),
    }
}

/// Every column of [`AccountRow`] over [`FROM`], each named `prefix` + its field
/// (`a.id AS a_id, …`), so that several tables' columns can share a row.
pub(crate) fn columns_as(prefix: &str) -> String {
    use crate::read::FromLiteRow as _;
    AccountRow::FIELDS
        .iter()
        .map(|c| format!("{} AS {prefix}{c}", source(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`columns_as`] without a prefix, built once: the select list of every query that
/// reads whole account rows.
pub(crate) fn columns() -> &'static str {
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| columns_as(""))
}

/// What it takes to insert an account.
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    pub id: i64,
    pub username: String,
    pub domain: Option<String>,
    pub display_name: String,
    pub uri: String,
    pub url: Option<String>,
    pub actor_type: String,
    pub inbox_url: Option<String>,
    pub outbox_url: Option<String>,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub following_url: Option<String>,
    pub featured_url: Option<String>,
    pub featured_tags_url: Option<String>,
    pub locked: bool,
    pub bot: bool,
    pub created_at: i64,
}

pub(crate) async fn insert<'e, E, DB>(executor: E, a: &NewAccount) -> Result<()>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO accounts (id, username, domain, display_name, uri, url, actor_type, \
         inbox_url, outbox_url, shared_inbox_url, followers_url, following_url, featured_url, \
         featured_tags_url, locked, bot, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
    )
    .bind(a.id)
    .bind(a.username.clone())
    .bind(a.domain.clone())
    .bind(a.display_name.clone())
    .bind(a.uri.clone())
    .bind(a.url.clone())
    .bind(a.actor_type.clone())
    .bind(a.inbox_url.clone())
    .bind(a.outbox_url.clone())
    .bind(a.shared_inbox_url.clone())
    .bind(a.followers_url.clone())
    .bind(a.following_url.clone())
    .bind(a.featured_url.clone())
    .bind(a.featured_tags_url.clone())
    .bind(a.locked)
    .bind(a.bot)
    .bind(a.created_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Inserts an account on its own (remote accounts; local ones go through
/// [`crate::users::create_local_user`]).
pub async fn insert_account(db: &Db, a: &NewAccount) -> Result<()> {
    with_pool!(db, p => insert(p, a).await)
}

/// One account, on the read path (on SQLite, a reader on this thread).
pub async fn by_id(db: &Db, id: i64) -> Result<Option<AccountRow>> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| format!("SELECT {} FROM {FROM} WHERE a.id = ", columns()));
    let mut q = Select::new(sql.as_str());
    q.push_bind(id);
    q.fetch_optional(db).await
}

/// Finds a local account by username, case-insensitively as Mastodon does.
pub async fn local_by_username(db: &Db, username: &str) -> Result<Option<AccountRow>> {
    let sql = format!(
        "SELECT {} FROM {FROM} \
         WHERE lower(a.username) = lower($1) AND COALESCE(lower(a.domain), '') = ''",
        columns()
    );
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, AccountRow>(&sql).bind(username).fetch_optional(p).await)?,
    )
}

/// Finds an account by its ActivityPub id.
pub async fn by_uri(db: &Db, uri: &str) -> Result<Option<AccountRow>> {
    // The read path: asked for the signer of every delivery whose key is not cached,
    // and by most of what the inbox receives.
    let mut q = Select::new(format!("SELECT {} FROM {FROM} WHERE a.uri = ", columns()));
    q.push_bind(uri);
    q.fetch_optional(db).await
}

/// Loads several accounts at once, in no particular order.
pub async fn by_ids(db: &Db, ids: &[i64]) -> Result<Vec<AccountRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Select::new(format!("SELECT {} FROM {FROM} WHERE a.id IN ", columns()));
    crate::push_id_list(&mut q, ids);
    q.fetch_all(db).await
}

/// A local account's profile and its user's posting defaults, as
/// `update_credentials` sets them.
#[derive(Clone, Debug)]
pub struct ProfileUpdate {
    pub display_name: String,
    /// HTML, as served.
    pub note: String,
    /// What the user typed.
    pub note_source: String,
    /// JSON array of fields.
    pub fields: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub hide_collections: bool,
    pub default_visibility: String,
    pub default_sensitive: bool,
    pub default_language: Option<String>,
    pub updated_at: i64,
}

/// Writes a profile and the posting defaults of the account's user in one
/// transaction.
pub async fn update_profile(db: &Db, account_id: i64, u: &ProfileUpdate) -> Result<()> {
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        sqlx::query(
            "UPDATE accounts SET display_name = $2, note = $3, note_source = $4, fields = $5, \
             locked = $6, bot = $7, discoverable = $8, indexable = $9, hide_collections = $10, \
             updated_at = $11 WHERE id = $1",
        )
        .bind(account_id)
        .bind(&u.display_name)
        .bind(&u.note)
        .bind(&u.note_source)
        .bind(&u.fields)
        .bind(u.locked)
        .bind(u.bot)
        .bind(u.discoverable)
        .bind(u.indexable)
        .bind(u.hide_collections)
        .bind(u.updated_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE users SET default_visibility = $2, default_sensitive = $3, default_language = $4, \
             updated_at = $5 WHERE account_id = $1",
        )
        .bind(account_id)
        .bind(&u.default_visibility)
        .bind(u.default_sensitive)
        .bind(&u.default_language)
        .bind(u.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    })
}

/// Finds an account by username and domain (`None` for local), case-insensitively.
pub async fn by_acct(db: &Db, username: &str, domain: Option<&str>) -> Result<Option<AccountRow>> {
    let sql = format!(
        "SELECT {} FROM {FROM} \
         WHERE lower(a.username) = lower($1) AND COALESCE(lower(a.domain), '') = lower($2)",
        columns()
    );
    Ok(with_pool!(db, p => sqlx::query_as::<_, AccountRow>(&sql)
        .bind(username)
        .bind(domain.unwrap_or(""))
        .fetch_optional(p)
        .await)?)
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Local accounts whose username or display name starts with `prefix`
/// (case-insensitively), exact username matches first, then the most followed.
/// With `followed_by`, only accounts that account follows. Suspended accounts are
/// left out.
pub async fn search_local(
    db: &Db,
    prefix: &str,
    followed_by: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AccountRow>> {
    let pattern = format!("{}%", like_escape(&prefix.to_lowercase()));
    let rows = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {} FROM {FROM} WHERE a.domain IS NULL AND a.suspended_at IS NULL \
             AND (lower(a.username) LIKE ",
            columns()
        ));
        qb.push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR lower(a.display_name) LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\')");
        if let Some(follower) = followed_by {
            qb.push(" AND a.id IN (SELECT target_account_id FROM follows WHERE account_id = ")
                .push_bind(follower)
                .push(")");
        }
        qb.push(" ORDER BY CASE WHEN lower(a.username) = lower(")
            .push_bind(prefix.to_owned())
            .push(") THEN 0 ELSE 1 END, a.followers_count DESC, a.id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);
        qb.build_query_as::<AccountRow>().fetch_all(p).await
    })?;
    Ok(rows)
}

/// `(id, version)` of the given accounts: the version grows with every change to an
/// account's row or to its counters, so a copy of the row or of what was rendered
/// from it is current exactly when its version matches. It is the sum of the
/// `version` of the `accounts` row (migration 0011) and that of its `account_stats`
/// row (0012, none for an account that never posted): triggers bump each on every
/// change to its row and neither ever goes down, so the sum changes whenever either
/// row does.
pub async fn versions(db: &Db, ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // [`FROM`] written out, so that the page's SQL is not built again
    // for every page.
    let mut q = Select::new(
        "SELECT a.id, a.version + COALESCE(st.version, 0) \
         FROM accounts a LEFT JOIN account_stats st ON st.account_id = a.id WHERE a.id IN ",
    );
    crate::push_id_list(&mut q, ids);
    q.fetch_all(db).await
}
