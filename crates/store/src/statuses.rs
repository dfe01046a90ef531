//! Statuses (posts, replies and reblogs).

use crate::read::Select;
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
    pub quote_of_id: Option<i64>,
    pub content: String,
    pub text: Option<String>,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub visibility: String,
    pub language: Option<String>,
    pub context_uri: Option<String>,
    pub local: bool,
    pub application_id: Option<i64>,
    pub poll_id: Option<i64>,
    pub replies_count: i64,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// The state of this status's quote (`accepted`, `pending` ...), if it quotes.
    pub quote_state: Option<String>,
    /// Accepted, undeleted quotes of this status (`quotes::recount`).
    pub quotes_count: i64,
    /// Who may quote this status, as stored: `public`, `followers` or `nobody`.
    pub quote_policy: String,
    /// Increased by a trigger on every change to the row or to its media, mentions
    /// and tags (migration 0013): what a rendered copy of the status is checked by.
    pub version: i64,
}

crate::lite_row!(StatusRow {
    id,
    uri,
    url,
    account_id,
    in_reply_to_id,
    in_reply_to_account_id,
    in_reply_to_uri,
    reblog_of_id,
    quote_of_id,
    content,
    text,
    spoiler_text,
    sensitive,
    visibility,
    language,
    context_uri,
    local,
    application_id,
    poll_id,
    replies_count,
    reblogs_count,
    favourites_count,
    created_at,
    edited_at,
    deleted_at,
    quote_state,
    quotes_count,
    quote_policy,
    version
});

pub(crate) const COLUMNS: &str =
    "id, uri, url, account_id, in_reply_to_id, in_reply_to_account_id, \
    in_reply_to_uri, reblog_of_id, quote_of_id, content, text, spoiler_text, sensitive, visibility, \
    language, context_uri, local, application_id, poll_id, replies_count, reblogs_count, favourites_count, created_at, edited_at, \
    deleted_at, quote_state, quotes_count, quote_policy, version";

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
    pub application_id: Option<i64>,
    pub created_at: i64,
}

/// The quote columns of a new local status (FEP-044f): who may quote it, and the
/// status it quotes, the quote's state and the QuoteRequest's id.
pub(crate) struct QuoteValues<'a> {
    pub policy: &'a str,
    pub quote_of_id: Option<i64>,
    pub state: Option<&'a str>,
    pub request_uri: Option<&'a str>,
}

/// Inserts one status row, on a pool or inside a caller's transaction
/// (`status_actions::publish`, which adds mentions, tags and counters); a local post's
/// quote columns go into the same INSERT.
pub(crate) async fn insert_with<'e, E, DB>(
    executor: E,
    s: &NewStatus,
    quote: Option<&QuoteValues<'_>>,
) -> Result<()>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    const PLAIN: &str = "INSERT INTO statuses (id, uri, url, account_id, in_reply_to_id, \
        in_reply_to_account_id, in_reply_to_uri, reblog_of_id, content, text, spoiler_text, \
        sensitive, visibility, language, context_uri, local, application_id, created_at, \
        updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)";
    const QUOTED: &str = "INSERT INTO statuses (id, uri, url, account_id, in_reply_to_id, \
        in_reply_to_account_id, in_reply_to_uri, reblog_of_id, content, text, spoiler_text, \
        sensitive, visibility, language, context_uri, local, application_id, created_at, \
        updated_at, quote_policy, quote_of_id, quote_state, quote_request_uri) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, \
        $19, $20, $21, $22)";
    let q = sqlx::query(if quote.is_some() { QUOTED } else { PLAIN })
        .bind(s.id)
        .bind(s.uri.clone())
        .bind(s.url.clone())
        .bind(s.account_id)
        .bind(s.in_reply_to_id)
        .bind(s.in_reply_to_account_id)
        .bind(s.in_reply_to_uri.clone())
        .bind(s.reblog_of_id)
        .bind(s.content.clone())
        .bind(s.text.clone())
        .bind(s.spoiler_text.clone())
        .bind(s.sensitive)
        .bind(s.visibility.clone())
        .bind(s.language.clone())
        .bind(s.context_uri.clone())
        .bind(s.local)
        .bind(s.application_id)
        .bind(s.created_at);
    let q = match quote {
        None => q,
        Some(v) => q
            .bind(v.policy.to_owned())
            .bind(v.quote_of_id)
            .bind(v.state.map(str::to_owned))
            .bind(v.request_uri.map(str::to_owned)),
    };
    q.execute(executor).await?;
    Ok(())
}

pub async fn insert(db: &Db, s: &NewStatus) -> Result<()> {
    with_pool!(db, p => insert_with(p, s, None).await)
}

