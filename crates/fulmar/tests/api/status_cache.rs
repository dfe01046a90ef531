//! Timelines written from the status cache (`mastodon::status_cache`): the same bytes
//! as the `Status` entities of the single-status endpoint, a status's JSON that
//! follows every kind of change made to it in the database, and viewer flags that
//! never pass from one reader's page to another's.

use fulmar::core::ids::next_id;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{send, TestApp};
use crate::timelines::{exec, follow, post, post_with, tag, Post};

/// The body of a GET, as text.
async fn raw(app: &TestApp, path: &str, token: Option<&str>) -> String {
    let req = match token {
        Some(token) => app.api(reqwest::Method::GET, path, token),
        None => reqwest::Client::new().get(app.url(path)),
    };
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.text().await.unwrap()
}

/// A timeline's page, checked to be byte for byte what the single-status endpoint
/// (which serializes `Status` entities built by `to_mastodon::statuses`) gives for
/// each of its statuses, twice: when the statuses are rendered, and from the cache.
async fn page(app: &TestApp, path: &str, token: Option<&str>) -> Vec<Value> {
    for _ in 0..2 {
        let body = raw(app, path, token).await;
        let parsed: Vec<Value> = serde_json::from_str(&body).unwrap();
        let mut expected = String::from("[");
        for (i, status) in parsed.iter().enumerate() {
            if i > 0 {
                expected.push(',');
            }
            let id = status["id"].as_str().unwrap();
            expected.push_str(&raw(app, &format!("/api/v1/statuses/{id}"), token).await);
        }
        expected.push(']');
        assert_eq!(body, expected, "{path}");
    }
    let body = raw(app, path, token).await;
    serde_json::from_str(&body).unwrap()
}

/// Whether a status of a page has the id `id`.
fn is(status: &Value, id: i64) -> bool {
    status["id"].as_str() == Some(id.to_string().as_str())
}

fn find(page: &[Value], id: i64) -> &Value {
    page.iter()
        .find(|s| is(s, id))
        .unwrap_or_else(|| panic!("status {id} not on the page"))
}

async fn attach_media(app: &TestApp, account: i64, status: i64) -> i64 {
    let id = next_id();
    exec(
        app,
        "INSERT INTO media_attachments (id, account_id, status_id, media_type, remote_url, \
         description, blurhash, meta, created_at, updated_at) VALUES ($1, $2, $3, 'image', \
         'https://media.example/a.png', 'a \"quoted\" fulmar', 'LKO2', \
         '{\"original\":{\"width\":640,\"height\":480}}', $4, $4)",
        &[id, account, status, 0],
    )
    .await;
    id
}

async fn attach_poll(app: &TestApp, account: i64, status: i64) -> i64 {
    let id = next_id();
    exec(
        app,
        "INSERT INTO polls (id, status_id, account_id, options, cached_tallies, votes_count, \
         expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, '[\"yes\",\"no\"]', '[0,0]', 0, 4102444800000, 0, 0)",
        &[id, status, account],
    )
    .await;
    exec(
        app,
        "UPDATE statuses SET poll_id = $2 WHERE id = $1",
        &[status, id],
    )
    .await;
    id
}

