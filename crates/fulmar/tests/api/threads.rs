//! Whole threads: the `replies` and `context` collections Fulmar serves, and threads
//! filled in from other servers when a reader opens a status's context.

use std::time::Duration;

use fulmar_store::statuses::NewStatus;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{Backend, TestApp};
use crate::peer::{dev_server, free_port, Peer, PeerActor};

/// How long a background thread fetch may take before a test gives up.
const WAIT: Duration = Duration::from_secs(20);

/// Writes one test per database; the body gets the backend and starts its servers.
macro_rules! thread_test {
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

async fn insert(app: &TestApp, id: i64, author: i64, parent: Option<i64>, visibility: &str) {
    fulmar_store::statuses::insert(
        app.db(),
        &NewStatus {
            id,
            uri: format!("https://fulmar.test/users/x/statuses/{id}"),
            account_id: author,
            in_reply_to_id: parent,
            content: format!("<p>{visibility} {id}</p>"),
            visibility: visibility.into(),
            local: true,
            created_at: 1_700_000_000_000 + id,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

fn ids(page: &Value) -> Vec<String> {
    page["orderedItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

db_test!(
    replies_and_context_collections_are_ordered_paged_and_private,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        let bob = app.create_user("bob").await;
        insert(&app, 100, alice.id, None, "public").await;
        // 25 public replies (two pages), one private and one deleted one that are
        // never listed, and a reply to a reply that only the context lists.
        for n in 0..25 {
            insert(&app, 200 + n, bob.id, Some(100), "public").await;
        }
        insert(&app, 300, bob.id, Some(100), "private").await;
        insert(&app, 301, bob.id, Some(100), "unlisted").await;
        fulmar_store::with_pool!(app.db(), p => sqlx::query("UPDATE statuses SET deleted_at = 1 WHERE id = 301").execute(p).await.map(|_| ())).unwrap();
        insert(&app, 400, alice.id, Some(200), "unlisted").await;

        let note = app.get_activity("/users/alice/statuses/100").await;
        let base = "https://fulmar.test/users/alice/statuses/100";
        assert_eq!(note["replies"], format!("{base}/replies"));
        assert_eq!(note["context"], format!("{base}/context"));
        assert_eq!(note["conversation"], note["context"]);

        let replies = app.get_activity("/users/alice/statuses/100/replies").await;
        insta::assert_json_snapshot!("replies_collection", replies);
        let first = app
            .get_activity("/users/alice/statuses/100/replies?page=true")
            .await;
        let first_ids = ids(&first);
        assert_eq!(first_ids.len(), 20);
        assert_eq!(first_ids[0], "https://fulmar.test/users/bob/statuses/200");
        assert_eq!(
            first["next"],
            format!("{base}/replies?page=true&min_id=219")
        );
        let second = app
            .get_activity("/users/alice/statuses/100/replies?page=true&min_id=219")
            .await;
        insta::assert_json_snapshot!("replies_last_page", second);
        assert_eq!(second["next"], Value::Null);

        // The context, from any status of the thread: root first, oldest first.
        let context = app.get_activity("/users/bob/statuses/200/context").await;
        assert_eq!(context["totalItems"], 27);
        insta::assert_json_snapshot!("context_collection", context);
        let mut all = Vec::new();
        let mut next = Some("/users/bob/statuses/200/context?page=true".to_owned());
        let mut pages = 0;
        while let Some(url) = next {
            pages += 1;
            assert!(pages < 5, "runaway paging");
            let page = app.get_activity(&url).await;
            all.extend(ids(&page));
            next = page["next"]
                .as_str()
                .map(|n| n.strip_prefix("https://fulmar.test").unwrap().to_owned());
        }
        assert_eq!(all.len(), 27);
        assert_eq!(all[0], base);
        assert_eq!(all[26], "https://fulmar.test/users/alice/statuses/400");
        let text = all.join(" ");
        assert!(!text.contains("/300") && !text.contains("/301"), "{text}");

        // Private, deleted and unknown statuses have no collections; cursors are ids.
        for path in [
            "/users/bob/statuses/300/replies",
            "/users/bob/statuses/301/context",
            "/users/alice/statuses/200/replies",
            "/users/alice/statuses/nope/replies",
        ] {
            assert_eq!(app.get(path).await.status(), 404, "{path}");
        }
        let bad = app
            .get("/users/alice/statuses/100/replies?page=true&min_id=x")
            .await;
        assert_eq!(bad.status(), 400);
    }
);

/// A remote note of the peer, published a second after the one made before it.
fn note(peer: &Peer, path: &str, author: &PeerActor, parent: Option<&str>, extra: Value) -> Value {
    static CLOCK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let second = CLOCK.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let published = format!(
        "2026-01-01T{:02}:{:02}:{:02}Z",
        (second / 3600) % 24,
        (second / 60) % 60,
        second % 60
    );
    let mut doc = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}{path}", peer.base),
        "type": "Note",
        "attributedTo": author.id,
        "content": format!("<p>{path}</p>"),
        "published": published,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [],
        "inReplyTo": parent.map(|p| format!("{}{p}", peer.base)),
    });
    if let (Some(o), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    doc
}

/// Resolves a status URL through search, as a client does; returns its local id.
async fn resolve(app: &TestApp, token: &str, url: &str) -> String {
    let (status, body) = app
        .api_get(
            &format!("/api/v2/search?resolve=true&type=statuses&q={url}"),
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["statuses"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{url} not resolved: {body}"))
        .to_owned()
}

/// The context of a status: (header, ancestors' contents, descendants' contents).
async fn context(
    app: &TestApp,
    token: &str,
    id: &str,
) -> (Option<String>, Vec<String>, Vec<String>) {
    let res = app
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/statuses/{id}/context"),
            token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let header = res
        .headers()
        .get("mastodon-async-refresh")
        .map(|h| h.to_str().unwrap().to_owned());
    let body: Value = res.json().await.unwrap();
    let texts = |k: &str| -> Vec<String> {
        body[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["uri"].as_str().unwrap().to_owned())
            .collect()
    };
    (header, texts("ancestors"), texts("descendants"))
}

/// Polls the context until `done` holds for it, within [`WAIT`].
async fn context_until(
    app: &TestApp,
    token: &str,
    id: &str,
    done: impl Fn(&[String], &[String]) -> bool,
) -> (Vec<String>, Vec<String>) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, ancestors, descendants) = context(app, token, id).await;
        if done(&ancestors, &descendants) {
            return (ancestors, descendants);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the thread was not filled in: ancestors {ancestors:?}, descendants {descendants:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the thread fetch named by `root` has finished.
async fn fetch_finished(app: &TestApp, root_uri: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let root = fulmar_store::remote::status_by_uri(app.db(), root_uri)
            .await
            .unwrap();
        if let Some(root) = root {
            let state = fulmar_store::threads::fetch_state(app.db(), root.id)
                .await
                .unwrap();
            if state.is_some_and(|s| s.finished_at.is_some()) {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the thread fetch did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn thread_jobs(app: &TestApp) -> usize {
    fulmar_store::jobs::list(app.db(), "thread")
        .await
        .unwrap()
        .len()
}

/// Asserts that no thread job is left. A finished job's row is deleted by the
/// worker's next group completion, a moment after its results are visible, so this
/// waits for that (up to 10 s) rather than reading once.
async fn assert_thread_jobs_done(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut left = thread_jobs(app).await;
    while left > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        left = thread_jobs(app).await;
    }
    assert_eq!(left, 0, "thread jobs left after 10 s");
}

thread_test!(
    opening_a_reply_fills_in_its_thread_from_replies_collections,
    |backend: Backend| async move {
        let app = dev_server(backend).await;
        let (_, token) = app.user_with_token("alice", "read write").await;
        let peer = Peer::start().await;
        let op = peer.actor("op");
        let r1 = peer.actor("r1");
        let r2 = peer.actor("r2");
        let b = &peer.base;
        // root ← a ← a1, root ← b, root ← c (the author's own continuation).
        peer.publish(
            "/notes/root",
            note(
                &peer,
                "/notes/root",
                &op,
                None,
                json!({"replies": format!("{b}/notes/root/replies")}),
            ),
        );
        peer.publish(
            "/notes/root/replies",
            json!({"id": format!("{b}/notes/root/replies"), "type": "OrderedCollection",
                   "first": format!("{b}/notes/root/replies/p1")}),
        );
        let a = note(
            &peer,
            "/notes/a",
            &r1,
            Some("/notes/root"),
            json!({"replies": {"id": format!("{b}/notes/a/replies"), "type": "Collection",
                   "first": {"type": "CollectionPage", "items": [format!("{b}/notes/a1")]}}}),
        );
        peer.publish("/notes/a", a.clone());
        peer.publish(
            "/notes/root/replies/p1",
            json!({"type": "OrderedCollectionPage", "orderedItems": [a, format!("{b}/notes/b")],
                   "next": format!("{b}/notes/root/replies/p2")}),
        );
        peer.publish(
            "/notes/root/replies/p2",
            // Garbage next to good items, and a next page that is this page again.
            json!({"type": "OrderedCollectionPage",
                   "orderedItems": [format!("{b}/notes/c"), 42, {}, format!("{b}/notes/missing")],
                   "next": format!("{b}/notes/root/replies/p2")}),
        );
        peer.publish(
            "/notes/a1",
            note(&peer, "/notes/a1", &r2, Some("/notes/a"), json!({})),
        );
        peer.publish(
            "/notes/b",
            note(
                &peer,
                "/notes/b",
                &r2,
                Some("/notes/root"),
                json!({"replies": "garbage"}),
            ),
        );
        peer.publish(
            "/notes/c",
            note(
                &peer,
                "/notes/c",
                &op,
                Some("/notes/root"),
                json!({"replies": 7}),
            ),
        );

        let id = resolve(&app, &token, &format!("{b}/notes/a")).await;
        // The fetch the first answer sets off waits for these until the assertions
        // about the state before it are done: otherwise a fast worker finishes it
        // before the answer is read, and the thread's root changes under the test.
        peer.hold("/notes/root");
        peer.hold("/notes/a1");
        let (header, ancestors, descendants) = context(&app, &token, &id).await;
        let header = header.expect("the first answer names the refresh");
        assert!(header.starts_with("id=\""), "{header}");
        assert!(header.contains("retry="), "{header}");
        assert!(ancestors.is_empty() && descendants.is_empty());
        let refresh_id = header.split('"').nth(1).unwrap().to_owned();
        // Asking again while the fetch is queued or running queues nothing more.
        let queued = |app: &TestApp| {
            let db = app.db().clone();
            async move {
                fulmar_store::with_pool!(&db, p => sqlx::query_as::<_, (i64, i64)>(
                    "SELECT status_id, queued_at FROM thread_fetches").fetch_all(p).await)
                .unwrap()
            }
        };
        let before = queued(&app).await;
        assert_eq!(before.len(), 1);
        let _ = context(&app, &token, &id).await;
        assert!(thread_jobs(&app).await <= 1);
        peer.release("/notes/root");
        peer.release("/notes/a1");

        let u = |p: &str| format!("{b}{p}");
        let (ancestors, descendants) =
            context_until(&app, &token, &id, |a, d| !a.is_empty() && !d.is_empty()).await;
        assert_eq!(ancestors, [u("/notes/root")]);
        assert_eq!(descendants, [u("/notes/a1")]);
        let root_id = resolve(&app, &token, &u("/notes/root")).await;
        let (_, descendants) = context_until(&app, &token, &root_id, |_, d| d.len() == 4).await;
        // Depth first, the author's own reply promoted, as Mastodon orders them.
        assert_eq!(
            descendants,
            [u("/notes/c"), u("/notes/a"), u("/notes/a1"), u("/notes/b")]
        );

        // Finished: the refresh says so, and another look within the cooldown
        // neither queues a fetch nor sends the header.
        fetch_finished(&app, &u("/notes/a")).await;
        fetch_finished(&app, &u("/notes/root")).await;
        let before = queued(&app).await;
        let (status, body) = app
            .api_get(
                &format!("/api/v1_alpha/async_refreshes/{refresh_id}"),
                &token,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["async_refresh"]["status"], "finished");
        // At least the root and the first reply were fetched by this refresh; the rest
        // may have come with the root's own refresh, opened above, depending on which
        // job got to them first.
        assert!(body["async_refresh"]["result_count"].as_i64().unwrap() >= 2);
        let (header, _, _) = context(&app, &token, &id).await;
        assert_eq!(header, None);
        assert_thread_jobs_done(&app).await;
        assert_eq!(queued(&app).await, before, "the cooldown holds");
        let (status, _) = app
            .api_get("/api/v1_alpha/async_refreshes/nonsense", &token)
            .await;
        assert_eq!(status, 404);
        app.stop().await;
    }
);

thread_test!(
    a_fep_7888_context_collection_is_read_first,
    |backend: Backend| async move {
        let app = dev_server(backend).await;
        let (_, token) = app.user_with_token("alice", "read write").await;
        let peer = Peer::start().await;
        let op = peer.actor("op");
        let r1 = peer.actor("r1");
        let b = &peer.base;
        let ctx = json!({"context": format!("{b}/contexts/1")});
        peer.publish(
            "/notes/root",
            note(&peer, "/notes/root", &op, None, ctx.clone()),
        );
        peer.publish(
            "/notes/a",
            note(&peer, "/notes/a", &r1, Some("/notes/root"), ctx.clone()),
        );
        peer.publish(
            "/notes/a1",
            note(&peer, "/notes/a1", &op, Some("/notes/a"), ctx.clone()),
        );
        peer.publish(
            "/notes/b",
            note(&peer, "/notes/b", &r1, Some("/notes/root"), ctx.clone()),
        );
        peer.publish(
            "/contexts/1",
            json!({"id": format!("{b}/contexts/1"), "type": "OrderedCollection",
                   "first": {"type": "OrderedCollectionPage",
                             "orderedItems": [format!("{b}/notes/root"), format!("{b}/notes/a")],
                             "next": format!("{b}/contexts/1/p2")}}),
        );
        peer.publish(
            "/contexts/1/p2",
            json!({"type": "OrderedCollectionPage",
                   "orderedItems": [format!("{b}/notes/a1"), format!("{b}/notes/b")]}),
        );
        let id = resolve(&app, &token, &format!("{b}/notes/b")).await;
        let (header, _, _) = context(&app, &token, &id).await;
        assert!(header.is_some());
        let root_id = resolve(&app, &token, &format!("{b}/notes/root")).await;
        let (_, descendants) = context_until(&app, &token, &root_id, |_, d| d.len() == 3).await;
        assert_eq!(
            descendants,
            [
                format!("{b}/notes/a"),
                format!("{b}/notes/a1"),
                format!("{b}/notes/b")
            ]
        );
        app.stop().await;
    }
);

thread_test!(
    a_huge_replies_collection_stops_at_the_limits,
    |backend: Backend| async move {
        let port = free_port();
        let app = TestApp::spawn_with(backend, move |c| {
            c.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            c.domain = format!("127.0.0.1:{port}");
            c.dev_insecure = true;
            c.threads.max_objects = 12;
            c.threads.max_pages = 4;
        })
        .await
        .expect("server");
        let (_, token) = app.user_with_token("alice", "read write").await;
        let peer = Peer::start().await;
        let op = peer.actor("op");
        let b = &peer.base;
        peer.publish(
            "/notes/root",
            note(
                &peer,
                "/notes/root",
                &op,
                None,
                json!({"replies": format!("{b}/r/0")}),
            ),
        );
        // An endless collection: every page has five replies and a next page.
        for page in 0..40 {
            let items: Vec<String> = (0..5)
                .map(|i| format!("{b}/notes/{}", page * 5 + i))
                .collect();
            for i in 0..5 {
                let path = format!("/notes/{}", page * 5 + i);
                peer.publish(
                    &path,
                    note(&peer, &path, &op, Some("/notes/root"), json!({})),
                );
            }
            peer.publish(
                &format!("/r/{page}"),
                json!({"type": "OrderedCollectionPage", "orderedItems": items,
                       "next": format!("{b}/r/{}", page + 1)}),
            );
        }
        let id = resolve(&app, &token, &format!("{b}/notes/root")).await;
        let (header, _, _) = context(&app, &token, &id).await;
        assert!(header.is_some());
        fetch_finished(&app, &format!("{b}/notes/root")).await;
        let (_, _, descendants) = context(&app, &token, &id).await;
        // Four pages hold 20 replies; the object limit stops first, at 12 fetches.
        assert!(
            (1..=12).contains(&descendants.len()),
            "{} replies stored",
            descendants.len()
        );
        assert_thread_jobs_done(&app).await;
        app.stop().await;
    }
);

/// Posts a status through the API; returns the entity.
async fn post(app: &TestApp, token: &str, text: &str, parent: Option<&str>) -> Value {
    let body = match parent {
        Some(p) => json!({"status": text, "in_reply_to_id": p}),
        None => json!({"status": text}),
    };
    let (status, body) = app.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, 200, "{body}");
    body
}

thread_test!(
    two_fulmars_share_a_whole_thread,
    |backend: Backend| async move {
        let a = dev_server(backend).await;
        let b = dev_server(backend).await;
        let (_, alice) = a.user_with_token("alice", "read write").await;
        let (_, bob) = b.user_with_token("bob", "read write").await;
        let (_, carol) = b.user_with_token("carol", "read write").await;
        let (_, dave) = b.user_with_token("dave", "read write").await;
        let root = post(&b, &bob, "the root", None).await;
        let root_id = root["id"].as_str().unwrap();
        let reply = post(&b, &carol, "a reply", Some(root_id)).await;
        let deeper = post(
            &b,
            &dave,
            "a deeper reply",
            Some(reply["id"].as_str().unwrap()),
        )
        .await;
        let hidden =
            json!({"status": "followers only", "in_reply_to_id": root_id, "visibility": "private"});
        let (status, _) = b.api_post("/api/v1/statuses", &dave, hidden).await;
        assert_eq!(status, 200);

        let root_uri = root["uri"].as_str().unwrap();
        let id = resolve(&a, &alice, root_uri).await;
        let (_, descendants) = context_until(&a, &alice, &id, |_, d| d.len() == 2).await;
        assert_eq!(
            descendants,
            [
                reply["uri"].as_str().unwrap().to_owned(),
                deeper["uri"].as_str().unwrap().to_owned()
            ]
        );
        a.stop().await;
        b.stop().await;
    }
);

thread_test!(
    a_looping_in_reply_to_chain_ends,
    |backend: Backend| async move {
        let app = dev_server(backend).await;
        let (_, token) = app.user_with_token("alice", "read write").await;
        let peer = Peer::start().await;
        let op = peer.actor("op");
        let b = peer.base.clone();
        peer.publish(
            "/notes/x",
            note(&peer, "/notes/x", &op, Some("/notes/y"), json!({})),
        );
        peer.publish(
            "/notes/y",
            note(&peer, "/notes/y", &op, Some("/notes/x"), json!({})),
        );
        let id = resolve(&app, &token, &format!("{b}/notes/x")).await;
        let (header, _, _) = context(&app, &token, &id).await;
        assert!(header.is_some());
        fetch_finished(&app, &format!("{b}/notes/x")).await;
        let (_, ancestors, descendants) = context(&app, &token, &id).await;
        // y was stored as x's reply (x was known); x is not linked below y, so the
        // thread stays a tree.
        assert!(ancestors.is_empty(), "{ancestors:?}");
        assert_eq!(descendants, [format!("{b}/notes/y")]);
        app.stop().await;
    }
);

thread_test!(
    a_server_that_never_answers_stalls_only_its_own_thread,
    |backend: Backend| async move {
        // A host that accepts connections and never answers.
        let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hole_addr = hole.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = hole.accept().await {
                held.push(socket);
            }
        });
        let port = free_port();
        let app = TestApp::spawn_with(backend, move |c| {
            c.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            c.domain = format!("127.0.0.1:{port}");
            c.dev_insecure = true;
            c.threads.max_seconds = 2;
        })
        .await
        .expect("server");
        let (_, token) = app.user_with_token("alice", "read write").await;
        let peer = Peer::start().await;
        let op = peer.actor("op");
        let b = peer.base.clone();
        peer.publish(
            "/notes/root",
            note(
                &peer,
                "/notes/root",
                &op,
                None,
                json!({"replies": format!("http://{hole_addr}/replies")}),
            ),
        );
        peer.publish(
            "/notes/other",
            note(&peer, "/notes/other", &op, None, json!({})),
        );
        let id = resolve(&app, &token, &format!("{b}/notes/root")).await;
        let started = std::time::Instant::now();
        let (header, _, _) = context(&app, &token, &id).await;
        assert!(header.is_some());
        // Meanwhile the server goes on resolving other things.
        resolve(&app, &token, &format!("{b}/notes/other")).await;
        fetch_finished(&app, &format!("{b}/notes/root")).await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the time limit stopped the fetch"
        );
        assert_thread_jobs_done(&app).await;
        app.stop().await;
    }
);

/// Whether `server` has stored the status `uri` (delivered or fetched).
async fn has(server: &TestApp, uri: &str) -> bool {
    fulmar_store::remote::status_by_uri(server.db(), uri)
        .await
        .unwrap()
        .is_some()
}

/// The user of `token` on `server` follows `name` of `other` (unlocked: at once).
async fn follow(server: &TestApp, token: &str, other: &TestApp, name: &str) {
    let actor = other.url(&format!("/users/{name}"));
    let (status, body) = server
        .api_get(
            &format!("/api/v2/search?resolve=true&type=accounts&q={actor}"),
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["accounts"][0]["id"].as_str().expect("resolved");
    let path = format!("/api/v1/accounts/{id}/follow");
    let (status, body) = server.api_post(&path, token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let relationships = format!("/api/v1/accounts/relationships?id[]={id}");
    crate::helpers::eventually("the follow is accepted", || async {
        server.api_get(&relationships, token).await.1[0]["following"] == true
    })
    .await;
}

thread_test!(
    a_local_thread_spread_over_three_servers_is_filled_in,
    |backend: Backend| async move {
        // alice's thread on A. bob on B answers her; alice follows bob, so A gets it.
        // carol on C answers bob; bob follows carol, so B gets it, and A does not.
        // dave on C answers carol: only C has it.
        let a = dev_server(backend).await;
        let b = dev_server(backend).await;
        let c = dev_server(backend).await;
        let (_, alice) = a.user_with_token("alice", "read write follow").await;
        let (_, bob) = b.user_with_token("bob", "read write follow").await;
        let (_, carol) = c.user_with_token("carol", "read write").await;
        let (_, dave) = c.user_with_token("dave", "read write").await;
        follow(&a, &alice, &b, "bob").await;
        follow(&b, &bob, &c, "carol").await;
        let root = post(&a, &alice, "the root, on A", None).await;
        let root_uri = root["uri"].as_str().unwrap().to_owned();

        let on_b = resolve(&b, &bob, &root_uri).await;
        let reply = post(&b, &bob, "bob answers, on B", Some(&on_b)).await;
        let reply_uri = reply["uri"].as_str().unwrap().to_owned();
        crate::helpers::eventually("bob's reply delivered to A", || async {
            has(&a, &reply_uri).await
        })
        .await;

        let on_c = resolve(&c, &carol, &reply_uri).await;
        let deeper = post(&c, &carol, "carol answers bob, on C", Some(&on_c)).await;
        let deeper_uri = deeper["uri"].as_str().unwrap().to_owned();
        crate::helpers::eventually("carol's reply delivered to B", || async {
            has(&b, &deeper_uri).await
        })
        .await;
        let deepest = post(&c, &dave, "dave answers carol, on C", deeper["id"].as_str()).await;
        let deepest_uri = deepest["uri"].as_str().unwrap().to_owned();
        for server in [&b, &c] {
            crate::helpers::queue_drained(server.db(), "outbox").await;
            crate::helpers::queue_drained(server.db(), "deliver").await;
        }
        assert!(
            !has(&a, &deeper_uri).await,
            "A never received carol's reply"
        );
        assert!(!has(&a, &deepest_uri).await, "A never received dave's");
        assert!(!has(&b, &deepest_uri).await, "B never received dave's");

        // alice opens her own thread: A walks bob's reply's `replies` on B, finds
        // carol's on C, and carol's `replies` there.
        let root_id = root["id"].as_str().unwrap();
        let (_, _, descendants) = context(&a, &alice, root_id).await;
        assert_eq!(descendants, [reply_uri.as_str()]);
        // A fetch was queued for the local thread (it may have finished already, so
        // the async-refresh header is not asserted).
        let root_row: i64 = root_id.parse().unwrap();
        assert!(fulmar_store::threads::fetch_state(a.db(), root_row)
            .await
            .unwrap()
            .is_some());
        let (_, descendants) = context_until(&a, &alice, root_id, |_, d| d.len() == 3).await;
        assert_eq!(
            descendants,
            [
                reply_uri.as_str(),
                deeper_uri.as_str(),
                deepest_uri.as_str()
            ]
        );
        assert_thread_jobs_done(&a).await;
        // Nobody on A was told about what was fetched.
        let (status, notes) = a.api_get("/api/v1/notifications", &alice).await;
        assert_eq!(status, 200);
        assert!(
            !notes.as_array().unwrap().iter().any(|n| {
                let uri = n["status"]["uri"].as_str();
                uri == Some(deeper_uri.as_str()) || uri == Some(deepest_uri.as_str())
            }),
            "{notes}"
        );
        a.stop().await;
        b.stop().await;
        c.stop().await;
    }
);

thread_test!(
    a_thread_on_a_private_address_is_not_fetched_without_dev_mode,
    |backend: Backend| async move {
        // Not in development mode: loopback is a private address.
        let app = TestApp::spawn(backend).await.expect("server");
        assert!(!app.app.config.dev_insecure);
        let (_, token) = app.user_with_token("alice", "read write").await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((_socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let base = format!("https://127.0.0.1:{port}");
        let author = fulmar::core::ids::next_id();
        fulmar_store::accounts::insert_account(
            app.db(),
            &fulmar_store::accounts::NewAccount {
                id: author,
                username: "x".into(),
                domain: Some(format!("127.0.0.1:{port}")),
                uri: format!("{base}/users/x"),
                actor_type: "Person".into(),
                created_at: fulmar::core::time::now_ms(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // A remote reply whose parent, and its own replies, are on that address.
        let id = fulmar::core::ids::next_id();
        let uri = format!("{base}/notes/1");
        fulmar_store::statuses::insert(
            app.db(),
            &NewStatus {
                id,
                uri: uri.clone(),
                account_id: author,
                in_reply_to_uri: Some(format!("{base}/notes/0")),
                content: "<p>a reply</p>".into(),
                visibility: "public".into(),
                local: false,
                created_at: fulmar::core::time::now_ms(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let started = std::time::Instant::now();
        // The fetch fails at once, possibly before the answer is made: the
        // async-refresh header is not asserted.
        let (_, ancestors, descendants) = context(&app, &token, &id.to_string()).await;
        fetch_finished(&app, &uri).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
        let (_, after_a, after_d) = context(&app, &token, &id.to_string()).await;
        assert_eq!((after_a, after_d), (ancestors, descendants));
        assert_thread_jobs_done(&app).await;
        app.stop().await;
    }
);

thread_test!(
    a_replies_page_of_ten_megabytes_is_cut_off_and_others_go_on,
    |backend: Backend| async move {
        let app = dev_server(backend).await;
        let (_, token) = app.user_with_token("alice", "read write").await;
        let peer = Peer::start().await;
        let op = peer.actor("op");
        let b = peer.base.clone();
        peer.publish(
            "/notes/root",
            note(
                &peer,
                "/notes/root",
                &op,
                None,
                json!({"replies": format!("{b}/r/big")}),
            ),
        );
        // 1,000 embedded replies of 10 kB each: a page of about 10 MB.
        let big = "x".repeat(10_000);
        let items: Vec<Value> = (0..1000)
            .map(|n| {
                let path = format!("/notes/big{n}");
                let mut reply = note(&peer, &path, &op, Some("/notes/root"), json!({}));
                reply["content"] = json!(format!("<p>{big}</p>"));
                reply
            })
            .collect();
        peer.publish(
            "/r/big",
            json!({"type": "OrderedCollectionPage", "orderedItems": items}),
        );
        // A second thread, opened at the same time, is filled in.
        peer.publish(
            "/notes/other",
            note(
                &peer,
                "/notes/other",
                &op,
                None,
                json!({"replies": format!("{b}/r/other")}),
            ),
        );
        peer.publish(
            "/notes/answer",
            note(&peer, "/notes/answer", &op, Some("/notes/other"), json!({})),
        );
        peer.publish(
            "/r/other",
            json!({"type": "OrderedCollectionPage", "orderedItems": [format!("{b}/notes/answer")]}),
        );
        let started = std::time::Instant::now();
        let id = resolve(&app, &token, &format!("{b}/notes/root")).await;
        let other = resolve(&app, &token, &format!("{b}/notes/other")).await;
        context(&app, &token, &id).await;
        context(&app, &token, &other).await;
        fetch_finished(&app, &format!("{b}/notes/root")).await;
        let (_, descendants) = context_until(&app, &token, &other, |_, d| d.len() == 1).await;
        assert_eq!(descendants, [format!("{b}/notes/answer")]);
        assert!(started.elapsed() < Duration::from_secs(10));
        let (_, _, descendants) = context(&app, &token, &id).await;
        assert!(descendants.is_empty(), "{descendants:?}");
        assert_thread_jobs_done(&app).await;
        app.stop().await;
    }
);
