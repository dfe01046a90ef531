//! What accounts do with statuses: publishing with mentions and tags, edits,
//! deletion, favourites, bookmarks, pins, reblogs, threads, and the idempotency keys
//! that make posting safe to retry.
//!
//! Every change that touches a counter (`statuses_count`, `replies_count`,
//! `reblogs_count`, `favourites_count`) runs in one transaction with the row it
//! counts, so that counters never drift from the rows.

use crate::accounts::AccountRow;
use crate::read::SqlBuilder;
use crate::statuses::{NewStatus, StatusRow, COLUMNS as STATUS_COLUMNS};
use crate::WritePool as _;
use crate::{with_pool, Db, PageParams, Result, StoreError};

/// The status columns prefixed with `s.`, for joins.
fn status_columns_s() -> String {
    STATUS_COLUMNS
        .split(',')
        .map(|c| format!("s.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A mention to store with a new status.
#[derive(Clone, Debug)]
pub struct NewMention {
    pub id: i64,
    pub account_id: i64,
}

/// A hashtag to attach to a status; the tag row is created on first use (`id` is
/// used only then).
#[derive(Clone, Debug)]
pub struct NewTag {
    pub id: i64,
    /// Normalised (lower-case) name, unique.
    pub name: String,
    /// The name as first typed.
    pub display_name: String,
}

/// A new status with everything that comes with it.
#[derive(Clone, Debug)]
pub struct Publish<'a> {
    pub status: &'a NewStatus,
    pub mentions: &'a [NewMention],
    pub tags: &'a [NewTag],
    /// Counts in the author's `statuses_count` and `last_status_at` (Mastodon does
    /// not count direct messages).
    pub counts_for_author: bool,
    /// Counts in the parent's `replies_count` (Mastodon counts public and unlisted
    /// replies only).
    pub counts_as_reply: bool,
}

/// Counts a status out of its author's counters (`account_stats`, migration 0012). An
/// author without a stats row has nothing to count out. The version is bumped here
/// as well as by the trigger, so that SQLite's trigger (which only acts on an UPDATE
/// that left the version alone) has nothing to do.
const DECREMENT_STATUSES_COUNT: &str = "UPDATE account_stats SET statuses_count = \
    CASE WHEN statuses_count > 0 THEN statuses_count - 1 ELSE 0 END, version = version + 1 \
    WHERE account_id = $1";

/// Counts a new status in its author's counters: the first one inserts the
/// account's stats row. Only this narrow row is written, never `accounts`, so that
/// posting does not rewrite the account's wide row (see migration 0012).
const INCREMENT_STATUSES_COUNT: &str = "INSERT INTO account_stats \
    (account_id, statuses_count, last_status_at, version) VALUES ($1, 1, $2, 1) \
    ON CONFLICT (account_id) DO UPDATE SET statuses_count = account_stats.statuses_count + 1, \
    last_status_at = $2, version = account_stats.version + 1";

/// Inserts a reblog (`status.reblog_of_id` set): no mentions or tags, counted for
/// its author like any status. A second reblog of the same status by the same
/// account fails with [`StoreError::Conflict`].
pub async fn publish_reblog(db: &Db, status: &NewStatus) -> Result<()> {
    publish(
        db,
        &Publish {
            status,
            mentions: &[],
            tags: &[],
            counts_for_author: true,
            counts_as_reply: false,
        },
    )
    .await
}

/// Inserts a status (a post, reply or reblog) with its mentions and tags, and
/// updates the counters it affects, in one transaction. A second reblog of the same
/// status by the same account fails with [`StoreError::Conflict`].
pub async fn publish(db: &Db, p: &Publish<'_>) -> Result<()> {
    publish_with(db, p, &[], None).await
}

/// [`publish`] with what only remote statuses bring along: their media attachments
/// and poll, stored in the same transaction, so that the status is never seen without
/// them.
pub async fn publish_with(
    db: &Db,
    p: &Publish<'_>,
    media: &[crate::remote::NewMedia],
    poll: Option<&crate::remote::RemotePoll>,
) -> Result<()> {
    publish_all(db, p, media, poll, None, None)
        .await
        .map(|_| ())
}

/// Who may quote a new local status, and what it quotes (FEP-044f).
#[derive(Clone, Debug)]
pub struct QuoteColumns<'a> {
    /// `public`, `followers` or `nobody`.
    pub policy: &'a str,
    /// The quoted status, the quote's state, and the id of the QuoteRequest to send.
    pub quote: Option<(i64, &'a str, Option<&'a str>)>,
}

/// [`publish`] of a new local post with its quote columns, the job that announces it
/// (`outbox`) and its home-feed rows (`timelines::fan_out`), in one transaction: a
/// post is one commit, the outbox worker (which may build the `Note` as soon as the
/// status exists) never sees it without its quote or its quote policy, and neither
/// the job nor the feed rows can exist without the status (or the status without
/// them).
///
/// The job is stored only when the post has someone to go to on another server (see
/// [`outbox_job_insert`]); returns whether it was, so that the caller wakes the
/// worker only then.
pub async fn publish_local(
    db: &Db,
    p: &Publish<'_>,
    q: &QuoteColumns<'_>,
    outbox: &crate::jobs::NewJob,
) -> Result<bool> {
    publish_all(db, p, &[], None, Some(q), Some(outbox)).await
}

/// Adds the hashtags `$tags` (`&[NewTag]`) to a status inside a transaction `$tx`,
/// creating those that do not exist yet; shared by posting (one post or a group) and
/// editing.
macro_rules! insert_tags {
    ($tx:expr, $status_id:expr, $tags:expr, $now:expr) => {{
        let tags: &[NewTag] = $tags;
        for t in tags {
            sqlx::query(
                "INSERT INTO tags (id, name, display_name, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(t.id)
            .bind(&t.name)
            .bind(&t.display_name)
            .bind($now)
            .execute($tx)
            .await?;
            let tag_id: i64 = sqlx::query_scalar("SELECT id FROM tags WHERE name = $1")
                .bind(&t.name)
                .fetch_one($tx)
                .await?;
            sqlx::query(
                "INSERT INTO statuses_tags (status_id, tag_id) VALUES ($1, $2) \
                 ON CONFLICT (tag_id, status_id) DO NOTHING",
            )
            .bind($status_id)
            .bind(tag_id)
            .execute($tx)
            .await?;
        }
    }};
}

/// The INSERT that stores the job announcing a new local post ($1 to $7: the job's
/// columns, $8: the status, $9: its author unless `direct`) only when someone on
/// another server is to receive it: the outbox sends a post to the shared (or personal) inboxes of
/// its author's remote followers (not for a direct message) and of the remote
/// accounts it mentions, and to nobody else. Most posts on a small server have no
/// such audience, and for them the job would be three writes (insert, claim,
/// delete) and about ten queries in the worker only to find that out. The test is
/// part of the INSERT, so it costs no round trip, and it runs in the post's
/// transaction, so it sees the same followers the post's feed rows go to. A follower
/// from another server who is accepted after this commit does not get the post, as
/// would have been the case had the worker run at once.
fn outbox_job_insert(direct: bool) -> &'static str {
    static SQL: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    let [mentioned, followed] = SQL.get_or_init(|| {
        let insert = "INSERT INTO jobs \
            (id, queue, concurrency_key, payload, attempts, max_attempts, run_at, created_at) \
            SELECT $1, $2, $3, $4, 0, $5, $6, $7 WHERE ";
        let mentions = mentions_remote_account("$8");
        [
            format!("{insert}{mentions}"),
            format!("{insert}({mentions} OR {})", followed_remotely("$9")),
        ]
    });
    if direct {
        mentioned
    } else {
        followed
    }
}

/// The SQL test "the status `status` mentions an account of another server", half of
/// the remote audience of a new post ([`outbox_job_insert`]).
fn mentions_remote_account(status: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM mentions m JOIN accounts a ON a.id = m.account_id \
         WHERE m.status_id = {status} AND a.domain IS NOT NULL)"
    )
}

