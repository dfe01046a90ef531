//! Domain blocks: the admin commands (while a server runs), and what a block does —
//! deliveries refused with 403, nothing resolved or delivered, accounts suspended and
//! unfollowed — and undoes when lifted.

use std::collections::BTreeSet;
use std::process::Command;

use fulmar_store::relationships::{self, NewFollowRow};
use serde_json::json;

use crate::db_test;
use crate::helpers::{Backend, TestApp};
use crate::peer::{dev_server, Peer, PeerActor};

const BIN: &str = env!("CARGO_BIN_EXE_fulmar");

fn fulmar(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FULMAR_DOMAIN", &app.app.config.domain)
        .env("FULMAR_DATABASE_URL", app.database_url())
        .env("FULMAR_DATA_DIR", &app.data_dir)
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("run fulmar");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn follow(a: i64, b: i64) -> NewFollowRow {
    NewFollowRow {
        id: fulmar::core::ids::next_id(),
        account_id: a,
        target_account_id: b,
        uri: None,
        show_reblogs: true,
        notify: false,
        languages: None,
        created_at: fulmar::core::time::now_ms(),
    }
}

/// Bob's `n`th activity, a report about Alice: any activity serves to see whether the
/// inbox takes a delivery.
fn flag(peer: &Peer, bob: &PeerActor, fulmar_app: &TestApp, n: u32) -> serde_json::Value {
    json!({
        "id": format!("{}/activities/{n}", peer.base),
        "type": "Flag",
        "actor": bob.id,
        "object": fulmar_app.app.urls.actor("alice"),
    })
}

async fn block_and_lift(backend: Backend) {
    let fulmar_app = dev_server(backend).await;
    let (alice, token) = fulmar_app.user_with_token("alice", "read write").await;
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let inbox = fulmar_app.url("/users/alice/inbox");
    let activity = |n: u32| flag(&peer, &bob, &fulmar_app, n);
    // Bob is known (his key was fetched for his first delivery) and follows Alice,
    // who follows him back.
    let (status, res) = peer.post(&bob, &inbox, &activity(1)).await;
    assert_eq!(status, 202, "{res}");
    let db = fulmar_app.db();
    let bob_row = fulmar_store::accounts::by_uri(db, &bob.id)
        .await
        .unwrap()
        .unwrap();
    relationships::follow(db, &follow(bob_row.id, alice.id))
        .await
        .unwrap();
    relationships::follow(db, &follow(alice.id, bob_row.id))
        .await
        .unwrap();
    let lookup = format!("/api/v1/accounts/lookup?acct=bob@{}", peer.host);
    assert_eq!(fulmar_app.api_get(&lookup, &token).await.0, 200);

    // The peer is `127.0.0.1:PORT`; a block ignores the port. Typed loosely, too.
    let (ok, stdout, stderr) = fulmar(&fulmar_app, &["admin", "domain-block", "127.0.0.1"]);
    assert!(ok, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("1 accounts suspended"), "{stderr}");
    assert!(stderr.contains("2 follows removed"), "{stderr}");
    // Idempotent.
    let (ok, _, stderr) = fulmar(
        &fulmar_app,
        &["admin", "domain-block", "HTTP://127.0.0.1:9/"],
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("already blocked"), "{stderr}");
    let (ok, stdout, _) = fulmar(&fulmar_app, &["admin", "domain-blocks"]);
    assert!(ok);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].starts_with("127.0.0.1\tsuspend\t"), "{stdout}");
    // Nonsense is refused with a reason.
    let (ok, _, stderr) = fulmar(&fulmar_app, &["admin", "domain-block", "not a domain"]);
    assert!(!ok);
    assert!(stderr.contains("not a domain name"), "{stderr}");

    // The running server sees the block at once: deliveries are refused before any
    // key is fetched, Bob vanished from the API, the follows are gone and counted out.
    let (status, res) = peer.post(&bob, &inbox, &activity(2)).await;
    assert_eq!(status, 403, "{res}");
    assert!(res["error"].as_str().unwrap().contains("blocked"), "{res}");
    assert_eq!(fulmar_app.api_get(&lookup, &token).await.0, 404);
    let bob_row = fulmar_store::accounts::by_id(db, bob_row.id)
        .await
        .unwrap()
        .unwrap();
    assert!(bob_row.suspended_at.is_some());
    assert!(relationships::get_follow(db, bob_row.id, alice.id)
        .await
        .unwrap()
        .is_none());
    assert!(relationships::get_follow(db, alice.id, bob_row.id)
        .await
        .unwrap()
        .is_none());
    let alice_row = fulmar_store::accounts::by_id(db, alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (alice_row.followers_count, alice_row.following_count),
        (0, 0)
    );

    // Nothing is resolved on the domain...
    let carol = peer.actor("carol");
    let app = &fulmar_app.app;
    assert!(
        fulmar::core::resolve::resolve_account(app, &format!("carol@{}", peer.host))
            .await
            .is_err()
    );
    assert!(fulmar::core::resolve::resolve_actor_url(app, &carol.id)
        .await
        .is_err());
    assert!(fulmar::core::resolve::fetch_key(app, &carol.key_id, false)
        .await
        .is_err());
    peer.publish(
        "/notes/1",
        json!({"id": format!("{}/notes/1", peer.base), "type": "Note",
               "attributedTo": carol.id, "content": "hi", "to": ["https://www.w3.org/ns/activitystreams#Public"]}),
    );
    assert!(
        fulmar::core::resolve::resolve_status(app, &format!("{}/notes/1", peer.base))
            .await
            .is_err()
    );
    assert!(fulmar_store::accounts::by_uri(db, &carol.id)
        .await
        .unwrap()
        .is_none());
    // ...and nothing is delivered to it.
    let inboxes: BTreeSet<String> = [
        format!("{}/inbox", peer.base),
        "https://elsewhere.example/inbox".to_owned(),
    ]
    .into();
    let kept = fulmar::core::domains::deliverable(db, inboxes)
        .await
        .unwrap();
    assert_eq!(
        kept,
        BTreeSet::from(["https://elsewhere.example/inbox".to_owned()])
    );

    // Lifting the block brings Bob back (not his follows) and opens the inbox again.
    let (ok, _, stderr) = fulmar(
        &fulmar_app,
        &["admin", "domain-block", "--remove", "127.0.0.1"],
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("Lifted"), "{stderr}");
    let (ok, _, stderr) = fulmar(
        &fulmar_app,
        &["admin", "domain-block", "--remove", "127.0.0.1"],
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("was not blocked"), "{stderr}");
    let (_, stdout, _) = fulmar(&fulmar_app, &["admin", "domain-blocks"]);
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(fulmar_app.api_get(&lookup, &token).await.0, 200);
    let (status, res) = peer.post(&bob, &inbox, &activity(3)).await;
    assert_eq!(status, 202, "{res}");
}

