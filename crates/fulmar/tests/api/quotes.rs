//! Quote posts (FEP-044f, Mastodon 4.5): received quotes are resolved one level deep
//! and shown as the Quote entity once approved, to viewers who may see the quoted
//! status; local quotes follow the quoted status's policy; the consent model
//! (QuoteRequest, Accept with a QuoteAuthorization, Reject, revocation) both ways,
//! against a scripted peer and between two Fulmar servers.

use fulmar_store::accounts::AccountRow;
use serde_json::{json, Value};

use crate::fed_test;
use crate::helpers::{eventually, send, Backend, TestApp};
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
    /// Another actor of the peer, whom bob quotes (a quote of one's own post needs no
    /// approval, so bob quoting bob would prove nothing).
    dave: PeerActor,
}

impl World {
    async fn start(backend: Backend) -> World {
        let fulmar = dev_server(backend).await;
        let (alice, token) = fulmar.user_with_token("alice", "read write follow").await;
        let (_, carol_token) = fulmar.user_with_token("carol", "read write").await;
        let (peer, bob, _) = followed_bob(&fulmar, alice.id).await;
        let dave = peer.actor("dave");
        World {
            dave,
            fulmar,
            alice,
            token,
            carol_token,
            peer,
            bob,
        }
    }

    /// A public note by dave at `path` on the peer, with `extra` fields merged in.
    fn dave_note(&self, path: &str, extra: Value) -> Value {
        let mut note = self.note(path, extra);
        note["attributedTo"] = json!(self.dave.id);
        note["cc"] = json!([format!("{}/followers", self.dave.id)]);
        note
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

    /// A peer status as this server knows it (search with resolve), by its id here.
    async fn resolve_status(&self, uri: &str) -> String {
        let q: String = form_urlencoded::byte_serialize(uri.as_bytes()).collect();
        let (code, found) = self
            .fulmar
            .api_get(
                &format!("/api/v2/search?resolve=true&type=statuses&q={q}"),
                &self.token,
            )
            .await;
        assert_eq!(code, 200, "{found}");
        found["statuses"][0]["id"]
            .as_str()
            .expect("resolved")
            .to_owned()
    }

    async fn carol_id(&self) -> i64 {
        fulmar_store::accounts::local_by_username(&self.fulmar.app.db, "carol")
            .await
            .unwrap()
            .unwrap()
            .id
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
            w.dave_note("/notes/older", json!({"quoteUri": deeper})),
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
        // Without a quoteAuthorization the quote stays pending, as Mastodon 4.5 shows
        // quotes from servers that do not ask for consent: no quoted status inside.
        assert_eq!(
            status["quote"],
            json!({"state": "pending", "quoted_status": null}),
            "{status}"
        );
        let older_uri = format!("{}/notes/older", w.peer.base);
        let older_id = w
            .stored_id(&older_uri)
            .await
            .expect("the quoted note is stored");
        let row = fulmar_store::statuses::by_id(
            &w.fulmar.app.db,
            w.stored_id(quoting["id"].as_str().unwrap()).await.unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(row.quote_of_id, Some(older_id));
        // A pending quote is not counted.
        let quoted = w.status_as(&older_uri, &w.token).await;
        assert_eq!(quoted["quotes_count"], 0, "{quoted}");
        // The quoted status's own quote is not resolved: only a known status would link.
        assert!(quoted["quote"].is_null(), "{quoted}");
        assert!(w.stored_id(&deeper).await.is_none());
        // Anonymous viewers see the same.
        let id = w.stored_id(quoting["id"].as_str().unwrap()).await.unwrap();
        let res = w.fulmar.get(&format!("/api/v1/statuses/{id}")).await;
        assert_eq!(res.status(), 200);
        let anon: Value = res.json().await.unwrap();
        assert_eq!(anon["quote"]["state"], "pending");
        assert_eq!(anon["quote_approval"]["current_user"], "unknown");
        w.fulmar.stop().await;
    }
);

fed_test!(
    mastodon_quotes_of_local_private_and_missing_statuses,
    |backend| async move {
        let w = World::start(backend).await;
        // A Mastodon 4.5 `quote` of alice's local post, then its QuoteRequest.
        let (code, mine) = w
            .fulmar
            .api_post("/api/v1/statuses", &w.token, json!({"status": "original"}))
            .await;
        assert_eq!(code, 200, "{mine}");
        let mine_uri = mine["uri"].as_str().unwrap().to_owned();
        let quoting = w.note("/statuses/1", json!({"quote": mine_uri}));
        w.peer.publish("/statuses/1", quoting.clone());
        w.create(quoting.clone()).await;
        let status = w.status_as(quoting["id"].as_str().unwrap(), &w.token).await;
        assert_eq!(status["quote"]["state"], "pending", "{status}");

        let request = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/statuses/1/quote_request", w.peer.base),
            "type": "QuoteRequest",
            "actor": w.bob.id,
            "object": mine_uri,
            "instrument": quoting,
        });
        let (code, body) = w.peer.post(&w.bob, &w.fulmar.url("/inbox"), &request).await;
        assert_eq!(code, 202, "{body}");
        let accept = w
            .peer
            .wait_for(10, |a| {
                a["type"] == "Accept" && a["object"]["type"] == "QuoteRequest"
            })
            .await;
        assert_eq!(accept["actor"], w.fulmar.app.urls.actor("alice"));
        assert_eq!(accept["object"]["id"], request["id"]);
        assert_eq!(accept["object"]["instrument"], quoting["id"]);
        let auth_uri = accept["result"].as_str().expect("result").to_owned();
        insta::assert_json_snapshot!("accept_quote_request", w.normalized(&accept), {
            ".id" => "[id]",
            ".object.object" => "[status]",
            ".result" => "[authorization]",
        });
        // The authorization is served as ActivityPub JSON, to anyone.
        let path = auth_uri
            .strip_prefix(w.fulmar.app.urls.base())
            .unwrap()
            .to_owned();
        let doc = w.fulmar.get_activity(&path).await;
        assert_eq!(doc["type"], "QuoteAuthorization");
        assert_eq!(doc["interactingObject"], quoting["id"]);
        assert_eq!(doc["interactionTarget"], mine_uri);
        insta::assert_json_snapshot!("quote_authorization", w.normalized(&doc), {
            ".id" => "[authorization]",
            ".interactionTarget" => "[status]",
        });
        let status = w.status_as(quoting["id"].as_str().unwrap(), &w.token).await;
        assert_eq!(status["quote"]["state"], "accepted", "{status}");
        assert_eq!(status["quote"]["quoted_status"]["id"], mine["id"]);
        assert_eq!(
            status["quote"]["quoted_status"]["account"]["id"],
            w.alice.id.to_string()
        );
        assert_eq!(status["quote"]["quoted_status"]["quotes_count"], 1);
        // Alice is told.
        let (code, notes) = w
            .fulmar
            .api_get("/api/v1/notifications?types[]=quote", &w.token)
            .await;
        assert_eq!(code, 200, "{notes}");
        assert_eq!(notes[0]["type"], "quote", "{notes}");
        assert_eq!(notes[0]["status"]["id"], status["id"]);

        // The author lists the quotes of their status; others may not.
        let list_path = format!("/api/v1/statuses/{}/quotes", mine["id"].as_str().unwrap());
        let (code, list) = w.fulmar.api_get(&list_path, &w.token).await;
        assert_eq!(code, 200, "{list}");
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["id"], status["id"]);
        let (code, body) = w.fulmar.api_get(&list_path, &w.carol_token).await;
        assert_eq!(code, 403, "{body}");
        assert!(body["error"].is_string());
        let (code, body) = w
            .fulmar
            .api_get("/api/v1/statuses/123/quotes", &w.token)
            .await;
        assert_eq!(code, 404, "{body}");
        let (code, body) = w
            .fulmar
            .api_get(&format!("{list_path}?max_id=nope"), &w.token)
            .await;
        assert_eq!(code, 400, "{body}");

