//! Media attachments of received statuses: a peer on loopback pushes signed Creates
//! and Updates with attachments (Pixelfed's and Mastodon's shapes), and the statuses
//! show them through the client API.

use fulmar_store::accounts::AccountRow;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::TestApp;
use crate::peer::{dev_server, followed_bob, Peer, PeerActor};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A Fulmar with `alice` (who follows the peer's `bob`) and a peer with `bob`.
struct World {
    fulmar: TestApp,
    token: String,
    bob_row: AccountRow,
    peer: Peer,
    bob: PeerActor,
}

impl World {
    async fn start(app: TestApp) -> World {
        let backend = app.backend;
        app.stop().await;
        let fulmar = dev_server(backend).await;
        let (alice, token) = fulmar.user_with_token("alice", "read write follow").await;
        let (peer, bob, bob_row) = followed_bob(&fulmar, alice.id).await;
        World {
            fulmar,
            token,
            bob_row,
            peer,
            bob,
        }
    }

    fn note(&self, n: u32, attachment: Value) -> Value {
        json!({
            "id": format!("{}/users/bob/statuses/{n}", self.peer.base),
            "type": "Note",
            "attributedTo": self.bob.id,
            "content": format!("<p>note {n}</p>"),
            "published": "2026-01-02T03:04:05Z",
            "url": format!("{}/@bob/{n}", self.peer.base),
            "to": [PUBLIC],
            "cc": [format!("{}/followers", self.bob.id)],
            "sensitive": true,
            "attachment": attachment,
        })
    }

    async fn send(&self, kind: &str, object: Value) {
        let id = fulmar_federation::from_activitypub::id_of(&object).unwrap_or_default();
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{id}/{}/{}", kind.to_lowercase(), fulmar::core::ids::next_id()),
            "type": kind,
            "actor": self.bob.id,
            "object": object,
        });
        self.post(&activity).await;
    }

    async fn post(&self, activity: &Value) {
        let (status, body) = self
            .peer
            .post(&self.bob, &self.fulmar.url("/inbox"), activity)
            .await;
        assert_eq!(status, 202, "{body}");
    }

    /// Waits until the inbox queue is empty (every activity acted on or dropped).
    async fn settle(&self) {
        crate::helpers::queue_drained(&self.fulmar.app.db, "inbox").await;
    }

    /// The status with this URI as alice's home timeline shows it.
    async fn home_status(&self, uri: &str) -> Value {
        self.settle().await;
        let (code, body) = self
            .fulmar
            .api_get("/api/v1/timelines/home", &self.token)
            .await;
        assert_eq!(code, 200, "{body}");
        body.as_array()
            .unwrap()
            .iter()
            .find(|s| s["uri"] == uri)
            .unwrap_or_else(|| panic!("{uri} is not in the home timeline: {body}"))
            .clone()
    }

    /// How many versions the edit history of a status lists.
    async fn versions(&self, id: &str) -> usize {
        let (code, body) = self
            .fulmar
            .api_get(&format!("/api/v1/statuses/{id}/history"), &self.token)
            .await;
        assert_eq!(code, 200, "{body}");
        body.as_array().unwrap().len()
    }

    fn normalized(&self, v: &Value) -> Value {
        let text = v
            .to_string()
            .replace(&self.peer.base, "http://peer.test")
            .replace(&self.peer.host, "peer.test")
            .replace(self.fulmar.app.urls.base(), "http://fulmar.test")
            .replace(self.fulmar.app.urls.domain(), "fulmar.test");
        serde_json::from_str(&text).unwrap()
    }
}

