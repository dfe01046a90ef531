//! Statuses: posting, editing, deleting, and what accounts do with them (favourites,
//! reblogs, bookmarks, pins), with Mastodon's rules for each.
//!
//! Every function that shows or acts on a status someone names by id first checks
//! that they may see it ([`find_visible`], built on [`super::visibility::can_see`]);
//! a status they may not see is [`CoreError::NotFound`], never "forbidden", so that
//! its existence does not leak.

use std::collections::{HashMap, HashSet};

use fulmar_store::accounts::AccountRow;
use fulmar_store::remote::MediaRow;
use fulmar_store::status_actions::{self as actions, LocalPost, NewEdit, NewMention, NewTag};
use fulmar_store::statuses::{NewStatus, StatusRow};
use fulmar_store::users::UserRow;
use fulmar_store::{Db, PageParams, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{CoreError, CoreResult};
use super::formatting::{self, Formatted};
use super::ids::{next_id, parse_id};
use super::notifications::{notify, Kind};
use super::post_commits::PostCommits;
use super::quotes;
use super::time::now_ms;
use super::urls::Urls;
use super::visibility::can_see;
use crate::worker::outbox::{self, Event};

/// Mastodon's character limit (`StatusLengthValidator::MAX_CHARS`).
pub const MAX_CHARS: usize = 500;
/// How many statuses an account may pin (`StatusPinValidator::PIN_LIMIT`).
pub const MAX_PINS: i64 = 5;
/// How long an `Idempotency-Key` stands for the status it created.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 60 * 60 * 1000;

/// Thread sizes for anonymous readers (Mastodon's `ContextController` limits);
/// signed-in readers get the whole thread, up to the larger bounds.
const ANCESTORS_LIMIT_ANONYMOUS: i64 = 40;
const DESCENDANTS_LIMIT_ANONYMOUS: i64 = 60;
const DESCENDANTS_DEPTH_ANONYMOUS: i64 = 20;
const THREAD_LIMIT_SIGNED_IN: i64 = 4096;

/// Who a status is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Unlisted,
    Private,
    Direct,
}

