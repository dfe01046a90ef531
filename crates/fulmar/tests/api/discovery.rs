//! Discovery as other servers perform it: WebFinger, host-meta, NodeInfo and actors.

use serde_json::Value;

use crate::db_test;
use crate::helpers::{error_of, TestApp, DOMAIN};

const AS_LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

async fn webfinger(app: &TestApp, resource: &str) -> reqwest::Response {
    app.client
        .get(app.url("/.well-known/webfinger"))
        .query(&[("resource", resource)])
        .send()
        .await
        .unwrap()
}

db_test!(
    webfinger_finds_a_user_by_acct_and_by_url,
    |app: TestApp| async move {
        app.create_user("alice").await;
        let res = webfinger(&app, "acct:alice@fulmar.test").await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"],
            "application/jrd+json; charset=utf-8"
        );
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        let jrd: Value = res.json().await.unwrap();
        insta::assert_json_snapshot!("webfinger_acct", jrd);

        // The actor URL, the profile URL, another case and a leading @ find the same
        // account, with the canonical subject.
        for resource in [
            "https://fulmar.test/users/alice",
            "https://fulmar.test/@alice",
            "acct:ALICE@FULMAR.TEST",
            "alice@fulmar.test",
            "acct:@alice@fulmar.test",
        ] {
            let res = webfinger(&app, resource).await;
            assert_eq!(res.status(), 200, "{resource}");
            let other: Value = res.json().await.unwrap();
            assert_eq!(other, jrd, "{resource}");
        }
    }
);

db_test!(
    webfinger_finds_the_instance_actor,
    |app: TestApp| async move {
        for resource in ["acct:fulmar.test@fulmar.test", "https://fulmar.test/actor"] {
            let res = webfinger(&app, resource).await;
            assert_eq!(res.status(), 200, "{resource}");
            let jrd: Value = res.json().await.unwrap();
            assert_eq!(jrd["subject"], "acct:fulmar.test@fulmar.test");
            let self_link = jrd["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["rel"] == "self")
                .unwrap();
            assert_eq!(self_link["href"], "https://fulmar.test/actor");
            assert_eq!(self_link["type"], "application/activity+json");
        }
    }
);

db_test!(
    webfinger_answers_404_for_unknown_and_foreign_accounts,
    |app: TestApp| async move {
        app.create_user("alice").await;
        for resource in [
            "acct:bob@fulmar.test",
            "acct:alice@other.example",
            "https://other.example/users/alice",
            "https://fulmar.test/users/bob",
            "https://fulmar.test/users/alice/outbox",
            "acct:no-such.name@fulmar.test",
        ] {
            let res = webfinger(&app, resource).await;
            assert_eq!(res.status(), 404, "{resource}");
            assert_eq!(error_of(res).await, "Record not found");
        }
    }
);

db_test!(
    webfinger_rejects_malformed_resources_with_400,
    |app: TestApp| async move {
        for resource in [
            "",
            "alice",
            "acct:",
            "acct:@fulmar.test",
            "acct:alice@",
            "https://",
            "acct:a/b@fulmar.test",
        ] {
            let res = webfinger(&app, resource).await;
            assert_eq!(res.status(), 400, "{resource:?}");
            assert!(error_of(res).await.contains("resource"));
        }
        // No resource parameter at all.
        let res = app.get("/.well-known/webfinger").await;
        assert_eq!(res.status(), 400);
        error_of(res).await;
        // Oversized queries are refused before they reach a handler.
        let huge = format!("acct:{}@fulmar.test", "a".repeat(10_000));
        let res = webfinger(&app, &huge).await;
        assert_eq!(res.status(), 414);
        assert_eq!(error_of(res).await, "Request URI is too long");
    }
);

db_test!(host_meta_points_at_webfinger, |app: TestApp| async move {
    let res = app.get("/.well-known/host-meta").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/xrd+xml; charset=utf-8"
    );
    insta::assert_snapshot!("host_meta", res.text().await.unwrap());
});

