#![allow(dead_code)] // Shared by the federation test files; not each uses every helper.
//! A small remote server for inbox tests, on a loopback port: actors with real RSA
//! keys (WebFinger, actor documents, `#main-key`), whatever objects a test publishes
//! at whatever paths, an inbox that records what Fulmar delivers, and a way to sign
//! and POST activities to Fulmar exactly as Mastodon does (draft-cavage, rsa-sha256,
//! `(request-target) host date digest content-type`).
//!
//! Every URL is `http://127.0.0.1:PORT/...`, so the Fulmar under test must run in
//! development mode (see [`dev_server`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use fulmar_federation::signatures::{sign_request, SigningKey};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

/// A free loopback port: bind to port 0, read the port, let it go.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

/// A Fulmar server in development mode that calls itself `127.0.0.1:PORT`, so that
/// peers can reach it by the URLs it puts in its documents.
pub async fn dev_server(backend: Backend) -> TestApp {
    let port = free_port();
    TestApp::spawn_with(backend, move |c| {
        c.listen = SocketAddr::from(([127, 0, 0, 1], port));
        c.domain = format!("127.0.0.1:{port}");
        c.dev_insecure = true;
    })
    .await
    .expect("server")
}

/// One actor of the peer, with its key.
#[derive(Clone)]
pub struct PeerActor {
    pub name: String,
    pub id: String,
    pub key_id: String,
    pub key: Arc<SigningKey>,
    pub public_key_pem: String,
}

#[derive(Default)]
struct Inner {
    actors: HashMap<String, PeerActor>,
    /// Extra or overriding documents by path (`/notes/1`), served as activity+json.
    documents: HashMap<String, (StatusCode, Value)>,
    /// What was POSTed to any inbox of the peer, in order: (path, body).
    received: Vec<(String, Value)>,
    /// Paths whose GETs wait until [`Peer::release`]: a test that must see the state
    /// before a background fetch finishes holds what that fetch needs.
    held: HashMap<String, Arc<tokio::sync::Semaphore>>,
}

/// A running peer.
#[derive(Clone)]
pub struct Peer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub host: String,
    inner: Arc<Mutex<Inner>>,
    client: reqwest::Client,
}

impl Peer {
    /// Starts a peer with no actors yet.
    pub async fn start() -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = Peer {
            base: format!("http://{addr}"),
            host: addr.to_string(),
            inner: Arc::new(Mutex::new(Inner::default())),
            client: reqwest::Client::new(),
        };
        let router = Router::new().fallback(handle).with_state(peer.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        peer
    }

    /// Adds an actor `name` (a Person at `/users/NAME`, key `#main-key`).
    pub fn actor(&self, name: &str) -> PeerActor {
        let pair = fulmar_federation::keys::generate_rsa_2048().unwrap();
        let id = format!("{}/users/{name}", self.base);
        let actor = PeerActor {
            name: name.to_owned(),
            key_id: format!("{id}#main-key"),
            id,
            key: Arc::new(SigningKey::from_pem(&pair.private_key_pem).unwrap()),
            public_key_pem: pair.public_key_pem,
        };
        self.inner
            .lock()
            .unwrap()
            .actors
            .insert(name.to_owned(), actor.clone());
        actor
    }

    /// Registers `actor` under its name as is, for actors whose id or key id is not
    /// the `/users/NAME` shape (documents published by the test): WebFinger answers
    /// with its id.
    pub fn register(&self, actor: &PeerActor) {
        self.inner
            .lock()
            .unwrap()
            .actors
            .insert(actor.name.clone(), actor.clone());
    }

    /// Replaces an actor's key (a rotation): documents serve the new key from now on.
    pub fn rotate_key(&self, name: &str) -> PeerActor {
        self.actor(name)
    }

    /// Serves `doc` at `path` (with status 200), replacing any actor document there.
    pub fn publish(&self, path: &str, doc: Value) {
        self.publish_with_status(path, StatusCode::OK, doc);
    }

    pub fn publish_with_status(&self, path: &str, status: StatusCode, doc: Value) {
        self.inner
            .lock()
            .unwrap()
            .documents
            .insert(path.to_owned(), (status, doc));
    }

