//! WebFinger (RFC 7033) documents, as fediverse servers expect them.

use serde::{Deserialize, Serialize};

pub const JRD_JSON: &str = "application/jrd+json; charset=utf-8";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Jrd {
    pub subject: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub links: Vec<Link>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub rel: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub template: Option<String>,
}

/// The JRD for an actor: its `acct:` subject, its actor and profile URLs as aliases,
/// and the links Mastodon publishes (`self`, profile page, remote follow template).
pub fn actor_jrd(acct: &str, actor_id: &str, profile_url: &str, subscribe_template: &str) -> Jrd {
    Jrd {
        subject: format!("acct:{acct}"),
        aliases: vec![profile_url.to_owned(), actor_id.to_owned()],
        links: vec![
            Link {
                rel: "http://webfinger.net/rel/profile-page".into(),
                kind: Some("text/html".into()),
                href: Some(profile_url.to_owned()),
                template: None,
            },
            Link {
                rel: "self".into(),
                kind: Some(crate::ACTIVITY_JSON.into()),
                href: Some(actor_id.to_owned()),
                template: None,
            },
            Link {
                rel: "http://ostatus.org/schema/1.0/subscribe".into(),
                kind: None,
                href: None,
                template: Some(subscribe_template.to_owned()),
            },
        ],
    }
}
