//! Home feeds (fan-out on write into `home_feed`), the public, local and hashtag
//! timelines, and the read markers apps keep per timeline.
//!
//! A home feed is one row per (reader, status) in `home_feed`, whose primary key
//! (account_id, status_id) serves a page of any user's home timeline with one index
//! range scan, however large the statuses table grows and however many accounts the
//! reader follows. The public timelines walk partial indexes of public statuses
//! (`statuses_public`, `statuses_public_local`) newest first. Every filter that depends
//! on the viewer (blocks, mutes) is a correlated `NOT EXISTS` probing a unique index,
//! so the outer loop stays the index walk that also yields the order: no query here
//! sorts rows it has not read in order.

use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::read::{Select, SqlBuilder};
use crate::statuses::{StatusRow, COLUMNS as STATUS_COLUMNS};
use crate::{with_pool, Db, PageParams, Result};

/// The status columns, qualified with the alias `s` that every timeline query gives
/// the statuses table; built once, since every page of every timeline needs it.
fn status_columns() -> &'static str {
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        STATUS_COLUMNS
            .split(',')
            .map(|c| format!("s.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The current time in milliseconds, for mutes that expire.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Inserts a status into the feeds of its author (when local), of its author's local
/// followers (unless it is direct), and of the local accounts it mentions when it is
/// direct. Idempotent.
///
/// Followers get what Mastodon's home feed would show them: a reblog only when they
/// did not turn off reblogs for that account, and a reply only when it answers the
/// author themselves, the reader, or someone the reader follows (or mentions the
/// reader), so that half of a conversation with strangers does not fill the feed.
///
/// The candidates come from the `follows_target` index, one range scan over the
/// author's followers, never from a scan of all accounts.
pub async fn fan_out(db: &Db, status_id: i64, author_id: i64, visibility: &str) -> Result<u64> {
    Ok(
        with_pool!(db, p => fan_out_with(p, status_id, author_id, visibility)
        .await?
        .rows_affected()),
    )
}

/// [`fan_out`] on a pool or inside a caller's transaction (`status_actions`, which
/// stores a local post, its outbox event and its feed rows in one commit).
pub(crate) async fn fan_out_with<'e, E, DB>(
    executor: E,
    status_id: i64,
    author_id: i64,
    visibility: &str,
) -> Result<DB::QueryResult>
where
    DB: Database,
    E: sqlx::Executor<'e, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
{
    let direct = visibility == "direct";
    // SQLite needs a WHERE on the SELECT of an INSERT … SELECT … ON CONFLICT to parse
    // it unambiguously, hence the outer `WHERE TRUE`.
    Ok(sqlx::query(
        "INSERT INTO home_feed (account_id, status_id, author_account_id) \
         SELECT x.reader, $1, $2 FROM ( \
             SELECT a.id AS reader FROM accounts a WHERE a.id = $2 AND a.domain IS NULL \
             UNION \
             SELECT f.account_id FROM follows f \
               JOIN accounts r ON r.id = f.account_id \
               JOIN statuses s ON s.id = $1 \
             WHERE $3 = FALSE AND f.target_account_id = $2 AND r.domain IS NULL \
               AND (s.reblog_of_id IS NULL OR f.show_reblogs = TRUE) \
               AND (s.in_reply_to_account_id IS NULL \
                    OR s.in_reply_to_account_id = $2 \
                    OR s.in_reply_to_account_id = f.account_id \
                    OR EXISTS (SELECT 1 FROM follows g WHERE g.account_id = f.account_id \
                               AND g.target_account_id = s.in_reply_to_account_id) \
                    OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = $1 \
                               AND m.account_id = f.account_id)) \
             UNION \
             SELECT m.account_id FROM mentions m JOIN accounts r ON r.id = m.account_id \
             WHERE $3 = TRUE AND m.status_id = $1 AND r.domain IS NULL \
         ) x WHERE TRUE \
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(status_id)
    .bind(author_id)
    .bind(direct)
    .execute(executor)
    .await?)
}

/// [`fan_out_with`] for several statuses at once, in one statement (the group commit
/// of local posts, `status_actions::publish_local_group`, and the batches of received
/// statuses, `inbound::store_statuses`), written into `q`: the same
/// readers, by the same rules, taking each status's author and visibility from its
/// stored row.
pub(crate) fn push_fan_out_many(q: &mut impl SqlBuilder, status_ids: &[i64]) {
    q.push(
        "INSERT INTO home_feed (account_id, status_id, author_account_id) \
         SELECT x.reader, x.status_id, x.author FROM ( \
             SELECT a.id AS reader, s.id AS status_id, s.account_id AS author \
             FROM statuses s JOIN accounts a ON a.id = s.account_id \
             WHERE a.domain IS NULL AND s.id IN ",
    );
    crate::push_id_list(q, status_ids);
    q.push(
        " UNION \
             SELECT f.account_id, s.id, s.account_id FROM statuses s \
               JOIN follows f ON f.target_account_id = s.account_id \
               JOIN accounts r ON r.id = f.account_id \
             WHERE s.visibility <> 'direct' AND r.domain IS NULL \
               AND (s.reblog_of_id IS NULL OR f.show_reblogs = TRUE) \
               AND (s.in_reply_to_account_id IS NULL \
                    OR s.in_reply_to_account_id = s.account_id \
                    OR s.in_reply_to_account_id = f.account_id \
                    OR EXISTS (SELECT 1 FROM follows g WHERE g.account_id = f.account_id \
                               AND g.target_account_id = s.in_reply_to_account_id) \
                    OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id \
                               AND m.account_id = f.account_id)) \
               AND s.id IN ",
    );
    crate::push_id_list(q, status_ids);
    q.push(
        " UNION \
             SELECT m.account_id, s.id, s.account_id FROM statuses s \
               JOIN mentions m ON m.status_id = s.id \
               JOIN accounts r ON r.id = m.account_id \
             WHERE s.visibility = 'direct' AND r.domain IS NULL AND s.id IN ",
    );
    crate::push_id_list(q, status_ids);
    q.push(
        " ) x WHERE TRUE \
         ON CONFLICT (account_id, status_id) DO NOTHING",
    );
}

/// Copies an author's recent non-direct statuses into a reader's feed (after a
/// follow), so that the home timeline is not empty until they post again.
pub async fn backfill_author(db: &Db, reader_id: i64, author_id: i64, limit: i64) -> Result<u64> {
    let rows = with_pool!(db, p => sqlx::query(
        "INSERT INTO home_feed (account_id, status_id, author_account_id) \
         SELECT $1, s.id, s.account_id FROM statuses s \
         WHERE s.account_id = $2 AND s.deleted_at IS NULL AND s.visibility <> 'direct' \
         ORDER BY s.id DESC LIMIT $3 \
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(reader_id)
    .bind(author_id)
    .bind(limit)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(rows)
}

/// Like [`backfill_author`], for the statuses with an id above `min_id` only: a
/// backfill's age limit (ids of fetched statuses come from their publication time).
pub async fn backfill_author_since(
    db: &Db,
    reader_id: i64,
    author_id: i64,
    min_id: i64,
    limit: i64,
) -> Result<u64> {
    let rows = with_pool!(db, p => sqlx::query(
        "INSERT INTO home_feed (account_id, status_id, author_account_id) \
         SELECT $1, s.id, s.account_id FROM statuses s \
         WHERE s.account_id = $2 AND s.id > $3 AND s.deleted_at IS NULL \
         AND s.visibility <> 'direct' \
         ORDER BY s.id DESC LIMIT $4 \
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(reader_id)
    .bind(author_id)
    .bind(min_id)
    .bind(limit)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(rows)
}

/// Removes an author's statuses from a reader's feed (after an unfollow or a block),
/// except those that mention the reader.
pub async fn remove_author(db: &Db, reader_id: i64, author_id: i64) -> Result<u64> {
    let rows = with_pool!(db, p => sqlx::query(
        "DELETE FROM home_feed WHERE account_id = $1 AND author_account_id = $2 \
         AND status_id NOT IN (SELECT status_id FROM mentions WHERE account_id = $1)",
    )
    .bind(reader_id)
    .bind(author_id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(rows)
}

/// Appends the filters that hide the statuses of accounts the viewer blocks or mutes
/// (mutes only while they last), for the author column `col`. With `blocked_by`, also
/// of accounts that block the viewer. Each is a lookup in a unique index.
fn push_not_excluded(qb: &mut impl SqlBuilder, viewer: i64, now: i64, col: &str, blocked_by: bool) {
    qb.push(" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = ")
        .push_bind_int(viewer)
        .push(format_args!(" AND b.target_account_id = {col})"));
    if blocked_by {
        qb.push(" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = ")
            .push(col)
            .push(" AND b.target_account_id = ")
            .push_bind_int(viewer)
            .push(")");
    }
    qb.push(" AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = ")
        .push_bind_int(viewer)
        .push(format_args!(
            " AND m.target_account_id = {col} AND (m.expires_at IS NULL OR m.expires_at > "
        ))
        .push_bind_int(now)
        .push("))");
}

/// Repeats a page's cursors on `s.id` for queries that page on another column equal
/// to it (`h.status_id`, `st.status_id`). Should PostgreSQL merge-join that column's
/// index with the statuses primary key, both scans then start at the cursor, instead
/// of the statuses one at the newest status ever stored (measured: 150 ms instead of
/// 0.5 ms for a page halfway down a million statuses).
fn push_status_bounds(qb: &mut impl SqlBuilder, page: &PageParams) {
    if let Some(max) = page.max_id {
        qb.push(" AND s.id < ").push_bind_int(max);
    }
    if let Some(min) = page.since_id.into_iter().chain(page.min_id).max() {
        qb.push(" AND s.id > ").push_bind_int(min);
    }
}

/// Whether a home page filters out the statuses of accounts its reader blocks or
/// mutes. Most readers block and mute no one, and their pages then skip four index
/// probes per status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Excludes {
    /// The reader blocks or mutes no one (the caller asked first).
    None,
    /// The reader blocks or mutes someone.
    All,
    /// Not known yet: the query asks itself, once, before its first row. Used on
    /// PostgreSQL, where asking first would be a round trip of its own; SQLite's
    /// probe runs on the caller's thread and costs next to nothing.
    IfAny,
}

impl Excludes {
    /// How the home page of `account_id` finds out ([`Excludes`]).
    async fn decide(db: &Db, account_id: i64) -> Result<Excludes> {
        Ok(match db {
            Db::Postgres(_) => Excludes::IfAny,
            Db::Sqlite(..) if blocks_or_mutes_anyone(db, account_id).await? => Excludes::All,
            Db::Sqlite(..) => Excludes::None,
        })
    }
}

/// What a home page query reads of each status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HomeColumns {
    /// The whole row ([`home`]).
    Rows,
    /// A [`PageEntry`] ([`home_versions`]), the reader's flags read as said.
    Entries(FlagsBy),
}

/// How the page query reads the reader's four flags on each status: each is one row
/// at most (a unique index on the reader and the status), looked up for the rows the
/// page returns only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlagsBy {
    /// LEFT JOINs (SQLite): the join's cursors stay open for the whole page, where a
    /// correlated subquery opens and closes its cursor for every row (measured on a
    /// copy of the benchmark's database: the page query took a fifth less time).
    Joins,
    /// `EXISTS` subqueries (PostgreSQL), each written with `OFFSET 0`, which keeps
    /// PostgreSQL from turning it into a hashed subplan or a hash join. It may choose
    /// either for a reader it expects to have few rows, and either reads all of the
    /// reader's favourites (or posts) for every page.
    Probes,
}

impl FlagsBy {
    fn of(db: &Db) -> FlagsBy {
        match db {
            Db::Sqlite(..) => FlagsBy::Joins,
            Db::Postgres(_) => FlagsBy::Probes,
        }
    }
}

/// The tables of a reader's four flags ([`PageEntry::flags`], bit by bit in this
/// order), with the condition that matches a row to the page's status `s`.
const FLAG_TABLES: [(&str, &str); 4] = [
    ("favourites", "status_id = s.id"),
    ("statuses", "reblog_of_id = s.id AND {t}.deleted_at IS NULL"),
    ("bookmarks", "status_id = s.id"),
    ("status_pins", "status_id = s.id"),
];

/// The query behind [`home`], written into `qb`; `prefix` lets tests put `EXPLAIN`
/// in front.
fn home_query(
    qb: &mut impl SqlBuilder,
    prefix: &str,
    columns: HomeColumns,
    account_id: i64,
    page: &PageParams,
    now: i64,
    excludes: Excludes,
) {
    // The outer loop is the primary key of home_feed, walked in status_id order from
    // the cursor; statuses (and a reblog's original) are looked up by primary key.
    qb.push(format_args!("{prefix}SELECT "));
    match columns {
        HomeColumns::Rows => {
            qb.push(status_columns());
        }
        HomeColumns::Entries(by) => {
            // The author's version is that of `accounts::versions`.
            qb.push(
                "s.id, s.version, s.account_id, \
                 COALESCE(a.version, 0) + COALESCE(st.version, 0), CAST(",
            );
            for (i, (table, condition)) in FLAG_TABLES.into_iter().enumerate() {
                if i > 0 {
                    qb.push(" + ");
                }
                match by {
                    FlagsBy::Joins => {
                        qb.push(format_args!(
                            "(CASE WHEN f{i}.account_id IS NULL THEN 0 ELSE {} END)",
                            1 << i
                        ));
                    }
                    FlagsBy::Probes => {
                        let condition = condition.replace("{t}", "x");
                        qb.push(format_args!(
                            "(CASE WHEN EXISTS (SELECT 1 FROM {table} x WHERE x.account_id = "
                        ))
                        .push_bind_int(account_id)
                        .push(format_args!(
                            " AND x.{condition} LIMIT 1 OFFSET 0) THEN {} ELSE 0 END)",
                            1 << i
                        ));
                    }
                }
            }
            qb.push(" AS BIGINT)");
        }
    }
    qb.push(
        " FROM home_feed h \
         JOIN statuses s ON s.id = h.status_id \
         LEFT JOIN statuses o ON o.id = s.reblog_of_id",
    );
    if let HomeColumns::Entries(by) = columns {
        qb.push(
            " LEFT JOIN accounts a ON a.id = s.account_id \
             LEFT JOIN account_stats st ON st.account_id = s.account_id",
        );
        if by == FlagsBy::Joins {
            for (i, (table, condition)) in FLAG_TABLES.into_iter().enumerate() {
                let alias = format!("f{i}");
                let condition = condition.replace("{t}", &alias);
                qb.push(format_args!(
                    " LEFT JOIN {table} {alias} ON {alias}.account_id = "
                ))
                .push_bind_int(account_id)
                .push(format_args!(" AND {alias}.{condition}"));
            }
        }
    }
    qb.push(" WHERE h.account_id = ");
    qb.push_bind_int(account_id);
    qb.push(" AND s.deleted_at IS NULL AND (s.reblog_of_id IS NULL OR o.deleted_at IS NULL)");
    if excludes == Excludes::IfAny {
        // An uncorrelated subquery: PostgreSQL runs it once per query (an InitPlan),
        // and when it finds nothing the OR never evaluates the per-status filters.
        qb.push(" AND (NOT EXISTS (SELECT 1 FROM blocks WHERE account_id = ")
            .push_bind_int(account_id)
            .push(" UNION ALL SELECT 1 FROM mutes WHERE account_id = ")
            .push_bind_int(account_id)
            .push(") OR (TRUE");
    }
    if excludes != Excludes::None {
        push_not_excluded(qb, account_id, now, "s.account_id", false);
        // A reblog of a blocked or muted account is hidden too, as in Mastodon.
        push_not_excluded(qb, account_id, now, "o.account_id", false);
    }
    if excludes == Excludes::IfAny {
        qb.push("))");
    }
    push_status_bounds(qb, page);
    page.push_sql(qb, "h.status_id");
}

/// Whether the reader blocks or mutes anyone at all (two probes of unique indexes):
/// a home page for a reader who does neither skips its four probes per status.
async fn blocks_or_mutes_anyone(db: &Db, account_id: i64) -> Result<bool> {
    let mut check = Select::new("SELECT account_id FROM blocks WHERE account_id = ");
    check.push_bind(account_id);
    check.push(" UNION ALL SELECT account_id FROM mutes WHERE account_id = ");
    check.push_bind(account_id);
    check.push(" LIMIT 1");
    Ok(check.fetch_optional::<(i64,)>(db).await?.is_some())
}

/// A page of a home feed, newest first, without the statuses (and reblogs of
/// statuses) of accounts the reader blocks or mutes. On the hot read path.
pub async fn home(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<StatusRow>> {
    let excludes = Excludes::decide(db, account_id).await?;
    let mut q = Select::default();
    home_query(
        &mut q,
        "",
        HomeColumns::Rows,
        account_id,
        page,
        now_ms(),
        excludes,
    );
    let rows = q.fetch_all(db).await?;
    Ok(page.finish(rows))
}

/// A status of a home page as [`home_versions`] reads it: its id and version, its
/// author's id and version (as `accounts::versions` gives it), and what the reader
/// did to it, so that a page whose statuses and authors are in memory needs no other
/// query about them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageEntry {
    pub id: i64,
    pub version: i64,
    pub author_id: i64,
    pub author_version: i64,
    /// Bits: [`PageEntry::FAVOURITED`], [`PageEntry::REBLOGGED`],
    /// [`PageEntry::BOOKMARKED`], [`PageEntry::PINNED`].
    pub flags: i64,
}

impl PageEntry {
    pub const FAVOURITED: i64 = 1;
    pub const REBLOGGED: i64 = 2;
    pub const BOOKMARKED: i64 = 4;
    pub const PINNED: i64 = 8;
}

impl crate::read::FromLiteRow for PageEntry {
    fn from_lite(row: &rusqlite::Row<'_>, _: &[usize]) -> rusqlite::Result<Self> {
        Ok(PageEntry {
            id: row.get(0)?,
            version: row.get(1)?,
            author_id: row.get(2)?,
            author_version: row.get(3)?,
            flags: row.get(4)?,
        })
    }
}

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for PageEntry {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> std::result::Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(PageEntry {
            id: row.try_get(0)?,
            version: row.try_get(1)?,
            author_id: row.try_get(2)?,
            author_version: row.try_get(3)?,
            flags: row.try_get(4)?,
        })
    }
}

/// The same page as [`home`], as the statuses' ids and versions only: a page whose
/// statuses are already rendered in memory (`mastodon::status_cache`) needs no more,
/// and reading two columns instead of the row's 29 is most of the page query's time.
pub async fn home_versions(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<PageEntry>> {
    let excludes = Excludes::decide(db, account_id).await?;
    let mut q = Select::default();
    home_query(
        &mut q,
        "",
        HomeColumns::Entries(FlagsBy::of(db)),
        account_id,
        page,
        now_ms(),
        excludes,
    );
    let rows = q.fetch_all(db).await?;
    Ok(page.finish(rows))
}

/// Which public statuses a public or hashtag timeline shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublicFilter {
    /// Only statuses of this server's accounts.
    pub local: bool,
    /// Only statuses of other servers' accounts (ignored together with `local`).
    pub remote: bool,
    /// Only statuses with media attachments.
    pub only_media: bool,
    /// The signed-in viewer, whose blocks and mutes apply.
    pub viewer: Option<i64>,
}

/// The conditions every public timeline shares: public, not deleted, not a reblog,
/// by an account that is neither suspended nor silenced, plus the viewer's filters.
/// `s` is the status alias.
fn push_public_conditions<'a, DB>(qb: &mut QueryBuilder<'a, DB>, filter: &PublicFilter, now: i64)
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB> + 'a,
{
    // The first two terms are spelled exactly as in the partial indexes' WHERE
    // clauses: SQLite uses a partial index only when the query repeats its terms.
    qb.push(" AND s.visibility = 'public' AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL");
    if filter.local {
        qb.push(" AND s.local = TRUE");
    } else if filter.remote {
        qb.push(" AND s.local = FALSE");
    }
    qb.push(
        " AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id \
         AND (a.suspended_at IS NOT NULL OR a.silenced_at IS NOT NULL))",
    );
    if filter.only_media {
        qb.push(" AND EXISTS (SELECT 1 FROM media_attachments ma WHERE ma.status_id = s.id)");
    }
    if let Some(viewer) = filter.viewer {
        push_not_excluded(qb, viewer, now, "s.account_id", true);
    }
}

/// The query behind [`public`].
fn public_query<'a, DB>(
    prefix: &str,
    filter: &PublicFilter,
    page: &PageParams,
    now: i64,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB> + 'a,
{
    let mut qb = QueryBuilder::new(format!(
        "{prefix}SELECT {} FROM statuses s WHERE TRUE",
        status_columns()
    ));
    push_public_conditions(&mut qb, filter, now);
    // Mastodon's public timelines leave out replies, except an author's own threads.
    qb.push(
        " AND ((s.in_reply_to_id IS NULL AND s.in_reply_to_uri IS NULL) \
         OR s.in_reply_to_account_id = s.account_id)",
    );
    page.push_sql(&mut qb, "s.id");
    qb
}

/// A page of the public (federated), local or remote timeline, newest first.
pub async fn public(db: &Db, filter: &PublicFilter, page: &PageParams) -> Result<Vec<StatusRow>> {
    let now = now_ms();
    let rows = with_pool!(db, p => {
        let mut qb = public_query("", filter, page, now);
        qb.build_query_as::<StatusRow>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}

/// The hashtags a hashtag timeline asks for, by tag id: statuses with `any` of the
/// first list, with `all` of the second, and with `none` of the third.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagIds {
    pub any: Vec<i64>,
    pub all: Vec<i64>,
    pub none: Vec<i64>,
}

/// Looks hashtags up by their normalised (lower-case) names; returns (name, id) of
/// those that exist.
pub async fn tag_ids(db: &Db, names: &[String]) -> Result<Vec<(String, i64)>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new("SELECT name, id FROM tags WHERE name IN (");
        let mut sep = qb.separated(", ");
        for name in names {
            sep.push_bind(name.clone());
        }
        sep.push_unseparated(")");
        qb.build_query_as::<(String, i64)>().fetch_all(p).await
    })?;
    Ok(rows)
}

/// The query behind [`tagged`].
fn tagged_query<'a, DB>(
    prefix: &str,
    tags: &TagIds,
    filter: &PublicFilter,
    page: &PageParams,
    now: i64,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB> + 'a,
{
    let columns = status_columns();
    let (mut qb, cursor) = if let [only] = tags.any[..] {
        // One tag: walk the (tag_id, status_id) primary key of statuses_tags from the
        // cursor down, looking each status up by id.
        let mut qb = QueryBuilder::new(format!(
            "{prefix}SELECT {columns} FROM statuses_tags st JOIN statuses s ON s.id = st.status_id \
             WHERE st.tag_id = "
        ));
        qb.push_bind(only);
        push_status_bounds(&mut qb, page);
        (qb, "st.status_id")
    } else {
        // Several: a status may carry more than one of them, so test membership
        // instead of joining, which would repeat it.
        let mut qb = QueryBuilder::new(format!(
            "{prefix}SELECT {columns} FROM statuses s \
             WHERE s.id IN (SELECT st.status_id FROM statuses_tags st WHERE st.tag_id IN "
        ));
        crate::push_id_list(&mut qb, &tags.any);
        qb.push(")");
        (qb, "s.id")
    };
    for tag in &tags.all {
        qb.push(" AND EXISTS (SELECT 1 FROM statuses_tags x WHERE x.tag_id = ")
            .push_bind(*tag)
            .push(" AND x.status_id = s.id)");
    }
    if !tags.none.is_empty() {
        qb.push(" AND NOT EXISTS (SELECT 1 FROM statuses_tags x WHERE x.status_id = s.id AND x.tag_id IN ");
        crate::push_id_list(&mut qb, &tags.none);
        qb.push(")");
    }
    push_public_conditions(&mut qb, filter, now);
    page.push_sql(&mut qb, cursor);
    qb
}

/// A page of a hashtag timeline: public statuses (replies included, as in Mastodon)
/// newest first. Empty when `tags.any` is.
pub async fn tagged(
    db: &Db,
    tags: &TagIds,
    filter: &PublicFilter,
    page: &PageParams,
) -> Result<Vec<StatusRow>> {
    if tags.any.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_ms();
    let rows = with_pool!(db, p => {
        let mut qb = tagged_query("", tags, filter, page, now);
        qb.build_query_as::<StatusRow>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}

/// Where a user stopped reading a timeline (Mastodon's markers).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MarkerRow {
    pub timeline: String,
    pub last_read_id: i64,
    pub version: i64,
    pub updated_at: i64,
}

/// The user's markers for the named timelines (those that exist).
pub async fn markers(db: &Db, user_id: i64, timelines: &[&str]) -> Result<Vec<MarkerRow>> {
    if timelines.is_empty() {
        return Ok(Vec::new());
    }
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT timeline, last_read_id, version, updated_at FROM markers WHERE user_id = ",
        );
        qb.push_bind(user_id).push(" AND timeline IN (");
        let mut sep = qb.separated(", ");
        for t in timelines {
            sep.push_bind(t.to_string());
        }
        sep.push_unseparated(") ORDER BY timeline");
        qb.build_query_as::<MarkerRow>().fetch_all(p).await
    })?;
    Ok(rows)
}

