// A real ActivityPub server built with @fedify/fedify, for the federation interop
// test: one actor, `fedi`, with an RSA key, a personal and a shared inbox, a
// followers collection and fetchable notes, served over plain http on 127.0.0.1.
//
// Fedify does the protocol work itself: it verifies the HTTP signature (and the key
// owner) of every POST to its inboxes before a listener sees the activity, and it
// signs every activity it sends. What the listeners receive is recorded, so that the
// test can wait for it. The peer accepts every Follow of `fedi` at once, as an
// unlocked account on any server does.

import http from "node:http";

import {
  Accept,
  Create,
  createFederation,
  Endpoints,
  Follow,
  generateCryptoKeyPair,
  getDocumentLoader,
  MemoryKvStore,
  Note,
  Person,
  Reject,
  signRequest,
  Undo,
  verifyRequest,
} from "@fedify/fedify";

export const ACTOR = "fedi";

/** Turns a Node request into a fetch `Request` (the body read in full, 1 MiB at most). */
async function toRequest(req, origin) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1 << 20) throw new Error("request body over 1 MiB");
    chunks.push(chunk);
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(new URL(req.url, origin), {
    method: req.method,
    headers,
    body: hasBody ? Buffer.concat(chunks) : undefined,
  });
}

export class FedifyPeer {
  /** `port`: where to listen on 127.0.0.1; the peer calls itself `127.0.0.1:PORT`. */
  constructor(port) {
    this.port = port;
    this.origin = `http://127.0.0.1:${port}`;
    this.actorUrl = `${this.origin}/users/${ACTOR}`;
    /** Every activity the inbox listeners were given (already verified by Fedify). */
    this.received = [];
    /** Requests Fedify answered with an error status: [method, path, status]. */
    this.refused = [];
    /** Followers of `fedi`, by actor id: the Actor objects Fedify fetched. */
    this.followers = new Map();
    this.notes = new Map();
    /** Documents served as they are (by path), for types Fedify 1.5 has no class for
     *  (FEP-044f's QuoteAuthorization). */
    this.rawDocs = new Map();
    /** QuoteRequests received, signature verified (Fedify 1.5 has no QuoteRequest
     *  class, so its inbox would refuse them: they are checked here with its
     *  verifyRequest instead). */
    this.quoteRequests = [];
    /** Accepts and Rejects of QuoteRequests received, signature verified. */
    this.quoteAnswers = [];
    /** Every JSON body POSTed to the peer, as sent, before Fedify sees it. */
    this.rawReceived = [];
    this.server = null;
    this.keyPair = null;
    this.federation = null;
  }

