//! The inbox: signed deliveries from a peer on loopback are stored and acted on.

use serde_json::json;

use crate::db_test;
use crate::helpers::Backend;
use crate::peer::{dev_server, Peer};

async fn smoke(backend: Backend) {
    let fulmar = dev_server(backend).await;
    fulmar.create_user("alice").await;
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let inbox = fulmar.url("/users/alice/inbox");
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/1", peer.base),
        "type": "Flag",
        "actor": bob.id,
        "object": fulmar.app.urls.actor("alice"),
    });
    let (status, body) = peer.post(&bob, &inbox, &activity).await;
    assert_eq!(status, 202, "{body}");
    // Unsigned: refused with a reason.
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("content-type", "application/activity+json".parse().unwrap());
    let (status, body) = peer
        .post_raw(&inbox, headers, activity.to_string().into_bytes())
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("Signature"),
        "{body}"
    );
}

db_test!(
    a_signed_delivery_is_accepted_and_an_unsigned_one_refused,
    |app: crate::helpers::TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        smoke(backend).await;
    }
);