/// The SQL test "the account `author` has a follower on another server with an
/// inbox", the other half.
fn followed_remotely(author: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM follows f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = {author} AND a.domain IS NOT NULL \
         AND COALESCE(a.shared_inbox_url, a.inbox_url) IS NOT NULL)"
    )
}

async fn publish_all(
    db: &Db,
    p: &Publish<'_>,
    media: &[crate::remote::NewMedia],
    poll: Option<&crate::remote::RemotePoll>,
    quote: Option<&QuoteColumns<'_>>,
    outbox: Option<&crate::jobs::NewJob>,
) -> Result<bool> {
    let s = p.status;
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let values = quote.map(|q| {
            let (quote_of_id, state, request_uri) = match q.quote {
                Some((id, state, request)) => (Some(id), Some(state), request),
                None => (None, None, None),
            };
            crate::statuses::QuoteValues {
                policy: q.policy,
                quote_of_id,
                state,
                request_uri,
            }
        });
        crate::statuses::insert_with(&mut *tx, s, values.as_ref()).await?;
        if let Some(crate::statuses::QuoteValues {
            quote_of_id: Some(quoted),
            state: Some("accepted"),
            ..
        }) = &values
        {
            sqlx::query("UPDATE statuses SET quotes_count = quotes_count + 1 WHERE id = $1")
                .bind(*quoted)
                .execute(&mut *tx)
                .await?;
        }
        for m in p.mentions {
            sqlx::query(
                "INSERT INTO mentions (id, status_id, account_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (status_id, account_id) DO NOTHING",
            )
            .bind(m.id)
            .bind(s.id)
            .bind(m.account_id)
            .execute(&mut *tx)
            .await?;
        }
        insert_tags!(&mut *tx, s.id, p.tags, s.created_at);
        if let (true, Some(parent)) = (p.counts_as_reply, s.in_reply_to_id) {
            sqlx::query("UPDATE statuses SET replies_count = replies_count + 1 WHERE id = $1")
                .bind(parent)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(original) = s.reblog_of_id {
            sqlx::query("UPDATE statuses SET reblogs_count = reblogs_count + 1 WHERE id = $1")
                .bind(original)
                .execute(&mut *tx)
                .await?;
        }
        crate::remote::insert_media!(&mut *tx, s.id, s.account_id, media, s.created_at);
        if let Some(poll) = poll {
            crate::remote::insert_poll!(&mut *tx, s.id, poll, s.created_at);
        }
        let mut queued = false;
        if let Some(job) = outbox {
            // After the mentions, which it reads.
            let direct = s.visibility == "direct";
            let mut insert = sqlx::query(outbox_job_insert(direct))
                .bind(job.id)
                .bind(&job.queue)
                .bind(&job.concurrency_key)
                .bind(&job.payload)
                .bind(job.max_attempts)
                .bind(job.run_at)
                .bind(job.created_at)
                .bind(s.id);
            if !direct {
                insert = insert.bind(s.account_id);
            }
            queued = insert.execute(&mut *tx).await?.rows_affected() > 0;
            // Last, since it reads the mentions inserted above.
            crate::timelines::fan_out_with(&mut *tx, s.id, s.account_id, &s.visibility)
                .await?;
        }
        // The author's counters last, just before the commit. Every post by one
        // account updates that account's one `account_stats` row, and on PostgreSQL
        // the row lock the UPDATE takes is held until the commit: concurrent posts by
        // the same author queue on it one at a time. Taken earlier, the lock would
        // also be held across the feed fan-out; taken here, it covers only this
        // statement and the commit.
        if p.counts_for_author {
            sqlx::query(INCREMENT_STATUSES_COUNT)
            .bind(s.account_id)
            .bind(s.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok::<bool, StoreError>(queued)
    })
}

/// A new local post as [`publish_local_group`] takes it: everything [`publish_local`]
/// takes, owned, so that it can be handed to the task that commits posts in groups
/// (`core::post_commits`).
#[derive(Clone, Debug)]
pub struct LocalPost {
    pub status: NewStatus,
    pub mentions: Vec<NewMention>,
    pub tags: Vec<NewTag>,
    /// As in [`Publish`].
    pub counts_for_author: bool,
    /// As in [`Publish`].
    pub counts_as_reply: bool,
    /// As in [`QuoteColumns`].
    pub quote_policy: String,
    /// As in [`QuoteColumns`].
    pub quote: Option<(i64, String, Option<String>)>,
    /// The job that announces the post, stored only when it has a remote audience.
    pub outbox: crate::jobs::NewJob,
}

/// Rows per multi-row statement of [`publish_local_group`]: the status INSERT binds 23
/// parameters a row, far below either database's limit at this size.
const POSTS_PER_STATEMENT: usize = 200;

/// Stores local posts as [`publish_local`] stores one, all in one transaction (the
/// group commit of `core::post_commits`); returns whether any outbox job was stored.
/// The caller reads the rows back after the commit
/// (`statuses::by_ids_with_author_stats`), since the triggers of migration 0013 set
/// their versions.
///
/// What every post needs is written with one statement for the whole group: the
/// status rows, their mentions, their outbox jobs (each with the test of
/// [`outbox_job_insert`]) and their home-feed rows; each author's `account_stats`
/// row is updated once, by the number of posts that count for them. What few posts
/// need (hashtags, a reply's or a quote's counter) is written per post. Either the
/// whole group is stored or, on an error, nothing of it: the caller then stores the
/// posts one by one ([`publish_local_one`]), so that a bad post fails alone.
pub async fn publish_local_group(db: &Db, posts: &[LocalPost]) -> Result<bool> {
    if posts.is_empty() {
        return Ok(false);
    }
    publish_group(db, posts).await
}

/// [`publish_local`] of one [`LocalPost`]; returns whether its outbox job was stored,
/// and the stored row with its author's counters (read after the commit).
pub async fn publish_local_one(
    db: &Db,
    p: &LocalPost,
) -> Result<(bool, crate::statuses::StatusWithAuthorStats)> {
    let queued = publish_local(
        db,
        &Publish {
            status: &p.status,
            mentions: &p.mentions,
            tags: &p.tags,
            counts_for_author: p.counts_for_author,
            counts_as_reply: p.counts_as_reply,
        },
        &QuoteColumns {
            policy: &p.quote_policy,
            quote: p
                .quote
                .as_ref()
                .map(|(id, state, request)| (*id, state.as_str(), request.as_deref())),
        },
        &p.outbox,
    )
    .await?;
    let row = crate::statuses::by_ids_with_author_stats(db, &[p.status.id])
        .await?
        .pop()
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
    Ok((queued, row))
}

/// The one transaction of [`publish_local_group`].
async fn publish_group(db: &Db, posts: &[LocalPost]) -> Result<bool> {
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for chunk in posts.chunks(POSTS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO statuses (id, uri, url, account_id, in_reply_to_id, \
                 in_reply_to_account_id, in_reply_to_uri, reblog_of_id, content, text, \
                 spoiler_text, sensitive, visibility, language, context_uri, local, \
                 application_id, created_at, updated_at, quote_policy, quote_of_id, \
                 quote_state, quote_request_uri) ",
            );
            q.push_values(chunk, |mut b, p| {
                let s = &p.status;
                let (quote_of_id, state, request) = match &p.quote {
                    Some((id, state, request)) => (Some(*id), Some(state.clone()), request.clone()),
                    None => (None, None, None),
                };
                b.push_bind(s.id)
                    .push_bind(s.uri.clone())
                    .push_bind(s.url.clone())
                    .push_bind(s.account_id)
                    .push_bind(s.in_reply_to_id)
                    .push_bind(s.in_reply_to_account_id)
                    .push_bind(s.in_reply_to_uri.clone())
                    .push_bind(s.reblog_of_id)
                    .push_bind(s.content.clone())
                    .push_bind(s.text.clone())
                    .push_bind(s.spoiler_text.clone())
                    .push_bind(s.sensitive)
                    .push_bind(s.visibility.clone())
                    .push_bind(s.language.clone())
                    .push_bind(s.context_uri.clone())
                    .push_bind(s.local)
                    .push_bind(s.application_id)
                    .push_bind(s.created_at)
                    .push_bind(s.created_at)
                    .push_bind(p.quote_policy.clone())
                    .push_bind(quote_of_id)
                    .push_bind(state)
                    .push_bind(request);
            });
            q.build().execute(&mut *tx).await?;
        }
        for p in posts {
            if let Some((quoted, state, _)) = &p.quote {
                if state == "accepted" {
                    sqlx::query("UPDATE statuses SET quotes_count = quotes_count + 1 WHERE id = $1")
                        .bind(*quoted)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if let (true, Some(parent)) = (p.counts_as_reply, p.status.in_reply_to_id) {
                sqlx::query("UPDATE statuses SET replies_count = replies_count + 1 WHERE id = $1")
                    .bind(parent)
                    .execute(&mut *tx)
                    .await?;
            }
            insert_tags!(&mut *tx, p.status.id, &p.tags, p.status.created_at);
        }
        let mentions: Vec<(i64, &NewMention)> = posts
            .iter()
            .flat_map(|p| p.mentions.iter().map(move |m| (p.status.id, m)))
            .collect();
        for chunk in mentions.chunks(POSTS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO mentions (id, status_id, account_id) ");
            q.push_values(chunk, |mut b, (status_id, m)| {
                b.push_bind(m.id).push_bind(*status_id).push_bind(m.account_id);
            });
            q.push(" ON CONFLICT (status_id, account_id) DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }
        // The outbox jobs after the mentions, which their test reads (see
        // `outbox_job_insert`: the same test, with the status and the author, or NULL
        // for a direct message, as the last two columns of each row).
        let mut queued = false;
        for chunk in posts.chunks(POSTS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO jobs \
                 (id, queue, concurrency_key, payload, attempts, max_attempts, run_at, created_at) \
                 SELECT v.column1, v.column2, v.column3, v.column4, 0, v.column5, v.column6, \
                 v.column7 FROM (",
            );
            q.push_values(chunk, |mut b, p| {
                let job = &p.outbox;
                let author = (p.status.visibility != "direct").then_some(p.status.account_id);
                b.push_bind(job.id)
                    .push_bind(job.queue.clone())
                    .push_bind(job.concurrency_key.clone())
                    .push_bind(job.payload.clone())
                    .push_bind(job.max_attempts)
                    .push_bind(job.run_at)
                    .push_bind(job.created_at)
                    .push_bind(p.status.id)
                    .push_bind(author);
            });
            q.push(format_args!(
                ") v WHERE {} OR (v.column9 IS NOT NULL AND {})",
                mentions_remote_account("v.column8"),
                followed_remotely("v.column9"),
            ));
            queued |= q.build().execute(&mut *tx).await?.rows_affected() > 0;
        }
        // Last among the rows, since it reads the statuses and mentions inserted above.
        let ids: Vec<i64> = posts.iter().map(|p| p.status.id).collect();
        for chunk in ids.chunks(POSTS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new("");
            crate::timelines::push_fan_out_many(&mut q, chunk);
            q.build().execute(&mut *tx).await?;
        }
        // The authors' counters just before the commit, as in `publish_all`.
        let authors = author_counts(
            posts
                .iter()
                .filter(|p| p.counts_for_author)
                .map(|p| (p.status.account_id, p.status.created_at)),
        );
        for chunk in authors.chunks(POSTS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::new("");
            push_author_counts(&mut q, chunk);
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<bool, StoreError>(queued)
    })
}

/// The authors of a group of new statuses, each once, in account order, with how
/// many of them it wrote and the newest one's time: `statuses` is `(author,
/// created_at)` of those that count for their author (not direct messages).
pub(crate) fn author_counts(
    statuses: impl IntoIterator<Item = (i64, i64)>,
) -> Vec<(i64, i64, i64)> {
    let mut per_author: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for (author, created_at) in statuses {
        let e = per_author.entry(author).or_insert((0, i64::MIN));
        e.0 += 1;
        e.1 = e.1.max(created_at);
    }
    per_author
        .into_iter()
        .map(|(author, (n, last))| (author, n, last))
        .collect()
}

/// Writes into `q` the one upsert that adds [`author_counts`] to the authors'
/// `account_stats` rows (an author's first status inserts its row). Rows in account
/// order, so that two transactions never take these row locks in opposite orders
/// (PostgreSQL).
pub(crate) fn push_author_counts(q: &mut impl SqlBuilder, authors: &[(i64, i64, i64)]) {
    q.push(
        "INSERT INTO account_stats (account_id, statuses_count, last_status_at, version) VALUES ",
    );
    for (i, (author, n, last)) in authors.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(")
            .push_bind_int(*author)
            .push(", ")
            .push_bind_int(*n)
            .push(", ")
            .push_bind_int(*last)
            .push(", 1)");
    }
    q.push(
        " ON CONFLICT (account_id) DO UPDATE SET \
         statuses_count = account_stats.statuses_count + excluded.statuses_count, \
         last_status_at = excluded.last_status_at, \
         version = account_stats.version + 1",
    );
}

/// Replaces the hashtags of a status (after an edit).
pub async fn set_tags(db: &Db, status_id: i64, tags: &[NewTag], now: i64) -> Result<()> {
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM statuses_tags WHERE status_id = $1")
            .bind(status_id)
            .execute(&mut *tx)
            .await?;
        insert_tags!(&mut *tx, status_id, tags, now);
        tx.commit().await?;
        Ok::<(), StoreError>(())
    })
}

/// Adds mentions to an existing status (after an edit); returns the accounts that
/// were not mentioned before.
pub async fn add_mentions(db: &Db, status_id: i64, mentions: &[NewMention]) -> Result<Vec<i64>> {
    let mut added = Vec::new();
    for m in mentions {
        let n = with_pool!(db, p => sqlx::query(
            "INSERT INTO mentions (id, status_id, account_id) VALUES ($1, $2, $3) \
             ON CONFLICT (status_id, account_id) DO NOTHING",
        )
        .bind(m.id)
        .bind(status_id)
        .bind(m.account_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        if n > 0 {
            added.push(m.account_id);
        }
    }
    Ok(added)
}

// ---------------------------------------------------------------------------------
// Edits
// ---------------------------------------------------------------------------------

/// One version of an edited status.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EditRow {
    pub id: i64,
    pub status_id: i64,
    pub account_id: i64,
    pub content: String,
    pub text: Option<String>,
    pub spoiler_text: String,
    pub sensitive: bool,
    /// JSON: the attachments this version showed (see [`NewEdit::media`]).
    pub media: String,
    /// JSON: the poll options this version showed, when it had a poll.
    pub poll_options: Option<String>,
    pub created_at: i64,
}

/// A version to record in `status_edits`.
#[derive(Clone, Debug)]
pub struct NewEdit {
    pub id: i64,
    pub account_id: i64,
    pub content: String,
    pub text: Option<String>,
    pub spoiler_text: String,
    pub sensitive: bool,
    /// JSON array of the attachments as they were (the caller's snapshot; `[]`).
    pub media: String,
    /// JSON array of the poll option titles, when the version had a poll.
    pub poll_options: Option<String>,
    pub created_at: i64,
}

/// The new content of an edited status.
#[derive(Clone, Debug)]
pub struct StatusUpdate {
    pub content: String,
    pub text: Option<String>,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub edited_at: i64,
}

/// Applies an edit and records versions (oldest first) in one transaction.
pub async fn apply_edit(
    db: &Db,
    status_id: i64,
    update: &StatusUpdate,
    versions: &[NewEdit],
) -> Result<()> {
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "UPDATE statuses SET content = $2, text = $3, spoiler_text = $4, sensitive = $5, \
             language = $6, edited_at = $7, updated_at = $7 WHERE id = $1",
        )
        .bind(status_id)
        .bind(&update.content)
        .bind(&update.text)
        .bind(&update.spoiler_text)
        .bind(update.sensitive)
        .bind(&update.language)
        .bind(update.edited_at)
        .execute(&mut *tx)
        .await?;
        for v in versions {
            sqlx::query(
                "INSERT INTO status_edits (id, status_id, account_id, content, text, spoiler_text, \
                 sensitive, media, poll_options, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(v.id)
            .bind(status_id)
            .bind(v.account_id)
            .bind(&v.content)
            .bind(&v.text)
            .bind(&v.spoiler_text)
            .bind(v.sensitive)
            .bind(&v.media)
            .bind(&v.poll_options)
            .bind(v.created_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok::<(), StoreError>(())
    })
}

/// Every recorded version of a status, oldest first.
pub async fn edits_of(db: &Db, status_id: i64) -> Result<Vec<EditRow>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, EditRow>(
        "SELECT id, status_id, account_id, content, text, spoiler_text, sensitive, media, \
         poll_options, created_at FROM status_edits WHERE status_id = $1 ORDER BY id",
    )
    .bind(status_id)
    .fetch_all(p)
    .await)?)
}

