//! Tolerant reading of other servers' actors and objects.
//!
//! Documents are read by their compacted term names, as every fediverse server sends
//! them, and shapes vary: a scalar where an array is usual (`to`, `tag`, `publicKey`),
//! an embedded object where an id is usual (`attributedTo`, `inReplyTo`), a Link or an
//! array of Links where a URL is usual (`url`, `icon`). Everything here accepts all of
//! these. Bad input gives a [`ParseError`]; nothing here panics.

use serde_json::{Map, Value};

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err(text: impl Into<String>) -> ParseError {
    ParseError(text.into())
}

/// The actor types Fulmar treats as accounts.
pub const ACTOR_TYPES: &[&str] = &["Person", "Service", "Group", "Organization", "Application"];
/// The object types shown as statuses.
pub const OBJECT_TYPES: &[&str] = &[
    "Note", "Article", "Page", "Question", "Image", "Video", "Event", "Audio",
];

/// A public key as an actor publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteKey {
    pub id: String,
    pub owner: String,
    pub public_key_pem: String,
}

/// A remote actor.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteActor {
    pub id: String,
    pub kind: String,
    pub preferred_username: String,
    pub name: Option<String>,
    pub summary: Option<String>,
    pub url: Option<String>,
    pub inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub following: Option<String>,
    pub featured: Option<String>,
    pub featured_tags: Option<String>,
    pub shared_inbox: Option<String>,
    pub public_keys: Vec<RemoteKey>,
    pub icon: Option<String>,
    pub image: Option<String>,
    pub manually_approves_followers: bool,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    /// `PropertyValue` attachments: (name, value HTML).
    pub fields: Vec<(String, String)>,
    pub also_known_as: Vec<String>,
    pub moved_to: Option<String>,
    pub published: Option<String>,
}

impl RemoteActor {
    /// Whether the actor is an automated one (Mastodon's `bot`).
    pub fn is_bot(&self) -> bool {
        self.kind == "Service" || self.kind == "Application"
    }

    /// The key with this id, or the only/first key the actor publishes.
    pub fn key(&self, key_id: Option<&str>) -> Option<&RemoteKey> {
        match key_id {
            Some(id) => self.public_keys.iter().find(|k| k.id == id),
            None => self.public_keys.first(),
        }
    }
}

/// A Note-like object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteObject {
    pub id: String,
    pub kind: String,
    pub attributed_to: String,
    pub content: Option<String>,
    /// `contentMap` entries: (language, content).
    pub content_map: Vec<(String, String)>,
    pub name: Option<String>,
    pub summary: Option<String>,
    pub sensitive: bool,
    pub published: Option<String>,
    pub updated: Option<String>,
    pub in_reply_to: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// `href` of every `Mention` tag.
    pub mentions: Vec<String>,
    /// Names of `Hashtag` tags, without `#`.
    pub hashtags: Vec<String>,
    pub url: Option<String>,
    pub context: Option<String>,
    pub conversation: Option<String>,
    pub quote: Option<String>,
    /// FEP-044f `quoteAuthorization`: the id of the QuoteAuthorization the quoted
    /// author's server issued for this quote, when the quote was approved.
    pub quote_authorization: Option<String>,
    /// Media attached to the object (`attachment` entries other than fields), at most
    /// [`MAX_ATTACHMENTS`], in the order sent.
    pub attachments: Vec<RemoteAttachment>,
}

/// How many attachments of one object are kept; the rest are ignored. Mastodon also
/// bounds what it keeps of a received status (`ACTIVITYPUB_STATUS_ATTACHMENT_MAX`)
/// above the 4 its own users may attach; 16 leaves room for Pixelfed albums and
/// Misskey notes while keeping one object from carrying hundreds.
pub const MAX_ATTACHMENTS: usize = 16;

/// A media attachment of an object (a Document, Image, Video or Audio entry of
/// `attachment`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteAttachment {
    /// The http(s) URL of the file.
    pub url: String,
    /// The AS2 type as sent: Document, Image, Video, Audio (or another, kept as is).
    pub kind: String,
    /// `mediaType` of the attachment (or of the chosen Link).
    pub media_type: Option<String>,
    /// `name`: the alt text.
    pub name: Option<String>,
    pub blurhash: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Mastodon's `focalPoint`: [x, y], each from -1.0 to 1.0.
    pub focal_point: Option<(f64, f64)>,
}

impl RemoteObject {
    /// The language of the content, when `contentMap` names exactly one or its
    /// content matches `content`.
    pub fn language(&self) -> Option<String> {
        match self.content_map.as_slice() {
            [] => None,
            [(lang, _)] => Some(lang.clone()),
            many => many
                .iter()
                .find(|(_, c)| Some(c) == self.content.as_ref())
                .or(many.first())
                .map(|(l, _)| l.clone()),
        }
    }

