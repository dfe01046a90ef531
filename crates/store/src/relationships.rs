//! What accounts are to each other: follows (with the counters on `accounts` that
//! mirror them), follow requests, blocks and mutes; the relationship of one viewer to
//! a set of accounts; and the lists built on those rows (followers, following,
//! requests, blocks, mutes, an account's statuses).
//!
//! Every change that moves a follow row also moves `followers_count` and
//! `following_count`, in the same transaction, so the counters never drift from the
//! rows they count.

use std::collections::{HashMap, HashSet};

use sqlx::QueryBuilder;

use crate::accounts::AccountRow;
use crate::statuses::{StatusRow, COLUMNS as STATUS_COLUMNS};
use crate::WritePool as _;
use crate::{push_id_list, with_pool, Db, PageParams, Result};

/// `COLUMNS` with every column qualified by `alias`.
fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A follow or a follow request, with the follower's options.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct FollowRow {
    pub id: i64,
    pub account_id: i64,
    pub target_account_id: i64,
    pub show_reblogs: bool,
    pub notify: bool,
    /// JSON array of language codes, or `None` for every language.
    pub languages: Option<String>,
    pub created_at: i64,
}

const FOLLOW_COLUMNS: &str =
    "id, account_id, target_account_id, show_reblogs, notify, languages, created_at";

/// What it takes to store a follow or a follow request.
#[derive(Clone, Debug)]
pub struct NewFollowRow {
    pub id: i64,
    pub account_id: i64,
    pub target_account_id: i64,
    pub uri: Option<String>,
    pub show_reblogs: bool,
    pub notify: bool,
    pub languages: Option<String>,
    pub created_at: i64,
}

/// The options a follower may change on an existing follow or request.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    pub show_reblogs: bool,
    pub notify: bool,
    pub languages: Option<String>,
}

const INCREMENT_COUNTERS: [&str; 2] = [
    "UPDATE accounts SET following_count = following_count + 1 WHERE id = $1",
    "UPDATE accounts SET followers_count = followers_count + 1 WHERE id = $1",
];

const DECREMENT_COUNTERS: [&str; 2] = [
    "UPDATE accounts SET following_count = CASE WHEN following_count > 0 \
     THEN following_count - 1 ELSE 0 END WHERE id = $1",
    "UPDATE accounts SET followers_count = CASE WHEN followers_count > 0 \
     THEN followers_count - 1 ELSE 0 END WHERE id = $1",
];

const INSERT_FOLLOW: &str =
    "INSERT INTO follows (id, account_id, target_account_id, uri, show_reblogs, notify, languages, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, target_account_id) DO NOTHING";