db_test!(
    timeline_pages_are_the_bytes_of_the_status_entities,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", "read write").await;
        let (bob, bob_token) = app.user_with_token("bob", "read write").await;
        let carol = app.create_user("carol").await;
        follow(&app, &alice, &bob).await;

        let mentioning = post_with(
            &app,
            &bob,
            Post {
                text: "hello @alice, <b>&\"quotes\"</b> \u{1F426} #Fulmar",
                mentions: &[alice.id],
                tags: &["fulmar", "birds"],
                ..Default::default()
            },
        )
        .await;
        let with_media = post(&app, &bob, "a picture").await;
        attach_media(&app, bob.id, with_media).await;
        let with_poll = post(&app, &bob, "a question").await;
        attach_poll(&app, bob.id, with_poll).await;
        let quoting = post(&app, &bob, "look at this").await;
        fulmar_store::statuses::set_quote(app.db(), quoting, mentioning, "accepted")
            .await
            .unwrap();
        let reblog = post_with(
            &app,
            &bob,
            Post {
                reblog_of: Some(quoting),
                ..Default::default()
            },
        )
        .await;
        let own = post(&app, &alice, "my own").await;
        let pending = post(&app, &bob, "pending quote").await;
        fulmar_store::statuses::set_quote(app.db(), pending, own, "pending")
            .await
            .unwrap();
        let secret = post_with(
            &app,
            &carol,
            Post {
                text: "followers only",
                visibility: "private",
                ..Default::default()
            },
        )
        .await;
        let unauthorized = post(&app, &bob, "quoting what alice may not see").await;
        fulmar_store::statuses::set_quote(app.db(), unauthorized, secret, "accepted")
            .await
            .unwrap();
        for (path, id) in [
            ("favourite", mentioning),
            ("bookmark", with_media),
            ("pin", own),
            ("reblog", with_poll),
            ("favourite", quoting),
        ] {
            let (code, _) = app
                .api_post(&format!("/api/v1/statuses/{id}/{path}"), &token, json!({}))
                .await;
            assert_eq!(code, 200, "{path}");
        }

        let home = page(&app, "/api/v1/timelines/home?limit=40", Some(&token)).await;
        assert_eq!(find(&home, reblog)["reblog"]["id"], quoting.to_string());
        assert_eq!(
            find(&home, quoting)["quote"]["quoted_status"]["id"],
            mentioning.to_string()
        );
        assert_eq!(find(&home, unauthorized)["quote"]["state"], "unauthorized");
        assert_eq!(find(&home, pending)["quote"]["state"], "pending");
        assert_eq!(find(&home, mentioning)["favourited"], true);
        assert_eq!(find(&home, mentioning)["mentions"][0]["acct"], "alice");
        assert_eq!(find(&home, with_media)["bookmarked"], true);
        assert_eq!(find(&home, own)["pinned"], true);
        assert_eq!(find(&home, with_poll)["reblogged"], true);
        assert_eq!(find(&home, mentioning)["bookmarked"], false);
        // A flag on a reblogged status shows inside the reblog too.
        assert_eq!(find(&home, quoting)["favourited"], true);
        assert_eq!(find(&home, reblog)["reblog"]["favourited"], true);
        assert_eq!(find(&home, with_poll)["poll"]["options"][1]["title"], "no");
        // Bob's page holds the same statuses, with his flags, and without a token
        // the public timeline has none.
        page(&app, "/api/v1/timelines/home?limit=40", Some(&bob_token)).await;
        page(&app, "/api/v1/timelines/public?limit=40", None).await;
        page(&app, "/api/v1/timelines/public?limit=40", Some(&token)).await;
        page(&app, "/api/v1/timelines/tag/fulmar", Some(&token)).await;
    }
);

