//! The corpus through the inbox: activities in the shapes other servers send
//! (`crates/federation/tests/fixtures/`), moved onto a signing test peer and aimed at
//! a local account, are delivered to Fulmar and checked by their effect in the client
//! API. Where `parse.rs` shows that each shape can be read, this shows that each is
//! acted on: Misskey's reaction Likes, Akkoma's EmojiReact and direct messages,
//! GoToSocial's scalar addressing and id-only Accept, Mastodon's polls, Pleroma's
//! follows and their Undo.
//!
//! A fixture is moved by plain text replacement of its URLs: the sending server's
//! origin becomes the peer's, and the account and status it addresses become a local
//! account and one of her statuses. Only servers whose actors live at `/users/NAME`
//! can be moved this way (the peer serves actors there), so Threads and Lemmy stay in
//! `parse.rs` only.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::peer::{dev_server, Peer, PeerActor};

const WAIT: Duration = Duration::from_secs(15);
/// The account and status most fixtures address, on the made-up Mastodon server.
const GARGRON: &str = "https://mastodon.example/users/Gargron";
const GARGRON_STATUS: &str = "https://mastodon.example/users/Gargron/statuses/113000000000000001";

/// Writes one test per database; the body gets the backend and starts its own servers.
macro_rules! replay_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::helpers::postgres_url().is_none() {
                    return;
                }
                ($body)(Backend::Postgres).await;
            }
        }
    };
}

