//! The counters that change with every post (`statuses_count`, `last_status_at`),
//! kept in `account_stats` apart from the account's row (migration 0012): right at
//! once after posting, reblogging and deleting, wherever the API shows the account,
//! including through the cache of rendered accounts. And the outbox job a new post
//! stores only when someone on another server is to receive it.

use fulmar::core::ids::next_id;
use fulmar_store::accounts::NewAccount;
use fulmar_store::follows::NewFollow;
use fulmar_store::jobs::NewJob;
use fulmar_store::status_actions::{Publish, QuoteColumns};
use fulmar_store::statuses::NewStatus;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::TestApp;

const ALL: &str = "read write follow";

/// Posts and returns the answer.
async fn post(app: &TestApp, token: &str, body: Value) -> Value {
    let (code, json) = app.api_post("/api/v1/statuses", token, body.clone()).await;
    assert_eq!(code, 200, "posting {body}: {json}");
    json
}

fn id(status: &Value) -> String {
    status["id"].as_str().unwrap().to_owned()
}

/// `(statuses_count, last_status_at)` of an account entity.
fn counters(account: &Value) -> (i64, Value) {
    (
        account["statuses_count"].as_i64().unwrap(),
        account["last_status_at"].clone(),
    )
}

/// The author's counters as a status shows them (its account is rendered through the
/// cache of rendered accounts, so asking twice in a row also asks the cache) and as
/// the account's own page shows them; they must agree.
async fn shown(app: &TestApp, token: &str, status: &str, account: i64) -> (i64, Value) {
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (code, s) = app
            .api_get(&format!("/api/v1/statuses/{status}"), token)
            .await;
        assert_eq!(code, 200, "{s}");
        seen.push(counters(&s["account"]));
    }
    let (code, a) = app
        .api_get(&format!("/api/v1/accounts/{account}"), token)
        .await;
    assert_eq!(code, 200, "{a}");
    seen.push(counters(&a));
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    seen.remove(0)
}

async fn stored_count(app: &TestApp, account: i64) -> i64 {
    fulmar_store::accounts::by_id(app.db(), account)
        .await
        .unwrap()
        .unwrap()
        .statuses_count
}

async fn delete(app: &TestApp, token: &str, status: &str) {
    let (code, body) = send_delete(app, token, &format!("/api/v1/statuses/{status}")).await;
    assert_eq!(code, 200, "{body}");
}

async fn send_delete(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    crate::helpers::send(app.api(reqwest::Method::DELETE, path, token)).await
}

db_test!(
    counters_are_right_at_once_after_posting_and_deleting,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;

        // Nothing posted yet: no counters row, and the API shows zero and null.
        let (code, me) = app
            .api_get("/api/v1/accounts/verify_credentials", &token)
            .await;
        assert_eq!(code, 200);
        assert_eq!(counters(&me), (0, Value::Null));

        // The answer to the post already counts it.
        let first = post(&app, &token, json!({"status": "one"})).await;
        // Mastodon shows the day of the last post.
        let today = first["created_at"].as_str().unwrap()[..10].to_owned();
        assert_eq!(counters(&first["account"]), (1, json!(today)));
        let first = id(&first);
        assert_eq!(
            shown(&app, &token, &first, alice.id).await,
            (1, json!(today))
        );

        // A second post: the account rendered and cached above is stale and must not
        // be shown.
        let second = post(&app, &token, json!({"status": "two"})).await;
        assert_eq!(counters(&second["account"]).0, 2);
        let second = id(&second);
        assert_eq!(shown(&app, &token, &first, alice.id).await.0, 2);
        assert_eq!(stored_count(&app, alice.id).await, 2);

        // A direct message does not count (as in Mastodon).
        post(
            &app,
            &token,
            json!({"status": "@bob psst", "visibility": "direct"}),
        )
        .await;
        assert_eq!(shown(&app, &token, &first, alice.id).await.0, 2);

        // A reblog counts for the one who reblogs, and undoing it counts it out.
        let (code, reblog) = app
            .api_post(
                &format!("/api/v1/statuses/{first}/reblog"),
                &bob_token,
                json!({}),
            )
            .await;
        assert_eq!(code, 200, "{reblog}");
        assert_eq!(counters(&reblog["account"]).0, 1);
        assert_eq!(shown(&app, &bob_token, &id(&reblog), bob.id).await.0, 1);
        let (code, _) = app
            .api_post(
                &format!("/api/v1/statuses/{first}/unreblog"),
                &bob_token,
                json!({}),
            )
            .await;
        assert_eq!(code, 200);
        let (_, b) = app
            .api_get(&format!("/api/v1/accounts/{}", bob.id), &token)
            .await;
        assert_eq!(counters(&b).0, 0);
        assert_eq!(stored_count(&app, bob.id).await, 0);

        // Deleting counts out at once, in the cached rendering too.
        delete(&app, &token, &second).await;
        assert_eq!(
            shown(&app, &token, &first, alice.id).await,
            (1, json!(today))
        );
        assert_eq!(stored_count(&app, alice.id).await, 1);

        // Deleting a status takes its reblogs with it, and they are counted out for
        // their authors.
        let (code, _) = app
            .api_post(
                &format!("/api/v1/statuses/{first}/reblog"),
                &bob_token,
                json!({}),
            )
            .await;
        assert_eq!(code, 200);
        assert_eq!(stored_count(&app, bob.id).await, 1);
        delete(&app, &token, &first).await;
        assert_eq!(stored_count(&app, alice.id).await, 0);
        assert_eq!(stored_count(&app, bob.id).await, 0);
        let (_, b) = app
            .api_get(&format!("/api/v1/accounts/{}", bob.id), &token)
            .await;
        assert_eq!(counters(&b).0, 0);
        let (_, a) = app
            .api_get("/api/v1/accounts/verify_credentials", &token)
            .await;
        // The day of the last post stays, as in Mastodon.
        assert_eq!(counters(&a), (0, json!(today)));
    }
);

