//! Notifications v1: the list and its filters and paging, one notification,
//! dismissing and clearing, the unread count, and what stays hidden.

use fulmar::core::notifications::{notify, Kind};
use serde_json::{json, Value};

use crate::accounts::{exec, get_linked, link_path, mention, post_status, ALL};
use crate::db_test;
use crate::helpers::TestApp;

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn types_for(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let (status, body) = app
        .api_get(&format!("/api/v1/notifications{query}"), token)
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    types_of(&body)
}

fn types_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_owned())
        .collect()
}

db_test!(
    notifications_carry_accounts_and_statuses,
    |app: TestApp| async move {
        let (alice, alice_token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;
        // Bob follows Alice, favourites her post and mentions her.
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", alice.id),
            &bob_token,
            json!({}),
        )
        .await;
        let post = post_status(&app, &alice, "public", "hello").await;
        notify(app.db(), alice.id, bob.id, Kind::Favourite, Some(post))
            .await
            .unwrap();
        let reply = post_status(&app, &bob, "public", "@alice hi").await;
        mention(&app, reply, alice.id).await;
        notify(app.db(), alice.id, bob.id, Kind::Mention, Some(reply))
            .await
            .unwrap();

        let (status, link, body) = get_linked(&app, "/api/v1/notifications", &alice_token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(types_of(&body), vec!["mention", "favourite", "follow"]);
        insta::assert_json_snapshot!("notification_follow", body[2], {
            ".**.id" => "[id]",
            ".**.created_at" => "[date]",
            ".group_key" => "ungrouped-[id]",
        });
        insta::assert_json_snapshot!("notification_mention", body[0], {
            ".**.id" => "[id]",
            ".**.created_at" => "[date]",
            ".status.uri" => "[uri]",
            ".status.url" => "[url]",
            ".group_key" => "ungrouped-[id]",
        });
        for n in body.as_array().unwrap() {
            assert_eq!(
                n["group_key"],
                format!("ungrouped-{}", n["id"].as_str().unwrap())
            );
            assert_eq!(n["account"]["id"], bob.id.to_string());
        }
        assert_eq!(body[0]["status"]["id"], reply.to_string());
        assert_eq!(body[1]["status"]["id"], post.to_string());
        assert_eq!(body[2]["status"], Value::Null);
        assert!(link_path(&link, "prev").is_some());
        assert!(
            link_path(&link, "next").is_none(),
            "one short page: no next"
        );

        // One notification by id; others' notifications and unknown ids are 404.
        let id = body[1]["id"].as_str().unwrap();
        let (status, one) = app
            .api_get(&format!("/api/v1/notifications/{id}"), &alice_token)
            .await;
        assert_eq!(status, 200);
        assert_eq!(one, body[1]);
        for (path, token) in [
            (format!("/api/v1/notifications/{id}"), &bob_token),
            ("/api/v1/notifications/123".to_owned(), &alice_token),
        ] {
            let (status, body) = app.api_get(&path, token).await;
            assert_eq!(status, 404);
            assert_eq!(body["error"], "Record not found");
        }
        let (status, _) = app.api_get("/api/v1/notifications/abc", &alice_token).await;
        assert_eq!(status, 404);
    }
);

db_test!(types_and_exclude_types_filter, |app: TestApp| async move {
    let (alice, token) = app.user_with_token("alice", ALL).await;
    let bob = app.create_user("bob").await;
    let carol = app.create_user("carol").await;
    let post = post_status(&app, &alice, "public", "post").await;
    for (from, kind) in [
        (bob.id, Kind::Follow),
        (bob.id, Kind::Favourite),
        (carol.id, Kind::Reblog),
        (carol.id, Kind::Favourite),
    ] {
        let status = (kind != Kind::Follow).then_some(post);
        notify(app.db(), alice.id, from, kind, status)
            .await
            .unwrap();
    }
    assert_eq!(
        types_for(&app, &token, "?types[]=favourite").await,
        vec!["favourite", "favourite"]
    );
    assert_eq!(
        types_for(&app, &token, "?types[]=favourite&types[]=follow").await,
        vec!["favourite", "favourite", "follow"]
    );
    assert_eq!(
        types_for(&app, &token, "?exclude_types[]=favourite").await,
        vec!["reblog", "follow"]
    );
    assert_eq!(
        types_for(
            &app,
            &token,
            "?exclude_types[]=favourite&exclude_types[]=reblog"
        )
        .await,
        vec!["follow"]
    );
    assert_eq!(
        types_for(&app, &token, "?types=reblog").await,
        vec!["reblog"],
        "a bare name works too"
    );
    assert!(types_for(&app, &token, "?types[]=poll").await.is_empty());
    assert_eq!(
        types_for(&app, &token, &format!("?account_id={}", carol.id)).await,
        vec!["favourite", "reblog"]
    );
    assert!(types_for(&app, &token, "?account_id=nope").await.is_empty());

    // The unread count takes the same filters.
    let (status, count) = app
        .api_get("/api/v1/notifications/unread_count", &token)
        .await;
    assert_eq!(status, 200);
    assert_eq!(count, json!({"count": 4}));
    let (_, count) = app
        .api_get(
            "/api/v1/notifications/unread_count?types[]=favourite",
            &token,
        )
        .await;
    assert_eq!(count["count"], 2);
    let (_, count) = app
        .api_get("/api/v1/notifications/unread_count?limit=3", &token)
        .await;
    assert_eq!(count["count"], 3, "counted up to the limit");
    // Only what arrived after the notifications marker counts.
    let (_, all) = app.api_get("/api/v1/notifications", &token).await;
    let second: i64 = all[1]["id"].as_str().unwrap().parse().unwrap();
    let user = fulmar_store::users::by_account_id(app.db(), alice.id)
        .await
        .unwrap()
        .unwrap();
    exec(
        &app,
        &format!(
            "INSERT INTO markers (id, user_id, timeline, last_read_id, updated_at) \
             VALUES (1, {}, 'notifications', {second}, 0)",
            user.id
        ),
    )
    .await;
    let (_, count) = app
        .api_get("/api/v1/notifications/unread_count", &token)
        .await;
    assert_eq!(count["count"], 1);
});

db_test!(
    paging_keeps_the_filters_and_stops_at_the_end,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let bob = app.create_user("bob").await;
        let post = post_status(&app, &alice, "public", "popular").await;
        for n in 0..85 {
            let kind = if n % 2 == 0 {
                Kind::Favourite
            } else {
                Kind::Reblog
            };
            notify(app.db(), alice.id, bob.id, kind, Some(post))
                .await
                .unwrap();
        }
        notify(app.db(), alice.id, bob.id, Kind::Follow, None)
            .await
            .unwrap();

        // limit=100000 is clamped to 80.
        let (status, body) = app
            .api_get("/api/v1/notifications?limit=100000", &token)
            .await;
        assert_eq!(status, 200);
        assert_eq!(body.as_array().unwrap().len(), 80);
        let (_, body) = app.api_get("/api/v1/notifications", &token).await;
        assert_eq!(body.as_array().unwrap().len(), 40, "the default page");

        // Walk the favourites 20 at a time.
        let mut path = Some("/api/v1/notifications?types[]=favourite&limit=20".to_owned());
        let mut seen = Vec::new();
        let mut pages = 0;
        while let Some(p) = path {
            pages += 1;
            assert!(pages < 10, "runaway paging");
            let (status, link, body) = get_linked(&app, &p, &token).await;
            assert_eq!(status, 200);
            assert!(types_of(&body).iter().all(|t| t == "favourite"), "{p}");
            seen.extend(ids_of(&body));
            path = link_path(&link, "next");
            if let Some(next) = &path {
                assert!(next.contains("types%5B%5D=favourite"), "{next}");
                assert!(next.contains("limit=20"), "{next}");
            }
        }
        assert_eq!(seen.len(), 43);
        let mut sorted = seen.clone();
        sorted.sort_by_key(|id| std::cmp::Reverse(id.parse::<i64>().unwrap()));
        sorted.dedup();
        assert_eq!(sorted, seen, "newest first, each once");
        assert_eq!(pages, 3);

        // min_id gives the items just above, since_id the newest above.
        let pivot: i64 = seen[10].parse().unwrap();
        let (_, above) = app
            .api_get(
                &format!("/api/v1/notifications?types[]=favourite&limit=3&min_id={pivot}"),
                &token,
            )
            .await;
        assert_eq!(ids_of(&above), seen[7..10].to_vec());
        let (_, newest) = app
            .api_get(
                &format!("/api/v1/notifications?types[]=favourite&limit=3&since_id={pivot}"),
                &token,
            )
            .await;
        assert_eq!(ids_of(&newest), seen[..3].to_vec());
        let (status, _) = app
            .api_get("/api/v1/notifications?max_id=abc", &token)
            .await;
        assert_eq!(status, 400);
    }
);

