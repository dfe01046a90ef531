//! Accounts, keys and statuses fetched from other servers.

use crate::read::Select;
use crate::statuses::StatusRow;
use crate::{with_pool, Db, Result};

/// Everything stored about a remote actor.
#[derive(Clone, Debug, Default)]
pub struct RemoteAccount {
    /// Used only when the account is new.
    pub id: i64,
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub note: String,
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
    /// JSON array of {name, value, verified_at}.
    pub fields: String,
    /// JSON array of actor URIs.
    pub also_known_as: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub created_at: i64,
    pub fetched_at: i64,
}

/// Inserts a remote account or refreshes the stored one with the same `uri`; returns
/// its id.
pub async fn upsert_account(db: &Db, a: &RemoteAccount) -> Result<i64> {
    let sql =
        "INSERT INTO accounts (id, username, domain, display_name, note, uri, url, actor_type, \
         inbox_url, outbox_url, shared_inbox_url, followers_url, following_url, featured_url, \
         featured_tags_url, avatar_url, header_url, fields, also_known_as, locked, bot, \
         discoverable, indexable, created_at, updated_at, fetched_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $25, $25) \
         ON CONFLICT (uri) DO UPDATE SET username = excluded.username, \
         display_name = excluded.display_name, note = excluded.note, url = excluded.url, \
         actor_type = excluded.actor_type, inbox_url = excluded.inbox_url, \
         outbox_url = excluded.outbox_url, shared_inbox_url = excluded.shared_inbox_url, \
         followers_url = excluded.followers_url, following_url = excluded.following_url, \
         featured_url = excluded.featured_url, featured_tags_url = excluded.featured_tags_url, \
         avatar_url = excluded.avatar_url, header_url = excluded.header_url, \
         fields = excluded.fields, also_known_as = excluded.also_known_as, \
         locked = excluded.locked, bot = excluded.bot, discoverable = excluded.discoverable, \
         indexable = excluded.indexable, updated_at = excluded.updated_at, \
         fetched_at = excluded.fetched_at \
         RETURNING id";
    let id: (i64,) = with_pool!(db, p => sqlx::query_as(sql)
        .bind(a.id)
        .bind(&a.username)
        .bind(&a.domain)
        .bind(&a.display_name)
        .bind(&a.note)
        .bind(&a.uri)
        .bind(&a.url)
        .bind(&a.actor_type)
        .bind(&a.inbox_url)
        .bind(&a.outbox_url)
        .bind(&a.shared_inbox_url)
        .bind(&a.followers_url)
        .bind(&a.following_url)
        .bind(&a.featured_url)
        .bind(&a.featured_tags_url)
        .bind(&a.avatar_url)
        .bind(&a.header_url)
        .bind(&a.fields)
        .bind(&a.also_known_as)
        .bind(a.locked)
        .bind(a.bot)
        .bind(a.discoverable)
        .bind(a.indexable)
        .bind(a.created_at)
        .bind(a.fetched_at)
        .fetch_one(p)
        .await)?;
    Ok(id.0)
}

