// Interop: a real peer. A server built with @fedify/fedify (fedify-peer.mjs) and a
// Fulmar server, both on loopback over plain http, follow each other and exchange
// posts. Fedify signs what it sends and verifies what it receives; Fulmar is driven
// only through its Mastodon client API, with a token from `fulmar admin token`.
//
//  1. Fedify's actor follows alice@Fulmar: Fulmar must send an Accept, which Fedify
//     verifies and hands to its listener; alice's followers list the Fedify actor.
//  2. alice follows the Fedify actor (resolved by its URL): Fedify accepts at once,
//     and the relationship turns from requested to following.
//  3. alice posts: Fedify's inbox gets a signed Create of her Note.
//  4. The Fedify actor posts to its followers: the Note appears in alice's home
//     timeline.
//  5. The Fedify actor likes alice's post: Fulmar counts and notifies it.
//  6. Both unfollow: Fedify gets an Undo embedding the whole Follow; Fulmar drops
//     the Fedify actor from alice's followers after Fedify's Undo.
//
// The tests run in order and build on each other; every wait is bounded.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  Accept,
  Create,
  Follow,
  getDocumentLoader,
  Like,
  lookupObject,
  Note,
  PUBLIC_COLLECTION,
  Undo,
} from "@fedify/fedify";
// Node 20 has no Temporal; fedify 1.5 takes dates as polyfill Temporal.Instants.
import { Temporal } from "@js-temporal/polyfill";

import { ACTOR, FedifyPeer } from "./fedify-peer.mjs";
import { freePort, Fulmar, within } from "./fulmar.mjs";

const T = 15_000; // bound on every call and every wait

/** Polls `probe` every 100 ms until it returns something truthy, for at most `ms`. */
async function until(ms, what, probe) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

