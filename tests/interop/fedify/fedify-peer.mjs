// A real ActivityPub server built with @fedify/fedify, for the federation interop
// tests: an actor, `fedi`, with an RSA key, a personal and a shared inbox, a
// followers collection and fetchable notes, served over plain http on 127.0.0.1;
// and, for the backfill test, actors with an outbox of older posts (`addAuthor`),
// paged Fedify's own way (`?cursor=`), Mastodon's way (`?page=true`, `max_id`,
// `min_id`) or Misskey's way (`?page=true`, `until_id`, `since_id`), and a
// `featured` collection of pinned posts.
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
  Mention,
  MemoryKvStore,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  signRequest,
  Undo,
  verifyRequest,
} from "@fedify/fedify";
// Node 20 has no Temporal; fedify 1.5 takes dates as polyfill Temporal.Instants.
import { Temporal } from "@js-temporal/polyfill";

export const ACTOR = "fedi";

/** Items per outbox page, as Mastodon and Misskey serve them. */
export const PAGE_SIZE = 20;

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
    /** Authors with an outbox (`addAuthor`), by identifier. */
    this.authors = new Map();
    /** Every request served: [method, path and query, signed (has a Signature header)]. */
    this.requests = [];
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
        if (identifier !== ACTOR && !this.authors.has(identifier)) return null;
        const keys = await ctx.getActorKeyPairs(identifier);
        return new Person({
          id: ctx.getActorUri(identifier),
          preferredUsername: identifier,
          name: identifier === ACTOR ? "Fedify peer" : `Fedify author ${identifier}`,
          summary: "A test actor served by @fedify/fedify",
          url: ctx.getActorUri(identifier),
          inbox: ctx.getInboxUri(identifier),
          endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
          followers: ctx.getFollowersUri(identifier),
          outbox: ctx.getOutboxUri(identifier),
          featured: ctx.getFeaturedUri(identifier),
          manuallyApprovesFollowers: false,
          publicKey: keys[0].cryptographicKey,
        });
      })
      .setKeyPairsDispatcher((_ctx, identifier) =>
        identifier === ACTOR || this.authors.has(identifier) ? [this.keyPair] : []
      );

    // Fedify's own outbox paging: the collection links `?cursor=0`, each page the
    // next cursor. Authors paged the Mastodon or Misskey way are served by `outbox`
    // below before Fedify sees the request.
    federation
      .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier, cursor) => {
        const author = this.authors.get(identifier);
        if (identifier !== ACTOR && !author) return null;
        const all = author?.creates ?? [];
        if (cursor == null) return { items: all };
        const start = Number.parseInt(cursor, 10) || 0;
        const end = start + PAGE_SIZE;
        return { items: all.slice(start, end), nextCursor: end < all.length ? String(end) : null };
      })
      .setFirstCursor(() => "0")
      .setCounter((_ctx, identifier) => this.authors.get(identifier)?.creates.length ?? 0);

    federation.setFeaturedDispatcher("/users/{identifier}/featured", (_ctx, identifier) => {
      const author = this.authors.get(identifier);
      if (identifier !== ACTOR && !author) return null;
      return { items: author?.pinned ?? [] };
    });

    federation.setFollowersDispatcher(
      "/users/{identifier}/followers",
      (_ctx, identifier) =>
        identifier === ACTOR ? { items: [...this.followers.values()] } : null,
    );

    federation.setObjectDispatcher(
      Note,
      "/users/{identifier}/notes/{id}",
      (_ctx, values) =>
        values.identifier === ACTOR
          ? this.notes.get(values.id) ?? null
          : this.authors.get(values.identifier)?.notes.get(values.id) ?? null,
    );

    federation
      .setInboxListeners("/users/{identifier}/inbox", "/inbox")
      .on(Follow, async (ctx, follow) => {
        this.received.push(follow);
        if (follow.objectId == null) return;
        const target = ctx.parseUri(follow.objectId);
        if (target?.type !== "actor") return;
        const identifier = target.identifier;
        if (identifier !== ACTOR && !this.authors.has(identifier)) return;
        const follower = await follow.getActor(ctx);
        if (follower == null || follower.id == null) return;
        if (identifier === ACTOR) this.followers.set(follower.id.href, follower);
        await ctx.sendActivity(
          { identifier },
          follower,
          new Accept({
            id: new URL(`${ctx.getActorUri(identifier).href}#accepts/${this.received.length}`),
            actor: ctx.getActorUri(identifier),
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
        this.requests.push([req.method, req.url, "signature" in req.headers]);
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
        const custom = req.method === "GET" ? await this.outbox(new URL(req.url, this.origin)) : null;
        const response = custom ?? await federation.fetch(request, {
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

  /**
   * Adds an author `identifier` whose outbox holds one public post per entry of
   * `ages` (milliseconds before now, newest first): post N is `notes/N` with the
   * content "IDENTIFIER post N". `paging` is "fedify", "mastodon" or "misskey".
   * `pinned` lists the numbers of the posts in `featured`; `mentions` maps a post's
   * number to an actor URL that the post mentions.
   */
  async addAuthor(identifier, { paging, ages, pinned = [], mentions = {} }) {
    const ctx = this.context();
    const actor = ctx.getActorUri(identifier);
    const now = Date.now();
    const author = { paging, notes: new Map(), creates: [], pinned: [], json: [], ids: [] };
    this.authors.set(identifier, author);
    for (const [n, age] of ages.entries()) {
      const url = new URL(`${actor.href}/notes/${n}`);
      const published = Temporal.Instant.fromEpochMilliseconds(now - age);
      const mentioned = mentions[n];
      const note = new Note({
        id: url,
        attribution: actor,
        content: mentioned
          ? `<p><a href="${mentioned}" class="u-url mention">@someone</a> ${identifier} post ${n}</p>`
          : `<p>${identifier} post ${n}</p>`,
        published,
        to: PUBLIC_COLLECTION,
        cc: ctx.getFollowersUri(identifier),
        url,
        tags: mentioned ? [new Mention({ href: new URL(mentioned), name: "@someone" })] : [],
      });
      const create = new Create({
        id: new URL(`${url.href}/activity`),
        actor,
        published,
        to: PUBLIC_COLLECTION,
        cc: ctx.getFollowersUri(identifier),
        object: note,
      });
      author.notes.set(String(n), note);
      author.creates.push(create);
      const json = await create.toJsonLd({ contextLoader: ctx.contextLoader });
      delete json["@context"];
      author.json.push(json);
      // Mastodon's and Misskey's item ids grow with time: the oldest post has the
      // smallest. They are what `max_id`, `min_id`, `until_id` and `since_id` compare.
      author.ids.push(String(100000 + ages.length - n));
    }
    for (const n of pinned) author.pinned.push(author.notes.get(String(n)));
  }

  /**
   * An outbox document of an author paged the Mastodon or Misskey way, as those
   * servers shape them; null for any other request (Fedify answers those).
   */
  async outbox(url) {
    const m = url.pathname.match(/^\/users\/([^/]+)\/outbox$/);
    const author = m && this.authors.get(m[1]);
    if (!author || (author.paging !== "mastodon" && author.paging !== "misskey")) return null;
    const base = `${this.origin}${url.pathname}`;
    const q = url.searchParams;
    const misskey = author.paging === "misskey";
    const [older, newer] = misskey ? ["until_id", "since_id"] : ["max_id", "min_id"];
    // Mastodon puts its cursor before `page=true`; Misskey after.
    const link = (key, id) => misskey ? `${base}?page=true&${key}=${id}` : `${base}?${key}=${id}&page=true`;
    let doc;
    if (q.get("page") !== "true") {
      doc = {
        id: base,
        type: "OrderedCollection",
        totalItems: author.json.length,
        first: `${base}?page=true`,
        last: link(newer, "0"),
      };
    } else {
      // Newest first; `older` takes the items below an id, `newer` the ones right above.
      let index = author.json.map((_, i) => i);
      if (q.has(older)) index = index.filter((i) => author.ids[i] < q.get(older)).slice(0, PAGE_SIZE);
      else if (q.has(newer)) index = index.filter((i) => author.ids[i] > q.get(newer)).slice(-PAGE_SIZE);
      else index = index.slice(0, PAGE_SIZE);
      doc = {
        id: url.href,
        type: "OrderedCollectionPage",
        partOf: base,
        orderedItems: index.map((i) => author.json[i]),
      };
      if (index.length > 0) {
        doc.prev = link(newer, author.ids[index[0]]);
        if (index.at(-1) < author.json.length - 1) doc.next = link(older, author.ids[index.at(-1)]);
      }
    }
    return new Response(
      JSON.stringify({ "@context": "https://www.w3.org/ns/activitystreams", ...doc }),
      { status: 200, headers: { "content-type": "application/activity+json" } },
    );
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
