//! `GET /api/v2/search`: accounts, statuses and hashtags, with Mastodon's rules for
//! anonymous callers, paging and bad input.

use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{send, TestApp};
use crate::timelines::{exec, post, post_with, remote_account, Post};

async fn search(app: &TestApp, query: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.client.get(app.url(&format!("/api/v2/search?{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    send(req).await
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

db_test!(
    finds_accounts_by_username_and_display_name,
    |app: TestApp| async move {
        let (viewer, token) = app.user_with_token("viewer", "read").await;
        let alice = app.create_user("alice").await;
        app.create_user("alicia").await;
        let bob = app.create_user("bob").await;
        let remote = remote_account(&app, "alina", "remote.example").await;
        exec(
            &app,
            "UPDATE accounts SET display_name = 'Bob the Builder' WHERE id = $1",
            &[bob.id],
        )
        .await;

        // Anonymous search finds accounts (local and known remote ones), no statuses.
        let (status, body) = search(&app, "q=ali", None).await;
        assert_eq!(status, 200, "{body}");
        let mut found = names(&body["accounts"], "acct");
        found.sort();
        assert_eq!(found, ["alice", "alicia", "alina@remote.example"]);
        assert_eq!(body["statuses"], json!([]));

        // An exact username comes first; display names match inside; @ is ignored.
        let (_, body) = search(&app, "q=%40alice&type=accounts", Some(&token)).await;
        assert_eq!(names(&body["accounts"], "acct")[0], "alice");
        let (_, body) = search(&app, "q=builder&type=accounts", None).await;
        assert_eq!(names(&body["accounts"], "acct"), ["bob"]);
        // Handles: this server's domain means local accounts, another one that server.
        let (_, body) = search(&app, "q=%40alice%40fulmar.test", None).await;
        assert_eq!(names(&body["accounts"], "acct"), ["alice"]);
        let (_, body) = search(&app, "q=alina%40remote.example", None).await;
        assert_eq!(names(&body["accounts"], "id"), [remote.id.to_string()]);
        // Wildcards are literal.
        let (_, body) = search(&app, "q=a%25&type=accounts", None).await;
        assert_eq!(body["accounts"], json!([]));

        // following=true: only accounts the viewer follows.
        crate::timelines::follow(&app, &viewer, &alice).await;
        let (_, body) = search(&app, "q=ali&following=true", Some(&token)).await;
        assert_eq!(names(&body["accounts"], "acct"), ["alice"]);

        let (_, body) = search(&app, "q=alice&type=accounts&limit=1", Some(&token)).await;
        insta::assert_json_snapshot!("search_accounts", body, {
            ".accounts[].id" => "[id]",
            ".accounts[].created_at" => "[date]",
        });
    }
);

db_test!(
    finds_statuses_the_viewer_may_see,
    |app: TestApp| async move {
        let (viewer, token) = app
            .user_with_token("viewer", "read:search read:statuses")
            .await;
        let alice = app.create_user("alice").await;
        let public = post(&app, &alice, "Fulmars are seabirds").await;
        let _private = post_with(
            &app,
            &alice,
            Post {
                text: "fulmars, privately",
                visibility: "private",
                ..Default::default()
            },
        )
        .await;
        let mine = post_with(
            &app,
            &viewer,
            Post {
                text: "my own fulmar notes",
                visibility: "private",
                ..Default::default()
            },
        )
        .await;
        post(&app, &alice, "nothing to see").await;

        let (status, body) = search(&app, "q=FULMAR&type=statuses", Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            names(&body["statuses"], "id"),
            [mine.to_string(), public.to_string()]
        );
        assert_eq!(body["accounts"], json!([]));
        assert_eq!(body["hashtags"], json!([]));

        // account_id narrows to one author; offset and limit page.
        let (_, body) = search(
            &app,
            &format!("q=fulmar&type=statuses&account_id={}", alice.id),
            Some(&token),
        )
        .await;
        assert_eq!(names(&body["statuses"], "id"), [public.to_string()]);
        let (_, body) = search(
            &app,
            "q=fulmar&type=statuses&limit=1&offset=1",
            Some(&token),
        )
        .await;
        assert_eq!(names(&body["statuses"], "id"), [public.to_string()]);

        // Accounts that opted out of search indexing are not searched.
        exec(
            &app,
            "UPDATE accounts SET indexable = FALSE WHERE id = $1",
            &[alice.id],
        )
        .await;
        let (_, body) = search(&app, "q=fulmar&type=statuses", Some(&token)).await;
        assert_eq!(names(&body["statuses"], "id"), [mine.to_string()]);

        // Anonymous callers get no statuses.
        let (_, body) = search(&app, "q=fulmar", None).await;
        assert_eq!(body["statuses"], json!([]));
    }
);

db_test!(finds_hashtags_by_prefix, |app: TestApp| async move {
    let alice = app.create_user("alice").await;
    post_with(
        &app,
        &alice,
        Post {
            text: "#Fulmar #FulmarDev #fun",
            tags: &["Fulmar", "FulmarDev", "fun"],
            ..Default::default()
        },
    )
    .await;
    let (status, body) = search(&app, "q=%23fulm&type=hashtags", None).await;
    assert_eq!(status, 200, "{body}");
    // The exact hashtag as typed comes first even if unused, then stored ones.
    assert_eq!(
        names(&body["hashtags"], "name"),
        ["fulm", "Fulmar", "FulmarDev"]
    );
    let (_, body) = search(&app, "q=fulmar&type=hashtags", None).await;
    assert_eq!(names(&body["hashtags"], "name"), ["Fulmar", "FulmarDev"]);
    insta::assert_json_snapshot!("search_hashtags", body);
    // Numbers and phrases are not hashtags.
    let (_, body) = search(&app, "q=2024&type=hashtags", None).await;
    assert_eq!(body["hashtags"], json!([]));
    let (_, body) = search(&app, "q=fun+times&type=hashtags", None).await;
    assert_eq!(body["hashtags"], json!([]));
    // Signed-in viewers learn whether they follow it.
    let (_, token) = app.user_with_token("viewer", "read").await;
    let (_, body) = search(&app, "q=fun&type=hashtags", Some(&token)).await;
    assert_eq!(body["hashtags"][0]["following"], false);
});

db_test!(local_urls_find_their_objects, |app: TestApp| async move {
    let (_, token) = app.user_with_token("viewer", "read").await;
    let alice = app.create_user("alice").await;
    let public = post(&app, &alice, "hello").await;
    let private = post_with(
        &app,
        &alice,
        Post {
            text: "secret",
            visibility: "private",
            ..Default::default()
        },
    )
    .await;
    for url in [
        "https://fulmar.test/@alice",
        "https://fulmar.test/users/alice",
    ] {
        let (_, body) = search(&app, &format!("q={url}"), Some(&token)).await;
        assert_eq!(names(&body["accounts"], "acct"), ["alice"], "{url}");
    }
    for url in [
        format!("https://fulmar.test/@alice/{public}"),
        format!("https://fulmar.test/users/alice/statuses/{public}"),
    ] {
        let (_, body) = search(&app, &format!("q={url}&resolve=true"), Some(&token)).await;
        assert_eq!(
            names(&body["statuses"], "id"),
            [public.to_string()],
            "{url}"
        );
        assert_eq!(body["accounts"], json!([]));
    }
    // A status the viewer may not see is not found, nor one under the wrong name.
    let (_, body) = search(
        &app,
        &format!("q=https://fulmar.test/@alice/{private}"),
        Some(&token),
    )
    .await;
    assert_eq!(
        body,
        json!({"accounts": [], "statuses": [], "hashtags": []})
    );
    let (_, body) = search(
        &app,
        &format!("q=https://fulmar.test/@viewer/{public}"),
        Some(&token),
    )
    .await;
    assert_eq!(body["statuses"], json!([]));
    // Other servers' objects need federation: nothing yet.
    for q in [
        "https://remote.example/@someone/123",
        "@someone@remote.example",
    ] {
        let (status, body) = search(&app, &format!("q={q}&resolve=true"), Some(&token)).await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"accounts": [], "statuses": [], "hashtags": []}),
            "{q}"
        );
    }
});

db_test!(
    bad_search_requests_are_refused_as_mastodon_does,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("viewer", "read").await;
        for query in ["", "q=", "q=%20%20", "type=accounts"] {
            let (status, body) = search(&app, query, Some(&token)).await;
            assert_eq!(status, 400, "{query}: {body}");
            assert_eq!(body["error"], "param is missing or the value is empty: q");
        }
        let (status, body) = search(&app, "q=a&offset=5", None).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            body["error"],
            "Search queries pagination is not supported without authentication"
        );
        let (status, _) = search(&app, "q=a&resolve=true", None).await;
        assert_eq!(status, 401);
        let (status, body) = search(&app, "q=a&limit=-1", Some(&token)).await;
        assert_eq!(status, 400, "{body}");
        let (status, _) = search(&app, "q=a&account_id=nonsense", Some(&token)).await;
        assert_eq!(status, 404);
        // An unknown type finds nothing.
        app.create_user("alice").await;
        let (status, body) = search(&app, "q=alice&type=groups", Some(&token)).await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"accounts": [], "statuses": [], "hashtags": []})
        );
        // Scopes.
        let (_, wrong) = app.user_with_token("other", "read:statuses").await;
        let (status, _) = search(&app, "q=alice", Some(&wrong)).await;
        assert_eq!(status, 403);
        let (_, granular) = app.user_with_token("third", "read:search").await;
        let (status, _) = search(&app, "q=alice", Some(&granular)).await;
        assert_eq!(status, 200);
        let (status, _) = search(&app, "q=alice", Some("bogus")).await;
        assert_eq!(status, 401);
    }
);

db_test!(search_limits_are_clamped, |app: TestApp| async move {
    for n in 0..45 {
        remote_account(&app, &format!("many{n}"), "remote.example").await;
    }
    let (_, token) = app.user_with_token("viewer", "read").await;
    let (_, body) = search(&app, "q=many&type=accounts", Some(&token)).await;
    assert_eq!(body["accounts"].as_array().unwrap().len(), 20);
    let (_, body) = search(&app, "q=many&type=accounts&limit=100000", Some(&token)).await;
    assert_eq!(body["accounts"].as_array().unwrap().len(), 40);
    let (_, body) = search(
        &app,
        "q=many&type=accounts&limit=40&offset=40",
        Some(&token),
    )
    .await;
    assert_eq!(body["accounts"].as_array().unwrap().len(), 5);
});
