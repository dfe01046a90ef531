//! Backfill: a remote account's recent posts fetched from its outbox when a local user
//! follows it or opens its profile, from a signing peer on loopback (and from a second
//! Fulmar), checked through the client API and the job queue.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use fulmar::config::Config;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{Backend, TestApp};
use crate::peer::{dev_server, free_port, Peer, PeerActor};

const ALL: &str = "read write follow";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const HOUR_MS: i64 = 60 * 60 * 1000;

/// Backfills take several signed fetches each: 15 s rather than the usual 10.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    crate::helpers::eventually_within(Duration::from_secs(15), what, check).await;
}

/// Waits until no backfill job is left to run (finished, or given up).
async fn backfills_done(fulmar: &TestApp) {
    eventually("the backfill queue drains", || async {
        fulmar_store::jobs::pending(fulmar.db(), "backfill")
            .await
            .unwrap()
            == 0
            && fulmar_store::jobs::pending(fulmar.db(), "inbox")
                .await
                .unwrap()
                == 0
    })
    .await;
}

/// A dev-mode Fulmar (see `peer::dev_server`) with its configuration tweaked.
async fn dev_server_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let port = free_port();
    TestApp::spawn_with(backend, move |c| {
        c.listen = SocketAddr::from(([127, 0, 0, 1], port));
        c.domain = format!("127.0.0.1:{port}");
        c.dev_insecure = true;
        tweak(c);
    })
    .await
    .expect("server")
}

struct World {
    fulmar: TestApp,
    peer: Peer,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl World {
    async fn start(app: TestApp, tweak: impl FnOnce(&mut Config)) -> World {
        let backend: Backend = app.backend;
        app.stop().await;
        World {
            fulmar: dev_server_with(backend, tweak).await,
            peer: Peer::start().await,
        }
    }

    /// A public note of `actor`, number `n`, published `age_ms` ago.
    fn note(&self, actor: &PeerActor, n: usize, age_ms: i64) -> Value {
        json!({
            "id": format!("{}/statuses/{n}", actor.id),
            "type": "Note",
            "attributedTo": actor.id,
            "content": format!("<p>post {n}</p>"),
            "published": rfc3339(now_ms() - age_ms),
            "to": [PUBLIC],
            "cc": [format!("{}/followers", actor.id)],
        })
    }

    fn create(&self, actor: &PeerActor, note: &Value) -> Value {
        json!({
            "id": format!("{}/activity", note["id"].as_str().unwrap()),
            "type": "Create",
            "actor": actor.id,
            "published": note["published"],
            "to": note["to"],
            "cc": note["cc"],
            "object": note,
        })
    }

    /// Publishes `items` as `actor`'s outbox, Mastodon's way: the collection links
    /// its first page, pages of `per_page` link the next. Each note is also served at
    /// its id.
    fn publish_outbox(&self, actor: &PeerActor, items: &[Value], per_page: usize) {
        let path = |url: &str| url.strip_prefix(&self.peer.base).unwrap().to_owned();
        let outbox = format!("{}/outbox", actor.id);
        for item in items {
            if item["type"] == "Create" && item["object"].is_object() {
                let note = &item["object"];
                self.peer
                    .publish(&path(note["id"].as_str().unwrap()), note.clone());
            }
        }
        let pages: Vec<&[Value]> = items.chunks(per_page.max(1)).collect();
        self.peer.publish(
            &path(&outbox),
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": outbox, "type": "OrderedCollection", "totalItems": items.len(),
                "first": format!("{outbox}/page/1"),
            }),
        );
        for (i, chunk) in pages.iter().enumerate() {
            let mut page = json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{outbox}/page/{}", i + 1), "type": "OrderedCollectionPage",
                "partOf": outbox, "orderedItems": chunk,
            });
            if i + 1 < pages.len() {
                page["next"] = json!(format!("{outbox}/page/{}", i + 2));
            }
            self.peer
                .publish(&path(&format!("{outbox}/page/{}", i + 1)), page);
        }
    }

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

    /// `name` follows `actor`, which accepts: the follow becomes effective.
    async fn follow_accepted(&self, token: &str, name: &str, actor: &PeerActor) -> String {
        let id = self.resolve(token, actor).await;
        let (status, body) = self
            .fulmar
            .api_post(&format!("/api/v1/accounts/{id}/follow"), token, json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        let follow = self
            .peer
            .wait_for(10, |v| v["type"] == "Follow" && v["object"] == actor.id)
            .await;
        let accept = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/accepts/{name}", actor.id),
            "type": "Accept", "actor": actor.id, "object": follow["id"],
        });
        let inbox = self.fulmar.url(&format!("/users/{name}/inbox"));
        let (status, body) = self.peer.post(actor, &inbox, &accept).await;
        assert_eq!(status, 202, "{body}");
        id
    }

    async fn statuses(&self, token: &str, id: &str, query: &str) -> Vec<Value> {
        let (status, body) = self
            .fulmar
            .api_get(&format!("/api/v1/accounts/{id}/statuses?{query}"), token)
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }

    /// How many statuses the account has here (its stored count).
    async fn statuses_count(&self, id: &str) -> i64 {
        let id: i64 = id.parse().unwrap();
        fulmar_store::accounts::by_id(self.fulmar.db(), id)
            .await
            .unwrap()
            .unwrap()
            .statuses_count
    }
}

