//! The tolerant parser over documents shaped like those of Mastodon, GoToSocial,
//! Misskey, Threads, Pleroma and Lemmy (fixtures written from their documented
//! shapes), and over garbage.

use fulmar_federation::from_activitypub::{parse_actor, parse_object, visibility};
use serde_json::{json, Value};

fn fixture(path: &str) -> Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn mastodon_actor_and_note() {
    let a = parse_actor(&fixture("mastodon/actor.json")).unwrap();
    assert_eq!(a.id, "https://mastodon.example/users/Gargron");
    assert_eq!(a.kind, "Person");
    assert_eq!(a.preferred_username, "Gargron");
    assert_eq!(a.url.as_deref(), Some("https://mastodon.example/@Gargron"));
    assert_eq!(
        a.shared_inbox.as_deref(),
        Some("https://mastodon.example/inbox")
    );
    assert_eq!(a.public_keys.len(), 1);
    assert_eq!(
        a.public_keys[0].id,
        "https://mastodon.example/users/Gargron#main-key"
    );
    assert!(a.icon.as_deref().unwrap().ends_with("a.jpg"));
    assert!(a.image.as_deref().unwrap().ends_with("h.png"));
    assert_eq!(a.fields[0].0, "Patreon");
    assert_eq!(a.also_known_as, vec!["https://old.example/users/gargron"]);
    assert_eq!(a.discoverable, Some(true));
    assert_eq!(a.indexable, Some(true));
    assert!(!a.is_bot());
    assert_eq!(
        a.featured_tags.as_deref(),
        Some("https://mastodon.example/users/Gargron/collections/tags")
    );

    let n = parse_object(&fixture("mastodon/note.json")).unwrap();
    assert_eq!(n.attributed_to, "https://mastodon.example/users/Gargron");
    assert_eq!(
        n.in_reply_to.as_deref(),
        Some("https://other.example/users/bob/statuses/1")
    );
    assert_eq!(n.mentions, vec!["https://other.example/users/bob"]);
    assert_eq!(n.hashtags, vec!["fediverse"]);
    assert_eq!(n.language().as_deref(), Some("en"));
    assert_eq!(n.summary, None);
    assert!(n.conversation.is_some());
    assert_eq!(
        visibility(&n, Some("https://mastodon.example/users/Gargron/followers")),
        "public"
    );
}

#[test]
fn gotosocial_scalars_and_key_stub() {
    let a = parse_actor(&fixture("gotosocial/actor.json")).unwrap();
    assert!(a.manually_approves_followers);
    assert_eq!(
        a.public_keys[0].id,
        "https://gts.example/users/tobi/main-key"
    );
    assert_eq!(
        a.fields,
        vec![("pronouns".to_owned(), "they/them".to_owned())]
    );
    let stub = parse_actor(&fixture("gotosocial/key_stub.json")).unwrap();
    assert_eq!(
        stub.key(Some("https://gts.example/users/tobi/main-key"))
            .unwrap()
            .owner,
        "https://gts.example/users/tobi"
    );
    let n = parse_object(&fixture("gotosocial/note.json")).unwrap();
    // `to`, `cc` and `tag` are scalars here.
    assert_eq!(n.to, vec!["https://www.w3.org/ns/activitystreams#Public"]);
    assert_eq!(n.cc, vec!["https://gts.example/users/tobi/followers"]);
    assert_eq!(n.mentions, vec!["https://gts.example/users/admin"]);
    assert_eq!(visibility(&n, None), "public");
}

#[test]
fn misskey_quotes_and_unlisted() {
    let a = parse_actor(&fixture("misskey/actor.json")).unwrap();
    assert_eq!(a.preferred_username, "syuilo");
    assert_eq!(a.image, None);
    let n = parse_object(&fixture("misskey/note.json")).unwrap();
    assert_eq!(
        n.quote.as_deref(),
        Some("https://mastodon.example/users/Gargron/statuses/113000000000000001")
    );
    assert_eq!(n.in_reply_to, None);
    assert_eq!(
        visibility(
            &n,
            Some("https://misskey.example/users/9abcdefghi/followers")
        ),
        "unlisted"
    );
}

#[test]
fn threads_actor_and_post() {
    let a = parse_actor(&fixture("threads/actor.json")).unwrap();
    assert_eq!(a.preferred_username, "mosseri");
    assert_eq!(a.indexable, Some(false));
    let n = parse_object(&fixture("threads/note.json")).unwrap();
    assert_eq!(
        n.url.as_deref(),
        Some("https://www.threads.net/@mosseri/post/C9abcdefGHI")
    );
    assert_eq!(visibility(&n, None), "public");
}