db_test!(
    a_kept_status_follows_every_change_in_the_database,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", "read write").await;
        let (bob, bob_token) = app.user_with_token("bob", "read write").await;
        let (_carol, carol_token) = app.user_with_token("carol", "read write").await;
        follow(&app, &alice, &bob).await;
        let status = post(&app, &bob, "first words").await;
        let media = attach_media(&app, bob.id, status).await;
        let poll = attach_poll(&app, bob.id, status).await;
        let quoted = post(&app, &bob, "to be quoted").await;
        let quoting = post(&app, &bob, "quoting").await;
        fulmar_store::statuses::set_quote(app.db(), quoting, quoted, "pending")
            .await
            .unwrap();
        let home = "/api/v1/timelines/home?limit=40";
        let first = page(&app, home, Some(&token)).await;
        assert_eq!(find(&first, status)["favourites_count"], 0);

        // Counts.
        let (code, _) = app
            .api_post(
                &format!("/api/v1/statuses/{status}/favourite"),
                &carol_token,
                json!({}),
            )
            .await;
        assert_eq!(code, 200);
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, status)["favourites_count"], 1);
        assert_eq!(find(&now, status)["favourited"], false);
        let (code, _) = app
            .api_post(
                "/api/v1/statuses",
                &carol_token,
                json!({"status": "a reply", "in_reply_to_id": status.to_string()}),
            )
            .await;
        assert_eq!(code, 200);
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, status)["replies_count"], 1);

        // An edit.
        let (code, _) = send(
            app.api(
                reqwest::Method::PUT,
                &format!("/api/v1/statuses/{status}"),
                &bob_token,
            )
            .json(&json!({"status": "second words"})),
        )
        .await;
        assert_eq!(code, 200);
        let now = page(&app, home, Some(&token)).await;
        assert!(find(&now, status)["content"]
            .as_str()
            .unwrap()
            .contains("second words"));
        assert!(find(&now, status)["edited_at"].is_string());

        // A vote in its poll (polls are written per request, never kept).
        exec(
            &app,
            "UPDATE polls SET cached_tallies = '[3,1]', votes_count = 4 WHERE id = $1",
            &[poll],
        )
        .await;
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, status)["poll"]["votes_count"], 4);
        assert_eq!(find(&now, status)["poll"]["options"][0]["votes_count"], 3);

        // Its media's description, then the media removed.
        exec(
            &app,
            "UPDATE media_attachments SET description = 'described again' WHERE id = $1",
            &[media],
        )
        .await;
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(
            find(&now, status)["media_attachments"][0]["description"],
            "described again"
        );
        exec(
            &app,
            "DELETE FROM media_attachments WHERE id = $1",
            &[media],
        )
        .await;
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, status)["media_attachments"], json!([]));

        // Mentions and hashtags, which some write paths change on their own.
        exec(
            &app,
            "INSERT INTO mentions (id, status_id, account_id) VALUES ($1, $2, $3)",
            &[next_id(), status, alice.id],
        )
        .await;
        tag(&app, status, "seabirds").await;
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, status)["mentions"][0]["username"], "alice");
        assert_eq!(find(&now, status)["tags"][0]["name"], "seabirds");

        // The mentioned account and the author, which have versions of their own.
        exec(
            &app,
            "UPDATE accounts SET display_name = 'Bob Again' WHERE id = $1",
            &[bob.id],
        )
        .await;
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, status)["account"]["display_name"], "Bob Again");

        // The quote's approval, then the quoted status's deletion.
        fulmar_store::quotes::set_state(app.db(), quoting, "accepted", None)
            .await
            .unwrap();
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, quoting)["quote"]["state"], "accepted");
        assert_eq!(
            find(&now, quoting)["quote"]["quoted_status"]["id"],
            quoted.to_string()
        );
        let (code, _) = send(app.api(
            reqwest::Method::DELETE,
            &format!("/api/v1/statuses/{quoted}"),
            &bob_token,
        ))
        .await;
        assert_eq!(code, 200);
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, quoting)["quote"]["state"], "deleted");
        assert!(now.iter().all(|s| !is(s, quoted)));

        // The status's deletion: a reblog of it goes with it.
        let reblog = post_with(
            &app,
            &bob,
            Post {
                reblog_of: Some(status),
                ..Default::default()
            },
        )
        .await;
        let now = page(&app, home, Some(&token)).await;
        assert_eq!(find(&now, reblog)["reblog"]["id"], status.to_string());
        exec(
            &app,
            "UPDATE statuses SET deleted_at = 1 WHERE id = $1",
            &[status],
        )
        .await;
        let now = page(&app, home, Some(&token)).await;
        assert!(now.iter().all(|s| !is(s, status) && !is(s, reblog)));
    }
);

db_test!(
    one_readers_flags_never_show_on_anothers_page,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", "read write").await;
        let (dave, dave_token) = app.user_with_token("dave", "read write").await;
        let bob = app.create_user("bob").await;
        follow(&app, &alice, &bob).await;
        follow(&app, &dave, &bob).await;
        let status = post(&app, &bob, "for both").await;
        let home = "/api/v1/timelines/home?limit=40";
        // Dave's page first keeps the status; alice's flags must still be hers.
        page(&app, home, Some(&dave_token)).await;
        for path in ["favourite", "bookmark", "reblog"] {
            let (code, _) = app
                .api_post(
                    &format!("/api/v1/statuses/{status}/{path}"),
                    &alice_token,
                    json!({}),
                )
                .await;
            assert_eq!(code, 200, "{path}");
        }
        for _ in 0..2 {
            let hers = page(&app, home, Some(&alice_token)).await;
            let s = find(&hers, status);
            assert_eq!(
                (&s["favourited"], &s["bookmarked"], &s["reblogged"]),
                (&json!(true), &json!(true), &json!(true))
            );
            let his = page(&app, home, Some(&dave_token)).await;
            let s = find(&his, status);
            assert_eq!(
                (&s["favourited"], &s["bookmarked"], &s["reblogged"]),
                (&json!(false), &json!(false), &json!(false))
            );
            assert_eq!(s["favourites_count"], 1);
        }
        // Without a token there are no flags at all.
        let public = page(&app, "/api/v1/timelines/public", None).await;
        assert!(find(&public, status).get("favourited").is_none());
        let _ = (alice.id, dave.id);
    }
);
