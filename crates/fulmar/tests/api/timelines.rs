//! Timelines: home (fan-out on write), public, local, remote and hashtag, with
//! paging through the `Link` header, and the read markers apps keep for them.
//!
//! Statuses, follows, blocks and mutes are written through the store (or SQL) here,
//! so that these tests do not depend on the posting and following endpoints.

use fulmar::core::ids::next_id;
use fulmar_store::accounts::{AccountRow, NewAccount};
use fulmar_store::follows::NewFollow;
use fulmar_store::statuses::NewStatus;
use serde_json::Value;

use crate::db_test;
use crate::helpers::{error_of, send, TestApp};

/// Runs one statement with integer parameters.
pub async fn exec(app: &TestApp, sql: &str, binds: &[i64]) {
    fulmar_store::with_pool!(app.db(), p => {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(p).await.unwrap();
    });
}

/// What a status is, for [`post_with`].
#[derive(Clone, Default)]
pub struct Post<'a> {
    pub text: &'a str,
    pub visibility: &'a str,
    pub in_reply_to: Option<(i64, i64)>,
    pub reblog_of: Option<i64>,
    pub mentions: &'a [i64],
    pub tags: &'a [&'a str],
}

/// Stores a status by `author` and fans it out as the posting service does; returns
/// its id.
pub async fn post_with(app: &TestApp, author: &AccountRow, p: Post<'_>) -> i64 {
    let id = next_id();
    let uri = match &author.domain {
        None => format!(
            "https://fulmar.test/users/{}/statuses/{id}",
            author.username
        ),
        Some(d) => format!("https://{d}/users/{}/statuses/{id}", author.username),
    };
    fulmar_store::statuses::insert(
        app.db(),
        &NewStatus {
            id,
            uri,
            account_id: author.id,
            in_reply_to_id: p.in_reply_to.map(|r| r.0),
            in_reply_to_account_id: p.in_reply_to.map(|r| r.1),
            reblog_of_id: p.reblog_of,
            content: format!("<p>{}</p>", p.text),
            text: author.domain.is_none().then(|| p.text.to_owned()),
            visibility: if p.visibility.is_empty() {
                "public".into()
            } else {
                p.visibility.into()
            },
            local: author.domain.is_none(),
            created_at: fulmar::core::time::now_ms(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for m in p.mentions {
        exec(
            app,
            "INSERT INTO mentions (id, status_id, account_id) VALUES ($1, $2, $3)",
            &[next_id(), id, *m],
        )
        .await;
    }
    for name in p.tags {
        tag(app, id, name).await;
    }
    let visibility = if p.visibility.is_empty() {
        "public"
    } else {
        p.visibility
    };
    fulmar_store::timelines::fan_out(app.db(), id, author.id, visibility)
        .await
        .unwrap();
    id
}

/// A public status.
pub async fn post(app: &TestApp, author: &AccountRow, text: &str) -> i64 {
    post_with(
        app,
        author,
        Post {
            text,
            ..Default::default()
        },
    )
    .await
}

/// Tags a status with a hashtag, creating the hashtag when needed.
pub async fn tag(app: &TestApp, status_id: i64, name: &str) {
    let lower = name.to_lowercase();
    fulmar_store::with_pool!(app.db(), p => {
        sqlx::query(
            "INSERT INTO tags (id, name, display_name, created_at) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(next_id())
        .bind(&lower)
        .bind(name)
        .execute(p)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO statuses_tags (status_id, tag_id) SELECT $1, id FROM tags WHERE name = $2",
        )
        .bind(status_id)
        .bind(&lower)
        .execute(p)
        .await
        .unwrap();
    });
}

pub async fn follow(app: &TestApp, follower: &AccountRow, target: &AccountRow) {
    fulmar_store::follows::insert(
        app.db(),
        &NewFollow {
            id: next_id(),
            account_id: follower.id,
            target_account_id: target.id,
            uri: None,
            created_at: 0,
        },
    )
    .await
    .unwrap();
}

/// A remote account, as federation will store it.
pub async fn remote_account(app: &TestApp, username: &str, domain: &str) -> AccountRow {
    let id = next_id();
    fulmar_store::accounts::insert_account(
        app.db(),
        &NewAccount {
            id,
            username: username.into(),
            domain: Some(domain.into()),
            display_name: username.to_uppercase(),
            uri: format!("https://{domain}/users/{username}"),
            actor_type: "Person".into(),
            created_at: 0,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    fulmar_store::accounts::by_id(app.db(), id)
        .await
        .unwrap()
        .unwrap()
}

/// The ids of a page of statuses, as numbers.
pub fn ids(page: &Value) -> Vec<i64> {
    page.as_array()
        .unwrap_or_else(|| panic!("not a list: {page}"))
        .iter()
        .map(|s| s["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// GET with an optional token; returns status, `Link` header and body.
pub async fn get_page(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let link = res
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, link, body)
}

/// The path and query of a `rel` in a `Link` header, checking it is absolute.
pub fn link(header: &str, rel: &str) -> Option<String> {
    header.split(", ").find_map(|part| {
        let (url, params) = part.split_once("; ")?;
        (params == format!("rel=\"{rel}\"")).then(|| {
            url.trim_matches(['<', '>'])
                .strip_prefix("https://fulmar.test")
                .unwrap_or_else(|| panic!("link not absolute on this server: {url}"))
                .to_owned()
        })
    })
}

/// Redacts an id but keeps a null visible in the snapshot.
fn id_unless_null(
    value: insta::internals::Content,
    _: insta::internals::ContentPath,
) -> insta::internals::Content {
    if value.as_str().is_some() {
        "[id]".into()
    } else {
        value
    }
}

db_test!(
    home_shows_own_and_followed_statuses_newest_first,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", "read").await;
        let bob = app.create_user("bob").await;
        let carol = app.create_user("carol").await;
        follow(&app, &alice, &bob).await;

        let before = post(&app, &bob, "posted before anything else").await;
        let strangers = post(&app, &carol, "alice does not follow carol").await;
        let own = post(&app, &alice, "my own post").await;
        let private = post_with(
            &app,
            &bob,
            Post {
                text: "for followers",
                visibility: "private",
                ..Default::default()
            },
        )
        .await;
        let dm_to_carol = post_with(
            &app,
            &bob,
            Post {
                text: "hi carol",
                visibility: "direct",
                mentions: &[carol.id],
                ..Default::default()
            },
        )
        .await;
        // A reply to someone alice does not follow stays out of her feed; a reply to
        // her, or bob's own thread, comes in.
        let reply_to_carol = post_with(
            &app,
            &bob,
            Post {
                text: "@carol yes",
                in_reply_to: Some((strangers, carol.id)),
                mentions: &[carol.id],
                ..Default::default()
            },
        )
        .await;
        let reply_to_alice = post_with(
            &app,
            &bob,
            Post {
                text: "@alice sure",
                in_reply_to: Some((own, alice.id)),
                mentions: &[alice.id],
                ..Default::default()
            },
        )
        .await;
        let self_reply = post_with(
            &app,
            &bob,
            Post {
                text: "and another thing",
                in_reply_to: Some((before, bob.id)),
                ..Default::default()
            },
        )
        .await;
        let reblog = post_with(
            &app,
            &bob,
            Post {
                reblog_of: Some(strangers),
                ..Default::default()
            },
        )
        .await;

        let (status, _, page) = get_page(&app, "/api/v1/timelines/home", Some(&token)).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            ids(&page),
            vec![reblog, self_reply, reply_to_alice, private, own, before]
        );
        for absent in [strangers, dm_to_carol, reply_to_carol] {
            assert!(!ids(&page).contains(&absent));
        }
        // A reblog has its own id and carries the original.
        assert_eq!(page[0]["reblog"]["id"], strangers.to_string());
        assert_eq!(page[0]["account"]["username"], "bob");

        // Carol follows nobody: her home has her own post and the direct message
        // addressed to her.
        let carol_token = fulmar::core::accounts::issue_token(app.db(), "carol", "read")
            .await
            .unwrap();
        let (_, _, page) = get_page(&app, "/api/v1/timelines/home", Some(&carol_token)).await;
        assert_eq!(ids(&page), vec![dm_to_carol, strangers]);

        let (_, _, page) = get_page(&app, "/api/v1/timelines/home?limit=2", Some(&token)).await;
        insta::assert_json_snapshot!("home_page", page, {
            "[].id" => "[id]",
            "[].uri" => "[uri]",
            "[].url" => "[url]",
            "[].created_at" => "[date]",
            "[].account.id" => "[id]",
            "[].account.created_at" => "[date]",
            "[].in_reply_to_id" => insta::dynamic_redaction(id_unless_null),
            "[].in_reply_to_account_id" => insta::dynamic_redaction(id_unless_null),
            "[].reblog.id" => "[id]",
            "[].reblog.uri" => "[uri]",
            "[].reblog.url" => "[url]",
            "[].reblog.created_at" => "[date]",
            "[].reblog.account.id" => "[id]",
            "[].reblog.account.created_at" => "[date]",
        });
    }
);

db_test!(
    home_leaves_out_reblogs_from_accounts_whose_reblogs_are_hidden,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", "read:statuses").await;
        let bob = app.create_user("bob").await;
        let carol = app.create_user("carol").await;
        follow(&app, &alice, &bob).await;
        exec(
            &app,
            "UPDATE follows SET show_reblogs = FALSE WHERE account_id = $1",
            &[alice.id],
        )
        .await;
        let original = post(&app, &carol, "worth sharing").await;
        post_with(
            &app,
            &bob,
            Post {
                reblog_of: Some(original),
                ..Default::default()
            },
        )
        .await;
        let own = post(&app, &bob, "bob's own words").await;
        let (_, _, page) = get_page(&app, "/api/v1/timelines/home", Some(&token)).await;
        assert_eq!(ids(&page), vec![own]);
    }
);

db_test!(
    home_hides_blocked_and_muted_accounts,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", "read").await;
        let bob = app.create_user("bob").await;
        let dave = app.create_user("dave").await;
        let erin = app.create_user("erin").await;
        for other in [&bob, &dave, &erin] {
            follow(&app, &alice, other).await;
        }
        let by_bob = post(&app, &bob, "bob speaks").await;
        let by_dave = post(&app, &dave, "dave speaks").await;
        let by_erin = post(&app, &erin, "erin speaks").await;
        let erin_reblogs_bob = post_with(
            &app,
            &erin,
            Post {
                reblog_of: Some(by_bob),
                ..Default::default()
            },
        )
        .await;
        let (_, _, page) = get_page(&app, "/api/v1/timelines/home", Some(&token)).await;
        assert_eq!(ids(&page), vec![erin_reblogs_bob, by_erin, by_dave, by_bob]);

        // Alice blocks bob, mutes dave for good and had muted erin until yesterday.
        let now = fulmar::core::time::now_ms();
        exec(
            &app,
            "INSERT INTO blocks (id, account_id, target_account_id, created_at) VALUES ($1, $2, $3, 0)",
            &[next_id(), alice.id, bob.id],
        )
        .await;
        exec(
            &app,
            "INSERT INTO mutes (id, account_id, target_account_id, created_at) VALUES ($1, $2, $3, 0)",
            &[next_id(), alice.id, dave.id],
        )
        .await;
        exec(
            &app,
            "INSERT INTO mutes (id, account_id, target_account_id, expires_at, created_at) VALUES ($1, $2, $3, $4, 0)",
            &[next_id(), alice.id, erin.id, now - 86_400_000],
        )
        .await;
        let (_, _, page) = get_page(&app, "/api/v1/timelines/home", Some(&token)).await;
        // Erin's reblog of bob goes too: bob is blocked.
        assert_eq!(ids(&page), vec![by_erin]);

        // A deleted status leaves the feed, and so does a reblog of it.
        exec(
            &app,
            "UPDATE statuses SET deleted_at = 1 WHERE id = $1",
            &[by_erin],
        )
        .await;
        let (_, _, page) = get_page(&app, "/api/v1/timelines/home", Some(&token)).await;
        assert_eq!(ids(&page), Vec::<i64>::new());
    }
);

db_test!(
    home_pages_back_and_forth_with_the_link_header,
    |app: TestApp| async move {
        let (alice, token) = app.user_with_token("alice", "read:statuses").await;
        let bob = app.create_user("bob").await;
        follow(&app, &alice, &bob).await;
        let mut all = Vec::new();
        for n in 0..45 {
            all.push(post(&app, &bob, &format!("post {n}")).await);
        }
        all.reverse(); // newest first

        // Forwards, following `next` to the end.
        let mut seen = Vec::new();
        let mut path = Some("/api/v1/timelines/home".to_owned());
        let mut pages = Vec::new();
        while let Some(p) = path {
            assert!(pages.len() < 10, "runaway paging");
            let (status, link_header, body) = get_page(&app, &p, Some(&token)).await;
            assert_eq!(status, 200);
            seen.extend(ids(&body));
            pages.push((p, link_header.clone(), ids(&body)));
            path = link(&link_header, "next");
        }
        assert_eq!(seen, all);
        assert_eq!(
            pages.iter().map(|p| p.2.len()).collect::<Vec<_>>(),
            vec![20, 20, 5]
        );
        // The first page links to what is newer than its first item.
        assert_eq!(
            link(&pages[0].1, "prev").unwrap(),
            format!("/api/v1/timelines/home?min_id={}", all[0])
        );
        assert_eq!(
            link(&pages[0].1, "next").unwrap(),
            format!("/api/v1/timelines/home?max_id={}", all[19])
        );
        assert!(
            link(&pages[2].1, "next").is_none(),
            "no next on the last page"
        );

        // Backwards: `prev` of the second page is exactly the first page.
        let prev = link(&pages[1].1, "prev").unwrap();
        let (_, _, body) = get_page(&app, &prev, Some(&token)).await;
        assert_eq!(ids(&body), all[..20].to_vec());

        // min_id gives the items right above it, since_id the newest above it.
        let (_, _, body) = get_page(
            &app,
            &format!("/api/v1/timelines/home?min_id={}&limit=3", all[10]),
            Some(&token),
        )
        .await;
        assert_eq!(ids(&body), all[7..10].to_vec());
        let (_, _, body) = get_page(
            &app,
            &format!("/api/v1/timelines/home?since_id={}&limit=3", all[10]),
            Some(&token),
        )
        .await;
        assert_eq!(ids(&body), all[..3].to_vec());

        // Limits are clamped, not refused; bad cursors are.
        let (_, _, body) =
            get_page(&app, "/api/v1/timelines/home?limit=100000", Some(&token)).await;
        assert_eq!(ids(&body).len(), 40);
        let (_, _, body) = get_page(&app, "/api/v1/timelines/home?limit=abc", Some(&token)).await;
        assert_eq!(ids(&body).len(), 20);
        let (status, _, body) =
            get_page(&app, "/api/v1/timelines/home?max_id=abc", Some(&token)).await;
        assert_eq!(status, 400, "{body}");
    }
);

db_test!(
    home_needs_a_user_token_with_read_statuses,
    |app: TestApp| async move {
        let (_, wrong_scope) = app.user_with_token("alice", "read:accounts write").await;
        let res = app.get("/api/v1/timelines/home").await;
        assert_eq!(res.status(), 401);
        assert_eq!(error_of(res).await, "The access token is invalid");
        let (status, body) = app.api_get("/api/v1/timelines/home", "not-a-token").await;
        assert_eq!(status, 401, "{body}");
        let (status, body) = app.api_get("/api/v1/timelines/home", &wrong_scope).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(
            body["error"],
            "This action is outside the authorized scopes"
        );
    }
);

/// The statuses of the public timeline tests: every visibility, a reply, a reblog,
/// and remote posts. Returns alice and the ids of the public local statuses, of the
/// public remote ones (both newest first) and of those no public timeline shows.
async fn public_fixture(app: &TestApp) -> (AccountRow, Vec<i64>, Vec<i64>, Vec<i64>) {
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let remote = remote_account(app, "zoe", "remote.example").await;
    let mut local = Vec::new();
    let mut remote_ids = Vec::new();
    let mut hidden = Vec::new();
    local.push(post(app, &alice, "public one").await);
    remote_ids.push(post(app, &remote, "hello from afar").await);
    for visibility in ["unlisted", "private", "direct"] {
        hidden.push(
            post_with(
                app,
                &alice,
                Post {
                    text: visibility,
                    visibility,
                    mentions: &[bob.id],
                    ..Default::default()
                },
            )
            .await,
        );
    }
    // Replies to others and reblogs stay out of public timelines; a self-reply is in.
    hidden.push(
        post_with(
            app,
            &bob,
            Post {
                text: "@alice reply",
                in_reply_to: Some((local[0], alice.id)),
                mentions: &[alice.id],
                ..Default::default()
            },
        )
        .await,
    );
    hidden.push(
        post_with(
            app,
            &bob,
            Post {
                reblog_of: Some(local[0]),
                ..Default::default()
            },
        )
        .await,
    );
    local.push(
        post_with(
            app,
            &alice,
            Post {
                text: "thread, continued",
                in_reply_to: Some((local[0], alice.id)),
                ..Default::default()
            },
        )
        .await,
    );
    remote_ids.push(post(app, &remote, "more from afar").await);
    local.push(post(app, &bob, "public two").await);
    local.reverse();
    remote_ids.reverse();
    (alice, local, remote_ids, hidden)
}

db_test!(
    public_timelines_show_public_statuses_only,
    |app: TestApp| async move {
        let (_alice, local, remote, hidden) = public_fixture(&app).await;
        let mut everything: Vec<i64> = local.iter().chain(&remote).copied().collect();
        everything.sort_unstable_by(|a, b| b.cmp(a));

        // Without a token, as Mastodon allows by default.
        let (status, _, page) = get_page(&app, "/api/v1/timelines/public", None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), everything);
        for h in &hidden {
            assert!(!ids(&page).contains(h));
        }
        assert!(
            page[0].get("favourited").is_none(),
            "no viewer fields anonymously"
        );

        let (_, _, page) = get_page(&app, "/api/v1/timelines/public?local=true", None).await;
        assert_eq!(ids(&page), local);
        let (_, _, page) = get_page(&app, "/api/v1/timelines/public?remote=1", None).await;
        assert_eq!(ids(&page), remote);
        // No status has media yet.
        let (_, _, page) = get_page(&app, "/api/v1/timelines/public?only_media=true", None).await;
        assert_eq!(ids(&page), Vec::<i64>::new());

        // With a token the scope is checked and viewer fields appear.
        let (_, token) = app.user_with_token("viewer", "read:statuses").await;
        let (status, _, page) = get_page(&app, "/api/v1/timelines/public", Some(&token)).await;
        assert_eq!(status, 200);
        assert_eq!(page[0]["favourited"], false);
        let (_, wrong) = app.user_with_token("other", "write").await;
        let (status, _, _) = get_page(&app, "/api/v1/timelines/public", Some(&wrong)).await;
        assert_eq!(status, 403);
        let (status, _, _) = get_page(&app, "/api/v1/timelines/public", Some("bogus")).await;
        assert_eq!(status, 401);
    }
);

db_test!(
    public_timeline_hides_what_the_viewer_blocks_and_mutes,
    |app: TestApp| async move {
        let (alice, local, remote, _) = public_fixture(&app).await;
        let (viewer, token) = app.user_with_token("viewer", "read").await;
        let bob = fulmar_store::accounts::local_by_username(app.db(), "bob")
            .await
            .unwrap()
            .unwrap();
        exec(
            &app,
            "INSERT INTO mutes (id, account_id, target_account_id, created_at) VALUES ($1, $2, $3, 0)",
            &[next_id(), viewer.id, bob.id],
        )
        .await;
        // Alice blocks the viewer: her posts are hidden from them too.
        exec(
            &app,
            "INSERT INTO blocks (id, account_id, target_account_id, created_at) VALUES ($1, $2, $3, 0)",
            &[next_id(), alice.id, viewer.id],
        )
        .await;
        let (_, _, page) =
            get_page(&app, "/api/v1/timelines/public?local=true", Some(&token)).await;
        assert_eq!(ids(&page), Vec::<i64>::new(), "{local:?}");
        let (_, _, page) = get_page(&app, "/api/v1/timelines/public", Some(&token)).await;
        assert_eq!(ids(&page), remote);
        // Anonymous readers still see everything public.
        let (_, _, page) = get_page(&app, "/api/v1/timelines/public?local=true", None).await;
        assert_eq!(ids(&page), local);
    }
);

db_test!(
    local_timeline_keeps_local_true_in_its_links,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        let remote = remote_account(&app, "zoe", "remote.example").await;
        let mut local = Vec::new();
        for n in 0..5 {
            local.push(post(&app, &alice, &format!("local {n}")).await);
            post(&app, &remote, &format!("remote {n}")).await;
        }
        local.reverse();
        let (_, link_header, page) =
            get_page(&app, "/api/v1/timelines/public?local=true&limit=2", None).await;
        assert_eq!(ids(&page), local[..2].to_vec());
        let next = link(&link_header, "next").unwrap();
        assert_eq!(
            next,
            format!(
                "/api/v1/timelines/public?local=true&limit=2&max_id={}",
                local[1]
            )
        );
        let prev = link(&link_header, "prev").unwrap();
        assert!(prev.contains("local=true"), "{prev}");
        let (_, link_header, page) = get_page(&app, &next, None).await;
        assert_eq!(ids(&page), local[2..4].to_vec());
        let next = link(&link_header, "next").unwrap();
        let (_, link_header, page) = get_page(&app, &next, None).await;
        assert_eq!(ids(&page), local[4..].to_vec());
        assert!(link(&link_header, "next").is_none());
    }
);

db_test!(
    tag_timeline_finds_public_statuses_with_the_hashtag,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        let remote = remote_account(&app, "zoe", "remote.example").await;
        let rust = post_with(
            &app,
            &alice,
            Post {
                text: "#Rust is fun",
                tags: &["Rust"],
                ..Default::default()
            },
        )
        .await;
        let both = post_with(
            &app,
            &alice,
            Post {
                text: "#rust #fulmar",
                tags: &["rust", "fulmar"],
                ..Default::default()
            },
        )
        .await;
        let fulmar_only = post_with(
            &app,
            &alice,
            Post {
                text: "#fulmar",
                tags: &["fulmar"],
                ..Default::default()
            },
        )
        .await;
        let remote_rust = post_with(
            &app,
            &remote,
            Post {
                text: "#rust from afar",
                tags: &["rust"],
                ..Default::default()
            },
        )
        .await;
        for visibility in ["unlisted", "private", "direct"] {
            post_with(
                &app,
                &alice,
                Post {
                    text: "#rust, quietly",
                    visibility,
                    tags: &["rust"],
                    ..Default::default()
                },
            )
            .await;
        }

        let (status, _, page) = get_page(&app, "/api/v1/timelines/tag/rust", None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), vec![remote_rust, both, rust]);
        // Case and a leading # do not matter.
        let (_, _, page) = get_page(&app, "/api/v1/timelines/tag/RUST", None).await;
        assert_eq!(ids(&page), vec![remote_rust, both, rust]);
        let (_, _, page) = get_page(&app, "/api/v1/timelines/tag/%23Rust?local=true", None).await;
        assert_eq!(ids(&page), vec![both, rust]);
        let (_, _, page) = get_page(&app, "/api/v1/timelines/tag/rust?remote=true", None).await;
        assert_eq!(ids(&page), vec![remote_rust]);

        // any[], all[], none[].
        let (_, _, page) = get_page(&app, "/api/v1/timelines/tag/rust?any[]=fulmar", None).await;
        assert_eq!(ids(&page), vec![remote_rust, fulmar_only, both, rust]);
        let (_, _, page) = get_page(&app, "/api/v1/timelines/tag/rust?all[]=fulmar", None).await;
        assert_eq!(ids(&page), vec![both]);
        let (_, _, page) = get_page(&app, "/api/v1/timelines/tag/rust?none[]=fulmar", None).await;
        assert_eq!(ids(&page), vec![remote_rust, rust]);
        let (_, _, page) = get_page(
            &app,
            "/api/v1/timelines/tag/rust?all[]=nobodyusesthis",
            None,
        )
        .await;
        assert_eq!(ids(&page), Vec::<i64>::new());
        let (status, _, page) = get_page(&app, "/api/v1/timelines/tag/unheardof", None).await;
        assert_eq!((status, ids(&page)), (200, vec![]));

        // Paging keeps the parameters.
        let (_, link_header, page) = get_page(
            &app,
            "/api/v1/timelines/tag/rust?any[]=fulmar&limit=2",
            None,
        )
        .await;
        assert_eq!(ids(&page), vec![remote_rust, fulmar_only]);
        let next = link(&link_header, "next").unwrap();
        assert!(next.contains("any%5B%5D=fulmar"), "{next}");
        let (_, _, page) = get_page(&app, &next, None).await;
        assert_eq!(ids(&page), vec![both, rust]);
    }
);