/// One status, on the read path: on SQLite through a reader on this thread, without
/// the hand-off to a writer connection's thread (posting reads the new status back,
/// and the outbox worker reads the status of every job).
pub async fn by_id(db: &Db, id: i64) -> Result<Option<StatusRow>> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| format!("SELECT {COLUMNS} FROM statuses WHERE id = "));
    let mut q = Select::new(sql.as_str());
    q.push_bind(id);
    q.fetch_optional(db).await
}

/// Loads several statuses at once, in no particular order.
pub async fn by_ids(db: &Db, ids: &[i64]) -> Result<Vec<StatusRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Select::new(format!("SELECT {COLUMNS} FROM statuses WHERE id IN "));
    crate::push_id_list(&mut q, ids);
    q.fetch_all(db).await
}

/// A status read with its author's counters (the `account_stats` row, as
/// `accounts::by_ids` reads them: no row reads as no posts), so that the answer to a
/// new post can show its author without reading the account again.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusWithAuthorStats {
    #[sqlx(flatten)]
    pub status: StatusRow,
    pub author_statuses_count: i64,
    pub author_last_status_at: Option<i64>,
    /// The `account_stats` row's `version`, 0 without a row: the part of the rendered
    /// account's version that posting changes (`accounts::versions`).
    pub author_stats_version: i64,
}

/// The columns of [`StatusWithAuthorStats`] beyond those of [`StatusRow`].
const AUTHOR_STATS_FIELDS: &[&str] = &[
    "author_statuses_count",
    "author_last_status_at",
    "author_stats_version",
];

impl crate::read::FromLiteRow for StatusWithAuthorStats {
    fn columns(stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
        let mut at = StatusRow::columns(stmt)?;
        at.extend(crate::read::column_positions(stmt, AUTHOR_STATS_FIELDS)?);
        Ok(at)
    }

    fn from_lite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
        let (status, extra) = columns.split_at(StatusRow::FIELDS.len().min(columns.len()));
        let extra = |i: usize| {
            extra
                .get(i)
                .copied()
                .ok_or(rusqlite::Error::InvalidColumnIndex(i))
        };
        Ok(StatusWithAuthorStats {
            status: StatusRow::from_lite(row, status)?,
            author_statuses_count: row.get(extra(0)?)?,
            author_last_status_at: row.get(extra(1)?)?,
            author_stats_version: row.get(extra(2)?)?,
        })
    }
}

/// [`by_ids`], each status with its author's counters: how posting reads its new
/// statuses back (`core::post_commits`), in the same one query.
pub async fn by_ids_with_author_stats(db: &Db, ids: &[i64]) -> Result<Vec<StatusWithAuthorStats>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    static SELECT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let select = SELECT.get_or_init(|| {
        // Every column named after its table: `account_stats` has an `account_id`
        // and a `version` too.
        let status = COLUMNS
            .split(',')
            .map(str::trim)
            .map(|c| format!("s.{c} AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {status}, COALESCE(st.statuses_count, 0) AS author_statuses_count, \
             st.last_status_at AS author_last_status_at, \
             COALESCE(st.version, 0) AS author_stats_version \
             FROM statuses s LEFT JOIN account_stats st ON st.account_id = s.account_id \
             WHERE s.id IN "
        )
    });
    let mut q = Select::new(select.as_str());
    crate::push_id_list(&mut q, ids);
    q.fetch_all(db).await
}

/// `(id, version)` of those of the given statuses that exist, in no particular order
/// (`mastodon::status_cache` checks its rendered statuses against them).
pub async fn versions(db: &Db, ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Select::new("SELECT id, version FROM statuses WHERE id IN ");
    crate::push_id_list(&mut q, ids);
    q.fetch_all(db).await
}

/// `(status_id, account_id)` of every visible mention in the given statuses (not the
/// silent ones: accounts a remote status was only addressed to).
pub async fn mentions_of(db: &Db, status_ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    if status_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("SELECT status_id, account_id FROM mentions WHERE silent = FALSE AND status_id IN ");
        crate::push_id_list(&mut qb, status_ids);
        qb.push(" ORDER BY id");
        qb.build_query_as::<(i64, i64)>().fetch_all(p).await
    })?;
    Ok(rows)
}

