//! Statuses through the Mastodon API: posting (forms, JSON, HTML output), the
//! Status entity, visibility, idempotency, limits, edits, deletes, favourites,
//! reblogs, bookmarks, pins, threads, and the favourites and bookmarks lists.

use fulmar_store::follows::NewFollow;
use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{send, TestApp};

const ALL: &str = "read write follow";

/// Posts a status with a JSON body and expects success.
async fn post(app: &TestApp, token: &str, body: Value) -> Value {
    let (code, json) = app.api_post("/api/v1/statuses", token, body.clone()).await;
    assert_eq!(code, 200, "posting {body}: {json}");
    json
}

async fn post_text(app: &TestApp, token: &str, text: &str) -> String {
    post(app, token, json!({ "status": text })).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn action(app: &TestApp, token: &str, id: &str, verb: &str) -> (u16, Value) {
    app.api_post(&format!("/api/v1/statuses/{id}/{verb}"), token, json!({}))
        .await
}

async fn follow(app: &TestApp, follower: i64, target: i64) {
    fulmar_store::follows::insert(
        app.db(),
        &NewFollow {
            id: fulmar::core::ids::next_id(),
            account_id: follower,
            target_account_id: target,
            uri: None,
            created_at: 1,
        },
    )
    .await
    .unwrap();
}

/// Rows of the notifications table: (type, recipient, sender, status).
async fn notifications(app: &TestApp) -> Vec<(String, i64, i64, Option<i64>)> {
    fulmar_store::with_pool!(app.db(), p => sqlx::query_as::<_, (String, i64, i64, Option<i64>)>(
        "SELECT notification_type, account_id, from_account_id, status_id FROM notifications ORDER BY id",
    )
    .fetch_all(p)
    .await)
    .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    fulmar_store::with_pool!(app.db(), p => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await)
        .unwrap()
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_str().unwrap().parse().unwrap()
}

/// The `Link` header's URL for a relation, as a path on the test server.
fn link(res: &reqwest::Response, rel: &str) -> Option<String> {
    let header = res.headers().get("link")?.to_str().unwrap().to_owned();
    header.split(", ").find_map(|part| {
        let (url, r) = part.split_once("; ")?;
        (r == format!("rel=\"{rel}\"")).then(|| {
            url.trim_matches(['<', '>'])
                .strip_prefix("https://fulmar.test")
                .unwrap()
                .to_owned()
        })
    })
}

db_test!(
    posting_with_form_json_and_form_arrays,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;

        // A form, as most apps send it.
        let (code, form) = app
            .api_post_form(
                "/api/v1/statuses",
                &token,
                &[
                    ("status", "from a form"),
                    ("visibility", "unlisted"),
                    ("sensitive", "true"),
                    ("language", "de"),
                    ("media_ids[]", ""),
                ],
            )
            .await;
        assert_eq!(code, 200, "{form}");
        assert_eq!(form["content"], "<p>from a form</p>");
        assert_eq!(form["visibility"], "unlisted");
        assert_eq!(form["sensitive"], true);
        assert_eq!(form["language"], "de");

        // JSON, as masto.js sends it, with nulls and empty arrays.
        let json = post(
            &app,
            &token,
            json!({"status": "from JSON", "spoiler_text": "cw", "media_ids": [], "poll": null,
                   "in_reply_to_id": null, "language": null, "sensitive": false}),
        )
        .await;
        assert_eq!(json["content"], "<p>from JSON</p>");
        assert_eq!(json["spoiler_text"], "cw");
        // A content warning always marks the status sensitive.
        assert_eq!(json["sensitive"], true);
        // The default visibility and language are the user's.
        assert_eq!(json["visibility"], "public");
        assert_eq!(json["language"], "en");
        assert_eq!(json["text"], Value::Null);

        // Parameters in the query string count too.
        let (code, q) = send(app.api(
            Method::POST,
            "/api/v1/statuses?status=from%20the%20query",
            &token,
        ))
        .await;
        assert_eq!(code, 200, "{q}");
        assert_eq!(q["content"], "<p>from the query</p>");

        // Media and polls are refused for now rather than dropped.
        let (code, err) = app
            .api_post_form(
                "/api/v1/statuses",
                &token,
                &[("status", "pic"), ("media_ids[]", "42")],
            )
            .await;
        assert_eq!(code, 422);
        assert_eq!(
            err["error"],
            "Validation failed: Media 42 not found or already attached to another post"
        );
        let (code, _) = app
            .api_post_form(
                "/api/v1/statuses",
                &token,
                &[
                    ("status", "poll"),
                    ("poll[options][]", "a"),
                    ("poll[options][]", "b"),
                    ("poll[expires_in]", "600"),
                ],
            )
            .await;
        assert_eq!(code, 422);

        // GET /api/v1/statuses?id[]=… answers in the order asked, skipping unknowns.
        let (code, many) = app
            .api_get(
                &format!(
                    "/api/v1/statuses?id[]={}&id[]=999999&id[]={}",
                    json["id"].as_str().unwrap(),
                    form["id"].as_str().unwrap()
                ),
                &token,
            )
            .await;
        assert_eq!(code, 200);
        let ids: Vec<&str> = many
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            vec![json["id"].as_str().unwrap(), form["id"].as_str().unwrap()]
        );

        // Counters and the stored text.
        let account = fulmar_store::accounts::by_id(app.db(), alice.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.statuses_count, 3);
        assert!(account.last_status_at.is_some());
        let row = fulmar_store::statuses::by_id(app.db(), id_of(&json))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.text.as_deref(), Some("from JSON"));
        assert!(row.local);
    }
);