// ---------------------------------------------------------------------------------
// Deletion
// ---------------------------------------------------------------------------------

/// Marks a status deleted and undoes what it counted for: the author's
/// `statuses_count`, the parent's `replies_count`. Its reblogs go with it (hard
/// deleted, as Mastodon does), and so do its pins, feed entries and notifications.
/// Returns false when it was deleted already.
pub async fn soft_delete(
    db: &Db,
    status: &StatusRow,
    counts_for_author: bool,
    counts_as_reply: bool,
    now: i64,
) -> Result<bool> {
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "UPDATE statuses SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(status.id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        if counts_for_author {
            sqlx::query(DECREMENT_STATUSES_COUNT)
                .bind(status.account_id)
                .execute(&mut *tx)
                .await?;
        }
        if let (true, Some(parent)) = (counts_as_reply, status.in_reply_to_id) {
            sqlx::query(
                "UPDATE statuses SET replies_count = \
                 CASE WHEN replies_count > 0 THEN replies_count - 1 ELSE 0 END WHERE id = $1",
            )
            .bind(parent)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE account_stats SET statuses_count = \
             CASE WHEN statuses_count > 0 THEN statuses_count - 1 ELSE 0 END, \
             version = version + 1 \
             WHERE account_id IN (SELECT account_id FROM statuses WHERE reblog_of_id = $1 \
             AND deleted_at IS NULL AND visibility <> 'direct')",
        )
        .bind(status.id)
        .execute(&mut *tx)
        .await?;
        for sql in [
            "DELETE FROM statuses WHERE reblog_of_id = $1",
            "DELETE FROM status_pins WHERE status_id = $1",
            "DELETE FROM home_feed WHERE status_id = $1",
            "DELETE FROM notifications WHERE status_id = $1",
        ] {
            sqlx::query(sql).bind(status.id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<bool, StoreError>(true)
    })
}

