//! Conversions from stored rows to ActivityPub documents. Every document Fulmar
//! publishes about its own objects is built here.

use fulmar_federation::actor::{Actor, Endpoints, Image, PropertyValue, PublicKey};
use fulmar_federation::{context, PUBLIC};
use fulmar_store::accounts::AccountRow;
use fulmar_store::statuses::StatusRow;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::core::instance::InstanceKey;
use crate::core::time::rfc3339_s;
use crate::core::urls::Urls;

/// A profile field as stored in `accounts.fields`.
#[derive(Deserialize)]
struct Field {
    name: String,
    value: String,
}

/// The actor document of a local account.
pub fn actor(account: &AccountRow, public_key_pem: &str, urls: &Urls) -> Actor {
    let name = &account.username;
    let fields: Vec<Field> = serde_json::from_str(&account.fields).unwrap_or_default();
    let also_known_as: Vec<String> =
        serde_json::from_str(&account.also_known_as).unwrap_or_default();
    Actor {
        context: context::actor(),
        // Derived from the configuration, not from the stored `uri`, like every local
        // URL (see `Urls`).
        id: urls.actor(name),
        kind: account.actor_type.clone(),
        following: Some(urls.following(name)),
        followers: Some(urls.followers(name)),
        inbox: urls.inbox(name),
        outbox: urls.outbox(name),
        featured: Some(urls.featured(name)),
        featured_tags: Some(urls.featured_tags(name)),
        preferred_username: name.clone(),
        name: account.display_name.clone(),
        summary: account.note.clone(),
        url: urls.profile(name),
        manually_approves_followers: account.locked,
        discoverable: account.discoverable,
        indexable: account.indexable,
        published: rfc3339_s(day_start(account.created_at)),
        memorial: account.memorial,
        public_key: PublicKey {
            id: urls.key_id(name),
            owner: urls.actor(name),
            public_key_pem: public_key_pem.to_owned(),
        },
        tag: Vec::new(),
        attachment: fields
            .into_iter()
            .map(|f| PropertyValue::new(f.name, f.value))
            .collect(),
        endpoints: Endpoints {
            shared_inbox: urls.shared_inbox(),
        },
        icon: account
            .avatar_url
            .clone()
            .map(|u| Image::new(media_type_of(&u), u)),
        image: account
            .header_url
            .clone()
            .map(|u| Image::new(media_type_of(&u), u)),
        also_known_as,
        moved_to: None,
        attribution_domains: Vec::new(),
    }
}

/// The instance actor (FEP-2677): an `Application` named after the domain, which
/// signs the requests no user is behind. Like Mastodon's, it asks for approval of
/// followers and is not discoverable.
pub fn instance_actor(key: &InstanceKey, urls: &Urls) -> Actor {
    let id = urls.instance_actor();
    Actor {
        context: context::actor(),
        id: id.clone(),
        kind: "Application".into(),
        following: None,
        followers: None,
        inbox: format!("{id}/inbox"),
        outbox: format!("{id}/outbox"),
        featured: None,
        featured_tags: None,
        preferred_username: urls.domain().to_owned(),
        name: urls.domain().to_owned(),
        summary: String::new(),
        url: format!("{}/", urls.base()),
        manually_approves_followers: true,
        discoverable: false,
        indexable: false,
        published: "1970-01-01T00:00:00Z".into(),
        memorial: false,
        public_key: PublicKey {
            id: urls.instance_actor_key_id(),
            owner: id,
            public_key_pem: key.public_key_pem.clone(),
        },
        tag: Vec::new(),
        attachment: Vec::new(),
        endpoints: Endpoints {
            shared_inbox: urls.shared_inbox(),
        },
        icon: None,
        image: None,
        also_known_as: Vec::new(),
        moved_to: None,
        attribution_domains: Vec::new(),
    }
}

/// Mastodon publishes an account's creation day, not its exact time, so that the
/// profile does not reveal when someone signed up to the second.
fn day_start(ms: i64) -> i64 {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    ms - ms.rem_euclid(DAY)
}

fn media_type_of(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or_default();
    match ext {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        _ => "image/jpeg",
    }
    .to_owned()
}

/// The addressing of a public or unlisted status: public statuses are addressed to
/// everyone with the followers in `cc`; unlisted the other way round.
fn addressing(status: &StatusRow, followers: &str) -> (Vec<String>, Vec<String>) {
    match status.visibility.as_str() {
        "public" => (vec![PUBLIC.into()], vec![followers.into()]),
        "unlisted" => (vec![followers.into()], vec![PUBLIC.into()]),
        "private" => (vec![followers.into()], vec![]),
        _ => (vec![], vec![]),
    }
}