impl Visibility {
    pub fn parse(text: &str) -> CoreResult<Visibility> {
        match text.trim() {
            "public" => Ok(Visibility::Public),
            "unlisted" => Ok(Visibility::Unlisted),
            "private" => Ok(Visibility::Private),
            "direct" => Ok(Visibility::Direct),
            _ => Err(CoreError::Invalid(
                "Visibility is not included in the list".into(),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Direct => "direct",
        }
    }

    /// Public and unlisted statuses may be shown to anyone and reblogged.
    pub fn is_distributable(self) -> bool {
        matches!(self, Visibility::Public | Visibility::Unlisted)
    }
}

/// The stored visibility of a row (unknown values are treated as direct, the most
/// restrictive).
fn visibility_of(row: &StatusRow) -> Visibility {
    Visibility::parse(&row.visibility).unwrap_or(Visibility::Direct)
}

/// ISO 639-1 codes: the `language` values Mastodon accepts.
const LANGUAGES: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// A valid language code, or `None` (Mastodon's `valid_locale_or_nil`: `en-US`
/// becomes `en`; unknown codes are dropped, not refused).
pub fn valid_language(code: Option<&str>) -> Option<String> {
    let code = code?.trim().to_ascii_lowercase();
    let base = code.split(['-', '_']).next().unwrap_or_default();
    LANGUAGES.contains(&base).then(|| base.to_owned())
}

/// The language a user posts in when a client does not say.
fn preferred_language(user: &UserRow) -> Option<String> {
    valid_language(user.default_language.as_deref()).or_else(|| valid_language(Some(&user.locale)))
}

/// What a client sends to post a status.
#[derive(Clone, Debug, Default)]
pub struct Compose {
    pub text: Option<String>,
    pub spoiler_text: Option<String>,
    pub sensitive: Option<bool>,
    pub visibility: Option<String>,
    pub language: Option<String>,
    pub in_reply_to_id: Option<String>,
    pub media_ids: Vec<String>,
    pub has_poll: bool,
    pub scheduled_at: Option<String>,
    pub application_id: Option<i64>,
    pub idempotency_key: Option<String>,
    /// The status to quote (Mastodon 4.5 `quoted_status_id`).
    pub quoted_status_id: Option<String>,
    /// Who may quote the new status (`quote_approval_policy`).
    pub quote_approval_policy: Option<String>,
}

/// What a client sends to edit a status. As in Mastodon, an edit replaces the text,
/// content warning, sensitivity and language all at once.
#[derive(Clone, Debug, Default)]
pub struct Edit {
    pub text: Option<String>,
    pub spoiler_text: Option<String>,
    pub sensitive: Option<bool>,
    pub language: Option<String>,
    pub media_ids: Vec<String>,
    pub has_poll: bool,
}

/// Checks what Mastodon's validators check, in their order: attachments, blank text,
/// the character limit.
fn validate_text(
    text: &str,
    spoiler_text: &str,
    media_ids: &[String],
    has_poll: bool,
) -> CoreResult<()> {
    // Media and polls are not implemented yet: refuse them rather than silently
    // dropping what the author attached.
    if let Some(id) = media_ids.iter().find(|m| !m.trim().is_empty()) {
        return Err(CoreError::Invalid(
            format!("Media {id} not found or already attached to another post").into(),
        ));
    }
    if has_poll {
        return Err(CoreError::Invalid("Polls are not supported yet".into()));
    }
    if text.is_empty() {
        return Err(CoreError::Invalid("Text can't be blank".into()));
    }
    if formatting::countable_length(text, spoiler_text) > MAX_CHARS {
        return Err(CoreError::Invalid(
            format!("Text character limit of {MAX_CHARS} exceeded").into(),
        ));
    }
    Ok(())
}

fn new_mentions(formatted: &Formatted) -> Vec<NewMention> {
    formatted
        .mentions
        .iter()
        .map(|a| NewMention {
            id: next_id(),
            account_id: a.id,
        })
        .collect()
}

fn new_tags(formatted: &Formatted) -> Vec<NewTag> {
    formatted
        .tags
        .iter()
        .map(|(name, display)| NewTag {
            id: next_id(),
            name: name.clone(),
            display_name: display.clone(),
        })
        .collect()
}

/// Idempotency keys are stored as given when short, hashed when long, so that a
/// client cannot make us store kilobytes per post.
fn idempotency_key(key: &str) -> String {
    if key.len() <= 128 {
        key.to_owned()
    } else {
        format!("sha256:{:x}", Sha256::digest(key.as_bytes()))
    }
}

/// Loads a status by the id a client sent, if the viewer may see it (and, for a
/// reblog, the status it reblogs).
pub async fn find_visible(db: &Db, id: &str, viewer: Option<i64>) -> CoreResult<StatusRow> {
    let id = parse_id(id).ok_or(CoreError::NotFound)?;
    let row = fulmar_store::statuses::by_id(db, id)
        .await?
        .ok_or(CoreError::NotFound)?;
    if is_visible(db, &row, viewer).await? {
        Ok(row)
    } else {
        Err(CoreError::NotFound)
    }
}

/// True when the viewer may see the status and, for a reblog, the original.
pub async fn is_visible(db: &Db, row: &StatusRow, viewer: Option<i64>) -> CoreResult<bool> {
    if !can_see(db, row, viewer).await? {
        return Ok(false);
    }
    match row.reblog_of_id {
        None => Ok(true),
        Some(of) => match fulmar_store::statuses::by_id(db, of).await? {
            Some(original) => can_see(db, &original, viewer).await,
            None => Ok(false),
        },
    }
}

/// The status a reblog points at, or the status itself.
async fn original_of(db: &Db, row: StatusRow) -> CoreResult<StatusRow> {
    match row.reblog_of_id {
        None => Ok(row),
        Some(of) => fulmar_store::statuses::by_id(db, of)
            .await?
            .filter(|o| o.deleted_at.is_none())
            .ok_or(CoreError::NotFound),
    }
}

async fn reload(db: &Db, id: i64) -> CoreResult<StatusRow> {
    fulmar_store::statuses::by_id(db, id)
        .await?
        .ok_or(CoreError::NotFound)
}

/// What posting stored with a new status besides its row, so that answering with it
/// needs no query for that: its visible mentions (`(status_id, account_id)`, in the
/// order of their ids) and hashtags (`(status_id, name)`, by name), as
/// `fulmar_store::statuses::mentions_and_tags` would read them.
#[derive(Clone, Debug, Default)]
pub struct Stored {
    pub mentions: Vec<(i64, i64)>,
    pub tags: Vec<(i64, String)>,
    /// The author's counters, read back with the status after its commit.
    pub author: AuthorCounters,
}

/// An author's counters (their `account_stats` row) as read back with a new post:
/// what the answer to the post shows of them (`statuses_count`, `last_status_at`),
/// and the row's version, which with the `accounts` row's version is the rendered
/// account's (`fulmar_store::accounts::versions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthorCounters {
    pub statuses_count: i64,
    pub last_status_at: Option<i64>,
    pub stats_version: i64,
}

impl Stored {
    fn of(status_id: i64, mentions: &[NewMention], tags: &[NewTag]) -> Stored {
        // As stored: one mention per account (the first), one row per tag name.
        let mut mentions: Vec<&NewMention> = mentions.iter().collect();
        mentions.sort_by_key(|m| m.id);
        let mut seen = HashSet::new();
        let mentions = mentions
            .into_iter()
            .filter(|m| seen.insert(m.account_id))
            .map(|m| (status_id, m.account_id))
            .collect();
        let mut names: Vec<String> = tags.iter().map(|t| t.name.clone()).collect();
        names.sort();
        names.dedup();
        Stored {
            mentions,
            tags: names.into_iter().map(|n| (status_id, n)).collect(),
            author: AuthorCounters::default(),
        }
    }
}

/// Posts a status. With an `Idempotency-Key` that the same user sent within the
/// hour, returns the status that key created instead of posting again (and no
/// [`Stored`], since that status was not stored by this request). A reply to a
/// status the author may not see is [`CoreError::NotFound`].
pub async fn create(
    db: &Db,
    urls: &Urls,
    commits: &PostCommits,
    user: &UserRow,
    author: &AccountRow,
    compose: Compose,
) -> CoreResult<(StatusRow, Option<Stored>)> {
    let id = next_id();
    let Some(key) = compose
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(idempotency_key)
    else {
        return create_with_id(db, urls, commits, user, author, compose, id).await;
    };
    let now = now_ms();
    if let Some(existing) =
        actions::claim_idempotency_key(db, user.id, &key, id, now, now - IDEMPOTENCY_WINDOW_MS)
            .await?
    {
        return replayed(db, existing).await.map(|row| (row, None));
    }
    let result = create_with_id(db, urls, commits, user, author, compose, id).await;
    if result.is_err() {
        actions::release_idempotency_key(db, user.id, &key, id).await?;
    }
    result
}

/// The status an earlier request with the same key created. That request may still
/// be running (clients retry quickly on flaky networks), so wait a little for it.
async fn replayed(db: &Db, status_id: i64) -> CoreResult<StatusRow> {
    for _ in 0..50 {
        if let Some(row) = fulmar_store::statuses::by_id(db, status_id).await? {
            return if row.deleted_at.is_none() {
                Ok(row)
            } else {
                Err(CoreError::NotFound)
            };
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(CoreError::Conflict(
        "A post with this Idempotency-Key is still being created".into(),
    ))
}

async fn create_with_id(
    db: &Db,
    urls: &Urls,
    commits: &PostCommits,
    user: &UserRow,
    author: &AccountRow,
    compose: Compose,
    id: i64,
) -> CoreResult<(StatusRow, Option<Stored>)> {
    // The parent first: Mastodon looks it up before it validates anything else.
    let parent = match compose
        .in_reply_to_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(parent_id) => {
            let row = find_visible(db, parent_id, Some(author.id)).await?;
            Some(original_of(db, row).await?)
        }
    };
    if compose
        .scheduled_at
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty())
    {
        return Err(CoreError::Invalid(
            "Scheduled posts are not supported yet".into(),
        ));
    }
    let visibility = match compose.visibility.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Visibility::parse(v)?,
        None => Visibility::parse(&user.default_visibility).unwrap_or(Visibility::Public),
    };
    let text = compose
        .text
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let spoiler_text = compose
        .spoiler_text
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    validate_text(&text, &spoiler_text, &compose.media_ids, compose.has_poll)?;
    let sensitive = compose.sensitive.unwrap_or(user.default_sensitive) || !spoiler_text.is_empty();
    let language = valid_language(compose.language.as_deref()).or_else(|| preferred_language(user));

