// Interop: backfill from a real peer. A server built with @fedify/fedify
// (fedify-peer.mjs) has three authors with a hundred older posts each, their
// outboxes paged three ways: Fedify's own (`?cursor=`), Mastodon's (`?page=true`,
// then `?max_id=…&page=true`, with `prev` links by `min_id`) and Misskey's
// (`?page=true&until_id=…`, `prev` by `since_id`). A reader on Fulmar follows each;
// Fulmar runs with its default limits (40 posts, 30 days, 5 pages). Through the Mastodon
// client API the test asserts that:
//
//  - each author's newest posts arrive, in order, within the limits: 40 for the two
//    authors who post every six hours, the 30 younger than 30 days for the one who
//    posts daily;
//  - the pinned posts (`featured`) arrive even when older than the limits, and are
//    listed by `pinned=true`;
//  - the reader's home timeline holds them all in their chronological place, interleaved
//    across authors;
//  - nobody is notified (one backfilled post mentions the reader), and nothing is sent to
//    the peer but the three Follows;
//  - every outbox page was fetched with a signed GET, query strings included.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Follow } from "@fedify/fedify";

import { FedifyPeer } from "./fedify-peer.mjs";
import { freePort, Fulmar } from "./fulmar.mjs";

const T = 30_000; // bound on every wait
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** Polls `probe` every 200 ms until it returns something truthy, for at most `ms`. */
async function until(ms, what, probe) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

// The authors: how their outboxes are paged and when they posted (post 0 newest).
const AUTHORS = {
  // Every six hours for 25 days: the count limit (40) stops the backfill.
  feddy: { paging: "fedify", ages: [...Array(100).keys()].map((n) => n * 6 * HOUR + 3 * HOUR), pinned: [] },
  masto: {
    paging: "mastodon",
    ages: [...Array(100).keys()].map((n) => n * 6 * HOUR + HOUR),
    // Post 70 is beyond the count limit: only `featured` brings it.
    pinned: [70],
  },
  // Daily for a hundred days: the age limit (30 days) stops the backfill after post 29.
  missk: {
    paging: "misskey",
    ages: [...Array(100).keys()].map((n) => n * DAY + 12 * HOUR),
    // Post 60 is sixty days old: only `featured` brings it.
    pinned: [60],
  },
};
const EXPECTED = {
  feddy: [...Array(40).keys()],
  masto: [...Array(40).keys()],
  missk: [...Array(30).keys()],
};

