//! Federation end to end: two (or three) real Fulmar servers, each with its own
//! database and queue worker, talking ActivityPub to each other over loopback.
//!
//! The tests drive the servers only as their users would, through the Mastodon client
//! API, and check the outcome there and in the database rows. Nothing here calls an
//! inbox or the outbox directly: every activity is built, signed, delivered, verified
//! and processed by the servers themselves, so these tests fail whenever any link of
//! that chain breaks.
//!
//! Each server listens on port 80 of an address of its own in 127.0.0.0/8 and calls
//! itself by that address, without a port. A port in the domain would make the servers'
//! handles (`alice@127.0.0.1:4242`) impossible to mention in a post, because a mention's
//! domain, as Mastodon writes and parses it, has no port. Where port 80 cannot be bound
//! (not root), the servers fall back to `127.0.0.1:PORT` and the steps that need a
//! mention fail with a message that says so.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::fed_test;
use crate::helpers::{send, Backend, TestApp};

/// How long any one cross-server effect may take before the test gives up.
const WAIT: Duration = Duration::from_secs(15);

/// A random address in 127.0.0.0/8 whose port 80 is free right now.
fn free_loopback_address() -> Option<Ipv4Addr> {
    for attempt in 0..20u64 {
        let seed = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(attempt);
            h.finish()
        };
        // Avoid 127.0.0.1 itself and the .0 and .255 host parts.
        let ip = Ipv4Addr::new(
            127,
            (seed % 250) as u8 + 2,
            (seed >> 8) as u8,
            ((seed >> 16) % 250) as u8 + 2,
        );
        if std::net::TcpListener::bind((ip, 80)).is_ok() {
            return Some(ip);
        }
    }
    None
}

/// A Fulmar server in development mode (plain http, loopback allowed) with its worker
/// running, reachable at the URLs it puts in its documents.
async fn server(backend: Backend) -> TestApp {
    let Some(ip) = free_loopback_address() else {
        eprintln!("port 80 of a loopback address cannot be bound: falling back to 127.0.0.1:PORT; mentions across servers will not work");
        return crate::peer::dev_server(backend).await;
    };
    TestApp::spawn_with(backend, move |c| {
        c.listen = SocketAddr::from((ip, 80));
        c.domain = ip.to_string();
        c.dev_insecure = true;
    })
    .await
    .expect("server")
}

/// Polls `probe` every 50 ms until it gives a value, for at most [`WAIT`]; panics
/// with `what` and the last thing seen when it never does.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out after {WAIT:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A signed-in user of one server.
struct User<'a> {
    server: &'a TestApp,
    token: String,
    /// The account's id on its own server (as the client API shows it).
    id: String,
    /// `username@domain`, the handle other servers resolve.
    handle: String,
    uri: String,
}

async fn user<'a>(server: &'a TestApp, name: &str) -> User<'a> {
    let (row, token) = server.user_with_token(name, "read write follow push").await;
    User {
        server,
        token,
        id: row.id.to_string(),
        handle: format!("{name}@{}", server.app.urls.domain()),
        uri: server.app.urls.actor(name),
    }
}

