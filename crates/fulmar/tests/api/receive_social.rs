//! Received relations and interactions: Follow, Accept, Reject, Undo, Like,
//! Announce, Block and actor Update/Delete, from a signing peer on loopback, checked
//! through the client API and what the peer receives back.

use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{eventually, follow_directly, Backend, TestApp};
use crate::peer::{dev_server, Peer, PeerActor};

const ALL: &str = "read write follow";

/// Waits until every received activity has been processed.
async fn drained(fulmar: &TestApp) {
    crate::helpers::queue_drained(fulmar.db(), "inbox").await;
}

struct World {
    fulmar: TestApp,
    peer: Peer,
}

impl World {
    async fn start(app: TestApp) -> World {
        let backend: Backend = app.backend;
        app.stop().await;
        World {
            fulmar: dev_server(backend).await,
            peer: Peer::start().await,
        }
    }

    fn actor_url(&self, name: &str) -> String {
        self.fulmar.app.urls.actor(name)
    }

    fn inbox(&self, name: &str) -> String {
        self.fulmar.url(&format!("/users/{name}/inbox"))
    }

    /// `actor` POSTs `activity` to `name`'s inbox; it must be taken (202).
    async fn send(&self, actor: &PeerActor, name: &str, activity: Value) {
        let (status, body) = self.peer.post(actor, &self.inbox(name), &activity).await;
        assert_eq!(status, 202, "{body}");
    }

    /// Resolves a peer actor through search; returns its account id here.
    async fn resolve(&self, token: &str, actor: &PeerActor) -> String {
        let q = format!("@{}@{}", actor.name, self.peer.host);
        let (status, body) = self
            .fulmar
            .api_get(&format!("/api/v2/search?resolve=true&q={q}"), token)
            .await;
        assert_eq!(status, 200, "{body}");
        body["accounts"][0]["id"]
            .as_str()
            .expect("resolved")
            .to_owned()
    }

    async fn relationship(&self, token: &str, id: &str) -> Value {
        let (status, body) = self
            .fulmar
            .api_get(&format!("/api/v1/accounts/relationships?id[]={id}"), token)
            .await;
        assert_eq!(status, 200, "{body}");
        body[0].clone()
    }

    async fn wait_relationship(&self, token: &str, id: &str, key: &str, value: bool) {
        eventually(&format!("{key} = {value}"), || async {
            self.relationship(token, id).await[key] == value
        })
        .await;
    }