db_test!(
    list_timelines_are_unknown_lists,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("alice", "read").await;
        let (status, body) = app.api_get("/api/v1/timelines/list/12345", &token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("Record not found"))
        );
        let (_, wrong) = app.user_with_token("bob", "read:statuses").await;
        let (status, _) = app.api_get("/api/v1/timelines/list/12345", &wrong).await;
        assert_eq!(status, 403);
        let res = app.get("/api/v1/timelines/list/12345").await;
        assert_eq!(res.status(), 401);
    }
);

db_test!(markers_save_and_count_versions, |app: TestApp| async move {
    let (_, token) = app.user_with_token("alice", "read write").await;
    let (status, body) = app
        .api_get(
            "/api/v1/markers?timeline[]=home&timeline[]=notifications",
            &token,
        )
        .await;
    assert_eq!((status, body.clone()), (200, serde_json::json!({})));

    // Forms (as most apps send) and JSON (as masto.js does) both work.
    let (status, body) = app
        .api_post_form("/api/v1/markers", &token, &[("home[last_read_id]", "103")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["home"]["last_read_id"], "103");
    assert_eq!(body["home"]["version"], 0);
    assert!(body.get("notifications").is_none());
    let (status, body) = app
        .api_post(
            "/api/v1/markers",
            &token,
            serde_json::json!({
                "home": {"last_read_id": "107"},
                "notifications": {"last_read_id": 5},
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["home"]["version"], 1);
    assert_eq!(body["notifications"]["version"], 0);

    let (_, body) = app
        .api_get(
            "/api/v1/markers?timeline[]=home&timeline[]=notifications",
            &token,
        )
        .await;
    insta::assert_json_snapshot!("markers", body, {
        ".*.updated_at" => "[date]",
    });
    let (_, body) = app.api_get("/api/v1/markers?timeline=home", &token).await;
    assert_eq!(body.as_object().unwrap().len(), 1);
    assert_eq!(body["home"]["last_read_id"], "107");

    // Bad input, scopes.
    let (status, body) = app
        .api_post_form("/api/v1/markers", &token, &[("home[last_read_id]", "abc")])
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, read_only) = app.user_with_token("bob", "read").await;
    let (status, _) = app
        .api_post_form(
            "/api/v1/markers",
            &read_only,
            &[("home[last_read_id]", "1")],
        )
        .await;
    assert_eq!(status, 403);
    let (_, write_only) = app.user_with_token("carol", "write").await;
    let (status, _) = app
        .api_get("/api/v1/markers?timeline[]=home", &write_only)
        .await;
    assert_eq!(status, 403);
    // Markers are per user.
    let (_, body) = app
        .api_get("/api/v1/markers?timeline[]=home", &read_only)
        .await;
    assert_eq!(body, serde_json::json!({}));
    let (status, _) = send(app.client.get(app.url("/api/v1/markers"))).await;
    assert_eq!(status, 401);
});
