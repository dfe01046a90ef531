//! The viewer-independent part of rendered statuses, kept in memory as JSON and
//! checked against the database on every use.
//!
//! A page of forty statuses spent most of its time reading each status's 29 columns,
//! its mentions, tags and media, and escaping its content into JSON, although a status
//! changes far less often than it is shown. As for accounts (`account_cache`), what
//! does not depend on the viewer is kept here, already written as JSON, under the
//! status's `version`: a column that database triggers increase on every change to the
//! row and to its media attachments, mentions and hashtags (migration 0013). A page
//! reads only the `(id, version)` of its statuses and renders the rows whose version
//! differs from the one kept. Since the version lives in the database, a change made
//! anywhere (another request, the worker, `fulmar admin`, another node) is seen at
//! once.
//!
//! What is kept is the JSON of the Status entity's fields cut into four runs of
//! consecutive keys, around the keys that are written per request: the author
//! (`account`, from the account cache, which checks its own version), `application`
//! (shown to the author only), `mentions` (the mentioned accounts can change without
//! the status changing), `reblog`, `poll` (whose `expired` depends on the time and
//! `voted` on the viewer), `quote` and `quote_approval` (which depend on the viewer),
//! and the viewer's flags. [`to_mastodon::statuses_json`](super::to_mastodon) splices
//! them into the same bytes as serializing the [`Status`] entity would give.
//!
//! Memory is bounded: past [`MAX_BYTES`] of kept JSON (an estimate that includes a
//! fixed overhead per entry) the whole cache is emptied and fills again with what is
//! shown next, which keeps the bound without bookkeeping on the read path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fulmar_store::statuses::StatusRow;
use serde::Serialize;

use super::entities::{MediaAttachment, Status, Tag};

/// At most about this many bytes of rendered statuses are kept: 4,000 statuses of
/// 1 kB each, or fewer longer ones.
pub const MAX_BYTES: usize = 4 << 20;

/// What an entry costs besides its JSON: the kept row's fixed part and strings, the
/// map's slot, the `Arc` and the boxes' headers.
const ENTRY_OVERHEAD: usize = 512;

/// One status's viewer-independent JSON, and what of its row the per-request part
/// needs (its content, text and spoiler text are emptied: they are in the JSON).
#[derive(Debug)]
pub struct CachedStatus {
    pub row: StatusRow,
    /// The accounts of its visible mentions, in order.
    pub mention_ids: Vec<i64>,
    /// `"id":…,"uri":…,"url":…,"created_at":…`
    pub head: Box<str>,
    /// `"content":…,"visibility":…,"sensitive":…,"spoiler_text":…,"media_attachments":…`
    pub body: Box<str>,
    /// `"tags":…` to `"in_reply_to_account_id":…`
    pub middle: Box<str>,
    /// `"card":…,"language":…,"text":…,"edited_at":…`
    pub tail: Box<str>,
}

// The runs of keys, in the order of the `Status` entity's fields. A test in
// `to_mastodon` checks that the spliced JSON equals the entity's.
#[derive(Serialize)]
struct Head<'a> {
    id: &'a str,
    uri: &'a str,
    url: &'a Option<String>,
    created_at: &'a str,
}

#[derive(Serialize)]
struct Body<'a> {
    content: &'a str,
    visibility: &'a str,
    sensitive: bool,
    spoiler_text: &'a str,
    media_attachments: &'a [MediaAttachment],
}

#[derive(Serialize)]
struct Middle<'a> {
    tags: &'a [Tag],
    emojis: &'a [super::entities::CustomEmoji],
    reblogs_count: i64,
    favourites_count: i64,
    replies_count: i64,
    quotes_count: i64,
    in_reply_to_id: &'a Option<String>,
    in_reply_to_account_id: &'a Option<String>,
}

#[derive(Serialize)]
struct Tail<'a> {
    card: &'a Option<serde_json::Value>,
    language: &'a Option<String>,
    text: &'a Option<String>,
    edited_at: &'a Option<String>,
}

/// The members of a JSON object, without its braces.
fn members(value: &impl Serialize) -> Box<str> {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    json.get(1..json.len().saturating_sub(1))
        .unwrap_or_default()
        .into()
}

impl CachedStatus {
    /// Keeps the viewer-independent fields of `entity`, rendered from `row`.
    pub fn new(entity: &Status, mut row: StatusRow, mention_ids: Vec<i64>) -> Self {
        let head = members(&Head {
            id: &entity.id,
            uri: &entity.uri,
            url: &entity.url,
            created_at: &entity.created_at,
        });
        let body = members(&Body {
            content: &entity.content,
            visibility: &entity.visibility,
            sensitive: entity.sensitive,
            spoiler_text: &entity.spoiler_text,
            media_attachments: &entity.media_attachments,
        });
        let middle = members(&Middle {
            tags: &entity.tags,
            emojis: &entity.emojis,
            reblogs_count: entity.reblogs_count,
            favourites_count: entity.favourites_count,
            replies_count: entity.replies_count,
            quotes_count: entity.quotes_count,
            in_reply_to_id: &entity.in_reply_to_id,
            in_reply_to_account_id: &entity.in_reply_to_account_id,
        });
        let tail = members(&Tail {
            card: &entity.card,
            language: &entity.language,
            text: &entity.text,
            edited_at: &entity.edited_at,
        });
        row.content = String::new();
        row.text = None;
        row.spoiler_text = String::new();
        CachedStatus {
            row,
            mention_ids,
            head,
            body,
            middle,
            tail,
        }
    }

    fn size(&self) -> usize {
        ENTRY_OVERHEAD
            + self.head.len()
            + self.body.len()
            + self.middle.len()
            + self.tail.len()
            + self.row.uri.len()
            + self.row.url.as_ref().map_or(0, String::len)
            + self.mention_ids.len() * 8
    }
}

#[derive(Default)]
pub struct StatusCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<i64, Arc<CachedStatus>>,
    bytes: usize,
}

impl StatusCache {
    /// The kept statuses among `wanted` (`(id, version)`) whose version matches;
    /// the ids of the others are returned apart.
    pub fn get(&self, wanted: &[(i64, i64)]) -> (HashMap<i64, Arc<CachedStatus>>, Vec<i64>) {
        let mut found = HashMap::with_capacity(wanted.len());
        let mut missing = Vec::new();
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for &(id, version) in wanted {
            match inner.entries.get(&id) {
                Some(entry) if entry.row.version == version => {
                    found.insert(id, entry.clone());
                }
                _ => missing.push(id),
            }
        }
        (found, missing)
    }

    /// Keeps `entries`, each under the version of the row it was rendered from. A
    /// row is read after (or with) the version a page asked for, so it is at least
    /// as new: keeping it under its own version can only cause an extra reload.
    pub fn insert(&self, entries: &[Arc<CachedStatus>]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let adding: usize = entries.iter().map(|e| e.size()).sum();
        if adding > MAX_BYTES {
            // A page of unusually long statuses is rendered again next time rather
            // than let the cache outgrow its bound.
            return;
        }
        if inner.bytes + adding > MAX_BYTES {
            inner.entries.clear();
            inner.bytes = 0;
        }
        for entry in entries {
            let size = entry.size();
            if let Some(old) = inner.entries.insert(entry.row.id, entry.clone()) {
                inner.bytes = inner.bytes.saturating_sub(old.size());
            }
            inner.bytes += size;
        }
    }

    /// How many statuses are kept (for tests).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
