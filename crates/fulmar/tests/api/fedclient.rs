//! Resolving remote accounts and statuses, and the outgoing client's safety rules:
//! two Fulmar servers on loopback in development mode, plus small "peers" written
//! here that misbehave on purpose. Every connection goes to 127.0.0.1 only.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use fulmar_federation::client::{Client, ClientConfig, ClientError};
use serde_json::{json, Value};

use crate::fed_test;
use crate::helpers::TestApp;
use crate::peer::dev_server;

fn dev_client() -> Client {
    Client::new(ClientConfig::new("http://fulmar.test", true)).unwrap()
}

/// Serves `router` on a fresh loopback port; returns `http://127.0.0.1:PORT`.
async fn serve(router: impl FnOnce(String) -> Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = router(base.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

async fn search(app: &TestApp, token: &str, q: &str) -> Value {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (status, body) = app
        .api_get(&format!("/api/v2/search?resolve=true&q={q}"), token)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// An entity with the peer's and our own random ports replaced by fixed names, so
/// that snapshots do not depend on them.
fn normalized(v: &Value, peer: &str, ours: &str) -> Value {
    let text = v
        .to_string()
        .replace(peer, "http://peer.test")
        .replace(&authority(peer), "peer.test")
        .replace(ours, "http://fulmar.test");
    serde_json::from_str(&text).unwrap()
}

/// Runs one statement with one id parameter, on either database.
async fn exec(db: &fulmar_store::Db, sql: &str, id: i64) {
    fulmar_store::with_pool!(db, p => sqlx::query(sql).bind(id).execute(p).await.map(|_| ()))
        .expect(sql);
}

fn authority(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

fed_test!(resolves_accounts_across_two_servers, |backend| async move {
    let a = dev_server(backend).await;
    let b = dev_server(backend).await;
    let b_domain = b.app.urls.domain().to_owned();
    b.create_user("alice").await;
    let (_, token) = a.user_with_token("reader", "read").await;

    let found = search(&a, &token, &format!("@alice@{b_domain}")).await;
    let accounts = found["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{found}");
    let alice = &accounts[0];
    assert_eq!(alice["acct"], format!("alice@{b_domain}"));
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["uri"], b.app.urls.actor("alice"));
    assert_eq!(alice["url"], b.app.urls.profile("alice"));

    // Stored with its key and inbox.
    let row = fulmar_store::accounts::by_uri(a.db(), &b.app.urls.actor("alice"))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(row.domain.as_deref(), Some(b_domain.as_str()));
    assert_eq!(
        row.inbox_url.as_deref(),
        Some(b.app.urls.inbox("alice").as_str())
    );
    let key = fulmar_store::keys::by_key_id(a.db(), &b.app.urls.key_id("alice"))
        .await
        .unwrap()
        .expect("key stored");
    assert_eq!(key.account_id, Some(row.id));
    assert_eq!(key.owner_uri, b.app.urls.actor("alice"));
    assert!(key.public_key_pem.contains("BEGIN PUBLIC KEY"));
    let fetched = fulmar_store::remote::fetched_at(a.db(), row.id)
        .await
        .unwrap();
    assert!(fetched.is_some());

    // Again, as `user@host` and through lookup: the cache answers.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = search(&a, &token, &format!("alice@{b_domain}")).await;
    assert_eq!(again["accounts"][0]["id"], alice["id"]);
    let (status, looked) = a
        .api_get(
            &format!("/api/v1/accounts/lookup?acct=alice@{b_domain}"),
            &token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(looked["id"], alice["id"]);
    assert_eq!(
        fulmar_store::remote::fetched_at(a.db(), row.id)
            .await
            .unwrap(),
        fetched,
        "no second fetch"
    );

    // The actor URL resolves to the same account.
    let by_url = search(&a, &token, &b.app.urls.actor("alice")).await;
    assert_eq!(by_url["accounts"][0]["id"], alice["id"]);

    // Unknown users find nothing, and lookup answers 404.
    let none = search(&a, &token, &format!("@nobody@{b_domain}")).await;
    assert_eq!(none["accounts"], json!([]));
    let (status, _) = a
        .api_get(
            &format!("/api/v1/accounts/lookup?acct=nobody@{b_domain}"),
            &token,
        )
        .await;
    assert_eq!(status, 404);

    // A day later the account is fetched again and picks up changes.
    exec(
        b.db(),
        "UPDATE accounts SET display_name = 'Alice B' WHERE username = 'alice'",
        0,
    )
    .await;
    exec(
        a.db(),
        "UPDATE accounts SET fetched_at = 1 WHERE id = $1",
        row.id,
    )
    .await;
    let refreshed = search(&a, &token, &format!("alice@{b_domain}")).await;
    assert_eq!(refreshed["accounts"][0]["display_name"], "Alice B");
    assert_eq!(refreshed["accounts"][0]["id"], alice["id"]);
    let later = fulmar_store::remote::fetched_at(a.db(), row.id)
        .await
        .unwrap();
    assert!(later > fetched);
    // When its server is down, the stale copy is still found.
    exec(
        a.db(),
        "UPDATE accounts SET fetched_at = 1 WHERE id = $1",
        row.id,
    )
    .await;
    b.stop().await;
    let stale = search(&a, &token, &format!("alice@{b_domain}")).await;
    assert_eq!(stale["accounts"][0]["display_name"], "Alice B");
});

fed_test!(lookup_resolves_a_remote_account, |backend| async move {
    let a = dev_server(backend).await;
    let b = dev_server(backend).await;
    let b_domain = b.app.urls.domain().to_owned();
    b.create_user("carol").await;
    let (_, token) = a.user_with_token("reader", "read").await;
    let (status, carol) = a
        .api_get(
            &format!("/api/v1/accounts/lookup?acct=@carol@{b_domain}"),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{carol}");
    assert_eq!(carol["acct"], format!("carol@{b_domain}"));
    assert_eq!(carol["uri"], b.app.urls.actor("carol"));
    // Resolving needs a token in search.
    let res = a
        .client
        .get(a.url(&format!("/api/v2/search?resolve=true&q=carol@{b_domain}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
});

/// A peer with one actor (`bob`) and a few notes, another peer's actor that claims
/// a handle here, and misbehaving endpoints.
fn peer(base: String, other_actor: Option<String>, reader_actor: String) -> Router {
    let host = authority(&base);
    let state = (base, host, other_actor, reader_actor);
    type S = (String, String, Option<String>, String);
    async fn webfinger(
        State((base, host, other, _)): State<S>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> Response {
        let resource = q.get("resource").cloned().unwrap_or_default();
        let href = if resource == format!("acct:bob@{host}") {
            format!("{base}/users/bob")
        } else if resource == format!("acct:tobi@{host}") {
            format!("{base}/gts/tobi")
        } else if resource == format!("acct:mallory@{host}") {
            match other {
                Some(o) => o,
                None => return StatusCode::NOT_FOUND.into_response(),
            }
        } else {
            return StatusCode::NOT_FOUND.into_response();
        };
        (
            [(header::CONTENT_TYPE, "application/jrd+json")],
            json!({"subject": resource, "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "x"},
                {"rel": "self", "type": "application/activity+json", "href": href}
            ]})
            .to_string(),
        )
            .into_response()
    }
    fn activity(v: Value) -> Response {
        (
            [(header::CONTENT_TYPE, "application/activity+json")],
            v.to_string(),
        )
            .into_response()
    }
    async fn actor(
        State((base, ..)): State<S>,
        axum::extract::Path(name): axum::extract::Path<String>,
    ) -> Response {
        activity(json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": format!("{base}/users/{name}"),
            "type": "Person",
            "preferredUsername": name,
            "name": "Bob <b>Builder</b>",
            "summary": "<p>Hi<script>alert(1)</script></p>",
            "url": {"type": "Link", "href": format!("{base}/@{name}"), "mediaType": "text/html"},
            "inbox": format!("{base}/users/{name}/inbox"),
            "outbox": format!("{base}/users/{name}/outbox"),
            "followers": format!("{base}/users/{name}/followers"),
            "endpoints": {"sharedInbox": format!("{base}/inbox")},
            "manuallyApprovesFollowers": true,
            "publicKey": [{"id": format!("{base}/users/{name}#main-key"), "owner": format!("{base}/users/{name}"),
                "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}],
            "icon": [{"type": "Image", "url": format!("{base}/avatar.png")}],
            "attachment": {"type": "PropertyValue", "name": "Site", "value": "<a href=\"https://example.com\">x</a>"}
        }))
    }
    async fn note(
        State((base, _, _, reader)): State<S>,
        axum::extract::Path(n): axum::extract::Path<u32>,
    ) -> Response {
        let public = "https://www.w3.org/ns/activitystreams#Public";
        let followers = format!("{base}/users/bob/followers");
        let (to, cc): (Value, Value) = match n {
            1 => (json!(public), json!([followers])),
            2 => (json!([followers]), json!([])),
            3 => (json!([reader.clone()]), json!([])),
            _ => (json!([followers]), json!(public)),
        };
        activity(json!({
            "id": format!("{base}/notes/{n}"),
            "type": "Note",
            "attributedTo": {"type": "Person", "id": format!("{base}/users/bob")},
            "content": format!("<p>note {n}</p>"),
            "contentMap": {"en": format!("<p>note {n}</p>")},
            "published": "2024-05-01T10:00:00Z",
            "to": to,
            "cc": cc,
            "tag": if n == 3 { json!({"type": "Mention", "href": reader}) } else { json!([]) }
        }))
    }
    fn gts_key(base: &str) -> Value {
        json!({"id": format!("{base}/gts/tobi/main-key"), "owner": format!("{base}/gts/tobi"),
            "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nGTS\n-----END PUBLIC KEY-----\n"})
    }
    async fn gts_actor(State((base, ..)): State<S>) -> Response {
        activity(json!({
            "id": format!("{base}/gts/tobi"), "type": "Person", "preferredUsername": "tobi",
            "inbox": format!("{base}/gts/tobi/inbox"), "publicKey": gts_key(&base)
        }))
    }
    async fn gts_stub(State((base, ..)): State<S>) -> Response {
        // GoToSocial answers a key id without fragment with a stub actor.
        activity(json!({
            "id": format!("{base}/gts/tobi"), "type": "Person", "preferredUsername": "tobi",
            "publicKey": gts_key(&base)
        }))
    }
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/gts/tobi", get(gts_actor))
        .route("/gts/tobi/main-key", get(gts_stub))
        .route("/users/{name}", get(actor))
        .route("/notes/{n}", get(note))
        .route(
            "/html",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html></html>") }),
        )
        .route(
            "/big",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/activity+json")],
                    vec![b' '; 5 * 1024 * 1024],
                )
            }),
        )
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route("/hop", get(|| async { Redirect::temporary("/echo") }))
        .route(
            "/echo",
            get(|headers: axum::http::HeaderMap| async move {
                let h = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                activity(json!({
                    "user-agent": h("user-agent"),
                    "signature": h("signature"),
                    "accept": h("accept"),
                    "host": h("host"),
                    "date": h("date"),
                }))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                ([(header::CONTENT_TYPE, "application/activity+json")], "{}")
            }),
        )
        .with_state(state)
}

fed_test!(resolves_posts_and_refuses_bad_peers, |backend| async move {
    let a = dev_server(backend).await;
    let (_, token) = a.user_with_token("reader", "read").await;
    let reader = a.app.urls.actor("reader");
    // A second peer hosts an actor that the first peer's WebFinger claims for
    // mallory; its own WebFinger does not confirm it.
    let reader2 = reader.clone();
    let other = serve(move |b| peer(b, None, reader2)).await;
    let other_actor = format!("{other}/users/mallory");
    let reader3 = reader.clone();
    let base = serve(move |b| peer(b, Some(other_actor), reader3)).await;
    let host = authority(&base);

    // The account, through the peer's shapes.
    let found = search(&a, &token, &format!("bob@{host}")).await;
    let bob = &found["accounts"][0];
    assert_eq!(bob["acct"], format!("bob@{host}"), "{found}");
    assert_eq!(bob["url"], format!("{base}/@bob"));
    assert_eq!(bob["locked"], true);
    assert_eq!(bob["avatar"], format!("{base}/avatar.png"));
    assert_eq!(bob["note"], "<p>Hi</p>");
    assert_eq!(bob["fields"][0]["name"], "Site");
    insta::assert_json_snapshot!(
        "fedclient_remote_account",
        normalized(bob, &base, a.app.urls.base()),
        {".id" => "[id]", ".created_at" => "[date]"}
    );
    let row = fulmar_store::accounts::by_uri(a.db(), &format!("{base}/users/bob"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.shared_inbox_url.as_deref(),
        Some(format!("{base}/inbox").as_str())
    );

    // A public note.
    let s = search(&a, &token, &format!("{base}/notes/1")).await;
    let status = &s["statuses"][0];
    assert_eq!(status["visibility"], "public", "{s}");
    assert_eq!(status["uri"], format!("{base}/notes/1"));
    assert_eq!(status["account"]["acct"], format!("bob@{host}"));
    assert_eq!(status["content"], "<p>note 1</p>");
    assert_eq!(status["language"], "en");
    assert_eq!(status["created_at"], "2024-05-01T10:00:00.000Z");
    insta::assert_json_snapshot!(
        "fedclient_remote_status",
        normalized(status, &base, a.app.urls.base()),
        {".id" => "[id]", ".account.id" => "[id]", ".account.created_at" => "[date]",
         ".account.last_status_at" => "[date]"}
    );
    // Unlisted (Public in cc), followers-only and direct.
    let s = search(&a, &token, &format!("{base}/notes/4")).await;
    assert_eq!(s["statuses"][0]["visibility"], "unlisted", "{s}");
    let s = search(&a, &token, &format!("{base}/notes/2")).await;
    assert_eq!(s["statuses"], json!([]), "not a follower: not shown");
    let stored = fulmar_store::remote::status_by_uri(a.db(), &format!("{base}/notes/2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.visibility, "private");
    let s = search(&a, &token, &format!("{base}/notes/3")).await;
    assert_eq!(s["statuses"][0]["visibility"], "direct", "mentioned: shown");
    assert_eq!(s["statuses"][0]["mentions"][0]["acct"], "reader");

    // The round trip fails for mallory: nothing found, nothing stored.
    let s = search(&a, &token, &format!("mallory@{host}")).await;
    assert_eq!(s["accounts"], json!([]));
    assert!(
        fulmar_store::accounts::by_uri(a.db(), &format!("{other}/users/mallory"))
            .await
            .unwrap()
            .is_none()
    );
    // Bad documents through search: empty results, no 5xx.
    for path in ["/html", "/big", "/loop", "/users/nobody-here"] {
        let s = search(&a, &token, &format!("{base}{path}")).await;
        assert_eq!(s["accounts"], json!([]), "{path}");
        assert_eq!(s["statuses"], json!([]), "{path}");
    }

    // The client itself, with its errors.
    let client = dev_client();
    let signer = a.app.instance_signer().await.clone();
    assert!(matches!(
        client.get_activity(&format!("{base}/html"), &signer).await,
        Err(ClientError::BadContentType(_))
    ));
    assert!(matches!(
        client.get_activity(&format!("{base}/big"), &signer).await,
        Err(ClientError::TooLarge(_))
    ));
    assert!(matches!(
        client.get_activity(&format!("{base}/loop"), &signer).await,
        Err(ClientError::Redirects)
    ));
    // GETs are signed by the instance actor and say who is asking, after a redirect too.
    let echo = a
        .app
        .client
        .get_activity(&format!("{base}/hop"), &signer)
        .await
        .unwrap();
    assert_eq!(
        echo["user-agent"],
        format!(
            "Fulmar/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            a.app.urls.base()
        )
    );
    let sig = echo["signature"].as_str().unwrap();
    assert!(
        sig.contains(&format!("keyId=\"{}\"", a.app.urls.instance_actor_key_id())),
        "{sig}"
    );
    assert!(
        sig.contains("headers=\"(request-target) host date\""),
        "{sig}"
    );
    assert!(echo["accept"]
        .as_str()
        .unwrap()
        .starts_with("application/activity+json"));
    assert_eq!(echo["host"], host);
    let mut config = ClientConfig::new("http://fulmar.test", true);
    config.timeout = Duration::from_millis(300);
    let impatient = Client::new(config).unwrap();
    assert!(matches!(
        impatient
            .get_activity(&format!("{base}/slow"), &signer)
            .await,
        Err(ClientError::Timeout)
    ));
    assert!(matches!(
        client
            .get_activity(&format!("{base}/notes/1"), &signer)
            .await,
        Ok(Value::Object(_))
    ));
});

/// With development mode off, loopback, private and link-local targets and plain
/// http are refused before any connection is made.
#[tokio::test]
async fn private_addresses_are_refused_outside_dev_mode() {
    let client = Client::new(ClientConfig::new("https://fulmar.test", false)).unwrap();
    let signer = {
        let pair = fulmar_federation::keys::generate_rsa_2048().unwrap();
        fulmar_federation::client::Signer {
            key_id: "https://fulmar.test/actor#main-key".into(),
            key: std::sync::Arc::new(
                fulmar_federation::signatures::SigningKey::from_pem(&pair.private_key_pem).unwrap(),
            ),
        }
    };
    for url in [
        "https://127.0.0.1/users/a",
        "https://[::1]/users/a",
        "https://10.0.0.1/users/a",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/users/a",
    ] {
        let err = client.get_activity(url, &signer).await.unwrap_err();
        assert!(matches!(err, ClientError::Forbidden(_)), "{url}: {err}");
        assert!(err.is_permanent());
    }
    let err = client.webfinger("a", "10.0.0.1").await.unwrap_err();
    assert!(matches!(err, ClientError::Forbidden(_)), "{err}");
    let err = client
        .post_activity("https://192.168.1.1/inbox", b"{}", &signer)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Forbidden(_)), "{err}");
    let err = client.get_json("http://example.com/x").await.unwrap_err();
    assert!(matches!(err, ClientError::Scheme(_)), "{err}");
}

fed_test!(fetches_keys_of_both_shapes, |backend| async move {
    let a = dev_server(backend).await;
    let b = dev_server(backend).await;
    b.create_user("alice").await;
    // Mastodon/Fulmar style: `actor#main-key`, served by the actor document.
    let key_id = b.app.urls.key_id("alice");
    let key = fulmar::core::resolve::fetch_key(&a.app, &key_id, false)
        .await
        .unwrap();
    assert_eq!(key.owner, b.app.urls.actor("alice"));
    let expected = fulmar_store::keys::by_key_id(b.db(), &key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.public_key_pem, expected.public_key_pem);
    // Cached: the same answer without B (stopped now).
    b.stop().await;
    let again = fulmar::core::resolve::fetch_key(&a.app, &key_id, false)
        .await
        .unwrap();
    assert_eq!(again, key);
    // A forced refetch fails cleanly while B is down.
    assert!(fulmar::core::resolve::fetch_key(&a.app, &key_id, true)
        .await
        .is_err());

    // GoToSocial style: a key id without fragment, answered by a stub actor.
    let reader = a.app.urls.actor("reader");
    let base = serve(move |b| peer(b, None, reader)).await;
    let key = fulmar::core::resolve::fetch_key(&a.app, &format!("{base}/gts/tobi/main-key"), false)
        .await
        .unwrap();
    assert_eq!(key.owner, format!("{base}/gts/tobi"));
    assert!(key.public_key_pem.contains("GTS"));
    // An unknown key id is an error, not a panic.
    assert!(
        fulmar::core::resolve::fetch_key(&a.app, &format!("{base}/nope#k"), false)
            .await
            .is_err()
    );
});

/// A split-domain peer: handles are `carl@H` while the actor lives on S. Both hosts'
/// WebFinger point at the actor, with the subject on H.
fn split_peer(
    base: String,
    handle_host: std::sync::Arc<std::sync::OnceLock<String>>,
    actor_base: Option<String>,
) -> Router {
    let serves_actor = actor_base.is_none();
    let actor_base = actor_base.unwrap_or_else(|| base.clone());
    let actor_id = format!("{actor_base}/users/carl");
    let id = actor_id.clone();
    let mut router = Router::new().route(
        "/.well-known/webfinger",
        get(move || {
            let handle_host = handle_host.clone();
            let id = id.clone();
            async move {
                let h = handle_host.get().cloned().unwrap_or_default();
                (
                    [(header::CONTENT_TYPE, "application/jrd+json")],
                    json!({"subject": format!("acct:carl@{h}"), "links": [
                        {"rel": "self", "type": "application/activity+json", "href": id}
                    ]})
                    .to_string(),
                )
            }
        }),
    );
    if serves_actor {
        router = router.route(
            "/users/carl",
            get(move || {
                let id = actor_id.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/activity+json")],
                        json!({"id": id, "type": "Person", "preferredUsername": "carl",
                               "inbox": format!("{id}/inbox")})
                        .to_string(),
                    )
                }
            }),
        );
    }
    router
}

fed_test!(
    split_domain_handles_use_the_subject_domain,
    |backend| async move {
        let a = dev_server(backend).await;
        let (_, token) = a.user_with_token("reader", "read").await;
        let handle_host = std::sync::Arc::new(std::sync::OnceLock::new());
        let hh = handle_host.clone();
        let server = serve(move |b| split_peer(b, hh, None)).await;
        let hh = handle_host.clone();
        let s2 = server.clone();
        let handles = serve(move |b| split_peer(b, hh, Some(s2))).await;
        handle_host.set(authority(&handles)).unwrap();

        // Asked by the handle, and by the actor's own host: both give the canonical acct.
        let found = search(&a, &token, &format!("carl@{}", authority(&handles))).await;
        assert_eq!(
            found["accounts"][0]["acct"],
            format!("carl@{}", authority(&handles)),
            "{found}"
        );
        assert_eq!(found["accounts"][0]["uri"], format!("{server}/users/carl"));
        let by_server = search(&a, &token, &format!("@carl@{}", authority(&server))).await;
        assert_eq!(by_server["accounts"][0]["id"], found["accounts"][0]["id"]);
        assert_eq!(
            by_server["accounts"][0]["acct"],
            format!("carl@{}", authority(&handles))
        );
        let by_url = search(&a, &token, &format!("{server}/users/carl")).await;
        assert_eq!(by_url["accounts"][0]["id"], found["accounts"][0]["id"]);
    }
);
