//! Authorized fetch: a followers-only status is served as a `Note` to a signed GET
//! from a follower of its author (or an account it mentions), and is a 404 to
//! everyone else; public and unlisted statuses stay open to unsigned fetches.

use std::time::SystemTime;

use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use fulmar_federation::signatures::sign_request;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{Backend, TestApp};
use crate::peer::{dev_server, Peer, PeerActor};

/// GETs `url` as ActivityPub, signed by `actor` when there is one.
async fn fetch(url: &str, actor: Option<&PeerActor>) -> (u16, Value) {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/activity+json"),
    );
    if let Some(actor) = actor {
        let uri: Uri = url.parse().unwrap();
        sign_request(
            &Method::GET,
            &uri,
            &mut headers,
            None,
            &actor.key_id,
            &actor.key,
            SystemTime::now(),
        )
        .unwrap();
    }
    let res = reqwest::Client::new()
        .get(url)
        .headers(headers)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn authorized_fetch(backend: Backend) {
    let fulmar = dev_server(backend).await;
    let (alice, token) = fulmar.user_with_token("alice", "read write").await;
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let mallory = peer.actor("mallory");
    let db = fulmar.db();
    // Fulmar learns of Bob and Mallory (and caches their keys) from a delivery each.
    for actor in [&bob, &mallory] {
        let activity = json!({
            "id": format!("{}/activities/{}", peer.base, actor.name),
            "type": "Flag",
            "actor": actor.id,
            "object": fulmar.app.urls.actor("alice"),
        });
        let (status, res) = peer
            .post(actor, &fulmar.url("/users/alice/inbox"), &activity)
            .await;
        assert_eq!(status, 202, "{res}");
    }
    let bob_row = fulmar_store::accounts::by_uri(db, &bob.id)
        .await
        .unwrap()
        .unwrap();
    crate::helpers::follow_directly(db, bob_row.id, alice.id).await;

    let mut urls = Vec::new();
    for visibility in ["public", "unlisted", "private"] {
        let (status, res) = fulmar
            .api_post(
                "/api/v1/statuses",
                &token,
                json!({"status": format!("a {visibility} note"), "visibility": visibility}),
            )
            .await;
        assert_eq!(status, 200, "{res}");
        urls.push((visibility, res["uri"].as_str().unwrap().to_owned()));
    }
    for (visibility, url) in &urls {
        let (status, note) = fetch(url, None).await;
        if *visibility == "private" {
            assert_eq!(status, 404, "{note}");
        } else {
            assert_eq!(status, 200, "{visibility}: {note}");
            assert_eq!(note["type"], "Note");
        }
    }
    let private = &urls[2].1;
    // Bob follows Alice: his signed fetch gets the note.
    let (status, note) = fetch(private, Some(&bob)).await;
    assert_eq!(status, 200, "{note}");
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], private.as_str());
    assert!(note["content"].as_str().unwrap().contains("a private note"));
    // Mallory does not: 404, as for anyone.
    let (status, _) = fetch(private, Some(&mallory)).await;
    assert_eq!(status, 404);
    // A forged signature (Bob's key id, Mallory's key) is no better than none.
    let mut forged = bob.clone();
    forged.key = mallory.key.clone();
    let (status, _) = fetch(private, Some(&forged)).await;
    assert_eq!(status, 404);

    // An account the status mentions may fetch it too.
    let id: i64 = private.rsplit('/').next().unwrap().parse().unwrap();
    let mallory_row = fulmar_store::accounts::by_uri(db, &mallory.id)
        .await
        .unwrap()
        .unwrap();
    fulmar_store::status_actions::add_mentions(
        db,
        id,
        &[fulmar_store::status_actions::NewMention {
            id: fulmar::core::ids::next_id(),
            account_id: mallory_row.id,
        }],
    )
    .await
    .unwrap();
    let (status, note) = fetch(private, Some(&mallory)).await;
    assert_eq!(status, 200, "{note}");
}

db_test!(
    private_statuses_are_served_to_signed_fetches_of_followers,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        authorized_fetch(backend).await;
    }
);
