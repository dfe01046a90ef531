//! Statuses from other servers: reading an object document into what is stored, and
//! the one path that stores it, whether it was fetched (`resolve::resolve_status`) or
//! pushed (a `Create` in the inbox), so that both are stored identically; and edits
//! (`Update`) applied to a stored one.
//!
//! What is shown follows Mastodon: a Note or Question shows its `content`; the other
//! types it converts (Article, Page, Image, Video, Audio, Event) show their title, a
//! summary and a link to the original, because their full content is written for
//! another kind of reader. A Question becomes a poll.

use fulmar_federation::from_activitypub::{self as ap, parse_object, ParseError, RemoteObject};
use fulmar_store::accounts::AccountRow;
use fulmar_store::remote::{self, NewMedia, RemotePoll};
use fulmar_store::status_actions::{self as actions, NewEdit, NewMention, NewTag, Publish};
use fulmar_store::statuses::{NewStatus, StatusRow};
use fulmar_store::StoreError;
use serde_json::{json, Value};

use super::formatting::{escape_html, normalize_tag, sanitize};
use super::ids::{id_at, next_id};
use super::resolve::{self, ResolveError, ResolveResult};
use super::statuses::valid_language;
use super::time::now_ms;
use crate::state::App;

/// The types shown as a title with a link rather than with their content.
pub const CONVERTED_TYPES: &[&str] = &["Article", "Page", "Image", "Video", "Audio", "Event"];

/// An object document read for storing: the tolerant [`RemoteObject`] plus what only
/// some types or servers carry.
#[derive(Clone, Debug, Default)]
pub struct ObjectDoc {
    pub obj: RemoteObject,
    /// The poll of a Question.
    pub poll: Option<PollSpec>,
    /// Plain text to show when there is no `content` (Misskey's `_misskey_content`,
    /// or a `source` as Lemmy and Misskey send it).
    pub fallback_text: Option<String>,
    /// Lemmy's `language: {identifier}`, used when there is no `contentMap`.
    pub language_identifier: Option<String>,
}

/// A Question's options and counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollSpec {
    pub multiple: bool,
    pub options: Vec<String>,
    pub tallies: Vec<i64>,
    pub voters_count: Option<i64>,
    pub expires_at: Option<i64>,
}

/// How many options of a remote poll are kept (Mastodon's limit is 4 for local polls;
/// other servers allow more, so a larger bound that still keeps rows small).
const MAX_POLL_OPTIONS: usize = 20;

/// How many mentions, addressees and hashtags of one object are looked at. Each costs
/// a lookup, and real posts stay far below; the rest are ignored.
pub const MAX_TAGS: usize = 100;

/// Ids tried for a received status before its job is retried later: see
/// [`store_remote_object`].
const ID_ATTEMPTS: i64 = 8;

/// Reads an object document (Note, Question, Article, ...).
pub fn read_object(doc: &Value) -> Result<ObjectDoc, ParseError> {
    let obj = parse_object(doc)?;
    let o = doc.as_object();
    let get = |k: &str| o.and_then(|o| o.get(k));
    let fallback_text = get("_misskey_content")
        .and_then(Value::as_str)
        .or_else(|| {
            get("source")
                .and_then(|s| s.get("content"))
                .and_then(Value::as_str)
        })
        .or_else(|| get("source").and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned);
    let language_identifier = get("language")
        .and_then(|l| l.get("identifier"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let poll = if obj.kind == "Question" {
        read_poll(doc)
    } else {
        None
    };
    Ok(ObjectDoc {
        obj,
        poll,
        fallback_text,
        language_identifier,
    })
}

/// The poll of a Question: `oneOf` (one choice) or `anyOf` (several), each option a
/// Note with a `name` and `replies.totalItems`; `endTime`, or `closed` once it ended.
fn read_poll(doc: &Value) -> Option<PollSpec> {
    let (items, multiple) = match (doc.get("anyOf"), doc.get("oneOf")) {
        (Some(any), _) if !any.is_null() => (any, true),
        (_, Some(one)) => (one, false),
        _ => return None,
    };
    let items: Vec<&Value> = match items {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![items],
        _ => Vec::new(),
    };
    let mut options = Vec::new();
    let mut tallies = Vec::new();
    for item in items.into_iter().take(MAX_POLL_OPTIONS) {
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            continue;
        };
        options.push(name.to_owned());
        let count = item
            .get("replies")
            .and_then(|r| r.get("totalItems"))
            .and_then(count_of)
            .unwrap_or(0);
        tallies.push(count.max(0));
    }
    if options.is_empty() {
        return None;
    }
    let time = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .and_then(resolve::parse_time)
    };
    let closed = match doc.get("closed") {
        Some(Value::Bool(true)) => Some(now_ms()),
        _ => time("closed"),
    };
    Some(PollSpec {
        multiple,
        options,
        tallies,
        voters_count: doc.get("votersCount").and_then(count_of).map(|n| n.max(0)),
        expires_at: closed.or_else(|| time("endTime")),
    })
}