    /// The HTML to show: `content`, else the first `contentMap` entry.
    pub fn html(&self) -> String {
        self.content
            .clone()
            .or_else(|| self.content_map.first().map(|(_, c)| c.clone()))
            .unwrap_or_default()
    }
}

/// The values of a property that may be a scalar or an array.
fn many(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
    }
}

/// The id of a value that may be an id string, an object with `id`, or a Link with
/// `href`.
pub fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .or_else(|| o.get("href").and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        Value::Array(items) => items.iter().find_map(id_of),
        _ => None,
    }
}

fn str_of(o: &Map<String, Value>, key: &str) -> Option<String> {
    match o.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(items)) => items.iter().find_map(|v| v.as_str().map(str::to_owned)),
        _ => None,
    }
}

fn id_prop(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(id_of)
}

fn bool_of(o: &Map<String, Value>, key: &str) -> Option<bool> {
    match o.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => match s.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn type_of(o: &Map<String, Value>) -> Option<String> {
    match o.get("type") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(items)) => items.iter().find_map(|v| v.as_str().map(str::to_owned)),
        _ => None,
    }
}

/// The URL of a `url` (or `icon`) property: a string, a Link, an Image with `url`,
/// or an array of those, preferring a `text/html` Link.
pub fn url_of(v: Option<&Value>) -> Option<String> {
    let items = many(v);
    let html = items.iter().find(|i| {
        i.get("mediaType")
            .and_then(Value::as_str)
            .is_some_and(|m| m.starts_with("text/html"))
    });
    let pick = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Object(o) => o
                .get("href")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| o.get("url").and_then(|u| url_of(Some(u)))),
            _ => None,
        }
    };
    html.and_then(|v| pick(v))
        .or_else(|| items.iter().find_map(|v| pick(v)))
}

fn object_of(v: &Value) -> Result<&Map<String, Value>, ParseError> {
    v.as_object()
        .ok_or_else(|| err("the document is not a JSON object"))
}

fn http_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Reads an actor document.
pub fn parse_actor(v: &Value) -> Result<RemoteActor, ParseError> {
    let o = object_of(v)?;
    let id = str_of(o, "id").ok_or_else(|| err("the actor has no id"))?;
    if !http_url(&id) {
        return Err(err("the actor id is not an http(s) URL"));
    }
    let kind = type_of(o).ok_or_else(|| err("the actor has no type"))?;
    if !ACTOR_TYPES.contains(&kind.as_str()) {
        return Err(err(format!("{kind} is not an actor type")));
    }
    let preferred_username = str_of(o, "preferredUsername")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| err("the actor has no preferredUsername"))?;
    let inbox = id_prop(o, "inbox");
    let shared_inbox = o
        .get("endpoints")
        .and_then(Value::as_object)
        .and_then(|e| id_prop(e, "sharedInbox"));
    let public_keys = many(o.get("publicKey"))
        .into_iter()
        .filter_map(|k| {
            let k = k.as_object()?;
            Some(RemoteKey {
                id: str_of(k, "id")?,
                owner: id_prop(k, "owner").unwrap_or_else(|| id.clone()),
                public_key_pem: str_of(k, "publicKeyPem")?,
            })
        })
        .collect();
    let fields = many(o.get("attachment"))
        .into_iter()
        .filter_map(|a| {
            let a = a.as_object()?;
            if type_of(a).as_deref() != Some("PropertyValue") {
                return None;
            }
            Some((str_of(a, "name")?, str_of(a, "value").unwrap_or_default()))
        })
        .collect();
    let also_known_as = many(o.get("alsoKnownAs"))
        .into_iter()
        .filter_map(id_of)
        .collect();
    Ok(RemoteActor {
        id,
        kind,
        preferred_username,
        name: str_of(o, "name"),
        summary: str_of(o, "summary"),
        url: url_of(o.get("url")),
        inbox,
        outbox: id_prop(o, "outbox"),
        followers: id_prop(o, "followers"),
        following: id_prop(o, "following"),
        featured: id_prop(o, "featured"),
        featured_tags: id_prop(o, "featuredTags"),
        shared_inbox,
        public_keys,
        icon: url_of(o.get("icon")),
        image: url_of(o.get("image")),
        manually_approves_followers: bool_of(o, "manuallyApprovesFollowers").unwrap_or(false),
        discoverable: bool_of(o, "discoverable"),
        indexable: bool_of(o, "indexable"),
        fields,
        also_known_as,
        moved_to: id_prop(o, "movedTo"),
        published: str_of(o, "published"),
    })
}