db_test!(
    the_rendered_version_of_an_account_changes_with_its_counters,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let version = || async {
            let v = fulmar_store::accounts::versions(app.db(), &[alice.id])
                .await
                .unwrap();
            assert_eq!(v.len(), 1);
            v[0].1
        };
        let before = version().await;
        let status = id(&post(&app, &token, json!({"status": "one"})).await);
        let posted = version().await;
        assert_ne!(posted, before, "the first post creates the counters row");
        post(&app, &token, json!({"status": "two"})).await;
        let again = version().await;
        assert_ne!(again, posted);
        delete(&app, &token, &status).await;
        assert_ne!(version().await, again);
        // A change to the account's own row still counts.
        let v = version().await;
        crate::timelines::exec(
            &app,
            "UPDATE accounts SET display_name = 'A' WHERE id = $1",
            &[alice.id],
        )
        .await;
        assert_ne!(version().await, v);
    }
);

/// A remote account with an inbox.
async fn remote(app: &TestApp, username: &str) -> i64 {
    let id = next_id();
    fulmar_store::accounts::insert_account(
        app.db(),
        &NewAccount {
            id,
            username: username.into(),
            domain: Some("remote.example".into()),
            uri: format!("https://remote.example/users/{username}"),
            inbox_url: Some(format!("https://remote.example/users/{username}/inbox")),
            shared_inbox_url: Some("https://remote.example/inbox".into()),
            actor_type: "Person".into(),
            created_at: 0,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    id
}

/// Publishes a local status the way posting does, with a job on a queue no worker
/// serves (so that it stays to be counted); returns whether the job was stored and
/// how many rows it left in `jobs`.
async fn publish(app: &TestApp, author: i64, visibility: &str, mentions: &[i64]) -> (bool, i64) {
    let status_id = next_id();
    let status = NewStatus {
        id: status_id,
        uri: format!("https://example.test/statuses/{status_id}"),
        account_id: author,
        content: "<p>hi</p>".into(),
        visibility: visibility.into(),
        local: true,
        created_at: 1,
        ..Default::default()
    };
    let mentions: Vec<fulmar_store::status_actions::NewMention> = mentions
        .iter()
        .map(|&account_id| fulmar_store::status_actions::NewMention {
            id: next_id(),
            account_id,
        })
        .collect();
    let job = NewJob {
        id: next_id(),
        queue: "test-unserved".into(),
        payload: "{}".into(),
        run_at: i64::MAX / 2,
        concurrency_key: None,
        max_attempts: 1,
        created_at: 1,
    };
    let queued = fulmar_store::status_actions::publish_local(
        app.db(),
        &Publish {
            status: &status,
            mentions: &mentions,
            tags: &[],
            counts_for_author: true,
            counts_as_reply: false,
        },
        &QuoteColumns {
            policy: "public",
            quote: None,
        },
        &job,
    )
    .await
    .unwrap();
    let rows = fulmar_store::with_pool!(app.db(), p => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM jobs WHERE id = $1",
    )
    .bind(job.id)
    .fetch_one(p)
    .await)
    .unwrap();
    (queued, rows)
}

db_test!(
    a_post_stores_its_outbox_job_only_for_a_remote_audience,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        let bob = app.create_user("bob").await;
        // Local followers and local mentions are served in the post's own
        // transaction (home feeds, notifications): nothing for the outbox.
        crate::helpers::follow_directly(app.db(), bob.id, alice.id).await;
        assert_eq!(
            publish(&app, alice.id, "public", &[bob.id]).await,
            (false, 0)
        );

        // A remote mention is an audience, in a direct message too.
        let rita = remote(&app, "rita").await;
        assert_eq!(publish(&app, alice.id, "direct", &[rita]).await, (true, 1));
        assert_eq!(publish(&app, alice.id, "public", &[rita]).await, (true, 1));

        // A remote follower is one, except for a direct message.
        fulmar_store::follows::insert(
            app.db(),
            &NewFollow {
                id: next_id(),
                account_id: rita,
                target_account_id: alice.id,
                uri: None,
                created_at: 1,
            },
        )
        .await
        .unwrap();
        assert_eq!(publish(&app, alice.id, "private", &[]).await, (true, 1));
        assert_eq!(publish(&app, alice.id, "direct", &[]).await, (false, 0));
        assert_eq!(
            publish(&app, alice.id, "direct", &[bob.id]).await,
            (false, 0)
        );
    }
);