#[test]
fn pleroma_direct_note() {
    let a = parse_actor(&fixture("pleroma/actor.json")).unwrap();
    assert_eq!(
        a.shared_inbox.as_deref(),
        Some("https://pleroma.example/inbox")
    );
    let n = parse_object(&fixture("pleroma/note.json")).unwrap();
    assert!(!n.sensitive, "null sensitive is false");
    assert_eq!(n.context.as_deref(), n.conversation.as_deref());
    assert_eq!(
        visibility(&n, Some("https://pleroma.example/users/lain/followers")),
        "direct"
    );
}

#[test]
fn lemmy_group_and_page() {
    let g = parse_actor(&fixture("lemmy/group.json")).unwrap();
    assert_eq!(g.kind, "Group");
    let p = parse_object(&fixture("lemmy/page.json")).unwrap();
    assert_eq!(p.kind, "Page");
    assert_eq!(p.name.as_deref(), Some("Rust 1.80 released"));
    assert_eq!(p.attributed_to, "https://lemmy.example/u/ferris");
    assert_eq!(visibility(&p, None), "public");
}

#[test]
fn followers_only_is_private() {
    let n = parse_object(&json!({
        "id": "https://a.example/n/1", "type": "Note", "attributedTo": ["https://a.example/u/x"],
        "to": "https://a.example/u/x/followers", "content": "hi"
    }))
    .unwrap();
    assert_eq!(
        visibility(&n, Some("https://a.example/u/x/followers")),
        "private"
    );
    assert_eq!(visibility(&n, None), "direct");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let bad = [
        json!(null),
        json!(42),
        json!("https://a.example/u/x"),
        json!([]),
        json!({}),
        json!({"id": 5, "type": "Person"}),
        json!({"id": "https://a.example/u/x", "type": "Person"}),
        json!({"id": "https://a.example/u/x", "type": "Create", "preferredUsername": "x"}),
        json!({"id": "javascript:alert(1)", "type": "Person", "preferredUsername": "x"}),
        json!({"id": "https://a.example/u/x", "type": ["Person"], "preferredUsername": ""}),
        json!({"id": "https://a.example/u/x", "type": "Person", "preferredUsername": {"a": 1},
               "publicKey": 7, "icon": [1, null, {}], "url": [[]], "attachment": "x"}),
    ];
    for doc in &bad {
        assert!(parse_actor(doc).is_err(), "{doc}");
    }
    let bad_objects = [
        json!({"id": "https://a.example/n/1", "type": "Note"}),
        json!({"id": "https://a.example/n/1", "type": "Person", "attributedTo": "https://a.example/u"}),
        json!({"type": "Note", "attributedTo": "https://a.example/u"}),
        json!({"id": "https://a.example/n/1", "type": "Note", "attributedTo": [null, 3, {}]}),
    ];
    for doc in &bad_objects {
        assert!(parse_object(doc).is_err(), "{doc}");
    }
    // Odd but usable shapes parse.
    let odd = parse_object(&json!({
        "id": "https://a.example/n/1", "type": "Note",
        "attributedTo": [{"type": "Group", "id": "https://a.example/g"}, {"type": "Person", "id": "https://a.example/u"}],
        "to": [{"id": "https://www.w3.org/ns/activitystreams#Public"}, 5, null],
        "tag": [1, "x", {"type": "Mention"}, {"type": "Hashtag", "name": "#Tag"}],
        "url": [{"type": "Link", "href": "https://a.example/n/1.json", "mediaType": "application/json"},
                {"type": "Link", "href": "https://a.example/@u/1", "mediaType": "text/html"}],
        "contentMap": {"de": "<p>hallo</p>", "en": 5},
        "sensitive": "true",
        "inReplyTo": {"id": "https://b.example/n/2", "type": "Note"}
    }))
    .unwrap();
    assert_eq!(odd.attributed_to, "https://a.example/u");
    assert_eq!(odd.to, vec!["https://www.w3.org/ns/activitystreams#Public"]);
    assert_eq!(odd.hashtags, vec!["Tag"]);
    assert_eq!(odd.url.as_deref(), Some("https://a.example/@u/1"));
    assert_eq!(odd.html(), "<p>hallo</p>");
    assert_eq!(odd.language().as_deref(), Some("de"));
    assert!(odd.sensitive);
    assert_eq!(odd.in_reply_to.as_deref(), Some("https://b.example/n/2"));
}

#[test]
fn deeply_nested_documents_do_not_overflow() {
    let mut text = String::new();
    for _ in 0..10_000 {
        text.push_str("{\"a\":");
    }
    // serde_json refuses nesting beyond its recursion limit: an error, not a crash.
    assert!(serde_json::from_str::<Value>(&text).is_err());
    let mut v = json!("https://a.example/u");
    for _ in 0..100 {
        v = json!({"id": v});
    }
    let doc = json!({"id": "https://a.example/n/1", "type": "Note", "attributedTo": v});
    // Nested ids are not followed: no actor.
    assert!(parse_object(&doc).is_err());
}