/// Stores a follow and counts it. Returns false (and changes nothing) when the follow
/// already existed.
pub async fn follow(db: &Db, f: &NewFollowRow) -> Result<bool> {
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let inserted = sqlx::query(INSERT_FOLLOW)
            .bind(f.id)
            .bind(f.account_id)
            .bind(f.target_account_id)
            .bind(&f.uri)
            .bind(f.show_reblogs)
            .bind(f.notify)
            .bind(&f.languages)
            .bind(f.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted > 0 {
            sqlx::query(INCREMENT_COUNTERS[0]).bind(f.account_id).execute(&mut *tx).await?;
            sqlx::query(INCREMENT_COUNTERS[1]).bind(f.target_account_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(inserted > 0)
    })
}

/// Removes a follow and uncounts it. Returns false when there was none.
pub async fn unfollow(db: &Db, account_id: i64, target_account_id: i64) -> Result<bool> {
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let deleted = sqlx::query(
            "DELETE FROM follows WHERE account_id = $1 AND target_account_id = $2",
        )
        .bind(account_id)
        .bind(target_account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if deleted > 0 {
            sqlx::query(DECREMENT_COUNTERS[0]).bind(account_id).execute(&mut *tx).await?;
            sqlx::query(DECREMENT_COUNTERS[1]).bind(target_account_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(deleted > 0)
    })
}

async fn get_pair(db: &Db, table: &str, account_id: i64, target: i64) -> Result<Option<FollowRow>> {
    let sql = format!(
        "SELECT {FOLLOW_COLUMNS} FROM {table} WHERE account_id = $1 AND target_account_id = $2"
    );
    Ok(with_pool!(db, p => sqlx::query_as::<_, FollowRow>(&sql)
        .bind(account_id)
        .bind(target)
        .fetch_optional(p)
        .await)?)
}

async fn set_options(
    db: &Db,
    table: &str,
    account_id: i64,
    target: i64,
    o: &FollowOptions,
) -> Result<()> {
    let sql = format!(
        "UPDATE {table} SET show_reblogs = $3, notify = $4, languages = $5 \
         WHERE account_id = $1 AND target_account_id = $2"
    );
    with_pool!(db, p => sqlx::query(&sql)
        .bind(account_id)
        .bind(target)
        .bind(o.show_reblogs)
        .bind(o.notify)
        .bind(&o.languages)
        .execute(p)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The follow of `account_id` to `target`, if any.
pub async fn get_follow(db: &Db, account_id: i64, target: i64) -> Result<Option<FollowRow>> {
    get_pair(db, "follows", account_id, target).await
}

pub async fn set_follow_options(
    db: &Db,
    account_id: i64,
    target: i64,
    o: &FollowOptions,
) -> Result<()> {
    set_options(db, "follows", account_id, target, o).await
}

/// Stores a pending follow request. Returns false when one already existed.
pub async fn request(db: &Db, f: &NewFollowRow) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "INSERT INTO follow_requests (id, account_id, target_account_id, uri, show_reblogs, notify, languages, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, target_account_id) DO NOTHING",
    )
    .bind(f.id)
    .bind(f.account_id)
    .bind(f.target_account_id)
    .bind(&f.uri)
    .bind(f.show_reblogs)
    .bind(f.notify)
    .bind(&f.languages)
    .bind(f.created_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// The pending request of `account_id` to follow `target`, if any.
pub async fn get_request(db: &Db, account_id: i64, target: i64) -> Result<Option<FollowRow>> {
    get_pair(db, "follow_requests", account_id, target).await
}

pub async fn set_request_options(
    db: &Db,
    account_id: i64,
    target: i64,
    o: &FollowOptions,
) -> Result<()> {
    set_options(db, "follow_requests", account_id, target, o).await
}

/// Withdraws or rejects a request. Returns false when there was none.
pub async fn delete_request(db: &Db, account_id: i64, target: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "DELETE FROM follow_requests WHERE account_id = $1 AND target_account_id = $2",
    )
    .bind(account_id)
    .bind(target)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Turns a pending request into a follow with the request's options, counted, in one
/// transaction. Returns false when there was no request (nothing changes then).
pub async fn accept_request(
    db: &Db,
    account_id: i64,
    target: i64,
    follow_id: i64,
    now: i64,
) -> Result<bool> {
    let select = format!(
        "SELECT {FOLLOW_COLUMNS} FROM follow_requests WHERE account_id = $1 AND target_account_id = $2"
    );
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let Some(req) = sqlx::query_as::<_, FollowRow>(&select)
            .bind(account_id)
            .bind(target)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(false);
        };
        // The follow keeps the request's uri (the Follow activity's id), so that a
        // later Undo or Reject naming that id still finds it.
        let uri: Option<String> =
            sqlx::query_scalar("SELECT uri FROM follow_requests WHERE id = $1")
                .bind(req.id)
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
        let deleted = sqlx::query("DELETE FROM follow_requests WHERE id = $1")
            .bind(req.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            // Withdrawn or answered by someone else in the meantime.
            return Ok(false);
        }
        let inserted = sqlx::query(INSERT_FOLLOW)
            .bind(follow_id)
            .bind(account_id)
            .bind(target)
            .bind(uri)
            .bind(req.show_reblogs)
            .bind(req.notify)
            .bind(&req.languages)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted > 0 {
            sqlx::query(INCREMENT_COUNTERS[0]).bind(account_id).execute(&mut *tx).await?;
            sqlx::query(INCREMENT_COUNTERS[1]).bind(target).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// A follow or a follow request found by its ActivityPub id (the `Follow`
/// activity's id), with the table it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowByUri {
    Follow(FollowRow),
    Request(FollowRow),
}

/// The follow or pending request whose `uri` is `uri`, if any; follows first.
pub async fn follow_by_uri(db: &Db, uri: &str) -> Result<Option<FollowByUri>> {
    for table in ["follows", "follow_requests"] {
        let sql = format!("SELECT {FOLLOW_COLUMNS} FROM {table} WHERE uri = $1 LIMIT 1");
        let row = with_pool!(db, p => sqlx::query_as::<_, FollowRow>(&sql)
            .bind(uri)
            .fetch_optional(p)
            .await)?;
        if let Some(row) = row {
            return Ok(Some(if table == "follows" {
                FollowByUri::Follow(row)
            } else {
                FollowByUri::Request(row)
            }));
        }
    }
    Ok(None)
}

/// Records the id of the latest `Follow` activity behind a follow (`requests` false)
/// or a pending request (`requests` true): a server that sends Follow again names its
/// new id in later activities.
pub async fn set_follow_uri(
    db: &Db,
    requests: bool,
    account_id: i64,
    target: i64,
    uri: &str,
) -> Result<bool> {
    let table = if requests {
        "follow_requests"
    } else {
        "follows"
    };
    let sql =
        format!("UPDATE {table} SET uri = $3 WHERE account_id = $1 AND target_account_id = $2");
    let n = with_pool!(db, p => sqlx::query(&sql)
        .bind(account_id)
        .bind(target)
        .bind(uri)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Stores a block made by a remote account, with its `Block` activity's id. Returns
/// false when it already existed (its uri is then updated).
pub async fn block_with_uri(
    db: &Db,
    id: i64,
    account_id: i64,
    target: i64,
    uri: Option<&str>,
    now: i64,
) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "INSERT INTO blocks (id, account_id, target_account_id, uri, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, target_account_id) DO NOTHING",
    )
    .bind(id)
    .bind(account_id)
    .bind(target)
    .bind(uri)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        if let Some(uri) = uri {
            with_pool!(db, p => sqlx::query(
                "UPDATE blocks SET uri = $3 WHERE account_id = $1 AND target_account_id = $2",
            )
            .bind(account_id)
            .bind(target)
            .bind(uri)
            .execute(p)
            .await
            .map(|_| ()))?;
        }
    }
    Ok(n > 0)
}

/// The (blocker, blocked) pair of the block whose `uri` is `uri`, if any.
pub async fn block_by_uri(db: &Db, uri: &str) -> Result<Option<(i64, i64)>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, (i64, i64)>(
        "SELECT account_id, target_account_id FROM blocks WHERE uri = $1 LIMIT 1",
    )
    .bind(uri)
    .fetch_optional(p)
    .await)?)
}

