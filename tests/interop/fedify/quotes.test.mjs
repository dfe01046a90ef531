// Interop: quote posts (FEP-044f, Mastodon 4.5's consent model) between Fulmar and a
// real @fedify/fedify 1.5.9 server, both on loopback over plain http.
//
// Fedify 1.5 has no vocabulary class for QuoteRequest or QuoteAuthorization, so the
// peer posts those as plain JSON-LD signed with Fedify's own `signRequest`, checks
// the QuoteRequests it receives with Fedify's `verifyRequest`, and serves its
// QuoteAuthorization as a plain document. Everything else (the quoting Note with
// `quoteUrl`, the Accept Fulmar sends) goes through Fedify's own code.
//
//  1. Fedify's actor quotes alice's post and sends a QuoteRequest: Fulmar answers
//     with a signed Accept (checked with Fedify's verifyRequest: Fedify 1.5's inbox
//     cannot parse an Accept that embeds a QuoteRequest, as Mastodon 4.5 sends it),
//     whose `result` is a QuoteAuthorization that anyone can fetch; alice lists the
//     quote.
//  2. alice quotes a post of Fedify's actor: the peer receives a signed QuoteRequest,
//     answers with an Accept naming its QuoteAuthorization, and the quote becomes
//     accepted in Fulmar.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Note, PUBLIC_COLLECTION } from "@fedify/fedify";
import { Temporal } from "@js-temporal/polyfill";

import { ACTOR, FedifyPeer } from "./fedify-peer.mjs";
import { freePort, Fulmar } from "./fulmar.mjs";

const T = 15_000; // bound on every call and every wait
const AS = "https://www.w3.org/ns/activitystreams";
const QUOTE_CONTEXT = [AS, {
  QuoteRequest: "https://w3id.org/fep/044f#QuoteRequest",
  QuoteAuthorization: "https://w3id.org/fep/044f#QuoteAuthorization",
  gts: "https://gotosocial.org/ns#",
  interactingObject: { "@id": "gts:interactingObject", "@type": "@id" },
  interactionTarget: { "@id": "gts:interactionTarget", "@type": "@id" },
}];

async function until(ms, what, probe) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