/// When a remote account was last fetched.
pub async fn fetched_at(db: &Db, account_id: i64) -> Result<Option<i64>> {
    let row: Option<(Option<i64>,)> = with_pool!(db, p => sqlx::query_as(
        "SELECT fetched_at FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(p)
        .await)?;
    Ok(row.and_then(|r| r.0))
}

/// Stores (or refreshes) a remote actor's public key.
pub async fn upsert_key(
    db: &Db,
    id: i64,
    account_id: Option<i64>,
    key_id: &str,
    owner_uri: &str,
    public_key_pem: &str,
    now: i64,
) -> Result<()> {
    with_pool!(db, p => sqlx::query(
        "INSERT INTO account_keys (id, account_id, key_id, owner_uri, algorithm, public_key_pem, \
         created_at, fetched_at) VALUES ($1, $2, $3, $4, 'rsa', $5, $6, $6) \
         ON CONFLICT (key_id) DO UPDATE SET account_id = excluded.account_id, \
         owner_uri = excluded.owner_uri, public_key_pem = excluded.public_key_pem, \
         fetched_at = excluded.fetched_at \
         WHERE account_keys.private_key_pem IS NULL")
        .bind(id)
        .bind(account_id)
        .bind(key_id)
        .bind(owner_uri)
        .bind(public_key_pem)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// When a cached key was last fetched.
pub async fn key_fetched_at(db: &Db, key_id: &str) -> Result<Option<i64>> {
    // The read path, as `keys::by_key_id` just before it.
    let mut q = Select::new("SELECT fetched_at FROM account_keys WHERE key_id = ");
    q.push_bind(key_id);
    let row: Option<(Option<i64>,)> = q.fetch_optional(db).await?;
    Ok(row.and_then(|r| r.0))
}

/// A status by its ActivityPub id.
pub async fn status_by_uri(db: &Db, uri: &str) -> Result<Option<StatusRow>> {
    let sql = format!(
        "SELECT {} FROM statuses WHERE uri = $1",
        crate::statuses::COLUMNS
    );
    Ok(with_pool!(db, p => sqlx::query_as::<_, StatusRow>(&sql).bind(uri).fetch_optional(p).await)?)
}

/// Records the type and title of a non-Note object.
pub async fn set_object_type(
    db: &Db,
    status_id: i64,
    kind: &str,
    title: Option<&str>,
) -> Result<()> {
    with_pool!(db, p => sqlx::query("UPDATE statuses SET object_type = $2, title = $3 WHERE id = $1")
        .bind(status_id)
        .bind(kind)
        .bind(title)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// True when at least one local account follows this account (Mastodon accepts a
/// pushed status from anyone a local account follows).
pub async fn has_local_followers(db: &Db, account_id: i64) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM follows f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = $1 AND a.domain IS NULL")
        .bind(account_id)
        .fetch_one(p)
        .await)?;
    Ok(n > 0)
}

/// True when `recipient` blocks `sender`, or mutes them (a mute that has not expired):
/// then `sender` does not notify `recipient`.
pub async fn blocks_or_mutes(db: &Db, recipient: i64, sender: i64, now: i64) -> Result<bool> {
    let n: i64 = with_pool!(db, p => sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM blocks WHERE account_id = $1 AND target_account_id = $2) \
         + (SELECT COUNT(*) FROM mutes WHERE account_id = $1 AND target_account_id = $2 \
            AND (expires_at IS NULL OR expires_at > $3))")
        .bind(recipient)
        .bind(sender)
        .bind(now)
        .fetch_one(p)
        .await)?;
    Ok(n > 0)
}

/// A remote poll as its Question describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemotePoll {
    /// Used only when the poll is new.
    pub id: i64,
    pub account_id: i64,
    pub multiple: bool,
    pub options: Vec<String>,
    /// Votes per option, in the order of `options`.
    pub tallies: Vec<i64>,
    pub voters_count: Option<i64>,
    pub expires_at: Option<i64>,
}

/// A stored poll.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PollRow {
    pub id: i64,
    pub status_id: Option<i64>,
    pub multiple: bool,
    pub hide_totals: bool,
    /// JSON array of option titles.
    pub options: String,
    /// JSON array of vote counts, one per option.
    pub cached_tallies: String,
    pub votes_count: i64,
    pub voters_count: Option<i64>,
    pub expires_at: Option<i64>,
}

crate::lite_row!(PollRow {
    id,
    status_id,
    multiple,
    hide_totals,
    options,
    cached_tallies,
    votes_count,
    voters_count,
    expires_at
});

/// Inserts a new poll for a status and links the status to it, inside a transaction
/// `$tx` (shared by [`upsert_poll`] and `status_actions::publish_with`, so that both
/// run the same SQL).
macro_rules! insert_poll {
    ($tx:expr, $status_id:expr, $poll:expr, $now:expr) => {{
        let poll: &$crate::remote::RemotePoll = $poll;
        let options = serde_json::to_string(&poll.options).unwrap_or_else(|_| "[]".into());
        let tallies = serde_json::to_string(&poll.tallies).unwrap_or_else(|_| "[]".into());
        let votes: i64 = poll.tallies.iter().sum();
        sqlx::query(
            "INSERT INTO polls (id, status_id, account_id, multiple, options, cached_tallies, \
             votes_count, voters_count, expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(poll.id)
        .bind($status_id)
        .bind(poll.account_id)
        .bind(poll.multiple)
        .bind(&options)
        .bind(&tallies)
        .bind(votes)
        .bind(poll.voters_count)
        .bind(poll.expires_at)
        .bind($now)
        .execute($tx)
        .await?;
        sqlx::query("UPDATE statuses SET poll_id = $2 WHERE id = $1")
            .bind($status_id)
            .bind(poll.id)
            .execute($tx)
            .await?;
    }};
}
pub(crate) use insert_poll;

/// Stores the poll of a remote status, or refreshes the stored one (options, counts,
/// end); links the status to it.
pub async fn upsert_poll(db: &Db, status_id: i64, poll: &RemotePoll, now: i64) -> Result<()> {
    let options = serde_json::to_string(&poll.options).unwrap_or_else(|_| "[]".into());
    let tallies = serde_json::to_string(&poll.tallies).unwrap_or_else(|_| "[]".into());
    let votes: i64 = poll.tallies.iter().sum();
    with_pool!(db, pool => {
        let mut tx = crate::WritePool::begin_write(pool).await?;
        let updated = sqlx::query(
            "UPDATE polls SET multiple = $2, options = $3, cached_tallies = $4, votes_count = $5, \
             voters_count = $6, expires_at = $7, updated_at = $8 WHERE status_id = $1")
            .bind(status_id)
            .bind(poll.multiple)
            .bind(&options)
            .bind(&tallies)
            .bind(votes)
            .bind(poll.voters_count)
            .bind(poll.expires_at)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            insert_poll!(&mut *tx, status_id, poll, now);
        }
        tx.commit().await?;
        Ok::<(), crate::StoreError>(())
    })
}