impl User<'_> {
    async fn get(&self, path: &str) -> (u16, Value) {
        self.server.api_get(path, &self.token).await
    }

    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, value) = send(
            self.server
                .api(method.clone(), path, &self.token)
                .json(&body),
        )
        .await;
        assert_eq!(status, 200, "{method} {path} on {}: {value}", self.handle);
        value
    }

    /// Resolves a remote handle through search, as a client's search box does; returns
    /// the account as this server knows it.
    async fn resolve(&self, handle: &str) -> Value {
        let q: String = form_urlencoded::byte_serialize(format!("@{handle}").as_bytes()).collect();
        let (status, found) = self
            .get(&format!("/api/v2/search?resolve=true&type=accounts&q={q}"))
            .await;
        assert_eq!(status, 200, "search {handle}: {found}");
        let accounts = found["accounts"].as_array().cloned().unwrap_or_default();
        assert_eq!(accounts.len(), 1, "search {handle}: {found}");
        assert_eq!(accounts[0]["acct"], handle, "{found}");
        accounts[0].clone()
    }

    async fn relationship(&self, account_id: &str) -> Value {
        let (status, rels) = self
            .get(&format!("/api/v1/accounts/relationships?id[]={account_id}"))
            .await;
        assert_eq!(status, 200, "{rels}");
        rels[0].clone()
    }

    async fn publish(&self, text: &str, visibility: &str) -> Value {
        self.ok(
            Method::POST,
            "/api/v1/statuses",
            json!({"status": text, "visibility": visibility}),
        )
        .await
    }

    /// The status with this ActivityPub id in the user's home timeline, if it is there.
    async fn in_home(&self, uri: &str) -> Result<Value, String> {
        let (status, home) = self.get("/api/v1/timelines/home?limit=40").await;
        if status != 200 {
            return Err(format!("{status} {home}"));
        }
        home.as_array()
            .and_then(|items| items.iter().find(|s| s["uri"] == uri).cloned())
            .ok_or_else(|| format!("home timeline: {home}"))
    }

    /// A notification of this type matching `pred`, if there is one.
    async fn notification(
        &self,
        kind: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let (status, list) = self
            .get(&format!("/api/v1/notifications?types[]={kind}&limit=40"))
            .await;
        if status != 200 {
            return Err(format!("{status} {list}"));
        }
        list.as_array()
            .and_then(|items| items.iter().find(|n| n["type"] == kind && pred(n)).cloned())
            .ok_or_else(|| format!("notifications: {list}"))
    }

    /// The ActivityPub ids of the accounts following `account_id`, as this server
    /// lists them.
    async fn followers_of(&self, account_id: &str) -> Result<Vec<String>, String> {
        let (status, list) = self
            .get(&format!("/api/v1/accounts/{account_id}/followers?limit=80"))
            .await;
        if status != 200 {
            return Err(format!("{status} {list}"));
        }
        Ok(list
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|a| a["uri"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// `follower` follows `target` (a remote account) and waits until the target's
/// server has accepted: the relationship reads `requested` first, `following` after.
async fn follow_and_wait_for_accept(follower: &User<'_>, target: &User<'_>) -> String {
    let remote = follower.resolve(&target.handle).await;
    let id = remote["id"].as_str().unwrap().to_owned();
    let rel = follower
        .ok(
            Method::POST,
            &format!("/api/v1/accounts/{id}/follow"),
            json!({}),
        )
        .await;
    // The Accept can only arrive after this response: the Follow is delivered by the
    // worker once the request has committed.
    assert_eq!(
        rel["requested"], true,
        "a remote follow waits for Accept: {rel}"
    );
    assert_eq!(rel["following"], false, "{rel}");
    eventually(
        &format!(
            "{}'s server to accept {}'s follow",
            target.handle, follower.handle
        ),
        || async {
            let rel = follower.relationship(&id).await;
            if rel["following"] == true && rel["requested"] == false {
                Ok(())
            } else {
                Err(rel.to_string())
            }
        },
    )
    .await;
    // The followed server lists the follower.
    eventually(
        &format!("{} among {}'s followers", follower.handle, target.handle),
        || async {
            let followers = target.followers_of(&target.id).await?;
            if followers.contains(&follower.uri) {
                Ok(())
            } else {
                Err(format!("{followers:?}"))
            }
        },
    )
    .await;
    id
}

fn mention_note(handle: &str) -> &'static str {
    if handle.contains(':') {
        "(this handle carries a port, which a mention cannot: run the tests as root so that the servers can listen on port 80)"
    } else {
        ""
    }
}

async fn follow_post_interact_edit_delete_unfollow_block(backend: Backend) {
    let a = server(backend).await;
    let b = server(backend).await;
    let alice = user(&a, "alice").await;
    let bob = user(&b, "bob").await;

    // alice@A finds bob@B and follows him; B accepts on its own (bob is not locked).
    let bob_on_a = follow_and_wait_for_accept(&alice, &bob).await;
    let row = fulmar_store::accounts::by_uri(a.db(), &bob.uri)
        .await
        .unwrap()
        .expect("bob stored on A");
    assert_eq!(row.id.to_string(), bob_on_a);

    // bob posts with each visibility; each arrives in alice's home timeline with it.
    let public = bob.publish("Hello from B, everyone", "public").await;
    let unlisted = bob.publish("Quietly public", "unlisted").await;
    let private = bob.publish("For my followers only", "private").await;
    let direct = bob
        .publish(&format!("@{} just for you", alice.handle), "direct")
        .await;
    let mut on_a = Vec::new();
    for (posted, visibility) in [
        (&public, "public"),
        (&unlisted, "unlisted"),
        (&private, "private"),
        (&direct, "direct"),
    ] {
        let uri = posted["uri"].as_str().unwrap();
        let status = eventually(
            &format!(
                "bob's {visibility} post in alice's home timeline on A {}",
                mention_note(&alice.handle)
            ),
            || alice.in_home(uri),
        )
        .await;
        assert_eq!(status["visibility"], visibility, "{status}");
        assert_eq!(status["account"]["acct"], bob.handle, "{status}");
        assert_eq!(status["account"]["id"], bob_on_a.as_str(), "{status}");
        assert_eq!(status["content"], posted["content"], "{status}");
        // Stored as a remote status of bob's, under his URI.
        let row = fulmar_store::remote::status_by_uri(a.db(), uri)
            .await
            .unwrap()
            .expect("stored on A");
        assert_eq!(row.account_id.to_string(), bob_on_a);
        assert_eq!(row.visibility, visibility);
        on_a.push(status);
    }
    // The direct post is a mention notification for alice too.
    let direct_uri = direct["uri"].as_str().unwrap();
    let n = eventually("the direct post as a mention notification on A", || {
        alice.notification("mention", |n| n["status"]["uri"] == direct_uri)
    })
    .await;
    assert_eq!(n["account"]["acct"], bob.handle, "{n}");
    assert_eq!(n["status"]["visibility"], "direct", "{n}");

    // alice replies to bob's public post: bob gets a mention, and on B the reply
    // answers his own status.
    let public_on_a = on_a[0]["id"].as_str().unwrap().to_owned();
    let public_on_b = public["id"].as_str().unwrap().to_owned();
    let reply = alice
        .ok(
            Method::POST,
            "/api/v1/statuses",
            json!({
                "status": format!("@{} nice one", bob.handle),
                "in_reply_to_id": public_on_a,
                "visibility": "public",
            }),
        )
        .await;
    assert_eq!(reply["in_reply_to_id"], public_on_a.as_str(), "{reply}");
    assert_eq!(
        reply["in_reply_to_account_id"],
        bob_on_a.as_str(),
        "{reply}"
    );
    let reply_uri = reply["uri"].as_str().unwrap();
    let n = eventually(
        &format!(
            "alice's reply as a mention notification for bob on B {}",
            mention_note(&bob.handle)
        ),
        || bob.notification("mention", |n| n["status"]["uri"] == reply_uri),
    )
    .await;
    assert_eq!(n["account"]["acct"], alice.handle, "{n}");
    assert_eq!(n["status"]["in_reply_to_id"], public_on_b.as_str(), "{n}");
    assert_eq!(
        n["status"]["in_reply_to_account_id"],
        bob.id.as_str(),
        "{n}"
    );

    // alice favourites and boosts bob's public post; B counts both and tells bob.
    let fav = alice
        .ok(
            Method::POST,
            &format!("/api/v1/statuses/{public_on_a}/favourite"),
            json!({}),
        )
        .await;
    assert_eq!(fav["favourited"], true, "{fav}");
    let boost = alice
        .ok(
            Method::POST,
            &format!("/api/v1/statuses/{public_on_a}/reblog"),
            json!({}),
        )
        .await;
    assert_eq!(boost["reblog"]["id"], public_on_a.as_str(), "{boost}");
    eventually("favourites_count and reblogs_count 1 on B", || async {
        let (_, s) = bob.get(&format!("/api/v1/statuses/{public_on_b}")).await;
        if s["favourites_count"] == 1 && s["reblogs_count"] == 1 {
            Ok(())
        } else {
            Err(s.to_string())
        }
    })
    .await;
    for kind in ["favourite", "reblog"] {
        let n = eventually(&format!("a {kind} notification for bob on B"), || {
            bob.notification(kind, |n| n["status"]["id"] == public_on_b.as_str())
        })
        .await;
        assert_eq!(n["account"]["acct"], alice.handle, "{n}");
    }
    let (_, favourited_by) = bob
        .get(&format!("/api/v1/statuses/{public_on_b}/favourited_by"))
        .await;
    assert_eq!(favourited_by[0]["uri"], alice.uri, "{favourited_by}");

    // Taking both back (Undo of the Like and of the Announce) brings the counts down.
    alice
        .ok(
            Method::POST,
            &format!("/api/v1/statuses/{public_on_a}/unfavourite"),
            json!({}),
        )
        .await;
    alice
        .ok(
            Method::POST,
            &format!("/api/v1/statuses/{public_on_a}/unreblog"),
            json!({}),
        )
        .await;
    eventually(
        "favourites_count and reblogs_count back to 0 on B",
        || async {
            let (_, s) = bob.get(&format!("/api/v1/statuses/{public_on_b}")).await;
            if s["favourites_count"] == 0 && s["reblogs_count"] == 0 {
                Ok(())
            } else {
                Err(s.to_string())
            }
        },
    )
    .await;

    // bob renames himself: A shows the new name (Update of the Person).
    let me = bob
        .ok(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            json!({"display_name": "Bob of B"}),
        )
        .await;
    assert_eq!(me["display_name"], "Bob of B", "{me}");
    eventually("bob's new display name on A", || async {
        let (_, account) = alice.get(&format!("/api/v1/accounts/{bob_on_a}")).await;
        if account["display_name"] == "Bob of B" {
            Ok(())
        } else {
            Err(account.to_string())
        }
    })
    .await;

    // bob edits the post: A shows the edit and both versions.
    let edited = bob
        .ok(
            Method::PUT,
            &format!("/api/v1/statuses/{public_on_b}"),
            json!({"status": "Hello from B, everyone (edited)"}),
        )
        .await;
    assert!(edited["edited_at"].is_string(), "{edited}");
    let seen = eventually("the edit on A", || async {
        let (_, s) = alice.get(&format!("/api/v1/statuses/{public_on_a}")).await;
        if s["edited_at"].is_string() {
            Ok(s)
        } else {
            Err(s.to_string())
        }
    })
    .await;
    assert_eq!(seen["content"], edited["content"], "{seen}");
    let (status, history) = alice
        .get(&format!("/api/v1/statuses/{public_on_a}/history"))
        .await;
    assert_eq!(status, 200, "{history}");
    let versions = history.as_array().unwrap();
    assert_eq!(versions.len(), 2, "{history}");
    assert_eq!(versions[0]["content"], public["content"], "{history}");
    assert_eq!(versions[1]["content"], edited["content"], "{history}");

    // bob deletes his unlisted post: it is gone from A.
    let unlisted_on_a = on_a[1]["id"].as_str().unwrap().to_owned();
    let unlisted_on_b = unlisted["id"].as_str().unwrap();
    bob.ok(
        Method::DELETE,
        &format!("/api/v1/statuses/{unlisted_on_b}"),
        json!({}),
    )
    .await;
    eventually("the deleted post to be 404 on A", || async {
        let (status, s) = alice
            .get(&format!("/api/v1/statuses/{unlisted_on_a}"))
            .await;
        if status == 404 {
            Ok(())
        } else {
            Err(format!("{status} {s}"))
        }
    })
    .await;
    assert!(alice
        .in_home(unlisted["uri"].as_str().unwrap())
        .await
        .is_err());

    // alice unfollows: B no longer lists her among bob's followers.
    let rel = alice
        .ok(
            Method::POST,
            &format!("/api/v1/accounts/{bob_on_a}/unfollow"),
            json!({}),
        )
        .await;
    assert_eq!(rel["following"], false, "{rel}");
    eventually("alice gone from bob's followers on B", || async {
        let followers = bob.followers_of(&bob.id).await?;
        if followers.contains(&alice.uri) {
            Err(format!("{followers:?}"))
        } else {
            Ok(())
        }
    })
    .await;

    // bob blocks alice: A learns it from the Block.
    let alice_on_b = bob.resolve(&alice.handle).await;
    let alice_on_b = alice_on_b["id"].as_str().unwrap();
    let rel = bob
        .ok(
            Method::POST,
            &format!("/api/v1/accounts/{alice_on_b}/block"),
            json!({}),
        )
        .await;
    assert_eq!(rel["blocking"], true, "{rel}");
    eventually("blocked_by on A", || async {
        let rel = alice.relationship(&bob_on_a).await;
        if rel["blocked_by"] == true {
            Ok(())
        } else {
            Err(rel.to_string())
        }
    })
    .await;
}

fed_test!(
    follow_post_interact_edit_delete_unfollow_block,
    follow_post_interact_edit_delete_unfollow_block
);

/// A followers-only post goes to the servers of the author's followers and nowhere
/// else, even to a server the author's server delivers other posts to.
async fn followers_only_posts_stay_with_followers(backend: Backend) {
    let a = server(backend).await;
    let b = server(backend).await;
    let c = server(backend).await;
    let alice = user(&a, "alice").await;
    let bob = user(&b, "bob").await;
    let dave = user(&b, "dave").await;
    let carol = user(&c, "carol").await;

    // alice@A follows bob@B; carol@C follows dave@B, so B does deliver to C, and C
    // knows bob too (carol looked him up) without following him.
    follow_and_wait_for_accept(&alice, &bob).await;
    follow_and_wait_for_accept(&carol, &dave).await;
    let bob_on_c = carol.resolve(&bob.handle).await;
    let rel = carol.relationship(bob_on_c["id"].as_str().unwrap()).await;
    assert_eq!(rel["following"], false, "{rel}");

    let secret = bob.publish("Only my followers see this", "private").await;
    let other = dave
        .publish("Only my followers see this one", "private")
        .await;
    let secret_uri = secret["uri"].as_str().unwrap();
    let other_uri = other["uri"].as_str().unwrap();

    // Both posts are delivered to their authors' followers...
    eventually("bob's post on A", || alice.in_home(secret_uri)).await;
    eventually("dave's post on C", || carol.in_home(other_uri)).await;
    // ... and by the time dave's post reached C, which was posted after bob's, bob's
    // would have been there too had it been sent: C has no copy of it.
    assert!(fulmar_store::remote::status_by_uri(c.db(), secret_uri)
        .await
        .unwrap()
        .is_none());
    assert!(carol.in_home(secret_uri).await.is_err());
    // Nor can C fetch it: B serves followers-only posts to nobody unsigned.
    let res = c
        .client
        .get(secret_uri)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // The follower's copy keeps the audience it was sent to.
    let own = fulmar_store::remote::status_by_uri(a.db(), secret_uri)
        .await
        .unwrap()
        .expect("on A");
    assert_eq!(own.visibility, "private");
}

fed_test!(
    followers_only_posts_stay_with_followers,
    followers_only_posts_stay_with_followers
);

/// A locked account's server holds follow requests until the account decides:
/// authorizing sends Accept (the follower's server then shows `following`), rejecting
/// sends Reject (the request disappears on the follower's side).
async fn locked_accounts_decide_follow_requests(backend: Backend) {
    let a = server(backend).await;
    let b = server(backend).await;
    let alice = user(&a, "alice").await;
    let erin = user(&a, "erin").await;
    let bob = user(&b, "bob").await;
    let me = bob
        .ok(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            json!({"locked": true}),
        )
        .await;
    assert_eq!(me["locked"], true, "{me}");

    let mut on_a = Vec::new();
    for follower in [&alice, &erin] {
        let remote = follower.resolve(&bob.handle).await;
        assert_eq!(remote["locked"], true, "{remote}");
        let id = remote["id"].as_str().unwrap().to_owned();
        let rel = follower
            .ok(
                Method::POST,
                &format!("/api/v1/accounts/{id}/follow"),
                json!({}),
            )
            .await;
        assert_eq!(rel["requested"], true, "{rel}");
        on_a.push(id);
    }
    // Both requests reach bob, on B.
    let requests = eventually("two follow requests for bob on B", || async {
        let (status, list) = bob.get("/api/v1/follow_requests").await;
        match list.as_array() {
            Some(items) if status == 200 && items.len() == 2 => Ok(items.clone()),
            _ => Err(format!("{status} {list}")),
        }
    })
    .await;
    let id_of = |uri: &str| {
        requests
            .iter()
            .find(|r| r["uri"] == uri)
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("no request from {uri}: {requests:?}"))
            .to_owned()
    };
    let (alice_on_b, erin_on_b) = (id_of(&alice.uri), id_of(&erin.uri));

    // Still pending on A: nothing has been decided.
    let rel = alice.relationship(&on_a[0]).await;
    assert_eq!(rel["requested"], true, "{rel}");
    assert_eq!(rel["following"], false, "{rel}");

    bob.ok(
        Method::POST,
        &format!("/api/v1/follow_requests/{alice_on_b}/authorize"),
        json!({}),
    )
    .await;
    bob.ok(
        Method::POST,
        &format!("/api/v1/follow_requests/{erin_on_b}/reject"),
        json!({}),
    )
    .await;

    eventually("alice following bob on A after authorize", || async {
        let rel = alice.relationship(&on_a[0]).await;
        if rel["following"] == true && rel["requested"] == false {
            Ok(())
        } else {
            Err(rel.to_string())
        }
    })
    .await;
    eventually("erin's request gone on A after reject", || async {
        let rel = erin.relationship(&on_a[1]).await;
        if rel["following"] == false && rel["requested"] == false {
            Ok(())
        } else {
            Err(rel.to_string())
        }
    })
    .await;

    // Only alice gets bob's followers-only posts.
    let post = bob.publish("Approved followers only", "private").await;
    let uri = post["uri"].as_str().unwrap();
    let seen = eventually("bob's post in alice's home on A", || alice.in_home(uri)).await;
    assert_eq!(seen["visibility"], "private");
    assert!(erin.in_home(uri).await.is_err());
    let followers = bob.followers_of(&bob.id).await.unwrap();
    assert_eq!(followers, vec![alice.uri.clone()]);
}

fed_test!(
    locked_accounts_decide_follow_requests,
    locked_accounts_decide_follow_requests
);