describe("quote posts between Fulmar and a Fedify server", { timeout: 180_000 }, () => {
  let fulmar;
  let peer;
  let token;
  let aliceUrl;

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

  function diagnostics() {
    return `\nFedify received: ${JSON.stringify(peer.received.map((a) => [a.constructor.name, a.id?.href]))}` +
      `\nraw: ${JSON.stringify(peer.rawReceived.map((a) => [a.type, a.id]))}` +
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
    peer = new FedifyPeer(await freePort());
    await peer.start();
  });

  after(async () => {
    if (peer) await peer.stop();
    if (fulmar) await fulmar.cleanup();
  });

  test("Fedify's actor asks to quote alice's post; Fulmar accepts with a fetchable authorization", async () => {
    const posted = await api("POST", "/api/v1/statuses", { status: "Quote me, Fedify" });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    const ctx = peer.context();
    const id = "quoting-1";
    const noteUrl = new URL(`${peer.actorUrl}/notes/${id}`);
    peer.notes.set(id, new Note({
      id: noteUrl,
      attribution: ctx.getActorUri(ACTOR),
      content: "<p>Look at this</p>",
      published: Temporal.Now.instant(),
      to: PUBLIC_COLLECTION,
      url: noteUrl,
      quoteUrl: new URL(posted.body.uri),
    }));
    const requestId = `${peer.actorUrl}#quote-requests/1`;
    const res = await peer.postSigned(`${aliceUrl}/inbox`, {
      "@context": QUOTE_CONTEXT,
      id: requestId,
      type: "QuoteRequest",
      actor: peer.actorUrl,
      object: posted.body.uri,
      instrument: noteUrl.href,
    });
    assert.equal(res.status, 202, await res.text());

    // The Accept's signature is checked with Fedify's verifyRequest (its inbox
    // cannot parse an Accept embedding a QuoteRequest, a type Fedify 1.5 lacks).
    const { body: raw, keyId } = await until(T, "an Accept of the QuoteRequest", () =>
      peer.quoteAnswers.find((a) => a.body.type === "Accept" && a.body.object?.id === requestId)
    ).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(raw.actor, aliceUrl);
    assert.equal(keyId, `${aliceUrl}#main-key`);
    assert.equal(raw.object.instrument, noteUrl.href);
    assert.ok(raw.result, `the Accept has a result: ${JSON.stringify(raw)}`);

    const doc = await fetch(raw.result, {
      headers: { Accept: "application/activity+json" },
      signal: AbortSignal.timeout(T),
    });
    assert.equal(doc.status, 200);
    assert.match(doc.headers.get("content-type"), /application\/activity\+json/);
    const auth = await doc.json();
    assert.equal(auth.type, "QuoteAuthorization");
    assert.equal(auth.id, raw.result);
    assert.equal(auth.attributedTo, aliceUrl);
    assert.equal(auth.interactingObject, noteUrl.href);
    assert.equal(auth.interactionTarget, posted.body.uri);

    const quotes = await until(T, "the quote in alice's list", async () => {
      const r = await api("GET", `/api/v1/statuses/${posted.body.id}/quotes`);
      return r.status === 200 && r.body.length === 1 && r.body;
    }).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(quotes[0].uri, noteUrl.href);
    assert.equal(quotes[0].quote.state, "accepted");
  });

  test("alice quotes a Fedify post; Fedify gets the QuoteRequest and accepts it", async () => {
    const ctx = peer.context();
    const id = "quoted-1";
    const noteUrl = new URL(`${peer.actorUrl}/notes/${id}`);
    peer.notes.set(id, new Note({
      id: noteUrl,
      attribution: ctx.getActorUri(ACTOR),
      content: "<p>Quote me, Fulmar</p>",
      published: Temporal.Now.instant(),
      to: PUBLIC_COLLECTION,
      url: noteUrl,
    }));
    const q = encodeURIComponent(noteUrl.href);
    const found = await api("GET", `/api/v2/search?resolve=true&type=statuses&q=${q}`);
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.equal(found.body.statuses.length, 1, JSON.stringify(found.body));
    const quoted = found.body.statuses[0];
    const posted = await api("POST", "/api/v1/statuses", {
      status: "So true",
      quoted_status_id: quoted.id,
    });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    assert.equal(posted.body.quote.state, "pending");

    const { body: request, keyId } = await until(T, "a QuoteRequest at Fedify", () =>
      peer.quoteRequests.find((r) => r.body.object === noteUrl.href)
    ).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(request.actor, aliceUrl);
    assert.equal(keyId, `${aliceUrl}#main-key`);
    const instrument = typeof request.instrument === "string" ? request.instrument : request.instrument.id;
    assert.equal(instrument, posted.body.uri);

    const authPath = "/quote_authorizations/1";
    peer.rawDocs.set(authPath, {
      "@context": QUOTE_CONTEXT,
      id: `${peer.origin}${authPath}`,
      type: "QuoteAuthorization",
      attributedTo: peer.actorUrl,
      interactingObject: posted.body.uri,
      interactionTarget: noteUrl.href,
    });
    const res = await peer.postSigned(`${aliceUrl}/inbox`, {
      "@context": QUOTE_CONTEXT,
      id: `${peer.actorUrl}#quote-accepts/1`,
      type: "Accept",
      actor: peer.actorUrl,
      object: request.id,
      result: `${peer.origin}${authPath}`,
    });
    assert.equal(res.status, 202, await res.text());

    const status = await until(T, "the quote accepted in Fulmar", async () => {
      const r = await api("GET", `/api/v1/statuses/${posted.body.id}`);
      return r.status === 200 && r.body.quote?.state === "accepted" && r.body;
    }).catch((e) => assert.fail(e.message + diagnostics()));
    assert.equal(status.quote.quoted_status.uri, noteUrl.href);
  });
});