/// Removes a reblog (unreblog, or deleting the reblog itself) and undoes its
/// counters and its notification. Returns false when it was gone already.
pub async fn delete_reblog(db: &Db, reblog: &StatusRow) -> Result<bool> {
    let Some(original) = reblog.reblog_of_id else {
        return Ok(false);
    };
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query("DELETE FROM statuses WHERE id = $1")
            .bind(reblog.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE statuses SET reblogs_count = \
             CASE WHEN reblogs_count > 0 THEN reblogs_count - 1 ELSE 0 END WHERE id = $1",
        )
        .bind(original)
        .execute(&mut *tx)
        .await?;
        if reblog.visibility != "direct" && reblog.deleted_at.is_none() {
            sqlx::query(DECREMENT_STATUSES_COUNT)
                .bind(reblog.account_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "DELETE FROM notifications WHERE notification_type = 'reblog' \
             AND from_account_id = $1 AND status_id = $2",
        )
        .bind(reblog.account_id)
        .bind(original)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<bool, StoreError>(true)
    })
}

/// An account's reblog of a status, if it has one.
pub async fn reblog_by(db: &Db, account_id: i64, status_id: i64) -> Result<Option<StatusRow>> {
    let sql = format!(
        "SELECT {STATUS_COLUMNS} FROM statuses WHERE account_id = $1 AND reblog_of_id = $2"
    );
    Ok(with_pool!(db, p => sqlx::query_as::<_, StatusRow>(&sql)
        .bind(account_id)
        .bind(status_id)
        .fetch_optional(p)
        .await)?)
}