        // Only the quoted author may revoke; alice does: the quote reads revoked, the
        // count drops, the authorization is gone and bob's server is told.
        let revoke = format!(
            "/api/v1/statuses/{}/quotes/{}/revoke",
            mine["id"].as_str().unwrap(),
            status["id"].as_str().unwrap()
        );
        let (code, body) = w.fulmar.api_post(&revoke, &w.carol_token, json!({})).await;
        assert!(code == 403 || code == 404, "{code} {body}");
        let (code, revoked) = w.fulmar.api_post(&revoke, &w.token, json!({})).await;
        assert_eq!(code, 200, "{revoked}");
        assert_eq!(revoked["id"], status["id"]);
        assert_eq!(revoked["quote"]["state"], "revoked", "{revoked}");
        assert!(revoked["quote"]["quoted_status"].is_null());
        let (_, original) = w
            .fulmar
            .api_get(
                &format!("/api/v1/statuses/{}", mine["id"].as_str().unwrap()),
                &w.token,
            )
            .await;
        assert_eq!(original["quotes_count"], 0, "{original}");
        let res = w
            .fulmar
            .get_with_accept(&path, "application/activity+json")
            .await;
        assert_eq!(res.status(), 404);
        let delete = w
            .peer
            .wait_for(10, |a| {
                a["type"] == "Delete" && a["object"] == auth_uri.as_str()
            })
            .await;
        assert_eq!(delete["actor"], w.fulmar.app.urls.actor("alice"));
        // A repeated QuoteRequest does not bring a revoked approval back.
        let (code, _) = w.peer.post(&w.bob, &w.fulmar.url("/inbox"), &request).await;
        assert_eq!(code, 202);
        crate::helpers::queue_drained(&w.fulmar.app.db, "inbox").await;
        let again = w.status_as(quoting["id"].as_str().unwrap(), &w.token).await;
        assert_eq!(again["quote"]["state"], "revoked", "{again}");