fn fixture(path: &str) -> Value {
    let full = format!(
        "{}/../federation/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The fixture with each `from` URL replaced by its `to`, in order (so a status URL
/// must come before the URL of its author).
fn moved(path: &str, pairs: &[(&str, &str)]) -> Value {
    let mut text = fixture(path).to_string();
    for (from, to) in pairs {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap()
}

/// Polls `probe` every 50 ms for at most [`WAIT`].
async fn eventually<T, Fut>(what: &str, mut probe: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A Fulmar server with `alice`, one public status of hers, and a peer.
struct Stage {
    fulmar: TestApp,
    peer: Peer,
    token: String,
    alice: String,
    inbox: String,
    shared_inbox: String,
    /// alice's status: its id in the client API and its ActivityPub id.
    status_id: String,
    status_uri: String,
}

async fn stage(backend: Backend) -> Stage {
    let fulmar = dev_server(backend).await;
    let (_, token) = fulmar
        .user_with_token("alice", "read write follow push")
        .await;
    let (code, status) = fulmar
        .api_post(
            "/api/v1/statuses",
            &token,
            json!({"status": "A post to react to", "visibility": "public"}),
        )
        .await;
    assert_eq!(code, 200, "{status}");
    Stage {
        alice: fulmar.app.urls.actor("alice"),
        inbox: fulmar.app.urls.inbox("alice"),
        shared_inbox: fulmar.app.urls.shared_inbox(),
        status_id: status["id"].as_str().unwrap().to_owned(),
        status_uri: status["uri"].as_str().unwrap().to_owned(),
        peer: Peer::start().await,
        token,
        fulmar,
    }
}

impl Stage {
    /// Signs `activity` as `actor` and delivers it; the inbox must take it.
    async fn deliver(&self, actor: &PeerActor, inbox: &str, activity: &Value) {
        let (status, body) = self.peer.post(actor, inbox, activity).await;
        assert_eq!(status, 202, "{body}\n{activity:#}");
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.fulmar.api_get(path, &self.token).await
    }

    /// A notification of `kind` for alice whose entity satisfies `pred`.
    async fn notification(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        eventually(&format!("a {kind} notification"), || async {
            let (_, list) = self
                .get(&format!("/api/v1/notifications?types[]={kind}"))
                .await;
            list.as_array()
                .and_then(|l| l.iter().find(|n| n["type"] == kind && pred(n)).cloned())
                .ok_or_else(|| list.to_string())
        })
        .await
    }

    async fn own_status(&self) -> Value {
        let (code, status) = self
            .get(&format!("/api/v1/statuses/{}", self.status_id))
            .await;
        assert_eq!(code, 200, "{status}");
        status
    }

    /// The client-API id of a remote status, once it is stored.
    async fn stored(&self, uri: &str) -> String {
        eventually(&format!("{uri} stored"), || async {
            fulmar_store::remote::status_by_uri(self.fulmar.db(), uri)
                .await
                .unwrap()
                .map(|row| row.id.to_string())
                .ok_or_else(|| "not stored".to_owned())
        })
        .await
    }

    /// The client-API id of a remote account, as alice resolves it.
    async fn account_id(&self, actor: &PeerActor) -> String {
        let q: String = form_urlencoded::byte_serialize(
            format!("@{}@{}", actor.name, self.peer.host).as_bytes(),
        )
        .collect();
        let (code, found) = self
            .get(&format!("/api/v2/search?resolve=true&type=accounts&q={q}"))
            .await;
        assert_eq!(code, 200, "{found}");
        assert_eq!(found["accounts"][0]["uri"], actor.id, "{found}");
        found["accounts"][0]["id"].as_str().unwrap().to_owned()
    }

    async fn relationship(&self, id: &str) -> Value {
        let (_, rels) = self
            .get(&format!("/api/v1/accounts/relationships?id[]={id}"))
            .await;
        rels[0].clone()
    }

    async fn followers(&self) -> Vec<String> {
        let me = fulmar_store::accounts::by_uri(self.fulmar.db(), &self.alice)
            .await
            .unwrap()
            .unwrap();
        let (_, list) = self
            .get(&format!("/api/v1/accounts/{}/followers", me.id))
            .await;
        list.as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|a| a["uri"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn reactions_quotes_and_photos(backend: Backend) {
    let s = stage(backend).await;
    let base = s.peer.base.clone();
    let to_alice = [
        (GARGRON_STATUS, s.status_uri.as_str()),
        (GARGRON, s.alice.as_str()),
    ];

    // Misskey: a Like carrying a custom-emoji reaction is a favourite.
    let misskey = s.peer.actor("9abcdefghi");
    let like = moved(
        "misskey/like_reaction.json",
        &[to_alice[0], to_alice[1], ("https://misskey.example", &base)],
    );
    s.deliver(&misskey, &s.inbox, &like).await;
    let n = s
        .notification("favourite", |n| n["account"]["uri"] == misskey.id)
        .await;
    assert_eq!(n["status"]["id"], s.status_id.as_str(), "{n}");

    // Akkoma: an EmojiReact is a favourite too, through the shared inbox.
    let akkoma = s.peer.actor("floof");
    let react = moved(
        "akkoma/emoji_react.json",
        &[to_alice[0], to_alice[1], ("https://akkoma.example", &base)],
    );
    s.deliver(&akkoma, &s.shared_inbox, &react).await;
    s.notification("favourite", |n| n["account"]["uri"] == akkoma.id)
        .await;
    assert_eq!(s.own_status().await["favourites_count"], 2);

    // The same reaction delivered again changes nothing.
    s.deliver(&akkoma, &s.shared_inbox, &react).await;

    // Misskey: a public quote that mentions alice is a mention.
    let quote = moved(
        "misskey/create_quote.json",
        &[to_alice[0], to_alice[1], ("https://misskey.example", &base)],
    );
    s.deliver(&misskey, &s.shared_inbox, &quote).await;
    let note_uri = quote["object"]["id"].as_str().unwrap();
    let n = s
        .notification("mention", |n| n["status"]["uri"] == note_uri)
        .await;
    assert_eq!(n["status"]["visibility"], "public", "{n}");
    assert!(
        n["status"]["content"]
            .as_str()
            .unwrap()
            .contains("this one"),
        "{n}"
    );
    assert_eq!(n["status"]["tags"][0]["name"], "misskey", "{n}");

    // Pixelfed: a photo post delivered to alice's inbox is stored, public, with its
    // text and hashtag.
    let pixelfed = s.peer.actor("lens");
    let photo = moved(
        "pixelfed/create_note.json",
        &[("https://pixelfed.example", &base)],
    );
    s.deliver(&pixelfed, &s.inbox, &photo).await;
    let photo_uri = photo["object"]["id"].as_str().unwrap();
    let id = s.stored(photo_uri).await;
    let (code, status) = s.get(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["visibility"], "public", "{status}");
    assert_eq!(status["account"]["uri"], pixelfed.id, "{status}");
    assert!(
        status["content"]
            .as_str()
            .unwrap()
            .contains("Harbour at dawn"),
        "{status}"
    );

    // Once every delivery has been processed, the repeated reaction has counted once.
    eventually("the inbox queue to drain", || async {
        match fulmar_store::jobs::pending(s.fulmar.db(), "inbox")
            .await
            .unwrap()
        {
            0 => Ok(()),
            n => Err(format!("{n} pending")),
        }
    })
    .await;
    assert_eq!(s.own_status().await["favourites_count"], 2);
}

replay_test!(reactions_quotes_and_photos, reactions_quotes_and_photos);

async fn conversations_polls_and_deletes(backend: Backend) {
    let s = stage(backend).await;
    let base = s.peer.base.clone();

    // Akkoma: a direct message replying to alice.
    let akkoma = s.peer.actor("floof");
    let dm = moved(
        "akkoma/create_note.json",
        &[
            (GARGRON_STATUS, &s.status_uri),
            (GARGRON, &s.alice),
            ("https://akkoma.example", &base),
        ],
    );
    s.deliver(&akkoma, &s.inbox, &dm).await;
    let dm_uri = dm["object"]["id"].as_str().unwrap();
    let n = s
        .notification("mention", |n| n["status"]["uri"] == dm_uri)
        .await;
    assert_eq!(n["status"]["visibility"], "direct", "{n}");
    assert_eq!(n["status"]["in_reply_to_id"], s.status_id.as_str(), "{n}");

    // Akkoma: then deletes it with a Tombstone.
    let delete = moved(
        "akkoma/delete.json",
        &[(GARGRON, &s.alice), ("https://akkoma.example", &base)],
    );
    s.deliver(&akkoma, &s.inbox, &delete).await;
    let dm_id = n["status"]["id"].as_str().unwrap().to_owned();
    eventually("the deleted message to be gone", || async {
        let (code, body) = s.get(&format!("/api/v1/statuses/{dm_id}")).await;
        if code == 404 {
            Ok(())
        } else {
            Err(format!("{code} {body}"))
        }
    })
    .await;

    // GoToSocial: scalars for `to`, `cc` and `tag`; a followers-only reply mentioning
    // alice, which she may see because she is mentioned.
    let gts = s.peer.actor("tobi");
    let reply = moved(
        "gotosocial/create_note_policy.json",
        &[
            (
                "https://gts.example/users/admin/statuses/01J5Z9AA0000000000000000CD",
                &s.status_uri,
            ),
            ("https://gts.example/users/admin", &s.alice),
            ("https://gts.example", &base),
        ],
    );
    s.deliver(&gts, &s.inbox, &reply).await;
    let reply_uri = reply["object"]["id"].as_str().unwrap();
    let n = s
        .notification("mention", |n| n["status"]["uri"] == reply_uri)
        .await;
    assert_eq!(n["status"]["visibility"], "private", "{n}");
    assert_eq!(n["status"]["in_reply_to_id"], s.status_id.as_str(), "{n}");

    // Mastodon: a poll (a Question with oneOf and reply counts).
    let gargron = s.peer.actor("Gargron");
    let poll = moved(
        "mastodon/question_oneof.json",
        &[("https://mastodon.example", &base)],
    );
    s.deliver(&gargron, &s.inbox, &poll).await;
    let id = s.stored(poll["object"]["id"].as_str().unwrap()).await;
    // The poll is stored just after the status row, so wait for the poll itself.
    let status = eventually("the poll", || async {
        let (code, status) = s.get(&format!("/api/v1/statuses/{id}")).await;
        if code == 200 && status["poll"].is_object() {
            Ok(status)
        } else {
            Err(format!("{code} {status}"))
        }
    })
    .await;
    let p = &status["poll"];
    assert_eq!(p["multiple"], false, "{status}");
    assert_eq!(p["options"][0]["title"], "Tabs", "{status}");
    assert_eq!(p["options"][1]["votes_count"], 2, "{status}");
    assert_eq!(p["votes_count"], 3, "{status}");
}

replay_test!(
    conversations_polls_and_deletes,
    conversations_polls_and_deletes
);

async fn follows_accepts_undos_and_blocks(backend: Backend) {
    let s = stage(backend).await;
    let base = s.peer.base.clone();

    // GoToSocial answers alice's Follow with an Accept naming the Follow by id only.
    let gts = s.peer.actor("tobi");
    let tobi = s.account_id(&gts).await;
    let (code, rel) = s
        .fulmar
        .api_post(
            &format!("/api/v1/accounts/{tobi}/follow"),
            &s.token,
            json!({}),
        )
        .await;
    assert_eq!(code, 200, "{rel}");
    assert_eq!(rel["requested"], true, "{rel}");
    let follow = s
        .peer
        .wait_for(15, |a| a["type"] == "Follow" && a["object"] == gts.id)
        .await;
    let follow_id = follow["id"].as_str().unwrap();
    let accept = moved(
        "gotosocial/accept_id_only.json",
        &[
            (
                "https://mastodon.example/5c2b7a1e-1d2f-4a8e-9b9f-2f6b0c3d4e5f",
                follow_id,
            ),
            (GARGRON, &s.alice),
            ("https://gts.example", &base),
        ],
    );
    s.deliver(&gts, &s.inbox, &accept).await;
    eventually("following tobi after an id-only Accept", || async {
        let rel = s.relationship(&tobi).await;
        if rel["following"] == true {
            Ok(())
        } else {
            Err(rel.to_string())
        }
    })
    .await;

    // Misskey answers with the Follow embedded.
    let misskey = s.peer.actor("9abcdefghi");
    let syuilo = s.account_id(&misskey).await;
    s.fulmar
        .api_post(
            &format!("/api/v1/accounts/{syuilo}/follow"),
            &s.token,
            json!({}),
        )
        .await;
    let follow = s
        .peer
        .wait_for(15, |a| a["type"] == "Follow" && a["object"] == misskey.id)
        .await;
    let accept = moved(
        "misskey/accept_follow.json",
        &[
            (
                "https://mastodon.example/2a7c1b0d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
                follow["id"].as_str().unwrap(),
            ),
            (GARGRON, &s.alice),
            ("https://misskey.example", &base),
        ],
    );
    s.deliver(&misskey, &s.inbox, &accept).await;
    eventually("following syuilo after an embedded Accept", || async {
        let rel = s.relationship(&syuilo).await;
        if rel["following"] == true {
            Ok(())
        } else {
            Err(rel.to_string())
        }
    })
    .await;

    // Pleroma follows alice: accepted (she is not locked), then undone.
    let pleroma = s.peer.actor("lain");
    let follow = moved(
        "pleroma/follow.json",
        &[(GARGRON, &s.alice), ("https://pleroma.example", &base)],
    );
    s.deliver(&pleroma, &s.inbox, &follow).await;
    let accept = s
        .peer
        .wait_for(15, |a| {
            a["type"] == "Accept"
                && fulmar_federation::from_activitypub::id_of(&a["object"]).as_deref()
                    == follow["id"].as_str()
        })
        .await;
    assert_eq!(accept["actor"], s.alice.as_str());
    eventually("lain among alice's followers", || async {
        let f = s.followers().await;
        if f.contains(&pleroma.id) {
            Ok(())
        } else {
            Err(format!("{f:?}"))
        }
    })
    .await;
    let undo = moved(
        "pleroma/undo_follow.json",
        &[(GARGRON, &s.alice), ("https://pleroma.example", &base)],
    );
    s.deliver(&pleroma, &s.inbox, &undo).await;
    eventually("lain gone from alice's followers", || async {
        let f = s.followers().await;
        if f.contains(&pleroma.id) {
            Err(format!("{f:?}"))
        } else {
            Ok(())
        }
    })
    .await;

    // Misskey blocks alice: the follow ends, and alice sees blocked_by.
    let block = moved(
        "misskey/block.json",
        &[(GARGRON, &s.alice), ("https://misskey.example", &base)],
    );
    s.deliver(&misskey, &s.inbox, &block).await;
    eventually("blocked_by syuilo", || async {
        let rel = s.relationship(&syuilo).await;
        if rel["blocked_by"] == true && rel["following"] == false {
            Ok(())
        } else {
            Err(rel.to_string())
        }
    })
    .await;
}

replay_test!(
    follows_accepts_undos_and_blocks,
    follows_accepts_undos_and_blocks
);