/// Reads a Note-like object.
pub fn parse_object(v: &Value) -> Result<RemoteObject, ParseError> {
    let o = object_of(v)?;
    let id = str_of(o, "id").ok_or_else(|| err("the object has no id"))?;
    if !http_url(&id) {
        return Err(err("the object id is not an http(s) URL"));
    }
    let kind = type_of(o).ok_or_else(|| err("the object has no type"))?;
    if !OBJECT_TYPES.contains(&kind.as_str()) {
        return Err(err(format!("{kind} is not a supported object type")));
    }
    // The first actor among attributedTo's entries (Peertube lists a Group too).
    let attributed = many(o.get("attributedTo"));
    let attributed_to = attributed
        .iter()
        .find(|a| {
            a.get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "Person" || t == "Service" || t == "Application")
        })
        .and_then(|a| id_of(a))
        .or_else(|| attributed.iter().find_map(|a| id_of(a)))
        .or_else(|| id_prop(o, "actor"))
        .ok_or_else(|| err("the object has no attributedTo"))?;
    let content_map = match o.get("contentMap") {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        _ => Vec::new(),
    };
    let mut mentions = Vec::new();
    let mut hashtags = Vec::new();
    for tag in many(o.get("tag")) {
        let Some(t) = tag.as_object() else { continue };
        match type_of(t).as_deref() {
            Some("Mention") => {
                if let Some(href) = id_prop(t, "href") {
                    mentions.push(href);
                }
            }
            Some("Hashtag") => {
                if let Some(name) = str_of(t, "name") {
                    hashtags.push(name.trim_start_matches('#').to_owned());
                }
            }
            _ => {}
        }
    }
    let quote = ["quote", "quoteUrl", "quoteUri", "_misskey_quote"]
        .iter()
        .find_map(|k| id_prop(o, k));
    Ok(RemoteObject {
        id,
        kind,
        attributed_to,
        content: str_of(o, "content"),
        content_map,
        name: str_of(o, "name"),
        summary: str_of(o, "summary"),
        sensitive: bool_of(o, "sensitive").unwrap_or(false),
        published: str_of(o, "published"),
        updated: str_of(o, "updated"),
        in_reply_to: id_prop(o, "inReplyTo"),
        to: many(o.get("to")).into_iter().filter_map(id_of).collect(),
        cc: many(o.get("cc")).into_iter().filter_map(id_of).collect(),
        mentions,
        hashtags,
        url: url_of(o.get("url")),
        context: id_prop(o, "context"),
        conversation: str_of(o, "conversation"),
        quote,
        quote_authorization: id_prop(o, "quoteAuthorization"),
        attachments: parse_attachments(o.get("attachment")),
    })
}

/// The media entries of an `attachment` property: a single object or an array. Fields
/// (`PropertyValue`), Links to pages and entries without an http(s) URL are skipped,
/// since a client would be handed that URL to load (a `javascript:` one would be a
/// script).
pub fn parse_attachments(v: Option<&Value>) -> Vec<RemoteAttachment> {
    many(v)
        .into_iter()
        .filter_map(|a| parse_attachment(a.as_object()?))
        .take(MAX_ATTACHMENTS)
        .collect()
}

fn parse_attachment(a: &Map<String, Value>) -> Option<RemoteAttachment> {
    let kind = type_of(a).unwrap_or_else(|| "Document".to_owned());
    if kind == "PropertyValue" || kind == "Hashtag" || kind == "Mention" {
        return None;
    }
    let (url, link_media_type) = attachment_url(a.get("url").or_else(|| a.get("href")))?;
    let media_type = str_of(a, "mediaType").or(link_media_type);
    // A Link whose media type is a web page is a link, not media.
    if kind == "Link" && media_type.as_deref().is_none_or(|m| m.starts_with("text/")) {
        return None;
    }
    let dimension = |k: &str| {
        a.get(k)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
            .filter(|n| *n > 0 && *n < 1_000_000)
    };
    let focal_point = match a.get("focalPoint") {
        Some(Value::Array(xy)) if xy.len() == 2 => match (xy[0].as_f64(), xy[1].as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                Some((x.clamp(-1.0, 1.0), y.clamp(-1.0, 1.0)))
            }
            _ => None,
        },
        _ => None,
    };
    Some(RemoteAttachment {
        url,
        kind,
        media_type,
        name: str_of(a, "name").filter(|n| !n.trim().is_empty()),
        blurhash: str_of(a, "blurhash").filter(|b| !b.is_empty() && b.len() <= 100),
        width: dimension("width"),
        height: dimension("height"),
        focal_point,
    })
}

