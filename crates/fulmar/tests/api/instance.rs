//! The instance entities and the small endpoints apps call at sign-in: preferences,
//! the not-yet-existing lists, filters and the like, default images, and rate
//! limiting.

use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{error_of, send, Backend, TestApp};

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    send(app.client.get(app.url(path))).await
}

/// Creates the admin whose email and account are the instance's contact.
async fn admin(app: &TestApp) {
    fulmar::core::accounts::create_local_user(
        app.db(),
        &app.app.urls,
        fulmar::core::accounts::NewLocalUser {
            username: "admin",
            email: "admin@fulmar.test",
            password: "correct horse battery staple",
            admin: true,
        },
    )
    .await
    .unwrap();
}

db_test!(
    instance_v2_is_complete_and_honest,
    |app: TestApp| async move {
        app.create_user("alice").await;
        admin(&app).await;
        let (status, v2) = get_json(&app, "/api/v2/instance").await;
        assert_eq!(status, 200, "{v2}");
        // Mastodon.py asks with a trailing slash.
        let (status, slash) = get_json(&app, "/api/v2/instance/").await;
        assert_eq!(status, 200);
        assert_eq!(slash, v2);

        let version = v2["version"].as_str().unwrap();
        assert_eq!(
            version,
            format!("4.2.0 (compatible; Fulmar {})", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(v2["api_versions"]["mastodon"], 0);
        assert_eq!(v2["contact"]["email"], "admin@fulmar.test");
        assert_eq!(v2["contact"]["account"]["username"], "admin");
        assert_eq!(v2["usage"]["users"]["active_month"].as_i64(), Some(0));
        assert_eq!(
            v2["configuration"]["media_attachments"]["supported_mime_types"],
            json!([])
        );
        // A real uncompressed P-256 point (65 bytes), URL-safe base64 with padding.
        let key = v2["configuration"]["vapid"]["public_key"].as_str().unwrap();
        assert_eq!(key.len(), 88);
        assert!(key.starts_with("B"));
        insta::assert_json_snapshot!("instance_v2", v2, {
            ".version" => "[version]",
            ".configuration.vapid.public_key" => "[vapid]",
            ".contact.account.id" => "[id]",
            ".contact.account.created_at" => "[date]",
        });

        // Apps get the same key when they register, and it stays the same.
        let res = app
            .client
            .post(app.url("/api/v1/apps"))
            .form(&[
                ("client_name", "test"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ])
            .send()
            .await
            .unwrap();
        let registered: Value = res.json().await.unwrap();
        assert_eq!(registered["vapid_key"], key);
        let (_, again) = get_json(&app, "/api/v2/instance").await;
        assert_eq!(again["configuration"]["vapid"]["public_key"], key);
    }
);

db_test!(instance_v1_is_complete, |app: TestApp| async move {
    let (status, v1) = get_json(&app, "/api/v1/instance").await;
    assert_eq!(status, 200, "{v1}");
    let (status, slash) = get_json(&app, "/api/v1/instance/").await;
    assert_eq!(status, 200);
    assert_eq!(slash, v1);
    // No admin yet: no contact, never a missing key.
    assert_eq!(v1["contact_account"], Value::Null);
    assert_eq!(v1["email"], "");
    insta::assert_json_snapshot!("instance_v1", v1, {
        ".version" => "[version]",
    });

    // The same facts as v2.
    app.create_user("alice").await;
    let (_, v1) = get_json(&app, "/api/v1/instance").await;
    let (_, v2) = get_json(&app, "/api/v2/instance").await;
    assert_eq!(v1["version"], v2["version"]);
    assert_eq!(v1["stats"]["user_count"], 1);
    assert_eq!(
        v1["configuration"]["statuses"],
        v2["configuration"]["statuses"]
    );
    assert_eq!(v1["thumbnail"], v2["thumbnail"]["url"]);
});

db_test!(
    instance_sub_resources_answer_as_mastodon_does,
    |app: TestApp| async move {
        for path in [
            "/api/v1/instance/peers",
            "/api/v1/instance/activity",
            "/api/v1/instance/rules",
        ] {
            assert_eq!(get_json(&app, path).await, (200, json!([])), "{path}");
        }
        assert_eq!(
            get_json(&app, "/api/v1/instance/extended_description").await,
            (200, json!({"updated_at": null, "content": ""}))
        );
        assert_eq!(
            get_json(&app, "/api/v1/instance/translation_languages").await,
            (200, json!({}))
        );
        let (status, body) = get_json(&app, "/api/v1/instance/domain_blocks").await;
        assert_eq!((status, &body["error"]), (404, &json!("Record not found")));
    }
);

db_test!(
    default_images_are_pngs_cached_for_long,
    |app: TestApp| async move {
        for (path, width, height) in [
            ("/avatars/original/missing.png", 120, 120),
            ("/headers/original/missing.png", 300, 100),
            ("/images/preview.png", 240, 126),
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(res.headers()["content-type"], "image/png");
            let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
            assert!(cache.contains("max-age=31536000"), "{cache}");
            let png = res.bytes().await.unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
            assert_eq!(&png[12..16], b"IHDR");
            assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), width);
            assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), height);
            assert!(png.ends_with(b"IEND\xaeB`\x82"));
        }
        // The account entities point at them.
        let (_, v2) = get_json(&app, "/api/v2/instance").await;
        assert_eq!(
            v2["thumbnail"]["url"],
            "https://fulmar.test/images/preview.png"
        );
    }
);