    let formatted = formatting::format_text(db, urls, &text).await?;
    let mentions = new_mentions(&formatted);
    let tags = new_tags(&formatted);

    let (in_reply_to_account_id, in_reply_to_uri, context_uri) = match &parent {
        None => (None, None, None),
        Some(p) => {
            let uri = if p.local {
                let parent_author = fulmar_store::accounts::by_id(db, p.account_id)
                    .await?
                    .ok_or(CoreError::NotFound)?;
                urls.status(&parent_author.username, p.id)
            } else {
                p.uri.clone()
            };
            // A reply joins its parent's thread: the parent's context, or for a
            // local parent without one (it started the thread), its context URL.
            let context = p
                .context_uri
                .clone()
                .or_else(|| p.local.then(|| format!("{uri}/context")));
            (Some(p.account_id), Some(uri), context)
        }
    };
    let uri = urls.status(&author.username, id);
    let quote_policy = quotes::parse_policy(compose.quote_approval_policy.as_deref(), "public")?;
    let quote = match compose
        .quoted_status_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(quoted) => Some(quotes::plan_local(db, author, quoted, &uri).await?),
    };
    let now = now_ms();
    let status = NewStatus {
        id,
        uri: uri.clone(),
        url: Some(urls.status_page(&author.username, id)),
        account_id: author.id,
        in_reply_to_id: parent.as_ref().map(|p| p.id),
        in_reply_to_account_id,
        in_reply_to_uri,
        reblog_of_id: None,
        content: formatted.html.clone(),
        text: Some(text),
        spoiler_text,
        sensitive,
        visibility: visibility.as_str().to_owned(),
        language,
        context_uri,
        local: true,
        application_id: compose.application_id,
        created_at: now,
    };
    // The activity's job, the status and its home-feed rows commit together: no crash
    // can lose the activity, and a post is one write transaction, shared with the
    // posts that arrive at the same time (`post_commits`). The job is stored only when
    // the post has a remote audience (`publish_local`); the committing task wakes the
    // worker then.
    let job = outbox::job_for(&Event::CreateStatus { status_id: id })?;
    let notified: Vec<i64> = mentions.iter().map(|m| m.account_id).collect();
    let mut stored = Stored::of(id, &mentions, &tags);
    let read = commits
        .store(LocalPost {
            status,
            mentions,
            tags,
            counts_for_author: visibility != Visibility::Direct,
            counts_as_reply: visibility.is_distributable(),
            quote_policy: quote_policy.to_owned(),
            quote: quote
                .as_ref()
                .map(|q| (q.quoted.id, q.state.to_owned(), q.request_uri.clone())),
            outbox: job,
        })
        .await?;
    stored.author = AuthorCounters {
        statuses_count: read.author_statuses_count,
        last_status_at: read.author_last_status_at,
        stats_version: read.author_stats_version,
    };
    let row = read.status;
    for account_id in notified {
        notify(db, account_id, author.id, Kind::Mention, Some(id)).await?;
    }
    if let Some(planned) = &quote {
        quotes::after_local(db, urls, &row, planned).await?;
    }
    Ok((row, Some(stored)))
}

