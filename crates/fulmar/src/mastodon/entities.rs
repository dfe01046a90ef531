//! Mastodon API entities, with every documented key. Keys without a value are `null`
//! or `[]`, never missing: apps crash on missing keys more often than on nulls.
//! Ids are decimal strings; dates have milliseconds and `Z`.

use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, Serialize)]
pub struct Account {
    pub id: String,
    pub username: String,
    /// `username` for local accounts, `username@domain` for remote ones.
    pub acct: String,
    pub url: String,
    pub uri: String,
    pub display_name: String,
    pub note: String,
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
    pub locked: bool,
    pub fields: Vec<Field>,
    pub emojis: Vec<CustomEmoji>,
    pub bot: bool,
    pub group: bool,
    pub discoverable: Option<bool>,
    pub indexable: bool,
    pub hide_collections: Option<bool>,
    pub noindex: Option<bool>,
    pub memorial: Option<bool>,
    pub moved: Option<Box<Account>>,
    pub suspended: Option<bool>,
    pub limited: Option<bool>,
    pub created_at: String,
    /// A plain date (`2019-11-24`), as Mastodon sends it.
    pub last_status_at: Option<String>,
    pub statuses_count: i64,
    pub followers_count: i64,
    pub following_count: i64,
    pub roles: Vec<Value>,
    /// Only on `verify_credentials` and `update_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Value>,
    /// Fulmar's own facts about a remote account that Mastodon's entity has no field
    /// for; apps ignore keys they do not know. Absent when there is nothing to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulmar: Option<FulmarAccount>,
}

/// The `fulmar` key of an Account.
#[derive(Clone, Debug, Serialize)]
pub struct FulmarAccount {
    /// The account's server does not let others read its outbox (as Threads): its
    /// older posts could not be fetched, only those that arrive from now on.
    pub outbox_private: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub verified_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Source {
    pub privacy: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub note: String,
    pub fields: Vec<Field>,
    pub follow_requests_count: i64,
    pub hide_collections: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub attribution_domains: Vec<String>,
    pub quote_policy: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CustomEmoji {
    pub shortcode: String,
    pub url: String,
    pub static_url: String,
    pub visible_in_picker: bool,
    pub category: Option<String>,
}

/// An Account entity rendered once and shared by every status that shows it: it is
/// serialized once, when it is made, and written out as those bytes each time. A page
/// of forty statuses shows forty authors, whose JSON was more than half of the
/// page's bytes and of the time spent serializing it.
#[derive(Clone, Debug)]
pub struct SharedAccount(std::sync::Arc<SharedInner>);

#[derive(Debug)]
struct SharedInner {
    entity: Account,
    /// `None` only if serializing failed, which plain structs of strings, numbers and
    /// vectors cannot; the entity is then serialized each time instead.
    json: Option<Box<serde_json::value::RawValue>>,
}

impl SharedAccount {
    pub fn new(entity: Account) -> Self {
        let json = serde_json::value::to_raw_value(&entity).ok();
        SharedAccount(std::sync::Arc::new(SharedInner { entity, json }))
    }
}

impl SharedAccount {
    /// Appends the account's JSON, as serializing it would write it.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match &self.0.json {
            Some(json) => out.extend_from_slice(json.get().as_bytes()),
            None => {
                if serde_json::to_writer(&mut *out, &self.0.entity).is_err() {
                    out.extend_from_slice(b"null");
                }
            }
        }
    }
}

impl std::ops::Deref for SharedAccount {
    type Target = Account;

    fn deref(&self) -> &Account {
        &self.0.entity
    }
}

impl Serialize for SharedAccount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0.json {
            Some(json) => json.serialize(serializer),
            None => self.0.entity.serialize(serializer),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub id: String,
    pub uri: String,
    pub url: Option<String>,
    pub created_at: String,
    pub account: SharedAccount,
    pub content: String,
    pub visibility: String,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub media_attachments: Vec<MediaAttachment>,
    pub application: Option<Application>,
    pub mentions: Vec<Mention>,
    pub tags: Vec<Tag>,
    pub emojis: Vec<CustomEmoji>,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub replies_count: i64,
    pub quotes_count: i64,
    pub in_reply_to_id: Option<String>,
    pub in_reply_to_account_id: Option<String>,
    pub reblog: Option<Box<Status>>,
    pub poll: Option<Poll>,
    pub card: Option<Value>,
    pub language: Option<String>,
    /// Only in the response to a delete, for "delete and redraft".
    pub text: Option<String>,
    pub edited_at: Option<String>,
    pub quote: Option<Value>,
    pub quote_approval: Option<Value>,
    // Present only for a signed-in viewer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favourited: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reblogged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bookmarked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Vec<Value>>,
}

/// A media attachment of a status. Remote files are not copied here (yet): `url` and
/// `preview_url` are the file on its own server.
#[derive(Clone, Debug, Serialize)]
pub struct MediaAttachment {
    pub id: String,
    /// image, gifv, video, audio or unknown.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub preview_url: Option<String>,
    pub remote_url: Option<String>,
    pub preview_remote_url: Option<String>,
    pub text_url: Option<String>,
    pub meta: Value,
    pub description: Option<String>,
    pub blurhash: Option<String>,
}

/// A poll attached to a status.
#[derive(Clone, Debug, Serialize)]
pub struct Poll {
    pub id: String,
    pub expires_at: Option<String>,
    pub expired: bool,
    pub multiple: bool,
    pub votes_count: i64,
    pub voters_count: Option<i64>,
    pub options: Vec<PollOption>,
    pub emojis: Vec<CustomEmoji>,
    // Present only for a signed-in viewer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_votes: Option<Vec<i64>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PollOption {
    pub title: String,
    /// Hidden (null) while the totals of a running poll are hidden.
    pub votes_count: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Application {
    pub name: String,
    pub website: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Mention {
    pub id: String,
    pub username: String,
    pub url: String,
    pub acct: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tag {
    pub name: String,
    pub url: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Relationship {
    pub id: String,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub languages: Option<Vec<String>>,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    pub requested: bool,
    pub requested_by: bool,
    pub domain_blocking: bool,
    pub endorsed: bool,
    pub note: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub group_key: String,
    pub created_at: String,
    pub account: Account,
    pub status: Option<Status>,
    pub report: Option<Value>,
    /// Mastodon names this key `event`.
    #[serde(rename = "event")]
    pub relationship_severance_event: Option<Value>,
    pub moderation_warning: Option<Value>,
}
