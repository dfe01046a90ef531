// Interop: @fedify/fedify (a real fediverse library, pinned in package.json)
// discovers a Fulmar server started with FULMAR_DEV_INSECURE=1 on loopback.
//
// Run with `./run` (or `node --test` here once `npm ci` has run). Environment:
//   FULMAR_BIN                   the binary (default target/release/fulmar, then target/debug/fulmar)
//   FULMAR_INTEROP_DATABASE_URL  a database for the server (default: SQLite in a temp dir)
//
// What fedify 1.5 can and cannot do against a plain-http server (checked in its
// source, node_modules/@fedify/fedify/esm/):
//  * Every fetch of a loopback or private address is refused unless
//    `allowPrivateAddress: true` is given (runtime/url.js `validatePublicUrl`
//    rejects the name "localhost" outright and any name resolving to 127/8, 10/8,
//    ...). `getDocumentLoader({ allowPrivateAddress: true })` and
//    `lookupWebFinger(..., { allowPrivateAddress: true })` take it; `lookupObject`
//    forwards it to its WebFinger step only, so it needs that document loader too.
//  * http:// URLs are fine everywhere: the document loader fetches whatever
//    scheme it is given, and `lookupWebFinger(url)` of an http(s) URL asks
//    `<that scheme>://<that host>/.well-known/webfinger?resource=<url>`.
//  * An `acct:` resource (and so a handle, `@alice@host`, given to
//    `lookupObject`) is always looked up at `https://<host>/.well-known/webfinger`
//    (webfinger/lookup.js: `let protocol = "https:"`, replaced only for http(s)
//    resources). There is no option to change it, and a redirect cannot help:
//    the first request is already a TLS handshake with a plain-http server, and
//    redirects to another scheme are refused anyway. So `acct:alice@localhost:PORT`
//    cannot be resolved over plain http; a test below pins that, and
//    acct-over-tls.test.mjs resolves the same handle when the same server is
//    reachable over https too.
//  * `getActorHandle()` returns "@alice@" for any actor whose host has a port:
//    its `normalizeActorHandle` passes "localhost:PORT" to node:url's
//    `domainToUnicode`, which returns "" for a name with a port. (It also calls
//    `lookupWebFinger` without `allowPrivateAddress`, so on loopback it never
//    asks WebFinger.) A fedify limitation, not checked here.
//  * `getNodeInfo()` uses plain `fetch` with no private-address check.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicKey } from "node:crypto";

import {
  Application,
  getDocumentLoader,
  getNodeInfo,
  isActor,
  lookupObject,
  lookupWebFinger,
  OrderedCollection,
  Person,
  traverseCollection,
} from "@fedify/fedify";
// Node 20 has no Temporal; fedify 1.5 returns dates as polyfill Temporal.Instants.
import { Temporal } from "@js-temporal/polyfill";

import { freePort, Fulmar, within } from "./fulmar.mjs";

const T = 15_000; // bound on every fedify call

const documentLoader = getDocumentLoader({ allowPrivateAddress: true });
const loaders = { documentLoader, contextLoader: documentLoader };

/** The JSON a plain client gets, for comparing with what fedify understood. */
async function getJson(url, accept = "application/activity+json") {
  const res = await fetch(url, { headers: { Accept: accept }, signal: AbortSignal.timeout(T) });
  assert.equal(res.status, 200, `GET ${url}`);
  return { type: res.headers.get("content-type"), body: await res.json() };
}

/** Asserts that a fedify CryptographicKey is the PEM key of the raw document. */
async function assertSameRsaKey(key, pem, what) {
  assert.ok(key.publicKey, `${what}: fedify parsed no public key`);
  assert.equal(key.publicKey.type, "public");
  assert.equal(key.publicKey.algorithm.name, "RSASSA-PKCS1-v1_5");
  assert.equal(key.publicKey.algorithm.modulusLength, 2048, `${what}: RSA-2048`);
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", key.publicKey));
  const fromPem = createPublicKey(pem).export({ type: "spki", format: "der" });
  assert.ok(spki.equals(fromPem), `${what}: fedify's key equals publicKeyPem`);
}