/// Loads one of the author's own statuses (edit, delete, source): anyone else's is
/// not found, as in Mastodon.
async fn find_own(db: &Db, author: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let id = parse_id(id).ok_or(CoreError::NotFound)?;
    fulmar_store::statuses::by_id(db, id)
        .await?
        .filter(|s| s.account_id == author.id && s.deleted_at.is_none())
        .ok_or(CoreError::NotFound)
}

/// Edits a status: keeps every version in `status_edits` (the original is recorded
/// on the first edit, as Mastodon does), updates mentions and tags, and tells those
/// who reblogged it.
pub async fn edit(
    db: &Db,
    urls: &Urls,
    user: &UserRow,
    author: &AccountRow,
    id: &str,
    edit: Edit,
) -> CoreResult<StatusRow> {
    let status = find_own(db, author, id).await?;
    if status.reblog_of_id.is_some() {
        return Err(CoreError::NotFound);
    }
    let text = edit.text.as_deref().unwrap_or_default().trim().to_owned();
    let spoiler_text = edit
        .spoiler_text
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    validate_text(&text, &spoiler_text, &edit.media_ids, edit.has_poll)?;
    let sensitive = edit.sensitive.unwrap_or(false) || !spoiler_text.is_empty();
    let language = valid_language(edit.language.as_deref())
        .or_else(|| status.language.clone())
        .or_else(|| preferred_language(user));
    if status.text.as_deref() == Some(text.as_str())
        && status.spoiler_text == spoiler_text
        && status.sensitive == sensitive
        && status.language == language
    {
        return Ok(status);
    }

    let formatted = formatting::format_text(db, urls, &text).await?;
    let now = now_ms();
    // A local edit changes the text only: every version shows the status's current
    // attachments and poll.
    let (media, poll_options) = version_extras(db, &status).await?;
    let mut versions = Vec::new();
    if actions::edits_of(db, status.id).await?.is_empty() {
        versions.push(NewEdit {
            id: next_id(),
            account_id: author.id,
            content: status.content.clone(),
            text: status.text.clone(),
            spoiler_text: status.spoiler_text.clone(),
            sensitive: status.sensitive,
            media: media.clone(),
            poll_options: poll_options.clone(),
            created_at: status.created_at,
        });
    }
    versions.push(NewEdit {
        id: next_id(),
        account_id: author.id,
        content: formatted.html.clone(),
        text: Some(text.clone()),
        spoiler_text: spoiler_text.clone(),
        sensitive,
        media,
        poll_options,
        created_at: now,
    });
    actions::apply_edit(
        db,
        status.id,
        &actions::StatusUpdate {
            content: formatted.html.clone(),
            text: Some(text),
            spoiler_text,
            sensitive,
            language,
            edited_at: now,
        },
        &versions,
    )
    .await?;
    actions::set_tags(db, status.id, &new_tags(&formatted), now).await?;
    // Accounts mentioned before keep their mention (and their access to the post);
    // newly mentioned ones are added and told.
    let added = actions::add_mentions(db, status.id, &new_mentions(&formatted)).await?;
    for account_id in added {
        notify(db, account_id, author.id, Kind::Mention, Some(status.id)).await?;
    }
    for account_id in actions::reblogger_ids(db, status.id).await? {
        notify(db, account_id, author.id, Kind::Update, Some(status.id)).await?;
    }
    outbox::emit(
        db,
        Event::UpdateStatus {
            status_id: status.id,
        },
    )
    .await?;
    reload(db, status.id).await
}

/// Deletes one of the author's statuses and returns it as it was, so that the client
/// can offer "delete and redraft". A reblog is removed outright.
pub async fn delete(db: &Db, author: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let status = find_own(db, author, id).await?;
    if let Some(original) = status.reblog_of_id {
        actions::delete_reblog(db, &status).await?;
        outbox::emit(
            db,
            Event::UndoAnnounce {
                account_id: author.id,
                reblog_id: status.id,
                status_id: original,
            },
        )
        .await?;
    } else {
        let visibility = visibility_of(&status);
        actions::soft_delete(
            db,
            &status,
            visibility != Visibility::Direct,
            visibility.is_distributable(),
            now_ms(),
        )
        .await?;
        // A deleted quote no longer counts on the status it quoted.
        if let Some(quoted) = status.quote_of_id {
            fulmar_store::quotes::recount(db, quoted).await?;
        }
        outbox::emit(
            db,
            Event::DeleteStatus {
                status_id: status.id,
            },
        )
        .await?;
    }
    Ok(status)
}

