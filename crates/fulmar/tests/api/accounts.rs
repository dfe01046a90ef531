//! Accounts: credentials, profiles, account statuses, followers and following,
//! relationships, follows (and follow requests), blocks, mutes, lookup and search.

use fulmar_store::accounts::AccountRow;
use fulmar_store::statuses::NewStatus;
use fulmar_store::PageParams;
use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{send, TestApp};

/// Every scope a full-featured app asks for.
pub const ALL: &str = "read write follow";

/// Runs one SQL statement against the test database (test setup only).
pub async fn exec(app: &TestApp, sql: &str) {
    fulmar_store::with_pool!(app.db(), p => sqlx::query(sql).execute(p).await.map(|_| ()))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Inserts a status through the store, as the statuses API will, and fans it out to
/// home feeds. Returns its id.
pub async fn post_status(app: &TestApp, author: &AccountRow, visibility: &str, text: &str) -> i64 {
    post_status_with(app, author, visibility, text, |_| {}).await
}

pub async fn post_status_with(
    app: &TestApp,
    author: &AccountRow,
    visibility: &str,
    text: &str,
    tweak: impl FnOnce(&mut NewStatus),
) -> i64 {
    let id = fulmar::core::ids::next_id();
    let mut status = NewStatus {
        id,
        uri: format!(
            "https://fulmar.test/users/{}/statuses/{id}",
            author.username
        ),
        account_id: author.id,
        content: format!("<p>{text}</p>"),
        text: Some(text.to_owned()),
        visibility: visibility.to_owned(),
        language: Some("en".into()),
        local: true,
        created_at: fulmar::core::time::now_ms(),
        ..Default::default()
    };
    tweak(&mut status);
    fulmar_store::statuses::insert(app.db(), &status)
        .await
        .unwrap();
    fulmar_store::timelines::fan_out(app.db(), id, author.id, visibility)
        .await
        .unwrap();
    id
}

pub async fn mention(app: &TestApp, status_id: i64, account_id: i64) {
    let id = fulmar::core::ids::next_id();
    exec(
        app,
        &format!("INSERT INTO mentions (id, status_id, account_id) VALUES ({id}, {status_id}, {account_id})"),
    )
    .await;
}

/// GET with a token, returning the status, the `Link` header and the body.
pub async fn get_linked(app: &TestApp, path: &str, token: &str) -> (u16, Option<String>, Value) {
    let res = app.api(Method::GET, path, token).send().await.expect("GET");
    let status = res.status().as_u16();
    let link = res
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, link, res.json().await.unwrap_or(Value::Null))
}

/// The URL of a relation (`next`, `prev`) in a `Link` header, as a local path.
pub fn link_path(link: &Option<String>, rel: &str) -> Option<String> {
    let link = link.as_deref()?;
    link.split(", ").find_map(|part| {
        let (url, r) = part.split_once("; ")?;
        (r == format!("rel=\"{rel}\"")).then(|| {
            url.trim_matches(['<', '>'])
                .strip_prefix("https://fulmar.test")
                .unwrap()
                .to_owned()
        })
    })
}

async fn account_json(app: &TestApp, id: i64, token: &str) -> Value {
    let (status, body) = app.api_get(&format!("/api/v1/accounts/{id}"), token).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn relationship(app: &TestApp, token: &str, id: i64) -> Value {
    let (status, body) = app
        .api_get(&format!("/api/v1/accounts/relationships?id[]={id}"), token)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
    body[0].clone()
}

async fn patch_json(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    send(
        app.api(Method::PATCH, "/api/v1/accounts/update_credentials", token)
            .json(&body),
    )
    .await
}

async fn patch_form(app: &TestApp, token: &str, form: &[(&str, &str)]) -> (u16, Value) {
    send(
        app.api(Method::PATCH, "/api/v1/accounts/update_credentials", token)
            .form(form),
    )
    .await
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

db_test!(
    verify_credentials_shows_source_and_role,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", "read:accounts").await;
        let (status, body) = app
            .api_get("/api/v1/accounts/verify_credentials", &token)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], alice.id.to_string());
        assert_eq!(body["source"]["privacy"], "public");
        assert_eq!(body["source"]["follow_requests_count"], 0);
        insta::assert_json_snapshot!("credential_account", body, {
            ".id" => "[id]",
            ".created_at" => "[date]",
        });

        // No token, a bad token, a token without the scope.
        let res = app
            .client
            .get(app.url("/api/v1/accounts/verify_credentials"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            crate::helpers::error_of(res).await,
            "The access token is invalid"
        );
        let (status, _) = app
            .api_get("/api/v1/accounts/verify_credentials", "not-a-token")
            .await;
        assert_eq!(status, 401);
        let (_, other) = app.user_with_token("bob", "write:statuses").await;
        let (status, body) = app
            .api_get("/api/v1/accounts/verify_credentials", &other)
            .await;
        assert_eq!(status, 403);
        assert_eq!(
            body["error"],
            "This action is outside the authorized scopes"
        );
    }
);

db_test!(
    profile_notes_and_fields_are_formatted_like_posts,
    |app: TestApp| async move {
        app.create_user("bob").await;
        let (_, token) = app.user_with_token("alice", "read write").await;
        let (status, me) = patch_json(
            &app,
            &token,
            json!({
                "note": "Hi @bob, see https://example.com/about #rust\nsecond line",
                "fields_attributes": [{"name": "Site", "value": "https://alice.example/"}],
            }),
        )
        .await;
        assert_eq!(status, 200, "{me}");
        let note = me["note"].as_str().unwrap();
        assert!(note.starts_with("<p>Hi <span class=\"h-card\" translate=\"no\"><a href=\"https://fulmar.test/@bob\""), "{note}");
        assert!(
            note.contains("href=\"https://example.com/about\""),
            "{note}"
        );
        assert!(note.contains("class=\"mention hashtag\""), "{note}");
        assert!(note.contains("<br />second line</p>"), "{note}");
        let value = me["fields"][0]["value"].as_str().unwrap();
        assert!(
            value.starts_with("<a href=\"https://alice.example/\""),
            "{value}"
        );
        assert!(value.contains("rel=\"me nofollow noopener\""), "{value}");
        assert!(!value.contains("<p>"), "{value}");
        // What the user typed is kept for editing.
        assert_eq!(
            me["source"]["note"],
            "Hi @bob, see https://example.com/about #rust\nsecond line"
        );
        assert_eq!(me["source"]["fields"][0]["value"], "https://alice.example/");
    }
);