db_test!(dismiss_and_clear, |app: TestApp| async move {
    let (alice, token) = app.user_with_token("alice", ALL).await;
    let (_, bob_token) = app.user_with_token("bob", ALL).await;
    let bob = fulmar_store::accounts::local_by_username(app.db(), "bob")
        .await
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        notify(app.db(), alice.id, bob.id, Kind::Follow, None)
            .await
            .unwrap();
    }
    notify(app.db(), bob.id, alice.id, Kind::Follow, None)
        .await
        .unwrap();
    let (_, list) = app.api_get("/api/v1/notifications", &token).await;
    let ids = ids_of(&list);

    // Someone else's notification cannot be dismissed.
    let (status, _) = app
        .api_post(
            &format!("/api/v1/notifications/{}/dismiss", ids[0]),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .api_post(
            &format!("/api/v1/notifications/{}/dismiss", ids[0]),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({}));
    let (status, _) = app
        .api_post(
            &format!("/api/v1/notifications/{}/dismiss", ids[0]),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    // The old form with the id in the body.
    let (status, _) = app
        .api_post_form("/api/v1/notifications/dismiss", &token, &[("id", &ids[1])])
        .await;
    assert_eq!(status, 200);
    let (_, list) = app.api_get("/api/v1/notifications", &token).await;
    assert_eq!(ids_of(&list), vec![ids[2].clone()]);

    // Scopes: reading needs read:notifications, clearing write:notifications.
    let (_, read_only) = app.user_with_token("carol", "read").await;
    let (status, _) = app
        .api_post("/api/v1/notifications/clear", &read_only, json!({}))
        .await;
    assert_eq!(status, 403);
    let (_, statuses_only) = app.user_with_token("dave", "read:statuses write").await;
    let (status, _) = app.api_get("/api/v1/notifications", &statuses_only).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .api_get("/api/v1/notifications/unread_count", &statuses_only)
        .await;
    assert_eq!(status, 403);
    let res = app.get("/api/v1/notifications").await;
    assert_eq!(res.status(), 401);

    let (status, body) = app
        .api_post("/api/v1/notifications/clear", &token, json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({}));
    let (_, list) = app.api_get("/api/v1/notifications", &token).await;
    assert_eq!(list, json!([]));
    // Bob's notifications are untouched.
    let (_, list) = app.api_get("/api/v1/notifications", &bob_token).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
});

db_test!(
    notifications_about_gone_or_hidden_things_are_left_out,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", ALL).await;
        let (bob, bob_token) = app.user_with_token("bob", ALL).await;
        let carol = app.create_user("carol").await;
        // A favourite of a post that is then deleted.
        let post = post_status(&app, &alice, "public", "soon gone").await;
        notify(app.db(), alice.id, bob.id, Kind::Favourite, Some(post))
            .await
            .unwrap();
        exec(
            &app,
            &format!("UPDATE statuses SET deleted_at = 1 WHERE id = {post}"),
        )
        .await;
        // A `status` notification for a followers-only post of an account Alice no
        // longer follows.
        let private = post_status(&app, &bob, "private", "followers only").await;
        notify(app.db(), alice.id, bob.id, Kind::Status, Some(private))
            .await
            .unwrap();
        // Something from Carol, whom Alice then blocks.
        notify(app.db(), alice.id, carol.id, Kind::Follow, None)
            .await
            .unwrap();
        let (status, _) = app
            .api_post(
                &format!("/api/v1/accounts/{}/block", carol.id),
                &token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        notify(app.db(), alice.id, carol.id, Kind::Mention, None)
            .await
            .unwrap();
        let visible = app.api_get("/api/v1/notifications", &token).await.1;
        assert_eq!(visible, json!([]), "{visible}");
        let (_, count) = app
            .api_get("/api/v1/notifications/unread_count", &token)
            .await;
        assert_eq!(
            count["count"], 1,
            "only the private status notification is counted"
        );

        // Following Bob makes his private post, and its notification, visible.
        app.api_post(
            &format!("/api/v1/accounts/{}/follow", bob.id),
            &token,
            json!({}),
        )
        .await;
        let (_, list) = app.api_get("/api/v1/notifications", &token).await;
        assert_eq!(types_of(&list), vec!["status"]);
        assert_eq!(list[0]["status"]["visibility"], "private");
        let _ = bob_token;
    }
);
