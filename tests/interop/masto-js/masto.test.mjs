// Interop: masto.js 7 (the Mastodon API client for JavaScript, pinned in
// package-lock.json; 7 is the newest line that runs on Node 20) drives a running
// Fulmar: register an app, sign in through the HTML OAuth pages with PKCE, post,
// reply, favourite, reblog, follow, read home and notifications, and page with
// masto's paginator, which follows the Link header's URLs as they are.
//
// Run with `./run` (or `node --test` here once `npm ci` has run). Environment:
//   FULMAR_BIN                   the binary (default $CARGO_TARGET_DIR/release/fulmar,
//                                then target/release/fulmar, then target/debug/fulmar)
//   FULMAR_INTEROP_DATABASE_URL  a database for the server (default: SQLite in a temp dir)
//
// What masto.js 7 does on the wire (node_modules/masto/dist/esm/adapters/):
//  * Every body is JSON except media, account registration and
//    update_credentials (multipart): `POST /api/v1/apps` and `POST /oauth/token` send
//    JSON. Keys are turned to snake_case going out and camelCase coming in.
//  * Query arrays go out Rails style: `types[]=mention`.
//  * The paginator (`list()`) requests the path and query of the Link header's
//    `next` (or `prev` after `setDirection("prev")`) as they are, and stops when a
//    response has no such link; its last page may be empty.
//  * An error response must be JSON: masto reads `error` and `error_description`
//    from it (MastoHttpError.message and .description), and throws
//    MastoUnexpectedError for any other content type.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { createOAuthAPIClient, createRestAPIClient, MastoHttpError } from "masto";

import { authorize, csrfField, FlowStopped, pkcePair } from "./browser.mjs";
import { freePort, Fulmar, PASSWORD } from "./fulmar.mjs";

const TIMEOUT = 30_000; // ms, bound on every masto.js request
const MAX_PAGES = 40; // bound on every paging loop
const SCOPES = "read write follow push";
const ALICE_REDIRECT = "https://client.example/fulmar-interop/callback";
const BOB_REDIRECT = "org.example.fulmarinterop:/oauth-callback";

const isId = (v) => typeof v === "string" && /^[0-9]+$/.test(v);
/** Mastodon IDs sort by (length, lexical); newest first means descending. */
const newerFirst = (a, b) => b.length - a.length || (a < b ? 1 : a > b ? -1 : 0);
const ids = (list) => list.map((x) => x.id);

async function rejectsWith(promise, statusCode, what) {
  // Promise.resolve: a paginator is a thenable, not a Promise.
  await assert.rejects(Promise.resolve(promise), (e) => {
    assert.ok(e instanceof MastoHttpError, `${what}: expected a MastoHttpError, got ${e}`);
    assert.equal(e.statusCode, statusCode, `${what}: ${e.message}`);
    return true;
  });
}

