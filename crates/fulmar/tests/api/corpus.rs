//! The federation corpus (crates/federation/tests/fixtures: actors, objects and
//! activities shaped as Mastodon, GoToSocial, Akkoma, Pleroma, Misskey, Pixelfed,
//! Threads and Lemmy send them) PROCESSED end to end: each activity fixture is
//! rewritten so that its origin is a loopback [`Peer`] and its "local side" (the
//! followed, liked, mentioned account and its statuses) is a real account here, then
//! signed, POSTed to the shared inbox, and its effect is awaited through the client
//! API. Every case also checks that its inbox job neither died nor stayed queued.
//!
//! The cases are one table: a row per fixture with the servers' URL substitutions, what
//! must exist before (a follow, earlier activities) and the expected effect.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fulmar_store::accounts::AccountRow;
use serde_json::{json, Value};

use crate::db_test;
use crate::helpers::{eventually, follow_directly, TestApp};
use crate::peer::{free_port, Peer, PeerActor};

/// A remote actor of a fixture server: where it lives, its preferred username, and
/// the fixture documents serving it (its actor document and, for GoToSocial, a key
/// document at a separate URL). Without a document a Mastodon-like one is made up.
struct ActorSpec {
    url: &'static str,
    name: &'static str,
    doc: Option<&'static str>,
    key_doc: Option<(&'static str, &'static str)>,
}

/// A fixture server: its origin (replaced by the peer's), its actors, and the URLs of
/// the local side, replaced in order (the more specific first) by the placeholders
/// `{alice}` (the local user's actor), `{status}` (her status) and `{follow}` (the id
/// of her Follow of the sender).
struct Server {
    origin: &'static str,
    actors: &'static [ActorSpec],
    local: &'static [&'static [(&'static str, &'static str)]],
}

/// Fixtures sent to `Gargron@mastodon.example`, who stands for the local user.
const TO_GARGRON: &[(&str, &str)] = &[
    (
        "https://mastodon.example/users/Gargron/statuses/113000000000000001",
        "{status}",
    ),
    (
        "https://mastodon.example/5c2b7a1e-1d2f-4a8e-9b9f-2f6b0c3d4e5f",
        "{follow}",
    ),
    (
        "https://mastodon.example/2a7c1b0d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
        "{follow}",
    ),
    ("https://mastodon.example/users/Gargron", "{alice}"),
    ("https://mastodon.example/@Gargron", "{alice}"),
];

const GARGRON: ActorSpec = ActorSpec {
    url: "https://mastodon.example/users/Gargron",
    name: "Gargron",
    doc: Some("mastodon/actor.json"),
    key_doc: None,
};

const MASTODON: Server = Server {
    origin: "https://mastodon.example",
    actors: &[GARGRON],
    local: &[&[
        (
            "https://gts.example/users/tobi/statuses/01F8MH75CBF9JFX4ZAD54N0W0R",
            "{status}",
        ),
        (
            "https://gts.example/users/tobi/follow/01J0FOLLOW0000000000000000",
            "{follow}",
        ),
        ("https://gts.example/users/tobi", "{alice}"),
        ("https://other.example/users/bob/statuses/7", "{status}"),
        ("https://other.example/users/bob/statuses/1", "{status}"),
        ("https://other.example/users/bob", "{alice}"),
        ("https://other.example/@bob", "{alice}"),
        ("https://other.example/users/troll", "{alice}"),
    ]],
};

/// bob@other.example voting in Gargron's poll (Gargron is local here).
const MASTODON_VOTER: Server = Server {
    origin: "https://other.example",
    actors: &[ActorSpec {
        url: "https://other.example/users/bob",
        name: "bob",
        doc: None,
        key_doc: None,
    }],
    local: &[
        &[(
            "https://mastodon.example/users/Gargron/statuses/113000000000000010",
            "{status}",
        )],
        TO_GARGRON,
    ],
};

const GOTOSOCIAL: Server = Server {
    origin: "https://gts.example",
    actors: &[ActorSpec {
        url: "https://gts.example/users/tobi",
        name: "tobi",
        doc: Some("gotosocial/actor.json"),
        key_doc: Some((
            "https://gts.example/users/tobi/main-key",
            "gotosocial/key_stub.json",
        )),
    }],
    local: &[
        &[
            (
                "https://gts.example/users/admin/statuses/01J5Z9AA0000000000000000CD",
                "{status}",
            ),
            ("https://gts.example/users/admin", "{alice}"),
            ("https://gts.example/@admin", "{alice}"),
            (
                "https://misskey.example/follows/9abcdefghi/01J5ZA",
                "{follow}",
            ),
            ("https://misskey.example/users/9abcdefghi", "{alice}"),
        ],
        TO_GARGRON,
    ],
};