/// The visible mentions (`(status_id, account_id)`, as [`mentions_of`]) and the
/// hashtags (`(status_id, name)`, sorted by name) of the given statuses, in one query:
/// a page of statuses needs both, and a round trip costs more than the rows.
pub async fn mentions_and_tags(
    db: &Db,
    status_ids: &[i64],
) -> Result<(Vec<(i64, i64)>, Vec<(i64, String)>)> {
    if status_ids.is_empty() {
        return Ok(Default::default());
    }
    // Tags sort first (their `ord` is 0) by name, then mentions by id, the order
    // `mentions_of` gives.
    let mut q = Select::new(
        "SELECT m.status_id, m.account_id, CAST(NULL AS TEXT) AS name, m.id AS ord \
         FROM mentions m WHERE m.silent = FALSE AND m.status_id IN ",
    );
    crate::push_id_list(&mut q, status_ids);
    q.push(
        " UNION ALL SELECT st.status_id, CAST(NULL AS BIGINT), t.name, CAST(0 AS BIGINT) \
         FROM statuses_tags st JOIN tags t ON t.id = st.tag_id WHERE st.status_id IN ",
    );
    crate::push_id_list(&mut q, status_ids);
    q.push(" ORDER BY 4, 3");
    let rows: Vec<(i64, Option<i64>, Option<String>, i64)> = q.fetch_all(db).await?;
    let mut mentions = Vec::new();
    let mut tags = Vec::new();
    for (status_id, account_id, name, _) in rows {
        match (account_id, name) {
            (Some(account_id), _) => mentions.push((status_id, account_id)),
            (None, Some(name)) => tags.push((status_id, name)),
            (None, None) => {}
        }
    }
    Ok((mentions, tags))
}

/// What a viewer has done to each of the given statuses.
#[derive(Clone, Debug, Default)]
pub struct ViewerFlags {
    pub favourited: std::collections::HashSet<i64>,
    pub reblogged: std::collections::HashSet<i64>,
    pub bookmarked: std::collections::HashSet<i64>,
    pub pinned: std::collections::HashSet<i64>,
}

/// What `viewer` has done to each of `status_ids`, in one query: the four kinds of
/// rows are told apart by the first column of a `UNION ALL`, each branch probing its
/// own index, so a page costs one round trip to the database instead of four.
pub async fn viewer_flags(db: &Db, viewer: i64, status_ids: &[i64]) -> Result<ViewerFlags> {
    let mut flags = ViewerFlags::default();
    if status_ids.is_empty() {
        return Ok(flags);
    }
    let branches = [
        "SELECT CAST(0 AS BIGINT), status_id FROM favourites WHERE account_id = ",
        " UNION ALL SELECT CAST(1 AS BIGINT), reblog_of_id FROM statuses \
         WHERE deleted_at IS NULL AND account_id = ",
        " UNION ALL SELECT CAST(2 AS BIGINT), status_id FROM bookmarks WHERE account_id = ",
        " UNION ALL SELECT CAST(3 AS BIGINT), status_id FROM status_pins WHERE account_id = ",
    ];
    let mut q = Select::default();
    for branch in branches {
        let column = if branch.contains("reblog_of_id") {
            "reblog_of_id"
        } else {
            "status_id"
        };
        q.push(branch);
        q.push_bind(viewer);
        q.push(format_args!(" AND {column} IN "));
        crate::push_id_list(&mut q, status_ids);
    }
    let rows: Vec<(i64, i64)> = q.fetch_all(db).await?;
    for (kind, id) in rows {
        let set = match kind {
            0 => &mut flags.favourited,
            1 => &mut flags.reblogged,
            2 => &mut flags.bookmarked,
            _ => &mut flags.pinned,
        };
        set.insert(id);
    }
    Ok(flags)
}

/// Which of `status_ids` mention `account_id` (silently or not), in one query.
pub async fn mentioning(
    db: &Db,
    account_id: i64,
    status_ids: &[i64],
) -> Result<std::collections::HashSet<i64>> {
    if status_ids.is_empty() {
        return Ok(Default::default());
    }
    let ids: Vec<i64> = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new("SELECT status_id FROM mentions WHERE account_id = ");
        qb.push_bind(account_id);
        qb.push(" AND status_id IN ");
        crate::push_id_list(&mut qb, status_ids);
        qb.build_query_scalar::<i64>().fetch_all(p).await
    })?;
    Ok(ids.into_iter().collect())
}

/// Records that `status_id` quotes `quoted_id`, with the quote's state (FEP-044f /
/// Mastodon 4.5: `accepted`, `pending` ...). `quotes_count` of the quoted status counts
/// accepted quotes only, as in Mastodon, so it is recounted.
pub async fn set_quote(db: &Db, status_id: i64, quoted_id: i64, state: &str) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "UPDATE statuses SET quote_of_id = $2, quote_state = $3 WHERE id = $1 AND quote_of_id IS NULL")
        .bind(status_id)
        .bind(quoted_id)
        .bind(state)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    crate::quotes::recount(db, quoted_id).await
}

/// A page of the statuses quoting `quoted_id` with an accepted quote, not deleted,
/// newest first.
pub async fn quotes_of(
    db: &Db,
    quoted_id: i64,
    page: &crate::PageParams,
) -> Result<Vec<StatusRow>> {
    let rows = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {COLUMNS} FROM statuses WHERE quote_of_id = "));
        qb.push_bind(quoted_id);
        qb.push(" AND quote_state = 'accepted' AND deleted_at IS NULL");
        page.push_sql(&mut qb, "id");
        qb.build_query_as::<StatusRow>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}
