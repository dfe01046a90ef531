//! `OrderedCollection` and `OrderedCollectionPage` documents.
//!
//! A collection document never embeds items: it names its size and its first page,
//! and each page links to the next, as Mastodon, GoToSocial and the ActivityStreams
//! vocabulary describe. Consumers that walk `first` then `next` see every item once.

use serde::Serialize;
use serde_json::Value;

use crate::context;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub total_items: i64,
    pub first: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

impl OrderedCollection {
    pub fn new(id: String, total_items: i64, first: String, last: Option<String>) -> Self {
        OrderedCollection {
            context: context::activitystreams(),
            id,
            kind: "OrderedCollection",
            total_items,
            first,
            last,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionPage {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub part_of: String,
    pub total_items: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    pub ordered_items: Vec<Value>,
}

impl OrderedCollectionPage {
    pub fn new(
        id: String,
        part_of: String,
        total_items: i64,
        items: Vec<Value>,
        next: Option<String>,
        prev: Option<String>,
    ) -> Self {
        OrderedCollectionPage {
            context: context::activitystreams(),
            id,
            kind: "OrderedCollectionPage",
            part_of,
            total_items,
            next,
            prev,
            ordered_items: items,
        }
    }
}
