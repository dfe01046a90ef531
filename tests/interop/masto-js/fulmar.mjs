// Starting and stopping a real Fulmar binary for the masto.js interop tests
// (the same mechanics as tests/interop/fedify/fulmar.mjs).
//
// Every wait here is bounded: a hung server fails the test instead of hanging it.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PASSWORD = "a long password";
export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "../../..");

/**
 * FULMAR_BIN (a relative path is taken from the current directory), else
 * $CARGO_TARGET_DIR/release/fulmar, else the repository's target/release/fulmar,
 * else its target/debug/fulmar.
 */
export function fulmarBinary() {
  if (process.env.FULMAR_BIN) return path.resolve(process.env.FULMAR_BIN);
  if (process.env.CARGO_TARGET_DIR) {
    const shared = path.resolve(process.env.CARGO_TARGET_DIR, "release/fulmar");
    if (existsSync(shared)) return shared;
  }
  const release = path.join(REPO_ROOT, "target/release/fulmar");
  if (existsSync(release)) return release;
  const debug = path.join(REPO_ROOT, "target/debug/fulmar");
  if (existsSync(debug)) return debug;
  throw new Error(
    `no Fulmar binary: set FULMAR_BIN or run \`cargo build --release -p fulmar\` in ${REPO_ROOT}`,
  );
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Rejects after `ms` with a message naming what was awaited. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A Fulmar server in a fresh temporary directory (its working directory), with
 * FULMAR_DEV_INSECURE=1. `listenPort` is where it listens on 127.0.0.1;
 * `domainPort` is the port in FULMAR_DOMAIN (the same unless a front sits between).
 */
export class Fulmar {
  constructor({ listenPort, domainPort = listenPort, host = "localhost" }) {
    this.bin = fulmarBinary();
    this.dir = mkdtempSync(path.join(tmpdir(), "fulmar-masto-js-"));
    this.listenPort = listenPort;
    this.domain = `${host}:${domainPort}`;
    this.base = `http://${this.domain}`;
    this.log = "";
    this.child = null;
    this.exit = null; // resolves to { code, signal } once the server is gone
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith("FULMAR_")) env[k] = v;
    }
    this.env = {
      ...env,
      FULMAR_DEV_INSECURE: "1",
      FULMAR_LISTEN: `127.0.0.1:${listenPort}`,
      FULMAR_DOMAIN: this.domain,
      FULMAR_DATA_DIR: path.join(this.dir, "fulmar-data"),
      FULMAR_DATABASE_URL: process.env.FULMAR_INTEROP_DATABASE_URL ||
        `sqlite://${path.join(this.dir, "fulmar.db")}`,
      NO_COLOR: "1",
    };
  }

  /** Starts `fulmar serve` and waits (bounded) until GET /health answers 200. */
  async start(timeoutMs = 30_000) {
    this.child = spawn(this.bin, ["serve"], {
      cwd: this.dir,
      env: this.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk) => {
      this.log += chunk;
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
    };
    this.child.stdout.on("data", keep);
    this.child.stderr.on("data", keep);
    this.exit = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => resolve({ code, signal }));
      this.child.on("error", (error) => resolve({ code: null, signal: null, error }));
    });
    let exited = null;
    this.exit.then((e) => (exited = e));
    const deadline = Date.now() + timeoutMs;
    const health = `http://127.0.0.1:${this.listenPort}/health`;
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(
          `fulmar serve exited early (${JSON.stringify(exited)}):\n${this.log}`,
        );
      }
      try {
        const res = await fetch(health, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`GET ${health} did not answer 200 within ${timeoutMs} ms:\n${this.log}`);
  }

  /** Runs `fulmar ARGS...` with the server's environment; resolves { code, stdout, stderr }. */
  run(args, timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, args, {
        cwd: this.dir,
        env: this.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c) => (stdout += c));
      child.stderr.on("data", (c) => (stderr += c));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`fulmar ${args.join(" ")} took more than ${timeoutMs} ms`));
      }, timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Creates a local account NAME with the email NAME@example.org and PASSWORD. */
  async createUser(name) {
    const r = await this.run([
      "admin",
      "create-user",
      name,
      "--email",
      `${name}@example.org`,
      "--password",
      PASSWORD,
    ]);
    if (r.code === 0) return;
    throw new Error(`fulmar admin create-user ${name} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  }

  /** Sends SIGTERM and waits (bounded) for the exit; resolves { code, signal }. */
  async stop(timeoutMs = 15_000) {
    if (!this.child) return { code: 0, signal: null };
    this.child.kill("SIGTERM");
    return await within(timeoutMs, "fulmar serve to exit after SIGTERM", this.exit);
  }

  /** Last resort for after() hooks: kills a server still running and removes the directory. */
  async cleanup() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await within(5_000, "fulmar serve to die", this.exit).catch(() => {});
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