describe("fedify 1.5 discovers Fulmar over plain http", { timeout: 180_000 }, () => {
  let server;
  let base;
  let domain;
  let aliceUrl;
  let alice;

  before(async () => {
    const port = await freePort();
    server = new Fulmar({ listenPort: port });
    base = server.base;
    domain = server.domain;
    aliceUrl = `${base}/users/alice`;
    await server.start();
    await server.createUser("alice");
  });

  after(async () => {
    if (server) await server.cleanup();
  });

  test("lookupObject(actor URL) gives alice's Person", async () => {
    alice = await within(T, "lookupObject", lookupObject(aliceUrl, loaders));
    assert.ok(alice, "fedify could not fetch or parse the actor (null)");
    assert.ok(alice instanceof Person, `a Person, got ${alice.constructor.name}`);
    assert.ok(isActor(alice));
    assert.equal(alice.id?.href, aliceUrl);
    assert.equal(alice.preferredUsername, "alice");
    assert.equal(alice.inboxId?.href, `${aliceUrl}/inbox`);
    assert.equal(alice.outboxId?.href, `${aliceUrl}/outbox`);
    assert.equal(alice.followersId?.href, `${aliceUrl}/followers`);
    assert.equal(alice.followingId?.href, `${aliceUrl}/following`);
    assert.ok(alice.featuredId, "featured");
    assert.ok(alice.featuredTagsId, "featuredTags");
    assert.equal(alice.endpoints?.sharedInbox?.href, `${base}/inbox`);
    assert.equal(alice.manuallyApprovesFollowers, false);
    assert.equal(alice.discoverable, true);
    assert.equal(alice.indexable, true);
    assert.equal(alice.memorial, false);
    const url = alice.url instanceof URL ? alice.url : alice.url?.href; // URL or Link
    assert.equal(url?.href, `${base}/@alice`, "url is the profile page");
    // published: a date fedify parsed, not in the future, at most a day old
    // (Mastodon rounds it down to midnight UTC).
    assert.ok(alice.published instanceof Temporal.Instant, "published parsed as an Instant");
    const age = Temporal.Now.instant().since(alice.published).total("hours");
    assert.ok(age >= 0 && age <= 24 + 1, `published ${alice.published} is recent`);
    // every http(s) URL fedify saw is http:// on our domain (dev mode)
    for (const u of [alice.id, alice.inboxId, alice.outboxId, alice.followersId,
      alice.followingId, alice.featuredId, alice.featuredTagsId, alice.publicKeyId]) {
      assert.equal(u.protocol, "http:", u.href);
      assert.equal(u.host, domain, u.href);
    }
  });

  test("alice's publicKey: owner is the actor, key parses and matches the PEM", async () => {
    assert.ok(alice, "needs the actor");
    assert.equal(alice.publicKeyId?.href, `${aliceUrl}#main-key`);
    const key = await within(T, "getPublicKey", alice.getPublicKey(loaders));
    assert.ok(key, "fedify found no publicKey");
    assert.equal(key.id?.href, `${aliceUrl}#main-key`);
    assert.equal(key.ownerId?.href, alice.id.href, "publicKey.owner == id");
    const raw = await getJson(aliceUrl);
    assert.match(raw.type, /^application\/activity\+json/);
    await assertSameRsaKey(key, raw.body.publicKey.publicKeyPem, "alice");
  });

  test("alice's collections are (empty) OrderedCollections fedify can page through", async () => {
    assert.ok(alice, "needs the actor");
    for (const [name, get] of [
      ["outbox", (o) => alice.getOutbox(o)],
      ["followers", (o) => alice.getFollowers(o)],
      ["following", (o) => alice.getFollowing(o)],
      ["featured", (o) => alice.getFeatured(o)],
    ]) {
      const c = await within(T, `get ${name}`, get(loaders));
      assert.ok(c instanceof OrderedCollection, `${name}: OrderedCollection, got ${c?.constructor.name}`);
      assert.equal(c.totalItems, 0, `${name}: totalItems`);
      const items = await within(T, `traverse ${name}`, (async () => {
        const out = [];
        for await (const item of traverseCollection(c, loaders)) out.push(item);
        return out;
      })());
      assert.deepEqual(items, [], `${name}: no items`);
    }
  });

  test("lookupObject(profile page URL) finds the same actor", async () => {
    const viaProfile = await within(T, "lookupObject profile", lookupObject(`${base}/@alice`, loaders));
    assert.ok(viaProfile instanceof Person, "the profile URL leads fedify to the actor");
    assert.equal(viaProfile.id?.href, aliceUrl);
  });

  test("lookupWebFinger(actor URL) over http: subject acct:alice@host, self link, aliases", async () => {
    const jrd = await within(T, "lookupWebFinger",
      lookupWebFinger(aliceUrl, { allowPrivateAddress: true }));
    assert.ok(jrd, "fedify got no JRD");
    assert.equal(jrd.subject, `acct:alice@${domain}`);
    assert.ok(jrd.aliases?.includes(aliceUrl), "aliases include the actor URL");
    const self = jrd.links.filter((l) => l.rel === "self");
    assert.equal(self.length, 1);
    // lookupObject accepts exactly these two types for `self`
    assert.equal(self[0].type, "application/activity+json");
    assert.equal(self[0].href, aliceUrl);
    const profile = jrd.links.find((l) => l.rel === "http://webfinger.net/rel/profile-page");
    assert.equal(profile?.href, `${base}/@alice`);
    const subscribe = jrd.links.find((l) => l.rel === "http://ostatus.org/schema/1.0/subscribe");
    assert.equal(subscribe?.template, `${base}/authorize_interaction?uri={uri}`);
    // Mastodon's round trip (acct -> the same actor) cannot go through fedify over
    // http (see the top of this file); a plain client gets the same document.
    const acct = await getJson(
      `${base}/.well-known/webfinger?resource=${encodeURIComponent(jrd.subject)}`,
      "application/jrd+json",
    );
    assert.deepEqual(acct.body, jrd, "acct: and actor-URL WebFinger agree");
  });

  test("instance actor: linked from NodeInfo (FEP-2677), an Application with a key", async () => {
    const wk = await getJson(`${base}/.well-known/nodeinfo`, "application/json");
    const link = wk.body.links.find((l) => l.rel === "https://www.w3.org/ns/activitystreams#Application");
    assert.equal(link?.href, `${base}/actor`, "FEP-2677 link to /actor");
    const instance = await within(T, "lookupObject /actor", lookupObject(link.href, loaders));
    assert.ok(instance instanceof Application, `an Application, got ${instance?.constructor.name}`);
    assert.equal(instance.id?.href, `${base}/actor`);
    assert.ok(instance.inboxId, "inbox");
    assert.ok(instance.outboxId, "outbox");
    const key = await within(T, "instance getPublicKey", instance.getPublicKey(loaders));
    assert.ok(key, "instance actor has a publicKey");
    assert.equal(key.ownerId?.href, instance.id.href, "publicKey.owner == id");
    const raw = await getJson(`${base}/actor`);
    await assertSameRsaKey(key, raw.body.publicKey.publicKeyPem, "instance actor");
    const pemAlice = (await getJson(`${base}/users/alice`)).body.publicKey.publicKeyPem;
    assert.notEqual(raw.body.publicKey.publicKeyPem, pemAlice, "its own key");
    // WebFinger by its URL names it acct:DOMAIN@DOMAIN
    const jrd = await within(T, "lookupWebFinger /actor",
      lookupWebFinger(`${base}/actor`, { allowPrivateAddress: true }));
    assert.equal(jrd?.subject, `acct:${domain}@${domain}`);
    assert.ok(jrd.links.some((l) => l.rel === "self" && l.href === `${base}/actor`));
  });

  // WebFinger names the instance actor acct:localhost:PORT@localhost:PORT, and that
  // resource must lead back to /actor. Checked with a plain fetch because fedify
  // cannot send an acct: resource over http.
  test("instance actor WebFinger round trip: its own subject resolves back to /actor", async () => {
    const subject = `acct:${domain}@${domain}`;
    const res = await fetch(
      `${base}/.well-known/webfinger?resource=${encodeURIComponent(subject)}`,
      { headers: { Accept: "application/jrd+json" }, signal: AbortSignal.timeout(T) },
    );
    const body = await res.text();
    assert.equal(res.status, 200, `GET webfinger?resource=${subject}: ${res.status} ${body}`);
    const jrd = JSON.parse(body);
    assert.equal(jrd.subject, subject);
    assert.ok(jrd.links.some((l) => l.rel === "self" && l.href === `${base}/actor`));
  });

  test("getNodeInfo: strict parse, software fulmar, activitypub, one user", async () => {
    // Follows /.well-known/nodeinfo to the first 2.0/2.1 link.
    const info = await within(T, "getNodeInfo", getNodeInfo(base));
    assert.ok(info, "fedify's strict parser rejected the NodeInfo document (or fetch failed)");
    assert.equal(info.software.name, "fulmar");
    assert.equal(typeof info.software.version.major, "number", "version is semver");
    assert.deepEqual(info.protocols, ["activitypub"]);
    assert.equal(typeof info.openRegistrations, "boolean");
    assert.ok(info.usage.users.total >= 1, "alice is counted");
    assert.equal(info.usage.localPosts, 0);
    for (const v of ["2.0", "2.1"]) {
      const direct = await within(T, `getNodeInfo ${v}`,
        getNodeInfo(`${base}/nodeinfo/${v}`, { direct: true }));
      assert.ok(direct, `strict parse of /nodeinfo/${v}`);
      assert.equal(direct.software.name, "fulmar");
      const raw = await getJson(`${base}/nodeinfo/${v}`, "application/json");
      assert.equal(raw.body.version, v);
    }
  });

  test("pinned limitation: fedify 1.5 resolves acct: handles over https only", async () => {
    // If this starts to pass with a newer fedify, update the comment at the top,
    // README.md, and turn it into a positive check.
    const jrd = await within(T, "lookupWebFinger acct",
      lookupWebFinger(`acct:alice@${domain}`, { allowPrivateAddress: true }));
    assert.equal(jrd, null, "fedify asked https://, which a plain-http server cannot answer");
    const actor = await within(T, "lookupObject handle",
      lookupObject(`@alice@${domain}`, { ...loaders, allowPrivateAddress: true }));
    assert.equal(actor, null);
  });

  test("SIGTERM: the server exits 0", async () => {
    const { code, signal } = await server.stop();
    assert.equal(signal, null, `killed by ${signal}:\n${server.log}`);
    assert.equal(code, 0, `exit code:\n${server.log}`);
  });
});
