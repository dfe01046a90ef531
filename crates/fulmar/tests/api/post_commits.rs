//! New local posts are stored in group commits (`core::post_commits`): posts that
//! arrive together share one transaction. Whatever the grouping, every post is stored
//! once, with its author's counters, its home-feed rows, its mentions' notifications
//! and its outbox job exactly as when posted alone; and a post that cannot be stored
//! fails alone, while the others of its group are stored.

use fulmar::core::ids::next_id;
use fulmar::core::post_commits::store_group;
use fulmar_store::accounts::NewAccount;
use fulmar_store::jobs::NewJob;
use fulmar_store::status_actions::{LocalPost, NewMention};
use fulmar_store::statuses::NewStatus;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::db_test;
use crate::helpers::TestApp;

const ALL: &str = "read write follow";

/// One number from the database.
async fn count(app: &TestApp, sql: &str, bind: i64) -> i64 {
    fulmar_store::with_pool!(app.db(), p => sqlx::query_scalar::<_, i64>(sql)
        .bind(bind)
        .fetch_one(p)
        .await)
    .unwrap()
}

async fn statuses_of(app: &TestApp, account: i64) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM statuses WHERE account_id = $1",
        account,
    )
    .await
}

async fn feed_of(app: &TestApp, account: i64) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM home_feed WHERE account_id = $1",
        account,
    )
    .await
}

async fn counted_for(app: &TestApp, account: i64) -> i64 {
    fulmar_store::accounts::by_id(app.db(), account)
        .await
        .unwrap()
        .unwrap()
        .statuses_count
}

/// Sends all `posts` (token, body) at once; returns each answer, in their order.
async fn post_all(app: &TestApp, posts: Vec<(String, Value)>) -> Vec<(u16, Value)> {
    let mut set = JoinSet::new();
    for (i, (token, body)) in posts.into_iter().enumerate() {
        let req = app
            .api(reqwest::Method::POST, "/api/v1/statuses", &token)
            .json(&body);
        set.spawn(async move { (i, crate::helpers::send(req).await) });
    }
    let mut answers: Vec<(usize, (u16, Value))> = set.join_all().await;
    answers.sort_by_key(|(i, _)| *i);
    answers.into_iter().map(|(_, a)| a).collect()
}

db_test!(
    concurrent_posts_by_one_author_are_each_stored_once_and_counted,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let bob = app.create_user("bob").await;
        crate::helpers::follow_directly(app.db(), bob.id, alice.id).await;
        const N: usize = 40;
        let answers = post_all(
            &app,
            (0..N)
                .map(|i| (token.clone(), json!({"status": format!("post number {i}")})))
                .collect(),
        )
        .await;
        let mut ids = std::collections::HashSet::new();
        for (i, (code, body)) in answers.iter().enumerate() {
            assert_eq!(*code, 200, "{body}");
            assert_eq!(body["content"], json!(format!("<p>post number {i}</p>")));
            assert_eq!(body["account"]["id"], json!(alice.id.to_string()));
            ids.insert(body["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), N);
        assert_eq!(statuses_of(&app, alice.id).await, N as i64);
        assert_eq!(counted_for(&app, alice.id).await, N as i64);
        let (code, account) = app
            .api_get(&format!("/api/v1/accounts/{}", alice.id), &token)
            .await;
        assert_eq!(code, 200);
        assert_eq!(account["statuses_count"], json!(N));
        // The author's own feed and the follower's have every post, once.
        assert_eq!(feed_of(&app, alice.id).await, N as i64);
        assert_eq!(feed_of(&app, bob.id).await, N as i64);
        // Each post reads back as the answer showed it.
        for id in &ids {
            let (code, s) = app.api_get(&format!("/api/v1/statuses/{id}"), &token).await;
            assert_eq!(code, 200, "{s}");
        }
    }
);

db_test!(
    concurrent_posts_by_several_authors_keep_each_authors_counters_and_feeds,
    |app: TestApp| async move {
        let (ann, ann_token) = app.user_with_token("ann", ALL).await;
        let (ben, ben_token) = app.user_with_token("ben", ALL).await;
        let (cid, cid_token) = app.user_with_token("cid", ALL).await;
        let (dora, dora_token) = app.user_with_token("dora", ALL).await;
        // Dora follows ann and ben (not cid).
        crate::helpers::follow_directly(app.db(), dora.id, ann.id).await;
        crate::helpers::follow_directly(app.db(), dora.id, ben.id).await;
        const N: usize = 12;
        let mut posts = Vec::new();
        for i in 0..N {
            // Ann mentions dora in public posts; ben posts unlisted; cid writes
            // direct messages to dora.
            posts.push((
                ann_token.clone(),
                json!({"status": format!("@dora hi {i}")}),
            ));
            posts.push((
                ben_token.clone(),
                json!({"status": format!("ben {i}"), "visibility": "unlisted"}),
            ));
            posts.push((
                cid_token.clone(),
                json!({"status": format!("@dora psst {i}"), "visibility": "direct"}),
            ));
        }
        let answers = post_all(&app, posts).await;
        for (code, body) in &answers {
            assert_eq!(*code, 200, "{body}");
        }
        for (i, (_, body)) in answers.iter().enumerate() {
            let expected = ["public", "unlisted", "direct"][i % 3];
            assert_eq!(body["visibility"], json!(expected), "{body}");
        }
        for author in [ann.id, ben.id, cid.id] {
            assert_eq!(statuses_of(&app, author).await, N as i64);
            assert_eq!(feed_of(&app, author).await, N as i64);
        }
        // Direct messages do not count for their author (as in Mastodon).
        assert_eq!(counted_for(&app, ann.id).await, N as i64);
        assert_eq!(counted_for(&app, ben.id).await, N as i64);
        assert_eq!(counted_for(&app, cid.id).await, 0);
        // Dora's feed: ann's and ben's posts, and cid's direct messages to her.
        assert_eq!(feed_of(&app, dora.id).await, 3 * N as i64);
        // One mention notification per post that names her.
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND notification_type = 'mention'",
                dora.id,
            )
            .await,
            2 * N as i64
        );
        let (code, notes) = app
            .api_get("/api/v1/notifications?limit=80", &dora_token)
            .await;
        assert_eq!(code, 200, "{notes}");
        assert_eq!(notes.as_array().unwrap().len(), 2 * N);
    }
);