        // A quote of dave's followers-only post, approved by dave's server: alice (a
        // follower) sees it, carol does not, and sees the state `unauthorized` instead.
        let dave_row = fulmar::core::resolve::resolve_actor_url(&w.fulmar.app, &w.dave.id)
            .await
            .unwrap();
        crate::helpers::follow_directly(&w.fulmar.app.db, w.alice.id, dave_row.id).await;
        let private_uri = format!("{}/statuses/private", w.peer.base);
        w.peer.publish(
            "/statuses/private",
            w.dave_note(
                "/statuses/private",
                json!({"to": [format!("{}/followers", w.dave.id)], "cc": []}),
            ),
        );
        let auth = format!("{}/authorizations/2", w.peer.base);
        let of_private = w.note(
            "/statuses/2",
            json!({"quote": private_uri, "quoteAuthorization": auth}),
        );
        w.peer.publish(
            "/authorizations/2",
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": auth,
                "type": "QuoteAuthorization",
                "attributedTo": w.dave.id,
                "interactingObject": of_private["id"],
                "interactionTarget": private_uri,
            }),
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
        // dave's server revokes it with a Delete of the authorization; bob may not.
        for actor in [&w.bob, &w.dave] {
            if actor.name == "dave" {
                let seen = w.status_as(uri, &w.token).await;
                assert_eq!(seen["quote"]["state"], "accepted", "bob revoked it: {seen}");
            }
            let (code, body) = w
                .peer
                .post(
                    actor,
                    &w.fulmar.url("/inbox"),
                    &json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{auth}#delete-{}", actor.name),
                        "type": "Delete",
                        "actor": actor.id,
                        "object": {"id": auth, "type": "QuoteAuthorization"},
                    }),
                )
                .await;
            assert_eq!(code, 202, "{body}");
            crate::helpers::queue_drained(&w.fulmar.app.db, "inbox").await;
        }
        let seen = w.status_as(uri, &w.token).await;
        assert_eq!(seen["quote"]["state"], "revoked", "{seen}");

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

