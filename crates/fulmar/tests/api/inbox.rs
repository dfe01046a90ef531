//! The inbox: signed deliveries from a peer on loopback are stored and acted on; bad
//! ones get a 4xx with a JSON reason, whatever is wrong with them.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{Backend, TestApp};
use crate::peer::{dev_server, free_port, signed_headers, Peer, PeerActor};

/// A `Flag` of alice by `actor`: an activity the inbox accepts and has no side
/// effects the tests would need to wait for.
fn flag(peer: &Peer, actor: &PeerActor, fulmar: &TestApp, n: u32) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{n}", peer.base),
        "type": "Flag",
        "actor": actor.id,
        "object": fulmar.app.urls.actor("alice"),
    })
}

/// Asserts a 4xx answer with a JSON `error` reason, and returns the reason.
fn refused(status: u16, body: &Value, expected: u16) -> String {
    assert_eq!(status, expected, "{body}");
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no JSON reason: {body}"))
        .to_owned()
}

fn activity_json() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/activity+json"),
    );
    headers
}

async fn smoke(backend: Backend) {
    let fulmar = dev_server(backend).await;
    fulmar.create_user("alice").await;
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let inbox = fulmar.url("/users/alice/inbox");
    let activity = flag(&peer, &bob, &fulmar, 1);
    let (status, body) = peer.post(&bob, &inbox, &activity).await;
    assert_eq!(status, 202, "{body}");
    // Unsigned: refused with a reason.
    let (status, body) = peer
        .post_raw(&inbox, activity_json(), activity.to_string().into_bytes())
        .await;
    assert!(refused(status, &body, 401).contains("Signature"), "{body}");
}

db_test!(
    a_signed_delivery_is_accepted_and_an_unsigned_one_refused,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        smoke(backend).await;
    }
);

async fn bad_deliveries(backend: Backend) {
    let fulmar = dev_server(backend).await;
    fulmar.create_user("alice").await;
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let mallory = peer.actor("mallory");
    let inbox = fulmar.url("/users/alice/inbox");
    let activity = flag(&peer, &bob, &fulmar, 1);
    let body = activity.to_string().into_bytes();

    // Bob's key id, Mallory's key: the signature does not verify (even after the
    // refetch a mismatch earns).
    let mut forged = bob.clone();
    forged.key = mallory.key.clone();
    let (status, res) = peer.post(&forged, &inbox, &activity).await;
    refused(status, &res, 401);

    // A Date from two hours ago (a replay), and one two hours ahead.
    for offset in [-7200i64, 7200] {
        let when = if offset < 0 {
            SystemTime::now() - Duration::from_secs(offset.unsigned_abs())
        } else {
            SystemTime::now() + Duration::from_secs(offset as u64)
        };
        let headers = signed_headers(&bob, &inbox, &body, when);
        let (status, res) = peer.post_raw(&inbox, headers, body.clone()).await;
        refused(status, &res, 401);
    }

    // Signed for one body, sent with another: the Digest does not match.
    let headers = signed_headers(&bob, &inbox, &body, SystemTime::now());
    let other = flag(&peer, &bob, &fulmar, 2).to_string().into_bytes();
    let (status, res) = peer.post_raw(&inbox, headers, other).await;
    assert!(status == 401 || status == 400, "{status} {res}");
    refused(status, &res, status);

    // Mallory signs an activity whose actor is Bob.
    let (status, res) = peer.post(&mallory, &inbox, &activity).await;
    assert!(
        refused(status, &res, 401).contains("not the activity's actor"),
        "{res}"
    );

    // Over 1 MB.
    let mut big = activity.clone();
    big["content"] = json!("x".repeat(1024 * 1024 + 10));
    let big = big.to_string().into_bytes();
    let headers = signed_headers(&bob, &inbox, &big, SystemTime::now());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .filter(|(k, _)| k != "host")
        .collect();
    let (status, res) = crate::helpers::post_announcing(&inbox, &headers, big.len()).await;
    refused(status, &res, 413);

    // Nesting far past serde_json's limit of 128 levels: a 400, not a stack overflow.
    let deep = "[".repeat(100_000).into_bytes();
    let (status, res) = peer.post_raw(&inbox, activity_json(), deep).await;
    assert!(refused(status, &res, 400).contains("JSON"), "{res}");

    // Another content type.
    let mut text = HeaderMap::new();
    text.insert("content-type", HeaderValue::from_static("text/plain"));
    let (status, res) = peer.post_raw(&inbox, text, body.clone()).await;
    refused(status, &res, 415);
    let (status, res) = peer.post_raw(&inbox, HeaderMap::new(), body.clone()).await;
    refused(status, &res, 415);

    // JSON that is no activity: not an object, no actor, no type, a bad actor.
    let mut no_actor = activity.clone();
    no_actor.as_object_mut().unwrap().remove("actor");
    let mut no_type = activity.clone();
    no_type.as_object_mut().unwrap().remove("type");
    let mut bad_actor = activity.clone();
    bad_actor["actor"] = json!("acct:bob@example.com");
    for doc in [json!([1, 2]), json!("Flag"), no_actor, no_type, bad_actor] {
        let b = doc.to_string().into_bytes();
        let headers = signed_headers(&bob, &inbox, &b, SystemTime::now());
        let (status, res) = peer.post_raw(&inbox, headers, b).await;
        refused(status, &res, 400);
    }
    let (status, res) = peer
        .post_raw(&inbox, activity_json(), b"{\"type\": ".to_vec())
        .await;
    refused(status, &res, 400);

    // A key whose document is no actor and names no owner.
    peer.publish(
        "/keys/odd",
        json!({"id": format!("{}/keys/odd", peer.base), "type": "Note"}),
    );
    let mut odd = bob.clone();
    odd.key_id = format!("{}/keys/odd", peer.base);
    let (status, res) = peer.post(&odd, &inbox, &activity).await;
    refused(status, &res, 401);

    // A key id that is not a URL.
    let mut acct = bob.clone();
    acct.key_id = "acct:bob@127.0.0.1".into();
    let (status, res) = peer.post(&acct, &inbox, &activity).await;
    refused(status, &res, 401);

    // After all that, the server still works and takes a good delivery.
    let (status, res) = peer.post(&bob, &inbox, &activity).await;
    assert_eq!(status, 202, "{res}");
}

