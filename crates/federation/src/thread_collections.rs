//! Reading the collections a thread is fetched through: a status's `replies`
//! (FEP-f228) and its thread's `context` (FEP-7888). Both are `Collection`s or
//! `OrderedCollection`s whose items come in pages: the collection may embed its
//! `first` page or name it, and each page names its `next`. Items are ids or embedded
//! objects. Everything here is tolerant: what cannot be read is left out, never an
//! error, because a thread is filled in on a best-effort basis.

use serde_json::Value;

use crate::from_activitypub::id_of;

/// One item of a collection page.
#[derive(Clone, Debug, PartialEq)]
pub enum ThreadItem {
    /// Named by id only: to be fetched.
    Id(String),
    /// Embedded: usable as it is only when its origin vouches for it (same host as
    /// the page it came in), else to be fetched by its id.
    Object { id: String, doc: Value },
}

impl ThreadItem {
    pub fn id(&self) -> &str {
        match self {
            ThreadItem::Id(id) | ThreadItem::Object { id, .. } => id,
        }
    }
}

/// A collection or one of its pages, as far as walking it needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadPage {
    /// The items on this document itself (a collection may carry some).
    pub items: Vec<ThreadItem>,
    /// An embedded first page.
    pub first_page: Option<Box<ThreadPage>>,
    /// The URL of the first page, when only named.
    pub first: Option<String>,
    /// The URL of the next page.
    pub next: Option<String>,
}

/// At most this many items of one page are read; real pages hold 20 to 100.
pub const MAX_ITEMS_PER_PAGE: usize = 200;

/// Reads a `Collection`, `OrderedCollection` or one of their pages. Anything else
/// (a string, a number, an object without items or links) reads as an empty page.
pub fn parse_collection_page(doc: &Value) -> ThreadPage {
    let Some(o) = doc.as_object() else {
        return ThreadPage::default();
    };
    let items = o
        .get("orderedItems")
        .or_else(|| o.get("items"))
        .map(read_items)
        .unwrap_or_default();
    let (first, first_page) = match o.get("first") {
        Some(Value::String(url)) if !url.is_empty() => (Some(url.clone()), None),
        Some(page @ Value::Object(p)) => {
            let has_content =
                p.contains_key("items") || p.contains_key("orderedItems") || p.contains_key("next");
            if has_content {
                (None, Some(Box::new(parse_collection_page_inner(page))))
            } else {
                (id_of(page), None)
            }
        }
        _ => (None, None),
    };
    ThreadPage {
        items,
        first_page,
        first,
        next: o.get("next").and_then(id_of),
    }
}

/// An embedded page is read without looking at its own `first` (a page has none).
fn parse_collection_page_inner(doc: &Value) -> ThreadPage {
    let mut page = parse_collection_page(doc);
    page.first = None;
    page.first_page = None;
    page
}

fn read_items(v: &Value) -> Vec<ThreadItem> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().take(MAX_ITEMS_PER_PAGE).collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    list.into_iter()
        .filter_map(|item| match item {
            Value::String(s) if !s.is_empty() => Some(ThreadItem::Id(s.clone())),
            Value::Object(o) => {
                let id = o.get("id").and_then(Value::as_str)?.to_owned();
                if id.is_empty() {
                    return None;
                }
                Some(ThreadItem::Object {
                    id,
                    doc: item.clone(),
                })
            }
            _ => None,
        })
        .collect()
}

/// The `replies` of an object: a URL, or an embedded collection read at once.
pub fn replies_of(object: &Value) -> Option<CollectionRef> {
    collection_ref(object.get("replies")?)
}

/// The FEP-7888 `context` of an object when it is a collection that can be fetched
/// (an http(s) URL or an embedded collection); Mastodon's `tag:` conversation ids
/// and other non-URLs are not.
pub fn context_of(object: &Value) -> Option<CollectionRef> {
    match object.get("context")? {
        Value::String(url) if url.starts_with("https://") || url.starts_with("http://") => {
            Some(CollectionRef::Url(url.clone()))
        }
        Value::Object(_) => collection_ref(object.get("context")?),
        _ => None,
    }
}

/// A collection named by URL or embedded.
#[derive(Clone, Debug, PartialEq)]
pub enum CollectionRef {
    Url(String),
    Embedded(ThreadPage),
}

fn collection_ref(v: &Value) -> Option<CollectionRef> {
    match v {
        Value::String(url) if !url.is_empty() => Some(CollectionRef::Url(url.clone())),
        Value::Object(o) => {
            let page = parse_collection_page(v);
            let empty = page.items.is_empty()
                && page.first.is_none()
                && page.first_page.is_none()
                && page.next.is_none();
            if empty {
                o.get("id")
                    .and_then(Value::as_str)
                    .map(|id| CollectionRef::Url(id.to_owned()))
            } else {
                Some(CollectionRef::Embedded(page))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn mastodon_replies_with_an_embedded_first_page() {
        let note = json!({
            "id": "https://a.example/users/x/statuses/1",
            "replies": {
                "id": "https://a.example/users/x/statuses/1/replies",
                "type": "Collection",
                "first": {
                    "type": "CollectionPage",
                    "next": "https://a.example/users/x/statuses/1/replies?page=true&min_id=5",
                    "items": ["https://a.example/users/x/statuses/2", {"id": "https://b.example/n/3", "type": "Note"}, 7]
                }
            }
        });
        let Some(CollectionRef::Embedded(c)) = replies_of(&note) else {
            panic!("an embedded collection");
        };
        let first = c.first_page.expect("first page");
        assert_eq!(first.items.len(), 2);
        assert_eq!(first.items[1].id(), "https://b.example/n/3");
        assert!(first.next.as_deref().unwrap().ends_with("min_id=5"));
    }

    #[test]
    fn named_collections_and_garbage() {
        assert_eq!(
            replies_of(&json!({"replies": "https://a.example/r"})),
            Some(CollectionRef::Url("https://a.example/r".into()))
        );
        assert_eq!(
            replies_of(&json!({"replies": {"id": "https://a.example/r"}})),
            Some(CollectionRef::Url("https://a.example/r".into()))
        );
        assert_eq!(replies_of(&json!({"replies": 3})), None);
        assert_eq!(
            context_of(&json!({"context": "tag:a.example,2024:objectId=1"})),
            None
        );
        assert_eq!(parse_collection_page(&json!("nope")), ThreadPage::default());
        let page = parse_collection_page(
            &json!({"orderedItems": "https://a.example/1", "first": "https://a.example/p1"}),
        );
        assert_eq!(
            page.items,
            vec![ThreadItem::Id("https://a.example/1".into())]
        );
        assert_eq!(page.first.as_deref(), Some("https://a.example/p1"));
    }
}