    /// Makes GETs of `path` wait until [`Peer::release`].
    pub fn hold(&self, path: &str) {
        self.inner
            .lock()
            .unwrap()
            .held
            .insert(path.to_owned(), Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Lets the GETs of `path` that wait, and every later one, through.
    pub fn release(&self, path: &str) {
        if let Some(gate) = self.inner.lock().unwrap().held.remove(path) {
            gate.close();
        }
    }

    /// Everything POSTed to the peer's inboxes so far.
    pub fn received(&self) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner.received.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Waits (up to `secs` seconds) until a received activity satisfies `pred`.
    pub async fn wait_for(&self, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(v) = self.received().into_iter().find(|v| pred(v)) {
                return v;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "the peer did not receive the expected activity; it got {:#?}",
                    self.received()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The actor document of `actor`, as Mastodon would serve it.
    pub fn actor_document(&self, actor: &PeerActor) -> Value {
        let base = &self.base;
        let name = &actor.name;
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor.id,
            "type": "Person",
            "preferredUsername": name,
            "name": name,
            "url": format!("{base}/@{name}"),
            "inbox": format!("{}/inbox", actor.id),
            "outbox": format!("{}/outbox", actor.id),
            "followers": format!("{}/followers", actor.id),
            "following": format!("{}/following", actor.id),
            "endpoints": {"sharedInbox": format!("{base}/inbox")},
            "manuallyApprovesFollowers": false,
            "publicKey": {"id": actor.key_id, "owner": actor.id, "publicKeyPem": actor.public_key_pem},
        })
    }

    /// Signs `activity` as `actor` and POSTs it to `inbox_url`; returns status and body.
    pub async fn post(&self, actor: &PeerActor, inbox_url: &str, activity: &Value) -> (u16, Value) {
        let body = activity.to_string().into_bytes();
        let headers = signed_headers(actor, inbox_url, &body, SystemTime::now());
        self.post_raw(inbox_url, headers, body).await
    }

    /// POSTs `body` with exactly these headers (for forged, expired, unsigned ... cases).
    pub async fn post_raw(&self, url: &str, headers: HeaderMap, body: Vec<u8>) -> (u16, Value) {
        let res = self
            .client
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .expect("POST to Fulmar");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }
}

/// The headers of a POST of `body` to `url` signed by `actor` at `now`, as Mastodon
/// signs: Host, Date, Digest, Content-Type, Signature.
pub fn signed_headers(actor: &PeerActor, url: &str, body: &[u8], now: SystemTime) -> HeaderMap {
    let uri: Uri = url.parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json"),
    );
    sign_request(
        &Method::POST,
        &uri,
        &mut headers,
        Some(body),
        &actor.key_id,
        &actor.key,
        now,
    )
    .unwrap();
    headers
}

fn activity_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/activity+json")],
        v.to_string(),
    )
        .into_response()
}

async fn handle(
    State(peer): State<Peer>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let gate = peer.inner.lock().unwrap().held.get(&path).cloned();
    if let Some(gate) = gate {
        // Closed on release, which ends the wait.
        let _ = gate.acquire().await;
    }
    if method == Method::POST {
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        peer.inner.lock().unwrap().received.push((path, value));
        return StatusCode::ACCEPTED.into_response();
    }
    if path == "/.well-known/webfinger" {
        let resource = query.get("resource").cloned().unwrap_or_default();
        let name = resource
            .strip_prefix("acct:")
            .and_then(|r| r.strip_suffix(&format!("@{}", peer.host)))
            .unwrap_or_default()
            .to_owned();
        let actor = peer.inner.lock().unwrap().actors.get(&name).cloned();
        return match actor {
            Some(a) => (
                [(header::CONTENT_TYPE, "application/jrd+json")],
                json!({"subject": resource, "links": [
                    {"rel": "self", "type": "application/activity+json", "href": a.id}
                ]})
                .to_string(),
            )
                .into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let doc = peer.inner.lock().unwrap().documents.get(&path).cloned();
    if let Some((status, doc)) = doc {
        return activity_response(status, &doc);
    }
    if let Some(name) = path.strip_prefix("/users/") {
        let actor = peer.inner.lock().unwrap().actors.get(name).cloned();
        if let Some(actor) = actor {
            return activity_response(StatusCode::OK, &peer.actor_document(&actor));
        }
    }
    StatusCode::NOT_FOUND.into_response()
}

/// Starts a peer with an actor `bob` whom local account `follower` of `fulmar`
/// follows (stored directly, as if bob had accepted), for tests of what bob's
/// deliveries do rather than of how the follow is made. Also returns bob's account
/// row here.
pub async fn followed_bob(
    fulmar: &TestApp,
    follower: i64,
) -> (Peer, PeerActor, fulmar_store::accounts::AccountRow) {
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let bob_row = fulmar::core::resolve::resolve_actor_url(&fulmar.app, &bob.id)
        .await
        .expect("resolve bob");
    crate::helpers::follow_directly(&fulmar.app.db, follower, bob_row.id).await;
    (peer, bob, bob_row)
}