db_test!(preferences_come_from_the_user, |app: TestApp| async move {
    let (alice, token) = app.user_with_token("alice", "read:accounts").await;
    let (status, body) = app.api_get("/api/v1/preferences", &token).await;
    assert_eq!(status, 200, "{body}");
    insta::assert_json_snapshot!("preferences", body);

    fulmar_store::with_pool!(app.db(), p => {
        sqlx::query(
            "UPDATE users SET default_visibility = 'private', default_sensitive = TRUE, \
             default_language = 'de', settings = $1 WHERE account_id = $2",
        )
        .bind(r#"{"reading:expand:media":"show_all","reading:expand:spoilers":true}"#)
        .bind(alice.id)
        .execute(p)
        .await
        .unwrap();
    });
    let (_, body) = app.api_get("/api/v1/preferences", &token).await;
    assert_eq!(
        body,
        json!({
            "posting:default:visibility": "private",
            "posting:default:sensitive": true,
            "posting:default:language": "de",
            "reading:expand:media": "show_all",
            "reading:expand:spoilers": true,
        })
    );

    let (_, wrong) = app.user_with_token("bob", "read:statuses").await;
    let (status, _) = app.api_get("/api/v1/preferences", &wrong).await;
    assert_eq!(status, 403);
    let res = app.get("/api/v1/preferences").await;
    assert_eq!(res.status(), 401);
});

db_test!(
    features_not_built_yet_answer_with_empty_lists,
    |app: TestApp| async move {
        let (_, read) = app.user_with_token("alice", "read").await;
        let (_, nothing) = app.user_with_token("bob", "write:statuses").await;
        let signed_in = [
            "/api/v1/lists",
            "/api/v1/filters",
            "/api/v2/filters",
            "/api/v1/announcements",
            "/api/v1/followed_tags",
            "/api/v1/suggestions",
            "/api/v2/suggestions",
            "/api/v1/conversations",
            "/api/v1/scheduled_statuses",
            "/api/v1/domain_blocks",
            "/api/v1/endorsements",
            "/api/v1/featured_tags",
        ];
        for path in signed_in {
            assert_eq!(app.api_get(path, &read).await, (200, json!([])), "{path}");
            assert_eq!(app.api_get(path, &nothing).await.0, 403, "{path}");
            let res = app.get(path).await;
            assert_eq!(res.status(), 401, "{path}");
        }
        // The granular scope is enough.
        let (_, lists) = app.user_with_token("carol", "read:lists").await;
        assert_eq!(app.api_get("/api/v1/lists", &lists).await.0, 200);
        // The legacy `follow` scope still reads domain blocks.
        let (_, follow) = app.user_with_token("dave", "follow").await;
        assert_eq!(app.api_get("/api/v1/domain_blocks", &follow).await.0, 200);

        for path in [
            "/api/v1/custom_emojis",
            "/api/v1/trends",
            "/api/v1/trends/tags",
            "/api/v1/trends/statuses",
            "/api/v1/trends/links",
        ] {
            assert_eq!(get_json(&app, path).await, (200, json!([])), "{path}");
        }

        // No push subscription exists, which Mastodon answers with 404.
        let (_, push) = app.user_with_token("erin", "push").await;
        let (status, body) = app.api_get("/api/v1/push/subscription", &push).await;
        assert_eq!((status, &body["error"]), (404, &json!("Record not found")));
        assert_eq!(app.api_get("/api/v1/push/subscription", &read).await.0, 403);
        // Subscribing is refused until web push exists; unsubscribing is harmless.
        let (status, _) = app
            .api_post_form(
                "/api/v1/push/subscription",
                &push,
                &[("subscription[endpoint]", "https://push.example/x")],
            )
            .await;
        assert_eq!(status, 422);
        let (status, body) =
            send(app.api(reqwest::Method::DELETE, "/api/v1/push/subscription", &push)).await;
        assert_eq!((status, body), (200, json!({})));
    }
);

/// Rate limiting with a limit of three requests per window.
async fn rate_limit_applies(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.rate_limit = 3).await else {
        return;
    };
    let (_, token) = app.user_with_token("alice", "read").await;
    let (_, other) = app.user_with_token("bob", "read").await;
    let call = |token: &str| {
        app.client
            .get(app.url("/api/v1/timelines/home"))
            .bearer_auth(token)
            .send()
    };
    for remaining in ["2", "1", "0"] {
        let res = call(&token).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-ratelimit-limit"], "3");
        assert_eq!(res.headers()["x-ratelimit-remaining"], remaining);
        let reset = res.headers()["x-ratelimit-reset"].to_str().unwrap();
        let reset = chrono::DateTime::parse_from_rfc3339(reset).unwrap();
        let wait = reset.timestamp() - chrono::Utc::now().timestamp();
        assert!((0..=300).contains(&wait), "{wait}");
    }
    let res = call(&token).await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
    assert!(res.headers().contains_key("x-ratelimit-reset"));
    assert!(res.headers().contains_key("retry-after"));
    // Browser apps can read the answer.
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert_eq!(error_of(res).await, "Too many requests");

    // Another token has its own allowance; anonymous calls count by address.
    let res = call(&other).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-ratelimit-remaining"], "2");
    let res = app.get("/api/v1/instance").await;
    assert_eq!(res.headers()["x-ratelimit-remaining"], "2");

    // Only the API is counted.
    for _ in 0..5 {
        let res = app.get("/health").await;
        assert_eq!(res.status(), 200);
        assert!(!res.headers().contains_key("x-ratelimit-limit"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_applies_sqlite() {
    rate_limit_applies(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_applies_postgres() {
    rate_limit_applies(Backend::Postgres).await;
}

db_test!(
    rate_limit_headers_use_mastodon_defaults,
    |app: TestApp| async move {
        let res = app.get("/api/v2/instance").await;
        assert_eq!(res.headers()["x-ratelimit-limit"], "300");
        assert_eq!(res.headers()["x-ratelimit-remaining"], "299");
        // Apps may read them from other origins.
        let exposed = app
            .client
            .get(app.url("/api/v2/instance"))
            .header("Origin", "https://app.example")
            .send()
            .await
            .unwrap();
        let exposed = exposed.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(exposed.contains("x-ratelimit-remaining"), "{exposed}");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_zero_turns_it_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.rate_limit = 0)
        .await
        .unwrap();
    let res = app.get("/api/v2/instance").await;
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("x-ratelimit-limit"));
}