  async start() {
    this.keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
    this.documentLoader = getDocumentLoader({ allowPrivateAddress: true });
    // allowPrivateAddress: Fulmar runs on loopback here; without it Fedify refuses to
    // fetch its actors and keys, or to deliver to its inboxes.
    const federation = createFederation({
      kv: new MemoryKvStore(),
      allowPrivateAddress: true,
    });
    this.federation = federation;

    federation
      .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
        if (identifier !== ACTOR) return null;
        const keys = await ctx.getActorKeyPairs(identifier);
        return new Person({
          id: ctx.getActorUri(identifier),
          preferredUsername: identifier,
          name: "Fedify peer",
          summary: "A test actor served by @fedify/fedify",
          url: ctx.getActorUri(identifier),
          inbox: ctx.getInboxUri(identifier),
          endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
          followers: ctx.getFollowersUri(identifier),
          manuallyApprovesFollowers: false,
          publicKey: keys[0].cryptographicKey,
        });
      })
      .setKeyPairsDispatcher((_ctx, identifier) =>
        identifier === ACTOR ? [this.keyPair] : []
      );

    federation.setFollowersDispatcher(
      "/users/{identifier}/followers",
      (_ctx, identifier) =>
        identifier === ACTOR ? { items: [...this.followers.values()] } : null,
    );

    federation.setObjectDispatcher(
      Note,
      "/users/{identifier}/notes/{id}",
      (_ctx, values) =>
        values.identifier === ACTOR ? this.notes.get(values.id) ?? null : null,
    );

    federation
      .setInboxListeners("/users/{identifier}/inbox", "/inbox")
      .on(Follow, async (ctx, follow) => {
        this.received.push(follow);
        if (follow.objectId?.href !== ctx.getActorUri(ACTOR).href) return;
        const follower = await follow.getActor(ctx);
        if (follower == null || follower.id == null) return;
        this.followers.set(follower.id.href, follower);
        await ctx.sendActivity(
          { identifier: ACTOR },
          follower,
          new Accept({
            id: new URL(`${ctx.getActorUri(ACTOR).href}#accepts/${this.received.length}`),
            actor: ctx.getActorUri(ACTOR),
            object: follow,
          }),
        );
      })
      .on(Accept, (_ctx, accept) => {
        this.received.push(accept);
      })
      .on(Reject, (_ctx, reject) => {
        this.received.push(reject);
      })
      .on(Create, (_ctx, create) => {
        this.received.push(create);
      })
      .on(Undo, (_ctx, undo) => {
        this.received.push(undo);
        if (undo.actorId) this.followers.delete(undo.actorId.href);
      })
      .onError((_ctx, error) => {
        this.listenerErrors = [...(this.listenerErrors ?? []), String(error)];
      });

    this.server = http.createServer(async (req, res) => {
      try {
        const request = await toRequest(req, this.origin);
        const path = new URL(request.url).pathname;
        if (request.method === "GET" && this.rawDocs.has(path)) {
          res.writeHead(200, { "content-type": "application/activity+json" });
          res.end(JSON.stringify(this.rawDocs.get(path)));
          return;
        }
        if (request.method === "POST") {
          let body = null;
          try {
            body = JSON.parse(await request.clone().text());
          } catch {
            body = null;
          }
          if (body) this.rawReceived.push(body);
          // Also the Accept or Reject of a QuoteRequest: Fedify 1.5's Accept class
          // cannot read an embedded object of a type it does not know (its inbox
          // answers 400), and Mastodon 4.5 embeds the QuoteRequest.
          const quoteAnswer = ["Accept", "Reject"].includes(body?.type) &&
            body?.object?.type === "QuoteRequest";
          if (body?.type === "QuoteRequest" || quoteAnswer) {
            const key = await verifyRequest(request.clone(), {
              documentLoader: this.documentLoader,
              contextLoader: this.documentLoader,
            });
            if (key == null) {
              this.refused.push([req.method, req.url, 401]);
              res.writeHead(401, { "content-type": "text/plain" });
              res.end("signature not verified");
              return;
            }
            (quoteAnswer ? this.quoteAnswers : this.quoteRequests)
              .push({ body, keyId: key.id?.href });
            res.writeHead(202);
            res.end();
            return;
          }
        }
        const response = await federation.fetch(request, {
          contextData: undefined,
          onNotFound: () => new Response("Not Found", { status: 404 }),
          onNotAcceptable: () => new Response("Not Acceptable", { status: 406 }),
        });
        if (response.status >= 400) {
          this.refused.push([req.method, req.url, response.status]);
        }
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
      } catch (error) {
        this.refused.push([req.method, req.url, 500]);
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(error));
      }
    });
    await new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, "127.0.0.1", resolve);
    });
  }

  /** A Fedify context for sending, as the peer's own origin. */
  context() {
    return this.federation.createContext(new URL(this.origin), undefined);
  }

  /** POSTs `activity` (plain JSON-LD) to `inbox`, signed by `fedi` with Fedify's own
   *  signRequest, for activities Fedify 1.5 has no vocabulary class for. */
  async postSigned(inbox, activity) {
    const [pair] = await this.context().getActorKeyPairs(ACTOR);
    const request = new Request(inbox, {
      method: "POST",
      headers: { "Content-Type": "application/activity+json" },
      body: JSON.stringify(activity),
    });
    const signed = await signRequest(request, pair.privateKey, pair.keyId);
    return await fetch(signed, { signal: AbortSignal.timeout(15_000) });
  }

  /** The first recorded activity for which `pred` holds, or null. */
  find(pred) {
    return this.received.find(pred) ?? null;
  }

  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
    this.server = null;
  }
}