/// The author's own status, for `GET /statuses/:id/source`.
pub async fn source(db: &Db, author: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    find_own(db, author, id).await
}

/// One version of a status, for its history.
#[derive(Clone, Debug)]
pub struct Version {
    pub account_id: i64,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    /// The attachments the version showed, as they were then.
    pub media: Vec<MediaRow>,
    /// The poll options the version showed, when it had a poll.
    pub poll_options: Option<Vec<String>>,
    pub created_at: i64,
}

/// An attachment as a version of a status showed it, kept whole in `status_edits`:
/// a remote `Update` replaces the attachment rows, and the history must still show
/// what earlier versions had.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct VersionMedia {
    id: i64,
    media_type: String,
    content_type: Option<String>,
    remote_url: Option<String>,
    description: Option<String>,
    blurhash: Option<String>,
    meta: String,
}

/// What a status shows now besides its text, as a version records it: its
/// attachments (a JSON array of [`VersionMedia`]) and its poll's options (JSON).
pub(crate) async fn version_extras(
    db: &Db,
    status: &StatusRow,
) -> Result<(String, Option<String>), StoreError> {
    let media: Vec<VersionMedia> = fulmar_store::remote::media_by_status_ids(db, &[status.id])
        .await?
        .into_iter()
        .map(|m| VersionMedia {
            id: m.id,
            media_type: m.media_type,
            content_type: m.content_type,
            remote_url: m.remote_url,
            description: m.description,
            blurhash: m.blurhash,
            meta: m.meta,
        })
        .collect();
    let poll_options = match status.poll_id {
        Some(id) => fulmar_store::remote::polls_by_ids(db, &[id])
            .await?
            .into_iter()
            .next()
            .map(|p| p.options),
        None => None,
    };
    let media = serde_json::to_string(&media).unwrap_or_else(|_| "[]".to_owned());
    Ok((media, poll_options))
}

/// The attachments and poll options of a recorded version; what cannot be read is
/// left out rather than failing the history.
fn version_of(
    status: &StatusRow,
    media: &str,
    poll_options: Option<&str>,
) -> (Vec<MediaRow>, Option<Vec<String>>) {
    let media: Vec<VersionMedia> = serde_json::from_str(media).unwrap_or_default();
    let media = media
        .into_iter()
        .enumerate()
        .map(|(i, m)| MediaRow {
            id: m.id,
            status_id: Some(status.id),
            media_type: m.media_type,
            content_type: m.content_type,
            remote_url: m.remote_url,
            description: m.description,
            blurhash: m.blurhash,
            meta: m.meta,
            position: i as i64,
        })
        .collect();
    let poll = poll_options.and_then(|p| serde_json::from_str(p).ok());
    (media, poll)
}

/// Every version of a status, oldest first; a status never edited has one.
pub async fn history(db: &Db, viewer: Option<i64>, id: &str) -> CoreResult<Vec<Version>> {
    let status = find_visible(db, id, viewer).await?;
    let edits = actions::edits_of(db, status.id).await?;
    if edits.is_empty() {
        let (media, poll_options) = version_extras(db, &status).await?;
        let (media, poll_options) = version_of(&status, &media, poll_options.as_deref());
        return Ok(vec![Version {
            account_id: status.account_id,
            content: status.content,
            spoiler_text: status.spoiler_text,
            sensitive: status.sensitive,
            media,
            poll_options,
            created_at: status.edited_at.unwrap_or(status.created_at),
        }]);
    }
    Ok(edits
        .into_iter()
        .map(|e| {
            let (media, poll_options) = version_of(&status, &e.media, e.poll_options.as_deref());
            Version {
                account_id: status.account_id,
                content: e.content,
                spoiler_text: e.spoiler_text,
                sensitive: e.sensitive,
                media,
                poll_options,
                created_at: e.created_at,
            }
        })
        .collect())
}

/// Favourites a status (the original, when given a reblog) and tells its author.
/// Returns the status as named, with fresh counts.
pub async fn favourite(db: &Db, actor: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let named = find_visible(db, id, Some(actor.id)).await?;
    let target = original_of(db, named.clone()).await?;
    if actions::favourite(db, next_id(), actor.id, target.id, now_ms()).await? {
        notify(
            db,
            target.account_id,
            actor.id,
            Kind::Favourite,
            Some(target.id),
        )
        .await?;
        outbox::emit(
            db,
            Event::Like {
                account_id: actor.id,
                status_id: target.id,
            },
        )
        .await?;
    }
    reload(db, named.id).await
}

/// Takes a favourite back. Works on a status the viewer can no longer see, as long
/// as they had favourited it (Mastodon's rule).
pub async fn unfavourite(db: &Db, actor: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let named = load_for_undo(db, id).await?;
    let target = original_of(db, named.clone()).await?;
    if actions::unfavourite(db, actor.id, target.id).await? {
        outbox::emit(
            db,
            Event::UndoLike {
                account_id: actor.id,
                status_id: target.id,
            },
        )
        .await?;
    } else if !is_visible(db, &named, Some(actor.id)).await? {
        return Err(CoreError::NotFound);
    }
    reload(db, named.id).await
}

