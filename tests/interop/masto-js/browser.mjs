// What a browser does on Fulmar's OAuth pages, without JavaScript: fetch the page
// (keeping cookies), read its forms, fill in the sign-in form, press the approve
// button, and stop at the redirect to the app's redirect URI (manual redirects).

import { createHash, randomBytes } from "node:crypto";

const TIMEOUT = 30_000; // ms, on every request

const DENY = /deny|reject|cancel|decline|refuse/i;
const CSRF = /csrf|authenticity|xsrf/i;

/** A PKCE code verifier (RFC 7636: 43 to 128 characters) and its S256 challenge. */
export function pkcePair() {
  const verifier = randomBytes(48).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === "#") {
      const n = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(n);
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function parseAttrs(s) {
  const attrs = {};
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;
  let m;
  while ((m = re.exec(s))) {
    const v = m[2] ?? m[3] ?? m[4];
    attrs[m[1].toLowerCase()] = v === undefined ? "" : decodeEntities(v);
  }
  return attrs;
}

/**
 * The forms of an HTML page: { action, method, fields: [{name, value, type}],
 * buttons: [{name, value, label}] }. Enough HTML for server-rendered forms.
 */
export function parseForms(html) {
  const forms = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
  let f;
  while ((f = formRe.exec(html))) {
    const a = parseAttrs(f[1]);
    const form = {
      action: a.action ?? "",
      method: (a.method || "get").toLowerCase(),
      fields: [],
      buttons: [],
    };
    const body = f[2].replace(/<!--[\s\S]*?-->/g, "");
    const tagRe =
      /<input\b([^>]*)>|<button\b([^>]*)>([\s\S]*?)<\/button\s*>|<textarea\b([^>]*)>([\s\S]*?)<\/textarea\s*>|<select\b([^>]*)>([\s\S]*?)<\/select\s*>/gi;
    let t;
    while ((t = tagRe.exec(body))) {
      if (t[1] !== undefined) {
        const ia = parseAttrs(t[1]);
        const type = (ia.type || "text").toLowerCase();
        if (type === "submit" || type === "image") {
          form.buttons.push({ name: ia.name, value: ia.value ?? "", label: ia.value ?? "" });
        } else if (ia.name === undefined || ["button", "reset", "file"].includes(type)) {
          continue;
        } else if (type === "checkbox" || type === "radio") {
          if ("checked" in ia) form.fields.push({ name: ia.name, value: ia.value ?? "on", type });
        } else {
          form.fields.push({ name: ia.name, value: ia.value ?? "", type });
        }
      } else if (t[2] !== undefined) {
        const ba = parseAttrs(t[2]);
        if ((ba.type || "submit").toLowerCase() !== "submit") continue;
        const label = decodeEntities(t[3].replace(/<[^>]*>/g, " ")).replace(/\s+/g, " ").trim();
        form.buttons.push({ name: ba.name, value: ba.value ?? "", label });
      } else if (t[4] !== undefined) {
        const ta = parseAttrs(t[4]);
        if (ta.name !== undefined) {
          form.fields.push({ name: ta.name, value: decodeEntities(t[5]), type: "textarea" });
        }
      } else {
        const sa = parseAttrs(t[6]);
        if (sa.name === undefined) continue;
        const options = [...t[7].matchAll(/<option\b([^>]*)>/gi)].map((o) => parseAttrs(o[1]));
        const chosen = options.find((o) => "selected" in o) ?? options[0];
        form.fields.push({ name: sa.name, value: chosen?.value ?? "", type: "select" });
      }
    }
    forms.push(form);
  }
  return forms;
}

export const csrfField = (form) =>
  form.fields.find((f) => f.type === "hidden" && CSRF.test(f.name))?.name;

const hasPassword = (form) => form.fields.some((f) => f.type === "password");

function isDeny(form) {
  if (form.fields.some((f) => f.name === "_method" && f.value.toLowerCase() === "delete")) {
    return true;
  }
  const labels = form.buttons.map((b) => `${b.name ?? ""} ${b.value} ${b.label}`);
  return labels.length > 0 && labels.every((l) => DENY.test(l));
}

/** A minimal cookie jar: name=value pairs for one host, as a browser would keep them. */
class CookieJar {
  constructor() {
    this.cookies = new Map();
  }
  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-)/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/** The browser could not go on: no redirect to the app. Carries the last response. */
export class FlowStopped extends Error {
  constructor(message, response, text) {
    super(`${message}: ${response.status} ${response.url}\n${text.slice(0, 2000)}`);
    this.status = response.status;
  }
}

function credentials(form, login, password) {
  const data = [];
  let filled = false;
  for (const f of form.fields) {
    if (f.type === "password") data.push([f.name, password]);
    else if ((f.type === "text" || f.type === "email") && !filled) {
      data.push([f.name, login]);
      filled = true;
    } else data.push([f.name, f.value]);
  }
  if (!filled) throw new Error(`sign-in form has no text or email field: ${JSON.stringify(form)}`);
  return data;
}

function press(form, data) {
  const button = form.buttons.find((b) => !DENY.test(`${b.name ?? ""} ${b.value} ${b.label}`));
  if (button?.name) data.push([button.name, button.value]);
  return data;
}

/**
 * Follows Fulmar's authorize pages from `url` like a browser: signs in with
 * `login`/`password` and approves. Resolves at the first redirect to `redirectUri`
 * with { location, query, forms }. `tamper(form, data)` may change what gets posted.
 */
export async function authorize(url, login, password, redirectUri, { tamper, maxSteps = 8 } = {}) {
  const jar = new CookieJar();
  const origin = new URL(url).origin;
  const forms = [];
  const go = async (target, init = {}) => {
    const headers = new Headers(init.headers);
    const cookie = jar.header();
    if (cookie) headers.set("Cookie", cookie);
    headers.set("Accept", "text/html,application/xhtml+xml");
    const res = await fetch(target, {
      ...init,
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT),
    });
    jar.store(res);
    return res;
  };
  let res = await go(url);
  let current = url;
  for (let step = 0; step < maxSteps; step++) {
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      const loc = res.headers.get("location") ?? "";
      await res.body?.cancel();
      if (loc.startsWith(redirectUri)) {
        const query = Object.fromEntries(new URL(loc).searchParams);
        return { location: loc, query, forms };
      }
      const target = new URL(loc, current);
      if (target.origin !== origin) {
        throw new FlowStopped(`redirect away from the server to ${loc}`, res, "");
      }
      current = target.href;
      res = await go(current);
      continue;
    }
    const text = await res.text();
    if (res.status !== 200) throw new FlowStopped("expected an HTML page or a redirect", res, text);
    const ctype = res.headers.get("content-type") ?? "";
    if (!ctype.includes("text/html")) throw new FlowStopped(`expected text/html, got ${ctype}`, res, text);
    const candidates = parseForms(text).filter((f) => f.method === "post" || f.method === "get");
    let form;
    let data;
    const login_ = candidates.find(hasPassword);
    if (login_) {
      form = login_;
      data = press(form, credentials(form, login, password));
    } else {
      form = candidates.find((f) => !isDeny(f));
      if (!form) throw new FlowStopped("no sign-in or approve form on the page", res, text);
      data = press(form, form.fields.map((f) => [f.name, f.value]));
    }
    if (tamper) data = tamper(form, data);
    forms.push(form);
    const action = new URL(form.action || current, current);
    const body = new URLSearchParams(data);
    if (form.method === "get") {
      action.search = body.toString();
      current = action.href;
      res = await go(current);
    } else {
      res = await go(action.href, {
        method: "POST",
        body: body.toString(),
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: origin },
      });
    }
  }
  const text = await res.text().catch(() => "");
  throw new FlowStopped(`no redirect to ${redirectUri} after ${maxSteps} steps`, res, text);
}