const AKKOMA: Server = Server {
    origin: "https://akkoma.example",
    actors: &[ActorSpec {
        url: "https://akkoma.example/users/floof",
        name: "floof",
        doc: Some("akkoma/actor.json"),
        key_doc: None,
    }],
    local: &[TO_GARGRON],
};

const LEMMY_ACTORS: &[ActorSpec] = &[
    ActorSpec {
        url: "https://lemmy.example/u/ferris",
        name: "ferris",
        doc: None,
        key_doc: None,
    },
    ActorSpec {
        url: "https://lemmy.example/u/crab",
        name: "crab",
        doc: None,
        key_doc: None,
    },
    ActorSpec {
        url: "https://lemmy.example/c/rust",
        name: "rust",
        doc: Some("lemmy/group.json"),
        key_doc: None,
    },
];

const LEMMY: Server = Server {
    origin: "https://lemmy.example",
    actors: LEMMY_ACTORS,
    local: &[],
};

/// A Lemmy comment replying to (and mentioning) ferris, who is local here.
const LEMMY_REPLY: Server = Server {
    origin: "https://lemmy.example",
    actors: LEMMY_ACTORS,
    local: &[&[
        ("https://lemmy.example/post/12400", "{status}"),
        ("https://lemmy.example/u/ferris", "{alice}"),
    ]],
};

/// Mastodon following a Lemmy community, which is local here.
const LEMMY_FOLLOWER: Server = Server {
    origin: "https://mastodon.example",
    actors: &[GARGRON],
    local: &[&[("https://lemmy.example/c/rust", "{alice}")]],
};

const MISSKEY: Server = Server {
    origin: "https://misskey.example",
    actors: &[ActorSpec {
        url: "https://misskey.example/users/9abcdefghi",
        name: "syuilo",
        doc: Some("misskey/actor.json"),
        key_doc: None,
    }],
    local: &[&[("https://gts.example/users/tobi", "{alice}")], TO_GARGRON],
};

const PIXELFED: Server = Server {
    origin: "https://pixelfed.example",
    actors: &[ActorSpec {
        url: "https://pixelfed.example/users/lens",
        name: "lens",
        doc: Some("pixelfed/actor.json"),
        key_doc: None,
    }],
    local: &[TO_GARGRON],
};

const PLEROMA: Server = Server {
    origin: "https://pleroma.example",
    actors: &[ActorSpec {
        url: "https://pleroma.example/users/lain",
        name: "lain",
        doc: Some("pleroma/actor.json"),
        key_doc: None,
    }],
    local: &[TO_GARGRON],
};

const THREADS: Server = Server {
    origin: "https://threads.net",
    actors: &[ActorSpec {
        url: "https://threads.net/ap/users/17841400000000000/",
        name: "mosseri",
        doc: Some("threads/actor.json"),
        key_doc: None,
    }],
    local: &[TO_GARGRON],
};

/// How the local user relates to the fixture's sender before it is sent.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    /// She follows the sender (stored as accepted), so its posts reach her home.
    Follows,
    /// She asked to follow the sender through the API; the request is pending.
    Requested,
}

