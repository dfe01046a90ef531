//! The tolerant parser over documents shaped like those of Mastodon, GoToSocial,
//! Misskey, Threads, Pleroma, Akkoma, Pixelfed and Lemmy (fixtures written from their
//! documented shapes: actors, objects and the activities their inboxes receive), and
//! over garbage.

use fulmar_federation::from_activitypub::{
    parse_activity, parse_actor, parse_object, visibility, RemoteActivity, RemoteObject,
    ACTIVITY_TYPES, ACTOR_TYPES, OBJECT_TYPES,
};
use serde_json::{json, Value};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

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

/// Parses an activity fixture and, when it embeds a Note-like object, that object.
fn activity(path: &str) -> (RemoteActivity, Option<RemoteObject>) {
    let a = parse_activity(&fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let object = match a.object_type.as_deref() {
        Some(t) if OBJECT_TYPES.contains(&t) => {
            Some(parse_object(&a.object).unwrap_or_else(|e| panic!("{path} object: {e}")))
        }
        _ => None,
    };
    (a, object)
}

/// Every JSON file in the corpus parses with the reader its `type` calls for, and so
/// does every object an activity embeds (down to the Create a Lemmy group announces).
/// A fixture added later is covered without touching this test.
#[test]
fn every_fixture_parses() {
    fn check(doc: &Value, name: &str) -> &'static str {
        let kind = doc["type"].as_str().unwrap_or_default();
        if ACTOR_TYPES.contains(&kind) {
            parse_actor(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            "actor"
        } else if OBJECT_TYPES.contains(&kind) {
            parse_object(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            "object"
        } else if ACTIVITY_TYPES.contains(&kind) {
            let a = parse_activity(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(a.kind, kind, "{name}");
            assert!(
                a.object_id.is_some(),
                "{name}: an activity without object id"
            );
            if a.object.is_object() && a.object_type.as_deref() != Some("Tombstone") {
                check(&a.object, &format!("{name} (object)"));
            }
            "activity"
        } else {
            panic!("{name}: unexpected type {kind:?}")
        }
    }
    let root = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut servers = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let server = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (mut actors, mut activities) = (0, 0);
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let name = format!("{server}/{}", file.file_name().unwrap().to_string_lossy());
            let doc = fixture(&name);
            match check(&doc, &name) {
                "actor" => actors += 1,
                "activity" => activities += 1,
                _ => {}
            }
        }
        assert!(activities > 0, "{server} has no activity fixture");
        assert!(actors > 0, "{server} has no actor fixture");
        servers.push(server);
    }
    servers.sort();
    assert_eq!(
        servers,
        [
            "akkoma",
            "gotosocial",
            "lemmy",
            "mastodon",
            "misskey",
            "pixelfed",
            "pleroma",
            "threads"
        ]
    );
}

#[test]
fn mastodon_activities() {
    let gargron = "https://mastodon.example/users/Gargron";
    let followers = "https://mastodon.example/users/Gargron/followers";

    let (create, note) = activity("mastodon/create_note.json");
    assert_eq!(create.kind, "Create");
    assert_eq!(create.actor, gargron);
    assert_eq!(create.object_type.as_deref(), Some("Note"));
    assert_eq!(
        create.object_id.as_deref(),
        Some("https://mastodon.example/users/Gargron/statuses/113000000000000002")
    );
    assert_eq!(create.to, vec![followers]);
    let note = note.unwrap();
    assert_eq!(visibility(&note, Some(followers)), "private");
    assert_eq!(
        note.in_reply_to.as_deref(),
        Some("https://other.example/users/bob/statuses/7")
    );
    assert_eq!(note.mentions, vec!["https://other.example/users/bob"]);
    assert_eq!(note.hashtags, vec!["Lunch"]);
    assert_eq!(note.summary.as_deref(), Some("lunch talk"));
    assert!(note.sensitive);

    let (update, note) = activity("mastodon/update_note.json");
    assert_eq!(update.kind, "Update");
    let note = note.unwrap();
    assert_eq!(note.updated.as_deref(), Some("2024-08-21T08:46:40Z"));
    assert_eq!(note.published.as_deref(), Some("2024-08-20T12:34:56Z"));
    assert_eq!(visibility(&note, Some(followers)), "public");

    let (delete, none) = activity("mastodon/delete.json");
    assert_eq!(delete.kind, "Delete");
    assert_eq!(delete.object_type.as_deref(), Some("Tombstone"));
    assert_eq!(
        delete.object_id.as_deref(),
        Some("https://mastodon.example/users/Gargron/statuses/113000000000000001")
    );
    assert!(none.is_none());

    let (follow, _) = activity("mastodon/follow.json");
    assert_eq!(follow.kind, "Follow");
    assert_eq!(
        follow.id.as_deref(),
        Some("https://mastodon.example/5c2b7a1e-1d2f-4a8e-9b9f-2f6b0c3d4e5f")
    );
    assert_eq!(
        follow.object_id.as_deref(),
        Some("https://gts.example/users/tobi")
    );
    assert_eq!(follow.object_type, None);

    // Accept embeds the whole Follow: its id, and who followed whom.
    let (accept, _) = activity("mastodon/accept_follow.json");
    assert_eq!(accept.kind, "Accept");
    assert_eq!(accept.object_type.as_deref(), Some("Follow"));
    let inner = parse_activity(&accept.object).unwrap();
    assert_eq!(inner.actor, "https://gts.example/users/tobi");
    assert_eq!(inner.object_id.as_deref(), Some(gargron));

    // Undo embeds the Follow too, with the id the Follow had.
    let (undo, _) = activity("mastodon/undo_follow.json");
    assert_eq!(undo.kind, "Undo");
    assert_eq!(undo.object_type.as_deref(), Some("Follow"));
    assert_eq!(undo.object_id, follow.id);
    let inner = parse_activity(&undo.object).unwrap();
    assert_eq!(inner.actor, gargron);
    assert_eq!(inner.object_id, follow.object_id);

    let (like, _) = activity("mastodon/like.json");
    assert_eq!(like.kind, "Like");
    assert_eq!(like.content, None);
    assert_eq!(
        like.object_id.as_deref(),
        Some("https://gts.example/users/tobi/statuses/01F8MH75CBF9JFX4ZAD54N0W0R")
    );

    let (announce, _) = activity("mastodon/announce.json");
    assert_eq!(announce.kind, "Announce");
    assert_eq!(announce.object_id, like.object_id);
    assert_eq!(announce.to, vec![PUBLIC]);
    assert!(announce.cc.iter().any(|c| c == followers));

    let (block, _) = activity("mastodon/block.json");
    assert_eq!(block.kind, "Block");
    assert_eq!(
        block.object_id.as_deref(),
        Some("https://other.example/users/troll")
    );
}

#[test]
fn mastodon_polls() {
    let (create, question) = activity("mastodon/question_oneof.json");
    assert_eq!(create.object_type.as_deref(), Some("Question"));
    let question = question.unwrap();
    assert_eq!(question.kind, "Question");
    assert_eq!(question.html(), "<p>Tabs or spaces?</p>");
    // The options and their counts stay in the raw object for the poll code to read.
    let options = create.object["oneOf"].as_array().unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(options[1]["name"], "Spaces");
    assert_eq!(options[1]["replies"]["totalItems"], 2);
    assert_eq!(create.object["votersCount"], 3);
    assert!(create.object.get("anyOf").is_none());

    let (update, question) = activity("mastodon/question_anyof.json");
    assert_eq!(update.kind, "Update");
    assert_eq!(question.unwrap().kind, "Question");
    let options = update.object["anyOf"].as_array().unwrap();
    assert_eq!(options.len(), 3);
    assert_eq!(options[0]["replies"]["totalItems"], 3);
    assert!(update.object["closed"].is_string());

    // A vote is a Create of a Note with a `name` and no content, replying to the poll.
    let (vote, note) = activity("mastodon/poll_vote.json");
    assert_eq!(vote.kind, "Create");
    let note = note.unwrap();
    assert_eq!(note.name.as_deref(), Some("Spaces"));
    assert_eq!(note.content, None);
    assert_eq!(
        note.in_reply_to.as_deref(),
        Some("https://mastodon.example/users/Gargron/statuses/113000000000000010")
    );
    assert_eq!(visibility(&note, None), "direct");
}

#[test]
fn gotosocial_activities() {
    let tobi = "https://gts.example/users/tobi";
    let (create, note) = activity("gotosocial/create_note_policy.json");
    assert_eq!(create.actor, tobi);
    // Scalars where arrays are usual, on the activity and on the object.
    assert_eq!(create.to, vec!["https://gts.example/users/tobi/followers"]);
    let note = note.unwrap();
    assert_eq!(
        visibility(&note, Some("https://gts.example/users/tobi/followers")),
        "private"
    );
    assert_eq!(note.mentions, vec!["https://gts.example/users/admin"]);
    assert_eq!(note.hashtags, vec!["gts"]);
    assert_eq!(note.summary.as_deref(), Some(""));
    assert_eq!(
        note.in_reply_to.as_deref(),
        Some("https://gts.example/users/admin/statuses/01J5Z9AA0000000000000000CD")
    );
    let policy = &create.object["interactionPolicy"];
    assert_eq!(
        policy["canReply"]["manualApproval"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    assert_eq!(policy["canAnnounce"]["automaticApproval"][0], tobi);

    // Accept naming the Follow by id only: the follow is found by that id.
    let (accept, _) = activity("gotosocial/accept_id_only.json");
    assert_eq!(accept.kind, "Accept");
    assert_eq!(accept.object_type, None);
    assert_eq!(
        accept.object_id.as_deref(),
        Some("https://mastodon.example/5c2b7a1e-1d2f-4a8e-9b9f-2f6b0c3d4e5f")
    );

    let (reject, _) = activity("gotosocial/reject_follow.json");
    assert_eq!(reject.kind, "Reject");
    assert_eq!(reject.object_type.as_deref(), Some("Follow"));
    assert_eq!(
        parse_activity(&reject.object).unwrap().actor,
        "https://misskey.example/users/9abcdefghi"
    );

    // Delete with the object's bare id (no Tombstone).
    let (delete, _) = activity("gotosocial/delete.json");
    assert_eq!(delete.object_type, None);
    assert_eq!(
        delete.object_id.as_deref(),
        Some("https://gts.example/users/tobi/statuses/01F8MH75CBF9JFX4ZAD54N0W0R")
    );

    let (undo, _) = activity("gotosocial/undo_like.json");
    assert_eq!(undo.object_type.as_deref(), Some("Like"));
    assert_eq!(
        parse_activity(&undo.object).unwrap().object_id.as_deref(),
        Some("https://mastodon.example/users/Gargron/statuses/113000000000000001")
    );
}

#[test]
fn misskey_activities() {
    let syuilo = "https://misskey.example/users/9abcdefghi";
    let (like, _) = activity("misskey/like_reaction.json");
    assert_eq!(like.kind, "Like");
    assert_eq!(like.actor, syuilo);
    assert_eq!(like.content.as_deref(), Some(":blobcat_thumbsup:"));
    assert_eq!(
        fixture("misskey/like_reaction.json")["_misskey_reaction"],
        ":blobcat_thumbsup:"
    );
    let (like, _) = activity("misskey/like_unicode.json");
    assert_eq!(like.content.as_deref(), Some("🍮"));

    let (create, note) = activity("misskey/create_quote.json");
    assert_eq!(create.kind, "Create");
    let note = note.unwrap();
    assert_eq!(
        note.quote.as_deref(),
        Some("https://mastodon.example/users/Gargron/statuses/113000000000000001")
    );
    assert_eq!(
        note.mentions,
        vec!["https://mastodon.example/users/Gargron"]
    );
    assert_eq!(note.hashtags, vec!["misskey"]);
    assert_eq!(note.in_reply_to, None);
    assert_eq!(visibility(&note, None), "public");

    let (follow, _) = activity("misskey/follow.json");
    assert_eq!(
        follow.object_id.as_deref(),
        Some("https://gts.example/users/tobi")
    );
    let (accept, _) = activity("misskey/accept_follow.json");
    assert_eq!(accept.object_type.as_deref(), Some("Follow"));
    assert_eq!(
        accept.object_id.as_deref(),
        Some("https://mastodon.example/2a7c1b0d-3e4f-4a5b-8c6d-7e8f9a0b1c2d")
    );
    let (announce, _) = activity("misskey/announce.json");
    assert_eq!(announce.kind, "Announce");
    assert_eq!(announce.to, vec![PUBLIC]);
    let (block, _) = activity("misskey/block.json");
    assert_eq!(
        block.object_id.as_deref(),
        Some("https://mastodon.example/users/Gargron")
    );
}

#[test]
fn akkoma_actor_note_and_reactions() {
    let floof = "https://akkoma.example/users/floof";
    let a = parse_actor(&fixture("akkoma/actor.json")).unwrap();
    assert_eq!(a.id, floof);
    assert_eq!(a.preferred_username, "floof");
    assert_eq!(
        a.shared_inbox.as_deref(),
        Some("https://akkoma.example/inbox")
    );
    assert_eq!(
        a.icon.as_deref(),
        Some("https://akkoma.example/media/4e/floof.png")
    );
    assert_eq!(a.fields[0].0, "Pronouns");
    assert_eq!(a.discoverable, Some(true));

    let n = parse_object(&fixture("akkoma/note.json")).unwrap();
    assert_eq!(n.attributed_to, floof);
    assert!(!n.sensitive, "null sensitive is false");
    assert_eq!(n.context.as_deref(), n.conversation.as_deref());
    assert_eq!(n.mentions, vec!["https://mastodon.example/users/Gargron"]);
    assert_eq!(
        visibility(&n, Some("https://akkoma.example/users/floof/followers")),
        "direct"
    );

    let (create, note) = activity("akkoma/create_note.json");
    assert_eq!(create.actor, floof);
    assert_eq!(note.unwrap(), n);

    let (react, _) = activity("akkoma/emoji_react.json");
    assert_eq!(react.kind, "EmojiReact");
    assert_eq!(react.content.as_deref(), Some(":blobfox:"));
    assert_eq!(
        react.object_id.as_deref(),
        Some("https://mastodon.example/users/Gargron/statuses/113000000000000001")
    );
    let (react, _) = activity("akkoma/emoji_react_unicode.json");
    assert_eq!(react.content.as_deref(), Some("🔥"));

    let (undo, _) = activity("akkoma/undo_announce.json");
    assert_eq!(undo.object_type.as_deref(), Some("Announce"));
    assert_eq!(parse_activity(&undo.object).unwrap().actor, floof);

    let (delete, _) = activity("akkoma/delete.json");
    assert_eq!(delete.object_type.as_deref(), Some("Tombstone"));
    assert_eq!(delete.object_id.as_deref(), Some(n.id.as_str()));
}

#[test]
fn pixelfed_actor_and_photo_post() {
    let lens = "https://pixelfed.example/users/lens";
    let a = parse_actor(&fixture("pixelfed/actor.json")).unwrap();
    assert_eq!(a.id, lens);
    assert_eq!(a.url.as_deref(), Some("https://pixelfed.example/lens"));
    assert_eq!(
        a.shared_inbox.as_deref(),
        Some("https://pixelfed.example/f/inbox")
    );
    assert_eq!(a.indexable, Some(true));
    assert_eq!(a.discoverable, None);

    let n = parse_object(&fixture("pixelfed/note.json")).unwrap();
    assert_eq!(n.attributed_to, lens);
    assert_eq!(n.summary, None);
    assert_eq!(n.hashtags, vec!["filmphotography"]);
    assert_eq!(
        visibility(&n, Some("https://pixelfed.example/users/lens/followers")),
        "public"
    );

    let (create, note) = activity("pixelfed/create_note.json");
    assert_eq!(create.actor, lens);
    assert_eq!(note.unwrap(), n);
    let images = create.object["attachment"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0]["type"], "Image");
    assert_eq!(images[0]["mediaType"], "image/jpeg");
    assert_eq!(images[1]["name"], "A gull on a bollard");

    let (like, _) = activity("pixelfed/like.json");
    assert_eq!(like.kind, "Like");
    let (follow, _) = activity("pixelfed/follow.json");
    assert_eq!(
        follow.object_id.as_deref(),
        Some("https://mastodon.example/users/Gargron")
    );
}

#[test]
fn threads_activities() {
    let actor = "https://threads.net/ap/users/17841400000000000/";
    let (create, note) = activity("threads/create_note.json");
    assert_eq!(create.actor, actor);
    let note = note.unwrap();
    assert_eq!(note.attributed_to, actor);
    assert_eq!(
        note.in_reply_to.as_deref(),
        Some("https://mastodon.example/users/Gargron/statuses/113000000000000001")
    );
    assert_eq!(
        note.mentions,
        vec!["https://mastodon.example/users/Gargron"]
    );
    assert_eq!(note.hashtags, vec!["fediverse"]);
    assert_eq!(visibility(&note, None), "public");

    let (delete, _) = activity("threads/delete.json");
    assert_eq!(delete.object_type.as_deref(), Some("Tombstone"));
    assert_eq!(delete.object_id.as_deref(), Some(note.id.as_str()));

    let (accept, _) = activity("threads/accept_follow.json");
    assert_eq!(
        parse_activity(&accept.object).unwrap().object_id.as_deref(),
        Some(actor)
    );
}

#[test]
fn lemmy_activities() {
    let rust = "https://lemmy.example/c/rust";
    let (create, page) = activity("lemmy/create_page.json");
    assert_eq!(create.kind, "Create");
    assert_eq!(create.actor, "https://lemmy.example/u/ferris");
    assert_eq!(create.cc, vec![rust]);
    assert_eq!(fixture("lemmy/create_page.json")["audience"], rust);
    let page = page.unwrap();
    assert_eq!(page.kind, "Page");
    assert_eq!(page.name.as_deref(), Some("Borrow checker question"));
    assert_eq!(visibility(&page, None), "public");
    assert_eq!(create.object["audience"], rust);

    // The group announces the member's whole Create.
    let (announce, _) = activity("lemmy/announce_create.json");
    assert_eq!(announce.actor, rust);
    assert_eq!(announce.object_type.as_deref(), Some("Create"));
    assert_eq!(announce.object_id, create.id);
    let inner = parse_activity(&announce.object).unwrap();
    assert_eq!(inner.object_id.as_deref(), Some(page.id.as_str()));
    assert_eq!(parse_object(&inner.object).unwrap(), page);

    let (comment, note) = activity("lemmy/create_comment.json");
    assert_eq!(comment.actor, "https://lemmy.example/u/crab");
    let note = note.unwrap();
    assert_eq!(note.in_reply_to.as_deref(), Some(page.id.as_str()));
    assert_eq!(note.mentions, vec!["https://lemmy.example/u/ferris"]);
    assert_eq!(visibility(&note, None), "public");

    let (follow, _) = activity("lemmy/follow_group.json");
    assert_eq!(follow.object_id.as_deref(), Some(rust));
    let (like, _) = activity("lemmy/like.json");
    assert_eq!(like.object_id.as_deref(), Some(page.id.as_str()));
    let (delete, _) = activity("lemmy/delete.json");
    assert_eq!(delete.object_id.as_deref(), Some(page.id.as_str()));
    assert_eq!(delete.object_type, None);
}

#[test]
fn pleroma_follow_and_undo() {
    let (follow, _) = activity("pleroma/follow.json");
    assert_eq!(follow.actor, "https://pleroma.example/users/lain");
    let (undo, _) = activity("pleroma/undo_follow.json");
    assert_eq!(undo.object_type.as_deref(), Some("Follow"));
    assert_eq!(undo.object_id, follow.id);
}