/// Whether any local account follows `account_id` (whether a remote account's
/// activities concern anyone here).
pub async fn has_local_followers(db: &Db, account_id: i64) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM follows f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = $1 AND a.domain IS NULL",
    )
    .bind(account_id)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// A remote account that deleted itself: it is marked suspended (which hides its
/// profile, statuses and notifications everywhere), its follows and requests both
/// ways end with their counters, and its statuses leave every home feed, in one
/// transaction. Returns false when it was suspended already.
pub async fn remove_account(db: &Db, account_id: i64, now: i64) -> Result<bool> {
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let n = sqlx::query(
            "UPDATE accounts SET suspended_at = $2 WHERE id = $1 AND suspended_at IS NULL",
        )
        .bind(account_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Each follow moves the other side's counter; its own counters go to zero.
        sqlx::query(
            "UPDATE accounts SET followers_count = CASE WHEN followers_count > 0 \
             THEN followers_count - 1 ELSE 0 END \
             WHERE id IN (SELECT target_account_id FROM follows WHERE account_id = $1)",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE accounts SET following_count = CASE WHEN following_count > 0 \
             THEN following_count - 1 ELSE 0 END \
             WHERE id IN (SELECT account_id FROM follows WHERE target_account_id = $1)",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        for sql in [
            "DELETE FROM follows WHERE account_id = $1 OR target_account_id = $1",
            "DELETE FROM follow_requests WHERE account_id = $1 OR target_account_id = $1",
            "DELETE FROM home_feed WHERE author_account_id = $1",
            "UPDATE accounts SET followers_count = 0, following_count = 0 WHERE id = $1",
        ] {
            sqlx::query(sql).bind(account_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    })
}

/// Stores a block. Returns false when it already existed.
pub async fn block(db: &Db, id: i64, account_id: i64, target: i64, now: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "INSERT INTO blocks (id, account_id, target_account_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, target_account_id) DO NOTHING",
    )
    .bind(id)
    .bind(account_id)
    .bind(target)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn unblock(db: &Db, account_id: i64, target: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "DELETE FROM blocks WHERE account_id = $1 AND target_account_id = $2",
    )
    .bind(account_id)
    .bind(target)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// True when either account blocks the other.
pub async fn blocked_either_way(db: &Db, a: i64, b: i64) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM blocks WHERE (account_id = $1 AND target_account_id = $2) \
         OR (account_id = $2 AND target_account_id = $1)",
    )
    .bind(a)
    .bind(b)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// True when `account_id` blocks `target`.