/// What is sent before the fixture.
enum Seed {
    /// Another fixture: an activity as is, an object wrapped in a Create.
    Fixture(&'static str),
    /// The fixture's own object wrapped in a Create (before an Update of it).
    CreateOfObject,
    /// The fixture's own embedded activity (before an Undo of it).
    Object,
}

/// The expected effect, awaited through the client API.
#[derive(Clone, Copy)]
enum Effect {
    /// The object is stored and shown with this visibility and content; in her home feed and notified as a mention when asked.
    Shown {
        visibility: &'static str,
        contains: &'static str,
        home: bool,
        mention: bool,
    },
    /// The object is a status with a poll of this kind and this many options.
    Poll { multiple: bool, options: usize },
    /// The object's status now reads `contains`, with an edit history.
    Edited { contains: &'static str },
    /// The object's status (stored by the seeds) is gone.
    Gone,
    /// The sender now follows her, and its server got an Accept of the Follow.
    AcceptSent,
    /// Her follow request was accepted.
    Following,
    /// Her follow request was rejected.
    NotRequested,
    /// Her status has this many favourites (notified when more than none).
    Favourites(i64),
    /// Her status has this many reblogs (notified when more than none).
    Reblogs(i64),
    /// The sender blocks her.
    BlockedBy,
    /// Nobody follows her.
    NoFollowers,
    /// Understood and dropped: no notification, no counts, the object not stored.
    Ignored,
}

struct Case {
    fixture: &'static str,
    server: &'static Server,
    setup: Setup,
    seeds: &'static [Seed],
    /// Checked after the seeds, before the fixture (what an Undo undoes).
    before: Option<Effect>,
    effect: Effect,
}

const fn case(fixture: &'static str, server: &'static Server, effect: Effect) -> Case {
    Case {
        fixture,
        server,
        setup: Setup::Follows,
        seeds: &[],
        before: None,
        effect,
    }
}

const fn requested(fixture: &'static str, server: &'static Server, effect: Effect) -> Case {
    Case {
        setup: Setup::Requested,
        ..case(fixture, server, effect)
    }
}

const fn seeded(
    fixture: &'static str,
    server: &'static Server,
    seeds: &'static [Seed],
    before: Option<Effect>,
    effect: Effect,
) -> Case {
    Case {
        seeds,
        before,
        ..case(fixture, server, effect)
    }
}

const fn shown(
    visibility: &'static str,
    contains: &'static str,
    home: bool,
    mention: bool,
) -> Effect {
    Effect::Shown {
        visibility,
        contains,
        home,
        mention,
    }
}

const CASES: &[Case] = &[
    // Mastodon.
    requested("mastodon/accept_follow.json", &MASTODON, Effect::Following),
    case("mastodon/announce.json", &MASTODON, Effect::Reblogs(1)),
    case("mastodon/block.json", &MASTODON, Effect::BlockedBy),
    case(
        "mastodon/create_note.json",
        &MASTODON,
        shown("private", "soup again", true, true),
    ),
    seeded(
        "mastodon/delete.json",
        &MASTODON,
        &[Seed::Fixture("mastodon/note.json")],
        Some(shown("public", "hello", true, true)),
        Effect::Gone,
    ),
    case("mastodon/follow.json", &MASTODON, Effect::AcceptSent),
    case("mastodon/like.json", &MASTODON, Effect::Favourites(1)),
    case("mastodon/poll_vote.json", &MASTODON_VOTER, Effect::Ignored),
    seeded(
        "mastodon/question_anyof.json",
        &MASTODON,
        &[Seed::CreateOfObject],
        None,
        Effect::Poll {
            multiple: true,
            options: 3,
        },
    ),
    case(
        "mastodon/question_oneof.json",
        &MASTODON,
        Effect::Poll {
            multiple: false,
            options: 2,
        },
    ),
    seeded(
        "mastodon/undo_follow.json",
        &MASTODON,
        &[Seed::Fixture("mastodon/follow.json")],
        Some(Effect::AcceptSent),
        Effect::NoFollowers,
    ),
    seeded(
        "mastodon/update_note.json",
        &MASTODON,
        &[Seed::Fixture("mastodon/note.json")],
        None,
        Effect::Edited {
            contains: "fewer typos",
        },
    ),
    case(
        "mastodon/note.json",
        &MASTODON,
        shown("public", "hello", true, true),
    ),
    // GoToSocial.
    requested(
        "gotosocial/accept_id_only.json",
        &GOTOSOCIAL,
        Effect::Following,
    ),
    case(
        "gotosocial/create_note_policy.json",
        &GOTOSOCIAL,
        shown("private", "only my followers", true, true),
    ),
    seeded(
        "gotosocial/delete.json",
        &GOTOSOCIAL,
        &[Seed::Fixture("gotosocial/note.json")],
        Some(shown("public", "hello world", true, true)),
        Effect::Gone,
    ),
    requested(
        "gotosocial/reject_follow.json",
        &GOTOSOCIAL,
        Effect::NotRequested,
    ),
    seeded(
        "gotosocial/undo_like.json",
        &GOTOSOCIAL,
        &[Seed::Object],
        Some(Effect::Favourites(1)),
        Effect::Favourites(0),
    ),
    case(
        "gotosocial/note.json",
        &GOTOSOCIAL,
        shown("public", "hello world", true, true),
    ),
    // Akkoma.
    case(
        "akkoma/create_note.json",
        &AKKOMA,
        shown("direct", "just between us", false, true),
    ),
    seeded(
        "akkoma/delete.json",
        &AKKOMA,
        &[Seed::Fixture("akkoma/create_note.json")],
        Some(shown("direct", "just between us", false, true)),
        Effect::Gone,
    ),
    case("akkoma/emoji_react.json", &AKKOMA, Effect::Favourites(1)),
    case(
        "akkoma/emoji_react_unicode.json",
        &AKKOMA,
        Effect::Favourites(1),
    ),
    seeded(
        "akkoma/undo_announce.json",
        &AKKOMA,
        &[Seed::Object],
        Some(Effect::Reblogs(1)),
        Effect::Reblogs(0),
    ),
    case(
        "akkoma/note.json",
        &AKKOMA,
        shown("direct", "just between us", false, true),
    ),
    // Lemmy.
    case(
        "lemmy/announce_create.json",
        &LEMMY,
        shown("public", "Why does this not compile", true, false),
    ),
    case(
        "lemmy/create_comment.json",
        &LEMMY_REPLY,
        shown("public", "you moved the value twice", true, true),
    ),
    case(
        "lemmy/create_page.json",
        &LEMMY,
        shown("public", "Why does this not compile", true, false),
    ),
    seeded(
        "lemmy/delete.json",
        &LEMMY,
        &[Seed::Fixture("lemmy/create_page.json")],
        Some(shown("public", "Why does this not compile", true, false)),
        Effect::Gone,
    ),
    case(
        "lemmy/follow_group.json",
        &LEMMY_FOLLOWER,
        Effect::AcceptSent,
    ),
    // A vote on a post of another server: Fulmar counts only favourites of its own.
    seeded(
        "lemmy/like.json",
        &LEMMY,
        &[Seed::Fixture("lemmy/create_page.json")],
        None,
        Effect::Ignored,
    ),
    case(
        "lemmy/page.json",
        &LEMMY,
        shown("public", "Rust 1.80 released", true, false),
    ),
    // Misskey.
    requested("misskey/accept_follow.json", &MISSKEY, Effect::Following),
    case("misskey/announce.json", &MISSKEY, Effect::Reblogs(1)),
    case("misskey/block.json", &MISSKEY, Effect::BlockedBy),
    case(
        "misskey/create_quote.json",
        &MISSKEY,
        shown("public", "this one", true, true),
    ),
    case("misskey/follow.json", &MISSKEY, Effect::AcceptSent),
    case(
        "misskey/like_reaction.json",
        &MISSKEY,
        Effect::Favourites(1),
    ),
    case("misskey/like_unicode.json", &MISSKEY, Effect::Favourites(1)),
    // Followers in `to`, Public in `cc`: unlisted.
    case(
        "misskey/note.json",
        &MISSKEY,
        shown("unlisted", "quoting this", true, false),
    ),
    // Pixelfed.
    // Remote attachments are not stored yet (the two images are dropped).
    case(
        "pixelfed/create_note.json",
        &PIXELFED,
        shown("public", "Harbour at dawn", true, false),
    ),
    case("pixelfed/follow.json", &PIXELFED, Effect::AcceptSent),
    case("pixelfed/like.json", &PIXELFED, Effect::Favourites(1)),
    case(
        "pixelfed/note.json",
        &PIXELFED,
        shown("public", "Harbour at dawn", true, false),
    ),
    // Pleroma.
    case("pleroma/follow.json", &PLEROMA, Effect::AcceptSent),
    seeded(
        "pleroma/undo_follow.json",
        &PLEROMA,
        &[Seed::Fixture("pleroma/follow.json")],
        Some(Effect::AcceptSent),
        Effect::NoFollowers,
    ),
    case(
        "pleroma/note.json",
        &PLEROMA,
        shown("direct", "Direct to you", false, true),
    ),
    // Threads.
    requested("threads/accept_follow.json", &THREADS, Effect::Following),
    case(
        "threads/create_note.json",
        &THREADS,
        shown("public", "welcome aboard", true, true),
    ),
    seeded(
        "threads/delete.json",
        &THREADS,
        &[Seed::Fixture("threads/create_note.json")],
        Some(shown("public", "welcome aboard", true, true)),
        Effect::Gone,
    ),
    case(
        "threads/note.json",
        &THREADS,
        shown("public", "Hello, fediverse", true, false),
    ),
];

/// Object types the peer serves at their ids when a fixture embeds them.
const SERVED_TYPES: &[&str] = &["Note", "Page", "Article", "Question", "Create"];

fn fixture_text(path: &str) -> String {
    let full = format!(
        "{}/../federation/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// An activity as is; an object wrapped in the Create its author would send.
fn as_activity(doc: Value) -> Value {
    if doc.get("actor").is_some() && doc.get("object").is_some() {
        return doc;
    }
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#create", doc["id"].as_str().unwrap()),
        "type": "Create",
        "actor": doc["attributedTo"],
        "to": doc["to"],
        "cc": doc["cc"],
        "object": doc,
    })
}

/// One case being run: a fresh peer and a fresh local user on the shared Fulmar.
struct Run<'a> {
    case: &'a Case,
    fulmar: &'a TestApp,
    peer: Peer,
    user: AccountRow,
    token: String,
    /// Her public status, the target of likes, boosts and replies.
    status_id: String,
    status_uri: String,
    follow_id: String,
    actors: Vec<PeerActor>,
}

impl<'a> Run<'a> {
    async fn start(fulmar: &'a TestApp, case: &'a Case, n: usize) -> Run<'a> {
        let (user, token) = fulmar
            .user_with_token(&format!("local{n}"), "read write follow")
            .await;
        let (code, status) = fulmar
            .api_post(
                "/api/v1/statuses",
                &token,
                json!({"status": "A post to like, boost and answer", "visibility": "public"}),
            )
            .await;
        assert_eq!(code, 200, "{status}");
        let mut run = Run {
            case,
            fulmar,
            peer: Peer::start().await,
            user,
            token,
            status_id: status["id"].as_str().unwrap().to_owned(),
            status_uri: status["uri"].as_str().unwrap().to_owned(),
            follow_id: String::new(),
            actors: Vec::new(),
        };
        for spec in case.server.actors {
            // An actor standing for the local side (Lemmy's ferris, when answered) is
            // not the peer's.
            if !run.rewrite(spec.url).starts_with(&run.peer.base) {
                continue;
            }
            let actor = run.serve_actor(spec);
            run.actors.push(actor);
        }
        run
    }