describe("Fulmar and a Fedify server follow each other and exchange posts", {
  timeout: 180_000,
}, () => {
  let fulmar;
  let peer;
  let token;
  let aliceUrl;
  let aliceId; // alice's account id in Fulmar's client API
  let fediId; // the Fedify actor's account id in Fulmar's client API
  let alicePost; // alice's status, as the client API returned it
  let fedifyFollow; // the Follow the Fedify actor sent alice
  const documentLoader = getDocumentLoader({ allowPrivateAddress: true });

  /** A Mastodon API call to Fulmar as alice; resolves { status, body }. */
  async function api(method, path, body) {
    const res = await fetch(`${fulmar.base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(T),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  }

  /** Fails with the servers' logs attached, which is what one needs to debug this. */
  function diagnostics() {
    return `\nFedify received: ${JSON.stringify(peer.received.map((a) => [a.constructor.name, a.id?.href]))}` +
      `\nFedify refused: ${JSON.stringify(peer.refused)}` +
      `\nFedify listener errors: ${JSON.stringify(peer.listenerErrors ?? [])}` +
      `\nFulmar log (tail):\n${fulmar.log.slice(-4000)}`;
  }

  before(async () => {
    fulmar = new Fulmar({ listenPort: await freePort() });
    aliceUrl = `${fulmar.base}/users/alice`;
    await fulmar.start();
    await fulmar.createUser("alice");
    const issued = await fulmar.run(["admin", "token", "alice"]);
    assert.equal(issued.code, 0, issued.stderr);
    token = issued.stdout.trim();
    const me = await api("GET", "/api/v1/accounts/verify_credentials");
    assert.equal(me.status, 200, JSON.stringify(me.body));
    aliceId = me.body.id;

    peer = new FedifyPeer(await freePort());
    await peer.start();
  });

  after(async () => {
    if (peer) await peer.stop();
    if (fulmar) await fulmar.cleanup();
  });

  test("Fedify's actor follows alice; Fulmar accepts", async () => {
    const ctx = peer.context();
    const alice = await within(T, "lookupObject(alice)", lookupObject(aliceUrl, {
      documentLoader,
      contextLoader: documentLoader,
    }));
    assert.ok(alice, "fedify could not fetch alice");
    const followId = new URL(`${peer.actorUrl}#follows/alice`);
    fedifyFollow = new Follow({ id: followId, actor: ctx.getActorUri(ACTOR), object: alice.id });
    await within(T, "sending the Follow", ctx.sendActivity(
      { identifier: ACTOR },
      alice,
      fedifyFollow,
    ));

    // Fedify verified the Accept's signature before handing it over; the Accept
    // names the Follow, embedded or by id.
    const accept = await until(T, "an Accept from Fulmar", () =>
      peer.find((a) => a instanceof Accept && a.objectId?.href === followId.href)
    ).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(accept.actorId?.href, aliceUrl);

    // alice's followers, through the client API, list the Fedify actor.
    const listed = await until(T, "the Fedify actor among alice's followers", async () => {
      const r = await api("GET", `/api/v1/accounts/${aliceId}/followers`);
      return r.status === 200 && r.body.find((a) => a.uri === peer.actorUrl);
    });
    assert.equal(listed.username, ACTOR);
    assert.equal(listed.acct, `${ACTOR}@127.0.0.1:${peer.port}`);
  });

  test("alice follows Fedify's actor; Fedify accepts and the follow takes", async () => {
    const q = encodeURIComponent(peer.actorUrl);
    const found = await api("GET", `/api/v2/search?resolve=true&type=accounts&q=${q}`);
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.equal(found.body.accounts.length, 1, JSON.stringify(found.body));
    fediId = found.body.accounts[0].id;
    assert.equal(found.body.accounts[0].uri, peer.actorUrl);

    const followed = await api("POST", `/api/v1/accounts/${fediId}/follow`, {});
    assert.equal(followed.status, 200, JSON.stringify(followed.body));
    // Pending until the peer's Accept arrives (it cannot have arrived yet: the
    // Follow leaves through the queue after this response).
    assert.equal(followed.body.requested, true, JSON.stringify(followed.body));

    const follow = await until(T, "alice's Follow at Fedify", () =>
      peer.find((a) => a instanceof Follow && a.actorId?.href === aliceUrl)
    ).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(follow.objectId?.href, peer.actorUrl);

    await until(T, "the relationship to become following", async () => {
      const r = await api("GET", `/api/v1/accounts/relationships?id[]=${fediId}`);
      return r.status === 200 && r.body[0]?.following === true && r.body[0]?.requested === false;
    }).catch((e) => assert.fail(e.message + diagnostics()));
  });

  test("alice posts; Fedify receives and verifies the Create", async () => {
    const posted = await api("POST", "/api/v1/statuses", {
      status: "Hello, Fedify!",
      visibility: "public",
    });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    alicePost = posted.body;
    const create = await until(T, "the Create at Fedify", () =>
      peer.find((a) => a instanceof Create && a.objectId?.href === posted.body.uri)
    ).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(create.actorId?.href, aliceUrl);
    const note = await create.getObject({ documentLoader, contextLoader: documentLoader });
    assert.ok(note instanceof Note, `a Note, got ${note?.constructor?.name}`);
    assert.equal(note.attributionId?.href, aliceUrl);
    assert.match(String(note.content), /Hello, Fedify!/);
    assert.ok(note.toIds.some((u) => u.href === PUBLIC_COLLECTION.href), "public");
  });

  test("Fedify's actor posts to its followers; the Note reaches alice's home timeline", async () => {
    const ctx = peer.context();
    const id = "first-post";
    const noteUrl = new URL(`${peer.actorUrl}/notes/${id}`);
    const note = new Note({
      id: noteUrl,
      attribution: ctx.getActorUri(ACTOR),
      content: "<p>Hello from Fedify</p>",
      published: Temporal.Now.instant(),
      to: PUBLIC_COLLECTION,
      cc: ctx.getFollowersUri(ACTOR),
      url: noteUrl,
    });
    peer.notes.set(id, note);
    assert.ok(peer.followers.has(aliceUrl), "alice is among the peer's followers");
    await within(T, "sending the Create", ctx.sendActivity(
      { identifier: ACTOR },
      "followers",
      new Create({
        id: new URL(`${noteUrl.href}/activity`),
        actor: ctx.getActorUri(ACTOR),
        to: PUBLIC_COLLECTION,
        cc: ctx.getFollowersUri(ACTOR),
        object: note,
      }),
      { preferSharedInbox: true },
    ));

    const status = await until(T, "the Note in alice's home timeline", async () => {
      const r = await api("GET", "/api/v1/timelines/home?limit=40");
      return r.status === 200 && r.body.find((s) => s.uri === noteUrl.href);
    }).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(status.account.uri, peer.actorUrl);
    assert.equal(status.visibility, "public");
    assert.match(status.content, /Hello from Fedify/);
  });

  test("Fedify's actor likes alice's post; Fulmar counts it and notifies her", async () => {
    assert.ok(alicePost, "needs alice's post");
    const ctx = peer.context();
    const alice = await lookupObject(aliceUrl, { documentLoader, contextLoader: documentLoader });
    await within(T, "sending the Like", ctx.sendActivity(
      { identifier: ACTOR },
      alice,
      new Like({
        id: new URL(`${peer.actorUrl}#likes/1`),
        actor: ctx.getActorUri(ACTOR),
        object: new URL(alicePost.uri),
      }),
    ));
    const status = await until(T, "favourites_count 1", async () => {
      const r = await api("GET", `/api/v1/statuses/${alicePost.id}`);
      return r.status === 200 && r.body.favourites_count === 1 && r.body;
    }).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(status.id, alicePost.id);
    const n = await until(T, "a favourite notification", async () => {
      const r = await api("GET", "/api/v1/notifications?types[]=favourite");
      return r.status === 200 && r.body.find((x) => x.account.uri === peer.actorUrl);
    });
    assert.equal(n.status.id, alicePost.id);
  });

  test("unfollowing both ways: Undo{Follow} each way, the Follow embedded", async () => {
    assert.ok(fediId && fedifyFollow, "needs both follows");
    // alice unfollows: Fedify receives an Undo whose object is the whole Follow.
    const r = await api("POST", `/api/v1/accounts/${fediId}/unfollow`, {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.following, false);
    const undo = await until(T, "alice's Undo at Fedify", () =>
      peer.find((a) => a instanceof Undo && a.actorId?.href === aliceUrl)
    ).catch((e) => assert.fail(e.message + diagnostics()));
    const undone = await undo.getObject({ documentLoader, contextLoader: documentLoader });
    assert.ok(undone instanceof Follow, `the Follow embedded, got ${undone?.constructor?.name}`);
    assert.equal(undone.actorId?.href, aliceUrl);
    assert.equal(undone.objectId?.href, peer.actorUrl);
    assert.equal(peer.followers.has(aliceUrl), false, "the peer dropped alice");

    // The Fedify actor unfollows alice: she no longer lists it among her followers.
    const ctx = peer.context();
    const alice = await lookupObject(aliceUrl, { documentLoader, contextLoader: documentLoader });
    await within(T, "sending the Undo", ctx.sendActivity(
      { identifier: ACTOR },
      alice,
      new Undo({
        id: new URL(`${peer.actorUrl}#follows/alice/undo`),
        actor: ctx.getActorUri(ACTOR),
        object: fedifyFollow,
      }),
    ));
    await until(T, "the Fedify actor gone from alice's followers", async () => {
      const f = await api("GET", `/api/v1/accounts/${aliceId}/followers`);
      return f.status === 200 && !f.body.some((a) => a.uri === peer.actorUrl);
    }).catch((e) => assert.fail(e.message + diagnostics()));
  });

  test("Fedify refuses an unsigned delivery, so what it received was verified", async () => {
    const res = await fetch(`${peer.origin}/inbox`, {
      method: "POST",
      headers: { "Content-Type": "application/activity+json" },
      body: JSON.stringify({
        "@context": "https://www.w3.org/ns/activitystreams",
        id: `${aliceUrl}#forged`,
        type: "Create",
        actor: aliceUrl,
        object: { id: `${aliceUrl}/statuses/1`, type: "Note", content: "forged" },
      }),
      signal: AbortSignal.timeout(T),
    });
    assert.equal(res.status, 401);
    assert.equal(peer.find((a) => a.id?.href === `${aliceUrl}#forged`), null);
  });
});