fn urls(status: &Value) -> Vec<String> {
    status["media_attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["url"].as_str().unwrap().to_owned())
        .collect()
}

async fn pixelfed(app: TestApp) {
    let w = World::start(app).await;
    // The Pixelfed fixture, moved onto the peer (bob stands in for the author).
    let fixture = include_str!("../../../federation/tests/fixtures/pixelfed/create_note.json")
        .replace("https://pixelfed.example/users/lens", &w.bob.id)
        .replace("https://pixelfed.example", &w.peer.base);
    let activity: Value = serde_json::from_str(&fixture).unwrap();
    w.post(&activity).await;
    let uri = activity["object"]["id"].as_str().unwrap();
    let status = w.home_status(uri).await;
    let media = status["media_attachments"].as_array().unwrap();
    assert_eq!(media.len(), 2, "{status}");
    assert_eq!(media[0]["type"], "image");
    assert_eq!(
        media[0]["url"],
        format!("{}/storage/m/_v2/1/harbour-1.jpg", w.peer.base)
    );
    assert_eq!(media[0]["remote_url"], media[0]["url"]);
    assert_eq!(media[0]["preview_url"], media[0]["url"]);
    assert_eq!(media[0]["description"], "Boats moored in a grey harbour");
    assert_eq!(media[0]["blurhash"], "U9C?r]~q00IU00ofRjxu00of%Mxu");
    assert_eq!(media[0]["meta"]["original"]["size"], "1080x1350");
    assert_eq!(media[0]["meta"]["original"]["aspect"], 0.8);
    assert_eq!(media[1]["description"], "A gull on a bollard");
    assert_eq!(status["sensitive"], false);

    // Account statuses with only_media find it.
    let (code, body) = w
        .fulmar
        .api_get(
            &format!("/api/v1/accounts/{}/statuses?only_media=true", w.bob_row.id),
            &w.token,
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let found: Vec<&Value> = body.as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 1, "{body}");
    assert_eq!(found[0]["uri"], uri);
}

db_test!(
    pixelfed_photos_keep_their_images,
    |app: TestApp| async move { pixelfed(app).await }
);

async fn mastodon(app: TestApp) {
    let w = World::start(app).await;
    let base = w.peer.base.clone();
    let note = w.note(
        1,
        json!([
            {
                "type": "Document", "mediaType": "image/png",
                "url": format!("{base}/system/media/1/original/cat.png"),
                "name": "A cat asleep on a keyboard",
                "blurhash": "LKO2?U%2Tw=w]~RBVZRi};RPxuwH",
                "focalPoint": [0.5, -0.25], "width": 1200, "height": 800
            },
            {
                "type": "Document", "mediaType": "video/mp4",
                "url": format!("{base}/system/media/2/original/clip.mp4"),
                "name": null, "blurhash": "U00000fQfQfQfQfQfQfQfQfQfQfQ",
                "width": 640, "height": 360
            },
            // Neither is loadable by a client: both are skipped.
            {"type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)"},
            {"type": "Document", "mediaType": "image/png", "url": "/media/relative.png"},
            // A profile field is not media.
            {"type": "PropertyValue", "name": "x", "value": "y"}
        ]),
    );
    w.send("Create", note.clone()).await;
    let uri = note["id"].as_str().unwrap();
    let status = w.home_status(uri).await;
    let media = status["media_attachments"].as_array().unwrap();
    assert_eq!(media.len(), 2, "{status}");
    assert_eq!(media[0]["type"], "image");
    assert_eq!(media[0]["meta"]["focus"], json!({"x": 0.5, "y": -0.25}));
    assert_eq!(media[1]["type"], "video");
    assert!(media[1]["description"].is_null());
    assert_eq!(media[1]["meta"]["original"]["size"], "640x360");
    assert_eq!(status["sensitive"], true);
    insta::assert_json_snapshot!("remote_status_with_media", w.normalized(&status), {
        ".id" => "[id]",
        ".media_attachments[].id" => "[id]",
        ".account.id" => "[id]",
        ".account.created_at" => "[time]",
        ".account.last_status_at" => "[date]",
    });

    // An Update replaces the list: the video goes, another image comes, and the
    // change is an edit.
    let mut updated = w.note(
        1,
        json!({
            "type": "Image", "mediaType": "image/jpeg",
            "url": [
                {"type": "Link", "mediaType": "text/html", "href": format!("{base}/@bob/1")},
                {"type": "Link", "mediaType": "image/jpeg", "href": format!("{base}/system/media/3/dog.jpg")}
            ],
            "name": "A dog"
        }),
    );
    updated["updated"] = json!("2026-01-02T05:00:00Z");
    w.send("Update", updated.clone()).await;
    let status = w.home_status(uri).await;
    assert_eq!(
        urls(&status),
        vec![format!("{base}/system/media/3/dog.jpg")],
        "{status}"
    );
    assert_eq!(status["media_attachments"][0]["description"], "A dog");
    assert!(status["edited_at"].is_string(), "{status}");
    // The same Update again changes nothing: no new version.
    let id = status["id"].as_str().unwrap();
    let versions = w.versions(id).await;
    assert_eq!(versions, 2);
    w.send("Update", updated.clone()).await;
    w.settle().await;
    assert_eq!(w.versions(id).await, versions);
    // Each version keeps the attachments it showed: the first the image and the
    // video, the second the dog.
    let (code, history) = w
        .fulmar
        .api_get(&format!("/api/v1/statuses/{id}/history"), &w.token)
        .await;
    assert_eq!(code, 200, "{history}");
    assert_eq!(history[0]["media_attachments"].as_array().unwrap().len(), 2);
    assert_eq!(history[0]["media_attachments"][1]["type"], "video");
    assert_eq!(urls(&history[1]), urls(&status), "{history}");
    insta::assert_json_snapshot!("remote_status_history_with_media", w.normalized(&history), {
        "[].media_attachments[].id" => "[id]",
        "[].account.id" => "[id]",
        "[].account.created_at" => "[time]",
        "[].account.last_status_at" => "[date]",
    });
    // The replaced rows are gone, not only detached.
    let rows = fulmar_store::remote::media_by_status_ids(
        &w.fulmar.app.db,
        &[status["id"].as_str().unwrap().parse().unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
}

db_test!(
    mastodon_media_show_with_types_alt_text_and_focus,
    |app: TestApp| async move { mastodon(app).await }
);

async fn capped(app: TestApp) {
    let w = World::start(app).await;
    let base = w.peer.base.clone();
    let many: Vec<Value> = (0..20)
        .map(|i| {
            json!({"type": "Image", "mediaType": "image/jpeg",
                   "url": format!("{base}/media/{i}.jpg")})
        })
        .collect();
    let note = w.note(2, Value::Array(many));
    w.send("Create", note.clone()).await;
    // A status without media on the same page: the page's media are loaded at once
    // and each status gets only its own.
    let plain = w.note(3, Value::Null);
    w.send("Create", plain.clone()).await;
    let without = w.home_status(plain["id"].as_str().unwrap()).await;
    assert_eq!(without["media_attachments"], json!([]), "{without}");
    let status = w.home_status(note["id"].as_str().unwrap()).await;
    let urls = urls(&status);
    assert_eq!(urls.len(), 16, "{status}");
    // The first sixteen, in the order sent.
    assert_eq!(urls[0], format!("{base}/media/0.jpg"));
    assert_eq!(urls[15], format!("{base}/media/15.jpg"));
}

db_test!(
    at_most_sixteen_attachments_are_kept,
    |app: TestApp| async move { capped(app).await }
);

fn publish(s: &fulmar_store::statuses::NewStatus) -> fulmar_store::status_actions::Publish<'_> {
    fulmar_store::status_actions::Publish {
        status: s,
        mentions: &[],
        tags: &[],
        counts_for_author: true,
        counts_as_reply: false,
    }
}

/// A status stored with media and a poll is stored whole or not at all: when the poll
/// cannot be written, neither the status nor its media are.
async fn atomic(app: TestApp) {
    use fulmar::core::ids::next_id;
    use fulmar_store::remote::{NewMedia, RemotePoll};
    use fulmar_store::status_actions::publish_with;
    use fulmar_store::statuses::NewStatus;

    let (alice, _) = app.user_with_token("alice", "read").await;
    let status = |n: i64| NewStatus {
        id: next_id(),
        uri: format!("https://x.example/n/{n}"),
        url: None,
        account_id: alice.id,
        in_reply_to_id: None,
        in_reply_to_account_id: None,
        in_reply_to_uri: None,
        reblog_of_id: None,
        content: "<p>hi</p>".into(),
        text: None,
        spoiler_text: String::new(),
        sensitive: false,
        visibility: "public".into(),
        language: None,
        context_uri: None,
        local: false,
        application_id: None,
        created_at: 1_000,
    };
    let media = |url: &str| NewMedia {
        id: next_id(),
        media_type: "image".into(),
        content_type: Some("image/png".into()),
        remote_url: url.into(),
        description: Some("alt".into()),
        blurhash: None,
        meta: "{}".into(),
    };
    let poll = RemotePoll {
        id: next_id(),
        account_id: alice.id,
        multiple: false,
        options: vec!["a".into(), "b".into()],
        tallies: vec![1, 2],
        voters_count: Some(3),
        expires_at: None,
    };
    let first = status(1);
    publish_with(
        &app.app.db,
        &publish(&first),
        &[media("https://x.example/1.png")],
        Some(&poll),
    )
    .await
    .unwrap();
    let row = fulmar_store::statuses::by_id(&app.app.db, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.poll_id, Some(poll.id));
    // The same poll id again fails, after the status and its media were written.
    let second = status(2);
    let failed = publish_with(
        &app.app.db,
        &publish(&second),
        &[media("https://x.example/2.png")],
        Some(&poll),
    )
    .await;
    assert!(failed.is_err());
    assert!(fulmar_store::statuses::by_id(&app.app.db, second.id)
        .await
        .unwrap()
        .is_none());
    let stored = fulmar_store::remote::media_by_status_ids(&app.app.db, &[first.id, second.id])
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].remote_url.as_deref(),
        Some("https://x.example/1.png")
    );
    let alice_now = fulmar_store::accounts::by_id(&app.app.db, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice_now.statuses_count, 1);
}

db_test!(
    a_status_is_stored_with_its_media_and_poll_or_not_at_all,
    |app: TestApp| async move { atomic(app).await }
);