pub async fn blocks(db: &Db, account_id: i64, target: i64) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM blocks WHERE account_id = $1 AND target_account_id = $2",
    )
    .bind(account_id)
    .bind(target)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// Stores a mute, or changes an existing one's options and expiry.
pub async fn mute(
    db: &Db,
    id: i64,
    account_id: i64,
    target: i64,
    hide_notifications: bool,
    expires_at: Option<i64>,
    now: i64,
) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO mutes (id, account_id, target_account_id, hide_notifications, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (account_id, target_account_id) \
         DO UPDATE SET hide_notifications = excluded.hide_notifications, expires_at = excluded.expires_at",
    )
    .bind(id)
    .bind(account_id)
    .bind(target)
    .bind(hide_notifications)
    .bind(expires_at)
    .bind(now)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn unmute(db: &Db, account_id: i64, target: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "DELETE FROM mutes WHERE account_id = $1 AND target_account_id = $2",
    )
    .bind(account_id)
    .bind(target)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// A mute that has not expired: the condition on a `mutes` row aliased `m`, with the
/// current time bound by the caller.
const MUTE_ACTIVE: &str = "(m.expires_at IS NULL OR m.expires_at > ";

/// How one viewer relates to a set of accounts. Keys are the other accounts' ids.
#[derive(Clone, Debug, Default)]
pub struct RelationshipSets {
    /// The viewer's follows of them.
    pub following: HashMap<i64, FollowRow>,
    /// Their follows of the viewer.
    pub followed_by: HashSet<i64>,
    pub blocking: HashSet<i64>,
    pub blocked_by: HashSet<i64>,
    /// The viewer's active mutes of them, with `hide_notifications`.
    pub muting: HashMap<i64, bool>,
    /// The viewer's pending requests to follow them.
    pub requested: HashMap<i64, FollowRow>,
    /// Their pending requests to follow the viewer.
    pub requested_by: HashSet<i64>,
    /// The viewer's private notes about them.
    pub notes: HashMap<i64, String>,
}

