//! The durable job queue (store level), the delivery worker and the outbox fan-out,
//! checked against a loopback "remote server" that verifies every signature.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::post;
use axum::Router;
use fulmar_federation::signatures::{IncomingRequest, Policy, PublicKey, SignedRequest};
use fulmar_store::accounts::NewAccount;
use fulmar_store::jobs::{self, NewJob};
use fulmar_store::Db;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{Backend, TestApp};

const TEN_YEARS: i64 = 10 * 365 * 24 * 60 * 60 * 1000;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A job far in the future, so that the server's own worker never claims it: store
/// tests pass their own `now` to `claim`.
fn job(queue: &str, run_at: i64, max_attempts: i32) -> NewJob {
    NewJob {
        id: fulmar::core::ids::next_id(),
        queue: queue.into(),
        payload: "{}".into(),
        run_at,
        concurrency_key: None,
        max_attempts,
        created_at: run_at,
    }
}

db_test!(
    claim_lease_complete_retry_and_give_up,
    |app: TestApp| async move {
        let db = app.db();
        let t = now() + TEN_YEARS;
        let (a, b, c) = (
            job("test", t, 5),
            job("test", t + 1, 5),
            job("test", t + 2, 5),
        );
        jobs::enqueue(db, &a).await.unwrap();
        jobs::enqueue_batch(db, &[b.clone(), c.clone()])
            .await
            .unwrap();

        // Nothing is due yet.
        assert!(jobs::claim(db, 10, t - 1, 1000).await.unwrap().is_empty());
        // Oldest first, leased.
        let claimed = jobs::claim(db, 2, t + 5, 1000).await.unwrap();
        assert_eq!(
            claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
            [a.id, b.id]
        );
        assert!(claimed.iter().all(|j| j.locked_until == Some(t + 1005)));
        // Leased jobs are not claimed twice.
        let claimed = jobs::claim(db, 10, t + 6, 1000).await.unwrap();
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [c.id]);
        assert!(jobs::claim(db, 10, t + 7, 1000).await.unwrap().is_empty());

        // Complete deletes.
        jobs::complete(db, a.id).await.unwrap();
        assert!(jobs::by_id(db, a.id).await.unwrap().is_none());

        // Fail reschedules with the error and one more attempt.
        assert!(!jobs::fail(db, b.id, t + 100, "boom", t + 8).await.unwrap());
        let row = jobs::by_id(db, b.id).await.unwrap().unwrap();
        assert_eq!(
            (row.attempts, row.run_at, row.locked_until),
            (1, t + 100, None)
        );
        assert_eq!(row.last_error.as_deref(), Some("boom"));
        assert!(jobs::claim(db, 10, t + 50, 1000).await.unwrap().is_empty());
        let claimed = jobs::claim(db, 10, t + 100, 1000).await.unwrap();
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [b.id]);

        // A worker that died: c's lease (t + 1006) passes and c is claimed again.
        let claimed = jobs::claim(db, 10, t + 1006, 1000).await.unwrap();
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [c.id]);
        assert_eq!(
            claimed[0].attempts, 0,
            "a lost lease is not a failed attempt"
        );

        // A permanent failure is buried at once: dead, kept, never claimed again.
        jobs::complete(db, c.id).await.unwrap();
        jobs::bury(db, b.id, "HTTP 410", t + 2500).await.unwrap();
        let row = jobs::by_id(db, b.id).await.unwrap().unwrap();
        assert_eq!(row.dead_at, Some(t + 2500));
        assert_eq!(row.last_error.as_deref(), Some("HTTP 410"));

        // Giving up after max attempts.
        let d = job("test", t + 3000, 2);
        jobs::enqueue(db, &d).await.unwrap();
        assert_eq!(jobs::claim(db, 5, t + 3000, 10).await.unwrap()[0].id, d.id);
        assert!(!jobs::fail(db, d.id, t + 3001, "first", t + 3000)
            .await
            .unwrap());
        let again = jobs::claim(db, 5, t + 3001, 10).await.unwrap();
        assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), [d.id]);
        assert!(jobs::fail(db, d.id, t + 3002, "second", t + 3001)
            .await
            .unwrap());
        let dead = jobs::by_id(db, d.id).await.unwrap().unwrap();
        assert_eq!((dead.attempts, dead.dead_at), (2, Some(t + 3001)));
        assert!(jobs::claim(db, 10, t + 9000, 10).await.unwrap().is_empty());
        assert_eq!(jobs::pending(db, "test").await.unwrap(), 0);
        assert_eq!(jobs::list(db, "test").await.unwrap().len(), 2);
        // Dead jobs are pruned, bounded by age and by number.
        assert_eq!(jobs::prune_dead(db, t + 3000, 1000).await.unwrap(), 1);
        assert_eq!(jobs::list(db, "test").await.unwrap().len(), 1);
        assert_eq!(jobs::prune_dead(db, 0, 0).await.unwrap(), 1);
        assert!(jobs::list(db, "test").await.unwrap().is_empty());
    }
);