fn contents(statuses: &[Value]) -> Vec<String> {
    statuses
        .iter()
        .map(|s| {
            s["content"]
                .as_str()
                .unwrap()
                .trim_start_matches("<p>")
                .trim_end_matches("</p>")
                .to_owned()
        })
        .collect()
}

db_test!(
    an_accepted_follow_backfills_the_outbox_into_the_home_timeline,
    |app: TestApp| async move {
        let w = World::start(app, |_| {}).await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let bob = w.peer.actor("bob");
        // 50 posts, one an hour, newest first, in pages of 20.
        let items: Vec<Value> = (0..50)
            .map(|n| w.create(&bob, &w.note(&bob, n, (n as i64 + 1) * HOUR_MS)))
            .collect();
        w.publish_outbox(&bob, &items, 20);
        let bob_id = w.follow_accepted(&token, "alice", &bob).await;

        // The default count, 40, is what is kept.
        eventually("40 posts backfilled", || async {
            w.statuses(&token, &bob_id, "limit=40").await.len() == 40
        })
        .await;
        backfills_done(&w.fulmar).await;
        let expected: Vec<String> = (0..40).map(|n| format!("post {n}")).collect();
        assert_eq!(
            contents(&w.statuses(&token, &bob_id, "limit=40").await),
            expected
        );
        assert_eq!(w.statuses_count(&bob_id).await, 40);

        // In alice's home timeline, in their order, by their publication time.
        eventually("the home timeline has them", || async {
            let (_, home) = w
                .fulmar
                .api_get("/api/v1/timelines/home?limit=40", &token)
                .await;
            home.as_array().is_some_and(|h| h.len() == 40)
        })
        .await;
        let (_, home) = w
            .fulmar
            .api_get("/api/v1/timelines/home?limit=40", &token)
            .await;
        let home = home.as_array().unwrap();
        assert_eq!(contents(home), expected);
        let first = home[0]["created_at"].as_str().unwrap();
        let published = items[0]["object"]["published"].as_str().unwrap();
        assert_eq!(&first[..19], &published[..19]);

        // Nobody was notified, and nothing was sent back but the Follow.
        let (_, notifications) = w.fulmar.api_get("/api/v1/notifications", &token).await;
        assert_eq!(notifications, json!([]));
        let sent: Vec<Value> = w.peer.received();
        assert!(sent.iter().all(|a| a["type"] == "Follow"), "{sent:#?}");
    }
);