/// Loads everything [`RelationshipSets`] holds in one query per kind of row.
pub async fn relationships(
    db: &Db,
    viewer: i64,
    ids: &[i64],
    now: i64,
) -> Result<RelationshipSets> {
    let mut out = RelationshipSets::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let pairs = |table: &str, outgoing: bool| {
        let (mine, theirs) = if outgoing {
            ("account_id", "target_account_id")
        } else {
            ("target_account_id", "account_id")
        };
        format!("SELECT {theirs} FROM {table} WHERE {mine} = ")
    };
    for (table, outgoing, set) in [
        ("follows", false, &mut out.followed_by),
        ("blocks", true, &mut out.blocking),
        ("blocks", false, &mut out.blocked_by),
        ("follow_requests", false, &mut out.requested_by),
    ] {
        let column = if outgoing {
            "target_account_id"
        } else {
            "account_id"
        };
        let base = pairs(table, outgoing);
        let found: Vec<i64> = with_pool!(db, p => {
            let mut qb = QueryBuilder::new(base);
            qb.push_bind(viewer);
            qb.push(format_args!(" AND {column} IN "));
            push_id_list(&mut qb, ids);
            qb.build_query_scalar::<i64>().fetch_all(p).await
        })?;
        set.extend(found);
    }
    for (table, map) in [
        ("follows", &mut out.following),
        ("follow_requests", &mut out.requested),
    ] {
        let base = format!("SELECT {FOLLOW_COLUMNS} FROM {table} WHERE account_id = ");
        let rows: Vec<FollowRow> = with_pool!(db, p => {
            let mut qb = QueryBuilder::new(base);
            qb.push_bind(viewer);
            qb.push(" AND target_account_id IN ");
            push_id_list(&mut qb, ids);
            qb.build_query_as::<FollowRow>().fetch_all(p).await
        })?;
        map.extend(rows.into_iter().map(|r| (r.target_account_id, r)));
    }
    let mutes: Vec<(i64, bool)> = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT m.target_account_id, m.hide_notifications FROM mutes m WHERE m.account_id = ",
        );
        qb.push_bind(viewer);
        qb.push(" AND ").push(MUTE_ACTIVE).push_bind(now).push(")");
        qb.push(" AND m.target_account_id IN ");
        push_id_list(&mut qb, ids);
        qb.build_query_as::<(i64, bool)>().fetch_all(p).await
    })?;
    out.muting.extend(mutes);
    let notes: Vec<(i64, String)> = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(
            "SELECT target_account_id, comment FROM account_notes WHERE account_id = ",
        );
        qb.push_bind(viewer);
        qb.push(" AND target_account_id IN ");
        push_id_list(&mut qb, ids);
        qb.build_query_as::<(i64, String)>().fetch_all(p).await
    })?;
    out.notes.extend(notes);
    Ok(out)
}