describe("masto.js 7 against Fulmar", { timeout: 300_000 }, () => {
  let server;
  let base;
  let users; // name -> username
  let app; // the registered application (camelCase keys)
  let oauth; // masto's OAuth client
  let anon; // a REST client without a token
  let alice;
  let bob;
  let aliceToken;
  let aliceId;
  let bobId;
  const s = {}; // statuses made along the way

  /** The browser flow and masto's token request; resolves { token, result }. */
  async function signIn(login, redirectUri, { pkce = true, scope = SCOPES, client = app } = {}) {
    const state = randomBytes(12).toString("base64url");
    const { verifier, challenge } = pkcePair();
    const url = new URL("/oauth/authorize", base);
    url.search = new URLSearchParams({
      client_id: client.clientId,
      response_type: "code",
      redirect_uri: redirectUri,
      scope,
      state,
      ...(pkce ? { code_challenge: challenge, code_challenge_method: "S256" } : {}),
    });
    const result = await authorize(url.href, login, PASSWORD, redirectUri);
    assert.equal(result.query.state, state, `state echoed in ${result.location}`);
    assert.ok(result.query.code, `a code in ${result.location}`);
    const token = await oauth.token.create({
      grantType: "authorization_code",
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      redirectUri,
      code: result.query.code,
      scope,
      ...(pkce ? { codeVerifier: verifier } : {}),
    });
    return { token, result, verifier };
  }

  const rest = (accessToken) => createRestAPIClient({ url: base, accessToken, timeout: TIMEOUT });

  before(async () => {
    server = new Fulmar({ listenPort: await freePort() });
    base = server.base;
    await server.start();
    // A shared external database keeps earlier runs' users and posts: fresh names
    // keep the assertions about timelines and notifications exact.
    const suffix = process.env.FULMAR_INTEROP_DATABASE_URL
      ? "_" + randomBytes(3).toString("hex")
      : "";
    users = { alice: "alice" + suffix, bob: "bob" + suffix };
    for (const name of Object.values(users)) await server.createUser(name);
    anon = rest(undefined);
    oauth = createOAuthAPIClient({ url: base, timeout: TIMEOUT });
  });

  after(async () => {
    try {
      if (server?.child) {
        const { code, signal } = await server.stop();
        assert.equal(code, 0, `fulmar serve exited ${code} (${signal}) after SIGTERM`);
      }
    } finally {
      await server?.cleanup();
    }
  });

  // --- the instance -----------------------------------------------------------------

  test("v1 and v2 instance", async () => {
    const v2 = await anon.v2.instance.fetch();
    assert.equal(v2.domain, server.domain);
    assert.match(v2.version, /^4\.\d+\.\d+ \(compatible; Fulmar \d+\.\d+\.\d+.*\)$/);
    // api_versions came with Mastodon 4.3 (mastodon: 2); an older claimed version
    // may honestly say 0, but the key must be there.
    assert.equal(typeof v2.apiVersions?.mastodon, "number", "api_versions.mastodon");
    const [major, minor] = v2.version.split(".").map(Number);
    if (major > 4 || (major === 4 && minor >= 3)) assert.ok(v2.apiVersions.mastodon >= 2);
    assert.match(v2.configuration.urls.streaming, /^wss?:\/\//);
    assert.ok(v2.configuration.statuses.maxCharacters >= 500);
    assert.ok("publicKey" in v2.configuration.vapid);
    assert.ok("email" in v2.contact);
    const v1 = await anon.v1.instance.fetch();
    assert.equal(v1.uri, server.domain);
    assert.ok(v1.stats.userCount >= 2);
  });

  test("OAuth server metadata lists PKCE S256", async () => {
    const res = await fetch(`${base}/.well-known/oauth-authorization-server`, {
      signal: AbortSignal.timeout(TIMEOUT),
    });
    assert.equal(res.status, 200);
    const meta = await res.json();
    assert.equal(meta.authorization_endpoint, `${base}/oauth/authorize`);
    assert.equal(meta.token_endpoint, `${base}/oauth/token`);
    assert.ok(meta.code_challenge_methods_supported.includes("S256"));
    assert.ok(meta.grant_types_supported.includes("authorization_code"));
  });

  // --- registering and signing in -----------------------------------------------------

  test("register an app (JSON body)", async () => {
    app = await anon.v1.apps.create({
      clientName: "Fulmar interop (masto.js)",
      redirectUris: [ALICE_REDIRECT, BOB_REDIRECT],
      scopes: SCOPES,
      website: "https://client.example/",
    });
    assert.ok(app.clientId && typeof app.clientId === "string");
    assert.ok(app.clientSecret && typeof app.clientSecret === "string");
    assert.equal(app.name, "Fulmar interop (masto.js)");
    assert.ok("vapidKey" in app, "vapid_key (Elk reads it)");
  });

  test("alice signs in with the code flow and PKCE (token request as JSON)", async () => {
    assert.ok(app, "needs the app");
    const { token, result } = await signIn(users.alice, ALICE_REDIRECT);
    assert.equal(token.tokenType, "Bearer");
    assert.deepEqual(token.scope.split(" ").sort(), SCOPES.split(" ").sort());
    const now = Date.now() / 1000;
    assert.ok(Math.abs(token.createdAt - now) < 600, `created_at in unix seconds: ${token.createdAt}`);
    assert.ok(result.forms.some(csrfField), "a hidden CSRF field in the sign-in form");
    aliceToken = token.accessToken;
    alice = rest(aliceToken);
    const me = await alice.v1.accounts.verifyCredentials();
    assert.equal(me.username, users.alice);
    assert.ok(isId(me.id));
    assert.ok(me.source, "verify_credentials has source");
    aliceId = me.id;
    const verified = await alice.v1.apps.verifyCredentials();
    assert.equal(verified.name, "Fulmar interop (masto.js)");
  });

  test("bob signs in with his email address", async () => {
    assert.ok(app, "needs the app");
    const { token } = await signIn(`${users.bob}@example.org`, BOB_REDIRECT);
    bob = rest(token.accessToken);
    const me = await bob.v1.accounts.verifyCredentials();
    assert.equal(me.username, users.bob);
    bobId = me.id;
  });

  test("a wrong PKCE verifier is invalid_grant", async () => {
    assert.ok(app, "needs the app");
    const { challenge } = pkcePair();
    const url = new URL("/oauth/authorize", base);
    url.search = new URLSearchParams({
      client_id: app.clientId,
      response_type: "code",
      redirect_uri: ALICE_REDIRECT,
      scope: SCOPES,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const result = await authorize(url.href, users.alice, PASSWORD, ALICE_REDIRECT);
    const attempt = oauth.token.create({
      grantType: "authorization_code",
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      redirectUri: ALICE_REDIRECT,
      code: result.query.code,
      codeVerifier: pkcePair().verifier,
    });
    await assert.rejects(attempt, (e) => {
      assert.ok(e instanceof MastoHttpError, String(e));
      assert.equal(e.statusCode, 400);
      assert.equal(e.message, "invalid_grant");
      return true;
    });
  });

  test("a wrong client secret is invalid_client", async () => {
    assert.ok(app, "needs the app");
    const attempt = oauth.token.create({
      grantType: "client_credentials",
      clientId: app.clientId,
      clientSecret: "not-the-secret",
      redirectUri: ALICE_REDIRECT,
    });
    await assert.rejects(attempt, (e) => {
      assert.ok(e instanceof MastoHttpError, String(e));
      assert.equal(e.statusCode, 401);
      assert.equal(e.message, "invalid_client");
      return true;
    });
  });

  test("client_credentials: an app token verifies the app, not a user", async () => {
    assert.ok(app, "needs the app");
    const token = await oauth.token.create({
      grantType: "client_credentials",
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      redirectUri: ALICE_REDIRECT,
      scope: "read",
    });
    assert.equal(token.scope, "read");
    const appClient = rest(token.accessToken);
    assert.equal((await appClient.v1.apps.verifyCredentials()).name, "Fulmar interop (masto.js)");
    await rejectsWith(appClient.v1.accounts.verifyCredentials(), 422, "no user behind the token");
    assert.ok(Array.isArray(await appClient.v1.timelines.public.list()));
  });

  test("a forged CSRF token gets no code", async () => {
    assert.ok(app, "needs the app");
    const url = new URL("/oauth/authorize", base);
    url.search = new URLSearchParams({
      client_id: app.clientId,
      response_type: "code",
      redirect_uri: ALICE_REDIRECT,
      scope: SCOPES,
    });
    let forged = 0;
    const tamper = (form, data) => {
      const name = csrfField(form);
      if (!name) return data;
      forged++;
      return data.map(([k, v]) => [k, k === name ? "forged" + v.slice(6) : v]);
    };
    try {
      const result = await authorize(url.href, users.alice, PASSWORD, ALICE_REDIRECT, {
        tamper,
        maxSteps: 3,
      });
      assert.ok(!("code" in result.query), `a code despite a forged token: ${result.location}`);
    } catch (e) {
      if (!(e instanceof FlowStopped)) throw e;
      assert.ok(e.status < 500, e.message);
    }
    assert.ok(forged > 0, "no form had a CSRF field to forge");
  });

  // --- posting and interacting ---------------------------------------------------------

  test("bob posts", async () => {
    assert.ok(bob, "needs bob signed in");
    const post = await bob.v1.statuses.create({
      status: "Hello from masto.js! #interop",
      visibility: "public",
      language: "en",
    });
    assert.ok(isId(post.id));
    assert.equal(post.account.id, bobId);
    assert.equal(post.visibility, "public");
    assert.match(post.content, /Hello from masto\.js!/);
    assert.deepEqual(post.tags.map((t) => t.name), ["interop"]);
    assert.equal(post.favouritesCount, 0);
    assert.deepEqual(post.mediaAttachments, []);
    s.bobPost = post;
  });

  test("a post the way Elk sends it (JSON with nulls and empty lists)", async () => {
    assert.ok(alice, "needs alice");
    const post = await alice.v1.statuses.create({
      status: "Posted like Elk",
      inReplyToId: null,
      mediaIds: [],
      sensitive: false,
      spoilerText: "",
      visibility: "unlisted",
      poll: null,
      language: "en",
    });
    assert.equal(post.visibility, "unlisted");
    assert.equal(post.spoilerText, "");
    assert.equal(post.inReplyToId, null);
  });

  test("alice replies", async () => {
    assert.ok(s.bobPost && alice, "needs bob's post");
    const reply = await alice.v1.statuses.create({
      status: `@${users.bob} nice to meet you`,
      inReplyToId: s.bobPost.id,
    });
    assert.equal(reply.inReplyToId, s.bobPost.id);
    assert.equal(reply.inReplyToAccountId, bobId);
    assert.deepEqual(reply.mentions.map((m) => m.id), [bobId]);
    assert.match(reply.content, /class="u-url mention"/);
    const ctx = await alice.v1.statuses.$select(s.bobPost.id).context.fetch();
    assert.ok(ids(ctx.descendants).includes(reply.id));
    s.aliceReply = reply;
  });

  test("bob answers alice (a reply in bob's own statuses)", async () => {
    assert.ok(s.aliceReply, "needs alice's reply");
    s.bobAnswer = await bob.v1.statuses.create({
      status: `@${users.alice} likewise`,
      inReplyToId: s.aliceReply.id,
    });
    assert.equal(s.bobAnswer.inReplyToId, s.aliceReply.id);
  });

  test("alice favourites bob's post", async () => {
    assert.ok(s.bobPost, "needs bob's post");
    const fav = await alice.v1.statuses.$select(s.bobPost.id).favourite();
    assert.equal(fav.id, s.bobPost.id);
    assert.equal(fav.favourited, true);
    assert.equal(fav.favouritesCount, 1);
  });

  test("alice reblogs bob's post", async () => {
    assert.ok(s.bobPost, "needs bob's post");
    const reblog = await alice.v1.statuses.$select(s.bobPost.id).reblog();
    assert.ok(isId(reblog.id));
    assert.notEqual(reblog.id, s.bobPost.id, "a reblog has its own ID");
    assert.equal(reblog.reblog.id, s.bobPost.id);
    assert.equal(reblog.reblog.reblogged, true);
    s.aliceReblog = reblog;
  });

  test("alice follows bob", async () => {
    assert.ok(alice && bobId, "needs alice and bob");
    const rel = await alice.v1.accounts.$select(bobId).follow();
    assert.equal(rel.id, bobId);
    assert.equal(rel.following, true);
    assert.equal(rel.requested, false);
    const [again] = await alice.v1.accounts.relationships.fetch({ id: [bobId] });
    assert.equal(again.following, true);
  });

  test("home timeline", async () => {
    assert.ok(s.bobPost, "needs bob's post");
    s.bobLater = await bob.v1.statuses.create({ status: "Posted after alice followed me" });
    const home = await alice.v1.timelines.home.list();
    const got = ids(home);
    assert.ok(got.includes(s.bobLater.id), "a followed account's new post is in home");
    assert.ok(got.includes(s.aliceReply.id), "one's own posts are in home");
    assert.deepEqual(got, [...got].sort(newerFirst), "newest first");
  });

  test("bob's notifications", async () => {
    assert.ok(s.aliceReblog, "needs the interactions");
    const notes = await bob.v1.notifications.list();
    const first = (type) => notes.find((n) => n.type === type);
    for (const type of ["favourite", "reblog", "mention", "follow"]) {
      assert.ok(first(type), `a ${type} notification in ${notes.map((n) => n.type)}`);
      assert.equal(first(type).account.id, aliceId);
    }
    assert.equal(first("favourite").status.id, s.bobPost.id);
    assert.equal(first("reblog").status.id, s.bobPost.id);
    assert.equal(first("mention").status.id, s.aliceReply.id);
    const mentions = await bob.v1.notifications.list({ types: ["mention"] });
    assert.ok(mentions.length > 0 && mentions.every((n) => n.type === "mention"));
    const others = await bob.v1.notifications.list({ excludeTypes: ["mention"] });
    assert.ok(others.length > 0 && others.every((n) => n.type !== "mention"));
  });

  // --- paging with the Link header ------------------------------------------------------

  /** Every page of a paginator, with for await; fails on a loop. */
  async function allPages(paginator) {
    const pages = [];
    for await (const page of paginator) {
      pages.push(page);
      if (pages.length > MAX_PAGES) assert.fail(`more than ${MAX_PAGES} pages: a Link loop?`);
    }
    return pages;
  }

  function checkPages(pages, reference, limit, what) {
    const got = pages.flat().map((x) => x.id);
    assert.equal(new Set(got).size, got.length, `${what}: duplicates across pages: ${got}`);
    assert.deepEqual(got, ids(reference), `${what}: the pages are the full list, in order`);
    const full = pages.filter((p) => p.length > 0);
    assert.ok(full.slice(0, -1).every((p) => p.length === limit), `${what}: page sizes`);
    assert.ok(pages.length - full.length <= 1, `${what}: at most one empty page, at the end`);
    if (pages.length > full.length) assert.equal(pages.at(-1).length, 0);
  }

  test("home timeline, page by page with for await", async () => {
    assert.ok(s.bobLater, "needs the home timeline");
    for (let i = 0; i < 7; i++) await bob.v1.statuses.create({ status: `Paging post ${i}` });
    const reference = await alice.v1.timelines.home.list({ limit: 40 });
    assert.ok(reference.length >= 10 && reference.length < 40, `${reference.length} statuses`);
    assert.deepEqual(ids(reference), ids(reference).sort(newerFirst));
    const pages = await allPages(alice.v1.timelines.home.list({ limit: 2 }));
    checkPages(pages, reference, 2, "home");
    s.homeReference = reference;
  });

  test("home timeline with .values() and back with setDirection('prev')", async () => {
    const reference = s.homeReference;
    assert.ok(reference, "needs the home reference");
    const it = alice.v1.timelines.home.list({ limit: 3 }).values();
    const forward = [];
    for (let i = 0; i <= MAX_PAGES; i++) {
      const { value, done } = await it.next();
      if (done) break;
      forward.push(value);
    }
    checkPages(forward, reference, 3, "home via values()");
    // Back up from the oldest status: pages of the statuses just above it, each
    // newest first, following rel="prev" (min_id) until an empty page has no link.
    const oldest = reference.at(-1);
    const back = await allPages(
      alice.v1.timelines.home.list({ limit: 3, minId: oldest.id }).setDirection("prev"),
    );
    const up = back.filter((p) => p.length > 0);
    assert.deepEqual(
      up.reverse().flat().map((x) => x.id),
      ids(reference.slice(0, -1)),
      "prev pages, newest page last, are everything above the oldest",
    );
  });

  test("the Link header keeps the other query parameters", async () => {
    assert.ok(s.bobAnswer, "needs bob's reply");
    const all = await alice.v1.accounts.$select(bobId).statuses.list({ limit: 40 });
    assert.ok(ids(all).includes(s.bobAnswer.id));
    const noReplies = all.filter((x) => !x.inReplyToId);
    const pages = await allPages(
      alice.v1.accounts.$select(bobId).statuses.list({ limit: 2, excludeReplies: true }),
    );
    checkPages(pages, noReplies, 2, "exclude_replies on every page");
    // The same for the local timeline's local=true, read straight from the header.
    const res = await fetch(`${base}/api/v1/timelines/public?local=true&limit=2`, {
      signal: AbortSignal.timeout(TIMEOUT),
    });
    assert.equal(res.status, 200);
    const link = res.headers.get("link") ?? "";
    const next = link.match(/<([^>]+)>;\s*rel="next"/);
    assert.ok(next, `a rel="next" link: ${link}`);
    const nextUrl = new URL(next[1]);
    assert.equal(nextUrl.searchParams.get("local"), "true", next[1]);
    assert.ok(nextUrl.searchParams.get("max_id"), next[1]);
  });

  test("notifications, page by page", async () => {
    const reference = await bob.v1.notifications.list({ limit: 80 });
    assert.ok(reference.length >= 4);
    const pages = await allPages(bob.v1.notifications.list({ limit: 2 }));
    checkPages(pages, reference, 2, "notifications");
    // types[] must survive into every Link URL, or page 2 would hold other types.
    const wanted = ["mention", "favourite"];
    const filtered = await allPages(bob.v1.notifications.list({ types: wanted, limit: 1 }));
    checkPages(filtered, reference.filter((n) => wanted.includes(n.type)), 1, "types[] paging");
  });

  // --- bad input -------------------------------------------------------------------------

  test("errors are JSON with the right status", async () => {
    assert.ok(alice, "needs alice");
    await rejectsWith(alice.v1.statuses.$select("123").fetch(), 404, "unknown status");
    await rejectsWith(alice.v1.accounts.$select("123").fetch(), 404, "unknown account");
    await rejectsWith(anon.v1.timelines.home.list(), 401, "home without a token");
    const { configuration } = await anon.v2.instance.fetch();
    const max = configuration.statuses.maxCharacters;
    await rejectsWith(
      alice.v1.statuses.create({ status: "x".repeat(max + 1) }),
      422,
      "an over-long status",
    );
    await rejectsWith(
      alice.v1.statuses.create({ status: "hi", visibility: "everyone" }),
      422,
      "an unknown visibility",
    );
    const secret = await bob.v1.statuses.create({ status: "just me", visibility: "direct" });
    await rejectsWith(alice.v1.statuses.$select(secret.id).fetch(), 404, "another's direct status");
    const malformed = await fetch(`${base}/api/v1/statuses`, {
      method: "POST",
      headers: { Authorization: `Bearer ${aliceToken}`, "Content-Type": "application/json" },
      body: '{"status": ',
      signal: AbortSignal.timeout(TIMEOUT),
    });
    assert.ok([400, 422].includes(malformed.status), `malformed JSON: ${malformed.status}`);
    assert.match(malformed.headers.get("content-type") ?? "", /application\/json/);
    assert.ok((await malformed.json()).error);
  });

  test("a token with only read scope cannot post (403)", async () => {
    assert.ok(app, "needs the app");
    const readApp = await anon.v1.apps.create({
      clientName: "Fulmar interop read-only (masto.js)",
      redirectUris: ALICE_REDIRECT,
      scopes: "read",
    });
    const { token } = await signIn(users.alice, ALICE_REDIRECT, { scope: "read", client: readApp });
    const reader = rest(token.accessToken);
    await reader.v1.timelines.home.list();
    await rejectsWith(reader.v1.statuses.create({ status: "nope" }), 403, "write without scope");
  });

  test("Idempotency-Key: a replay gives the same status", async () => {
    const key = randomBytes(8).toString("hex");
    const meta = { requestInit: { headers: { "Idempotency-Key": key } } };
    const a = await bob.v1.statuses.create({ status: "Once only" }, meta);
    const b = await bob.v1.statuses.create({ status: "Once only" }, meta);
    assert.equal(a.id, b.id);
  });
});