db_test!(
    posts_with_one_idempotency_key_sent_together_are_stored_once,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let mut set = JoinSet::new();
        for _ in 0..6 {
            let req = app
                .api(reqwest::Method::POST, "/api/v1/statuses", &token)
                .header("Idempotency-Key", "same-key")
                .json(&json!({"status": "only once"}));
            set.spawn(crate::helpers::send(req));
        }
        let answers = set.join_all().await;
        let ids: std::collections::HashSet<String> = answers
            .iter()
            .map(|(code, body)| {
                assert_eq!(*code, 200, "{body}");
                body["id"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(ids.len(), 1);
        assert_eq!(statuses_of(&app, alice.id).await, 1);
        assert_eq!(counted_for(&app, alice.id).await, 1);
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

/// A post as posting makes it, with `id`, and an outbox job on a queue no worker
/// serves (so that it stays to be counted).
fn local_post(id: i64, author: i64, visibility: &str, mentions: &[i64]) -> LocalPost {
    LocalPost {
        status: NewStatus {
            id,
            uri: format!("https://example.test/statuses/{id}"),
            account_id: author,
            content: format!("<p>post {id}</p>"),
            text: Some(format!("post {id}")),
            visibility: visibility.into(),
            local: true,
            created_at: 1,
            ..Default::default()
        },
        mentions: mentions
            .iter()
            .map(|&account_id| NewMention {
                id: next_id(),
                account_id,
            })
            .collect(),
        tags: Vec::new(),
        counts_for_author: visibility != "direct",
        counts_as_reply: false,
        quote_policy: "public".into(),
        quote: None,
        outbox: NewJob {
            id: next_id(),
            queue: "test-unserved".into(),
            payload: "{}".into(),
            run_at: i64::MAX / 2,
            concurrency_key: None,
            max_attempts: 1,
            created_at: 1,
        },
    }
}

db_test!(
    a_post_that_cannot_be_stored_fails_alone_and_its_group_is_stored_once,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let bob = app.create_user("bob").await;
        crate::helpers::follow_directly(app.db(), bob.id, alice.id).await;
        let rita = remote(&app, "rita").await;
        let (code, existing) = app
            .api_post("/api/v1/statuses", &token, json!({"status": "first"}))
            .await;
        assert_eq!(code, 200, "{existing}");
        let taken: i64 = existing["id"].as_str().unwrap().parse().unwrap();

        // The third post reuses the id of a stored status: the group's transaction
        // fails, and its posts are stored one by one.
        let group = vec![
            local_post(next_id(), alice.id, "public", &[bob.id]),
            local_post(next_id(), alice.id, "public", &[rita]),
            local_post(taken, alice.id, "public", &[bob.id]),
            local_post(next_id(), alice.id, "direct", &[bob.id]),
        ];
        let results = store_group(app.db(), &group).await;
        assert_eq!(results.len(), 4);
        for (i, result) in results.iter().enumerate() {
            match result {
                Ok(row) => {
                    assert_ne!(i, 2, "the post with a taken id was stored");
                    assert_eq!(row.status.id, group[i].status.id);
                    assert_eq!(row.status.visibility, group[i].status.visibility);
                }
                Err(e) => assert_eq!(i, 2, "post {i} failed: {e}"),
            }
        }
        // Nothing twice: the first post, then the group's three.
        assert_eq!(statuses_of(&app, alice.id).await, 4);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM statuses WHERE id = $1", taken).await,
            1
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM statuses WHERE id = $1 AND text = 'first'",
                taken
            )
            .await,
            1
        );
        // The direct message does not count.
        assert_eq!(counted_for(&app, alice.id).await, 3);
        assert_eq!(feed_of(&app, alice.id).await, 4);
        // Bob follows alice and is mentioned in the direct message.
        assert_eq!(feed_of(&app, bob.id).await, 4);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM mentions m JOIN statuses s ON s.id = m.status_id \
                 WHERE s.account_id = $1",
                alice.id,
            )
            .await,
            3
        );
        // Only the post mentioning a remote account has an outbox job.
        let jobs = |id: i64| count(&app, "SELECT COUNT(*) FROM jobs WHERE id = $1", id);
        assert_eq!(jobs(group[0].outbox.id).await, 0);
        assert_eq!(jobs(group[1].outbox.id).await, 1);
        assert_eq!(jobs(group[2].outbox.id).await, 0);
        assert_eq!(jobs(group[3].outbox.id).await, 0);
    }
);