/// A local status as a `Note`.
pub fn note(status: &StatusRow, author: &AccountRow, urls: &Urls) -> Value {
    let (to, cc) = addressing(status, &urls.followers(&author.username));
    let id = if status.local {
        urls.status(&author.username, status.id)
    } else {
        status.uri.clone()
    };
    let mut note = json!({
        "id": id,
        "type": "Note",
        "summary": if status.spoiler_text.is_empty() { Value::Null } else { json!(status.spoiler_text) },
        "inReplyTo": status.in_reply_to_uri,
        "published": rfc3339_s(status.created_at),
        "url": if status.local { urls.status_page(&author.username, status.id) } else { status.url.clone().unwrap_or_else(|| status.uri.clone()) },
        "attributedTo": urls.actor(&author.username),
        "to": to,
        "cc": cc,
        "sensitive": status.sensitive,
        "content": status.content,
        "attachment": [],
        "tag": [],
    });
    if status.local {
        // The thread, for others to fill in theirs: the direct replies (FEP-f228) and
        // the whole thread (FEP-7888 `context`, and the same value as Mastodon's
        // `conversation`). A status that starts a thread, or whose thread has no known
        // context, names its own context collection.
        note["replies"] = json!(format!("{id}/replies"));
        let context = status
            .context_uri
            .clone()
            .unwrap_or_else(|| format!("{id}/context"));
        note["context"] = json!(context);
        note["conversation"] = json!(context);
    }
    if let Some(lang) = &status.language {
        note["contentMap"] = json!({ lang: status.content });
    }
    if let Some(edited) = status.edited_at {
        note["updated"] = json!(rfc3339_s(edited));
    }
    note
}

/// An outbox item: a `Create` wrapping the status, or an `Announce` for a reblog.
pub fn outbox_item(
    status: &StatusRow,
    author: &AccountRow,
    reblogged_uri: Option<&str>,
    urls: &Urls,
) -> Value {
    let (to, cc) = addressing(status, &urls.followers(&author.username));
    let uri = if status.local {
        urls.status(&author.username, status.id)
    } else {
        status.uri.clone()
    };
    match (status.reblog_of_id, reblogged_uri) {
        (Some(_), Some(object)) => json!({
            "id": format!("{uri}/activity"),
            "type": "Announce",
            "actor": urls.actor(&author.username),
            "published": rfc3339_s(status.created_at),
            "to": to,
            "cc": cc,
            "object": object,
        }),
        _ => json!({
            "id": format!("{uri}/activity"),
            "type": "Create",
            "actor": urls.actor(&author.username),
            "published": rfc3339_s(status.created_at),
            "to": to,
            "cc": cc,
            "object": note(status, author, urls),
        }),
    }
}

// ---- activities for the outbox (built by the `outbox` worker) ----
//
// Ids are stable (derived from the objects, not from the time of sending), so a
// delivery repeated after a crash is recognised as a duplicate by the receiver.

/// A mentioned account, for addressing and `Mention` tags.
pub struct Mentioned {
    pub uri: String,
    /// `@user@domain`, or `@user` for local accounts.
    pub acct: String,
}

/// The id of a status: derived from the configuration for local ones.
pub fn status_id(status: &StatusRow, author: &AccountRow, urls: &Urls) -> String {
    if status.local {
        urls.status(&author.username, status.id)
    } else {
        status.uri.clone()
    }
}

/// A local status as a `Note` with its mentions: tagged, and addressed (`to` for a
/// direct status, `cc` otherwise).
pub fn note_with_mentions(
    status: &StatusRow,
    author: &AccountRow,
    mentions: &[Mentioned],
    urls: &Urls,
) -> Value {
    let mut note = note(status, author, urls);
    let field = if status.visibility == "direct" {
        "to"
    } else {
        "cc"
    };
    if let Some(list) = note[field].as_array_mut() {
        for m in mentions {
            if !list.iter().any(|v| v == m.uri.as_str()) {
                list.push(json!(m.uri));
            }
        }
    }
    note["tag"] = mentions
        .iter()
        .map(|m| json!({"type": "Mention", "href": m.uri, "name": m.acct}))
        .collect();
    note
}