/// Keeps `comment` as `account_id`'s private note about `target`; an empty comment
/// deletes the note.
pub async fn set_note(
    db: &Db,
    id: i64,
    account_id: i64,
    target: i64,
    comment: &str,
    now: i64,
) -> Result<()> {
    if comment.is_empty() {
        with_pool!(db, p => sqlx::query(
            "DELETE FROM account_notes WHERE account_id = $1 AND target_account_id = $2",
        )
        .bind(account_id)
        .bind(target)
        .execute(p)
        .await
        .map(|_| ()))?;
        return Ok(());
    }
    with_pool!(db, p => sqlx::query(
        "INSERT INTO account_notes (id, account_id, target_account_id, comment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (account_id, target_account_id) \
         DO UPDATE SET comment = excluded.comment, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(account_id)
    .bind(target)
    .bind(comment)
    .bind(now)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// An account in a list, with the id of the row that put it there (the paging
/// cursor) and, for mutes, when the mute ends.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ListedAccount {
    pub cursor: i64,
    pub expires_at: Option<i64>,
    #[sqlx(flatten)]
    pub account: AccountRow,
}

/// A page of accounts joined from `table` (aliased `x`) on `join_column`, for rows
/// whose `owner_column` is `owner`; suspended accounts are left out.
async fn account_page(
    db: &Db,
    table: &str,
    join_column: &str,
    owner_column: &str,
    owner: i64,
    extra: Option<(&str, i64)>,
    page: &PageParams,
) -> Result<Vec<ListedAccount>> {
    let expires = if table == "mutes" {
        "x.expires_at"
    } else {
        "CAST(NULL AS BIGINT)"
    };
    let base = format!(
        "SELECT x.id AS cursor, {expires} AS expires_at, {} FROM {table} x \
         JOIN accounts a ON a.id = x.{join_column} {} \
         WHERE a.suspended_at IS NULL AND x.{owner_column} = ",
        crate::accounts::columns(),
        crate::accounts::JOIN_STATS,
    );
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(base);
        qb.push_bind(owner);
        if let Some((condition, value)) = extra {
            qb.push(" AND ").push(condition).push_bind(value).push(")");
        }
        page.push_sql(&mut qb, "x.id");
        qb.build_query_as::<ListedAccount>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}

/// Accounts that follow `account_id`, newest follow first.
pub async fn followers(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<ListedAccount>> {
    account_page(
        db,
        "follows",
        "account_id",
        "target_account_id",
        account_id,
        None,
        page,
    )
    .await
}

/// Accounts that `account_id` follows, newest follow first.
pub async fn following(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<ListedAccount>> {
    account_page(
        db,
        "follows",
        "target_account_id",
        "account_id",
        account_id,
        None,
        page,
    )
    .await
}

/// Accounts waiting for `account_id` to answer their follow requests, newest first.
pub async fn requests_to(
    db: &Db,
    account_id: i64,
    page: &PageParams,
) -> Result<Vec<ListedAccount>> {
    account_page(
        db,
        "follow_requests",
        "account_id",
        "target_account_id",
        account_id,
        None,
        page,
    )
    .await
}

/// Accounts `account_id` blocks, newest block first.
pub async fn blocked_by(db: &Db, account_id: i64, page: &PageParams) -> Result<Vec<ListedAccount>> {
    account_page(
        db,
        "blocks",
        "target_account_id",
        "account_id",
        account_id,
        None,
        page,
    )
    .await
}

/// Accounts `account_id` mutes (mutes that have not expired), newest mute first.
pub async fn muted_by(
    db: &Db,
    account_id: i64,
    page: &PageParams,
    now: i64,
) -> Result<Vec<ListedAccount>> {
    account_page(
        db,
        "mutes",
        "target_account_id",
        "account_id",
        account_id,
        Some(("(x.expires_at IS NULL OR x.expires_at > ", now)),
        page,
    )
    .await
}

/// A follower of one of several accounts, for "followed by people you follow".
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FamiliarFollower {
    /// The followed account.
    pub target: i64,
    #[sqlx(flatten)]
    pub account: AccountRow,
}

/// The accounts `viewer` follows that follow each of `ids`, newest follow first.
/// Accounts that hide their collections are left out: listing them would reveal
/// whom they follow.
pub async fn familiar_followers(
    db: &Db,
    viewer: i64,
    ids: &[i64],
) -> Result<Vec<FamiliarFollower>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let base = format!(
        "SELECT f2.target_account_id AS target, {} FROM follows f1 \
         JOIN follows f2 ON f2.account_id = f1.target_account_id \
         JOIN accounts a ON a.id = f2.account_id {} \
         WHERE a.suspended_at IS NULL AND a.hide_collections = FALSE AND f1.account_id = ",
        crate::accounts::columns(),
        crate::accounts::JOIN_STATS,
    );
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(base);
        qb.push_bind(viewer);
        qb.push(" AND f2.target_account_id IN ");
        push_id_list(&mut qb, ids);
        qb.push(" ORDER BY f2.id DESC");
        qb.build_query_as::<FamiliarFollower>().fetch_all(p).await
    })?;
    Ok(rows)
}

/// Which of an account's statuses a list shows. The domain layer decides who may see
/// what; this only turns the decision into SQL.
#[derive(Clone, Debug, Default)]
pub struct AccountStatusesFilter {
    pub account_id: i64,
    /// The visibilities shown; `None` shows every status (the author's own view).
    pub visibilities: Option<Vec<String>>,
    /// Also shows statuses that mention this account, whatever their visibility.
    pub mentioning: Option<i64>,
    pub pinned: bool,
    pub only_media: bool,
    /// Leaves out replies to others; replies to oneself (threads) stay.
    pub exclude_replies: bool,
    pub exclude_reblogs: bool,
    /// Only statuses with this hashtag (compared case-insensitively).
    pub tagged: Option<String>,
    /// Leaves out reblogs of accounts this viewer blocks, mutes or is blocked by.
    pub hide_reblogs_excluded_by: Option<i64>,
    pub now: i64,
}

/// A page of an account's statuses, newest first.
pub async fn account_statuses(
    db: &Db,
    f: &AccountStatusesFilter,
    page: &PageParams,
) -> Result<Vec<StatusRow>> {
    let base = format!(
        "SELECT {} FROM statuses s WHERE s.deleted_at IS NULL AND s.account_id = ",
        qualified(STATUS_COLUMNS, "s")
    );
    let rows = with_pool!(db, p => {
        let mut qb = QueryBuilder::new(base);
        qb.push_bind(f.account_id);
        if let Some(visibilities) = &f.visibilities {
            qb.push(" AND (s.visibility IN (");
            let mut sep = qb.separated(", ");
            for v in visibilities {
                sep.push_bind(v.clone());
            }
            if visibilities.is_empty() {
                sep.push("NULL");
            }
            qb.push(")");
            if let Some(viewer) = f.mentioning {
                qb.push(" OR s.id IN (SELECT status_id FROM mentions WHERE account_id = ")
                    .push_bind(viewer)
                    .push(")");
            }
            qb.push(")");
        }
        if f.pinned {
            qb.push(" AND s.id IN (SELECT status_id FROM status_pins WHERE account_id = ")
                .push_bind(f.account_id)
                .push(")");
        }
        if f.only_media {
            qb.push(" AND EXISTS (SELECT 1 FROM media_attachments m WHERE m.status_id = s.id)");
        }
        if f.exclude_replies {
            qb.push(
                " AND ((s.in_reply_to_id IS NULL AND s.in_reply_to_uri IS NULL) \
                 OR s.in_reply_to_account_id = s.account_id)",
            );
        }
        if f.exclude_reblogs {
            qb.push(" AND s.reblog_of_id IS NULL");
        }
        if let Some(tag) = &f.tagged {
            qb.push(
                " AND s.id IN (SELECT st.status_id FROM statuses_tags st JOIN tags t ON t.id = st.tag_id \
                 WHERE lower(t.name) = lower(",
            )
            .push_bind(tag.clone())
            .push("))");
        }
        if let Some(viewer) = f.hide_reblogs_excluded_by {
            qb.push(
                " AND (s.reblog_of_id IS NULL OR NOT EXISTS (SELECT 1 FROM statuses o \
                 WHERE o.id = s.reblog_of_id AND (o.account_id IN \
                 (SELECT target_account_id FROM blocks WHERE account_id = ",
            )
            .push_bind(viewer)
            .push(") OR o.account_id IN (SELECT account_id FROM blocks WHERE target_account_id = ")
            .push_bind(viewer)
            .push(") OR o.account_id IN (SELECT m.target_account_id FROM mutes m WHERE m.account_id = ")
            .push_bind(viewer)
            .push(" AND ")
            .push(MUTE_ACTIVE)
            .push_bind(f.now)
            .push(")))))");
        }
        page.push_sql(&mut qb, "s.id");
        qb.build_query_as::<StatusRow>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}