/// A status named for an undo action, visible or not (not deleted).
async fn load_for_undo(db: &Db, id: &str) -> CoreResult<StatusRow> {
    let id = parse_id(id).ok_or(CoreError::NotFound)?;
    fulmar_store::statuses::by_id(db, id)
        .await?
        .filter(|s| s.deleted_at.is_none())
        .ok_or(CoreError::NotFound)
}

pub async fn bookmark(db: &Db, actor: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let named = find_visible(db, id, Some(actor.id)).await?;
    let target = original_of(db, named.clone()).await?;
    actions::bookmark(db, next_id(), actor.id, target.id, now_ms()).await?;
    reload(db, named.id).await
}

pub async fn unbookmark(db: &Db, actor: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let named = load_for_undo(db, id).await?;
    let target = original_of(db, named.clone()).await?;
    if !actions::unbookmark(db, actor.id, target.id).await?
        && !is_visible(db, &named, Some(actor.id)).await?
    {
        return Err(CoreError::NotFound);
    }
    reload(db, named.id).await
}

/// Why a reblog was refused: Mastodon answers 403 "This action is not allowed" for
/// followers-only statuses of others and for direct messages.
#[derive(Debug)]
pub enum ReblogError {
    NotAllowed,
    Core(CoreError),
}

impl From<CoreError> for ReblogError {
    fn from(e: CoreError) -> Self {
        ReblogError::Core(e)
    }
}

impl From<StoreError> for ReblogError {
    fn from(e: StoreError) -> Self {
        ReblogError::Core(e.into())
    }
}

/// Reblogs a status (the original, when given a reblog): a new status of its own,
/// with its own id, that points at the original. Reblogging twice returns the first
/// reblog. Followers-only statuses may be reblogged by their author only (and stay
/// followers-only); direct messages never.
pub async fn reblog(
    db: &Db,
    urls: &Urls,
    user: &UserRow,
    actor: &AccountRow,
    id: &str,
    visibility: Option<&str>,
    application_id: Option<i64>,
) -> Result<StatusRow, ReblogError> {
    let named = find_visible(db, id, Some(actor.id)).await?;
    let original = original_of(db, named).await?;
    let original_visibility = visibility_of(&original);
    match original_visibility {
        Visibility::Direct => return Err(ReblogError::NotAllowed),
        Visibility::Private if original.account_id != actor.id => {
            return Err(ReblogError::NotAllowed)
        }
        _ => {}
    }
    if let Some(existing) = actions::reblog_by(db, actor.id, original.id).await? {
        return Ok(existing);
    }
    let visibility = if original_visibility == Visibility::Private {
        Visibility::Private
    } else {
        match visibility.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => match Visibility::parse(v)? {
                Visibility::Direct => {
                    return Err(
                        CoreError::Invalid("Visibility is not included in the list".into()).into(),
                    )
                }
                v => v,
            },
            None => match Visibility::parse(&user.default_visibility) {
                Ok(Visibility::Direct) | Err(_) => Visibility::Private,
                Ok(v) => v,
            },
        }
    };
    let reblog_id = next_id();
    let uri = format!("{}/activity", urls.status(&actor.username, reblog_id));
    let status = NewStatus {
        id: reblog_id,
        uri: uri.clone(),
        url: Some(uri),
        account_id: actor.id,
        reblog_of_id: Some(original.id),
        visibility: visibility.as_str().to_owned(),
        local: true,
        application_id,
        created_at: now_ms(),
        ..Default::default()
    };
    let published = actions::publish_reblog(db, &status).await;
    match published {
        Ok(()) => {}
        // A concurrent request reblogged it first.
        Err(StoreError::Conflict(_)) => {
            if let Some(existing) = actions::reblog_by(db, actor.id, original.id).await? {
                return Ok(existing);
            }
            return Err(CoreError::Conflict("Already reblogged".into()).into());
        }
        Err(e) => return Err(e.into()),
    }
    notify(
        db,
        original.account_id,
        actor.id,
        Kind::Reblog,
        Some(original.id),
    )
    .await?;
    fulmar_store::timelines::fan_out(db, reblog_id, actor.id, visibility.as_str()).await?;
    outbox::emit(
        db,
        Event::Announce {
            account_id: actor.id,
            reblog_id,
            status_id: original.id,
        },
    )
    .await?;
    Ok(reload(db, reblog_id).await?)
}

/// Undoes a reblog; returns the original status.
pub async fn unreblog(db: &Db, actor: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let named = load_for_undo(db, id).await?;
    let original = original_of(db, named).await?;
    match actions::reblog_by(db, actor.id, original.id).await? {
        Some(reblog) => {
            actions::delete_reblog(db, &reblog).await?;
            outbox::emit(
                db,
                Event::UndoAnnounce {
                    account_id: actor.id,
                    reblog_id: reblog.id,
                    status_id: original.id,
                },
            )
            .await?;
        }
        None => {
            if !is_visible(db, &original, Some(actor.id)).await? {
                return Err(CoreError::NotFound);
            }
        }
    }
    reload(db, original.id).await
}

