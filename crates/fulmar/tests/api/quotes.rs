//! Quote posts (FEP-044f, Mastodon 4.5): received quotes are resolved one level deep
//! and shown as the Quote entity, to viewers who may see the quoted status.

use fulmar_store::accounts::AccountRow;
use serde_json::{json, Value};

use crate::fed_test;
use crate::helpers::{Backend, TestApp};
use crate::peer::{dev_server, followed_bob, Peer, PeerActor};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A Fulmar with `alice` (who follows the peer's `bob`) and `carol` (who does not).
struct World {
    fulmar: TestApp,
    alice: AccountRow,
    token: String,
    carol_token: String,
    peer: Peer,
    bob: PeerActor,
}

impl World {
    async fn start(backend: Backend) -> World {
        let fulmar = dev_server(backend).await;
        let (alice, token) = fulmar.user_with_token("alice", "read write follow").await;
        let (_, carol_token) = fulmar.user_with_token("carol", "read write").await;
        let (peer, bob, _) = followed_bob(&fulmar, alice.id).await;
        World {
            fulmar,
            alice,
            token,
            carol_token,
            peer,
            bob,
        }
    }

    /// A public note by bob at `path` on the peer, with `extra` fields merged in.
    fn note(&self, path: &str, extra: Value) -> Value {
        let mut note = json!({
            "id": format!("{}{path}", self.peer.base),
            "type": "Note",
            "attributedTo": self.bob.id,
            "content": format!("<p>note at {path}</p>"),
            "published": "2026-01-02T03:04:05Z",
            "to": [PUBLIC],
            "cc": [format!("{}/followers", self.bob.id)],
        });
        if let (Some(o), Value::Object(e)) = (note.as_object_mut(), extra) {
            o.extend(e);
        }
        note
    }

    async fn create(&self, object: Value) {
        let id = object["id"].as_str().unwrap().to_owned();
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{id}/activity"),
            "type": "Create",
            "actor": self.bob.id,
            "object": object,
        });
        let (status, body) = self
            .peer
            .post(&self.bob, &self.fulmar.url("/inbox"), &activity)
            .await;
        assert_eq!(status, 202, "{body}");
        // The row is stored before its quote is resolved and linked: wait for the
        // whole job, not for the row.
        crate::helpers::queue_drained(&self.fulmar.app.db, "inbox").await;
        assert!(self.stored_id(&id).await.is_some(), "{id} was not stored");
    }

    async fn stored_id(&self, uri: &str) -> Option<i64> {
        fulmar_store::remote::status_by_uri(&self.fulmar.app.db, uri)
            .await
            .unwrap()
            .map(|r| r.id)
    }

    async fn status_as(&self, uri: &str, token: &str) -> Value {
        let id = self.stored_id(uri).await.expect("stored");
        let (code, body) = self
            .fulmar
            .api_get(&format!("/api/v1/statuses/{id}"), token)
            .await;
        assert_eq!(code, 200, "{body}");
        body
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

fed_test!(
    misskey_quotes_are_resolved_and_shown,
    |backend| async move {
        let w = World::start(backend).await;
        // The quoted note itself quotes another one: that one is not fetched (one level).
        let deeper = format!("{}/notes/deeper", w.peer.base);
        w.peer
            .publish("/notes/deeper", w.note("/notes/deeper", json!({})));
        w.peer.publish(
            "/notes/older",
            w.note("/notes/older", json!({"quoteUri": deeper})),
        );
        let quoting = json!({
            "id": format!("{}/notes/9xyz0000aa", w.peer.base),
            "type": "Note",
            "attributedTo": w.bob.id,
            "content": "<p>look<span class=\"quote-inline\"><br>RE: x</span></p>",
            "_misskey_content": "look",
            "_misskey_quote": format!("{}/notes/older", w.peer.base),
            "quoteUrl": format!("{}/notes/older", w.peer.base),
            "published": "2026-01-02T04:05:06.789Z",
            "to": [PUBLIC],
            "cc": [format!("{}/followers", w.bob.id)],
        });
        w.create(quoting.clone()).await;
        let status = w.status_as(quoting["id"].as_str().unwrap(), &w.token).await;
        assert_eq!(status["quote"]["state"], "accepted", "{status}");
        let quoted = &status["quote"]["quoted_status"];
        assert_eq!(quoted["uri"], format!("{}/notes/older", w.peer.base));
        assert_eq!(quoted["quotes_count"], 1);
        // The quoted status's own quote is not resolved: only a known status would link.
        assert!(quoted["quote"].is_null(), "{quoted}");
        assert!(w.stored_id(&deeper).await.is_none());
        insta::assert_json_snapshot!("quoted_status_entity", w.normalized(&status["quote"]), {
            ".quoted_status.id" => "[id]",
            ".quoted_status.account.id" => "[id]",
            ".quoted_status.account.created_at" => "[time]",
            ".quoted_status.account.last_status_at" => "[date]",
        });
        // Anonymous viewers see it too: the quoted status is public.
        let id = w.stored_id(quoting["id"].as_str().unwrap()).await.unwrap();
        let res = w.fulmar.get(&format!("/api/v1/statuses/{id}")).await;
        assert_eq!(res.status(), 200);
        let anon: Value = res.json().await.unwrap();
        assert_eq!(anon["quote"]["quoted_status"]["id"], quoted["id"]);
        w.fulmar.stop().await;
    }
);

fed_test!(
    mastodon_quotes_of_local_private_and_missing_statuses,
    |backend| async move {
        let w = World::start(backend).await;
        // A Mastodon 4.5 `quote` of alice's local post.
        let (code, mine) = w
            .fulmar
            .api_post("/api/v1/statuses", &w.token, json!({"status": "original"}))
            .await;
        assert_eq!(code, 200, "{mine}");
        let mine_uri = mine["uri"].as_str().unwrap().to_owned();
        let quoting = w.note("/statuses/1", json!({"quote": mine_uri}));
        w.create(quoting.clone()).await;
        let status = w.status_as(quoting["id"].as_str().unwrap(), &w.token).await;
        assert_eq!(status["quote"]["state"], "accepted");
        assert_eq!(status["quote"]["quoted_status"]["id"], mine["id"]);
        assert_eq!(
            status["quote"]["quoted_status"]["account"]["id"],
            w.alice.id.to_string()
        );

        // The author lists the quotes of their status; others may not.
        let path = format!("/api/v1/statuses/{}/quotes", mine["id"].as_str().unwrap());
        let (code, list) = w.fulmar.api_get(&path, &w.token).await;
        assert_eq!(code, 200, "{list}");
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["id"], status["id"]);
        let (code, body) = w.fulmar.api_get(&path, &w.carol_token).await;
        assert_eq!(code, 403, "{body}");
        assert!(body["error"].is_string());
        let (code, body) = w
            .fulmar
            .api_get("/api/v1/statuses/123/quotes", &w.token)
            .await;
        assert_eq!(code, 404, "{body}");
        let (code, body) = w
            .fulmar
            .api_get(&format!("{path}?max_id=nope"), &w.token)
            .await;
        assert_eq!(code, 400, "{body}");

        // A quote of bob's followers-only post: alice (a follower) sees it, carol does
        // not, and sees the state `unauthorized` instead.
        w.peer.publish(
            "/statuses/private",
            w.note(
                "/statuses/private",
                json!({"to": [format!("{}/followers", w.bob.id)], "cc": []}),
            ),
        );
        let of_private = w.note(
            "/statuses/2",
            json!({"quote": format!("{}/statuses/private", w.peer.base)}),
        );
        w.create(of_private.clone()).await;
        let uri = of_private["id"].as_str().unwrap();
        let seen = w.status_as(uri, &w.token).await;
        assert_eq!(seen["quote"]["state"], "accepted", "{seen}");
        assert_eq!(seen["quote"]["quoted_status"]["visibility"], "private");
        let hidden = w.status_as(uri, &w.carol_token).await;
        assert_eq!(
            hidden["quote"],
            json!({"state": "unauthorized", "quoted_status": null})
        );

        // A quote that cannot be fetched leaves the status unquoted.
        let of_missing = w.note(
            "/statuses/3",
            json!({"quote": format!("{}/statuses/gone", w.peer.base)}),
        );
        w.create(of_missing.clone()).await;
        let status = w
            .status_as(of_missing["id"].as_str().unwrap(), &w.token)
            .await;
        assert!(status["quote"].is_null(), "{status}");
        w.fulmar.stop().await;
    }
);