db_test!(
    bad_deliveries_each_get_a_4xx_with_a_reason,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        bad_deliveries(backend).await;
    }
);

/// A key server that answers `/slow/...` after half a minute and `/garbage/...` with
/// bytes that are not JSON.
async fn bad_key_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        if uri.path().starts_with("/slow/") {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        (
            [("content-type", "application/activity+json")],
            "<html>\u{0}\u{1}not json at all",
        )
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

async fn slow_and_garbage_keys(backend: Backend) {
    let port = free_port();
    let fulmar = TestApp::spawn_with(backend, move |c| {
        c.listen = SocketAddr::from(([127, 0, 0, 1], port));
        c.domain = format!("127.0.0.1:{port}");
        c.dev_insecure = true;
        c.key_fetch_timeout = Duration::from_secs(1);
    })
    .await
    .expect("server");
    fulmar.create_user("alice").await;
    let peer = Peer::start().await;
    let template = peer.actor("bob");
    let keys = bad_key_server().await;
    let inbox = fulmar.url("/users/alice/inbox");
    for kind in ["slow", "garbage"] {
        let actor = PeerActor {
            id: format!("{keys}/{kind}/bob"),
            key_id: format!("{keys}/{kind}/bob#main-key"),
            ..template.clone()
        };
        let activity = json!({
            "id": format!("{keys}/{kind}/activities/1"),
            "type": "Flag",
            "actor": actor.id,
            "object": fulmar.app.urls.actor("alice"),
        });
        let started = Instant::now();
        let (status, res) = peer.post(&actor, &inbox, &activity).await;
        let reason = refused(status, &res, 401);
        assert!(reason.contains("key"), "{kind}: {reason}");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{kind}: the answer took {:?}",
            started.elapsed()
        );
    }
}