/// The local accounts that reblogged a status (for `update` notifications).
pub async fn reblogger_ids(db: &Db, status_id: i64) -> Result<Vec<i64>> {
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, i64>(
        "SELECT account_id FROM statuses WHERE reblog_of_id = $1 AND deleted_at IS NULL ORDER BY id",
    )
    .bind(status_id)
    .fetch_all(p)
    .await)?)
}

// ---------------------------------------------------------------------------------
// Favourites, bookmarks, pins
// ---------------------------------------------------------------------------------

/// Favourites a status; false when it was favourited already.
pub async fn favourite(
    db: &Db,
    id: i64,
    account_id: i64,
    status_id: i64,
    now: i64,
) -> Result<bool> {
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "INSERT INTO favourites (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, status_id) DO NOTHING",
        )
        .bind(id)
        .bind(account_id)
        .bind(status_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            sqlx::query("UPDATE statuses SET favourites_count = favourites_count + 1 WHERE id = $1")
                .bind(status_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<bool, StoreError>(n > 0)
    })
}

/// Favourites a status on behalf of a remote account, keeping the `Like` activity's
/// id; false when it was favourited already.
pub async fn favourite_with_uri(
    db: &Db,
    id: i64,
    account_id: i64,
    status_id: i64,
    uri: Option<&str>,
    now: i64,
) -> Result<bool> {
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(
            "INSERT INTO favourites (id, account_id, status_id, uri, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, status_id) DO NOTHING",
        )
        .bind(id)
        .bind(account_id)
        .bind(status_id)
        .bind(uri)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            sqlx::query("UPDATE statuses SET favourites_count = favourites_count + 1 WHERE id = $1")
                .bind(status_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<bool, StoreError>(n > 0)
    })
}