/// A count written as a number or a numeric string.
fn count_of(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Plain text as HTML paragraphs, as Mastodon shows text without markup.
fn text_to_html(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let lines: Vec<String> = p
                .trim()
                .lines()
                .map(|l| escape_html(l).into_owned())
                .collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

/// What a stored status shows for an object: (content HTML, spoiler text, sensitive).
pub fn shown(doc: &ObjectDoc) -> (String, String, bool) {
    let obj = &doc.obj;
    let mut html = obj.html();
    if html.trim().is_empty() {
        if let Some(text) = &doc.fallback_text {
            html = text_to_html(text);
        }
    }
    let summary = obj.summary.clone().unwrap_or_default();
    if CONVERTED_TYPES.contains(&obj.kind.as_str()) {
        // The title, then the summary (or, without one, the content), then the link.
        let mut parts = Vec::new();
        if let Some(title) = obj.name.as_deref().filter(|t| !t.trim().is_empty()) {
            parts.push(format!(
                "<p><strong>{}</strong></p>",
                escape_html(title.trim())
            ));
        }
        if !summary.trim().is_empty() {
            parts.push(text_to_html(&summary));
        } else if !html.trim().is_empty() {
            parts.push(html);
        }
        let link = obj.url.clone().unwrap_or_else(|| obj.id.clone());
        let link = escape_html(&link);
        parts.push(format!(
            "<p><a href=\"{link}\" rel=\"nofollow noopener\" target=\"_blank\">{link}</a></p>"
        ));
        return (sanitize(&parts.concat()), String::new(), obj.sensitive);
    }
    let sensitive = obj.sensitive || !summary.trim().is_empty();
    (sanitize(&html), summary, sensitive)
}

/// The language of an object, when it names a known one.
fn language_of(doc: &ObjectDoc) -> Option<String> {
    valid_language(doc.obj.language().as_deref())
        .or_else(|| valid_language(doc.language_identifier.as_deref()))
}

/// A status named by URI that is stored here already: one of ours (by its URL) or a
/// remote one. Nothing is fetched.
pub async fn known_status(app: &App, uri: &str) -> ResolveResult<Option<StatusRow>> {
    if uri.starts_with(app.urls.base()) {
        return match resolve::local_status(app, uri).await {
            Ok(row) => Ok(Some(row)),
            Err(ResolveError::NotFound) => Ok(None),
            Err(e) => Err(e),
        };
    }
    Ok(remote::status_by_uri(&app.db, uri).await?)
}

/// The accounts an object mentions that are known here: local ones by their actor or
/// profile URL, remote ones when stored (unknown ones are not fetched).
pub async fn mentioned_accounts(app: &App, obj: &RemoteObject) -> ResolveResult<Vec<AccountRow>> {
    let mut out: Vec<AccountRow> = Vec::new();
    for href in obj.mentions.iter().take(MAX_TAGS) {
        let found = if let Some(name) = app.urls.username_of(href) {
            fulmar_store::accounts::local_by_username(&app.db, &name).await?
        } else {
            fulmar_store::accounts::by_uri(&app.db, href).await?
        };
        if let Some(acc) = found {
            if !out.iter().any(|a| a.id == acc.id) {
                out.push(acc);
            }
        }
    }
    Ok(out)
}

/// The known accounts in an object's `to` and `cc` (not collections, which are not
/// stored as accounts). Nothing is fetched.
async fn addressed_accounts(app: &App, obj: &RemoteObject) -> ResolveResult<Vec<i64>> {
    let mut out = Vec::new();
    for target in obj.to.iter().chain(&obj.cc).take(MAX_TAGS) {
        if ap::is_public(target) {
            continue;
        }
        let found = if let Some(name) = app.urls.username_of(target) {
            fulmar_store::accounts::local_by_username(&app.db, &name).await?
        } else {
            fulmar_store::accounts::by_uri(&app.db, target).await?
        };
        if let Some(acc) = found {
            if !out.contains(&acc.id) {
                out.push(acc.id);
            }
        }
    }
    Ok(out)
}

fn new_tags(obj: &RemoteObject) -> Vec<NewTag> {
    let mut tags: Vec<NewTag> = Vec::new();
    for name in obj.hashtags.iter().take(MAX_TAGS) {
        let display = name.trim();
        if display.is_empty() || display.len() > 100 {
            continue;
        }
        let normal = normalize_tag(display);
        if tags.iter().any(|t| t.name == normal) {
            continue;
        }
        tags.push(NewTag {
            id: next_id(),
            name: normal,
            display_name: display.to_owned(),
        });
    }
    tags
}

/// The visibility of an object by Mastodon's rules (see `ap::visibility`).
pub fn visibility_of(obj: &RemoteObject, author: &AccountRow) -> &'static str {
    ap::visibility(obj, author.followers_url.as_deref())
}

/// The status row of a remote object by `author`, replying to `parent` (when known),
/// with an id drawn for its publication time. Shared by [`store_remote_object`] and
/// the inbox's batches of plain `Create`s (`activitypub::receive::batch`), so that a
/// status is the same row whichever way it arrived.
pub fn new_status(doc: &ObjectDoc, author: &AccountRow, parent: Option<&StatusRow>) -> NewStatus {
    let obj = &doc.obj;
    let published = obj
        .published
        .as_deref()
        .and_then(resolve::parse_time)
        // A date in the future would pin the status to the top of every timeline.
        .map(|t| t.min(now_ms()))
        .unwrap_or_else(now_ms);
    let (content, spoiler_text, sensitive) = shown(doc);
    NewStatus {
        id: id_at(published),
        uri: obj.id.clone(),
        url: obj.url.clone(),
        account_id: author.id,
        in_reply_to_id: parent.map(|p| p.id),
        in_reply_to_account_id: parent.map(|p| p.account_id),
        in_reply_to_uri: obj.in_reply_to.clone(),
        reblog_of_id: None,
        content,
        text: None,
        spoiler_text,
        sensitive,
        visibility: visibility_of(obj, author).to_owned(),
        language: language_of(doc),
        context_uri: obj
            .context
            .clone()
            .or(obj.conversation.clone())
            .or_else(|| parent.and_then(|p| p.context_uri.clone())),
        local: false,
        application_id: None,
        created_at: published,
    }
}

/// Whether storing an object needs nothing but its status row (and its author's
/// counter and the feeds): a `Note` that replies to nothing and has no mentions,
/// hashtags, attachments, poll or quote. [`store_remote_object`] would add no other
/// row for it, which is what lets the inbox store a batch of them in one transaction.
pub fn is_plain_note(doc: &ObjectDoc) -> bool {
    let obj = &doc.obj;
    obj.kind == "Note"
        && obj.in_reply_to.is_none()
        && obj.mentions.is_empty()
        && obj.hashtags.is_empty()
        && obj.attachments.is_empty()
        && obj.quote.is_none()
        && obj.quote_authorization.is_none()
        && doc.poll.is_none()
}

/// Stores a remote object as a status by `author`, with its mentions, hashtags, title,
/// media and poll. Returns the stored row and whether it is new; an object stored already
/// (by URI) is returned as it is. Nobody is notified here and no feed is touched: that
/// is for the caller (a pushed `Create` distributes, a fetch does not).
pub async fn store_remote_object(
    app: &App,
    doc: &ObjectDoc,
    author: &AccountRow,
) -> ResolveResult<(StatusRow, bool)> {
    let obj = &doc.obj;
    if let Some(row) = remote::status_by_uri(&app.db, &obj.id).await? {
        return Ok((row, false));
    }
    let visibility = visibility_of(obj, author);
    let parent = match obj.in_reply_to.as_deref() {
        Some(uri) => known_status(app, uri).await?,
        None => None,
    };
    let mut new = new_status(doc, author, parent.as_ref());
    let published = new.created_at;
    let mentions: Vec<NewMention> = mentioned_accounts(app, obj)
        .await?
        .into_iter()
        .map(|a| NewMention {
            id: next_id(),
            account_id: a.id,
        })
        .collect();
    let tags = new_tags(obj);
    let distributable = visibility == "public" || visibility == "unlisted";
    let poll = doc.poll.as_ref().map(|p| remote_poll(author.id, p));
    let media = new_media(obj);
    let mut attempt = 0;
    loop {
        // The media and the poll go in with the status: a status seen without them for
        // a moment would show as text only (or `poll: null`) in a client that fetched
        // it then.
        let stored = actions::publish_with(
            &app.db,
            &Publish {
                status: &new,
                mentions: &mentions,
                tags: &tags,
                counts_for_author: visibility != "direct",
                counts_as_reply: distributable,
            },
            &media,
            poll.as_ref(),
        )
        .await;
        match stored {
            Ok(()) => break,
            Err(StoreError::Conflict(what)) => {
                // Stored meanwhile by another job.
                if let Some(row) = remote::status_by_uri(&app.db, &obj.id).await? {
                    return Ok((row, false));
                }
                // Not this object: the id drawn for its time was taken. `published` has
                // whole seconds from most servers, so every post of one second shares
                // its millisecond and its 65,536 ids, and a burst of a few thousand
                // posts draws some id twice (about 4 % of 5,000). Draw again, a
                // millisecond later each time, so that even a full millisecond is left.
                attempt += 1;
                if attempt >= ID_ATTEMPTS {
                    return Err(StoreError::Conflict(what).into());
                }
                new.id = id_at(published + attempt);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let id = new.id;
    if obj.kind != "Note" {
        remote::set_object_type(&app.db, id, &obj.kind, obj.name.as_deref()).await?;
    }
    // Accounts it is addressed to without a Mention tag may see it all the same.
    let silent: Vec<(i64, i64)> = addressed_accounts(app, obj)
        .await?
        .into_iter()
        .filter(|a| !mentions.iter().any(|m| m.account_id == *a))
        .map(|a| (next_id(), a))
        .collect();
    remote::add_silent_mentions(&app.db, id, &silent).await?;
    let mut row = fulmar_store::statuses::by_id(&app.db, id)
        .await?
        .ok_or(ResolveError::NotFound)?;
    // Replies that arrived before this status now find their parent.
    super::threads::link_orphans(app, &row).await?;
    if let Some(quoted) = super::quotes::link_received(
        app,
        &row,
        obj.quote.as_deref(),
        obj.quote_authorization.as_deref(),
    )
    .await
    {
        row.quote_of_id = Some(quoted);
    }
    Ok((row, true))
}

/// A Question's poll as stored.
fn remote_poll(author_id: i64, poll: &PollSpec) -> RemotePoll {
    // One choice per voter: the number of voters is the number of votes, when the
    // Question does not say.
    let voters_count = poll
        .voters_count
        .or_else(|| (!poll.multiple).then(|| poll.tallies.iter().sum()));
    RemotePoll {
        id: next_id(),
        account_id: author_id,
        multiple: poll.multiple,
        options: poll.options.clone(),
        tallies: poll.tallies.clone(),
        voters_count,
        expires_at: poll.expires_at,
    }
}

async fn store_poll(
    app: &App,
    status_id: i64,
    author_id: i64,
    poll: &PollSpec,
) -> ResolveResult<()> {
    remote::upsert_poll(&app.db, status_id, &remote_poll(author_id, poll), now_ms()).await?;
    Ok(())
}

/// Mastodon's attachment type for a remote file: by its media type when it names one
/// (a GIF stays an image, as Mastodon only makes gifv of files it converts), else by
/// the AS2 type; a Document of unknown kind is `unknown`, shown as a link.
pub fn media_type_of(kind: &str, media_type: Option<&str>) -> &'static str {
    let major = media_type
        .and_then(|m| m.split('/').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match major.as_deref() {
        Some("image") => "image",
        Some("video") => "video",
        Some("audio") => "audio",
        _ => match kind {
            "Image" => "image",
            "Video" => "video",
            "Audio" => "audio",
            _ => "unknown",
        },
    }
}

/// The media rows of an object's attachments (at most `ap::MAX_ATTACHMENTS`, already
/// cut by the parser), with Mastodon's `meta`: the original size when the sender gave
/// it, and the focus point.
pub fn new_media(obj: &RemoteObject) -> Vec<NewMedia> {
    obj.attachments
        .iter()
        .map(|a| {
            let mut meta = serde_json::Map::new();
            if let (Some(w), Some(h)) = (a.width, a.height) {
                meta.insert(
                    "original".into(),
                    json!({
                        "width": w, "height": h, "size": format!("{w}x{h}"),
                        "aspect": w as f64 / h as f64,
                    }),
                );
            }
            if let Some((x, y)) = a.focal_point {
                meta.insert("focus".into(), json!({"x": x, "y": y}));
            }
            NewMedia {
                id: next_id(),
                media_type: media_type_of(&a.kind, a.media_type.as_deref()).to_owned(),
                content_type: a.media_type.clone(),
                remote_url: a.url.clone(),
                description: a.name.clone(),
                blurhash: a.blurhash.clone(),
                meta: Value::Object(meta).to_string(),
            }
        })
        .collect()
}

/// Whether the stored media of a status differ from an object's attachments (in
/// files, order, alt text or focus), so that an `Update` must replace them.
async fn media_changed(app: &App, status_id: i64, media: &[NewMedia]) -> ResolveResult<bool> {
    let stored = remote::media_by_status_ids(&app.db, &[status_id]).await?;
    let key = |url: Option<&str>, desc: Option<&str>, meta: &str| {
        (
            url.map(str::to_owned),
            desc.map(str::to_owned),
            meta.to_owned(),
        )
    };
    let before: Vec<_> = stored
        .iter()
        .map(|m| key(m.remote_url.as_deref(), m.description.as_deref(), &m.meta))
        .collect();
    let after: Vec<_> = media
        .iter()
        .map(|m| key(Some(&m.remote_url), m.description.as_deref(), &m.meta))
        .collect();
    Ok(before != after)
}

/// What an edit changed.
#[derive(Debug, Default)]
pub struct Edited {
    /// The content, spoiler, sensitivity or language changed: a new version.
    pub changed: bool,
    /// Accounts mentioned now that were not before.
    pub newly_mentioned: Vec<i64>,
}

/// Applies an `Update` of a stored remote status: refreshes its poll, and records a
/// new version (the original first, on the first edit) when what it shows changed.
/// The visibility never changes, as in Mastodon.
pub async fn apply_remote_edit(
    app: &App,
    status: &StatusRow,
    doc: &ObjectDoc,
    author: &AccountRow,
) -> ResolveResult<Edited> {
    let obj = &doc.obj;
    // What the status showed before this Update, for the version recorded first.
    let (old_media, old_poll) = super::statuses::version_extras(&app.db, status).await?;
    if let Some(poll) = &doc.poll {
        store_poll(app, status.id, author.id, poll).await?;
    }
    let (content, spoiler_text, sensitive) = shown(doc);
    let language = language_of(doc).or_else(|| status.language.clone());
    // Changed attachments are an edit too (Mastodon records one for them); the
    // current list is replaced, and each recorded version keeps a copy of its own.
    let media = new_media(obj);
    let media_changed = media_changed(app, status.id, &media).await?;
    if media_changed {
        remote::replace_media(&app.db, status.id, author.id, &media, now_ms()).await?;
    }
    let changed = content != status.content
        || spoiler_text != status.spoiler_text
        || sensitive != status.sensitive
        || language != status.language
        || media_changed;
    let mut edited = Edited {
        changed,
        newly_mentioned: Vec::new(),
    };
    if !changed {
        return Ok(edited);
    }
    let now = now_ms();
    let edited_at = obj
        .updated
        .as_deref()
        .and_then(resolve::parse_time)
        .map(|t| t.min(now))
        .unwrap_or(now);
    let mut versions = Vec::new();
    if actions::edits_of(&app.db, status.id).await?.is_empty() {
        versions.push(NewEdit {
            id: next_id(),
            account_id: author.id,
            content: status.content.clone(),
            text: None,
            spoiler_text: status.spoiler_text.clone(),
            sensitive: status.sensitive,
            media: old_media,
            poll_options: old_poll,
            created_at: status.created_at,
        });
    }
    // The status row's poll id may be new (a poll added by the Update).
    let current = fulmar_store::statuses::by_id(&app.db, status.id)
        .await?
        .unwrap_or_else(|| status.clone());
    let (media, poll_options) = super::statuses::version_extras(&app.db, &current).await?;
    versions.push(NewEdit {
        id: next_id(),
        account_id: author.id,
        content: content.clone(),
        text: None,
        spoiler_text: spoiler_text.clone(),
        sensitive,
        media,
        poll_options,
        created_at: edited_at,
    });
    actions::apply_edit(
        &app.db,
        status.id,
        &actions::StatusUpdate {
            content,
            text: None,
            spoiler_text,
            sensitive,
            language,
            edited_at,
        },
        &versions,
    )
    .await?;
    if obj.kind != "Note" {
        remote::set_object_type(&app.db, status.id, &obj.kind, obj.name.as_deref()).await?;
    }
    actions::set_tags(&app.db, status.id, &new_tags(obj), now).await?;
    let mentions: Vec<NewMention> = mentioned_accounts(app, obj)
        .await?
        .into_iter()
        .map(|a| NewMention {
            id: next_id(),
            account_id: a.id,
        })
        .collect();
    edited.newly_mentioned = actions::add_mentions(&app.db, status.id, &mentions).await?;
    Ok(edited)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn questions_become_polls() {
        let doc = read_object(&json!({
            "id": "https://x.example/q/1", "type": "Question",
            "attributedTo": "https://x.example/users/a",
            "content": "<p>Which?</p>",
            "endTime": "2030-01-01T00:00:00Z",
            "votersCount": 7,
            "anyOf": [
                {"type": "Note", "name": "A", "replies": {"type": "Collection", "totalItems": 4}},
                {"type": "Note", "name": "B", "replies": {"totalItems": "5"}},
                {"type": "Note"}
            ]
        }))
        .unwrap();
        let poll = doc.poll.unwrap();
        assert!(poll.multiple);
        assert_eq!(poll.options, vec!["A", "B"]);
        assert_eq!(poll.tallies, vec![4, 5]);
        assert_eq!(poll.voters_count, Some(7));
        assert_eq!(poll.expires_at, resolve::parse_time("2030-01-01T00:00:00Z"));
    }

    #[test]
    fn media_types_come_from_the_media_type_then_the_as2_type() {
        assert_eq!(media_type_of("Document", Some("image/gif")), "image");
        assert_eq!(media_type_of("Document", Some("Video/MP4")), "video");
        assert_eq!(media_type_of("Image", Some("audio/ogg")), "audio");
        assert_eq!(media_type_of("Video", None), "video");
        assert_eq!(
            media_type_of("Document", Some("application/pdf")),
            "unknown"
        );
        let doc = read_object(&json!({
            "id": "https://x.example/n/1", "type": "Note",
            "attributedTo": "https://x.example/users/a",
            "attachment": [
                {"type": "Document", "mediaType": "image/png", "url": "https://x.example/1.png",
                 "width": 400, "height": 200, "focalPoint": [0.0, 1.0]},
                {"type": "Document", "url": "https://x.example/2.bin"}
            ]
        }))
        .unwrap();
        let media = new_media(&doc.obj);
        let meta: Value = serde_json::from_str(&media[0].meta).unwrap();
        assert_eq!(
            meta,
            json!({"original": {"width": 400, "height": 200, "size": "400x200", "aspect": 2.0},
                   "focus": {"x": 0.0, "y": 1.0}})
        );
        assert_eq!(media[1].meta, "{}");
        assert_eq!(media[1].media_type, "unknown");
    }

    #[test]
    fn converted_types_show_title_summary_and_link() {
        let doc = read_object(&json!({
            "id": "https://x.example/a/1", "type": "Article",
            "attributedTo": "https://x.example/users/a",
            "name": "A <title>", "summary": "Short.",
            "content": "<p>Very long</p>",
            "url": "https://x.example/a/1.html"
        }))
        .unwrap();
        let (html, spoiler, _) = shown(&doc);
        assert!(html.contains("<strong>A &lt;title&gt;</strong>"), "{html}");
        assert!(html.contains("Short."), "{html}");
        assert!(!html.contains("Very long"), "{html}");
        assert!(html.contains("https://x.example/a/1.html"), "{html}");
        assert_eq!(spoiler, "");
    }

    #[test]
    fn misskey_source_is_only_a_fallback() {
        let with = read_object(&json!({
            "id": "https://m.example/n/1", "type": "Note",
            "attributedTo": "https://m.example/users/a",
            "content": "<p>html</p>", "_misskey_content": "mfm"
        }))
        .unwrap();
        assert_eq!(shown(&with).0, "<p>html</p>");
        let without = read_object(&json!({
            "id": "https://m.example/n/2", "type": "Note",
            "attributedTo": "https://m.example/users/a",
            "_misskey_content": "a <b>\nline"
        }))
        .unwrap();
        assert_eq!(shown(&without).0, "<p>a &lt;b&gt;<br />line</p>");
    }
}