db_test!(
    fan_out_inserts_and_batched_outcomes,
    |app: TestApp| async move {
        let db = app.db();
        let t = now() + TEN_YEARS;
        // A fan-out larger than one multi-row statement replaces its outbox job whole.
        let outbox = job("test", t, 5);
        jobs::enqueue(db, &outbox).await.unwrap();
        let deliveries: Vec<NewJob> = (0..1203)
            .map(|i| NewJob {
                concurrency_key: Some(format!("https://h{i}.example/inbox")),
                payload: format!("{{\"n\":{i}}}"),
                ..job("test-fan", t + 1, 7)
            })
            .collect();
        jobs::complete_with(db, outbox.id, &deliveries)
            .await
            .unwrap();
        assert!(jobs::by_id(db, outbox.id).await.unwrap().is_none());
        let stored = jobs::list(db, "test-fan").await.unwrap();
        assert_eq!(stored.len(), 1203);
        let first = stored.iter().find(|j| j.id == deliveries[0].id).unwrap();
        assert_eq!(
            (
                first.attempts,
                first.max_attempts,
                first.run_at,
                first.payload.as_str()
            ),
            (0, 7, t + 1, "{\"n\":0}")
        );
        assert_eq!(
            first.concurrency_key.as_deref(),
            Some("https://h0.example/inbox")
        );

        // A failing host that answers again is healthy; a new one is recorded; the
        // finished jobs leave the queue and only they do.
        let failing = format!("failing-{}.example", t);
        let fresh = format!("fresh-{}.example", t);
        jobs::host_failed(db, &failing, t, 1).await.unwrap();
        jobs::host_failed(db, &failing, t + 10, 1).await.unwrap();
        assert!(jobs::host_health(db, &failing)
            .await
            .unwrap()
            .unwrap()
            .unreachable_since
            .is_some());
        let done: Vec<i64> = deliveries[..700].iter().map(|j| j.id).collect();
        jobs::finish_deliveries(db, &done, &[failing.clone(), fresh.clone()], t + 20)
            .await
            .unwrap();
        assert_eq!(jobs::list(db, "test-fan").await.unwrap().len(), 503);
        assert!(jobs::by_id(db, deliveries[699].id).await.unwrap().is_none());
        assert!(jobs::by_id(db, deliveries[700].id).await.unwrap().is_some());
        for host in [&failing, &fresh] {
            let h = jobs::host_health(db, host).await.unwrap().unwrap();
            assert_eq!(
                (
                    h.last_success_at,
                    h.failure_count,
                    h.unreachable_since,
                    h.failing_since
                ),
                (Some(t + 20), 0, None, None),
                "{host}"
            );
        }
        // Nothing to record is no transaction at all.
        jobs::finish_deliveries(db, &[], &[], t + 30).await.unwrap();
    }
);

db_test!(
    concurrent_claimers_never_share_a_job,
    |app: TestApp| async move {
        let db = app.db().clone();
        let t = now() + TEN_YEARS;
        let batch: Vec<NewJob> = (0..300).map(|i| job("race", t + i, 5)).collect();
        jobs::enqueue_batch(&db, &batch).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = jobs::claim(&db, 7, t + 1000, 60_000).await.unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|j| j.id));
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 300, "each job claimed exactly once");
        assert_eq!(distinct.len(), 300);
    }
);

// ---- the loopback sink ----

#[derive(Clone, Debug)]
struct Received {
    path: String,
    activity: Value,
}

struct Sink {
    /// Where Fulmar serves its actors, to fetch keys from.
    fulmar: Mutex<String>,
    received: Mutex<Vec<Received>>,
    rejected: AtomicUsize,
    keys: Mutex<HashMap<String, Arc<PublicKey>>>,
    /// Status answered per path prefix; 202 otherwise.
    answers: Mutex<Vec<(String, u16)>>,
    delay: Duration,
    client: reqwest::Client,
    address: Mutex<String>,
}