db_test!(
    html_output_links_mentions_hashtags_paragraphs,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("alice", ALL).await;
        app.create_user("bob").await;
        let status = post(
        &app,
        &token,
        json!({"status": "Hello @bob and @nobody!\n\nRead https://www.example.com/a/rather/long/path/to/a/page?x=1. Or https://example.com\nand tell #Fediverse #日本語 & <friends>"}),
    )
    .await;
        insta::assert_json_snapshot!(
            "html_output",
            json!({
                "content": status["content"],
                "mentions": status["mentions"],
                "tags": status["tags"],
            }),
            { ".mentions[].id" => "[id]" }
        );
        // Tags are stored lower-cased, with the typed form kept for display.
        let tags = fulmar_store::with_pool!(app.db(), p => sqlx::query_as::<_, (String, String)>(
        "SELECT name, display_name FROM tags ORDER BY name",
    )
    .fetch_all(p)
    .await)
        .unwrap();
        assert_eq!(
            tags,
            vec![
                ("fediverse".to_string(), "Fediverse".to_string()),
                ("日本語".to_string(), "日本語".to_string())
            ]
        );
    }
);

db_test!(status_entity_has_every_key, |app: TestApp| async move {
    let (_, token) = app.user_with_token("alice", ALL).await;
    let status = post(
        &app,
        &token,
        json!({"status": "An entity", "spoiler_text": "", "visibility": "public"}),
    )
    .await;
    insta::assert_json_snapshot!("status_entity", status, {
        ".id" => "[id]",
        ".uri" => "[uri]",
        ".url" => "[url]",
        ".created_at" => "[date]",
        ".account.id" => "[id]",
        ".account.created_at" => "[date]",
        ".account.last_status_at" => "[date]",
    });
    let id = status["id"].as_str().unwrap();
    assert_eq!(
        status["uri"],
        format!("https://fulmar.test/users/alice/statuses/{id}")
    );
    assert_eq!(status["url"], format!("https://fulmar.test/@alice/{id}"));
    assert!(status["created_at"].as_str().unwrap().ends_with('Z'));

    // Without a token, the viewer flags are absent.
    let res = app.get(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(res.status(), 200);
    let anonymous: Value = res.json().await.unwrap();
    assert!(anonymous.get("favourited").is_none());
    assert_eq!(anonymous["content"], status["content"]);
});

db_test!(reblogs_have_their_own_id, |app: TestApp| async move {
    let (alice, alice_token) = app.user_with_token("alice", ALL).await;
    let (bob, bob_token) = app.user_with_token("bob", ALL).await;
    follow(&app, alice.id, bob.id).await;
    let original = post_text(&app, &alice_token, "boost me").await;

    let (code, reblog) = app
        .api_post(
            &format!("/api/v1/statuses/{original}/reblog"),
            &bob_token,
            json!({"visibility": "unlisted"}),
        )
        .await;
    assert_eq!(code, 200, "{reblog}");
    assert_ne!(reblog["id"], original.as_str());
    assert_eq!(reblog["reblog"]["id"], original.as_str());
    assert_eq!(reblog["reblog"]["reblogs_count"], 1);
    assert_eq!(reblog["reblog"]["reblogged"], true);
    assert_eq!(reblog["account"]["username"], "bob");
    assert_eq!(reblog["visibility"], "unlisted");
    assert_eq!(reblog["content"], "");
    assert_eq!(
        reblog["uri"],
        format!(
            "https://fulmar.test/users/bob/statuses/{}/activity",
            reblog["id"].as_str().unwrap()
        )
    );
    insta::assert_json_snapshot!("reblog_entity", reblog, {
        ".id" => "[id]",
        ".uri" => "[uri]",
        ".url" => "[url]",
        ".created_at" => "[date]",
        ".account.id" => "[id]",
        ".account.created_at" => "[date]",
        ".account.last_status_at" => "[date]",
        ".reblog.id" => "[id]",
        ".reblog.uri" => "[uri]",
        ".reblog.url" => "[url]",
        ".reblog.created_at" => "[date]",
        ".reblog.account.id" => "[id]",
        ".reblog.account.created_at" => "[date]",
        ".reblog.account.last_status_at" => "[date]",
    });

    // Reblogging again returns the same reblog; reblogging the reblog too.
    let (_, again) = action(&app, &bob_token, &original, "reblog").await;
    assert_eq!(again["id"], reblog["id"]);
    let (_, via) = action(&app, &bob_token, reblog["id"].as_str().unwrap(), "reblog").await;
    assert_eq!(via["id"], reblog["id"]);

    // The reblog is a status of its own, readable by id.
    let (code, fetched) = app
        .api_get(
            &format!("/api/v1/statuses/{}", reblog["id"].as_str().unwrap()),
            &alice_token,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(fetched["reblog"]["id"], original.as_str());

    // It reached bob's follower's home feed.
    let in_feed = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM home_feed WHERE account_id = {} AND status_id = {}",
            alice.id,
            reblog["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(in_feed, 1);

    // reblogged_by lists bob.
    let (code, by) = app
        .api_get(
            &format!("/api/v1/statuses/{original}/reblogged_by"),
            &alice_token,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(by[0]["username"], "bob");

    // Unreblog answers the original, no longer reblogged; the reblog is gone.
    let (code, undone) = action(&app, &bob_token, &original, "unreblog").await;
    assert_eq!(code, 200);
    assert_eq!(undone["id"], original.as_str());
    assert_eq!(undone["reblogged"], false);
    assert_eq!(undone["reblogs_count"], 0);
    let (code, _) = app
        .api_get(
            &format!("/api/v1/statuses/{}", reblog["id"].as_str().unwrap()),
            &alice_token,
        )
        .await;
    assert_eq!(code, 404);
    let bob_row = fulmar_store::accounts::by_id(app.db(), bob.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob_row.statuses_count, 0);
    // The reblog notification went with it.
    assert!(notifications(&app)
        .await
        .iter()
        .all(|(kind, ..)| kind != "reblog"));

    // And it can be reblogged again.
    let (code, _) = action(&app, &bob_token, &original, "reblog").await;
    assert_eq!(code, 200);
});

db_test!(
    private_and_direct_statuses_stay_hidden,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;
        let (_, carol_token) = app.user_with_token("carol", ALL).await;
        let private = post(
            &app,
            &alice_token,
            json!({"status": "followers only", "visibility": "private"}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // A stranger and an anonymous reader see nothing, whatever they try.
        for path in [
            format!("/api/v1/statuses/{private}"),
            format!("/api/v1/statuses/{private}/context"),
            format!("/api/v1/statuses/{private}/history"),
            format!("/api/v1/statuses/{private}/favourited_by"),
            format!("/api/v1/statuses/{private}/reblogged_by"),
        ] {
            let (code, body) = app.api_get(&path, &bob_token).await;
            assert_eq!(code, 404, "{path}");
            assert_eq!(body["error"], "Record not found");
            let res = app.get(&path).await;
            assert_eq!(res.status(), 404, "anonymous {path}");
        }
        for verb in [
            "favourite",
            "reblog",
            "bookmark",
            "pin",
            "unfavourite",
            "unreblog",
        ] {
            let (code, body) = action(&app, &bob_token, &private, verb).await;
            assert_eq!(code, 404, "{verb}: {body}");
        }
        // Nor can they reply to it.
        let (code, body) = app
            .api_post(
                "/api/v1/statuses",
                &bob_token,
                json!({"status": "sneaky", "in_reply_to_id": private}),
            )
            .await;
        assert_eq!(code, 404);
        assert_eq!(
            body["error"],
            "The post you are trying to reply to does not appear to exist."
        );
        assert_eq!(count(&app, "SELECT COUNT(*) FROM favourites").await, 0);

        // A follower sees it, but may not reblog it (Mastodon: 403).
        follow(&app, bob.id, alice.id).await;
        let (code, _) = app
            .api_get(&format!("/api/v1/statuses/{private}"), &bob_token)
            .await;
        assert_eq!(code, 200);
        let (code, body) = action(&app, &bob_token, &private, "reblog").await;
        assert_eq!(code, 403);
        assert_eq!(body["error"], "This action is not allowed");
        // The author may, and the reblog stays followers-only.
        let (code, self_reblog) = action(&app, &alice_token, &private, "reblog").await;
        assert_eq!(code, 200);
        assert_eq!(self_reblog["visibility"], "private");

        // A direct message is for the mentioned account only.
        let direct = post(
            &app,
            &alice_token,
            json!({"status": "@carol psst", "visibility": "direct"}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (code, seen) = app
            .api_get(&format!("/api/v1/statuses/{direct}"), &carol_token)
            .await;
        assert_eq!(code, 200);
        assert_eq!(seen["visibility"], "direct");
        let (code, _) = app
            .api_get(&format!("/api/v1/statuses/{direct}"), &bob_token)
            .await;
        assert_eq!(code, 404);
        let (code, _) = action(&app, &carol_token, &direct, "reblog").await;
        assert_eq!(code, 403);
        let (code, _) = action(&app, &carol_token, &direct, "favourite").await;
        assert_eq!(code, 200);
        // Direct messages do not count in the profile.
        let alice_row = fulmar_store::accounts::by_id(app.db(), alice.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(alice_row.statuses_count, 2);
        // Pinning a direct message is refused.
        let (code, body) = action(&app, &alice_token, &direct, "pin").await;
        assert_eq!(code, 422);
        assert_eq!(
            body["error"],
            "Validation failed: Posts that are only visible to mentioned users cannot be pinned"
        );
    }
);

db_test!(
    idempotency_key_replays_the_first_status,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let (_, bob_token) = app.user_with_token("bob", ALL).await;
        let post_with_key = |token: String, key: &'static str, text: &'static str| {
            let req = app
                .api(Method::POST, "/api/v1/statuses", &token)
                .header("Idempotency-Key", key)
                .form(&[("status", text)]);
            send(req)
        };
        let (code, first) = post_with_key(token.clone(), "key-1", "once").await;
        assert_eq!(code, 200);
        let (code, second) = post_with_key(token.clone(), "key-1", "once").await;
        assert_eq!(code, 200);
        assert_eq!(first["id"], second["id"]);
        assert_eq!(
            count(
                &app,
                &format!(
                    "SELECT COUNT(*) FROM statuses WHERE account_id = {}",
                    alice.id
                )
            )
            .await,
            1
        );
        // Another key, or another user with the same key, posts anew.
        let (_, third) = post_with_key(token.clone(), "key-2", "once").await;
        assert_ne!(third["id"], first["id"]);
        let (_, bobs) = post_with_key(bob_token.clone(), "key-1", "once").await;
        assert_ne!(bobs["id"], first["id"]);
        // A refused post does not use the key up.
        let (code, _) = post_with_key(token.clone(), "key-3", "").await;
        assert_eq!(code, 422);
        let (code, fourth) = post_with_key(token.clone(), "key-3", "now with text").await;
        assert_eq!(code, 200);
        assert_eq!(fourth["content"], "<p>now with text</p>");
        // A key older than an hour stands for nothing any more.
        fulmar_store::with_pool!(app.db(), p => sqlx::query(
            "UPDATE idempotency_keys SET created_at = created_at - 3600001",
        )
        .execute(p)
        .await
        .map(|_| ()))
        .unwrap();
        let (_, fifth) = post_with_key(token.clone(), "key-1", "once").await;
        assert_ne!(fifth["id"], first["id"]);
    }
);

db_test!(invalid_posts_are_refused, |app: TestApp| async move {
    let (_, token) = app.user_with_token("alice", ALL).await;
    let read_only = fulmar::core::accounts::issue_token(app.db(), "alice", "read")
        .await
        .unwrap();
    let refused = |body: Value| {
        let app = &app;
        let token = token.clone();
        async move { app.api_post("/api/v1/statuses", &token, body).await }
    };

    let (code, body) = refused(json!({"status": "x".repeat(501)})).await;
    assert_eq!(code, 422);
    assert_eq!(
        body["error"],
        "Validation failed: Text character limit of 500 exceeded"
    );
    // Exactly 500 is fine; so is a long URL (it counts 23), and so is a remote
    // mention's domain (it does not count).
    let (code, _) = refused(json!({"status": "é".repeat(500)})).await;
    assert_eq!(code, 200);
    let long = format!(
        "{} https://example.com/{}",
        "x".repeat(476),
        "y".repeat(300)
    );
    let (code, body) = refused(json!({ "status": long })).await;
    assert_eq!(code, 200, "{body}");
    // The content warning counts too.
    let (code, _) =
        refused(json!({"status": "x".repeat(400), "spoiler_text": "y".repeat(101)})).await;
    assert_eq!(code, 422);

    for blank in [
        json!({"status": ""}),
        json!({"status": "   \n "}),
        json!({}),
    ] {
        let (code, body) = refused(blank).await;
        assert_eq!(code, 422);
        assert_eq!(body["error"], "Validation failed: Text can't be blank");
    }
    let (code, body) = refused(json!({"status": "hi", "visibility": "secret"})).await;
    assert_eq!(code, 422);
    assert_eq!(
        body["error"],
        "Validation failed: Visibility is not included in the list"
    );
    let (code, _) =
        refused(json!({"status": "later", "scheduled_at": "2100-01-01T00:00:00Z"})).await;
    assert_eq!(code, 422);
    let (code, body) = refused(json!({"status": "hi", "in_reply_to_id": "123456"})).await;
    assert_eq!(code, 404);
    assert_eq!(
        body["error"],
        "The post you are trying to reply to does not appear to exist."
    );
    let (code, _) = refused(json!({"status": "hi", "sensitive": "maybe"})).await;
    assert_eq!(code, 422);

    // Malformed JSON is a 400.
    let res = app
        .api(Method::POST, "/api/v1/statuses", &token)
        .header("content-type", "application/json")
        .body("{\"status\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Scopes and tokens.
    let (code, body) = app
        .api_post("/api/v1/statuses", &read_only, json!({"status": "no"}))
        .await;
    assert_eq!(code, 403);
    assert_eq!(
        body["error"],
        "This action is outside the authorized scopes"
    );
    let res = app
        .client
        .post(app.url("/api/v1/statuses"))
        .form(&[("status", "who am I")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (code, _) = app
        .api_post("/api/v1/statuses", "not-a-token", json!({"status": "no"}))
        .await;
    assert_eq!(code, 401);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM statuses").await, 2);
});

db_test!(scopes_are_enforced_per_action, |app: TestApp| async move {
    let (_, token) = app.user_with_token("alice", ALL).await;
    let id = post_text(&app, &token, "scoped").await;
    let only = |scope: &'static str| {
        let app = &app;
        async move {
            fulmar::core::accounts::issue_token(app.db(), "alice", scope)
                .await
                .unwrap()
        }
    };
    let statuses_only = only("write:statuses").await;
    for verb in ["favourite", "bookmark", "pin"] {
        let (code, _) = action(&app, &statuses_only, &id, verb).await;
        assert_eq!(code, 403, "{verb} with write:statuses");
    }
    let favourites = only("write:favourites").await;
    assert_eq!(action(&app, &favourites, &id, "favourite").await.0, 200);
    assert_eq!(action(&app, &favourites, &id, "reblog").await.0, 403);
    let bookmarks = only("write:bookmarks").await;
    assert_eq!(action(&app, &bookmarks, &id, "bookmark").await.0, 200);
    let accounts = only("write:accounts").await;
    assert_eq!(action(&app, &accounts, &id, "pin").await.0, 200);
    let read_statuses = only("read:statuses").await;
    assert_eq!(
        app.api_get("/api/v1/favourites", &read_statuses).await.0,
        403
    );
    assert_eq!(
        app.api_get(&format!("/api/v1/statuses/{id}"), &read_statuses)
            .await
            .0,
        200
    );
    let read_favourites = only("read:favourites").await;
    assert_eq!(
        app.api_get("/api/v1/favourites", &read_favourites).await.0,
        200
    );
    assert_eq!(
        app.api_get(&format!("/api/v1/statuses/{id}"), &read_favourites)
            .await
            .0,
        403
    );
    // Without a token: reading a public status works, acting does not.
    assert_eq!(
        app.get(&format!("/api/v1/statuses/{id}")).await.status(),
        200
    );
    let res = app
        .client
        .post(app.url(&format!("/api/v1/statuses/{id}/favourite")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app.get("/api/v1/bookmarks").await.status(), 401);
});

db_test!(edits_keep_history_and_source, |app: TestApp| async move {
    let (_, alice_token) = app.user_with_token("alice", ALL).await;
    let (bob, bob_token) = app.user_with_token("bob", ALL).await;
    let id = post_text(&app, &alice_token, "first #draft").await;
    action(&app, &bob_token, &id, "reblog").await;

    // Never edited: the history has one version.
    let (code, history) = app
        .api_get(&format!("/api/v1/statuses/{id}/history"), &alice_token)
        .await;
    assert_eq!(code, 200);
    assert_eq!(history.as_array().unwrap().len(), 1);

    let (code, edited) = send(
        app.api(Method::PUT, &format!("/api/v1/statuses/{id}"), &alice_token)
            .json(&json!({"status": "second #final, cc @bob", "spoiler_text": "changed", "language": "fr"})),
    )
    .await;
    assert_eq!(code, 200, "{edited}");
    assert_eq!(edited["id"], id.as_str());
    assert!(edited["edited_at"].is_string());
    assert_eq!(edited["spoiler_text"], "changed");
    assert_eq!(edited["sensitive"], true);
    assert_eq!(edited["language"], "fr");
    assert_eq!(edited["tags"][0]["name"], "final");
    assert_eq!(edited["tags"].as_array().unwrap().len(), 1);
    assert_eq!(edited["mentions"][0]["username"], "bob");

    let (code, history) = app
        .api_get(&format!("/api/v1/statuses/{id}/history"), &alice_token)
        .await;
    assert_eq!(code, 200);
    insta::assert_json_snapshot!("status_history", history, {
        "[].created_at" => "[date]",
        "[].account.id" => "[id]",
        "[].account.created_at" => "[date]",
        "[].account.last_status_at" => "[date]",
    });

    let (code, source) = app
        .api_get(&format!("/api/v1/statuses/{id}/source"), &alice_token)
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        source,
        json!({"id": id, "text": "second #final, cc @bob", "spoiler_text": "changed"})
    );
    // Someone else's source and edits are not found.
    let (code, _) = app
        .api_get(&format!("/api/v1/statuses/{id}/source"), &bob_token)
        .await;
    assert_eq!(code, 404);
    let (code, _) = send(
        app.api(Method::PUT, &format!("/api/v1/statuses/{id}"), &bob_token)
            .json(&json!({"status": "mine now"})),
    )
    .await;
    assert_eq!(code, 404);
    // An edit without text is refused, as in Mastodon.
    let (code, _) = send(
        app.api(Method::PUT, &format!("/api/v1/statuses/{id}"), &alice_token)
            .json(&json!({"spoiler_text": "only"})),
    )
    .await;
    assert_eq!(code, 422);

    // The reblogger heard of the edit, and the newly mentioned bob of the mention.
    let kinds: Vec<(String, i64)> = notifications(&app)
        .await
        .into_iter()
        .filter(|(_, to, ..)| *to == bob.id)
        .map(|(k, to, ..)| (k, to))
        .collect();
    assert!(kinds.contains(&("update".to_string(), bob.id)), "{kinds:?}");
    assert!(
        kinds.contains(&("mention".to_string(), bob.id)),
        "{kinds:?}"
    );
});

db_test!(
    delete_returns_the_text_then_the_status_is_gone,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let (_, bob_token) = app.user_with_token("bob", ALL).await;
        let parent = post_text(&app, &token, "parent").await;
        let reply = post(
            &app,
            &token,
            json!({"status": "Delete *me* & redraft", "in_reply_to_id": parent, "spoiler_text": "cw"}),
        )
        .await;
        let reply_id = reply["id"].as_str().unwrap().to_owned();
        assert_eq!(reply["in_reply_to_id"], parent.as_str());
        assert_eq!(reply["in_reply_to_account_id"], alice.id.to_string());
        let (_, p) = app
            .api_get(&format!("/api/v1/statuses/{parent}"), &token)
            .await;
        assert_eq!(p["replies_count"], 1);
        action(&app, &bob_token, &reply_id, "reblog").await;

        // Only the author can delete.
        let (code, _) = send(app.api(
            Method::DELETE,
            &format!("/api/v1/statuses/{reply_id}"),
            &bob_token,
        ))
        .await;
        assert_eq!(code, 404);

        let (code, deleted) = send(app.api(
            Method::DELETE,
            &format!("/api/v1/statuses/{reply_id}"),
            &token,
        ))
        .await;
        assert_eq!(code, 200);
        assert_eq!(deleted["id"], reply_id.as_str());
        assert_eq!(deleted["text"], "Delete *me* & redraft");
        assert_eq!(deleted["spoiler_text"], "cw");

        for path in [
            format!("/api/v1/statuses/{reply_id}"),
            format!("/api/v1/statuses/{reply_id}/context"),
        ] {
            let (code, body) = app.api_get(&path, &token).await;
            assert_eq!(code, 404, "{path}");
            assert_eq!(body["error"], "Record not found");
        }
        let (code, _) = send(app.api(
            Method::DELETE,
            &format!("/api/v1/statuses/{reply_id}"),
            &token,
        ))
        .await;
        assert_eq!(code, 404);
        let (code, _) = action(&app, &bob_token, &reply_id, "favourite").await;
        assert_eq!(code, 404);

        // Counters are undone; the reblog went with the status.
        let (_, p) = app
            .api_get(&format!("/api/v1/statuses/{parent}"), &token)
            .await;
        assert_eq!(p["replies_count"], 0);
        let row = fulmar_store::accounts::by_id(app.db(), alice.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.statuses_count, 1);
        assert_eq!(
            count(
                &app,
                &format!("SELECT COUNT(*) FROM statuses WHERE reblog_of_id = {reply_id}")
            )
            .await,
            0
        );
    }
);

db_test!(threads_come_back_in_order, |app: TestApp| async move {
    let (alice, alice_token) = app.user_with_token("alice", ALL).await;
    let (_, bob_token) = app.user_with_token("bob", ALL).await;
    let reply = |token: String, parent: String, text: &'static str| {
        let app = &app;
        async move {
            post(
                app,
                &token,
                json!({"status": text, "in_reply_to_id": parent}),
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let root = post_text(&app, &alice_token, "root").await;
    let bob_reply = reply(bob_token.clone(), root.clone(), "bob replies").await;
    let alice_continues = reply(alice_token.clone(), root.clone(), "alice continues").await;
    let deep = reply(alice_token.clone(), bob_reply.clone(), "alice answers bob").await;
    let private_reply = post(
        &app,
        &bob_token,
        json!({"status": "private reply", "in_reply_to_id": alice_continues, "visibility": "private"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (code, ctx) = app
        .api_get(&format!("/api/v1/statuses/{deep}/context"), &alice_token)
        .await;
    assert_eq!(code, 200);
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&ctx["ancestors"]),
        vec![root.clone(), bob_reply.clone()]
    );
    assert_eq!(ids(&ctx["descendants"]), Vec::<String>::new());

    // Alice does not follow bob: his private reply is left out for her, and the
    // author's own continuation comes first.
    let (_, ctx) = app
        .api_get(&format!("/api/v1/statuses/{root}/context"), &alice_token)
        .await;
    assert_eq!(
        ids(&ctx["descendants"]),
        vec![alice_continues.clone(), bob_reply.clone(), deep.clone()]
    );
    // Bob sees his own. Only the self-reply moves up (Mastodon's `promote_by!`); the
    // rest stays in depth-first order.
    let (_, ctx) = app
        .api_get(&format!("/api/v1/statuses/{root}/context"), &bob_token)
        .await;
    assert_eq!(
        ids(&ctx["descendants"]),
        vec![
            alice_continues.clone(),
            bob_reply.clone(),
            deep.clone(),
            private_reply.clone()
        ]
    );
    // Anonymous readers get the public thread.
    let res = app.get(&format!("/api/v1/statuses/{root}/context")).await;
    assert_eq!(res.status(), 200);
    let ctx: Value = res.json().await.unwrap();
    assert_eq!(ctx["descendants"].as_array().unwrap().len(), 3);

    // The reply to bob mentions nobody, so nobody was notified; replies_count counts
    // public replies only.
    let (_, root_entity) = app
        .api_get(&format!("/api/v1/statuses/{root}"), &alice_token)
        .await;
    assert_eq!(root_entity["replies_count"], 2);
    assert_eq!(root_entity["in_reply_to_id"], Value::Null);
    let (_, deep_entity) = app
        .api_get(&format!("/api/v1/statuses/{deep}"), &alice_token)
        .await;
    assert_eq!(deep_entity["in_reply_to_account_id"], {
        let bob = fulmar_store::accounts::local_by_username(app.db(), "bob")
            .await
            .unwrap()
            .unwrap();
        bob.id.to_string()
    });
    let _ = alice;
});

db_test!(
    favourites_bookmarks_and_notifications,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;
        let mention = post_text(&app, &bob_token, "hey @alice").await;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(post_text(&app, &alice_token, &format!("post {n}")).await);
        }
        // Bob favourites and bookmarks them in an order different from posting.
        let order = [
            ids[3].clone(),
            ids[0].clone(),
            ids[4].clone(),
            ids[1].clone(),
            ids[2].clone(),
        ];
        for id in &order {
            let (code, fav) = action(&app, &bob_token, id, "favourite").await;
            assert_eq!(code, 200);
            assert_eq!(fav["favourited"], true);
            assert_eq!(fav["favourites_count"], 1);
            let (code, bm) = action(&app, &bob_token, id, "bookmark").await;
            assert_eq!(code, 200);
            assert_eq!(bm["bookmarked"], true);
        }
        // Favouriting twice changes nothing.
        let (_, again) = action(&app, &bob_token, &ids[0], "favourite").await;
        assert_eq!(again["favourites_count"], 1);

        for list in ["favourites", "bookmarks"] {
            // Newest saved first, two at a time, other parameters kept.
            let mut next = Some(format!("/api/v1/{list}?limit=2&extra=kept"));
            let mut seen = Vec::new();
            let mut pages = 0;
            while let Some(path) = next {
                pages += 1;
                assert!(pages < 10, "runaway paging");
                let res = app
                    .api(Method::GET, &path, &bob_token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                next = link(&res, "next");
                if let Some(n) = &next {
                    assert!(n.contains("extra=kept"), "{n}");
                    assert!(n.contains("limit=2"), "{n}");
                }
                let page: Value = res.json().await.unwrap();
                seen.extend(
                    page.as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s["id"].as_str().unwrap().to_owned()),
                );
            }
            let mut expected = order.to_vec();
            expected.reverse();
            assert_eq!(seen, expected, "{list}");
            assert_eq!(pages, 3, "{list}: the last page has no next link");

            // prev from the first page finds nothing newer.
            let res = app
                .api(Method::GET, &format!("/api/v1/{list}?limit=2"), &bob_token)
                .send()
                .await
                .unwrap();
            let prev = link(&res, "prev").unwrap();
            assert!(prev.contains("min_id="), "{prev}");
            let (code, newer) = app.api_get(&prev, &bob_token).await;
            assert_eq!(code, 200);
            assert_eq!(newer, json!([]));

            // A huge limit is clamped, not refused.
            let (code, all) = app
                .api_get(&format!("/api/v1/{list}?limit=100000"), &bob_token)
                .await;
            assert_eq!(code, 200);
            assert_eq!(all.as_array().unwrap().len(), 5);
        }

        // favourited_by pages the same way.
        let (code, by) = app
            .api_get(
                &format!("/api/v1/statuses/{}/favourited_by", ids[0]),
                &alice_token,
            )
            .await;
        assert_eq!(code, 200);
        assert_eq!(by.as_array().unwrap().len(), 1);
        assert_eq!(by[0]["username"], "bob");

        // Unfavourite and unbookmark.
        let (code, unfav) = action(&app, &bob_token, &ids[0], "unfavourite").await;
        assert_eq!(code, 200);
        assert_eq!(unfav["favourited"], false);
        assert_eq!(unfav["favourites_count"], 0);
        let (code, unbm) = action(&app, &bob_token, &ids[0], "unbookmark").await;
        assert_eq!(code, 200);
        assert_eq!(unbm["bookmarked"], false);
        let (_, favs) = app.api_get("/api/v1/favourites", &bob_token).await;
        assert_eq!(favs.as_array().unwrap().len(), 4);

        // Reblog for a notification, and check every row.
        action(&app, &bob_token, &ids[1], "reblog").await;
        let rows = notifications(&app).await;
        let status = |s: &String| Some(s.parse::<i64>().unwrap());
        assert_eq!(
            rows[0],
            ("mention".into(), alice.id, bob.id, status(&mention))
        );
        let favourites: Vec<_> = rows.iter().filter(|r| r.0 == "favourite").collect();
        // Five favourites, one taken back with its notification.
        assert_eq!(favourites.len(), 4);
        assert!(favourites.iter().all(|r| r.1 == alice.id && r.2 == bob.id));
        assert!(!favourites.iter().any(|r| r.3 == status(&ids[0])));
        let reblogs: Vec<_> = rows.iter().filter(|r| r.0 == "reblog").collect();
        assert_eq!(
            reblogs,
            vec![&("reblog".to_string(), alice.id, bob.id, status(&ids[1]))]
        );
        // Nobody is notified of their own actions.
        action(&app, &alice_token, &ids[2], "favourite").await;
        assert_eq!(notifications(&app).await.len(), rows.len());

        // Unknown ids are 404 everywhere.
        for verb in [
            "favourite",
            "unfavourite",
            "reblog",
            "unreblog",
            "bookmark",
            "unbookmark",
            "pin",
            "unpin",
        ] {
            for id in ["999999999", "abc", "-1"] {
                let (code, body) = action(&app, &bob_token, id, verb).await;
                assert_eq!(code, 404, "{verb} {id}");
                assert_eq!(body["error"], "Record not found");
            }
        }
        for sub in [
            "",
            "/context",
            "/history",
            "/source",
            "/favourited_by",
            "/reblogged_by",
        ] {
            let (code, _) = app
                .api_get(&format!("/api/v1/statuses/424242{sub}"), &bob_token)
                .await;
            assert_eq!(code, 404, "{sub}");
        }
    }
);

db_test!(pins_follow_mastodons_rules, |app: TestApp| async move {
    let (_, alice_token) = app.user_with_token("alice", ALL).await;
    let (_, bob_token) = app.user_with_token("bob", ALL).await;
    let bobs = post_text(&app, &bob_token, "bob's").await;
    let (code, body) = action(&app, &alice_token, &bobs, "pin").await;
    assert_eq!(code, 422);
    assert_eq!(
        body["error"],
        "Validation failed: Someone else's post cannot be pinned"
    );
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(post_text(&app, &alice_token, &format!("pin {n}")).await);
    }
    for id in &ids[..5] {
        let (code, pinned) = action(&app, &alice_token, id, "pin").await;
        assert_eq!(code, 200);
        assert_eq!(pinned["pinned"], true);
    }
    // Pinning a pinned status again is fine; a sixth is not.
    assert_eq!(action(&app, &alice_token, &ids[0], "pin").await.0, 200);
    let (code, body) = action(&app, &alice_token, &ids[5], "pin").await;
    assert_eq!(code, 422);
    assert_eq!(
        body["error"],
        "Validation failed: You have already pinned the maximum number of posts"
    );
    let (code, unpinned) = action(&app, &alice_token, &ids[0], "unpin").await;
    assert_eq!(code, 200);
    assert_eq!(unpinned["pinned"], false);
    assert_eq!(action(&app, &alice_token, &ids[5], "pin").await.0, 200);
    // A reblog cannot be pinned.
    let (_, reblog) = action(&app, &alice_token, &bobs, "reblog").await;
    let (code, body) = action(&app, &alice_token, reblog["id"].as_str().unwrap(), "pin").await;
    assert_eq!(code, 422);
    assert_eq!(body["error"], "Validation failed: A boost cannot be pinned");
});

db_test!(
    the_posting_application_is_shown_to_the_author,
    |app: TestApp| async move {
        let (alice, _) = app.user_with_token("alice", ALL).await;
        let (_, bob_token) = app.user_with_token("bob", ALL).await;
        // A token issued to a registered application, as the OAuth flow makes them.
        let user = fulmar_store::users::by_account_id(app.db(), alice.id)
            .await
            .unwrap()
            .unwrap();
        fulmar_store::with_pool!(app.db(), p => sqlx::query(
        "INSERT INTO oauth_applications (id, name, website, redirect_uris, scopes, client_id, client_secret, created_at) \
         VALUES (77, 'Test App', 'https://app.example', 'urn:ietf:wg:oauth:2.0:oob', 'read write', 'cid', 'secret', 1)",
    )
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
        let token = fulmar::core::accounts::new_secret();
        fulmar_store::tokens::insert(
            app.db(),
            &fulmar_store::tokens::NewToken {
                id: fulmar::core::ids::next_id(),
                token_hash: fulmar::core::accounts::token_digest(&token),
                application_id: Some(77),
                user_id: Some(user.id),
                scopes: "read write".into(),
                created_at: 1,
            },
        )
        .await
        .unwrap();
        let status = post(&app, &token, json!({"status": "via an app"})).await;
        assert_eq!(
            status["application"],
            json!({"name": "Test App", "website": "https://app.example"})
        );
        let (_, seen_by_bob) = app
            .api_get(
                &format!("/api/v1/statuses/{}", status["id"].as_str().unwrap()),
                &bob_token,
            )
            .await;
        assert_eq!(seen_by_bob["application"], Value::Null);
    }
);