fed_test!(
    received_authorizations_are_verified_and_requests_checked,
    |backend| async move {
        let w = World::start(backend).await;
        let target_uri = format!("{}/statuses/target", w.peer.base);
        w.peer.publish(
            "/statuses/target",
            w.dave_note("/statuses/target", json!({})),
        );
        let mallory = w.peer.actor("mallory");
        // Authorizations that must not be believed: on another host, by someone other
        // than the quoted author, for another quote, or not an authorization at all.
        let other_host = "http://127.0.0.1:9/authorizations/1".to_owned();
        let cases: Vec<(&str, Value)> = vec![
            (
                "by-mallory",
                json!({"type": "QuoteAuthorization", "attributedTo": mallory.id}),
            ),
            (
                "other-quote",
                json!({"type": "QuoteAuthorization", "attributedTo": w.dave.id, "interactingObject": format!("{}/statuses/else", w.peer.base)}),
            ),
            ("garbage", json!({"type": "Note", "content": "no"})),
            ("not-json", Value::Null),
        ];
        for (n, (name, doc)) in cases.into_iter().enumerate() {
            let auth = format!("{}/authorizations/{name}", w.peer.base);
            let note = w.note(
                &format!("/statuses/bad{n}"),
                json!({"quote": target_uri, "quoteAuthorization": auth}),
            );
            if doc.is_null() {
                w.peer.publish_with_status(
                    &format!("/authorizations/{name}"),
                    axum::http::StatusCode::OK,
                    json!("<html>"),
                );
            } else {
                let mut doc = doc;
                doc["id"] = json!(auth);
                doc["interactionTarget"] = json!(target_uri);
                if doc.get("interactingObject").is_none() {
                    doc["interactingObject"] = note["id"].clone();
                }
                w.peer.publish(&format!("/authorizations/{name}"), doc);
            }
            w.create(note.clone()).await;
            let status = w.status_as(note["id"].as_str().unwrap(), &w.token).await;
            assert_eq!(status["quote"]["state"], "pending", "{name}: {status}");
        }
        let note = w.note(
            "/statuses/far",
            json!({"quote": target_uri, "quoteAuthorization": other_host}),
        );
        w.create(note.clone()).await;
        let status = w.status_as(note["id"].as_str().unwrap(), &w.token).await;
        assert_eq!(status["quote"]["state"], "pending", "{status}");
        // A self-quote needs no authorization (FEP-044f).
        let bobs_uri = format!("{}/statuses/bobs", w.peer.base);
        w.peer
            .publish("/statuses/bobs", w.note("/statuses/bobs", json!({})));
        let own = w.note("/statuses/own", json!({"quote": bobs_uri}));
        w.create(own.clone()).await;
        let status = w.status_as(own["id"].as_str().unwrap(), &w.token).await;
        assert_eq!(status["quote"]["state"], "accepted", "{status}");

        // QuoteRequests that are not answered: a status that does not exist, an id on
        // another host than the actor. A policy that says nobody is answered with Reject.
        let before = w.peer.received().len();
        for (object, id) in [
            (
                w.fulmar.app.urls.status("alice", 424242),
                format!("{}/qr/1", w.peer.base),
            ),
            (
                w.fulmar.app.urls.status("alice", 1),
                "http://elsewhere.test/qr/2".to_owned(),
            ),
        ] {
            let (code, body) = w
                .peer
                .post(
                    &w.bob,
                    &w.fulmar.url("/inbox"),
                    &json!({
                        "id": id, "type": "QuoteRequest", "actor": w.bob.id,
                        "object": object, "instrument": format!("{}/statuses/x", w.peer.base),
                    }),
                )
                .await;
            assert!(code == 202 || code == 400, "{code} {body}");
        }
        let (code, closed) = w
            .fulmar
            .api_post(
                "/api/v1/statuses",
                &w.token,
                json!({"status": "no quotes", "quote_approval_policy": "nobody"}),
            )
            .await;
        assert_eq!(code, 200, "{closed}");
        assert_eq!(
            closed["quote_approval"],
            json!({"automatic": [], "manual": [], "current_user": "automatic"})
        );
        let quoting = w.note("/statuses/q-closed", json!({"quote": closed["uri"]}));
        w.peer.publish("/statuses/q-closed", quoting.clone());
        let request = json!({
            "id": format!("{}/qr/3", w.peer.base), "type": "QuoteRequest", "actor": w.bob.id,
            "object": closed["uri"], "instrument": quoting["id"],
        });
        let (code, _) = w.peer.post(&w.bob, &w.fulmar.url("/inbox"), &request).await;
        assert_eq!(code, 202);
        let reject = w
            .peer
            .wait_for(10, |a| {
                a["type"] == "Reject" && a["object"]["id"] == request["id"]
            })
            .await;
        assert_eq!(reject["object"]["type"], "QuoteRequest");
        assert!(reject.get("result").is_none());
        crate::helpers::queue_drained(&w.fulmar.app.db, "inbox").await;
        assert_eq!(
            w.peer
                .received()
                .iter()
                .skip(before)
                .filter(|a| a["type"] == "Accept")
                .count(),
            0
        );
        w.fulmar.stop().await;
    }
);