db_test!(
    a_group_stores_outbox_jobs_only_for_a_remote_audience,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        let bob = app.create_user("bob").await;
        let rita = remote(&app, "rita").await;
        let group = vec![
            local_post(next_id(), alice.id, "public", &[bob.id]),
            local_post(next_id(), alice.id, "direct", &[rita]),
            local_post(next_id(), bob.id, "public", &[rita]),
            local_post(next_id(), bob.id, "public", &[]),
        ];
        for result in store_group(app.db(), &group).await {
            result.unwrap();
        }
        let jobs = |id: i64| count(&app, "SELECT COUNT(*) FROM jobs WHERE id = $1", id);
        let stored = [
            jobs(group[0].outbox.id).await,
            jobs(group[1].outbox.id).await,
            jobs(group[2].outbox.id).await,
            jobs(group[3].outbox.id).await,
        ];
        assert_eq!(stored, [0, 1, 1, 0]);

        // A remote follower of alice is an audience for her posts, but not for her
        // direct messages without a remote mention.
        fulmar_store::follows::insert(
            app.db(),
            &fulmar_store::follows::NewFollow {
                id: next_id(),
                account_id: rita,
                target_account_id: alice.id,
                uri: None,
                created_at: 1,
            },
        )
        .await
        .unwrap();
        let group = vec![
            local_post(next_id(), alice.id, "private", &[]),
            local_post(next_id(), alice.id, "direct", &[bob.id]),
            local_post(next_id(), bob.id, "public", &[]),
        ];
        for result in store_group(app.db(), &group).await {
            result.unwrap();
        }
        let stored = [
            jobs(group[0].outbox.id).await,
            jobs(group[1].outbox.id).await,
            jobs(group[2].outbox.id).await,
        ];
        assert_eq!(stored, [1, 0, 0]);
        assert_eq!(counted_for(&app, alice.id).await, 2);
        assert_eq!(counted_for(&app, bob.id).await, 3);
    }
);