describe("Fulmar backfills a Fedify server's outboxes, paged three ways", {
  timeout: 240_000,
}, () => {
  let fulmar;
  let peer;
  let token;
  let readerUrl;
  const ids = {}; // author identifier → account id in Fulmar's client API

  async function api(path) {
    const res = await fetch(`${fulmar.base}${path}`, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(T),
    });
    const text = await res.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON; kept as text for the assertion message
    }
    return { status: res.status, body };
  }

  async function post(path) {
    const res = await fetch(`${fulmar.base}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: "{}",
      signal: AbortSignal.timeout(T),
    });
    return { status: res.status, body: await res.json() };
  }

  /** Every page of a timeline, following `max_id` (bounded: 20 pages). */
  async function all(path) {
    const statuses = [];
    let maxId = null;
    for (let page = 0; page < 20; page++) {
      const sep = path.includes("?") ? "&" : "?";
      const r = await api(`${path}${sep}limit=40${maxId ? `&max_id=${maxId}` : ""}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (r.body.length === 0) return statuses;
      statuses.push(...r.body);
      maxId = r.body.at(-1).id;
    }
    throw new Error(`${path} has more than 20 pages`);
  }

  /** "AUTHOR post N" → N, for the statuses of one author. */
  function numbers(statuses, author) {
    return statuses
      .filter((s) => s.account.username === author)
      .map((s) => Number(s.content.match(/post (\d+)/)[1]));
  }

  function diagnostics() {
    return `\nFedify requests: ${JSON.stringify(peer.requests.slice(-40))}` +
      `\nFulmar log (tail):\n${fulmar.log.slice(-4000)}`;
  }

  before(async () => {
    fulmar = new Fulmar({ listenPort: await freePort() });
    // Not alice: on a database shared with the other interop tests (see README) her
    // home timeline and notifications hold what those tests did.
    readerUrl = `${fulmar.base}/users/reader`;
    await fulmar.start();
    await fulmar.createUser("reader");
    const issued = await fulmar.run(["admin", "token", "reader"]);
    assert.equal(issued.code, 0, issued.stderr);
    token = issued.stdout.trim();

    peer = new FedifyPeer(await freePort());
    await peer.start();
    for (const [name, author] of Object.entries(AUTHORS)) {
      // masto's post 3 mentions the reader: backfilled, it must notify nobody.
      const mentions = name === "masto" ? { 3: readerUrl } : {};
      await peer.addAuthor(name, { ...author, mentions });
    }
  });

  after(async () => {
    if (peer) await peer.stop();
    if (fulmar) await fulmar.cleanup();
  });

  test("the reader follows each author; Fedify accepts", async () => {
    for (const name of Object.keys(AUTHORS)) {
      const actor = `${peer.origin}/users/${name}`;
      const found = await api(`/api/v2/search?resolve=true&type=accounts&q=${encodeURIComponent(actor)}`);
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.equal(found.body.accounts[0]?.uri, actor, JSON.stringify(found.body));
      ids[name] = found.body.accounts[0].id;
      const followed = await post(`/api/v1/accounts/${ids[name]}/follow`);
      assert.equal(followed.status, 200, JSON.stringify(followed.body));
    }
    await until(T, "the three follows to be accepted", async () => {
      const q = Object.values(ids).map((id) => `id[]=${id}`).join("&");
      const r = await api(`/api/v1/accounts/relationships?${q}`);
      return r.status === 200 && r.body.length === 3 && r.body.every((x) => x.following);
    }).catch((e) => assert.fail(e.message + diagnostics()));
  });

  test("each author's recent posts arrive in order, within the count and age limits", async () => {
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const pinned = AUTHORS[name].pinned;
      const statuses = await until(T, `${name}'s posts`, async () => {
        const got = await all(`/api/v1/accounts/${ids[name]}/statuses`);
        return got.length >= expected.length + pinned.length && got;
      }).catch((e) => assert.fail(e.message + diagnostics()));
      // Newest first, as the API lists them; the pinned post in its own place.
      assert.deepEqual(
        numbers(statuses, name),
        [...expected, ...pinned].sort((a, b) => a - b),
        `${name}: ${diagnostics()}`,
      );
      for (const s of statuses) {
        assert.equal(s.visibility, "public");
        assert.equal(s.uri, `${peer.origin}/users/${name}/notes/${s.content.match(/post (\d+)/)[1]}`);
      }
      // Each post keeps its own publication time.
      const n0 = statuses.find((s) => numbers([s], name)[0] === expected.at(-1));
      const age = Date.now() - Date.parse(n0.created_at);
      assert.ok(Math.abs(age - AUTHORS[name].ages[expected.at(-1)]) < 5 * 60_000, `${name}: age ${age}`);
    }
  });

  test("pinned posts arrive from `featured`, older than the limits too", async () => {
    for (const name of ["masto", "missk"]) {
      const r = await api(`/api/v1/accounts/${ids[name]}/statuses?pinned=true`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(numbers(r.body, name), AUTHORS[name].pinned);
    }
  });

  test("the reader's home timeline holds the posts in their chronological place", async () => {
    const home = await until(T, "110 backfilled posts at home", async () => {
      // This run's peer only: a shared database may hold earlier runs' peers.
      const got = (await all("/api/v1/timelines/home"))
        .filter((s) => s.account.uri.startsWith(`${peer.origin}/`));
      return got.length >= 110 && got;
    }).catch((e) => assert.fail(e.message + diagnostics()));
    for (const [name, expected] of Object.entries(EXPECTED)) {
      // Only the backfill count of each author goes home: not older pins.
      assert.deepEqual(numbers(home, name), expected, name);
    }
    assert.equal(home.length, 110);
    // Newest first by time, across authors, and the ids agree.
    for (let i = 1; i < home.length; i++) {
      assert.ok(
        Date.parse(home[i - 1].created_at) > Date.parse(home[i].created_at),
        `home ${i}: ${home[i - 1].created_at} before ${home[i].created_at}`,
      );
      const [a, b] = [home[i - 1].id, home[i].id];
      assert.ok(a.length > b.length || (a.length === b.length && a > b), `ids ${a} ${b}`);
    }
    // The authors interleave by time: masto posted 1 h and 7 h ago, feddy 3 h and
    // 9 h ago, missk 12 h ago.
    assert.deepEqual(
      home.slice(0, 5).map((s) => `${s.account.username} ${numbers([s], s.account.username)[0]}`),
      ["masto 0", "feddy 0", "masto 1", "feddy 1", "missk 0"],
    );
  });

  test("nobody is notified and nothing is sent back but the Follows", async () => {
    const mentioning = await api(`/api/v1/accounts/${ids.masto}/statuses?limit=40`);
    const three = mentioning.body.find((s) => / post 3<\/p>/.test(s.content));
    assert.ok(three, "masto's post 3 was backfilled");
    assert.ok(three.mentions.some((m) => m.acct === "reader"), JSON.stringify(three.mentions));
    const notifications = await api("/api/v1/notifications");
    assert.equal(notifications.status, 200);
    assert.deepEqual(
      notifications.body.filter((n) => n.account.uri.startsWith(`${peer.origin}/`)),
      [],
    );
    const fromReader = peer.received.filter((a) => a.actorId?.href === readerUrl);
    assert.equal(fromReader.length, 3);
    assert.ok(fromReader.every((a) => a instanceof Follow));
  });

  test("every outbox page was a signed GET, query strings included", async () => {
    const pages = peer.requests.filter(([, path]) => /\/outbox/.test(path));
    assert.ok(pages.length > 0);
    for (const [method, path, signed] of pages) {
      assert.equal(method, "GET");
      assert.ok(signed, `${path} was fetched without a signature`);
    }
    const paths = pages.map(([, path]) => path);
    // Fedify's cursors, then Mastodon's max_id (the second page), then Misskey's
    // until_id: the query-string pages were followed.
    assert.ok(paths.includes("/users/feddy/outbox?cursor=20"), JSON.stringify(paths));
    assert.ok(paths.some((p) => /^\/users\/masto\/outbox\?max_id=\d+&page=true$/.test(p)), JSON.stringify(paths));
    assert.ok(paths.some((p) => /^\/users\/missk\/outbox\?page=true&until_id=\d+$/.test(p)), JSON.stringify(paths));
    // The limits stopped the paging: no author's outbox was read to its end.
    assert.ok(!paths.includes("/users/feddy/outbox?cursor=40"), JSON.stringify(paths));
  });
});
