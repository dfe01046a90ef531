//! Seeding a database before the server starts: the real schema (fulmar-store's
//! migrations), written directly in big transactions of multi-row inserts, with the
//! durability a bulk load can do without (`synchronous = OFF` on SQLite,
//! `synchronous_commit = off` on PostgreSQL) on the seeding connection only.
//!
//! Rows look like what Fulmar itself writes: remote accounts with their inboxes,
//! keys marked as freshly fetched (so the server trusts them without fetching), and
//! home-feed rows for every status of a followed account, as fan-out would have
//! written them.

use std::ops::Range;

use anyhow::Result;
use fulmar_store::{with_pool, Backend, Db};

/// Rows per INSERT statement: under SQLite's 32,766 bound parameters for the widest
/// row written here.
const ROWS_PER_STATEMENT: usize = 2_000;
/// Rows per transaction.
const ROWS_PER_TRANSACTION: usize = 100_000;

/// The current time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A snowflake id like Fulmar's (milliseconds << 16 | sequence), `days` days in the
/// past plus `offset_ms`, so that seeded ids sort before everything the server makes.
pub fn past_id(days: i64, offset_ms: i64, sequence: i64) -> i64 {
    let ms = now_ms() - days * 24 * 60 * 60 * 1000 + offset_ms;
    (ms << 16) | (sequence & 0xffff)
}

/// The statement that relaxes durability on the seeding connection.
fn bulk_setting(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Sqlite => "PRAGMA synchronous = OFF",
        Backend::Postgres => "SET synchronous_commit = off",
    }
}

/// A remote account to seed.
pub struct RemoteAccount {
    pub id: i64,
    pub username: String,
    pub domain: String,
    pub uri: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
}

/// Remote accounts `range`, named `{prefix}{i}` on host `{prefix}{i % hosts}.bench.test`,
/// with `inbox(i)` as their (shared) inbox.
pub fn remote_accounts(
    prefix: &str,
    range: Range<usize>,
    hosts: usize,
    id_day: i64,
    inbox: impl Fn(usize, &str) -> (String, Option<String>),
) -> Vec<RemoteAccount> {
    range
        .map(|i| {
            let domain = format!("{prefix}{}.bench.test", i % hosts.max(1));
            let username = format!("{prefix}{i}");
            let uri = format!("http://{domain}/users/{username}");
            let (inbox, shared_inbox) = inbox(i, &uri);
            RemoteAccount {
                id: past_id(id_day, i as i64, 7),
                username,
                domain,
                uri,
                inbox,
                shared_inbox,
            }
        })
        .collect()
}