db_test!(
    a_failing_post_among_concurrent_ones_fails_alone,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        // A trigger that refuses one text stands for whatever can make one post fail
        // in the database.
        match app.backend {
            crate::helpers::Backend::Sqlite => {
                crate::timelines::exec(
                    &app,
                    "CREATE TRIGGER refuse_post BEFORE INSERT ON statuses \
                     WHEN NEW.text = 'refuse me' \
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
                    &[],
                )
                .await
            }
            crate::helpers::Backend::Postgres => {
                crate::timelines::exec(
                    &app,
                    "CREATE FUNCTION refuse_post() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN IF NEW.text = 'refuse me' THEN \
                     RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
                    &[],
                )
                .await;
                crate::timelines::exec(
                    &app,
                    "CREATE TRIGGER refuse_post BEFORE INSERT ON statuses \
                     FOR EACH ROW EXECUTE FUNCTION refuse_post()",
                    &[],
                )
                .await
            }
        }
        const N: usize = 24;
        let refused = N / 2;
        let answers = post_all(
            &app,
            (0..N)
                .map(|i| {
                    let text = if i == refused {
                        "refuse me".to_owned()
                    } else {
                        format!("fine {i}")
                    };
                    (token.clone(), json!({ "status": text }))
                })
                .collect(),
        )
        .await;
        for (i, (code, body)) in answers.iter().enumerate() {
            if i == refused {
                assert_eq!(*code, 500, "{body}");
            } else {
                assert_eq!(*code, 200, "{body}");
            }
        }
        assert_eq!(statuses_of(&app, alice.id).await, N as i64 - 1);
        assert_eq!(counted_for(&app, alice.id).await, N as i64 - 1);
        assert_eq!(feed_of(&app, alice.id).await, N as i64 - 1);
    }
);