/// Several polls at once, in no particular order.
pub async fn polls_by_ids(db: &Db, ids: &[i64]) -> Result<Vec<PollRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Select::new(
        "SELECT id, status_id, multiple, hide_totals, options, cached_tallies, votes_count, \
         voters_count, expires_at FROM polls WHERE id IN ",
    );
    crate::push_id_list(&mut q, ids);
    q.fetch_all(db).await
}

/// A media attachment of a remote status, kept as a link to the file on its server
/// (nothing is downloaded).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewMedia {
    pub id: i64,
    /// image, gifv, video, audio or unknown.
    pub media_type: String,
    pub content_type: Option<String>,
    pub remote_url: String,
    pub description: Option<String>,
    pub blurhash: Option<String>,
    /// JSON: Mastodon's `meta` (original size, focus).
    pub meta: String,
}

/// A stored media attachment.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MediaRow {
    pub id: i64,
    pub status_id: Option<i64>,
    pub media_type: String,
    pub content_type: Option<String>,
    pub remote_url: Option<String>,
    pub description: Option<String>,
    pub blurhash: Option<String>,
    pub meta: String,
    pub position: i64,
}

crate::lite_row!(MediaRow {
    id,
    status_id,
    media_type,
    content_type,
    remote_url,
    description,
    blurhash,
    meta,
    position
});

/// Inserts the media of a status (positions in the order given), inside a transaction
/// `$tx`; shared by [`replace_media`] and `status_actions::publish_with`.
macro_rules! insert_media {
    ($tx:expr, $status_id:expr, $account_id:expr, $media:expr, $now:expr) => {{
        let media: &[$crate::remote::NewMedia] = $media;
        for (position, m) in media.iter().enumerate() {
            sqlx::query(
                "INSERT INTO media_attachments (id, account_id, status_id, media_type, \
                 content_type, remote_url, description, blurhash, meta, position, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            )
            .bind(m.id)
            .bind($account_id)
            .bind($status_id)
            .bind(&m.media_type)
            .bind(&m.content_type)
            .bind(&m.remote_url)
            .bind(&m.description)
            .bind(&m.blurhash)
            .bind(&m.meta)
            .bind(position as i64)
            .bind($now)
            .execute($tx)
            .await?;
        }
    }};
}
pub(crate) use insert_media;

/// Replaces the media of a remote status (after an `Update`) in one transaction.
pub async fn replace_media(
    db: &Db,
    status_id: i64,
    account_id: i64,
    media: &[NewMedia],
    now: i64,
) -> Result<()> {
    with_pool!(db, pool => {
        let mut tx = crate::WritePool::begin_write(pool).await?;
        sqlx::query("DELETE FROM media_attachments WHERE status_id = $1")
            .bind(status_id)
            .execute(&mut *tx)
            .await?;
        insert_media!(&mut *tx, status_id, account_id, media, now);
        tx.commit().await?;
        Ok::<(), crate::StoreError>(())
    })
}

/// The media of several statuses at once, ordered by status and position.
pub async fn media_by_status_ids(db: &Db, status_ids: &[i64]) -> Result<Vec<MediaRow>> {
    if status_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Select::new(
        "SELECT id, status_id, media_type, content_type, remote_url, description, blurhash, \
         meta, CAST(position AS BIGINT) AS position FROM media_attachments WHERE status_id IN ",
    );
    crate::push_id_list(&mut q, status_ids);
    q.push(" ORDER BY status_id, position, id");
    q.fetch_all(db).await
}

/// Records accounts a remote status is addressed to without mentioning them (Mastodon's
/// silent mentions): they may see it, but it does not show them as mentioned nor
/// notify them. An existing mention stays as it is.
pub async fn add_silent_mentions(
    db: &Db,
    status_id: i64,
    account_ids: &[(i64, i64)],
) -> Result<()> {
    for (row_id, account_id) in account_ids {
        with_pool!(db, p => sqlx::query(
            "INSERT INTO mentions (id, status_id, account_id, silent) VALUES ($1, $2, $3, TRUE) \
             ON CONFLICT (status_id, account_id) DO NOTHING")
            .bind(row_id)
            .bind(status_id)
            .bind(account_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}