impl Sink {
    async fn start(delay: Duration) -> Arc<Sink> {
        let sink = Arc::new(Sink {
            fulmar: Mutex::new(String::new()),
            received: Mutex::new(Vec::new()),
            rejected: AtomicUsize::new(0),
            keys: Mutex::new(HashMap::new()),
            answers: Mutex::new(Vec::new()),
            delay,
            client: reqwest::Client::new(),
            address: Mutex::new(String::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *sink.address.lock().unwrap() = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new()
            .route("/{*path}", post(inbox))
            .with_state(sink.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        sink
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address.lock().unwrap())
    }

    fn set_fulmar(&self, base: &str) {
        *self.fulmar.lock().unwrap() = base.to_owned();
    }

    fn answer(&self, prefix: &str, status: u16) {
        let mut answers = self.answers.lock().unwrap();
        answers.retain(|(p, _)| p != prefix);
        answers.push((prefix.to_owned(), status));
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.received.lock().unwrap().clear();
    }

    fn count(&self, path: &str) -> usize {
        self.received().iter().filter(|r| r.path == path).count()
    }

    async fn key(&self, key_id: &str) -> Option<Arc<PublicKey>> {
        if let Some(k) = self.keys.lock().unwrap().get(key_id) {
            return Some(k.clone());
        }
        let path = url::Url::parse(key_id).ok()?.path().to_owned();
        let base = self.fulmar.lock().unwrap().clone();
        let doc: Value = self
            .client
            .get(format!("{base}{path}"))
            .header("Accept", "application/activity+json")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        assert_eq!(
            doc["publicKey"]["id"], key_id,
            "the key id names the actor's key"
        );
        let key = Arc::new(PublicKey::from_pem(doc["publicKey"]["publicKeyPem"].as_str()?).ok()?);
        self.keys
            .lock()
            .unwrap()
            .insert(key_id.to_owned(), key.clone());
        Some(key)
    }
}

/// Every POST: verify the signature (key fetched from Fulmar over loopback), record,
/// answer as configured.
async fn inbox(
    State(sink): State<Arc<Sink>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    tokio::time::sleep(sink.delay).await;
    let req = IncomingRequest::new(&method, &uri, &headers, &body).with_scheme("http");
    let verified = match SignedRequest::from_request(&req, &Policy::default(), SystemTime::now()) {
        Ok(signed) => match sink.key(signed.key_id()).await {
            Some(key) => signed.verify(&key).is_ok(),
            None => false,
        },
        Err(_) => false,
    };
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !verified || activity.is_null() {
        sink.rejected.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    let path = uri.path().to_owned();
    sink.received.lock().unwrap().push(Received {
        path: path.clone(),
        activity,
    });
    let status = sink
        .answers
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _)| path.starts_with(p.as_str()))
        .map_or(202, |(_, s)| *s);
    StatusCode::from_u16(status).unwrap()
}

/// Waits (bounded) until `done` holds.
async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A remote account whose inboxes live on the sink.
async fn remote(db: &Db, sink: &Sink, username: &str, host: &str, shared: bool) -> i64 {
    let id = fulmar::core::ids::next_id();
    fulmar_store::accounts::insert_account(
        db,
        &NewAccount {
            id,
            username: username.into(),
            domain: Some(format!("{host}.test")),
            uri: format!("https://{host}.test/users/{username}"),
            url: Some(format!("https://{host}.test/@{username}")),
            actor_type: "Person".into(),
            inbox_url: Some(sink.url(&format!("/{host}/users/{username}/inbox"))),
            shared_inbox_url: shared.then(|| sink.url(&format!("/{host}/inbox"))),
            created_at: now(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    id
}

async fn follows(db: &Db, follower: i64, target: i64) {
    fulmar_store::follows::insert(
        db,
        &fulmar_store::follows::NewFollow {
            id: fulmar::core::ids::next_id(),
            account_id: follower,
            target_account_id: target,
            uri: None,
            created_at: now(),
        },
    )
    .await
    .unwrap();
}

/// 200 remote followers of `target`: 20 hosts with a shared inbox (9 followers each)
/// and 20 single-follower hosts without one. Returns the 40 distinct inbox paths.
async fn two_hundred_followers(db: &Db, sink: &Sink, target: i64) -> HashSet<String> {
    let mut inboxes = HashSet::new();
    for h in 0..20 {
        for u in 0..9 {
            let id = remote(db, sink, &format!("u{u}"), &format!("h{h}"), true).await;
            follows(db, id, target).await;
        }
        inboxes.insert(format!("/h{h}/inbox"));
    }
    for s in 0..20 {
        let id = remote(db, sink, "solo", &format!("s{s}"), false).await;
        follows(db, id, target).await;
        inboxes.insert(format!("/s{s}/users/solo/inbox"));
    }
    inboxes
}

async fn spawn_dev(backend: Backend) -> Option<TestApp> {
    std::env::set_var("FULMAR_QUEUE_IDLE_MS", "100");
    TestApp::spawn_with(backend, |c| c.dev_insecure = true).await
}

/// Exactly one signed delivery per distinct inbox, all of them `kind`.
async fn assert_fan_out(sink: &Sink, expected: &HashSet<String>, kind: &str) -> Vec<Received> {
    wait_until("every inbox", Duration::from_secs(30), || {
        let got: HashSet<String> = sink.received().into_iter().map(|r| r.path).collect();
        expected.is_subset(&got)
    })
    .await;
    // Give duplicates, if any, a moment to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = sink.received();
    let paths: Vec<&String> = received.iter().map(|r| &r.path).collect();
    let distinct: HashSet<&String> = paths.iter().copied().collect();
    assert_eq!(
        paths.len(),
        expected.len(),
        "one delivery per inbox: {paths:?}"
    );
    assert_eq!(distinct.len(), expected.len());
    assert!(received.iter().all(|r| r.activity["type"] == kind));
    assert_eq!(
        sink.rejected.load(Ordering::SeqCst),
        0,
        "every request verified"
    );
    received
}

db_test!(
    post_fans_out_once_per_inbox_signed,
    |_app: TestApp| async move {
        let backend = _app.backend;
        drop(_app);
        let Some(app) = spawn_dev(backend).await else {
            return;
        };
        let sink = Sink::start(Duration::ZERO).await;
        sink.set_fulmar(&app.address);
        let (alice, token) = app.user_with_token("alice", "read write").await;
        let db = app.db();
        let expected = two_hundred_followers(db, &sink, alice.id).await;
        let dave = remote(db, &sink, "dave", "elsewhere", true).await;
        let _ = dave;

        // Public: every follower's server once, shared inboxes deduplicated.
        let (status, posted) = app
            .api_post(
                "/api/v1/statuses",
                &token,
                json!({"status": "Hello, fediverse"}),
            )
            .await;
        assert_eq!(status, 200, "{posted}");
        let received = assert_fan_out(&sink, &expected, "Create").await;
        let uri = posted["uri"].as_str().unwrap();
        for r in &received {
            let a = &r.activity;
            assert_eq!(a["id"], format!("{uri}/activity"));
            assert_eq!(a["object"]["id"], uri);
            assert_eq!(a["object"]["type"], "Note");
            assert_eq!(
                a["to"],
                json!(["https://www.w3.org/ns/activitystreams#Public"])
            );
            assert_eq!(a["actor"], app.app.urls.actor("alice"));
        }
        // The Note is served where its id says, and the queue is empty again.
        let path = url::Url::parse(uri).unwrap().path().to_owned();
        let note = app.get_activity(&path).await;
        assert_eq!(note["id"], uri);
        wait_until("an empty queue", Duration::from_secs(10), || true).await;

        // Followers-only: the same servers, addressed to the followers only.
        sink.clear();
        let (status, _) = app
            .api_post(
                "/api/v1/statuses",
                &token,
                json!({"status": "Just for you", "visibility": "private"}),
            )
            .await;
        assert_eq!(status, 200);
        let received = assert_fan_out(&sink, &expected, "Create").await;
        for r in &received {
            assert_eq!(r.activity["to"], json!([app.app.urls.followers("alice")]));
            assert!(!r.activity.to_string().contains("#Public"));
        }

        // Direct: only the mentioned account's own inbox.
        sink.clear();
        let (status, direct) = app
            .api_post(
                "/api/v1/statuses",
                &token,
                json!({"status": "@dave@elsewhere.test psst", "visibility": "direct"}),
            )
            .await;
        assert_eq!(status, 200, "{direct}");
        let only: HashSet<String> = ["/elsewhere/users/dave/inbox".to_owned()].into();
        let received = assert_fan_out(&sink, &only, "Create").await;
        assert_eq!(
            received[0].activity["object"]["to"],
            json!(["https://elsewhere.test/users/dave"])
        );
        let direct_path = url::Url::parse(direct["uri"].as_str().unwrap())
            .unwrap()
            .path()
            .to_owned();
        let res = app
            .get_with_accept(&direct_path, "application/activity+json")
            .await;
        assert_eq!(
            res.status(),
            404,
            "direct statuses are not served to anyone"
        );

        // Delete: a Tombstone to the same audience, and the Note answers 410.
        sink.clear();
        let id = posted["id"].as_str().unwrap();
        let res = app
            .api(
                reqwest::Method::DELETE,
                &format!("/api/v1/statuses/{id}"),
                &token,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let received = assert_fan_out(&sink, &expected, "Delete").await;
        assert_eq!(received[0].activity["object"]["type"], "Tombstone");
        assert_eq!(received[0].activity["object"]["id"], uri);
        let res = app
            .get_with_accept(&path, "application/activity+json")
            .await;
        assert_eq!(res.status(), 410);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["type"], "Tombstone");

        let left = jobs::pending(db, "deliver").await.unwrap()
            + jobs::pending(db, "outbox").await.unwrap();
        assert_eq!(left, 0, "the queue drains");
    }
);

db_test!(
    favourite_follow_and_block_go_to_the_remote_account,
    |_app: TestApp| async move {
        let backend = _app.backend;
        drop(_app);
        let Some(app) = spawn_dev(backend).await else {
            return;
        };
        let sink = Sink::start(Duration::ZERO).await;
        sink.set_fulmar(&app.address);
        let (alice, token) = app.user_with_token("alice", "read write follow").await;
        let db = app.db();
        let bob = remote(db, &sink, "bob", "remote", true).await;
        let bob_inbox = "/remote/users/bob/inbox";

        let (status, _) = app
            .api_post(&format!("/api/v1/accounts/{bob}/follow"), &token, json!({}))
            .await;
        assert_eq!(status, 200);
        wait_until("Follow", Duration::from_secs(20), || {
            sink.count(bob_inbox) == 1
        })
        .await;
        let follow = sink.received()[0].activity.clone();
        assert_eq!(follow["type"], "Follow");
        assert_eq!(follow["object"], "https://remote.test/users/bob");

        let (status, _) = app
            .api_post(
                &format!("/api/v1/accounts/{bob}/unfollow"),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        wait_until("Undo", Duration::from_secs(20), || {
            sink.count(bob_inbox) == 2
        })
        .await;
        let undo = sink.received()[1].activity.clone();
        assert_eq!(undo["type"], "Undo");
        assert_eq!(
            undo["object"]["id"], follow["id"],
            "the whole Follow is embedded"
        );
        assert_eq!(undo["object"]["type"], "Follow");

        let (status, _) = app
            .api_post(&format!("/api/v1/accounts/{bob}/block"), &token, json!({}))
            .await;
        assert_eq!(status, 200);
        wait_until("Block", Duration::from_secs(20), || {
            sink.count(bob_inbox) == 3
        })
        .await;
        assert_eq!(sink.received()[2].activity["type"], "Block");
        let (status, _) = app
            .api_post(
                &format!("/api/v1/accounts/{bob}/unblock"),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        wait_until("Undo Block", Duration::from_secs(20), || {
            sink.count(bob_inbox) == 4
        })
        .await;
        let undo = sink.received()[3].activity.clone();
        assert_eq!(
            (undo["type"].as_str(), undo["object"]["type"].as_str()),
            (Some("Undo"), Some("Block"))
        );

        // A remote status: Like and Undo{Like} go to its author (shared inbox), the
        // Announce to the author and to alice's followers.
        sink.clear();
        let note_id = fulmar::core::ids::next_id();
        fulmar_store::statuses::insert(
            db,
            &fulmar_store::statuses::NewStatus {
                id: note_id,
                uri: "https://remote.test/notes/1".into(),
                account_id: bob,
                content: "<p>Hi</p>".into(),
                visibility: "public".into(),
                created_at: now(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let carol = remote(db, &sink, "carol", "third", true).await;
        follows(db, carol, alice.id).await;
        let (status, _) = app
            .api_post(
                &format!("/api/v1/statuses/{note_id}/favourite"),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        wait_until("Like", Duration::from_secs(20), || {
            sink.count("/remote/inbox") == 1
        })
        .await;
        let like = sink.received()[0].activity.clone();
        assert_eq!(like["type"], "Like");
        assert_eq!(like["object"], "https://remote.test/notes/1");
        let (status, _) = app
            .api_post(
                &format!("/api/v1/statuses/{note_id}/unfavourite"),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        wait_until("Undo Like", Duration::from_secs(20), || {
            sink.count("/remote/inbox") == 2
        })
        .await;
        let undo = sink.received()[1].activity.clone();
        let mut bare = like.clone();
        bare.as_object_mut().unwrap().remove("@context");
        assert_eq!(undo["type"], "Undo");
        assert_eq!(undo["object"], bare, "the whole Like is embedded");

        sink.clear();
        let (status, _) = app
            .api_post(
                &format!("/api/v1/statuses/{note_id}/reblog"),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        let both: HashSet<String> = ["/remote/inbox".to_owned(), "/third/inbox".to_owned()].into();
        let received = assert_fan_out(&sink, &both, "Announce").await;
        assert_eq!(
            received[0].activity["object"],
            "https://remote.test/notes/1"
        );

        // A remote follow request, authorized: Accept embedding the Follow by its id.
        sink.clear();
        let dora = remote(db, &sink, "dora", "fourth", true).await;
        fulmar_store::relationships::request(
            db,
            &fulmar_store::relationships::NewFollowRow {
                id: fulmar::core::ids::next_id(),
                account_id: dora,
                target_account_id: alice.id,
                uri: Some("https://fourth.test/follows/77".into()),
                show_reblogs: true,
                notify: false,
                languages: None,
                created_at: now(),
            },
        )
        .await
        .unwrap();
        let (status, body) = app
            .api_post(
                &format!("/api/v1/follow_requests/{dora}/authorize"),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let only: HashSet<String> = ["/fourth/users/dora/inbox".to_owned()].into();
        let received = assert_fan_out(&sink, &only, "Accept").await;
        let accept = &received[0].activity;
        assert_eq!(accept["object"]["id"], "https://fourth.test/follows/77");
        assert_eq!(accept["object"]["actor"], "https://fourth.test/users/dora");
        assert_eq!(accept["object"]["object"], app.app.urls.actor("alice"));
        assert_eq!(sink.rejected.load(Ordering::SeqCst), 0);
    }
);

db_test!(
    server_errors_are_retried_and_gone_is_given_up,
    |_app: TestApp| async move {
        let backend = _app.backend;
        drop(_app);
        std::env::set_var("FULMAR_QUEUE_BACKOFF_MS", "100");
        // Retries stay well inside the probe interval, so that once the host is marked
        // unreachable the next retry is given up rather than taken as the hourly probe
        // (with uncapped doubling, a retry could land after the interval and probe).
        std::env::set_var("FULMAR_QUEUE_BACKOFF_CAP_MS", "400");
        std::env::set_var("FULMAR_QUEUE_UNREACHABLE_AFTER_MS", "1500");
        std::env::set_var("FULMAR_QUEUE_PROBE_MS", "2000");
        let Some(app) = spawn_dev(backend).await else {
            return;
        };
        // Two servers (host health is per host:port): one failing, one gone.
        let sink = Sink::start(Duration::ZERO).await;
        sink.set_fulmar(&app.address);
        sink.answer("/flaky/", 500);
        let gone_sink = Sink::start(Duration::ZERO).await;
        gone_sink.set_fulmar(&app.address);
        gone_sink.answer("/gone/", 410);
        let (alice, token) = app.user_with_token("alice", "read write").await;
        let db = app.db();
        let flaky = remote(db, &sink, "f", "flaky", false).await;
        let gone = remote(db, &gone_sink, "g", "gone", false).await;
        follows(db, flaky, alice.id).await;
        follows(db, gone, alice.id).await;

        let (status, _) = app
            .api_post(
                "/api/v1/statuses",
                &token,
                json!({"status": "Anyone there?"}),
            )
            .await;
        assert_eq!(status, 200);
        wait_until("retries", Duration::from_secs(20), || {
            sink.count("/flaky/users/f/inbox") >= 3
        })
        .await;
        // 410 is permanent: one request, the job kept dead with the reason.
        assert_eq!(gone_sink.count("/gone/users/g/inbox"), 1);
        let deliveries = jobs::list(db, "deliver").await.unwrap();
        let gone_job = deliveries
            .iter()
            .find(|j| j.payload.contains("/gone/"))
            .expect("the given-up delivery is kept");
        assert!(gone_job.dead_at.is_some());
        assert!(gone_job.last_error.as_deref().unwrap().contains("410"));
        let host = sink.address.lock().unwrap().replace("http://", "");
        let health = jobs::host_health(db, &host).await.unwrap().unwrap();
        assert!(health.failure_count >= 2, "{health:?}");

        // After failing continuously for a while the host is unreachable and the delivery
        // is given up without more requests.
        let host = sink.address.lock().unwrap().replace("http://", "");
        let start = Instant::now();
        loop {
            let h = jobs::host_health(db, &host).await.unwrap().unwrap();
            let job = jobs::list(db, "deliver")
                .await
                .unwrap()
                .into_iter()
                .find(|j| j.payload.contains("/flaky/"))
                .unwrap();
            if h.unreachable_since.is_some() && job.dead_at.is_some() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "never marked unreachable"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let requests = sink.count("/flaky/users/f/inbox");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            sink.count("/flaky/users/f/inbox"),
            requests,
            "no more requests"
        );

        // It answers again: a probe after the interval succeeds and clears the mark.
        sink.answer("/flaky/", 202);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (status, _) = app
            .api_post("/api/v1/statuses", &token, json!({"status": "Back?"}))
            .await;
        assert_eq!(status, 200);
        wait_until("the probe", Duration::from_secs(20), || {
            sink.count("/flaky/users/f/inbox") > requests
        })
        .await;
        wait_until("health cleared", Duration::from_secs(10), || true).await;
        let start = Instant::now();
        loop {
            let h = jobs::host_health(db, &host).await.unwrap().unwrap();
            if h.unreachable_since.is_none() && h.failure_count == 0 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "still unreachable: {h:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
);

// ---- the kill test: the real binary, SIGKILLed mid-fan-out ----

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fulmar_cmd(env: &[(&str, String)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fulmar"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("RUST_LOG", "warn");
    cmd.stdin(std::process::Stdio::null());
    cmd.stdout(std::process::Stdio::null());
    cmd.stderr(std::process::Stdio::null());
    cmd
}

async fn start_serve(env: &[(&str, String)], base: &str) -> Child {
    let child = Child(fulmar_cmd(env).arg("serve").spawn().expect("fulmar serve"));
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(res) = client.get(format!("{base}/health")).send().await {
            if res.status() == 200 {
                return child;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "fulmar serve never got ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_fan_out_every_inbox_still_gets_the_activity() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let database_url = format!("sqlite://{}", tmp.path().join("fulmar.db").display());
    let env = vec![
        ("FULMAR_DOMAIN", format!("127.0.0.1:{port}")),
        ("FULMAR_LISTEN", format!("127.0.0.1:{port}")),
        ("FULMAR_DATABASE_URL", database_url.clone()),
        (
            "FULMAR_DATA_DIR",
            tmp.path().join("data").display().to_string(),
        ),
        ("FULMAR_DEV_INSECURE", "1".into()),
        ("FULMAR_QUEUE_LEASE_MS", "1500".into()),
        ("FULMAR_QUEUE_IDLE_MS", "100".into()),
        ("FULMAR_QUEUE_BACKOFF_MS", "200".into()),
    ];
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ok(fulmar_cmd(&env)
        .args([
            "admin",
            "create-user",
            "alice",
            "--email",
            "alice@example.org",
        ])
        .args(["--password", "correct horse battery staple"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap());
    let token = ok(fulmar_cmd(&env)
        .args(["admin", "token", "alice", "--scopes", "read write"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap());
    let token = token.trim().lines().last().unwrap().trim().to_owned();

    // 60 remote followers, each on its own server without a shared inbox, behind a slow
    // sink: the fan-out takes seconds, long enough to kill the server in the middle.
    let sink = Sink::start(Duration::from_millis(250)).await;
    sink.set_fulmar(&base);
    let mut expected = HashSet::new();
    {
        let db = Db::connect(&database_url).await.unwrap();
        db.migrate().await.unwrap();
        let alice = fulmar_store::accounts::local_by_username(&db, "alice")
            .await
            .unwrap()
            .unwrap();
        for i in 0..60 {
            let id = remote(&db, &sink, "f", &format!("k{i}"), false).await;
            follows(&db, id, alice.id).await;
            expected.insert(format!("/k{i}/users/f/inbox"));
        }
        db.close().await;
    }

    let mut server = start_serve(&env, &base).await;
    // The sink needs the key once; fetch it while the server is up.
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/api/v1/statuses"))
        .bearer_auth(&token)
        .json(&json!({"status": "Survive this"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    wait_until("the first deliveries", Duration::from_secs(30), || {
        sink.received().len() >= 5
    })
    .await;
    server.0.kill().unwrap(); // SIGKILL: no draining, leases left behind
    server.0.wait().unwrap();
    let before = sink.received().len();
    assert!(
        before < 60,
        "the kill came before the fan-out finished ({before})"
    );

    let _server = start_serve(&env, &base).await;
    wait_until(
        "every inbox after the restart",
        Duration::from_secs(60),
        || {
            let got: HashSet<String> = sink.received().into_iter().map(|r| r.path).collect();
            expected.is_subset(&got)
        },
    )
    .await;
    assert_eq!(
        sink.rejected.load(Ordering::SeqCst),
        0,
        "every request verified"
    );
    assert!(sink
        .received()
        .iter()
        .all(|r| r.activity["type"] == "Create"
            && r.activity["object"]["content"]
                .as_str()
                .unwrap_or_default()
                .contains("Survive this")));
}

db_test!(
    enqueue_batch_stores_all_or_nothing_across_statements,
    |app: TestApp| async move {
        let db = app.db();
        let t = now() + TEN_YEARS;
        // More than one multi-row statement's worth (500 rows each).
        let batch: Vec<NewJob> = (0..1_234).map(|i| job("bulk", t + i, 5)).collect();
        jobs::enqueue_batch(db, &batch).await.unwrap();
        let stored = jobs::list(db, "bulk").await.unwrap();
        assert_eq!(
            stored.iter().map(|j| j.id).collect::<Vec<_>>(),
            batch.iter().map(|j| j.id).collect::<Vec<_>>()
        );
        assert!(stored
            .iter()
            .all(|j| j.attempts == 0 && j.max_attempts == 5 && j.locked_until.is_none()));

        // One row that cannot go in (an id taken, in the last statement) takes the
        // whole batch back with it.
        let mut failing: Vec<NewJob> = (0..700).map(|i| job("bulk2", t + i, 5)).collect();
        failing.push(NewJob {
            queue: "bulk2".into(),
            ..batch[0].clone()
        });
        assert!(jobs::enqueue_batch(db, &failing).await.is_err());
        assert!(jobs::list(db, "bulk2").await.unwrap().is_empty());
    }
);

db_test!(
    inbox_group_commit_stores_every_job_of_a_burst_once,
    |app: TestApp| async move {
        let db = app.db().clone();
        let t = now() + TEN_YEARS;
        // A job already stored, whose id one of the burst reuses: that one must fail
        // alone, and its batch's other jobs be stored all the same, once each.
        let taken = job("burst", t, 5);
        jobs::enqueue(&db, &taken).await.unwrap();
        let burst: Vec<NewJob> = (1..=400).map(|i| job("burst", t + i, 5)).collect();
        let mut tasks = Vec::new();
        for (i, j) in burst.iter().cloned().enumerate() {
            let server = app.app.clone();
            tasks.push(tokio::spawn(async move {
                server
                    .inbox_commits
                    .store(j)
                    .await
                    .map_err(|e| e.to_string())
            }));
            if i == 200 {
                let app = app.app.clone();
                let dup = NewJob {
                    payload: "{\"dup\":true}".into(),
                    ..taken.clone()
                };
                tasks.push(tokio::spawn(async move {
                    app.inbox_commits
                        .store(dup)
                        .await
                        .map_err(|e| e.to_string())
                }));
            }
        }
        let mut failed = 0;
        for task in tasks {
            if task.await.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 1, "only the job with a taken id fails");
        let stored = jobs::list(&db, "burst").await.unwrap();
        let mut expected: Vec<i64> = burst.iter().map(|j| j.id).collect();
        expected.push(taken.id);
        expected.sort_unstable();
        assert_eq!(
            stored.iter().map(|j| j.id).collect::<Vec<_>>(),
            expected,
            "every answered job stored, none twice"
        );
        // The first row under the taken id is untouched.
        let first = stored.iter().find(|j| j.id == taken.id).unwrap();
        assert_eq!(first.payload, "{}");
    }
);