db_test!(nodeinfo_reports_honest_usage, |app: TestApp| async move {
    let res = app.get("/.well-known/nodeinfo").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let discovery: Value = res.json().await.unwrap();
    insta::assert_json_snapshot!("nodeinfo_discovery", discovery);

    let alice = app.create_user("alice").await;
    app.create_user("bob").await;
    // One public post, one reblog (not a post) and one deleted post: one counts.
    for (id, reblog_of_id, deleted) in [(1, None, false), (2, Some(1), false), (3, None, true)] {
        fulmar_store::statuses::insert(
            app.db(),
            &fulmar_store::statuses::NewStatus {
                id,
                uri: format!("https://fulmar.test/users/alice/statuses/{id}"),
                account_id: alice.id,
                reblog_of_id,
                content: "<p>hi</p>".into(),
                visibility: "public".into(),
                local: true,
                created_at: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        if deleted {
            fulmar_store::with_pool!(app.db(), p => sqlx::query("UPDATE statuses SET deleted_at = 5 WHERE id = $1").bind(id).execute(p).await.map(|_| ())).unwrap();
        }
    }

    for version in ["2.0", "2.1"] {
        let res = app.get(&format!("/nodeinfo/{version}")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"],
            format!("application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\"")
        );
        let doc: Value = res.json().await.unwrap();
        assert_eq!(doc["usage"]["users"]["total"], 2);
        assert_eq!(doc["usage"]["localPosts"], 1);
        insta::assert_json_snapshot!(format!("nodeinfo_{version}"), doc, {
            ".software.version" => "[version]",
        });
    }
    let res = app.get("/nodeinfo/3.0").await;
    assert_eq!(res.status(), 404);
    error_of(res).await;
});

fn redact_actor(actor: &Value) -> Value {
    let mut a = actor.clone();
    a["publicKey"]["publicKeyPem"] = Value::String("[pem]".into());
    a["published"] = Value::String("[date]".into());
    a
}

db_test!(actor_documents_for_servers, |app: TestApp| async move {
    app.create_user("alice").await;
    let actor = app.get_activity("/users/alice").await;
    insta::assert_json_snapshot!("actor_person", redact_actor(&actor));
    // JSON-LD with the ActivityStreams profile gets the same document.
    let res = app.get_with_accept("/users/alice", AS_LD).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/activity+json");
    let same: Value = res.json().await.unwrap();
    assert_eq!(same, actor);

    // The key is a real RSA-2048 public key in SubjectPublicKeyInfo PEM, owned by
    // the actor.
    assert_eq!(
        actor["publicKey"]["id"],
        "https://fulmar.test/users/alice#main-key"
    );
    assert_eq!(actor["publicKey"]["owner"], actor["id"]);
    let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
    let der = fulmar_federation::keys::pem_decode("PUBLIC KEY", pem).expect("PEM");
    assert!(
        der.len() > 290 && der.len() < 300,
        "RSA-2048 SPKI is 294 bytes, got {}",
        der.len()
    );
    // Published is the day of creation, with seconds and Z.
    let published = actor["published"].as_str().unwrap();
    assert!(published.ends_with("T00:00:00Z"), "{published}");

    // Usernames are matched case-insensitively; the document names the account.
    let upper = app.get_activity("/users/ALICE").await;
    assert_eq!(upper["id"], "https://fulmar.test/users/alice");

    // Every key other servers look for is there.
    for key in [
        "@context",
        "id",
        "type",
        "preferredUsername",
        "name",
        "summary",
        "url",
        "inbox",
        "outbox",
        "followers",
        "following",
        "featured",
        "featuredTags",
        "endpoints",
        "publicKey",
        "manuallyApprovesFollowers",
        "discoverable",
        "indexable",
        "memorial",
        "published",
        "attachment",
        "alsoKnownAs",
        "tag",
        "attributionDomains",
    ] {
        assert!(actor.get(key).is_some(), "actor lacks {key}");
    }
});

db_test!(
    actor_urls_serve_html_to_browsers,
    |app: TestApp| async move {
        app.create_user("alice").await;
        for path in ["/users/alice", "/@alice"] {
            for accept in [
                None,
                Some("text/html,application/xhtml+xml,*/*;q=0.8"),
                Some("*/*"),
            ] {
                let res = match accept {
                    Some(a) => app.get_with_accept(path, a).await,
                    None => app.get(path).await,
                };
                assert_eq!(res.status(), 200, "{path} {accept:?}");
                assert!(res.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html"));
                let html = res.text().await.unwrap();
                assert!(html.contains("@alice@fulmar.test"), "{html}");
                assert!(html.contains(
                "<link rel=\"alternate\" type=\"application/activity+json\" href=\"https://fulmar.test/users/alice\">"
            ));
            }
        }
        // A server asking the profile URL for ActivityPub is sent to the actor.
        let res = app
            .get_with_accept("/@alice", "application/activity+json")
            .await;
        assert_eq!(res.status(), 301);
        assert_eq!(res.headers()["location"], "https://fulmar.test/users/alice");
    }
);

db_test!(
    actor_bad_requests_get_json_errors,
    |app: TestApp| async move {
        app.create_user("alice").await;
        let res = app.get_with_accept("/users/alice", "image/png").await;
        assert_eq!(res.status(), 406);
        assert!(error_of(res).await.contains("activity+json"));
        let res = app
            .get_with_accept("/users/nobody", "application/activity+json")
            .await;
        assert_eq!(res.status(), 404);
        error_of(res).await;
        let res = app.get("/@nobody").await;
        assert_eq!(res.status(), 404);
        error_of(res).await;
        let res = app.get("/no/such/route").await;
        assert_eq!(res.status(), 404);
        error_of(res).await;
    }
);

db_test!(
    instance_actor_is_an_application_fetchable_without_signature,
    |app: TestApp| async move {
        // No Accept header, no signature: servers fetch it this way to verify our keys.
        let res = app.get("/actor").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/activity+json");
        let actor: Value = res.json().await.unwrap();
        assert_eq!(actor["type"], "Application");
        assert_eq!(actor["preferredUsername"], DOMAIN);
        assert_eq!(
            actor["publicKey"]["id"],
            "https://fulmar.test/actor#main-key"
        );
        insta::assert_json_snapshot!("actor_instance", redact_actor(&actor));
        // The key is stable across requests and restarts (it lives in the database).
        let again = app.get_activity("/actor").await;
        assert_eq!(again["publicKey"], actor["publicKey"]);
        let outbox = app.get_activity("/actor/outbox").await;
        assert_eq!(outbox["totalItems"], 0);
    }
);

db_test!(
    dev_insecure_switches_every_url_to_http,
    |_app: TestApp| async move {
        let app = TestApp::spawn_with(_app.backend, |c| c.dev_insecure = true)
            .await
            .unwrap();
        app.create_user("alice").await;
        let actor = app.get_activity("/users/alice").await;
        let text = actor.to_string();
        assert!(!text.contains("https://fulmar.test"), "{text}");
        assert_eq!(actor["id"], "http://fulmar.test/users/alice");
        assert_eq!(
            actor["endpoints"]["sharedInbox"],
            "http://fulmar.test/inbox"
        );
        let jrd: Value = webfinger(&app, "acct:alice@fulmar.test")
            .await
            .json()
            .await
            .unwrap();
        assert!(!jrd.to_string().contains("https://"), "{jrd}");
        let nodeinfo: Value = app.get("/.well-known/nodeinfo").await.json().await.unwrap();
        assert!(
            !nodeinfo.to_string().contains("https://fulmar.test"),
            "{nodeinfo}"
        );
        let host_meta = app
            .get("/.well-known/host-meta")
            .await
            .text()
            .await
            .unwrap();
        assert!(host_meta.contains("http://fulmar.test/.well-known/webfinger"));
        let instance = app.get_activity("/actor").await;
        assert_eq!(instance["id"], "http://fulmar.test/actor");
    }
);

db_test!(health_answers_when_ready, |app: TestApp| async move {
    let res = app.get("/health").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "OK");
});

db_test!(framework_errors_are_json_too, |app: TestApp| async move {
    // A wrong method: 405 with the Allow header kept.
    let res = app
        .client
        .post(app.url("/.well-known/webfinger"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert!(res.headers().contains_key("allow"));
    assert_eq!(error_of(res).await, "Method Not Allowed");
    // A query string the extractor cannot read.
    let res = app
        .get("/.well-known/webfinger?resource=acct:a@fulmar.test&resource=acct:b@fulmar.test")
        .await;
    assert_eq!(res.status(), 400);
    assert!(error_of(res).await.contains("duplicate field"));
    // A body over the 1 MB limit, refused from its Content-Length.
    let (status, body) = crate::helpers::post_announcing(
        &app.url("/api/v1/apps"),
        &[("Content-Type".into(), "application/json".into())],
        2 * 1024 * 1024,
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].is_string(), "{body}");
});