db_test!(
    old_posts_foreign_objects_and_boosts_are_handled_and_pins_kept,
    |app: TestApp| async move {
        let w = World::start(app, |c| c.backfill.max_age_days = 30).await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let bob = w.peer.actor("bob");
        let carol = w.peer.actor("carol");
        // carol's note, served at its id, boosted by bob.
        let carol_note = w.note(&carol, 1, 3 * HOUR_MS);
        w.peer
            .publish("/users/carol/statuses/1", carol_note.clone());
        let mut items = vec![
            w.create(&bob, &w.note(&bob, 0, HOUR_MS)),
            json!({
                "id": format!("{}/boosts/1", bob.id), "type": "Announce", "actor": bob.id,
                "published": rfc3339(now_ms() - 2 * HOUR_MS),
                "to": [PUBLIC], "object": carol_note["id"],
            }),
            // An embedded object that claims to be carol's: fetched from its id,
            // where it is carol's and so not one of bob's posts.
            w.create(&bob, &{
                let mut n = w.note(&carol, 2, 4 * HOUR_MS);
                n["content"] = json!("<p>forged</p>");
                n
            }),
            // Only a link: fetched.
            json!({"type": "Create", "id": format!("{}/statuses/3/activity", bob.id),
                   "object": format!("{}/statuses/3", bob.id)}),
        ];
        w.peer
            .publish("/users/carol/statuses/2", w.note(&carol, 2, 4 * HOUR_MS));
        w.peer
            .publish("/users/bob/statuses/3", w.note(&bob, 3, 5 * HOUR_MS));
        // Older than 30 days: not fetched.
        items.push(w.create(&bob, &w.note(&bob, 4, 40 * 24 * HOUR_MS)));
        items.push(w.create(&bob, &w.note(&bob, 5, 41 * 24 * HOUR_MS)));
        w.publish_outbox(&bob, &items, 3);
        // bob pins an old post: pins are kept whatever their age.
        let pinned = w.note(&bob, 9, 100 * 24 * HOUR_MS);
        let mut actor = w.peer.actor_document(&bob);
        actor["featured"] = json!(format!("{}/collections/featured", bob.id));
        w.peer.publish("/users/bob", actor);
        w.peer.publish(
            "/users/bob/collections/featured",
            json!({"id": format!("{}/collections/featured", bob.id), "type": "OrderedCollection",
                   "totalItems": 1, "orderedItems": [pinned]}),
        );

        let bob_id = w.follow_accepted(&token, "alice", &bob).await;
        eventually("bob's posts are backfilled", || async {
            w.statuses(&token, &bob_id, "").await.len() >= 4
        })
        .await;
        backfills_done(&w.fulmar).await;
        let list = w.statuses(&token, &bob_id, "").await;
        let shown: Vec<String> = list
            .iter()
            .map(|s| match s["reblog"]["content"].as_str() {
                Some(c) => format!("boost of {c}"),
                None => s["content"].as_str().unwrap().to_owned(),
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                "<p>post 0</p>",
                "boost of <p>post 1</p>",
                "<p>post 3</p>",
                "<p>post 9</p>",
            ]
        );
        let pins = w.statuses(&token, &bob_id, "pinned=true").await;
        assert_eq!(contents(&pins), vec!["post 9"]);
        // The forged copy was not stored under anyone's name.
        let (_, found) = w
            .fulmar
            .api_get("/api/v2/search?q=forged&type=statuses", &token)
            .await;
        assert_eq!(found["statuses"], json!([]));
        let (_, notifications) = w.fulmar.api_get("/api/v1/notifications", &token).await;
        assert_eq!(notifications, json!([]));
    }
);

db_test!(
    a_private_outbox_is_shown_on_the_profile,
    |app: TestApp| async move {
        let w = World::start(app, |_| {}).await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        // Refused outright (401), found through a follow.
        let bob = w.peer.actor("bob");
        w.peer.publish_with_status(
            "/users/bob/outbox",
            StatusCode::UNAUTHORIZED,
            json!({"error": "no"}),
        );
        let bob_id = w.follow_accepted(&token, "alice", &bob).await;
        eventually("bob's outbox is marked private", || async {
            let (_, acc) = w
                .fulmar
                .api_get(&format!("/api/v1/accounts/{bob_id}"), &token)
                .await;
            acc["fulmar"] == json!({"outbox_private": true})
        })
        .await;
        // Counted but empty, as Threads serves it, found through a profile view.
        let tess = w.peer.actor("tess");
        w.peer.publish(
            "/users/tess/outbox",
            json!({"id": format!("{}/outbox", tess.id), "type": "OrderedCollection",
                   "totalItems": 120, "orderedItems": []}),
        );
        let tess_id = w.resolve(&token, &tess).await;
        let (status, acc) = w
            .fulmar
            .api_get(&format!("/api/v1/accounts/{tess_id}"), &token)
            .await;
        assert_eq!(status, 200);
        assert!(acc.get("fulmar").is_none(), "{acc}");
        eventually("tess's outbox is marked private", || async {
            let (_, acc) = w
                .fulmar
                .api_get(&format!("/api/v1/accounts/{tess_id}"), &token)
                .await;
            acc["fulmar"] == json!({"outbox_private": true})
        })
        .await;
        backfills_done(&w.fulmar).await;
        // No retries are left for a closed outbox.
        let jobs = fulmar_store::jobs::list(w.fulmar.db(), "backfill")
            .await
            .unwrap();
        assert!(jobs.is_empty(), "{jobs:?}");
        // Local accounts never carry the key.
        let (_, me) = w
            .fulmar
            .api_get("/api/v1/accounts/verify_credentials", &token)
            .await;
        assert!(me.get("fulmar").is_none(), "{me}");
    }
);