fed_test!(
    local_quotes_of_remote_statuses_ask_first,
    |backend| async move {
        let w = World::start(backend).await;
        let target_uri = format!("{}/statuses/target", w.peer.base);
        w.peer
            .publish("/statuses/target", w.note("/statuses/target", json!({})));
        let target = w.resolve_status(&target_uri).await;
        let (code, quote) = w
            .fulmar
            .api_post(
                "/api/v1/statuses",
                &w.token,
                json!({"status": "look at this", "quoted_status_id": target}),
            )
            .await;
        assert_eq!(code, 200, "{quote}");
        assert_eq!(
            quote["quote"],
            json!({"state": "pending", "quoted_status": null})
        );
        let quote_uri = quote["uri"].as_str().unwrap().to_owned();
        let request = w.peer.wait_for(10, |a| a["type"] == "QuoteRequest").await;
        assert_eq!(request["actor"], w.fulmar.app.urls.actor("alice"));
        assert_eq!(request["object"], target_uri);
        assert_eq!(request["instrument"]["id"], quote_uri);
        assert_eq!(request["instrument"]["quote"], target_uri);
        insta::assert_json_snapshot!("quote_request", w.normalized(&request), {
            ".id" => "[request]",
            ".instrument.id" => "[status]",
            ".instrument.url" => "[url]",
            ".instrument.published" => "[date]",
            ".instrument.replies" => "[replies]",
            ".instrument.context" => "[context]",
            ".instrument.conversation" => "[context]",
        });
        let accept = |actor: &PeerActor, result: &str| {
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{}/accepts/{}", w.peer.base, actor.name),
                "type": "Accept",
                "actor": actor.id,
                "object": request["id"],
                "result": result,
            })
        };
        let auth = format!("{}/authorizations/ok", w.peer.base);
        w.peer.publish(
            "/authorizations/ok",
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": auth, "type": "QuoteAuthorization", "attributedTo": w.bob.id,
                "interactingObject": quote_uri, "interactionTarget": target_uri,
            }),
        );
        // A forged Accept from another actor, and one pointing at an authorization on
        // another host, change nothing.
        let mallory = w.peer.actor("mallory");
        let (code, _) = w
            .peer
            .post(&mallory, &w.fulmar.url("/inbox"), &accept(&mallory, &auth))
            .await;
        assert_eq!(code, 202);
        let (code, _) = w
            .peer
            .post(
                &w.bob,
                &w.fulmar.url("/inbox"),
                &accept(&w.bob, "http://127.0.0.1:9/a"),
            )
            .await;
        assert_eq!(code, 202);
        crate::helpers::queue_drained(&w.fulmar.app.db, "inbox").await;
        let id = quote["id"].as_str().unwrap();
        let (_, now) = w
            .fulmar
            .api_get(&format!("/api/v1/statuses/{id}"), &w.token)
            .await;
        assert_eq!(now["quote"]["state"], "pending", "{now}");
        // The real Accept.
        let (code, _) = w
            .peer
            .post(&w.bob, &w.fulmar.url("/inbox"), &accept(&w.bob, &auth))
            .await;
        assert_eq!(code, 202);
        crate::helpers::queue_drained(&w.fulmar.app.db, "inbox").await;
        let (_, now) = w
            .fulmar
            .api_get(&format!("/api/v1/statuses/{id}"), &w.token)
            .await;
        assert_eq!(now["quote"]["state"], "accepted", "{now}");
        assert_eq!(now["quote"]["quoted_status"]["uri"], target_uri);
        // The Note now carries the authorization; followers hear of it by an Update.
        let path = quote_uri
            .strip_prefix(w.fulmar.app.urls.base())
            .unwrap()
            .to_owned();
        let note = w.fulmar.get_activity(&path).await;
        assert_eq!(note["quoteAuthorization"], auth);
        insta::assert_json_snapshot!("note_with_quote", w.normalized(&note), {
            ".id" => "[status]",
            ".url" => "[url]",
            ".published" => "[date]",
            ".replies" => "[replies]",
            ".context" => "[context]",
            ".conversation" => "[context]",
        });

        // A second quote, rejected.
        let (code, second) = w
            .fulmar
            .api_post(
                "/api/v1/statuses",
                &w.token,
                json!({"status": "again", "quoted_status_id": target}),
            )
            .await;
        assert_eq!(code, 200, "{second}");
        let second_uri = second["uri"].as_str().unwrap().to_owned();
        let request = w
            .peer
            .wait_for(10, |a| {
                a["type"] == "QuoteRequest" && a["instrument"]["id"] == second_uri.as_str()
            })
            .await;
        let (code, _) = w
            .peer
            .post(
                &w.bob,
                &w.fulmar.url("/inbox"),
                &json!({"id": format!("{}/rejects/1", w.peer.base), "type": "Reject",
                        "actor": w.bob.id, "object": request}),
            )
            .await;
        assert_eq!(code, 202);
        crate::helpers::queue_drained(&w.fulmar.app.db, "inbox").await;
        let id = second["id"].as_str().unwrap();
        let (_, now) = w
            .fulmar
            .api_get(&format!("/api/v1/statuses/{id}"), &w.token)
            .await;
        assert_eq!(
            now["quote"],
            json!({"state": "rejected", "quoted_status": null})
        );
        w.fulmar.stop().await;
    }
);