/// Pins one of the author's statuses to their profile (Mastodon's
/// `StatusPinValidator` rules: no reblogs, no one else's, no direct messages, at most
/// five).
pub async fn pin(db: &Db, actor: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let status = find_visible(db, id, Some(actor.id)).await?;
    if status.reblog_of_id.is_some() {
        return Err(CoreError::Invalid("A boost cannot be pinned".into()));
    }
    if status.account_id != actor.id {
        return Err(CoreError::Invalid(
            "Someone else's post cannot be pinned".into(),
        ));
    }
    if visibility_of(&status) == Visibility::Direct {
        return Err(CoreError::Invalid(
            "Posts that are only visible to mentioned users cannot be pinned".into(),
        ));
    }
    let already = fulmar_store::statuses::viewer_flags(db, actor.id, &[status.id])
        .await?
        .pinned
        .contains(&status.id);
    if !already {
        if actions::pins_count(db, actor.id).await? >= MAX_PINS {
            return Err(CoreError::Invalid(
                "You have already pinned the maximum number of posts".into(),
            ));
        }
        actions::pin(db, next_id(), actor.id, status.id, now_ms()).await?;
    }
    Ok(status)
}

pub async fn unpin(db: &Db, actor: &AccountRow, id: &str) -> CoreResult<StatusRow> {
    let status = find_visible(db, id, Some(actor.id)).await?;
    actions::unpin(db, actor.id, status.id).await?;
    Ok(status)
}

/// A thread around a status.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Oldest first.
    pub ancestors: Vec<StatusRow>,
    /// Depth first, replies in order, the author's own thread continuations first.
    pub descendants: Vec<StatusRow>,
}

/// The thread around a status, with only what the viewer may see.
pub async fn context(db: &Db, viewer: Option<i64>, id: &str) -> CoreResult<Context> {
    let status = find_visible(db, id, viewer).await?;
    let (ancestors_limit, descendants_limit, depth) = match viewer {
        Some(_) => (
            THREAD_LIMIT_SIGNED_IN,
            THREAD_LIMIT_SIGNED_IN,
            THREAD_LIMIT_SIGNED_IN,
        ),
        None => (
            ANCESTORS_LIMIT_ANONYMOUS,
            DESCENDANTS_LIMIT_ANONYMOUS,
            DESCENDANTS_DEPTH_ANONYMOUS,
        ),
    };
    let mut ancestors = Vec::new();
    for row in actions::ancestors(db, status.id, ancestors_limit).await? {
        if can_see(db, &row, viewer).await? {
            ancestors.push(row);
        }
    }
    let rows = actions::descendants(db, status.id, depth, descendants_limit).await?;
    let mut descendants = Vec::new();
    for row in depth_first(status.id, rows) {
        if can_see(db, &row, viewer).await? {
            descendants.push(row);
        }
    }
    promote_self_replies(&mut descendants);
    Ok(Context {
        ancestors,
        descendants,
    })
}