/// The (account, status) pair of the favourite whose `uri` is `uri`, if any.
pub async fn favourite_by_uri(db: &Db, uri: &str) -> Result<Option<(i64, i64)>> {
    Ok(with_pool!(db, p => sqlx::query_as::<_, (i64, i64)>(
        "SELECT account_id, status_id FROM favourites WHERE uri = $1 LIMIT 1",
    )
    .bind(uri)
    .fetch_optional(p)
    .await)?)
}

/// Takes a favourite back, with its notification; false when there was none.
pub async fn unfavourite(db: &Db, account_id: i64, status_id: i64) -> Result<bool> {
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query("DELETE FROM favourites WHERE account_id = $1 AND status_id = $2")
            .bind(account_id)
            .bind(status_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n > 0 {
            sqlx::query(
                "UPDATE statuses SET favourites_count = \
                 CASE WHEN favourites_count > 0 THEN favourites_count - 1 ELSE 0 END WHERE id = $1",
            )
            .bind(status_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM notifications WHERE notification_type = 'favourite' \
                 AND from_account_id = $1 AND status_id = $2",
            )
            .bind(account_id)
            .bind(status_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok::<bool, StoreError>(n > 0)
    })
}

/// Bookmarks a status; false when it was bookmarked already.
pub async fn bookmark(db: &Db, id: i64, account_id: i64, status_id: i64, now: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "INSERT INTO bookmarks (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(id)
    .bind(account_id)
    .bind(status_id)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn unbookmark(db: &Db, account_id: i64, status_id: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "DELETE FROM bookmarks WHERE account_id = $1 AND status_id = $2",
    )
    .bind(account_id)
    .bind(status_id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// True when the account bookmarked the status.
pub async fn has_bookmark(db: &Db, account_id: i64, status_id: i64) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookmarks WHERE account_id = $1 AND status_id = $2",
    )
    .bind(account_id)
    .bind(status_id)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// True when the account favourited the status.
pub async fn has_favourite(db: &Db, account_id: i64, status_id: i64) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM favourites WHERE account_id = $1 AND status_id = $2",
    )
    .bind(account_id)
    .bind(status_id)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// Pins a status to its author's profile; false when it was pinned already.
pub async fn pin(db: &Db, id: i64, account_id: i64, status_id: i64, now: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "INSERT INTO status_pins (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(id)
    .bind(account_id)
    .bind(status_id)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn unpin(db: &Db, account_id: i64, status_id: i64) -> Result<bool> {
    let n = with_pool!(db, p => sqlx::query(
        "DELETE FROM status_pins WHERE account_id = $1 AND status_id = $2",
    )
    .bind(account_id)
    .bind(status_id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// How many statuses an account has pinned.
pub async fn pins_count(db: &Db, account_id: i64) -> Result<i64> {
    Ok(with_pool!(db, p => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM status_pins WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_one(p)
    .await)?)
}

// ---------------------------------------------------------------------------------
// Lists, paged by the id of the favourite, bookmark or reblog row
// ---------------------------------------------------------------------------------

/// `(cursor, account_id)` pairs for a page of a list of accounts, or
/// `(cursor, status_id)` pairs for a page of a list of statuses, newest first.
pub type Cursored = Vec<(i64, i64)>;

async fn cursored(
    db: &Db,
    base: &str,
    key: i64,
    column: &str,
    page: &PageParams,
) -> Result<Cursored> {
    let rows = with_pool!(db, p => {
        let mut qb = sqlx::QueryBuilder::new(base);
        qb.push_bind(key);
        page.push_sql(&mut qb, column);
        qb.build_query_as::<(i64, i64)>().fetch_all(p).await
    })?;
    Ok(page.finish(rows))
}

/// Who favourited a status, by favourite id.
pub async fn favourited_by(db: &Db, status_id: i64, page: &PageParams) -> Result<Cursored> {
    cursored(
        db,
        "SELECT f.id, f.account_id FROM favourites f JOIN accounts a ON a.id = f.account_id \
         WHERE a.suspended_at IS NULL AND f.status_id = ",
        status_id,
        "f.id",
        page,
    )
    .await
}

/// Who reblogged a status, by reblog id.
pub async fn reblogged_by(db: &Db, status_id: i64, page: &PageParams) -> Result<Cursored> {
    cursored(
        db,
        "SELECT s.id, s.account_id FROM statuses s JOIN accounts a ON a.id = s.account_id \
         WHERE a.suspended_at IS NULL AND s.deleted_at IS NULL AND s.reblog_of_id = ",
        status_id,
        "s.id",
        page,
    )
    .await
}

/// The statuses an account favourited, by favourite id; deleted ones are left out.
pub async fn favourites_of(db: &Db, account_id: i64, page: &PageParams) -> Result<Cursored> {
    cursored(
        db,
        "SELECT f.id, f.status_id FROM favourites f JOIN statuses s ON s.id = f.status_id \
         WHERE s.deleted_at IS NULL AND f.account_id = ",
        account_id,
        "f.id",
        page,
    )
    .await
}

/// The statuses an account bookmarked, by bookmark id; deleted ones are left out.
pub async fn bookmarks_of(db: &Db, account_id: i64, page: &PageParams) -> Result<Cursored> {
    cursored(
        db,
        "SELECT b.id, b.status_id FROM bookmarks b JOIN statuses s ON s.id = b.status_id \
         WHERE s.deleted_at IS NULL AND b.account_id = ",
        account_id,
        "b.id",
        page,
    )
    .await
}

// ---------------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------------

/// The statuses a status replies to, up the thread, oldest first (at most `limit`).
pub async fn ancestors(db: &Db, status_id: i64, limit: i64) -> Result<Vec<StatusRow>> {
    let sql = format!(
        "WITH RECURSIVE up(id, depth) AS ( \
             SELECT in_reply_to_id, 1 FROM statuses WHERE id = $1 AND in_reply_to_id IS NOT NULL \
             UNION ALL \
             SELECT s.in_reply_to_id, up.depth + 1 FROM statuses s JOIN up ON s.id = up.id \
             WHERE s.in_reply_to_id IS NOT NULL AND up.depth < $2 \
         ) \
         SELECT {} FROM up JOIN statuses s ON s.id = up.id ORDER BY up.depth DESC",
        status_columns_s()
    );
    Ok(with_pool!(db, p => sqlx::query_as::<_, StatusRow>(&sql)
        .bind(status_id)
        .bind(limit)
        .fetch_all(p)
        .await)?)
}

/// The replies below a status, down to `depth` levels, at most `limit` of them, in
/// no particular order (the caller arranges the tree).
pub async fn descendants(
    db: &Db,
    status_id: i64,
    depth: i64,
    limit: i64,
) -> Result<Vec<StatusRow>> {
    let sql = format!(
        "WITH RECURSIVE down(id, depth) AS ( \
             SELECT id, 1 FROM statuses WHERE in_reply_to_id = $1 \
             UNION ALL \
             SELECT s.id, down.depth + 1 FROM statuses s JOIN down ON s.in_reply_to_id = down.id \
             WHERE down.depth < $2 \
         ) \
         SELECT {} FROM down JOIN statuses s ON s.id = down.id ORDER BY s.id LIMIT $3",
        status_columns_s()
    );
    Ok(with_pool!(db, p => sqlx::query_as::<_, StatusRow>(&sql)
        .bind(status_id)
        .bind(depth)
        .bind(limit)
        .fetch_all(p)
        .await)?)
}

// ---------------------------------------------------------------------------------
// Lookups the formatter and the entities need
// ---------------------------------------------------------------------------------

/// A remote account by username and domain, case-insensitively.
pub async fn account_by_handle(
    db: &Db,
    username: &str,
    domain: &str,
) -> Result<Option<AccountRow>> {
    let sql = format!(
        "SELECT {} FROM {} \
         WHERE lower(a.username) = lower($1) AND COALESCE(lower(a.domain), '') = lower($2)",
        crate::accounts::columns(),
        crate::accounts::FROM,
    );
    Ok(with_pool!(db, p => sqlx::query_as::<_, AccountRow>(&sql)
        .bind(username)
        .bind(domain)
        .fetch_optional(p)
        .await)?)
}

/// `(id, name, website)` of OAuth applications, for the `application` of statuses.
pub async fn applications(db: &Db, ids: &[i64]) -> Result<Vec<(i64, String, Option<String>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q =
        crate::read::Select::new("SELECT id, name, website FROM oauth_applications WHERE id IN ");
    crate::push_id_list(&mut q, ids);
    q.fetch_all(db).await
}

// ---------------------------------------------------------------------------------
// Idempotency keys
// ---------------------------------------------------------------------------------

/// Claims an `Idempotency-Key` for a status about to be created. Returns `None` when
/// the key is ours now (new, or its previous use is older than `expired_before`), or
/// the id of the status the key already stands for.
pub async fn claim_idempotency_key(
    db: &Db,
    user_id: i64,
    key: &str,
    status_id: i64,
    now: i64,
    expired_before: i64,
) -> Result<Option<i64>> {
    with_pool!(db, p => sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND created_at < $2",
    )
    .bind(user_id)
    .bind(expired_before)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    let n = with_pool!(db, p => sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, status_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, key) DO UPDATE SET status_id = excluded.status_id, \
         created_at = excluded.created_at WHERE idempotency_keys.created_at < $5",
    )
    .bind(user_id)
    .bind(key)
    .bind(status_id)
    .bind(now)
    .bind(expired_before)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    if n > 0 {
        return Ok(None);
    }
    let existing: Option<i64> = with_pool!(db, p => sqlx::query_scalar(
        "SELECT status_id FROM idempotency_keys WHERE user_id = $1 AND key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(p)
    .await)?;
    Ok(Some(existing.unwrap_or(status_id)))
}

/// Gives a claimed key back (when creating the status failed), so that a retry with
/// the same key can succeed.
pub async fn release_idempotency_key(
    db: &Db,
    user_id: i64,
    key: &str,
    status_id: i64,
) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status_id = $3",
    )
    .bind(user_id)
    .bind(key)
    .bind(status_id)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