db_test!(
    a_garbage_outbox_gives_the_job_up_and_stores_nothing,
    |app: TestApp| async move {
        let w = World::start(app, |_| {}).await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let bob = w.peer.actor("bob");
        w.peer.publish(
            "/users/bob/outbox",
            json!({"type": "Person", "hello": "world"}),
        );
        let bob_id = w.resolve(&token, &bob).await;
        let (status, _) = w
            .fulmar
            .api_get(&format!("/api/v1/accounts/{bob_id}"), &token)
            .await;
        assert_eq!(status, 200);
        eventually("the job is given up", || async {
            let jobs = fulmar_store::jobs::list(w.fulmar.db(), "backfill")
                .await
                .unwrap();
            jobs.len() == 1 && jobs[0].dead_at.is_some()
        })
        .await;
        let jobs = fulmar_store::jobs::list(w.fulmar.db(), "backfill")
            .await
            .unwrap();
        assert_eq!(jobs[0].attempts, 1, "given up at once, not retried");
        assert_eq!(w.statuses_count(&bob_id).await, 0);

        // An outbox whose `next` points to itself ends at once.
        let eve = w.peer.actor("eve");
        let note = w.note(&eve, 1, HOUR_MS);
        w.peer.publish(
            "/users/eve/outbox",
            json!({"id": format!("{}/outbox", eve.id), "type": "OrderedCollectionPage",
                   "orderedItems": [w.create(&eve, &note)], "next": format!("{}/outbox", eve.id)}),
        );
        let eve_id = w.resolve(&token, &eve).await;
        w.fulmar
            .api_get(&format!("/api/v1/accounts/{eve_id}"), &token)
            .await;
        eventually("eve's post is backfilled", || async {
            w.statuses_count(&eve_id).await == 1
        })
        .await;
        backfills_done(&w.fulmar).await;
    }
);

db_test!(
    a_profile_view_backfills_once_per_cooldown,
    |app: TestApp| async move {
        let w = World::start(app, |_| {}).await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let bob = w.peer.actor("bob");
        let items: Vec<Value> = (0..3)
            .map(|n| w.create(&bob, &w.note(&bob, n, (n as i64 + 1) * HOUR_MS)))
            .collect();
        w.publish_outbox(&bob, &items, 20);
        let bob_id = w.resolve(&token, &bob).await;
        // Resolving alone fetches nothing.
        assert!(fulmar_store::jobs::list(w.fulmar.db(), "backfill")
            .await
            .unwrap()
            .is_empty());
        // Anonymous views do not trigger it either.
        let res = w.fulmar.get(&format!("/api/v1/accounts/{bob_id}")).await;
        assert_eq!(res.status(), 200);
        assert!(fulmar_store::jobs::list(w.fulmar.db(), "backfill")
            .await
            .unwrap()
            .is_empty());

        let (status, _) = w
            .fulmar
            .api_get(&format!("/api/v1/accounts/{bob_id}"), &token)
            .await;
        assert_eq!(status, 200);
        eventually("bob's posts are backfilled", || async {
            w.statuses_count(&bob_id).await == 3
        })
        .await;
        backfills_done(&w.fulmar).await;
        // bob posts again; views within the cooldown queue nothing more.
        let more: Vec<Value> = std::iter::once(w.create(&bob, &w.note(&bob, 7, 1000)))
            .chain(items)
            .collect();
        w.publish_outbox(&bob, &more, 20);
        w.fulmar
            .api_get(&format!("/api/v1/accounts/{bob_id}"), &token)
            .await;
        w.statuses(&token, &bob_id, "").await;
        assert!(fulmar_store::jobs::list(w.fulmar.db(), "backfill")
            .await
            .unwrap()
            .is_empty());
        assert_eq!(w.statuses_count(&bob_id).await, 3);
        // No pages, no history: the account is not backfilled, and the post still
        // shows in no timeline of alice's (she does not follow bob).
        let (_, home) = w.fulmar.api_get("/api/v1/timelines/home", &token).await;
        assert_eq!(home, json!([]));
    }
);