/// The file URL of an attachment's `url`: a string, a Link, or an array of Links (as
/// PeerTube sends, where the first non-HTML http(s) one is the file), with the Link's
/// `mediaType`.
fn attachment_url(v: Option<&Value>) -> Option<(String, Option<String>)> {
    let candidates: Vec<(String, Option<String>)> = many(v)
        .into_iter()
        .filter_map(|item| match item {
            Value::String(s) => Some((s.clone(), None)),
            Value::Object(o) => Some((
                str_of(o, "href").or_else(|| str_of(o, "url"))?,
                str_of(o, "mediaType"),
            )),
            _ => None,
        })
        .filter(|(u, _)| http_url(u))
        .collect();
    let is_page = |m: &Option<String>| m.as_deref().is_some_and(|m| m.starts_with("text/html"));
    candidates
        .iter()
        .find(|(_, m)| !is_page(m))
        .or(candidates.first())
        .cloned()
}

/// Whether an addressing entry means "public" (`as:Public` and its compact forms).
pub fn is_public(target: &str) -> bool {
    target == crate::PUBLIC || target == "as:Public" || target == "Public"
}

/// Mastodon's visibility for an object's addressing: Public in `to` → public, in `cc`
/// → unlisted, the author's followers collection in `to` → private, else direct.
pub fn visibility(obj: &RemoteObject, followers_url: Option<&str>) -> &'static str {
    if obj.to.iter().any(|t| is_public(t)) {
        "public"
    } else if obj.cc.iter().any(|t| is_public(t)) {
        "unlisted"
    } else if followers_url.is_some_and(|f| obj.to.iter().any(|t| t == f)) {
        "private"
    } else {
        "direct"
    }
}

/// The envelope of an activity as it arrives in an inbox: who did what to which
/// object. The object stays raw JSON (an id, or an embedded object of any type),
/// because what it must be depends on the activity type; handlers read it with
/// [`parse_object`], [`parse_actor`] or [`id_of`].
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteActivity {
    /// Absent on some transient activities (Misskey sends ids everywhere; a few small
    /// servers omit them on `Delete` of actors).
    pub id: Option<String>,
    pub kind: String,
    /// The actor's id (the first, should `actor` be an array).
    pub actor: String,
    /// The object as sent: a string id, an embedded object or `Null` when absent.
    pub object: Value,
    /// The object's id, whichever shape it has.
    pub object_id: Option<String>,
    /// The embedded object's type, when it is embedded.
    pub object_type: Option<String>,
    pub target: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// `content` (Misskey's reaction on `Like` and `EmojiReact`).
    pub content: Option<String>,
    /// `instrument` as sent (FEP-044f `QuoteRequest`: the quoting object, by id or
    /// embedded), `Null` when absent.
    pub instrument: Value,
    /// The id in `result` (FEP-044f: the `QuoteAuthorization` of an `Accept`).
    pub result: Option<String>,
}

/// The activity types Fulmar acts on. Others are accepted and ignored.
pub const ACTIVITY_TYPES: &[&str] = &[
    "Create",
    "Update",
    "Delete",
    "Follow",
    "Accept",
    "Reject",
    "Undo",
    "Like",
    "Announce",
    "Block",
    "EmojiReact",
    "Move",
    "Add",
    "Remove",
    "Flag",
    "QuoteRequest",
];

/// Reads an activity's envelope. The actor must be an http(s) URL; everything else is
/// read tolerantly (scalars for arrays, embedded objects for ids).
pub fn parse_activity(v: &Value) -> Result<RemoteActivity, ParseError> {
    let o = object_of(v)?;
    let kind = type_of(o).ok_or_else(|| err("the activity has no type"))?;
    let actor = id_prop(o, "actor").ok_or_else(|| err("the activity has no actor"))?;
    if !http_url(&actor) {
        return Err(err("the actor is not an http(s) URL"));
    }
    let id = str_of(o, "id");
    if let Some(id) = &id {
        if !http_url(id) {
            return Err(err("the activity id is not an http(s) URL"));
        }
    }
    let object = o.get("object").cloned().unwrap_or(Value::Null);
    let object_id = id_of(&object);
    let object_type = object.as_object().and_then(type_of);
    Ok(RemoteActivity {
        id,
        kind,
        actor,
        object_id,
        object_type,
        object,
        target: id_prop(o, "target"),
        to: many(o.get("to")).into_iter().filter_map(id_of).collect(),
        cc: many(o.get("cc")).into_iter().filter_map(id_of).collect(),
        content: str_of(o, "content"),
        instrument: o.get("instrument").cloned().unwrap_or(Value::Null),
        result: id_prop(o, "result"),
    })
}