db_test!(update_credentials_from_a_form, |app: TestApp| async move {
    let (alice, token) = app.user_with_token("alice", ALL).await;
    let (status, body) = patch_form(
        &app,
        &token,
        &[
            ("display_name", "Alice <A>"),
            ("note", "Hello & welcome\nsecond line\n\nnew paragraph"),
            ("fields_attributes[0][name]", "Website"),
            ("fields_attributes[0][value]", "https://alice.example"),
            ("fields_attributes[1][name]", "Pronouns"),
            ("fields_attributes[1][value]", "she/her"),
            ("fields_attributes[2][name]", ""),
            ("fields_attributes[2][value]", ""),
            ("locked", "true"),
            ("bot", "1"),
            ("discoverable", "false"),
            ("indexable", "false"),
            ("hide_collections", "true"),
            ("source[privacy]", "private"),
            ("source[sensitive]", "true"),
            ("source[language]", "de"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    insta::assert_json_snapshot!("credential_account_updated", body, {
        ".id" => "[id]",
        ".created_at" => "[date]",
    });
    assert_eq!(body["display_name"], "Alice <A>");
    assert_eq!(
        body["note"],
        "<p>Hello &amp; welcome<br />second line</p><p>new paragraph</p>"
    );
    assert_eq!(
        body["source"]["note"],
        "Hello & welcome\nsecond line\n\nnew paragraph"
    );
    assert_eq!(
        body["fields"].as_array().unwrap().len(),
        2,
        "blank pairs are dropped"
    );
    assert_eq!(body["source"]["fields"][1]["value"], "she/her");

    // The rows say the same.
    let row = fulmar_store::accounts::by_id(app.db(), alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(row.locked && row.bot && !row.discoverable && !row.indexable && row.hide_collections);
    assert_eq!(
        row.note_source,
        "Hello & welcome\nsecond line\n\nnew paragraph"
    );
    let user = fulmar_store::users::by_account_id(app.db(), alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.default_visibility, "private");
    assert!(user.default_sensitive);
    assert_eq!(user.default_language.as_deref(), Some("de"));

    // verify_credentials agrees, and a partial update keeps everything else.
    let (status, body) = patch_form(&app, &token, &[("source[language]", "")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["source"]["language"], Value::Null);
    assert_eq!(body["display_name"], "Alice <A>");
    assert_eq!(body["locked"], true);
    assert_eq!(body["fields"].as_array().unwrap().len(), 2);
    let (_, verified) = app
        .api_get("/api/v1/accounts/verify_credentials", &token)
        .await;
    assert_eq!(verified, body);
});

db_test!(
    update_credentials_from_json_and_multipart,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("alice", "write:accounts").await;
        let (status, body) = patch_json(
            &app,
            &token,
            json!({
                "display_name": "Alice",
                "note": "",
                "fields_attributes": [
                    {"name": "One", "value": "<b>1</b>"},
                    {"name": "Two", "value": 2}
                ],
                "locked": false,
                "source": {"privacy": "unlisted", "sensitive": false}
            }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["note"], "");
        assert_eq!(body["fields"][0]["name"], "One");
        assert_eq!(
            body["fields"][0]["value"], "&lt;b&gt;1&lt;/b&gt;",
            "values are escaped HTML"
        );
        assert_eq!(body["fields"][0]["verified_at"], Value::Null);
        assert_eq!(body["source"]["fields"][0]["value"], "<b>1</b>");
        assert_eq!(body["fields"][1]["value"], "2");
        assert_eq!(body["source"]["privacy"], "unlisted");

        // The Rails indexed form inside JSON works too, and an avatar file is ignored.
        let (status, body) = patch_json(
            &app,
            &token,
            json!({"fields_attributes": {"1": {"name": "B", "value": "b"}, "0": {"name": "A", "value": "a"}}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["fields"][0]["name"], "A");
        assert_eq!(body["fields"][1]["name"], "B");
        // reqwest is built without multipart support here: write the body by hand.
        let boundary = "fulmar-test-boundary";
        let mut multipart = Vec::new();
        multipart.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"display_name\"\r\n\r\nMulti Part\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\n\
                 Content-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        multipart.extend_from_slice(&[0x89, b'P', b'N', b'G', 0, 1, 2, 3]);
        multipart.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let (status, body) = send(
            app.api(Method::PATCH, "/api/v1/accounts/update_credentials", &token)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(multipart),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["display_name"], "Multi Part");
        assert_eq!(
            body["avatar"],
            "https://fulmar.test/avatars/original/missing.png"
        );
    }
);

db_test!(
    update_credentials_refuses_what_mastodon_refuses,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let long = "x".repeat(31);
        let (status, body) = patch_form(&app, &token, &[("display_name", &long)]).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            body["error"],
            "Validation failed: Display name is too long (maximum is 30 characters)"
        );
        // Thirty characters (not bytes) are fine.
        let (status, _) = patch_form(&app, &token, &[("display_name", &"é".repeat(30))]).await;
        assert_eq!(status, 200);
        let (status, body) = patch_json(&app, &token, json!({"note": "n".repeat(501)})).await;
        assert_eq!(status, 422);
        assert_eq!(
            body["error"],
            "Validation failed: Note is too long (maximum is 500 characters)"
        );
        let five: Vec<Value> = (0..5)
            .map(|i| json!({"name": format!("n{i}"), "value": "v"}))
            .collect();
        let (status, body) = patch_json(&app, &token, json!({"fields_attributes": five})).await;
        assert_eq!(status, 422, "{body}");
        let (status, _) = patch_json(
            &app,
            &token,
            json!({"fields_attributes": [{"name": "n", "value": "v".repeat(256)}]}),
        )
        .await;
        assert_eq!(status, 422);
        let (status, _) = patch_json(&app, &token, json!({"source": {"privacy": "direct"}})).await;
        assert_eq!(status, 422);
        let (status, _) = patch_json(&app, &token, json!({"locked": "perhaps"})).await;
        assert_eq!(status, 422);
        // Nothing of the refused updates was stored.
        let row = fulmar_store::accounts::by_id(app.db(), alice.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.display_name, "é".repeat(30));
        assert_eq!(row.note, "");
        assert_eq!(row.fields, "[]");
        // A read-only token may not write.
        let (_, read_only) = app.user_with_token("bob", "read").await;
        let (status, _) = patch_form(&app, &read_only, &[("display_name", "B")]).await;
        assert_eq!(status, 403);
    }
);

db_test!(accounts_are_shown_by_id, |app: TestApp| async move {
    let (alice, token) = app.user_with_token("alice", "read").await;
    let body = account_json(&app, alice.id, &token).await;
    insta::assert_json_snapshot!("account", body, {
        ".id" => "[id]",
        ".created_at" => "[date]",
    });
    assert!(body.get("source").is_none());
    // Anonymous readers see accounts too.
    let res = app.get(&format!("/api/v1/accounts/{}", alice.id)).await;
    assert_eq!(res.status(), 200);
    for bad in ["12345", "abc", "-1", "99999999999999999999"] {
        let (status, body) = app
            .api_get(&format!("/api/v1/accounts/{bad}"), &token)
            .await;
        assert_eq!(status, 404, "{bad}");
        assert_eq!(body["error"], "Record not found");
    }
    let (_, wrong_scope) = app.user_with_token("bob", "read:statuses").await;
    let (status, _) = app
        .api_get(&format!("/api/v1/accounts/{}", alice.id), &wrong_scope)
        .await;
    assert_eq!(status, 403);
});

db_test!(
    following_counts_notifies_and_fills_the_home_feed,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;
        let earlier = post_status(&app, &bob, "public", "before the follow").await;
        let private = post_status(&app, &bob, "private", "for followers").await;
        let _direct = post_status(&app, &bob, "direct", "not for the feed").await;

        let (status, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                &alice_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        insta::assert_json_snapshot!("relationship_following", rel, { ".id" => "[id]" });
        assert_eq!(rel["id"], bob.id.to_string());
        assert_eq!(rel["following"], true);
        assert_eq!(rel["requested"], false);

        // The other side.
        let back = relationship(&app, &bob_token, alice.id).await;
        assert_eq!(back["followed_by"], true);
        assert_eq!(back["following"], false);

        // Counters on both accounts.
        assert_eq!(
            account_json(&app, bob.id, &alice_token).await["followers_count"],
            1
        );
        assert_eq!(
            account_json(&app, alice.id, &alice_token).await["following_count"],
            1
        );

        // Bob hears of it.
        let (status, notes) = app.api_get("/api/v1/notifications", &bob_token).await;
        assert_eq!(status, 200);
        assert_eq!(notes.as_array().unwrap().len(), 1, "{notes}");
        assert_eq!(notes[0]["type"], "follow");
        assert_eq!(notes[0]["account"]["id"], alice.id.to_string());

        // Alice's home feed has Bob's earlier public and private posts, not the direct one.
        let feed = fulmar_store::timelines::home(app.db(), alice.id, &PageParams::newest(20))
            .await
            .unwrap();
        let ids: Vec<i64> = feed.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![private, earlier]);

        // Following again changes options only: no second row, count or notification.
        let (status, rel) = app
            .api_post_form(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                &alice_token,
                &[
                    ("reblogs", "false"),
                    ("notify", "true"),
                    ("languages[]", "en"),
                    ("languages[]", "de"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        assert_eq!(rel["showing_reblogs"], false);
        assert_eq!(rel["notifying"], true);
        assert_eq!(rel["languages"], json!(["en", "de"]));
        assert_eq!(
            account_json(&app, bob.id, &alice_token).await["followers_count"],
            1
        );
        let (_, notes) = app.api_get("/api/v1/notifications", &bob_token).await;
        assert_eq!(notes.as_array().unwrap().len(), 1);
        // Options not given stay as they were.
        let (_, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                &alice_token,
                json!({"notify": false}),
            )
            .await;
        assert_eq!(
            (rel["showing_reblogs"].clone(), rel["notifying"].clone()),
            (json!(false), json!(false))
        );
        assert_eq!(rel["languages"], json!(["en", "de"]));

        // Unfollow undoes it all.
        let (status, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/unfollow", bob.id),
                &alice_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(rel["following"], false);
        assert_eq!(rel["showing_reblogs"], false);
        assert_eq!(rel["languages"], Value::Null);
        assert_eq!(
            account_json(&app, bob.id, &alice_token).await["followers_count"],
            0
        );
        assert_eq!(
            account_json(&app, alice.id, &alice_token).await["following_count"],
            0
        );
        let feed = fulmar_store::timelines::home(app.db(), alice.id, &PageParams::newest(20))
            .await
            .unwrap();
        assert!(feed.is_empty());
        let (_, notes) = app.api_get("/api/v1/notifications", &bob_token).await;
        assert_eq!(
            notes,
            json!([]),
            "the follow notification goes with the follow"
        );
        // Unfollowing again is harmless and keeps the counters at zero.
        let (status, _) = app
            .api_post(
                &format!("/api/v1/accounts/{}/unfollow", bob.id),
                &alice_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            account_json(&app, bob.id, &alice_token).await["followers_count"],
            0
        );
    }
);

db_test!(follow_refusals, |app: TestApp| async move {
    let (alice, token) = app.user_with_token("alice", ALL).await;
    let bob = app.create_user("bob").await;
    let (status, body) = app
        .api_post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "Following your own account is not allowed");
    let (status, _) = app
        .api_post("/api/v1/accounts/42/follow", &token, json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api_post("/api/v1/accounts/nope/follow", &token, json!({}))
        .await;
    assert_eq!(status, 404);
    let (_, read_only) = app.user_with_token("carol", "read write:statuses").await;
    let (status, _) = app
        .api_post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &read_only,
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let res = app
        .client
        .post(app.url(&format!("/api/v1/accounts/{}/follow", bob.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // The legacy `follow` scope is enough, as in Mastodon.
    let (_, follow_only) = app.user_with_token("dave", "follow").await;
    let (status, _) = app
        .api_post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &follow_only,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    // Blocking oneself or muting oneself changes nothing.
    for action in ["block", "mute"] {
        let (status, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/{action}", alice.id),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{action}");
        assert_eq!(rel["blocking"], false);
        assert_eq!(rel["muting"], false);
    }
});

db_test!(
    locked_accounts_get_follow_requests,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;
        let (carol, carol_token) = app.user_with_token("carol", ALL).await;
        let (status, _) = patch_form(&app, &bob_token, &[("locked", "true")]).await;
        assert_eq!(status, 200);
        post_status(&app, &bob, "private", "only for followers").await;

        let (status, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/follow", bob.id),
                &alice_token,
                json!({"notify": true}),
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        insta::assert_json_snapshot!("relationship_requested", rel, { ".id" => "[id]" });
        assert_eq!(rel["requested"], true);
        assert_eq!(rel["following"], false);
        assert_eq!(rel["notifying"], true);
        assert_eq!(
            account_json(&app, bob.id, &bob_token).await["followers_count"],
            0
        );
        let back = relationship(&app, &bob_token, alice.id).await;
        assert_eq!(back["requested_by"], true);

        // Carol asks too; Bob sees both requests and both notifications.
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &carol_token,
            json!({}),
        )
        .await;
        let (_, me) = app
            .api_get("/api/v1/accounts/verify_credentials", &bob_token)
            .await;
        assert_eq!(me["source"]["follow_requests_count"], 2);
        let (status, requests) = app.api_get("/api/v1/follow_requests", &bob_token).await;
        assert_eq!(status, 200);
        assert_eq!(
            ids_of(&requests),
            vec![carol.id.to_string(), alice.id.to_string()]
        );
        let (_, notes) = app
            .api_get("/api/v1/notifications?types[]=follow_request", &bob_token)
            .await;
        assert_eq!(notes.as_array().unwrap().len(), 2);

        // Bob accepts Alice.
        let (status, rel) = app
            .api_post(
                &format!("/api/v1/follow_requests/{}/authorize", alice.id),
                &bob_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        insta::assert_json_snapshot!("relationship_authorized", rel, { ".id" => "[id]" });
        assert_eq!(rel["followed_by"], true);
        assert_eq!(rel["requested_by"], false);
        let rel = relationship(&app, &alice_token, bob.id).await;
        assert_eq!(
            (rel["following"].clone(), rel["requested"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(rel["notifying"], true, "the request's options carry over");
        assert_eq!(
            account_json(&app, bob.id, &bob_token).await["followers_count"],
            1
        );
        assert_eq!(
            account_json(&app, alice.id, &bob_token).await["following_count"],
            1
        );
        let feed = fulmar_store::timelines::home(app.db(), alice.id, &PageParams::newest(20))
            .await
            .unwrap();
        assert_eq!(feed.len(), 1, "the accepted follower's feed is filled");
        let (status, _) = app
            .api_post(
                &format!("/api/v1/follow_requests/{}/authorize", alice.id),
                &bob_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 404, "nothing left to authorize");

        // Bob turns Carol down.
        let (status, rel) = app
            .api_post(
                &format!("/api/v1/follow_requests/{}/reject", carol.id),
                &bob_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(rel["requested_by"], false);
        assert_eq!(rel["followed_by"], false);
        let rel = relationship(&app, &carol_token, bob.id).await;
        assert_eq!(
            (rel["following"].clone(), rel["requested"].clone()),
            (json!(false), json!(false))
        );
        let (_, requests) = app.api_get("/api/v1/follow_requests", &bob_token).await;
        assert_eq!(requests, json!([]));
        let (_, notes) = app
            .api_get("/api/v1/notifications?types[]=follow_request", &bob_token)
            .await;
        assert_eq!(
            notes,
            json!([]),
            "answered requests leave no notification behind"
        );
        let (status, _) = app
            .api_post(
                "/api/v1/follow_requests/12345/reject",
                &bob_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 404);

        // A pending request can be withdrawn with unfollow.
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &carol_token,
            json!({}),
        )
        .await;
        let (_, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/unfollow", bob.id),
                &carol_token,
                json!({}),
            )
            .await;
        assert_eq!(rel["requested"], false);
        let (_, requests) = app.api_get("/api/v1/follow_requests", &bob_token).await;
        assert_eq!(requests, json!([]));
        // Unlocking accepts everyone who is waiting, as in Mastodon.
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &carol_token,
            json!({}),
        )
        .await;
        assert_eq!(
            relationship(&app, &carol_token, bob.id).await["requested"],
            true
        );
        let (status, me) = patch_form(&app, &bob_token, &[("locked", "false")]).await;
        assert_eq!(status, 200);
        assert_eq!(me["locked"], false);
        assert_eq!(me["followers_count"], 2);
        assert_eq!(me["source"]["follow_requests_count"], 0);
        let rel = relationship(&app, &carol_token, bob.id).await;
        assert_eq!(
            (rel["following"].clone(), rel["requested"].clone()),
            (json!(true), json!(false))
        );
        let (_, read_only) = app.user_with_token("dave", "read:accounts").await;
        let (status, _) = app.api_get("/api/v1/follow_requests", &read_only).await;
        assert_eq!(status, 403);
    }
);

db_test!(blocking_ends_follows_both_ways, |app: TestApp| async move {
    let (alice, alice_token) = app.user_with_token("alice", ALL).await;
    let (bob, bob_token) = app.user_with_token("bob", ALL).await;
    post_status(&app, &bob, "public", "bob speaks").await;
    post_status(&app, &alice, "public", "alice speaks").await;
    for (token, target) in [(&alice_token, bob.id), (&bob_token, alice.id)] {
        let (status, _) = app
            .api_post(
                &format!("/api/v1/accounts/{target}/follow"),
                token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
    }
    assert_eq!(
        account_json(&app, bob.id, &bob_token).await["followers_count"],
        1
    );

    let (status, rel) = app
        .api_post(
            &format!("/api/v1/accounts/{}/block", bob.id),
            &alice_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{rel}");
    insta::assert_json_snapshot!("relationship_blocking", rel, { ".id" => "[id]" });
    assert_eq!(rel["blocking"], true);
    assert_eq!(rel["following"], false);
    assert_eq!(rel["followed_by"], false);
    let back = relationship(&app, &bob_token, alice.id).await;
    assert_eq!(back["blocked_by"], true);
    assert_eq!(back["following"], false);
    for id in [alice.id, bob.id] {
        let account = account_json(&app, id, &alice_token).await;
        assert_eq!(account["followers_count"], 0);
        assert_eq!(account["following_count"], 0);
    }
    for reader in [alice.id, bob.id] {
        let feed = fulmar_store::timelines::home(app.db(), reader, &PageParams::newest(20))
            .await
            .unwrap();
        assert!(
            feed.iter().all(|s| s.account_id == reader),
            "no posts of the other"
        );
    }
    // Bob's follow notification to Alice is gone, and Bob cannot follow again.
    let (_, notes) = app.api_get("/api/v1/notifications", &alice_token).await;
    assert_eq!(notes, json!([]));
    let (status, body) = app
        .api_post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "This action is not allowed");
    // A blocked account sees nothing of the blocker's posts or lists.
    let (_, posts) = app
        .api_get(
            &format!("/api/v1/accounts/{}/statuses", alice.id),
            &bob_token,
        )
        .await;
    assert_eq!(posts, json!([]));

    let (status, link, blocks) = get_linked(&app, "/api/v1/blocks", &alice_token).await;
    assert_eq!(status, 200);
    assert_eq!(ids_of(&blocks), vec![bob.id.to_string()]);
    assert!(link_path(&link, "next").is_none());
    let (_, read_only) = app.user_with_token("carol", "read:accounts").await;
    let (status, _) = app.api_get("/api/v1/blocks", &read_only).await;
    assert_eq!(status, 403);

    let (status, rel) = app
        .api_post(
            &format!("/api/v1/accounts/{}/unblock", bob.id),
            &alice_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(rel["blocking"], false);
    let (_, blocks) = app.api_get("/api/v1/blocks", &alice_token).await;
    assert_eq!(blocks, json!([]));
    let (status, _) = app
        .api_post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
});

db_test!(
    muting_with_and_without_notifications,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;
        // Bob follows Alice: Alice has a follow notification from Bob.
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            &bob_token,
            json!({}),
        )
        .await;
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &alice_token,
            json!({}),
        )
        .await;
        post_status(&app, &bob, "public", "noise").await;

        let (status, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/mute", bob.id),
                &alice_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{rel}");
        insta::assert_json_snapshot!("relationship_muting", rel, { ".id" => "[id]" });
        assert_eq!(rel["muting"], true);
        assert_eq!(rel["muting_notifications"], true);
        assert_eq!(rel["following"], true, "muting is not unfollowing");
        let (_, notes) = app.api_get("/api/v1/notifications", &alice_token).await;
        assert_eq!(notes, json!([]), "hidden while muted");
        let (_, count) = app
            .api_get("/api/v1/notifications/unread_count", &alice_token)
            .await;
        assert_eq!(count, json!({"count": 0}));
        let feed = fulmar_store::timelines::home(app.db(), alice.id, &PageParams::newest(20))
            .await
            .unwrap();
        assert!(feed.is_empty(), "muted posts leave the home feed");

        let (status, link, mutes) = get_linked(&app, "/api/v1/mutes", &alice_token).await;
        assert_eq!(status, 200);
        assert!(link.is_some());
        assert_eq!(ids_of(&mutes), vec![bob.id.to_string()]);
        assert_eq!(mutes[0]["mute_expires_at"], Value::Null);
        insta::assert_json_snapshot!("muted_account", mutes[0], {
            ".id" => "[id]",
            ".created_at" => "[date]",
        });

        // Muting again changes the options: notifications shown, an hour long.
        let (status, rel) = app
            .api_post_form(
                &format!("/api/v1/accounts/{}/mute", bob.id),
                &alice_token,
                &[("notifications", "false"), ("duration", "3600")],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(rel["muting"], true);
        assert_eq!(rel["muting_notifications"], false);
        let (_, notes) = app.api_get("/api/v1/notifications", &alice_token).await;
        assert_eq!(notes.as_array().unwrap().len(), 1);
        let (_, mutes) = app.api_get("/api/v1/mutes", &alice_token).await;
        let expires = mutes[0]["mute_expires_at"].as_str().unwrap();
        assert!(expires.ends_with('Z') && expires.len() == 24, "{expires}");

        // An expired mute is no mute.
        exec(&app, "UPDATE mutes SET expires_at = 1").await;
        assert_eq!(
            relationship(&app, &alice_token, bob.id).await["muting"],
            false
        );
        let (_, mutes) = app.api_get("/api/v1/mutes", &alice_token).await;
        assert_eq!(mutes, json!([]));

        app.api_post(
            &format!("/api/v1/accounts/{}/mute", bob.id),
            &alice_token,
            json!({}),
        )
        .await;
        let (status, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/unmute", bob.id),
                &alice_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(rel["muting"], false);
        let feed = fulmar_store::timelines::home(app.db(), alice.id, &PageParams::newest(20))
            .await
            .unwrap();
        assert_eq!(
            feed.len(),
            1,
            "a followed account's posts come back after unmute"
        );
        let (_, no_mutes_scope) = app
            .user_with_token("carol", "read:blocks write:blocks")
            .await;
        let (status, _) = app.api_get("/api/v1/mutes", &no_mutes_scope).await;
        assert_eq!(status, 403);
        let (status, _) = app
            .api_post(
                &format!("/api/v1/accounts/{}/mute", bob.id),
                &no_mutes_scope,
                json!({}),
            )
            .await;
        assert_eq!(status, 403);
    }
);

db_test!(
    followers_and_following_page_with_link_headers,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", ALL).await;
        let mut followers = Vec::new();
        for n in 0..5 {
            let (f, token) = app.user_with_token(&format!("fan{n}"), ALL).await;
            let (status, _) = app
                .api_post(
                    &format!("/api/v1/accounts/{}/follow", alice.id),
                    &token,
                    json!({}),
                )
                .await;
            assert_eq!(status, 200);
            followers.push(f.id.to_string());
        }
        followers.reverse();

        // Walk the pages two at a time; the limit stays in every link.
        let mut seen = Vec::new();
        let mut path = Some(format!("/api/v1/accounts/{}/followers?limit=2", alice.id));
        let mut pages = 0;
        while let Some(p) = path {
            pages += 1;
            assert!(pages < 10, "runaway paging");
            let (status, link, body) = get_linked(&app, &p, &alice_token).await;
            assert_eq!(status, 200, "{p}");
            seen.extend(ids_of(&body));
            if let Some(next) = link_path(&link, "next") {
                assert!(next.contains("limit=2"), "{next}");
            }
            path = link_path(&link, "next");
        }
        assert_eq!(seen, followers);
        assert_eq!(pages, 3, "2 + 2 + 1, and no next link on the last page");

        // prev goes back up.
        let (_, link, _) = get_linked(
            &app,
            &format!("/api/v1/accounts/{}/followers?limit=2", alice.id),
            &alice_token,
        )
        .await;
        let next = link_path(&link, "next").unwrap();
        let (_, link, second) = get_linked(&app, &next, &alice_token).await;
        let (_, _, first) =
            get_linked(&app, &link_path(&link, "prev").unwrap(), &alice_token).await;
        assert_eq!(ids_of(&first), followers[..2].to_vec());
        assert_eq!(ids_of(&second), followers[2..4].to_vec());

        let (_, following) = app
            .api_get(
                &format!("/api/v1/accounts/{}/following", followers[0]),
                &alice_token,
            )
            .await;
        assert_eq!(ids_of(&following), vec![alice.id.to_string()]);
        let (_, all) = app
            .api_get(
                &format!("/api/v1/accounts/{}/followers?limit=100000", alice.id),
                &alice_token,
            )
            .await;
        assert_eq!(all.as_array().unwrap().len(), 5);
        // Anonymous readers see the lists too.
        let res = app
            .get(&format!("/api/v1/accounts/{}/followers", alice.id))
            .await;
        assert_eq!(res.status(), 200);
        let (status, _) = app
            .api_get("/api/v1/accounts/777/followers", &alice_token)
            .await;
        assert_eq!(status, 404);

        // Hidden collections: empty for others, complete for the owner.
        patch_form(&app, &alice_token, &[("hide_collections", "true")]).await;
        let (_, other) = app.user_with_token("outsider", "read").await;
        let (status, body) = app
            .api_get(&format!("/api/v1/accounts/{}/followers", alice.id), &other)
            .await;
        assert_eq!(status, 200);
        assert_eq!(body, json!([]));
        let res = app
            .get(&format!("/api/v1/accounts/{}/followers", alice.id))
            .await;
        assert_eq!(res.json::<Value>().await.unwrap(), json!([]));
        let (_, mine) = app
            .api_get(
                &format!("/api/v1/accounts/{}/followers", alice.id),
                &alice_token,
            )
            .await;
        assert_eq!(mine.as_array().unwrap().len(), 5);
        // The counts stay visible, as in Mastodon.
        assert_eq!(
            account_json(&app, alice.id, &other).await["followers_count"],
            5
        );

        // remove_from_followers
        let (status, rel) = app
            .api_post(
                &format!("/api/v1/accounts/{}/remove_from_followers", followers[0]),
                &alice_token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(rel["followed_by"], false);
        assert_eq!(
            account_json(&app, alice.id, &other).await["followers_count"],
            4
        );
    }
);

db_test!(
    account_statuses_follow_mastodons_visibility_rules,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;
        let (_, carol_token) = app.user_with_token("carol", ALL).await;
        let public = post_status(&app, &bob, "public", "public").await;
        let unlisted = post_status(&app, &bob, "unlisted", "unlisted").await;
        let private = post_status(&app, &bob, "private", "private").await;
        let direct = post_status(&app, &bob, "direct", "direct to alice").await;
        mention(&app, direct, alice.id).await;
        let other = post_status(&app, &alice, "public", "alice's post").await;
        let reply = post_status_with(&app, &bob, "public", "a reply", |s| {
            s.in_reply_to_id = Some(other);
            s.in_reply_to_account_id = Some(alice.id);
        })
        .await;
        let thread = post_status_with(&app, &bob, "public", "a thread", |s| {
            s.in_reply_to_id = Some(public);
            s.in_reply_to_account_id = Some(bob.id);
        })
        .await;
        let reblog = post_status_with(&app, &bob, "public", "", |s| {
            s.reblog_of_id = Some(other);
            s.content = String::new();
        })
        .await;
        let deleted = post_status(&app, &bob, "public", "gone").await;
        exec(
            &app,
            &format!("UPDATE statuses SET deleted_at = 1 WHERE id = {deleted}"),
        )
        .await;
        let path = format!("/api/v1/accounts/{}/statuses", bob.id);
        let ids = |list: &Value| {
            ids_of(list)
                .into_iter()
                .map(|i| i.parse::<i64>().unwrap())
                .collect::<Vec<_>>()
        };

        // Anonymous: public and unlisted.
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200);
        let anon: Value = res.json().await.unwrap();
        assert_eq!(ids(&anon), vec![reblog, thread, reply, unlisted, public]);
        // Carol, not following: the same.
        let (_, carol_view) = app.api_get(&path, &carol_token).await;
        assert_eq!(ids(&carol_view), ids(&anon));
        // Alice, mentioned but not following: plus the direct post that mentions her.
        let (_, alice_view) = app.api_get(&path, &alice_token).await;
        assert_eq!(
            ids(&alice_view),
            vec![reblog, thread, reply, direct, unlisted, public]
        );
        // Following adds the private post.
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &alice_token,
            json!({}),
        )
        .await;
        let (_, alice_view) = app.api_get(&path, &alice_token).await;
        assert_eq!(
            ids(&alice_view),
            vec![reblog, thread, reply, direct, private, unlisted, public]
        );
        // The author sees everything, as in Mastodon.
        let (_, own) = app.api_get(&path, &bob_token).await;
        assert_eq!(
            ids(&own),
            vec![reblog, thread, reply, direct, private, unlisted, public]
        );
        assert_eq!(own[0]["reblog"]["id"], other.to_string());

        // Filters.
        let (_, list) = app
            .api_get(&format!("{path}?exclude_replies=true"), &bob_token)
            .await;
        assert_eq!(
            ids(&list),
            vec![reblog, thread, direct, private, unlisted, public]
        );
        let (_, list) = app
            .api_get(&format!("{path}?exclude_reblogs=1"), &bob_token)
            .await;
        assert!(!ids(&list).contains(&reblog));
        let (_, list) = app
            .api_get(&format!("{path}?only_media=true"), &bob_token)
            .await;
        assert_eq!(list, json!([]), "no media yet");
        let pin = fulmar::core::ids::next_id();
        exec(
            &app,
            &format!("INSERT INTO status_pins (id, account_id, status_id, created_at) VALUES ({pin}, {}, {unlisted}, 0)", bob.id),
        )
        .await;
        let (_, list) = app
            .api_get(&format!("{path}?pinned=true"), &carol_token)
            .await;
        assert_eq!(ids(&list), vec![unlisted]);
        exec(
            &app,
            "INSERT INTO tags (id, name, display_name, created_at) VALUES (77, 'rust', 'Rust', 0)",
        )
        .await;
        exec(
            &app,
            &format!("INSERT INTO statuses_tags (status_id, tag_id) VALUES ({private}, 77), ({public}, 77)"),
        )
        .await;
        let (_, list) = app
            .api_get(&format!("{path}?tagged=Rust"), &carol_token)
            .await;
        assert_eq!(
            ids(&list),
            vec![public],
            "tagged, and still only what Carol may see"
        );
        let (_, list) = app
            .api_get(&format!("{path}?tagged=%23rust"), &alice_token)
            .await;
        assert_eq!(ids(&list), vec![private, public]);

        // Reblogs of accounts the viewer mutes are left out.
        app.api_post(
            &format!("/api/v1/accounts/{}/mute", alice.id),
            &carol_token,
            json!({}),
        )
        .await;
        let (_, list) = app.api_get(&path, &carol_token).await;
        assert!(!ids(&list).contains(&reblog));

        // Paging keeps the filters and ends without a next link.
        let (status, link, first) = get_linked(
            &app,
            &format!("{path}?limit=3&exclude_replies=true"),
            &bob_token,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(ids(&first), vec![reblog, thread, direct]);
        let next = link_path(&link, "next").unwrap();
        assert!(
            next.contains("exclude_replies=true") && next.contains("limit=3"),
            "{next}"
        );
        let (_, link, second) = get_linked(&app, &next, &bob_token).await;
        assert_eq!(ids(&second), vec![private, unlisted, public]);
        let (_, link, third) =
            get_linked(&app, &link_path(&link, "next").unwrap(), &bob_token).await;
        assert_eq!(third, json!([]));
        assert!(link.is_none(), "an empty page has no links");
        let (_, all) = app
            .api_get(&format!("{path}?limit=100000"), &bob_token)
            .await;
        assert_eq!(all.as_array().unwrap().len(), 7);
        let (_, wrong_scope) = app.user_with_token("dave", "read:accounts").await;
        let (status, _) = app.api_get(&path, &wrong_scope).await;
        assert_eq!(status, 403);
        let (status, _) = app.api_get("/api/v1/accounts/5/statuses", &bob_token).await;
        assert_eq!(status, 404);
    }
);

db_test!(relationships_of_many_accounts, |app: TestApp| async move {
    let (alice, token) = app.user_with_token("alice", ALL).await;
    let bob = app.create_user("bob").await;
    let carol = app.create_user("carol").await;
    app.api_post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        &token,
        json!({}),
    )
    .await;
    let (status, body) = app
        .api_get(
            &format!(
                "/api/v1/accounts/relationships?id[]={}&id[]=999&id[]={}&id[]=x&id[]={}",
                bob.id, carol.id, bob.id
            ),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ids_of(&body),
        vec![bob.id.to_string(), carol.id.to_string()]
    );
    insta::assert_json_snapshot!("relationship_none", body[1], { ".id" => "[id]" });
    assert_eq!(body[0]["following"], true);
    // A single `id` works too, and so does oneself.
    let (_, body) = app
        .api_get(
            &format!("/api/v1/accounts/relationships?id={}", alice.id),
            &token,
        )
        .await;
    assert_eq!(body[0]["following"], false);
    let (_, body) = app.api_get("/api/v1/accounts/relationships", &token).await;
    assert_eq!(body, json!([]));
    let (_, accounts_only) = app.user_with_token("dave", "read:accounts").await;
    let (status, _) = app
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={}", bob.id),
            &accounts_only,
        )
        .await;
    assert_eq!(status, 403);
    // Private notes about accounts.
    let (status, rel) = app
        .api_post_form(
            &format!("/api/v1/accounts/{}/note", carol.id),
            &token,
            &[("comment", "met at the conference")],
        )
        .await;
    assert_eq!(status, 200, "{rel}");
    assert_eq!(rel["note"], "met at the conference");
    assert_eq!(
        relationship(&app, &token, carol.id).await["note"],
        "met at the conference"
    );
    let (_, other) = app.user_with_token("erin", "read").await;
    assert_eq!(
        relationship(&app, &other, carol.id).await["note"],
        "",
        "notes are private"
    );
    let (status, body) = app
        .api_post(
            &format!("/api/v1/accounts/{}/note", carol.id),
            &token,
            json!({"comment": "x".repeat(2001)}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"],
        "Validation failed: Comment is too long (maximum is 2000 characters)"
    );
    let (status, rel) = app
        .api_post(
            &format!("/api/v1/accounts/{}/note", carol.id),
            &token,
            json!({"comment": ""}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(rel["note"], "");
    let (status, _) = app
        .api_post(
            "/api/v1/accounts/31337/note",
            &token,
            json!({"comment": "?"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .api_post(
            &format!("/api/v1/accounts/{}/note", carol.id),
            &other,
            json!({"comment": "?"}),
        )
        .await;
    assert_eq!(status, 403);
});

db_test!(lookup_finds_local_accounts, |app: TestApp| async move {
    let (alice, token) = app.user_with_token("alice", "read").await;
    for acct in [
        "alice",
        "@alice",
        "ALICE",
        "alice@fulmar.test",
        "@alice@FULMAR.test",
    ] {
        let (status, body) = app
            .api_get(&format!("/api/v1/accounts/lookup?acct={acct}"), &token)
            .await;
        assert_eq!(status, 200, "{acct}");
        assert_eq!(body["id"], alice.id.to_string(), "{acct}");
    }
    let res = app.get("/api/v1/accounts/lookup?acct=alice").await;
    assert_eq!(res.status(), 200, "no token needed");
    for acct in ["nobody", "alice@elsewhere.example", "", "@", "alice@"] {
        let (status, body) = app
            .api_get(&format!("/api/v1/accounts/lookup?acct={acct}"), &token)
            .await;
        assert_eq!(status, 404, "{acct}");
        assert_eq!(body["error"], "Record not found");
    }
    let (status, _) = app.api_get("/api/v1/accounts/lookup", &token).await;
    assert_eq!(status, 404);

    // Remote accounts (stored by federation) are found by their full handle. A follow
    // of one is a request until its server accepts it, as in Mastodon.
    let remote = remote_account(&app, "carol", "Remote.Example").await;
    let (status, body) = app
        .api_get("/api/v1/accounts/lookup?acct=carol@remote.example", &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["acct"], "carol@Remote.Example");
    assert_eq!(body["uri"], "https://remote.example/users/carol");
    let (_, follower) = app.user_with_token("dave", ALL).await;
    let (status, rel) = app
        .api_post(
            &format!("/api/v1/accounts/{remote}/follow"),
            &follower,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&rel["following"], &rel["requested"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(
        account_json(&app, remote, &token).await["followers_count"],
        0
    );
});

/// Inserts a remote account, as federation will; returns its id.
async fn remote_account(app: &TestApp, username: &str, domain: &str) -> i64 {
    let id = fulmar::core::ids::next_id();
    let host = domain.to_lowercase();
    fulmar_store::accounts::insert_account(
        app.db(),
        &fulmar_store::accounts::NewAccount {
            id,
            username: username.into(),
            domain: Some(domain.into()),
            uri: format!("https://{host}/users/{username}"),
            actor_type: "Person".into(),
            created_at: fulmar::core::time::now_ms(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    id
}

db_test!(
    search_finds_local_accounts_by_prefix,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let alfred = app.create_user("alfred").await;
        let abc = app.create_user("abc").await;
        let bob = app.create_user("bob").await;
        exec(
            &app,
            &format!(
                "UPDATE accounts SET display_name = 'Albert B' WHERE id = {}",
                bob.id
            ),
        )
        .await;
        let search = |q: &str| format!("/api/v1/accounts/search?q={q}");

        let (status, body) = app.api_get(&search("AL"), &token).await;
        assert_eq!(status, 200);
        let mut found = ids_of(&body);
        found.sort();
        let mut expected = vec![
            alice.id.to_string(),
            alfred.id.to_string(),
            bob.id.to_string(),
        ];
        expected.sort();
        assert_eq!(found, expected, "username or display name, any case");
        let (_, body) = app.api_get(&search("alfred"), &token).await;
        assert_eq!(
            ids_of(&body)[0],
            alfred.id.to_string(),
            "the exact match first"
        );
        let (_, body) = app.api_get(&search("@abc"), &token).await;
        assert_eq!(ids_of(&body), vec![abc.id.to_string()]);
        let (_, body) = app.api_get(&search("a_"), &token).await;
        assert_eq!(body, json!([]), "LIKE wildcards are taken literally");
        let (_, body) = app.api_get(&search("a%25"), &token).await;
        assert_eq!(body, json!([]));
        let (_, body) = app.api_get(&search("bob@fulmar.test"), &token).await;
        assert_eq!(ids_of(&body), vec![bob.id.to_string()]);
        let (_, body) = app.api_get(&search("bob@elsewhere.example"), &token).await;
        assert_eq!(body, json!([]));
        let (_, body) = app.api_get(&search(""), &token).await;
        assert_eq!(body, json!([]));
        let (_, body) = app
            .api_get(&format!("{}&limit=1", search("a")), &token)
            .await;
        assert_eq!(body.as_array().unwrap().len(), 1);
        let (_, body) = app
            .api_get(&format!("{}&limit=100000", search("a")), &token)
            .await;
        assert_eq!(body.as_array().unwrap().len(), 4);
        let (_, body) = app
            .api_get(&format!("{}&offset=3", search("a")), &token)
            .await;
        assert_eq!(body.as_array().unwrap().len(), 1);

        app.api_post(
            &format!("/api/v1/accounts/{}/follow", alfred.id),
            &token,
            json!({}),
        )
        .await;
        let (_, body) = app
            .api_get(&format!("{}&following=true", search("a")), &token)
            .await;
        assert_eq!(ids_of(&body), vec![alfred.id.to_string()]);
        let (_, wrong_scope) = app.user_with_token("dave", "read:statuses").await;
        let (status, _) = app.api_get(&search("a"), &wrong_scope).await;
        assert_eq!(status, 403);
        let res = app.get(&search("a")).await;
        assert_eq!(res.status(), 401);
    }
);

db_test!(profile_extras_for_apps, |app: TestApp| async move {
    let (_alice, token) = app.user_with_token("alice", ALL).await;
    let (bob, bob_token) = app.user_with_token("bob", ALL).await;
    let (carol, carol_token) = app.user_with_token("carol", ALL).await;
    let (dave, dave_token) = app.user_with_token("dave", ALL).await;
    // Alice follows Bob and Carol; both follow Dave; Carol hides her network.
    for target in [bob.id, carol.id] {
        app.api_post(
            &format!("/api/v1/accounts/{target}/follow"),
            &token,
            json!({}),
        )
        .await;
    }
    for t in [&bob_token, &carol_token] {
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", dave.id),
            t,
            json!({}),
        )
        .await;
    }
    patch_form(&app, &carol_token, &[("hide_collections", "true")]).await;
    let (status, body) = app
        .api_get(
            &format!(
                "/api/v1/accounts/familiar_followers?id[]={}&id[]={}&id[]=424242",
                dave.id, bob.id
            ),
            &token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([
            {"id": dave.id.to_string(), "accounts": [body[0]["accounts"][0].clone()]},
            {"id": bob.id.to_string(), "accounts": []},
        ])
    );
    assert_eq!(body[0]["accounts"][0]["id"], bob.id.to_string());
    let _ = dave_token;

    let (status, body) = app
        .api_get(
            &format!("/api/v1/accounts/{}/featured_tags", bob.id),
            &token,
        )
        .await;
    assert_eq!((status, body), (200, json!([])));
    let (status, body) = app
        .api_get(&format!("/api/v1/accounts/{}/lists", bob.id), &token)
        .await;
    assert_eq!((status, body), (200, json!([])));
    let (status, _) = app
        .api_get("/api/v1/accounts/424242/featured_tags", &token)
        .await;
    assert_eq!(status, 404);
});
