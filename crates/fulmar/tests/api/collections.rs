//! Actor collections: real paging over real rows, with privacy respected.

use fulmar_store::accounts::NewAccount;
use fulmar_store::follows::NewFollow;
use fulmar_store::statuses::NewStatus;
use serde_json::Value;

use crate::db_test;
use crate::helpers::{error_of, TestApp};

/// Inserts a remote account, as federation will.
async fn remote_account(app: &TestApp, n: i64) -> i64 {
    let id = 1_000 + n;
    fulmar_store::accounts::insert_account(
        app.db(),
        &NewAccount {
            id,
            username: format!("user{n}"),
            domain: Some("remote.example".into()),
            uri: format!("https://remote.example/users/user{n}"),
            actor_type: "Person".into(),
            created_at: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    id
}

/// Follows every `next` link from the first page and returns the items in order,
/// checking each page's shape on the way.
async fn walk(app: &TestApp, collection: &Value) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = collection["first"].as_str().map(str::to_owned);
    let mut pages = 0;
    while let Some(url) = next {
        pages += 1;
        assert!(pages < 50, "runaway paging");
        let path = url.strip_prefix("https://fulmar.test").unwrap();
        let page = app.get_activity(path).await;
        assert_eq!(page["type"], "OrderedCollectionPage");
        assert_eq!(page["partOf"], collection["id"]);
        assert_eq!(page["id"], url.as_str());
        items.extend(page["orderedItems"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_owned);
    }
    items
}

db_test!(
    followers_and_following_page_through_every_item,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        for n in 0..45 {
            let remote = remote_account(&app, n).await;
            fulmar_store::follows::insert(
                app.db(),
                &NewFollow {
                    id: 10_000 + n,
                    account_id: remote,
                    target_account_id: alice.id,
                    uri: None,
                    created_at: 1,
                },
            )
            .await
            .unwrap();
            if n < 3 {
                fulmar_store::follows::insert(
                    app.db(),
                    &NewFollow {
                        id: 20_000 + n,
                        account_id: alice.id,
                        target_account_id: remote,
                        uri: None,
                        created_at: 1,
                    },
                )
                .await
                .unwrap();
            }
        }

        let followers = app.get_activity("/users/alice/followers").await;
        assert_eq!(followers["type"], "OrderedCollection");
        assert_eq!(followers["totalItems"], 45);
        assert!(
            followers.get("orderedItems").is_none(),
            "the collection itself embeds no items"
        );
        insta::assert_json_snapshot!("followers_collection", followers);

        let items = walk(&app, &followers).await;
        let expected: Vec<Value> = (0..45)
            .rev()
            .map(|n| Value::String(format!("https://remote.example/users/user{n}")))
            .collect();
        assert_eq!(items, expected, "newest follow first, each once");

        // A page in the middle links both ways, and min_id gives the page above it.
        let second = app
            .get_activity("/users/alice/followers?page=true&max_id=10025")
            .await;
        assert_eq!(second["orderedItems"].as_array().unwrap().len(), 20);
        assert_eq!(
            second["orderedItems"][0],
            "https://remote.example/users/user24"
        );
        assert_eq!(
            second["next"],
            "https://fulmar.test/users/alice/followers?page=true&max_id=10005"
        );
        assert_eq!(
            second["prev"],
            "https://fulmar.test/users/alice/followers?page=true&min_id=10024"
        );
        let above = app
            .get_activity("/users/alice/followers?page=true&min_id=10024")
            .await;
        let above_items = above["orderedItems"].as_array().unwrap();
        assert_eq!(above_items.len(), 20);
        assert_eq!(above_items[0], "https://remote.example/users/user44");
        assert_eq!(above_items[19], "https://remote.example/users/user25");
        // The last page has no next link (clients would loop otherwise).
        let last = app
            .get_activity("/users/alice/followers?page=true&max_id=10005")
            .await;
        assert_eq!(last["orderedItems"].as_array().unwrap().len(), 5);
        assert!(last.get("next").is_none());

        let following = app.get_activity("/users/alice/following").await;
        assert_eq!(following["totalItems"], 3);
        let items = walk(&app, &following).await;
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], "https://remote.example/users/user2");
    }
);