fed_test!(
    local_quotes_follow_the_quoted_policy,
    |backend| async move {
        let w = World::start(backend).await;
        let post = |token: String, body: Value| {
            let fulmar = &w.fulmar;
            async move { fulmar.api_post("/api/v1/statuses", &token, body).await }
        };
        let (code, open) = post(w.token.clone(), json!({"status": "quote me"})).await;
        assert_eq!(code, 200, "{open}");
        assert_eq!(
            open["quote_approval"],
            json!({"automatic": ["public"], "manual": [], "current_user": "automatic"})
        );
        // carol quotes alice's public post: accepted at once, alice is told.
        let (code, quote) = post(
            w.carol_token.clone(),
            json!({"status": "so true", "quoted_status_id": open["id"]}),
        )
        .await;
        assert_eq!(code, 200, "{quote}");
        assert_eq!(quote["quote"]["state"], "accepted", "{quote}");
        assert_eq!(quote["quote"]["quoted_status"]["id"], open["id"]);
        assert_eq!(quote["quote"]["quoted_status"]["quotes_count"], 1);
        insta::assert_json_snapshot!("local_quote_status", w.normalized(&quote), {
            ".id" => "[id]",
            ".uri" => "[uri]",
            ".url" => "[url]",
            ".created_at" => "[date]",
            ".account.id" => "[id]",
            ".account.created_at" => "[date]",
            ".account.last_status_at" => "[date]",
            ".quote.quoted_status.id" => "[id]",
            ".quote.quoted_status.uri" => "[uri]",
            ".quote.quoted_status.url" => "[url]",
            ".quote.quoted_status.created_at" => "[date]",
            ".quote.quoted_status.account.id" => "[id]",
            ".quote.quoted_status.account.created_at" => "[date]",
            ".quote.quoted_status.account.last_status_at" => "[date]",
        });
        let (_, notes) = w
            .fulmar
            .api_get("/api/v1/notifications?types[]=quote", &w.token)
            .await;
        assert_eq!(notes[0]["status"]["id"], quote["id"], "{notes}");
        // The quoting Note names an authorization that is served here.
        let quote_path = quote["uri"]
            .as_str()
            .unwrap()
            .strip_prefix(w.fulmar.app.urls.base())
            .unwrap()
            .to_owned();
        let note = w.fulmar.get_activity(&quote_path).await;
        assert_eq!(note["quote"], open["uri"]);
        let auth = note["quoteAuthorization"].as_str().expect("authorization");
        let doc = w
            .fulmar
            .get_activity(auth.strip_prefix(w.fulmar.app.urls.base()).unwrap())
            .await;
        assert_eq!(doc["interactingObject"], quote["uri"]);
        // Deleting the quote lowers the count.
        let res = w
            .fulmar
            .api(
                reqwest::Method::DELETE,
                &format!("/api/v1/statuses/{}", quote["id"].as_str().unwrap()),
                &w.carol_token,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let (_, now) = w
            .fulmar
            .api_get(
                &format!("/api/v1/statuses/{}", open["id"].as_str().unwrap()),
                &w.token,
            )
            .await;
        assert_eq!(now["quotes_count"], 0, "{now}");

        // Refused with 422 and a JSON error: a policy of nobody, followers when not a
        // follower, a followers-only post, a direct post, a reblog, a missing post,
        // a bad policy value.
        let (_, closed) = post(
            w.token.clone(),
            json!({"status": "mine", "quote_approval_policy": "nobody"}),
        )
        .await;
        let (_, followers) = post(
            w.token.clone(),
            json!({"status": "friends", "quote_approval_policy": "followers"}),
        )
        .await;
        assert_eq!(
            followers["quote_approval"]["automatic"],
            json!(["followers"])
        );
        let (_, private) = post(
            w.token.clone(),
            json!({"status": "secret", "visibility": "private"}),
        )
        .await;
        let (_, direct) = post(
            w.token.clone(),
            json!({"status": "@carol psst", "visibility": "direct"}),
        )
        .await;
        let (code, reblog) = w
            .fulmar
            .api_post(
                &format!("/api/v1/statuses/{}/reblog", open["id"].as_str().unwrap()),
                &w.carol_token,
                json!({}),
            )
            .await;
        assert_eq!(code, 200, "{reblog}");
        let (_, as_carol) = w
            .fulmar
            .api_get(
                &format!("/api/v1/statuses/{}", closed["id"].as_str().unwrap()),
                &w.carol_token,
            )
            .await;
        assert_eq!(as_carol["quote_approval"]["current_user"], "denied");
        for (what, body) in [
            (
                "nobody",
                json!({"status": "x", "quoted_status_id": closed["id"]}),
            ),
            (
                "followers",
                json!({"status": "x", "quoted_status_id": followers["id"]}),
            ),
            (
                "private",
                json!({"status": "x", "quoted_status_id": private["id"]}),
            ),
            (
                "direct",
                json!({"status": "x", "quoted_status_id": direct["id"]}),
            ),
            (
                "reblog",
                json!({"status": "x", "quoted_status_id": reblog["id"]}),
            ),
            (
                "missing",
                json!({"status": "x", "quoted_status_id": "99999999"}),
            ),
            (
                "bad policy",
                json!({"status": "x", "quote_approval_policy": "everyone"}),
            ),
        ] {
            let (code, body) = post(w.carol_token.clone(), body).await;
            assert_eq!(code, 422, "{what}: {body}");
            assert!(body["error"].is_string(), "{what}: {body}");
        }
        // A follower may quote a followers policy post; the author may quote their own
        // followers-only post.
        crate::helpers::follow_directly(&w.fulmar.app.db, w.carol_id().await, w.alice.id).await;
        let (code, body) = post(
            w.carol_token.clone(),
            json!({"status": "x", "quoted_status_id": followers["id"]}),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["quote"]["state"], "accepted");
        let (code, body) = post(
            w.token.clone(),
            json!({"status": "me again", "quoted_status_id": private["id"], "visibility": "private"}),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["quote"]["state"], "accepted");

        // The author changes the policy; others may not.
        let path = format!(
            "/api/v1/statuses/{}/interaction_policy",
            closed["id"].as_str().unwrap()
        );
        let (code, body) = send(
            w.fulmar
                .api(reqwest::Method::PUT, &path, &w.carol_token)
                .json(&json!({"quote_approval_policy": "public"})),
        )
        .await;
        assert_eq!(code, 404, "{body}");
        let (code, body) = send(
            w.fulmar
                .api(reqwest::Method::PUT, &path, &w.token)
                .json(&json!({"quote_approval_policy": "sometimes"})),
        )
        .await;
        assert_eq!(code, 422, "{body}");
        let (code, body) = send(
            w.fulmar
                .api(reqwest::Method::PUT, &path, &w.token)
                .json(&json!({"quote_approval_policy": "public"})),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["quote_approval"]["automatic"], json!(["public"]));
        let note = w
            .fulmar
            .get_activity(
                closed["uri"]
                    .as_str()
                    .unwrap()
                    .strip_prefix(w.fulmar.app.urls.base())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            note["interactionPolicy"],
            json!({"canQuote": {"automaticApproval": [PUBLIC]}})
        );
        let note = w
            .fulmar
            .get_activity(
                followers["uri"]
                    .as_str()
                    .unwrap()
                    .strip_prefix(w.fulmar.app.urls.base())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            note["interactionPolicy"]["canQuote"]["automaticApproval"],
            json!([w.fulmar.app.urls.followers("alice")])
        );
        w.fulmar.stop().await;
    }
);

/// Two Fulmar servers: alice@A quotes bob@B's post; B approves it by policy and A
/// shows it accepted; bob revokes and A shows it revoked. A post whose policy is
/// nobody is rejected.
async fn quotes_between_two_servers(backend: Backend) {
    let a = dev_server(backend).await;
    let b = dev_server(backend).await;
    let (_, alice) = a.user_with_token("alice", "read write follow").await;
    let (_, bob) = b.user_with_token("bob", "read write follow").await;
    let (code, open) = b
        .api_post("/api/v1/statuses", &bob, json!({"status": "quote me"}))
        .await;
    assert_eq!(code, 200, "{open}");
    let (code, closed) = b
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({"status": "do not", "quote_approval_policy": "nobody"}),
        )
        .await;
    assert_eq!(code, 200, "{closed}");
    let resolve = |uri: String| {
        let a = &a;
        let alice = alice.clone();
        async move {
            let q: String = form_urlencoded::byte_serialize(uri.as_bytes()).collect();
            let (code, found) = a
                .api_get(
                    &format!("/api/v2/search?resolve=true&type=statuses&q={q}"),
                    &alice,
                )
                .await;
            assert_eq!(code, 200, "{found}");
            found["statuses"][0]["id"]
                .as_str()
                .expect("resolved")
                .to_owned()
        }
    };
    let open_on_a = resolve(open["uri"].as_str().unwrap().to_owned()).await;
    let closed_on_a = resolve(closed["uri"].as_str().unwrap().to_owned()).await;
    let (code, quote) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "look", "quoted_status_id": open_on_a}),
        )
        .await;
    assert_eq!(code, 200, "{quote}");
    assert_eq!(quote["quote"]["state"], "pending");
    let (code, refused) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({"status": "look", "quoted_status_id": closed_on_a}),
        )
        .await;
    assert_eq!(code, 200, "{refused}");
    let state_on_a = |id: String| {
        let a = &a;
        let alice = alice.clone();
        async move {
            let (_, s) = a.api_get(&format!("/api/v1/statuses/{id}"), &alice).await;
            s["quote"]["state"].as_str().unwrap_or_default().to_owned()
        }
    };
    let quote_id = quote["id"].as_str().unwrap().to_owned();
    let refused_id = refused["id"].as_str().unwrap().to_owned();
    eventually("B accepts the quote", || async {
        state_on_a(quote_id.clone()).await == "accepted"
    })
    .await;
    eventually("B rejects the other quote", || async {
        state_on_a(refused_id.clone()).await == "rejected"
    })
    .await;
    // On B: bob was told, the quote counts, and he can list it.
    let open_id = open["id"].as_str().unwrap();
    let (code, list) = b
        .api_get(&format!("/api/v1/statuses/{open_id}/quotes"), &bob)
        .await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["uri"], quote["uri"]);
    let (_, notes) = b.api_get("/api/v1/notifications?types[]=quote", &bob).await;
    assert_eq!(notes[0]["type"], "quote", "{notes}");
    // bob revokes it.
    let quoting_on_b = list[0]["id"].as_str().unwrap();
    let (code, revoked) = b
        .api_post(
            &format!("/api/v1/statuses/{open_id}/quotes/{quoting_on_b}/revoke"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, 200, "{revoked}");
    assert_eq!(revoked["quote"]["state"], "revoked");
    let (_, original) = b
        .api_get(&format!("/api/v1/statuses/{open_id}"), &bob)
        .await;
    assert_eq!(original["quotes_count"], 0);
    eventually("A sees the revocation", || async {
        state_on_a(quote_id.clone()).await == "revoked"
    })
    .await;
    a.stop().await;
    b.stop().await;
}

fed_test!(quotes_between_two_servers, quotes_between_two_servers);