async fn key_fetch_slots(backend: Backend) {
    let port = free_port();
    let fulmar = TestApp::spawn_with(backend, move |c| {
        c.listen = SocketAddr::from(([127, 0, 0, 1], port));
        c.domain = format!("127.0.0.1:{port}");
        c.dev_insecure = true;
        c.key_fetch_timeout = Duration::from_secs(4);
    })
    .await
    .expect("server");
    fulmar.create_user("alice").await;
    let peer = Peer::start().await;
    let template = peer.actor("bob");
    let keys = bad_key_server().await;
    let inbox = fulmar.url("/users/alice/inbox");
    // Six deliveries at once, each naming another unknown key on one slow host: four
    // fetch (and give up after the timeout), the others find every slot busy.
    let mut tasks = Vec::new();
    for n in 0..6 {
        let actor = PeerActor {
            id: format!("{keys}/slow/user{n}"),
            key_id: format!("{keys}/slow/user{n}#main-key"),
            ..template.clone()
        };
        let activity = json!({
            "type": "Flag",
            "actor": actor.id,
            "object": fulmar.app.urls.actor("alice"),
        });
        let inbox = inbox.clone();
        tasks.push(tokio::spawn(async move {
            let body = activity.to_string().into_bytes();
            let headers = signed_headers(&actor, &inbox, &body, SystemTime::now());
            let res = reqwest::Client::new()
                .post(&inbox)
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let retry = res.headers().get("retry-after").cloned();
            (res.status().as_u16(), retry)
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let (status, retry) = t.await.unwrap();
        if status == 429 {
            assert_eq!(retry.unwrap(), "30");
        }
        statuses.push(status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![401, 401, 401, 401, 429, 429]);
}

db_test!(
    key_fetches_per_host_are_bounded,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        key_fetch_slots(backend).await;
    }
);

db_test!(
    a_slow_or_garbled_key_server_gets_401_in_bounded_time,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        slow_and_garbage_keys(backend).await;
    }
);

db_test!(
    without_dev_mode_a_key_on_a_private_address_is_not_fetched,
    |app: TestApp| async move {
        // `app` is an ordinary server: the outgoing client refuses loopback and
        // private addresses, so the key cannot be fetched; that is the sender's
        // problem (401), not a server error.
        app.create_user("alice").await;
        let peer = Peer::start().await;
        let bob = peer.actor("bob");
        let inbox = app.url("/users/alice/inbox");
        let activity = json!({
            "id": format!("{}/activities/1", peer.base),
            "type": "Flag",
            "actor": bob.id,
            "object": app.app.urls.actor("alice"),
        });
        let (status, res) = peer.post(&bob, &inbox, &activity).await;
        let reason = refused(status, &res, 401);
        assert!(reason.contains("could not get key"), "{reason}");
        assert!(peer.received().is_empty());
    }
);

async fn rotation(backend: Backend) {
    let fulmar = dev_server(backend).await;
    fulmar.create_user("alice").await;
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let inbox = fulmar.url("/users/alice/inbox");
    let (status, res) = peer
        .post(&bob, &inbox, &flag(&peer, &bob, &fulmar, 1))
        .await;
    assert_eq!(status, 202, "{res}");
    let cached = fulmar_store::keys::by_key_id(fulmar.db(), &bob.key_id)
        .await
        .unwrap()
        .expect("the key is cached");
    assert_eq!(cached.public_key_pem, bob.public_key_pem);

    // Bob's server rotates his key; Fulmar's copy is now stale, but the mismatch
    // makes it fetch the key once more, and the delivery goes through.
    let bob2 = peer.rotate_key("bob");
    assert_ne!(bob2.public_key_pem, bob.public_key_pem);
    let (status, res) = peer
        .post(&bob2, &inbox, &flag(&peer, &bob2, &fulmar, 2))
        .await;
    assert_eq!(status, 202, "{res}");
    let cached = fulmar_store::keys::by_key_id(fulmar.db(), &bob.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cached.public_key_pem, bob2.public_key_pem);
    // The old key no longer works.
    let (status, res) = peer
        .post(&bob, &inbox, &flag(&peer, &bob, &fulmar, 3))
        .await;
    refused(status, &res, 401);
}

db_test!(
    a_rotated_key_is_fetched_again_once,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        rotation(backend).await;
    }
);

async fn origin_limit(backend: Backend) {
    let port = free_port();
    let fulmar = TestApp::spawn_with(backend, move |c| {
        c.listen = SocketAddr::from(([127, 0, 0, 1], port));
        c.domain = format!("127.0.0.1:{port}");
        c.dev_insecure = true;
        c.inbox_rate_limit = 3;
    })
    .await
    .expect("server");
    fulmar.create_user("alice").await;
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let inbox = fulmar.url("/users/alice/inbox");
    for n in 0..3 {
        let (status, res) = peer
            .post(&bob, &inbox, &flag(&peer, &bob, &fulmar, n))
            .await;
        assert_eq!(status, 202, "{res}");
    }
    // The fourth from the same server in the window is refused, with a time to come
    // back; the shared inbox counts the same way.
    for url in [inbox.clone(), fulmar.url("/inbox")] {
        let body = flag(&peer, &bob, &fulmar, 9).to_string().into_bytes();
        let headers = signed_headers(&bob, &url, &body, SystemTime::now());
        let res = reqwest::Client::new()
            .post(&url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&retry), "{retry}");
        assert!(!crate::helpers::error_of(res).await.is_empty());
    }
    // Another server has an allowance of its own.
    let other = Peer::start().await;
    let carol = other.actor("carol");
    let (status, res) = other
        .post(&carol, &inbox, &flag(&other, &carol, &fulmar, 1))
        .await;
    assert_eq!(status, 202, "{res}");
}

db_test!(
    one_server_cannot_flood_the_inbox,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        origin_limit(backend).await;
    }
);