/// Writes accounts.
pub async fn insert_accounts(db: &Db, accounts: &[RemoteAccount]) -> Result<()> {
    let now = now_ms();
    let setting = bulk_setting(db);
    with_pool!(db, p => {
        let mut conn = p.acquire().await?;
        sqlx::query(setting).execute(&mut *conn).await?;
        for tx_chunk in accounts.chunks(ROWS_PER_TRANSACTION) {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            for chunk in tx_chunk.chunks(ROWS_PER_STATEMENT) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO accounts (id, username, domain, uri, url, inbox_url, \
                     shared_inbox_url, followers_url, created_at, updated_at, fetched_at) ",
                );
                qb.push_values(chunk, |mut b, a| {
                    b.push_bind(a.id)
                        .push_bind(a.username.clone())
                        .push_bind(a.domain.clone())
                        .push_bind(a.uri.clone())
                        .push_bind(format!("http://{}/@{}", a.domain, a.username))
                        .push_bind(a.inbox.clone())
                        .push_bind(a.shared_inbox.clone())
                        .push_bind(format!("{}/followers", a.uri))
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(now);
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// Writes each account's public key as if it had just been fetched: `pems[i % len]`
/// (a few distinct keys serve many actors; verifying costs the same).
pub async fn insert_keys(db: &Db, accounts: &[RemoteAccount], pems: &[String]) -> Result<()> {
    let now = now_ms();
    let setting = bulk_setting(db);
    with_pool!(db, p => {
        let mut conn = p.acquire().await?;
        sqlx::query(setting).execute(&mut *conn).await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for (n, chunk) in accounts.chunks(ROWS_PER_STATEMENT).enumerate() {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO account_keys (id, account_id, key_id, owner_uri, public_key_pem, \
                 created_at, fetched_at) ",
            );
            qb.push_values(chunk.iter().enumerate(), |mut b, (i, a)| {
                let k = n * ROWS_PER_STATEMENT + i;
                b.push_bind(a.id)
                    .push_bind(a.id)
                    .push_bind(format!("{}#main-key", a.uri))
                    .push_bind(a.uri.clone())
                    .push_bind(pems[k % pems.len()].clone())
                    .push_bind(now)
                    .push_bind(now);
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// Writes follows `(follower, followed)`.
pub async fn insert_follows(db: &Db, pairs: &[(i64, i64)], id_day: i64) -> Result<()> {
    let now = now_ms();
    let setting = bulk_setting(db);
    with_pool!(db, p => {
        let mut conn = p.acquire().await?;
        sqlx::query(setting).execute(&mut *conn).await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for (n, chunk) in pairs.chunks(ROWS_PER_STATEMENT).enumerate() {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO follows (id, account_id, target_account_id, created_at) ",
            );
            qb.push_values(chunk.iter().enumerate(), |mut b, (i, (from, to))| {
                b.push_bind(past_id(id_day, (n * ROWS_PER_STATEMENT + i) as i64, 9))
                    .push_bind(*from)
                    .push_bind(*to)
                    .push_bind(now);
            });
            qb.build().execute(&mut *tx).await?;
        }
        // The counters the API shows, as the follow service keeps them.
        sqlx::query(
            "UPDATE accounts SET followers_count = (SELECT COUNT(*) FROM follows f \
             WHERE f.target_account_id = accounts.id), \
             following_count = (SELECT COUNT(*) FROM follows f WHERE f.account_id = accounts.id) \
             WHERE id IN (SELECT account_id FROM follows) \
             OR id IN (SELECT target_account_id FROM follows)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// The secondary indexes of `table` that a bulk load may drop and build again
/// afterwards: every index with its own `CREATE INDEX` statement, not those that back
/// a primary key or a constraint. Returns each index's name and that statement.
async fn droppable_indexes(db: &Db, table: &str) -> Result<Vec<(String, String)>> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT name, sql FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL"
        }
        Backend::Postgres => {
            "SELECT i.relname::text, pg_get_indexdef(x.indexrelid) FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             WHERE x.indrelid = $1::text::regclass \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
        }
    };
    let rows: Vec<(String, String)> = with_pool!(db, p => sqlx::query_as(sql)
        .bind(table)
        .fetch_all(p)
        .await)?;
    Ok(rows)
}

/// Writes `count` public statuses, status `j` by `authors[j % len]`, oldest first,
/// with ids in the past `id_day` days.
///
/// The statuses table has a dozen secondary indexes (the unique `uri` among them), and
/// keeping each up to date row by row, in the random order of their keys, costs far
/// more than the rows themselves. So they are dropped for the load and built again
/// afterwards from the finished table, which sorts each key once: the schema the
/// server then opens is exactly the migrated one.
pub async fn insert_statuses(
    db: &Db,
    authors: &[RemoteAccount],
    count: usize,
    id_day: i64,
) -> Result<()> {
    let setting = bulk_setting(db);
    let base = now_ms() - id_day * 24 * 60 * 60 * 1000;
    let indexes = droppable_indexes(db, "statuses").await?;
    let started = std::time::Instant::now();
    with_pool!(db, p => {
        let mut conn = p.acquire().await?;
        sqlx::query(setting).execute(&mut *conn).await?;
        for (name, _) in &indexes {
            sqlx::query(&format!("DROP INDEX \"{name}\"")).execute(&mut *conn).await?;
        }
        let mut start = 0usize;
        while start < count {
            let end = (start + ROWS_PER_TRANSACTION).min(count);
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let mut s = start;
            while s < end {
                let e = (s + ROWS_PER_STATEMENT).min(end);
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO statuses (id, uri, url, account_id, content, visibility, local, \
                     created_at, updated_at) ",
                );
                qb.push_values(s..e, |mut b, j| {
                    let author = &authors[j % authors.len()];
                    let created = base + j as i64;
                    b.push_bind((created << 16) | 1)
                        .push_bind(format!("{}/statuses/{j}", author.uri))
                        .push_bind(format!("http://{}/@{}/{j}", author.domain, author.username))
                        .push_bind(author.id)
                        .push_bind(format!(
                            "<p>Status number {j} of the benchmark, about as long as a short post \
                             usually is, with a <a href=\"http://{}/\">link</a>.</p>",
                            author.domain
                        ))
                        .push_bind("public")
                        .push_bind(false)
                        .push_bind(created)
                        .push_bind(created);
                });
                qb.build().execute(&mut *tx).await?;
                s = e;
            }
            tx.commit().await?;
            start = end;
        }
        let loaded = started.elapsed();
        for (_, create) in &indexes {
            sqlx::query(create).execute(&mut *conn).await?;
        }
        eprintln!(
            "  statuses: rows in {:.1} s, {} indexes built in {:.1} s",
            loaded.as_secs_f64(),
            indexes.len(),
            (started.elapsed() - loaded).as_secs_f64()
        );
        // Each author's count and latest time, which the API shows with every status,
        // in one pass over the statuses.
        sqlx::query(
            "INSERT INTO account_stats (account_id, statuses_count, last_status_at) \
             SELECT s.account_id, COUNT(*), MAX(s.created_at) \
             FROM statuses s JOIN accounts a ON a.id = s.account_id \
             WHERE a.domain IS NOT NULL GROUP BY s.account_id",
        )
        .execute(&mut *conn)
        .await?;
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

/// Puts every status of the accounts `reader` follows into `reader`'s home feed, as
/// fan-out on write would have; returns the rows written.
pub async fn fill_home_feed(db: &Db, reader: i64) -> Result<u64> {
    let rows = with_pool!(db, p => sqlx::query(
        "INSERT INTO home_feed (account_id, status_id, author_account_id) \
         SELECT $1, s.id, s.account_id FROM statuses s \
         JOIN follows f ON f.target_account_id = s.account_id AND f.account_id = $1 \
         WHERE TRUE ON CONFLICT (account_id, status_id) DO NOTHING")
        .bind(reader)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(rows)
}

/// Gathers the planner's statistics after a bulk load, on PostgreSQL. A live server's
/// tables grow gradually and autovacuum analyzes them as they do (within a minute of a
/// big change), so its planner knows that the feed is small and the statuses table is
/// big; right after a bulk load it knows nothing yet and may plan a scan of the whole
/// statuses table for every page. SQLite's planner works without statistics, and
/// Fulmar never gathers them there, so neither does the seeding.
pub async fn analyze(db: &Db) -> Result<()> {
    if let Db::Postgres(p) = db {
        sqlx::query("ANALYZE").execute(p).await?;
    }
    Ok(())
}

/// The id of a local account.
pub async fn local_account_id(db: &Db, username: &str) -> Result<i64> {
    let account = fulmar_store::accounts::local_by_username(db, username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no local account {username}"))?;
    Ok(account.id)
}

/// Rows in a home feed.
pub async fn home_feed_len(db: &Db, reader: i64) -> Result<i64> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM home_feed WHERE account_id = $1")
        .bind(reader)
        .fetch_one(p)
        .await)?;
    Ok(n)
}

/// Jobs of `queue` still in the queue (not done, not dead).
pub async fn queued(db: &Db, queue: &str) -> Result<i64> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE queue = $1 AND dead_at IS NULL")
        .bind(queue)
        .fetch_one(p)
        .await)?;
    Ok(n)
}