db_test!(
    hidden_networks_show_only_counts,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        let remote = remote_account(&app, 1).await;
        fulmar_store::follows::insert(
            app.db(),
            &NewFollow {
                id: 5,
                account_id: remote,
                target_account_id: alice.id,
                uri: None,
                created_at: 1,
            },
        )
        .await
        .unwrap();
        fulmar_store::with_pool!(app.db(), p => sqlx::query("UPDATE accounts SET hide_collections = TRUE WHERE id = $1").bind(alice.id).execute(p).await.map(|_| ())).unwrap();
        let page = app.get_activity("/users/alice/followers?page=true").await;
        assert_eq!(page["totalItems"], 1);
        assert_eq!(page["orderedItems"], serde_json::json!([]));
    }
);

db_test!(outbox_serves_public_posts_only, |app: TestApp| async move {
    let alice = app.create_user("alice").await;
    let visibilities = ["public", "unlisted", "private", "direct"];
    for n in 0..24i64 {
        let visibility = visibilities[(n % 4) as usize];
        fulmar_store::statuses::insert(
            app.db(),
            &NewStatus {
                id: 500 + n,
                uri: format!("https://fulmar.test/users/alice/statuses/{}", 500 + n),
                account_id: alice.id,
                content: format!("<p>{visibility} {n}</p>"),
                text: Some(format!("{visibility} {n}")),
                visibility: visibility.into(),
                language: Some("en".into()),
                local: true,
                created_at: 1_700_000_000_000 + n * 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let outbox = app.get_activity("/users/alice/outbox").await;
    assert_eq!(
        outbox["totalItems"], 12,
        "only public and unlisted posts count"
    );
    let items = walk(&app, &outbox).await;
    assert_eq!(items.len(), 12);
    let text = serde_json::to_string(&items).unwrap();
    assert!(
        !text.contains("private") && !text.contains("direct"),
        "{text}"
    );
    assert!(items.iter().all(|i| i["type"] == "Create"));
    // Newest first; public addressed to everyone, unlisted to followers.
    assert_eq!(items[0]["object"]["content"], "<p>unlisted 21</p>");
    assert_eq!(
        items[0]["object"]["cc"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    assert_eq!(
        items[1]["object"]["to"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    insta::assert_json_snapshot!("outbox_item", items[1]);
});

db_test!(
    collection_pages_reject_bad_cursors,
    |app: TestApp| async move {
        app.create_user("alice").await;
        for query in ["max_id=abc", "min_id=-5", "max_id=1e9"] {
            for c in ["outbox", "followers", "following", "collections/featured"] {
                let res = app
                    .get_with_accept(
                        &format!("/users/alice/{c}?page=true&{query}"),
                        "application/activity+json",
                    )
                    .await;
                assert_eq!(res.status(), 400, "{c}?{query}");
                assert!(error_of(res).await.contains("decimal id"));
            }
        }
        let res = app
            .get_with_accept("/users/nobody/outbox", "application/activity+json")
            .await;
        assert_eq!(res.status(), 404);
        // Featured collections exist, even empty, and page.
        let featured = app.get_activity("/users/alice/collections/featured").await;
        assert_eq!(featured["totalItems"], 0);
        assert!(walk(&app, &featured).await.is_empty());
        let tags = app.get_activity("/users/alice/collections/tags").await;
        assert_eq!(tags["type"], "OrderedCollection");
    }
);

db_test!(
    local_items_follow_the_configured_domain,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        let bob = app.create_user("bob").await;
        fulmar_store::follows::insert(
            app.db(),
            &NewFollow {
                id: 7,
                account_id: bob.id,
                target_account_id: alice.id,
                uri: None,
                created_at: 1,
            },
        )
        .await
        .unwrap();
        // A stored URI from an older configuration must not leak into documents.
        fulmar_store::with_pool!(app.db(), p => sqlx::query("UPDATE accounts SET uri = 'http://old.example/users/bob' WHERE id = $1").bind(bob.id).execute(p).await.map(|_| ())).unwrap();
        let page = app.get_activity("/users/alice/followers?page=true").await;
        assert_eq!(
            page["orderedItems"],
            serde_json::json!(["https://fulmar.test/users/bob"])
        );
        let page = app.get_activity("/users/bob/following?page=true").await;
        assert_eq!(
            page["orderedItems"],
            serde_json::json!(["https://fulmar.test/users/alice"])
        );
    }
);