    fn activity(&self, kind: &str, n: &str, actor: &PeerActor, object: Value) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/{n}", self.peer.base),
            "type": kind,
            "actor": actor.id,
            "object": object,
        })
    }

    async fn notification_types(&self, token: &str) -> Vec<String> {
        let (_, body) = self.fulmar.api_get("/api/v1/notifications", token).await;
        body.as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn status(&self, token: &str, id: &str) -> Value {
        let (status, body) = self
            .fulmar
            .api_get(&format!("/api/v1/statuses/{id}"), token)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn follow_of(to: &str) -> impl Fn(&Value) -> bool + '_ {
    move |v| v["type"] == "Follow" && v["object"] == to
}

db_test!(
    follows_of_remote_accounts_wait_for_accept_or_reject,
    |app: TestApp| async move {
        let w = World::start(app).await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let alice_url = w.actor_url("alice");
        let bob = w.peer.actor("bob");
        let bob_id = w.resolve(&token, &bob).await;

        // The follow is a request until bob's server answers.
        let (status, rel) = w
            .fulmar
            .api_post(
                &format!("/api/v1/accounts/{bob_id}/follow"),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        assert_eq!(
            (&rel["following"], &rel["requested"]),
            (&json!(false), &json!(true))
        );
        let follow = w.peer.wait_for(10, follow_of(&bob.id)).await;
        assert_eq!(follow["actor"], alice_url);
        assert_eq!(follow["id"], format!("{alice_url}#follows/{bob_id}"));

        // Accept naming the Follow by its id.
        w.send(
            &bob,
            "alice",
            w.activity("Accept", "1", &bob, follow["id"].clone()),
        )
        .await;
        w.wait_relationship(&token, &bob_id, "following", true)
            .await;
        assert_eq!(w.relationship(&token, &bob_id).await["requested"], false);

        // Accept embedding the Follow without its id: matched by actor and object.
        let carol = w.peer.actor("carol");
        let carol_id = w.resolve(&token, &carol).await;
        w.fulmar
            .api_post(
                &format!("/api/v1/accounts/{carol_id}/follow"),
                &token,
                json!({}),
            )
            .await;
        w.peer.wait_for(10, follow_of(&carol.id)).await;
        w.send(
            &carol,
            "alice",
            w.activity(
                "Accept",
                "2",
                &carol,
                json!({"type": "Follow", "actor": alice_url, "object": carol.id}),
            ),
        )
        .await;
        w.wait_relationship(&token, &carol_id, "following", true)
            .await;

        // Reject of a pending request removes it.
        let dave = w.peer.actor("dave");
        let dave_id = w.resolve(&token, &dave).await;
        w.fulmar
            .api_post(
                &format!("/api/v1/accounts/{dave_id}/follow"),
                &token,
                json!({}),
            )
            .await;
        let follow = w.peer.wait_for(10, follow_of(&dave.id)).await;
        w.send(
            &dave,
            "alice",
            w.activity(
                "Reject",
                "3",
                &dave,
                json!({"id": follow["id"], "type": "Follow", "actor": alice_url, "object": dave.id}),
            ),
        )
        .await;
        w.wait_relationship(&token, &dave_id, "requested", false)
            .await;
        assert_eq!(w.relationship(&token, &dave_id).await["following"], false);

        // Reject of an accepted follow: removed from bob's followers.
        w.send(
            &bob,
            "alice",
            w.activity(
                "Reject",
                "4",
                &bob,
                json!(format!("{alice_url}#follows/{bob_id}")),
            ),
        )
        .await;
        w.wait_relationship(&token, &bob_id, "following", false)
            .await;

        // Bad: an Accept from an account that was never asked changes nothing, and
        // neither does an Accept by eve of alice's follow of carol.
        let eve = w.peer.actor("eve");
        let eve_id = w.resolve(&token, &eve).await;
        w.send(
            &eve,
            "alice",
            w.activity(
                "Accept",
                "5",
                &eve,
                json!({"type": "Follow", "actor": alice_url, "object": eve.id}),
            ),
        )
        .await;
        w.send(
            &eve,
            "alice",
            w.activity(
                "Reject",
                "6",
                &eve,
                json!(format!("{alice_url}#follows/{carol_id}")),
            ),
        )
        .await;
        drained(&w.fulmar).await;
        let rel = w.relationship(&token, &eve_id).await;
        assert_eq!(
            (&rel["following"], &rel["requested"]),
            (&json!(false), &json!(false))
        );
        assert_eq!(w.relationship(&token, &carol_id).await["following"], true);

        // Unfollowing a pending request still tells the remote server.
        let frank = w.peer.actor("frank");
        let frank_id = w.resolve(&token, &frank).await;
        w.fulmar
            .api_post(
                &format!("/api/v1/accounts/{frank_id}/follow"),
                &token,
                json!({}),
            )
            .await;
        w.peer.wait_for(10, follow_of(&frank.id)).await;
        let (status, rel) = w
            .fulmar
            .api_post(
                &format!("/api/v1/accounts/{frank_id}/unfollow"),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(rel["requested"], false);
        w.peer
            .wait_for(10, |v| {
                v["type"] == "Undo"
                    && v["object"]["type"] == "Follow"
                    && v["object"]["object"] == frank.id
            })
            .await;
    }
);

db_test!(
    remote_follows_of_local_accounts_are_accepted_or_requested,
    |app: TestApp| async move {
        let w = World::start(app).await;
        let (alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let alice_url = w.actor_url("alice");
        let bob = w.peer.actor("bob");

        let follow = w.activity("Follow", "f1", &bob, json!(alice_url));
        w.send(&bob, "alice", follow.clone()).await;
        let accept = w
            .peer
            .wait_for(10, |v| {
                v["type"] == "Accept" && v["object"]["id"] == follow["id"]
            })
            .await;
        assert_eq!(accept["actor"], alice_url);
        assert_eq!(accept["object"]["type"], "Follow");
        assert_eq!(accept["object"]["actor"], bob.id);
        assert_eq!(accept["object"]["object"], alice_url);
        let followers = format!("/api/v1/accounts/{}/followers", alice.id);
        let (_, list) = w.fulmar.api_get(&followers, &token).await;
        assert_eq!(list[0]["acct"], format!("bob@{}", w.peer.host), "{list}");
        assert!(w
            .notification_types(&token)
            .await
            .contains(&"follow".to_owned()));

        // The same Follow again is accepted again, and counted once.
        w.send(&bob, "alice", follow.clone()).await;
        eventually("a second Accept", || async {
            w.peer
                .received()
                .iter()
                .filter(|v| v["type"] == "Accept")
                .count()
                == 2
        })
        .await;
        let (_, me) = w
            .fulmar
            .api_get("/api/v1/accounts/verify_credentials", &token)
            .await;
        assert_eq!(me["followers_count"], 1);

        // Undo (embedded) ends the follow and takes its notification back.
        w.send(
            &bob,
            "alice",
            w.activity("Undo", "u1", &bob, follow.clone()),
        )
        .await;
        // The follow row and its notification go in two steps: wait for both.
        eventually(
            "bob leaves the followers and his notification goes",
            || async {
                let (_, list) = w.fulmar.api_get(&followers, &token).await;
                list.as_array().unwrap().is_empty()
                    && !w
                        .notification_types(&token)
                        .await
                        .contains(&"follow".to_owned())
            },
        )
        .await;

        // Following again with a new Follow: its Accept has an id of its own, so that a
        // server deduplicating by id does not drop it.
        let again = w.activity("Follow", "f1b", &bob, json!(alice_url));
        w.send(&bob, "alice", again.clone()).await;
        let second = w
            .peer
            .wait_for(10, |v| {
                v["type"] == "Accept" && v["object"]["id"] == again["id"]
            })
            .await;
        assert_ne!(second["id"], accept["id"]);
        w.send(
            &bob,
            "alice",
            w.activity("Undo", "u1b", &bob, again["id"].clone()),
        )
        .await;
        eventually("bob leaves the followers again", || async {
            let (_, list) = w.fulmar.api_get(&followers, &token).await;
            list.as_array().unwrap().is_empty()
        })
        .await;

        // A locked account gets a request, authorized through the API: Accept.
        let (lucy, lucy_token) = w.fulmar.user_with_token("lucy", ALL).await;
        fulmar_store::with_pool!(w.fulmar.db(), p => sqlx::query("UPDATE accounts SET locked = TRUE WHERE id = $1").bind(lucy.id).execute(p).await.map(|_| ())).unwrap();
        let lucy_follow = w.activity("Follow", "f2", &bob, json!(w.actor_url("lucy")));
        w.send(&bob, "lucy", lucy_follow.clone()).await;
        eventually("a follow request", || async {
            let (_, list) = w
                .fulmar
                .api_get("/api/v1/follow_requests", &lucy_token)
                .await;
            list[0]["id"].is_string()
        })
        .await;
        let (_, list) = w
            .fulmar
            .api_get("/api/v1/follow_requests", &lucy_token)
            .await;
        let requester = list[0]["id"].as_str().unwrap().to_owned();
        assert!(w
            .notification_types(&lucy_token)
            .await
            .contains(&"follow_request".to_owned()));
        let (status, rel) = w
            .fulmar
            .api_post(
                &format!("/api/v1/follow_requests/{requester}/authorize"),
                &lucy_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        assert_eq!(rel["followed_by"], true);
        let accept = w
            .peer
            .wait_for(10, |v| {
                v["type"] == "Accept" && v["object"]["id"] == lucy_follow["id"]
            })
            .await;
        assert_eq!(accept["object"]["actor"], bob.id);

        // Rejected through the API: Reject embedding gus's Follow.
        let gus = w.peer.actor("gus");
        let gus_follow = w.activity("Follow", "f4", &gus, json!(w.actor_url("lucy")));
        w.send(&gus, "lucy", gus_follow.clone()).await;
        eventually("gus's follow request", || async {
            let (_, list) = w
                .fulmar
                .api_get("/api/v1/follow_requests", &lucy_token)
                .await;
            list.as_array().unwrap().len() == 1
        })
        .await;
        let (_, list) = w
            .fulmar
            .api_get("/api/v1/follow_requests", &lucy_token)
            .await;
        let gus_id = list[0]["id"].as_str().unwrap().to_owned();
        let (status, rel) = w
            .fulmar
            .api_post(
                &format!("/api/v1/follow_requests/{gus_id}/reject"),
                &lucy_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        assert_eq!(rel["requested_by"], false);
        let reject = w
            .peer
            .wait_for(10, |v| {
                v["type"] == "Reject" && v["object"]["id"] == gus_follow["id"]
            })
            .await;
        assert_eq!(reject["object"]["actor"], gus.id);

        // Bad: a Follow of an unknown local user is dropped unanswered; an Undo of
        // bob's follow of lucy by carol is refused.
        let carol = w.peer.actor("carol");
        let nobody = w.activity("Follow", "f9", &bob, json!(w.actor_url("nobody")));
        w.send(&bob, "alice", nobody.clone()).await;
        w.send(
            &carol,
            "alice",
            w.activity("Undo", "u9", &carol, lucy_follow["id"].clone()),
        )
        .await;
        drained(&w.fulmar).await;
        assert!(!w
            .peer
            .received()
            .iter()
            .any(|v| v["object"]["id"] == nobody["id"]));
        let (_, me) = w
            .fulmar
            .api_get("/api/v1/accounts/verify_credentials", &lucy_token)
            .await;
        assert_eq!(me["followers_count"], 1);

        // Blocked: the Follow is answered with Reject.
        let carol_id = w.resolve(&token, &carol).await;
        w.fulmar
            .api_post(
                &format!("/api/v1/accounts/{carol_id}/block"),
                &token,
                json!({}),
            )
            .await;
        let carol_follow = w.activity("Follow", "f3", &carol, json!(alice_url));
        w.send(&carol, "alice", carol_follow.clone()).await;
        w.peer
            .wait_for(10, |v| {
                v["type"] == "Reject" && v["object"]["id"] == carol_follow["id"]
            })
            .await;
        assert_eq!(
            w.relationship(&token, &carol_id).await["followed_by"],
            false
        );
    }
);

db_test!(
    likes_and_announces_of_local_statuses,
    |app: TestApp| async move {
        let w = World::start(app).await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let (dora, dora_token) = w.fulmar.user_with_token("dora", ALL).await;
        let bob = w.peer.actor("bob");
        let carol = w.peer.actor("carol");
        let bob_id = w.resolve(&dora_token, &bob).await;
        w.resolve(&dora_token, &carol).await;
        // dora follows bob (as if accepted), so bob's boosts reach her home feed.
        follow_directly(w.fulmar.db(), dora.id, bob_id.parse().unwrap()).await;

        let (status, post) = w
            .fulmar
            .api_post("/api/v1/statuses", &token, json!({"status": "Hello"}))
            .await;
        assert_eq!(status, 200, "{post}");
        let id = post["id"].as_str().unwrap().to_owned();
        let uri = post["uri"].as_str().unwrap().to_owned();

        // Like: a favourite, counted once however often it arrives.
        let like = w.activity("Like", "l1", &bob, json!(uri));
        w.send(&bob, "alice", like.clone()).await;
        w.send(&bob, "alice", like.clone()).await;
        eventually("a favourite notification", || async {
            w.notification_types(&token)
                .await
                .contains(&"favourite".to_owned())
        })
        .await;
        drained(&w.fulmar).await;
        assert_eq!(w.status(&token, &id).await["favourites_count"], 1);

        // Misskey's reaction Like from carol counts as a favourite too.
        let mut reaction = w.activity("Like", "l2", &carol, json!(uri));
        reaction["_misskey_reaction"] = json!("👍");
        reaction["content"] = json!("👍");
        w.send(&carol, "alice", reaction).await;
        eventually("two favourites", || async {
            w.status(&token, &id).await["favourites_count"] == 2
        })
        .await;

        // Bad: carol cannot undo bob's Like; a Like of an unknown status is ignored.
        w.send(
            &carol,
            "alice",
            w.activity("Undo", "u0", &carol, like["id"].clone()),
        )
        .await;
        let mut forged = like.clone();
        forged.as_object_mut().unwrap().remove("@context");
        w.send(&carol, "alice", w.activity("Undo", "u00", &carol, forged))
            .await;
        w.send(
            &bob,
            "alice",
            w.activity(
                "Like",
                "l3",
                &bob,
                json!(w.fulmar.app.urls.status("alice", 12345)),
            ),
        )
        .await;
        drained(&w.fulmar).await;
        assert_eq!(w.status(&token, &id).await["favourites_count"], 2);

        // Undo Like by id.
        w.send(
            &bob,
            "alice",
            w.activity("Undo", "u1", &bob, like["id"].clone()),
        )
        .await;
        eventually("the favourite goes", || async {
            w.status(&token, &id).await["favourites_count"] == 1
        })
        .await;

        // Announce: a reblog notification and a reblog in dora's home feed.
        let mut announce = w.activity("Announce", "a1", &bob, json!(uri));
        announce["to"] = json!(["https://www.w3.org/ns/activitystreams#Public"]);
        announce["cc"] = json!([format!("{}/followers", bob.id)]);
        w.send(&bob, "alice", announce.clone()).await;
        w.send(&bob, "alice", announce.clone()).await;
        eventually("a reblog notification", || async {
            w.notification_types(&token)
                .await
                .contains(&"reblog".to_owned())
        })
        .await;
        eventually("the reblog in dora's home", || async {
            let (_, home) = w
                .fulmar
                .api_get("/api/v1/timelines/home", &dora_token)
                .await;
            home.as_array()
                .unwrap()
                .iter()
                .any(|s| s["reblog"]["id"] == id.as_str())
        })
        .await;
        drained(&w.fulmar).await;
        assert_eq!(w.status(&token, &id).await["reblogs_count"], 1);

        // Undo Announce (embedded) removes the reblog and its feed rows.
        let mut inner = announce.clone();
        inner.as_object_mut().unwrap().remove("@context");
        w.send(&bob, "alice", w.activity("Undo", "u2", &bob, inner))
            .await;
        eventually("the reblog goes", || async {
            w.status(&token, &id).await["reblogs_count"] == 0
        })
        .await;
        let (_, home) = w
            .fulmar
            .api_get("/api/v1/timelines/home", &dora_token)
            .await;
        assert!(
            !home
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["reblog"]["id"] == id.as_str()),
            "{home}"
        );

        // An Announce of another server's post, embedded: fetched from its origin by id
        // (the embedded copy is not trusted), then boosted into dora's home feed.
        let note_id = format!("{}/notes/1", w.peer.base);
        w.peer.publish(
            "/notes/1",
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": note_id,
                "type": "Note",
                "attributedTo": carol.id,
                "content": "<p>From carol's server</p>",
                "published": "2026-01-02T03:04:05Z",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
            }),
        );
        let mut boost = w.activity(
            "Announce",
            "a3",
            &bob,
            json!({"id": note_id, "type": "Note", "attributedTo": carol.id, "content": "forged"}),
        );
        boost["to"] = json!(["https://www.w3.org/ns/activitystreams#Public"]);
        w.send(&bob, "alice", boost).await;
        eventually("carol's post boosted into dora's home", || async {
            let (_, home) = w
                .fulmar
                .api_get("/api/v1/timelines/home", &dora_token)
                .await;
            home.as_array().unwrap().iter().any(|s| {
                s["reblog"]["uri"] == note_id.as_str()
                    && s["reblog"]["content"] == "<p>From carol's server</p>"
            })
        })
        .await;

        // Bad: an Announce of a followers-only status is refused.
        let (_, private) = w
            .fulmar
            .api_post(
                "/api/v1/statuses",
                &token,
                json!({"status": "Just you", "visibility": "private"}),
            )
            .await;
        let private_id = private["id"].as_str().unwrap().to_owned();
        let mut announce = w.activity("Announce", "a2", &bob, private["uri"].clone());
        announce["to"] = json!(["https://www.w3.org/ns/activitystreams#Public"]);
        w.send(&bob, "alice", announce).await;
        drained(&w.fulmar).await;
        assert_eq!(w.status(&token, &private_id).await["reblogs_count"], 0);
    }
);

db_test!(
    blocks_and_actor_updates_and_deletes,
    |app: TestApp| async move {
        let w = World::start(app).await;
        let (alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let alice_url = w.actor_url("alice");
        let bob = w.peer.actor("bob");
        let bob_id = w.resolve(&token, &bob).await;

        // bob follows alice, and alice bob (accepted).
        w.send(
            &bob,
            "alice",
            w.activity("Follow", "f1", &bob, json!(alice_url)),
        )
        .await;
        w.wait_relationship(&token, &bob_id, "followed_by", true)
            .await;
        w.fulmar
            .api_post(
                &format!("/api/v1/accounts/{bob_id}/follow"),
                &token,
                json!({}),
            )
            .await;
        let follow = w.peer.wait_for(10, follow_of(&bob.id)).await;
        w.send(
            &bob,
            "alice",
            w.activity("Accept", "a1", &bob, follow["id"].clone()),
        )
        .await;
        w.wait_relationship(&token, &bob_id, "following", true)
            .await;

        // Block: both follows end.
        let block = w.activity("Block", "b1", &bob, json!(alice_url));
        w.send(&bob, "alice", block.clone()).await;
        w.wait_relationship(&token, &bob_id, "blocked_by", true)
            .await;
        let rel = w.relationship(&token, &bob_id).await;
        assert_eq!(
            (&rel["following"], &rel["followed_by"]),
            (&json!(false), &json!(false)),
            "{rel}"
        );
        // Undo Block by id.
        w.send(
            &bob,
            "alice",
            w.activity("Undo", "u1", &bob, block["id"].clone()),
        )
        .await;
        w.wait_relationship(&token, &bob_id, "blocked_by", false)
            .await;

        // Update of bob by bob refreshes the profile; an Update of carol by bob does not.
        let carol = w.peer.actor("carol");
        let carol_id = w.resolve(&token, &carol).await;
        let mut doc = w.peer.actor_document(&bob);
        doc["name"] = json!("Bob Renamed");
        doc["summary"] = json!("<p>new bio</p><script>x</script>");
        w.send(&bob, "alice", w.activity("Update", "up1", &bob, doc))
            .await;
        let mut forged = w.peer.actor_document(&carol);
        forged["name"] = json!("Not Carol");
        w.send(&bob, "alice", w.activity("Update", "up2", &bob, forged))
            .await;
        drained(&w.fulmar).await;
        let (_, account) = w
            .fulmar
            .api_get(&format!("/api/v1/accounts/{bob_id}"), &token)
            .await;
        assert_eq!(account["display_name"], "Bob Renamed");
        let note = account["note"].as_str().unwrap();
        assert!(
            note.contains("new bio") && !note.contains("<script"),
            "{note}"
        );
        let (_, account) = w
            .fulmar
            .api_get(&format!("/api/v1/accounts/{carol_id}"), &token)
            .await;
        assert_eq!(account["display_name"], "carol");

        // Delete of bob by bob: gone, with its follows.
        w.send(
            &bob,
            "alice",
            w.activity("Follow", "f2", &bob, json!(alice_url)),
        )
        .await;
        w.wait_relationship(&token, &bob_id, "followed_by", true)
            .await;
        w.send(
            &bob,
            "alice",
            w.activity("Delete", "d1", &bob, json!(bob.id)),
        )
        .await;
        eventually("bob is suspended", || async {
            w.fulmar
                .api_get(&format!("/api/v1/accounts/{bob_id}"), &token)
                .await
                .1["suspended"]
                == true
        })
        .await;
        let (_, list) = w
            .fulmar
            .api_get(&format!("/api/v1/accounts/{}/followers", alice.id), &token)
            .await;
        assert_eq!(list, json!([]));
        let (_, me) = w
            .fulmar
            .api_get("/api/v1/accounts/verify_credentials", &token)
            .await;
        assert_eq!(me["followers_count"], 0);
    }
);