/// Sets a marker, creating it at version 0 or bumping its version by one, in one
/// statement so that two devices saving at once both count.
pub async fn set_marker(
    db: &Db,
    id: i64,
    user_id: i64,
    timeline: &str,
    last_read_id: i64,
    now: i64,
) -> Result<MarkerRow> {
    let row = with_pool!(db, p => sqlx::query_as::<_, MarkerRow>(
        "INSERT INTO markers (id, user_id, timeline, last_read_id, version, updated_at) \
         VALUES ($1, $2, $3, $4, 0, $5) \
         ON CONFLICT (user_id, timeline) DO UPDATE SET last_read_id = excluded.last_read_id, \
           version = markers.version + 1, updated_at = excluded.updated_at \
         RETURNING timeline, last_read_id, version, updated_at",
    )
    .bind(id)
    .bind(user_id)
    .bind(timeline)
    .bind(last_read_id)
    .bind(now)
    .fetch_one(p)
    .await)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    //! The plans of the timeline queries, checked on SQLite (the PostgreSQL plans
    //! depend on table statistics and are checked on a filled database; see the
    //! benchmark notes in ARCHITECTURE.md). A plan that sorts ("TEMP B-TREE") or scans
    //! a whole table would make pages slower as the instance grows.

    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    async fn db() -> Db {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        // Only plans are read here, through the pool: the readers are never used.
        let db = Db::Sqlite(pool, crate::read::Readers::new(":memory:"));
        db.migrate().await.unwrap();
        db
    }

    async fn plan(db: &Db, mut qb: QueryBuilder<'_, sqlx::Sqlite>) -> String {
        let Db::Sqlite(p, _) = db else { unreachable!() };
        let rows: Vec<(i64, i64, i64, String)> = qb.build_query_as().fetch_all(p).await.unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
    }

    const EXPLAIN: &str = "EXPLAIN QUERY PLAN ";

    fn assert_no_sort_or_scan(plan: &str) {
        assert!(!plan.contains("TEMP B-TREE"), "sorts:\n{plan}");
        // "SCAN x USING INDEX i" walks an index in order and stops at the LIMIT; a
        // bare "SCAN x" reads the whole table.
        assert!(
            !plan
                .lines()
                .any(|l| l.starts_with("SCAN ") && !l.contains(" USING ")),
            "scans a table:\n{plan}"
        );
    }

    #[tokio::test]
    async fn home_walks_the_home_feed_primary_key() {
        let db = db().await;
        for page in [
            PageParams::newest(20),
            PageParams {
                max_id: Some(1),
                limit: 20,
                ..Default::default()
            },
            PageParams {
                min_id: Some(1),
                limit: 20,
                ..Default::default()
            },
        ] {
            // With and without the block and mute filters (a reader with none).
            for excludes in [Excludes::All, Excludes::None, Excludes::IfAny] {
                for columns in [
                    HomeColumns::Rows,
                    HomeColumns::Entries(FlagsBy::Joins),
                    HomeColumns::Entries(FlagsBy::Probes),
                ] {
                    let mut qb = QueryBuilder::new("");
                    home_query(&mut qb, EXPLAIN, columns, 1, &page, 0, excludes);
                    let plan = plan(&db, qb).await;
                    assert!(
                        plan.contains("SEARCH h USING PRIMARY KEY")
                            || plan.contains(
                                "SEARCH h USING COVERING INDEX sqlite_autoindex_home_feed_1"
                            ),
                        "{plan}"
                    );
                    assert_no_sort_or_scan(&plan);
                }
            }
        }
    }

    #[tokio::test]
    async fn public_timelines_walk_partial_indexes() {
        let db = db().await;
        let page = PageParams::newest(20);
        let all = PublicFilter {
            viewer: Some(1),
            ..Default::default()
        };
        let plan_all = plan(&db, public_query(EXPLAIN, &all, &page, 0)).await;
        assert!(
            plan_all.contains("USING INDEX statuses_public"),
            "{plan_all}"
        );
        assert_no_sort_or_scan(&plan_all);
        for filter in [
            PublicFilter { local: true, ..all },
            PublicFilter {
                remote: true,
                only_media: true,
                ..all
            },
        ] {
            let plan = plan(&db, public_query(EXPLAIN, &filter, &page, 0)).await;
            assert!(plan.contains("USING INDEX statuses_public_local"), "{plan}");
            assert_no_sort_or_scan(&plan);
        }
    }

    #[tokio::test]
    async fn one_tag_walks_the_statuses_tags_primary_key() {
        let db = db().await;
        let page = PageParams {
            max_id: Some(5),
            limit: 20,
            ..Default::default()
        };
        let tags = TagIds {
            any: vec![7],
            all: vec![8],
            none: vec![9],
        };
        let plan = plan(
            &db,
            tagged_query(EXPLAIN, &tags, &PublicFilter::default(), &page, 0),
        )
        .await;
        assert!(
            plan.contains("SEARCH st USING PRIMARY KEY")
                || plan.contains("SEARCH st USING COVERING INDEX sqlite_autoindex_statuses_tags_1"),
            "{plan}"
        );
        assert_no_sort_or_scan(&plan);
    }
}