/// Orders replies as a depth-first walk of the tree below `root`, siblings oldest
/// first (Mastodon orders by the path of ids from the root).
fn depth_first(root: i64, rows: Vec<StatusRow>) -> Vec<StatusRow> {
    let mut children: HashMap<i64, Vec<StatusRow>> = HashMap::new();
    for row in rows {
        if let Some(parent) = row.in_reply_to_id {
            children.entry(parent).or_default().push(row);
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|r| std::cmp::Reverse(r.id));
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<StatusRow> = children.remove(&root).unwrap_or_default();
    while let Some(row) = stack.pop() {
        if !seen.insert(row.id) {
            continue;
        }
        if let Some(kids) = children.remove(&row.id) {
            stack.extend(kids);
        }
        out.push(row);
    }
    out
}

/// Moves self-replies (an author continuing their own thread) to the front, keeping
/// the order otherwise (Mastodon's `promote_by!`).
fn promote_self_replies(rows: &mut Vec<StatusRow>) {
    let is_self_reply = |r: &StatusRow| r.in_reply_to_account_id == Some(r.account_id);
    let (mut front, back): (Vec<StatusRow>, Vec<StatusRow>) =
        std::mem::take(rows).into_iter().partition(is_self_reply);
    front.extend(back);
    *rows = front;
}

/// Accounts that favourited (or reblogged) a status, with their cursors.
pub async fn interacted_by(
    db: &Db,
    viewer: Option<i64>,
    id: &str,
    reblogs: bool,
    page: &PageParams,
) -> CoreResult<Vec<(i64, AccountRow)>> {
    let status = find_visible(db, id, viewer).await?;
    let status = original_of(db, status).await?;
    let pairs = if reblogs {
        actions::reblogged_by(db, status.id, page).await?
    } else {
        actions::favourited_by(db, status.id, page).await?
    };
    let ids: Vec<i64> = pairs.iter().map(|(_, a)| *a).collect();
    let mut accounts: HashMap<i64, AccountRow> = fulmar_store::accounts::by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    Ok(pairs
        .into_iter()
        .filter_map(|(cursor, account_id)| accounts.remove(&account_id).map(|a| (cursor, a)))
        .collect())
}

/// A page of the viewer's favourites or bookmarks.
#[derive(Clone, Debug, Default)]
pub struct SavedPage {
    /// `(cursor, status)` pairs, newest saved first.
    pub items: Vec<(i64, StatusRow)>,
    /// How many rows the page query returned, and the cursors of the first and last:
    /// statuses the viewer may no longer see are left out of `items`, but paging goes
    /// on from where the query stopped.
    pub raw_count: usize,
    pub first_cursor: Option<i64>,
    pub last_cursor: Option<i64>,
}

/// A page of the viewer's favourites or bookmarks.
pub async fn saved(
    db: &Db,
    viewer: i64,
    bookmarks: bool,
    page: &PageParams,
) -> CoreResult<SavedPage> {
    let pairs = if bookmarks {
        actions::bookmarks_of(db, viewer, page).await?
    } else {
        actions::favourites_of(db, viewer, page).await?
    };
    let mut out = SavedPage {
        items: Vec::with_capacity(pairs.len()),
        raw_count: pairs.len(),
        first_cursor: pairs.first().map(|(c, _)| *c),
        last_cursor: pairs.last().map(|(c, _)| *c),
    };
    let ids: Vec<i64> = pairs.iter().map(|(_, s)| *s).collect();
    let mut rows: HashMap<i64, StatusRow> = fulmar_store::statuses::by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    for (cursor, status_id) in pairs {
        if let Some(row) = rows.remove(&status_id) {
            if is_visible(db, &row, Some(viewer)).await? {
                out.items.push((cursor, row));
            }
        }
    }
    Ok(out)
}

/// Several statuses by id, in the order asked, leaving out those not found or not
/// visible (`GET /api/v1/statuses?id[]=`).
pub async fn many(db: &Db, viewer: Option<i64>, ids: &[String]) -> CoreResult<Vec<StatusRow>> {
    let mut wanted: Vec<i64> = Vec::new();
    for id in ids.iter().filter_map(|s| parse_id(s.trim())) {
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    let mut rows: HashMap<i64, StatusRow> = fulmar_store::statuses::by_ids(db, &wanted)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut out = Vec::new();
    for id in wanted {
        if let Some(row) = rows.remove(&id) {
            if is_visible(db, &row, viewer).await? {
                out.push(row);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, parent: Option<i64>, account: i64, parent_account: Option<i64>) -> StatusRow {
        StatusRow {
            id,
            uri: String::new(),
            url: None,
            account_id: account,
            in_reply_to_id: parent,
            in_reply_to_account_id: parent_account,
            in_reply_to_uri: None,
            reblog_of_id: None,
            quote_of_id: None,
            content: String::new(),
            text: None,
            spoiler_text: String::new(),
            sensitive: false,
            visibility: "public".into(),
            language: None,
            context_uri: None,
            local: true,
            application_id: None,
            poll_id: None,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
            created_at: 0,
            edited_at: None,
            deleted_at: None,
            quote_state: None,
            quotes_count: 0,
            quote_policy: "public".into(),
            version: 0,
        }
    }

    #[test]
    fn threads_are_walked_depth_first_with_self_replies_first() {
        // 1 (by A) ← 2 (B) ← 4 (A); 1 ← 3 (A, self-reply); 3 ← 5 (C)
        let rows = vec![
            row(5, Some(3), 3, Some(1)),
            row(2, Some(1), 2, Some(1)),
            row(4, Some(2), 1, Some(2)),
            row(3, Some(1), 1, Some(1)),
        ];
        let mut ordered = depth_first(1, rows);
        assert_eq!(
            ordered.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![2, 4, 3, 5]
        );
        promote_self_replies(&mut ordered);
        assert_eq!(
            ordered.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![3, 2, 4, 5]
        );
    }

    #[test]
    fn languages_follow_mastodon() {
        assert_eq!(valid_language(Some("en")), Some("en".into()));
        assert_eq!(valid_language(Some("en-US")), Some("en".into()));
        assert_eq!(valid_language(Some("FR")), Some("fr".into()));
        assert_eq!(valid_language(Some("xx")), None);
        assert_eq!(valid_language(Some("")), None);
        assert_eq!(valid_language(None), None);
    }

    #[test]
    fn visibilities_parse() {
        assert_eq!(Visibility::parse("private").unwrap(), Visibility::Private);
        assert!(matches!(
            Visibility::parse("secret"),
            Err(CoreError::Invalid(m)) if m == "Visibility is not included in the list"
        ));
    }

    #[test]
    fn long_idempotency_keys_are_hashed() {
        assert_eq!(idempotency_key("abc"), "abc");
        let long = "k".repeat(500);
        assert!(idempotency_key(&long).starts_with("sha256:"));
        assert_eq!(idempotency_key(&long).len(), 7 + 64);
    }
}