/// A token for `account`'s user issued to a registered application (id `app_id`), as
/// the OAuth flow makes them.
async fn app_token(app: &TestApp, account: i64, app_id: i64) -> String {
    let user = fulmar_store::users::by_account_id(app.db(), account)
        .await
        .unwrap()
        .unwrap();
    fulmar_store::with_pool!(app.db(), p => sqlx::query(
        "INSERT INTO oauth_applications (id, name, website, redirect_uris, scopes, client_id, client_secret, created_at) \
         VALUES ($1, 'Test App', 'https://app.example', 'urn:ietf:wg:oauth:2.0:oob', 'read write', $2, 'secret', 1)",
    )
    .bind(app_id)
    .bind(format!("client-{app_id}"))
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
    let token = fulmar::core::accounts::new_secret();
    fulmar_store::tokens::insert(
        app.db(),
        &fulmar_store::tokens::NewToken {
            id: next_id(),
            token_hash: fulmar::core::accounts::token_digest(&token),
            application_id: Some(app_id),
            user_id: Some(user.id),
            scopes: ALL.into(),
            created_at: 1,
        },
    )
    .await
    .unwrap();
    token
}

db_test!(
    the_answer_to_a_post_is_the_status_as_read_after_it,
    |app: TestApp| async move {
        // The answer is rendered from what the request read with its token (the
        // author, the application) and what posting read back with the status (the
        // author's counters), without reading them again: it must be what reading
        // the status shows.
        let (alice, _) = app.user_with_token("alice", ALL).await;
        app.create_user("bob").await;
        let token = app_token(&app, alice.id, 91).await;
        let shown = |id: String| {
            let app = &app;
            let token = token.clone();
            async move {
                let (code, s) = app.api_get(&format!("/api/v1/statuses/{id}"), &token).await;
                assert_eq!(code, 200, "{s}");
                s
            }
        };
        // Alone, one after another: the answer is the status as read afterwards.
        for text in ["first #tagged post for @bob", "second, plain"] {
            let answers = post_all(&app, vec![(token.clone(), json!({ "status": text }))]).await;
            let (code, answer) = &answers[0];
            assert_eq!(*code, 200, "{answer}");
            let read = shown(answer["id"].as_str().unwrap().to_owned()).await;
            assert_eq!(*answer, read);
        }
        assert_eq!(
            shown(
                post_all(&app, vec![(token.clone(), json!({"status": "x"}))]).await[0].1["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            )
            .await["application"],
            json!({"name": "Test App", "website": "https://app.example"})
        );
        // Together (group commits): the same, but for the author's counters, which
        // show the posts committed up to the post's own group.
        const N: usize = 16;
        let answers = post_all(
            &app,
            (0..N)
                .map(|i| {
                    (
                        token.clone(),
                        json!({"status": format!("#group post {i} @bob")}),
                    )
                })
                .collect(),
        )
        .await;
        for (code, answer) in answers {
            assert_eq!(code, 200, "{answer}");
            let read = shown(answer["id"].as_str().unwrap().to_owned()).await;
            let count = answer["account"]["statuses_count"].as_i64().unwrap();
            assert!((4..=3 + N as i64).contains(&count), "{count}");
            let mut answer = answer;
            answer["account"]["statuses_count"] = read["account"]["statuses_count"].clone();
            assert_eq!(answer, read);
        }
    }
);

db_test!(
    statuses_read_back_with_their_authors_counters,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let bob = app.create_user("bob").await;
        let mut ids = Vec::new();
        for text in ["one", "two"] {
            let (code, s) = app
                .api_post("/api/v1/statuses", &token, json!({ "status": text }))
                .await;
            assert_eq!(code, 200, "{s}");
            ids.push(s["id"].as_str().unwrap().parse::<i64>().unwrap());
        }
        // Bob has a status but no counters row (as a status stored by other means).
        let bobs = next_id();
        fulmar_store::statuses::insert(
            app.db(),
            &NewStatus {
                id: bobs,
                uri: format!("https://example.test/statuses/{bobs}"),
                account_id: bob.id,
                content: "<p>hi</p>".into(),
                visibility: "public".into(),
                local: true,
                created_at: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        ids.push(bobs);
        ids.push(next_id()); // No such status.
        let rows = fulmar_store::statuses::by_ids_with_author_stats(app.db(), &ids)
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
        let plain = fulmar_store::statuses::by_ids(app.db(), &ids)
            .await
            .unwrap();
        let versions = fulmar_store::accounts::versions(app.db(), &[alice.id, bob.id])
            .await
            .unwrap();
        for row in &rows {
            assert!(plain.contains(&row.status), "{row:?}");
            let author = fulmar_store::accounts::by_id(app.db(), row.status.account_id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.author_statuses_count, author.statuses_count);
            assert_eq!(row.author_last_status_at, author.last_status_at);
            // The token's account version and the counters' version make up the
            // rendered account's version.
            let accounts_version: i64 = count(
                &app,
                "SELECT version FROM accounts WHERE id = $1",
                author.id,
            )
            .await;
            let (_, version) = versions.iter().find(|(id, _)| *id == author.id).unwrap();
            assert_eq!(accounts_version + row.author_stats_version, *version);
        }
        let bob_row = rows.iter().find(|r| r.status.id == bobs).unwrap();
        assert_eq!(
            (
                bob_row.author_statuses_count,
                bob_row.author_last_status_at,
                bob_row.author_stats_version
            ),
            (0, None, 0)
        );
        let alice_row = rows.iter().find(|r| r.status.id == ids[0]).unwrap();
        assert_eq!(alice_row.author_statuses_count, 2);
        assert!(alice_row.author_stats_version > 0);
        assert!(
            fulmar_store::statuses::by_ids_with_author_stats(app.db(), &[])
                .await
                .unwrap()
                .is_empty()
        );
    }
);

db_test!(
    a_token_is_read_with_its_application_and_account_version,
    |app: TestApp| async move {
        let (alice, plain_token) = app.user_with_token("alice", ALL).await;
        let token = app_token(&app, alice.id, 92).await;
        // A change to the account row moves its version.
        fulmar_store::with_pool!(app.db(), p => sqlx::query(
            "UPDATE accounts SET display_name = 'Alice' WHERE id = $1",
        )
        .bind(alice.id)
        .execute(p)
        .await
        .map(|_| ()))
        .unwrap();
        let version = count(&app, "SELECT version FROM accounts WHERE id = $1", alice.id).await;
        assert!(version > 0);
        let digest = fulmar::core::accounts::token_digest;
        let with_app = fulmar_store::tokens::active_by_hash_with_user(app.db(), &digest(&token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            with_app.application,
            Some((
                92,
                "Test App".to_owned(),
                Some("https://app.example".to_owned())
            ))
        );
        assert_eq!(with_app.account_version, Some(version));
        assert_eq!(with_app.account.as_ref().unwrap().display_name, "Alice");
        let without =
            fulmar_store::tokens::active_by_hash_with_user(app.db(), &digest(&plain_token))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(without.application, None);
        assert_eq!(without.account_version, Some(version));
    }
);
