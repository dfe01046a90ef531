// Interop: fedify 1.5 resolves the handle @alice@localhost:PORT of a Fulmar server
// in dev mode, once WebFinger is also reachable over https.
//
// fedify asks `https://HOST/.well-known/webfinger` for every acct: resource, with
// no option for http (see discovery.test.mjs), so over plain http a handle can
// never resolve. This test shows that this is the only obstacle: Fulmar's acct:
// WebFinger, its `self` link and the http:// actor behind it are what fedify
// needs. A small front on the public port sends TLS connections to a local TLS
// terminator (self-signed certificate, made with the openssl CLI and trusted
// through NODE_EXTRA_CA_CERTS in a child process, so certificates are still
// checked) and everything else straight to Fulmar:
//
//   fedify --https--> front :PUBLIC --> TLS terminator :TLS --http--> Fulmar :INTERNAL
//   fedify --http---> front :PUBLIC ---------------------------------> Fulmar :INTERNAL
//
// Fulmar runs with FULMAR_DOMAIN=localhost:PUBLIC and FULMAR_LISTEN=127.0.0.1:INTERNAL.
// Skipped when the openssl CLI is missing.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { after, before, describe, test } from "node:test";

import { freePort, Fulmar, HERE, within } from "./fulmar.mjs";

function haveOpenssl() {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const open = new Set(); // every socket, destroyed at the end

/** Pipes two sockets together, closing both when either ends or fails. */
function splice(a, b) {
  for (const s of [a, b]) {
    open.add(s);
    s.on("close", () => open.delete(s));
  }
  a.pipe(b).pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", close);
  b.on("error", close);
  a.on("close", close);
  b.on("close", close);
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
}

/** Runs acct-lookup.mjs with the certificate trusted; resolves its JSON output. */
function lookupInChild(domain, certFile, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, "acct-lookup.mjs"), domain], {
      cwd: HERE,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`acct-lookup.mjs took more than ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`acct-lookup.mjs exited ${code}:\n${stdout}${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop()));
      } catch (e) {
        reject(new Error(`acct-lookup.mjs printed no JSON: ${e}\n${stdout}${stderr}`));
      }
    });
  });
}

const skip = haveOpenssl() ? false : "the openssl CLI is needed to make a certificate";

describe("fedify 1.5 resolves acct:alice@localhost:PORT when WebFinger is also on https",
  { skip, timeout: 180_000 }, () => {
    let server;
    let front;
    let terminator;
    let certFile;
    let result;

    before(async () => {
      const [publicPort, internalPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
      assert.equal(new Set([publicPort, internalPort, tlsPort]).size, 3, "three distinct ports");
      server = new Fulmar({ listenPort: internalPort, domainPort: publicPort });

      certFile = path.join(server.dir, "cert.pem");
      const keyFile = path.join(server.dir, "key.pem");
      execFileSync("openssl", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", keyFile, "-out", certFile, "-subj", "/CN=localhost",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ], { stdio: "ignore", timeout: 30_000 });

      terminator = tls.createServer(
        { key: readFileSync(keyFile), cert: readFileSync(certFile) },
        (clear) => splice(clear, net.connect(internalPort, "127.0.0.1")),
      );
      terminator.on("tlsClientError", () => {});
      await listen(terminator, tlsPort);

      front = net.createServer((socket) => {
        socket.once("data", (first) => {
          const up = net.connect(first[0] === 0x16 ? tlsPort : internalPort, "127.0.0.1");
          up.write(first);
          splice(socket, up);
        });
        socket.on("error", () => socket.destroy());
      });
      await listen(front, publicPort);

      await server.start();
      await server.createUser("alice");
      result = await lookupInChild(server.domain, certFile);
    });

    after(async () => {
      for (const s of [front, terminator]) s?.close();
      for (const s of open) s.destroy();
      if (server) await server.cleanup();
    });

    test("lookupWebFinger(acct:alice@localhost:PORT) over https", () => {
      const { jrd } = result;
      assert.ok(jrd, "fedify got no JRD");
      assert.equal(jrd.subject, `acct:alice@${server.domain}`);
      const self = jrd.links.find((l) => l.rel === "self");
      assert.equal(self?.type, "application/activity+json");
      assert.equal(self?.href, `${server.base}/users/alice`);
    });

    test("lookupObject('@alice@localhost:PORT') gives the Person, fetched over http", () => {
      assert.deepEqual(result.alice, {
        class: "Person",
        isActor: true,
        id: `${server.base}/users/alice`,
        preferredUsername: "alice",
        inbox: `${server.base}/users/alice/inbox`,
        publicKeyId: `${server.base}/users/alice#main-key`,
      });
      assert.equal(result.aliceKeyOwner, `${server.base}/users/alice`);
      assert.equal(result.aliceKeyParsed, true);
    });

    // With a port in FULMAR_DOMAIN the instance actor is
    // acct:localhost:PORT@localhost:PORT, port in the user part too.
    test("lookupObject('acct:DOMAIN@DOMAIN') gives the instance actor", () => {
      assert.equal(result.instance?.class, "Application");
      assert.equal(result.instance?.id, `${server.base}/actor`);
    });

    test("SIGTERM: the server exits 0", async () => {
      const { code, signal } = await server.stop();
      assert.equal(signal, null, `killed by ${signal}:\n${server.log}`);
      assert.equal(code, 0, `exit code:\n${server.log}`);
    });
  });