    fn alice(&self) -> String {
        self.fulmar.app.urls.actor(&self.user.username)
    }

    /// The fixture text with the local side and the origin replaced.
    fn rewrite(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for table in self.case.server.local {
            for (from, to) in *table {
                let to = to
                    .replace("{alice}", &self.alice())
                    .replace("{status}", &self.status_uri)
                    .replace("{follow}", &self.follow_id);
                text = text.replace(from, &to);
            }
        }
        text.replace(self.case.server.origin, &self.peer.base)
    }

    fn load(&self, path: &str) -> Value {
        let text = self.rewrite(&fixture_text(path));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn path_of<'u>(&self, url: &'u str) -> &'u str {
        url.strip_prefix(&self.peer.base)
            .unwrap_or_else(|| panic!("{url} is not the peer's"))
    }

    /// Serves an actor with a real key: the fixture's document with the peer's key in
    /// it (the real shapes), or a made-up one; WebFinger answers for its name.
    fn serve_actor(&self, spec: &ActorSpec) -> PeerActor {
        let base = self.peer.actor(spec.name);
        let id = self.rewrite(spec.url);
        let with_key = |mut doc: Value| {
            doc["publicKey"]["publicKeyPem"] = json!(base.public_key_pem);
            doc
        };
        let doc = match spec.doc {
            Some(path) => with_key(self.load(path)),
            None => {
                let mut made = base.clone();
                made.key_id = format!("{id}#main-key");
                made.id = id.clone();
                self.peer.actor_document(&made)
            }
        };
        let actor = PeerActor {
            id: id.clone(),
            key_id: doc["publicKey"]["id"].as_str().unwrap().to_owned(),
            ..base.clone()
        };
        self.peer.register(&actor);
        self.peer.publish(self.path_of(&id), doc);
        if let Some((url, path)) = spec.key_doc {
            let url = self.rewrite(url);
            self.peer
                .publish(self.path_of(&url), with_key(self.load(path)));
        }
        actor
    }

    /// Serves every object the activity embeds at its id, as its origin would.
    fn serve_objects(&self, v: &Value) {
        let Some(obj) = v.as_object() else { return };
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
        if let Some(id) = obj.get("id").and_then(Value::as_str) {
            if SERVED_TYPES.contains(&kind) && id.starts_with(&self.peer.base) {
                self.peer.publish(self.path_of(id), v.clone());
            }
        }
        if let Some(inner) = obj.get("object") {
            self.serve_objects(inner);
        }
    }

    fn signer(&self, activity: &Value) -> PeerActor {
        let id = activity["actor"].as_str().expect("an actor");
        self.actors
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("no actor {id} on the peer"))
            .clone()
    }

    /// The account here of the fixture's sender (fetched on first use).
    async fn sender(&self) -> AccountRow {
        let activity = self.activity();
        fulmar::core::resolve::resolve_actor_url(&self.fulmar.app, &self.signer(&activity).id)
            .await
            .expect("resolve the sender")
    }

    /// The sender's account as the API shows it, read from the fixture's actor
    /// document: name, handle, locked, group.
    async fn check_sender(&self, sender: &AccountRow) {
        let spec = self
            .case
            .server
            .actors
            .iter()
            .find(|a| self.rewrite(a.url) == sender.uri);
        let Some(path) = spec.and_then(|a| a.doc) else {
            return;
        };
        let doc = self.load(path);
        let (code, account) = self.get(&format!("/api/v1/accounts/{}", sender.id)).await;
        assert_eq!(code, 200, "{account}");
        let expected = json!({
            "display_name": doc["name"],
            "acct": format!("{}@{}", doc["preferredUsername"].as_str().unwrap(), self.peer.host),
            "locked": doc["manuallyApprovesFollowers"].as_bool().unwrap_or(false),
            "group": doc["type"] == "Group",
        });
        let actual = json!({
            "display_name": account["display_name"],
            "acct": account["acct"],
            "locked": account["locked"],
            "group": account["group"],
        });
        assert_eq!(actual, expected, "{path}");
    }

    async fn setup(&mut self) {
        let sender = self.sender().await;
        self.check_sender(&sender).await;
        match self.case.setup {
            Setup::Follows => {
                follow_directly(&self.fulmar.app.db, self.user.id, sender.id).await;
            }
            Setup::Requested => {
                let (code, rel) = self
                    .fulmar
                    .api_post(
                        &format!("/api/v1/accounts/{}/follow", sender.id),
                        &self.token,
                        json!({}),
                    )
                    .await;
                assert_eq!(code, 200, "{rel}");
                assert_eq!(rel["requested"], true, "{rel}");
                let follow = self
                    .peer
                    .wait_for(10, |v| v["type"] == "Follow" && v["object"] == sender.uri)
                    .await;
                self.follow_id = follow["id"].as_str().unwrap().to_owned();
            }
        }
    }

    /// Signs `activity` as its actor and POSTs it to the shared inbox: taken (202).
    async fn send(&self, activity: &Value) {
        self.serve_objects(activity);
        let inbox = self.fulmar.url("/inbox");
        let (code, body) = self
            .peer
            .post(&self.signer(activity), &inbox, activity)
            .await;
        assert_eq!(code, 202, "{}: {body}", self.case.fixture);
    }

    /// The fixture as delivered: an activity as is, an object in a Create.
    fn activity(&self) -> Value {
        as_activity(self.load(self.case.fixture))
    }

    fn seed(&self, seed: &Seed) -> Value {
        match seed {
            Seed::Fixture(path) => as_activity(self.load(path)),
            Seed::CreateOfObject => as_activity(self.activity()["object"].clone()),
            Seed::Object => self.activity()["object"].clone(),
        }
    }

    /// Waits until the inbox queue is empty, and fails when a job died or is waiting
    /// for a retry: processing must end (acted on, or dropped as ignored or invalid).
    async fn settled(&self) {
        let db = self.fulmar.db();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let jobs = fulmar_store::jobs::list(db, "inbox").await.unwrap();
            if jobs.is_empty() {
                return;
            }
            let stuck = jobs.iter().any(|j| j.attempts > 0 || j.dead_at.is_some());
            assert!(
                !stuck && Instant::now() < deadline,
                "{}: inbox jobs left: {:?}",
                self.case.fixture,
                jobs.iter()
                    .map(|j| (j.attempts, j.dead_at, j.last_error.clone()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.fulmar.api_get(path, &self.token).await
    }

    /// The API id of the stored status with this URI, if stored.
    async fn stored(&self, uri: &str) -> Option<String> {
        fulmar_store::remote::status_by_uri(self.fulmar.db(), uri)
            .await
            .unwrap()
            .filter(|s| s.deleted_at.is_none())
            .map(|s| s.id.to_string())
    }

    /// The object the fixture is about: its object, or for an Announce of a Create
    /// (Lemmy's communities) the created object.
    fn object(&self) -> Value {
        let fixture = self.activity();
        let object = &fixture["object"];
        if object["type"] == "Create" {
            object["object"].clone()
        } else {
            object.clone()
        }
    }

    fn object_uri(&self) -> String {
        fulmar_federation::from_activitypub::id_of(&self.object()).unwrap_or_default()
    }

    async fn notified(&self, kind: &str, status_id: &str) -> bool {
        let (_, list) = self.get("/api/v1/notifications").await;
        list.as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == kind && (status_id.is_empty() || n["status"]["id"] == status_id))
    }

    async fn relationship(&self, key: &str) -> Value {
        let sender = self.sender().await;
        let (_, rel) = self
            .get(&format!(
                "/api/v1/accounts/relationships?id[]={}",
                sender.id
            ))
            .await;
        rel[0][key].clone()
    }

    async fn followers(&self) -> usize {
        let (_, list) = self
            .get(&format!("/api/v1/accounts/{}/followers", self.user.id))
            .await;
        list.as_array().map_or(0, Vec::len)
    }

    async fn my_status(&self, key: &str) -> Value {
        let (_, s) = self
            .get(&format!("/api/v1/statuses/{}", self.status_id))
            .await;
        s[key].clone()
    }

    /// Whether `effect` holds now.
    async fn holds(&self, effect: Effect) -> bool {
        let uri = self.object_uri();
        match effect {
            Effect::Shown {
                visibility,
                contains,
                home,
                mention,
            } => {
                let Some(id) = self.stored(&uri).await else {
                    return false;
                };
                let (_, s) = self.get(&format!("/api/v1/statuses/{id}")).await;
                let (_, feed) = self.get("/api/v1/timelines/home").await;
                let in_home = feed
                    .as_array()
                    .unwrap_or_else(|| panic!("{feed}"))
                    .iter()
                    .any(|s| s["id"] == id || s["reblog"]["id"] == id);
                // A reply to her status is threaded under it.
                let replies_to_her = self.object()["inReplyTo"] == self.status_uri.as_str();
                s["visibility"] == visibility
                    && s["content"].as_str().unwrap_or_default().contains(contains)
                    && (!replies_to_her || s["in_reply_to_id"] == self.status_id.as_str())
                    && (!home || in_home)
                    && (!mention || self.notified("mention", &id).await)
            }
            Effect::Poll { multiple, options } => {
                let Some(id) = self.stored(&uri).await else {
                    return false;
                };
                let (_, s) = self.get(&format!("/api/v1/statuses/{id}")).await;
                s["poll"]["multiple"] == multiple
                    && s["poll"]["options"].as_array().map(Vec::len) == Some(options)
            }
            Effect::Edited { contains } => {
                let Some(id) = self.stored(&uri).await else {
                    return false;
                };
                let (_, s) = self.get(&format!("/api/v1/statuses/{id}")).await;
                let (_, history) = self.get(&format!("/api/v1/statuses/{id}/history")).await;
                s["content"].as_str().unwrap_or_default().contains(contains)
                    && history.as_array().map_or(0, Vec::len) >= 2
            }
            Effect::Gone => self.stored(&uri).await.is_none(),
            Effect::AcceptSent => {
                let fixture = self.activity();
                let follow = if fixture["type"] == "Follow" {
                    fixture
                } else {
                    self.seed(&self.case.seeds[0])
                };
                self.peer.received().iter().any(|v| {
                    v["type"] == "Accept"
                        && (v["object"]["id"] == follow["id"] || v["object"] == follow["id"])
                }) && self.followers().await == 1
            }
            Effect::Following => self.relationship("following").await == true,
            Effect::NotRequested => {
                self.relationship("requested").await == false
                    && self.relationship("following").await == false
            }
            Effect::Favourites(n) => {
                self.my_status("favourites_count").await == n
                    && (n == 0 || self.notified("favourite", &self.status_id).await)
            }
            Effect::Reblogs(n) => {
                self.my_status("reblogs_count").await == n
                    && (n == 0 || self.notified("reblog", &self.status_id).await)
            }
            Effect::BlockedBy => self.relationship("blocked_by").await == true,
            Effect::NoFollowers => self.followers().await == 0,
            Effect::Ignored => {
                let (_, list) = self.get("/api/v1/notifications").await;
                let embedded = self.activity()["object"].is_object();
                // A status named by id (Lemmy's voted post) may be stored, uncounted.
                let untouched = match self.stored(&uri).await {
                    Some(_) if embedded => false,
                    Some(id) => {
                        let (_, s) = self.get(&format!("/api/v1/statuses/{id}")).await;
                        s["favourites_count"] == 0 && s["reblogs_count"] == 0
                    }
                    None => true,
                };
                list.as_array()
                    .unwrap_or_else(|| panic!("{list}"))
                    .is_empty()
                    && self.my_status("favourites_count").await == 0
                    && self.my_status("reblogs_count").await == 0
                    && untouched
            }
        }
    }

    async fn expect(&self, effect: Effect, when: &str) {
        if matches!(effect, Effect::Ignored) {
            // Nothing to wait for: let processing end, then look.
            self.settled().await;
        }
        let what = format!("{} {when}", self.case.fixture);
        eventually(&what, || self.holds(effect)).await;
        self.settled().await;
    }
}

async fn run_case(fulmar: &TestApp, case: &Case, n: usize) {
    let mut run = Run::start(fulmar, case, n).await;
    run.setup().await;
    for seed in case.seeds {
        run.send(&run.seed(seed)).await;
    }
    run.settled().await;
    if let Some(before) = case.before {
        run.expect(before, "(before)").await;
    }
    // A Delete must find something to delete.
    let gone_id = if matches!(case.effect, Effect::Gone) {
        Some(run.stored(&run.object_uri()).await.expect("seeded status"))
    } else {
        None
    };
    let activity = run.activity();
    run.send(&activity).await;
    run.expect(case.effect, "").await;
    if let Some(id) = gone_id {
        let (code, _) = run.get(&format!("/api/v1/statuses/{id}")).await;
        assert_eq!(code, 404, "{}", case.fixture);
    }
}

/// Runs the cases of fixtures under `dir` on one development server.
async fn corpus(app: TestApp, dir: &str) {
    let backend = app.backend;
    app.stop().await;
    // A development server, as `dev_server` starts, without the API rate limit: the
    // effects are polled many times a second.
    let port = free_port();
    let fulmar = TestApp::spawn_with(backend, move |c| {
        c.listen = SocketAddr::from(([127, 0, 0, 1], port));
        c.domain = format!("127.0.0.1:{port}");
        c.dev_insecure = true;
        c.rate_limit = 0;
        c.inbox_rate_limit = 0;
    })
    .await
    .expect("server");
    let mut ran = 0;
    for (n, case) in CASES.iter().enumerate() {
        if case.fixture.starts_with(dir) {
            run_case(&fulmar, case, n).await;
            ran += 1;
        }
    }
    assert!(ran > 0, "no cases for {dir}");
}

db_test!(corpus_mastodon, |app: TestApp| corpus(app, "mastodon/"));
db_test!(corpus_gotosocial, |app: TestApp| corpus(app, "gotosocial/"));
db_test!(corpus_akkoma, |app: TestApp| corpus(app, "akkoma/"));
db_test!(corpus_lemmy, |app: TestApp| corpus(app, "lemmy/"));
db_test!(corpus_misskey, |app: TestApp| corpus(app, "misskey/"));
db_test!(corpus_pixelfed, |app: TestApp| corpus(app, "pixelfed/"));
db_test!(corpus_pleroma, |app: TestApp| corpus(app, "pleroma/"));
db_test!(corpus_threads, |app: TestApp| corpus(app, "threads/"));

/// Every fixture of the corpus is used: delivered (activities and objects) or served
/// as an actor.
#[test]
fn every_fixture_is_used() {
    let dir = format!(
        "{}/../federation/tests/fixtures",
        env!("CARGO_MANIFEST_DIR")
    );
    for server in std::fs::read_dir(&dir).unwrap() {
        let server = server.unwrap().path();
        for file in std::fs::read_dir(&server).unwrap() {
            let path = file.unwrap().path();
            let name = format!(
                "{}/{}",
                server.file_name().unwrap().to_string_lossy(),
                path.file_name().unwrap().to_string_lossy()
            );
            let served = |spec: &ActorSpec| {
                spec.doc == Some(name.as_str()) || spec.key_doc.is_some_and(|(_, d)| d == name)
            };
            assert!(
                CASES
                    .iter()
                    .any(|c| c.fixture == name || c.server.actors.iter().any(served)),
                "{name} is neither delivered nor served"
            );
        }
    }
}