fn with_context(mut activity: Value) -> Value {
    if let Value::Object(map) = &mut activity {
        map.insert(
            "@context".into(),
            json!(["https://www.w3.org/ns/activitystreams"]),
        );
    }
    activity
}

/// `Create{Note}` of a local status.
pub fn create_note(note: Value) -> Value {
    let id = note["id"].as_str().unwrap_or_default().to_owned();
    with_context(json!({
        "id": format!("{id}/activity"),
        "type": "Create",
        "actor": note["attributedTo"],
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }))
}

/// `Update{Note}` after an edit; the id names the edit, so each edit is new.
pub fn update_note(note: Value, edited_at: i64) -> Value {
    let id = note["id"].as_str().unwrap_or_default().to_owned();
    with_context(json!({
        "id": format!("{id}#updates/{edited_at}"),
        "type": "Update",
        "actor": note["attributedTo"],
        "published": note["updated"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }))
}

/// `Delete{Tombstone}` of a status, addressed like the status was.
pub fn delete_note(note: &Value) -> Value {
    let id = note["id"].as_str().unwrap_or_default().to_owned();
    with_context(json!({
        "id": format!("{id}#delete"),
        "type": "Delete",
        "actor": note["attributedTo"],
        "to": note["to"],
        "cc": note["cc"],
        "object": {"id": id, "type": "Tombstone", "atomUri": id},
    }))
}

/// `Like` of a status by a local actor.
pub fn like(actor: &str, status_id: i64, object: &str) -> Value {
    with_context(json!({
        "id": format!("{actor}#likes/{status_id}"),
        "type": "Like",
        "actor": actor,
        "object": object,
    }))
}

/// `Announce` of a status by a local actor; `reblog_uri` is the reblog's own id. A
/// followers-only reblog (of one's own followers-only post) goes to the followers only.
pub fn announce(
    actor: &str,
    reblog_uri: &str,
    object: &str,
    followers: &str,
    published: i64,
    followers_only: bool,
) -> Value {
    let (to, cc) = if followers_only {
        (json!([followers]), json!([]))
    } else {
        (json!([PUBLIC]), json!([followers]))
    };
    with_context(json!({
        "id": format!("{reblog_uri}/activity"),
        "type": "Announce",
        "actor": actor,
        "published": rfc3339_s(published),
        "to": to,
        "cc": cc,
        "object": object,
    }))
}

/// `Follow` of a remote actor. The id is stable per pair, so the later `Undo` embeds
/// exactly the same `Follow`.
pub fn follow(actor: &str, target_id: i64, object: &str) -> Value {
    with_context(json!({
        "id": format!("{actor}#follows/{target_id}"),
        "type": "Follow",
        "actor": actor,
        "object": object,
    }))
}

/// `Block` of a remote actor.
pub fn block(actor: &str, target_id: i64, object: &str) -> Value {
    with_context(json!({
        "id": format!("{actor}#blocks/{target_id}"),
        "type": "Block",
        "actor": actor,
        "object": object,
    }))
}

/// `Undo` of one of the activities above, embedding the whole activity (a bare URI
/// broke Threads).
pub fn undo(mut inner: Value) -> Value {
    let id = inner["id"].as_str().unwrap_or_default().to_owned();
    let actor = inner["actor"].clone();
    if let Value::Object(map) = &mut inner {
        map.remove("@context");
    }
    with_context(json!({
        "id": format!("{id}/undo"),
        "type": "Undo",
        "actor": actor,
        "object": inner,
    }))
}

/// `Accept` or `Reject` of a remote follower's `Follow` by a local actor.
pub fn answer_follow(
    kind: &str,
    me: &str,
    requester: &str,
    requester_id: i64,
    follow_id: Option<&str>,
) -> Value {
    let mut follow = json!({"type": "Follow", "actor": requester, "object": me});
    if let Some(id) = follow_id {
        follow["id"] = json!(id);
    }
    with_context(json!({
        "id": format!("{me}#{}/follows/{requester_id}", kind.to_ascii_lowercase()),
        "type": kind,
        "actor": me,
        "object": follow,
    }))
}

/// `Update{Person}` after a profile change.
pub fn update_person(actor: &Actor, updated_at: i64) -> Value {
    let object = serde_json::to_value(actor).unwrap_or(Value::Null);
    json!({
        "@context": object["@context"],
        "id": format!("{}#updates/{updated_at}", actor.id),
        "type": "Update",
        "actor": actor.id,
        "to": [PUBLIC],
        "object": object,
    })
}

// ---- quote posts (FEP-044f) ----

/// What a local Note says about quotes: who may quote it, and what it quotes.
#[derive(Clone, Debug, Default)]
pub struct QuoteOf {
    /// The effective policy: `public`, `followers` or `nobody`.
    pub policy: String,
    /// The quoted status's id and its web address (for the fallback link).
    pub quoted: Option<(String, String)>,
    /// The QuoteAuthorization that approved the quote, once approved.
    pub authorization: Option<String>,
}

/// Adds the quote properties to a local Note: `interactionPolicy.canQuote` on every
/// Note, and for a quote `quote` (FEP-044f) with the older `quoteUri` and
/// `_misskey_quote`, `quoteAuthorization` once approved, a FEP-e232 `Link` tag, and a
/// `RE:` paragraph for servers that show no quotes.
pub fn add_quote(note: &mut Value, q: &QuoteOf, author: &AccountRow, urls: &Urls) {
    // As Mastodon: only automatic approval is published; a status nobody may quote
    // names its author alone.
    let approved = match q.policy.as_str() {
        "public" => json!([PUBLIC]),
        "followers" => json!([urls.followers(&author.username)]),
        _ => json!([urls.actor(&author.username)]),
    };
    note["interactionPolicy"] = json!({"canQuote": {"automaticApproval": approved}});
    let Some((uri, url)) = &q.quoted else {
        return;
    };
    note["quote"] = json!(uri);
    note["quoteUri"] = json!(uri);
    note["_misskey_quote"] = json!(uri);
    if let Some(auth) = &q.authorization {
        note["quoteAuthorization"] = json!(auth);
    }
    if let Some(tags) = note["tag"].as_array_mut() {
        tags.push(json!({
            "type": "Link",
            "mediaType": "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
            "href": uri,
            "name": format!("RE: {url}"),
        }));
    }
    let escaped = url
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let fallback = format!("<p class=\"quote-inline\">RE: <a href=\"{escaped}\">{escaped}</a></p>");
    let content = format!("{}{fallback}", note["content"].as_str().unwrap_or_default());
    if let Some(map) = note["contentMap"].as_object_mut() {
        for v in map.values_mut() {
            *v = json!(content);
        }
    }
    note["content"] = json!(content);
}

/// `QuoteRequest` of a remote status by a local actor, embedding the quoting Note.
pub fn quote_request(request_id: &str, actor: &str, quoted: &str, note: Value) -> Value {
    let mut note = note;
    if let Value::Object(map) = &mut note {
        map.remove("@context");
    }
    json!({
        "@context": context::quote_authorization(),
        "id": request_id,
        "type": "QuoteRequest",
        "actor": actor,
        "object": quoted,
        "instrument": note,
    })
}

/// The `QuoteAuthorization` document of an approved quote.
pub fn quote_authorization(id: &str, author: &str, quoting: &str, quoted: &str) -> Value {
    json!({
        "@context": context::quote_authorization(),
        "id": id,
        "type": "QuoteAuthorization",
        "attributedTo": author,
        "interactingObject": quoting,
        "interactionTarget": quoted,
    })
}

/// `Accept` (with the authorization in `result`) or `Reject` of a remote actor's
/// `QuoteRequest`, embedding the request as it was understood.
pub fn answer_quote(
    kind: &str,
    me: &str,
    requester: &str,
    request_id: &str,
    quoted: &str,
    instrument: &str,
    result: Option<&str>,
) -> Value {
    let mut answer = json!({
        "@context": context::quote_authorization(),
        "id": format!("{me}#quote_{}/{:016x}", kind.to_ascii_lowercase(), fnv(request_id)),
        "type": kind,
        "actor": me,
        "to": [requester],
        "object": {
            "id": request_id,
            "type": "QuoteRequest",
            "actor": requester,
            "object": quoted,
            "instrument": instrument,
        },
    });
    if let Some(result) = result {
        answer["result"] = json!(result);
    }
    answer
}

/// `Delete` of a QuoteAuthorization: the quoted author revokes an approval.
pub fn delete_authorization(me: &str, auth: &str, to: &str) -> Value {
    json!({
        "@context": context::quote_authorization(),
        "id": format!("{auth}#delete"),
        "type": "Delete",
        "actor": me,
        "to": [to],
        "object": auth,
    })
}

/// A stable 64-bit hash for activity ids derived from another server's ids.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