db_test!(
    a_domain_block_cuts_a_server_off_until_lifted,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        block_and_lift(backend).await;
    }
);

db_test!(
    blocks_cover_subdomains_whatever_the_case_or_port,
    |app: TestApp| async move {
        use fulmar_store::domain_blocks::{add, is_blocked, remove};
        let db = app.db();
        assert!(add(db, 1, "example.com", 10).await.unwrap().added);
        assert!(!add(db, 2, "example.com", 11).await.unwrap().added);
        for host in ["example.com", "A.Example.COM", "a.b.example.com:8443"] {
            assert!(is_blocked(db, host).await.unwrap(), "{host}");
        }
        for host in ["badexample.com", "example.org", "com", ""] {
            assert!(!is_blocked(db, host).await.unwrap(), "{host}");
        }
        // A subdomain's own block outlives the parent's: accounts stay suspended
        // until the last block covering them is lifted.
        let remote = |id: i64, domain: &str| fulmar_store::remote::RemoteAccount {
            id,
            username: "x".into(),
            domain: domain.into(),
            display_name: String::new(),
            note: String::new(),
            uri: format!("https://{domain}/users/x"),
            url: None,
            actor_type: "Person".into(),
            inbox_url: Some(format!("https://{domain}/users/x/inbox")),
            outbox_url: None,
            shared_inbox_url: None,
            followers_url: None,
            following_url: None,
            featured_url: None,
            featured_tags_url: None,
            avatar_url: None,
            header_url: None,
            fields: "[]".into(),
            also_known_as: "[]".into(),
            locked: false,
            bot: false,
            discoverable: false,
            indexable: false,
            created_at: 1,
            fetched_at: 1,
        };
        let id = fulmar_store::remote::upsert_account(db, &remote(100, "a.sub.example.net"))
            .await
            .unwrap();
        let suspended = |id| async move {
            fulmar_store::accounts::by_id(db, id)
                .await
                .unwrap()
                .unwrap()
                .suspended_at
        };
        assert_eq!(
            add(db, 3, "example.net", 20)
                .await
                .unwrap()
                .suspended_accounts,
            1
        );
        assert_eq!(
            add(db, 4, "sub.example.net", 30)
                .await
                .unwrap()
                .suspended_accounts,
            0
        );
        assert!(remove(db, "example.net").await.unwrap());
        assert!(suspended(id).await.is_some());
        assert!(remove(db, "sub.example.net").await.unwrap());
        assert!(suspended(id).await.is_none());
        assert!(!remove(db, "sub.example.net").await.unwrap());
    }
);

/// The inbox reads a copy of the block list that may be a second old; a block the
/// copy does not know yet (made here straight in the database, the moment after the
/// copy was read) must still refuse the next delivery, and a block lifted the same
/// way must not refuse it.
async fn blocks_the_inbox_copy_does_not_know(backend: Backend) {
    let fulmar_app = dev_server(backend).await;
    let peer = Peer::start().await;
    let bob = peer.actor("bob");
    let inbox = fulmar_app.url("/inbox");
    let activity = |n: u32| flag(&peer, &bob, &fulmar_app, n);
    fulmar_app.user_with_token("alice", "read").await;
    // The first delivery reads the (empty) block list and caches Bob's key.
    let (status, res) = peer.post(&bob, &inbox, &activity(1)).await;
    assert_eq!(status, 202, "{res}");
    let db = fulmar_app.db();
    let host = peer.host.split(':').next().unwrap().to_owned();
    fulmar_store::domain_blocks::add(db, fulmar::core::ids::next_id(), &host, 1)
        .await
        .unwrap();
    let (status, res) = peer.post(&bob, &inbox, &activity(2)).await;
    assert_eq!(status, 403, "{res}");
    assert!(res["error"].as_str().unwrap().contains("blocked"), "{res}");
    // Not stored, as a status or as a job.
    let activity_2 = format!("{}/activities/2", peer.base);
    for job in fulmar_store::jobs::list(db, "inbox").await.unwrap() {
        assert!(!job.payload.contains(&activity_2), "{}", job.payload);
    }
    // The copy now lists the host (the refusal above may have read it again); lifted
    // in the database, the block no longer refuses.
    assert!(fulmar_store::domain_blocks::remove(db, &host)
        .await
        .unwrap());
    let (status, res) = peer.post(&bob, &inbox, &activity(3)).await;
    assert_eq!(status, 202, "{res}");
}

db_test!(
    a_block_the_inbox_copy_does_not_know_yet_still_refuses,
    |app: TestApp| async move {
        let backend = app.backend;
        app.stop().await;
        blocks_the_inbox_copy_does_not_know(backend).await;
    }
);