db_test!(
    backfills_wait_for_their_host_slot_and_the_budget,
    |app: TestApp| async move {
        // One backfill at a time in all, one per host: jobs that find no room go back
        // to the queue and run later, none is lost or failed.
        let w = World::start(app, |c| {
            c.backfill.per_host = 1;
            c.backfill.in_flight = 1;
        })
        .await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let mut ids = Vec::new();
        for name in ["bob", "carol", "dave"] {
            let actor = w.peer.actor(name);
            let items: Vec<Value> = (0..2)
                .map(|n| w.create(&actor, &w.note(&actor, n, (n as i64 + 1) * HOUR_MS)))
                .collect();
            w.publish_outbox(&actor, &items, 20);
            ids.push(w.resolve(&token, &actor).await);
        }
        for id in &ids {
            let (status, _) = w
                .fulmar
                .api_get(&format!("/api/v1/accounts/{id}"), &token)
                .await;
            assert_eq!(status, 200);
        }
        for id in &ids {
            eventually("every account is backfilled", || async {
                w.statuses_count(id).await == 2
            })
            .await;
        }
        backfills_done(&w.fulmar).await;
        let jobs = fulmar_store::jobs::list(w.fulmar.db(), "backfill")
            .await
            .unwrap();
        assert!(jobs.is_empty(), "{jobs:?}");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fulmars_backfill_from_each_others_outbox_sqlite() {
    two_fulmars(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fulmars_backfill_from_each_others_outbox_postgres() {
    if crate::helpers::postgres_url().is_none() {
        return;
    }
    two_fulmars(Backend::Postgres).await;
}

/// alice on A follows bob on B after bob posted three public posts: alice sees them,
/// which shows that Fulmar's own outbox serves what another Fulmar backfills from.
async fn two_fulmars(backend: Backend) {
    let a = dev_server(backend).await;
    let b = dev_server(backend).await;
    let (_alice, alice_token) = a.user_with_token("alice", ALL).await;
    let (bob, bob_token) = b.user_with_token("bob", ALL).await;
    for n in 0..3 {
        let (status, body) = b
            .api_post(
                "/api/v1/statuses",
                &bob_token,
                json!({"status": format!("bob's post {n}"), "visibility": "public"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let host = b.app.config.domain.clone();
    let (status, found) = a
        .api_get(
            &format!("/api/v2/search?resolve=true&q=@bob@{host}"),
            &alice_token,
        )
        .await;
    assert_eq!(status, 200, "{found}");
    let bob_id = found["accounts"][0]["id"].as_str().unwrap().to_owned();
    let (status, rel) = a
        .api_post(
            &format!("/api/v1/accounts/{bob_id}/follow"),
            &alice_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{rel}");
    eventually("alice's home timeline has bob's three posts", || async {
        let (_, home) = a.api_get("/api/v1/timelines/home", &alice_token).await;
        home.as_array().is_some_and(|h| h.len() == 3)
    })
    .await;
    let (_, home) = a.api_get("/api/v1/timelines/home", &alice_token).await;
    let mut texts: Vec<String> = home
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["content"].as_str().unwrap().replace("&#39;", "'"))
        .collect();
    // Posted within a second, and `published` has whole seconds: their order among
    // themselves is not known to A (the peer tests check the order of distinct times).
    texts.sort();
    assert_eq!(
        texts,
        vec![
            "<p>bob's post 0</p>",
            "<p>bob's post 1</p>",
            "<p>bob's post 2</p>"
        ]
    );
    // Each is in its place by its publication time on B.
    for s in home.as_array().unwrap() {
        let (_, original) = b
            .api_get(&format!("/api/v1/accounts/{}/statuses", bob.id), &bob_token)
            .await;
        let text = s["content"].as_str().unwrap();
        let there = original
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["content"].as_str() == Some(text))
            .expect("the same post on B");
        assert_eq!(
            &s["created_at"].as_str().unwrap()[..19],
            &there["created_at"].as_str().unwrap()[..19]
        );
    }
    let (_, notifications) = a.api_get("/api/v1/notifications", &alice_token).await;
    assert_eq!(notifications, json!([]));
}

/// A TCP listener that counts the connections it gets and answers none.
async fn connection_counter() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (port, count)
}

db_test!(
    an_outbox_on_a_private_address_is_not_fetched_without_dev_mode,
    |app: TestApp| async move {
        // The test server is not in development mode: loopback is a private address.
        assert!(!app.app.config.dev_insecure);
        let (port, connections) = connection_counter().await;
        let (_alice, token) = app.user_with_token("alice", ALL).await;
        let base = format!("https://127.0.0.1:{port}/users/x");
        let id = fulmar::core::ids::next_id();
        fulmar_store::accounts::insert_account(
            app.db(),
            &fulmar_store::accounts::NewAccount {
                id,
                username: "x".into(),
                domain: Some(format!("127.0.0.1:{port}")),
                uri: base.clone(),
                actor_type: "Person".into(),
                outbox_url: Some(format!("{base}/outbox")),
                featured_url: Some(format!("{base}/featured")),
                created_at: now_ms(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let started = std::time::Instant::now();
        let (status, _) = app.api_get(&format!("/api/v1/accounts/{id}"), &token).await;
        assert_eq!(status, 200);
        eventually("the job is given up", || async {
            let jobs = fulmar_store::jobs::list(app.db(), "backfill")
                .await
                .unwrap();
            jobs.len() == 1 && jobs[0].dead_at.is_some()
        })
        .await;
        assert!(started.elapsed() < Duration::from_secs(5));
        let jobs = fulmar_store::jobs::list(app.db(), "backfill")
            .await
            .unwrap();
        assert_eq!(jobs[0].attempts, 1, "refused at once, not retried");
        assert!(
            jobs[0]
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("127.0.0.1"),
            "{:?}",
            jobs[0].last_error
        );
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
        let account = fulmar_store::accounts::by_id(app.db(), id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.statuses_count, 0);
        assert_eq!(account.backfill_note, None);
    }
);

db_test!(
    an_outbox_page_of_ten_megabytes_is_cut_off_and_others_go_on,
    |app: TestApp| async move {
        let w = World::start(app, |_| {}).await;
        let (_alice, token) = w.fulmar.user_with_token("alice", ALL).await;
        let bob = w.peer.actor("bob");
        // 1,000 posts of 10 kB each: a page of about 10 MB.
        let big = "x".repeat(10_000);
        let items: Vec<Value> = (0..1000)
            .map(|n| {
                let mut note = w.note(&bob, n, HOUR_MS);
                note["content"] = json!(format!("<p>{big}</p>"));
                w.create(&bob, &note)
            })
            .collect();
        w.publish_outbox(&bob, &items, 1000);
        let carol = w.peer.actor("carol");
        let note = w.note(&carol, 1, HOUR_MS);
        w.publish_outbox(&carol, &[w.create(&carol, &note)], 20);

        let started = std::time::Instant::now();
        let bob_id = w.resolve(&token, &bob).await;
        let carol_id = w.resolve(&token, &carol).await;
        for id in [&bob_id, &carol_id] {
            let (status, _) = w
                .fulmar
                .api_get(&format!("/api/v1/accounts/{id}"), &token)
                .await;
            assert_eq!(status, 200);
        }
        backfills_done(&w.fulmar).await;
        assert!(started.elapsed() < Duration::from_secs(10));
        let jobs = fulmar_store::jobs::list(w.fulmar.db(), "backfill")
            .await
            .unwrap();
        let dead: Vec<_> = jobs.iter().filter(|j| j.dead_at.is_some()).collect();
        assert_eq!(dead.len(), 1, "bob's job is given up: {jobs:?}");
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("large"),
            "{:?}",
            dead[0].last_error
        );
        assert_eq!(w.statuses_count(&bob_id).await, 0);
        // carol's backfill, next to it, is whole.
        assert_eq!(w.statuses_count(&carol_id).await, 1);
        let (status, _) = w.fulmar.api_get("/api/v1/timelines/public", &token).await;
        assert_eq!(status, 200);
    }
);
