//! Reading collections other servers serve (outboxes, `featured`), whatever way they
//! page them: Mastodon's `first` page with `max_id`/`min_id` links, Misskey's
//! `since_id`/`until_id`, GoToSocial's and plain `next`-linked pages. For a reader they
//! are all the same thing: items inline on the collection or on a page, and the URL of
//! the next page. The URLs are opaque and followed as given.

use serde_json::Value;

use crate::from_activitypub::{id_of, ParseError};

/// A collection or a page of one, as far as reading it goes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CollectionPage {
    /// The document's id, when it has one.
    pub id: Option<String>,
    /// `totalItems`, when given.
    pub total_items: Option<i64>,
    /// `orderedItems` or `items`, as they are (objects or URLs).
    pub items: Vec<Value>,
    /// The first page: a URL to fetch, or a page embedded in the collection.
    pub first: Option<PageRef>,
    /// The page after this one.
    pub next: Option<String>,
}

/// A page named by a collection: a link, or embedded.
#[derive(Clone, Debug, PartialEq)]
pub enum PageRef {
    Url(String),
    Embedded(Box<CollectionPage>),
}

/// The collection types a reader accepts.
const TYPES: &[&str] = &[
    "OrderedCollection",
    "Collection",
    "OrderedCollectionPage",
    "CollectionPage",
];

/// How many items of one document are looked at; real pages hold 20 to 40.
pub const MAX_ITEMS: usize = 200;

/// Reads a collection or collection page. Anything that is not one is an error.
pub fn read_page(v: &Value) -> Result<CollectionPage, ParseError> {
    read_page_depth(v, 0)
}

fn read_page_depth(v: &Value, depth: u8) -> Result<CollectionPage, ParseError> {
    let o = v
        .as_object()
        .ok_or_else(|| ParseError("a collection must be a JSON object".into()))?;
    let kind_ok = match o.get("type") {
        Some(Value::String(t)) => TYPES.contains(&t.as_str()),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .any(|t| TYPES.contains(&t)),
        _ => false,
    };
    if !kind_ok {
        return Err(ParseError("not a collection".into()));
    }
    let items = match o.get("orderedItems").or_else(|| o.get("items")) {
        Some(Value::Array(a)) => a.iter().take(MAX_ITEMS).cloned().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one.clone()],
    };
    let first = match o.get("first") {
        // An embedded page is read once; a page embedding pages is not followed.
        Some(page @ Value::Object(p)) if p.contains_key("type") && depth == 0 => Some(
            PageRef::Embedded(Box::new(read_page_depth(page, depth + 1)?)),
        ),
        Some(other) => id_of(other).map(PageRef::Url),
        None => None,
    };
    let total_items = o.get("totalItems").and_then(|n| {
        n.as_i64()
            .or_else(|| n.as_str().and_then(|s| s.trim().parse().ok()))
    });
    Ok(CollectionPage {
        id: o.get("id").and_then(Value::as_str).map(str::to_owned),
        total_items,
        items,
        first,
        next: o.get("next").and_then(id_of),
    })
}

/// What an outbox item is, once looked at.
#[derive(Clone, Debug, PartialEq)]
pub enum OutboxItem {
    /// A `Create` of an object: the object as given (embedded, or just its id).
    Create {
        object: Value,
        published: Option<String>,
    },
    /// An `Announce` (a boost): its id, addressing, time and the boosted object's id.
    Announce {
        id: String,
        object: String,
        to: Vec<String>,
        cc: Vec<String>,
        published: Option<String>,
    },
    /// A bare object (as `featured` collections list them).
    Object(Value),
}

/// Reads one item of an outbox or `featured` collection; `None` for anything else
/// (likes, follows, updates ... or a string, which could be anything).
pub fn read_item(v: &Value) -> Option<OutboxItem> {
    let o = v.as_object()?;
    let kind = o.get("type").and_then(Value::as_str)?;
    let published = o
        .get("published")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let addresses = |k: &str| -> Vec<String> {
        match o.get(k) {
            Some(Value::Array(a)) => a.iter().filter_map(id_of).take(100).collect(),
            Some(one) => id_of(one).into_iter().collect(),
            None => Vec::new(),
        }
    };
    match kind {
        "Create" => {
            let object = o.get("object")?.clone();
            id_of(&object)?;
            Some(OutboxItem::Create { object, published })
        }
        "Announce" => Some(OutboxItem::Announce {
            id: o.get("id").and_then(Value::as_str)?.to_owned(),
            object: o.get("object").and_then(id_of)?,
            to: addresses("to"),
            cc: addresses("cc"),
            published,
        }),
        "Note" | "Question" | "Article" | "Page" | "Image" | "Video" | "Audio" | "Event" => {
            Some(OutboxItem::Object(v.clone()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mastodon_outbox_links_its_first_page() {
        let c = read_page(&json!({
            "id": "https://m.example/users/a/outbox", "type": "OrderedCollection",
            "totalItems": 12, "first": "https://m.example/users/a/outbox?page=true"
        }))
        .unwrap();
        assert_eq!(c.total_items, Some(12));
        assert_eq!(
            c.first,
            Some(PageRef::Url(
                "https://m.example/users/a/outbox?page=true".into()
            ))
        );
        assert!(c.items.is_empty());
    }

    #[test]
    fn embedded_first_pages_and_inline_items_are_read() {
        let c = read_page(&json!({
            "type": "OrderedCollection", "totalItems": "2",
            "first": {"type": "OrderedCollectionPage", "orderedItems": [{"type": "Create", "object": "https://x.example/n/1"}],
                      "next": {"id": "https://x.example/outbox?until_id=1"}}
        }))
        .unwrap();
        let Some(PageRef::Embedded(first)) = c.first else {
            panic!("embedded page expected")
        };
        assert_eq!(first.items.len(), 1);
        assert_eq!(
            first.next.as_deref(),
            Some("https://x.example/outbox?until_id=1")
        );
        let inline = read_page(&json!({"type": "Collection", "items": [{"type": "Note", "id": "https://x.example/n/1"}]})).unwrap();
        assert_eq!(inline.items.len(), 1);
    }

    #[test]
    fn garbage_is_not_a_collection() {
        assert!(read_page(&json!("nope")).is_err());
        assert!(read_page(&json!({"type": "Person"})).is_err());
        assert!(read_page(&json!({"items": []})).is_err());
    }

    #[test]
    fn items_are_creates_announces_or_objects() {
        assert!(matches!(
            read_item(
                &json!({"type": "Create", "object": {"id": "https://x.example/n/1", "type": "Note"}})
            ),
            Some(OutboxItem::Create { .. })
        ));
        assert_eq!(
            read_item(
                &json!({"type": "Announce", "id": "https://x.example/a/1", "object": "https://y.example/n/2",
                               "to": "https://www.w3.org/ns/activitystreams#Public"})
            ),
            Some(OutboxItem::Announce {
                id: "https://x.example/a/1".into(),
                object: "https://y.example/n/2".into(),
                to: vec!["https://www.w3.org/ns/activitystreams#Public".into()],
                cc: vec![],
                published: None,
            })
        );
        assert_eq!(read_item(&json!({"type": "Like", "object": "x"})), None);
        assert_eq!(read_item(&json!("https://x.example/n/1")), None);
        assert_eq!(read_item(&json!({"type": "Create"})), None);
    }
}
