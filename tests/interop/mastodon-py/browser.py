"""What a browser does on Fulmar's OAuth pages, without JavaScript: fetch the page,
read its forms with html.parser, fill in the sign-in form, press the approve button,
and stop at the redirect to the app's redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

TIMEOUT = 30  # seconds, on every request

_DENY = re.compile(r"deny|reject|cancel|decline|refuse", re.I)
_CSRF = re.compile(r"csrf|authenticity|xsrf", re.I)


@dataclass
class Form:
    action: str
    method: str
    # (name, value, type) of every input, select and textarea, in document order.
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    # (name, value, label) of every submit button.
    buttons: list[tuple[str | None, str, str]] = field(default_factory=list)

    def has_password(self) -> bool:
        return any(t == "password" for _, _, t in self.fields)

    def hidden(self) -> dict[str, str]:
        return {n: v for n, v, t in self.fields if t == "hidden"}

    def csrf_field(self) -> str | None:
        for n, _, t in self.fields:
            if t == "hidden" and _CSRF.search(n):
                return n
        return None

    def is_deny(self) -> bool:
        if any(n == "_method" and v.lower() == "delete" for n, v, _ in self.fields):
            return True
        labels = [f"{n or ''} {v} {label}" for n, v, label in self.buttons]
        return bool(labels) and all(_DENY.search(s) for s in labels)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._button: list | None = None  # [name, value, label parts]
        self._textarea: list | None = None
        self._select: list | None = None  # [name, first value, selected value]

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            typ = (a.get("type") or "text").lower()
            name = a.get("name")
            if typ in ("submit", "image"):
                self._form.buttons.append((name, a.get("value", ""), a.get("value", "")))
            elif name is not None and typ not in ("checkbox", "radio", "button", "reset", "file"):
                self._form.fields.append((name, a.get("value", ""), typ))
            elif name is not None and typ in ("checkbox", "radio") and "checked" in a:
                self._form.fields.append((name, a.get("value", "on"), typ))
        elif tag == "button":
            typ = (a.get("type") or "submit").lower()
            if typ == "submit":
                self._button = [a.get("name"), a.get("value", ""), []]
        elif tag == "textarea" and a.get("name") is not None:
            self._textarea = [a["name"], []]
        elif tag == "select" and a.get("name") is not None:
            self._select = [a["name"], None, None]
        elif tag == "option" and self._select is not None:
            v = a.get("value", "")
            if self._select[1] is None:
                self._select[1] = v
            if "selected" in a:
                self._select[2] = v

    def handle_data(self, data):
        if self._button is not None:
            self._button[2].append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "button" and self._button is not None:
            name, value, label = self._button
            if self._form is not None:
                self._form.buttons.append((name, value, " ".join("".join(label).split())))
            self._button = None
        elif tag == "textarea" and self._textarea is not None:
            if self._form is not None:
                self._form.fields.append((self._textarea[0], "".join(self._textarea[1]), "textarea"))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            name, first, selected = self._select
            if self._form is not None:
                self._form.fields.append((name, selected if selected is not None else (first or ""), "select"))
            self._select = None


def parse_forms(html: str) -> list[Form]:
    p = _FormParser()
    p.feed(html)
    p.close()
    return p.forms


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier (RFC 7636: 43 to 128 characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


@dataclass
class AuthorizeResult:
    location: str  # the redirect to the app's redirect URI
    query: dict[str, str]  # its query parameters (code, state, or error)
    pages: list[str]  # the URLs of the HTML pages seen on the way
    forms: list[Form]  # the forms submitted on the way


class FlowStopped(AssertionError):
    """The browser could not go on: no redirect to the app, with the last response."""

    def __init__(self, message: str, response: requests.Response):
        super().__init__(f"{message}: {response.request.method} {response.url} -> "
                         f"{response.status_code}\n{response.text[:2000]}")
        self.response = response


def _credentials(form: Form, login: str, password: str) -> dict[str, str]:
    data: dict[str, str] = {}
    text_filled = False
    for name, value, typ in form.fields:
        if typ == "password":
            data[name] = password
        elif typ in ("text", "email") and not text_filled:
            data[name] = login
            text_filled = True
        else:
            data[name] = value
    if not text_filled:
        raise AssertionError(f"sign-in form has no text or email field for the login: {form}")
    return data


def _submit_data(form: Form, data: dict[str, str]) -> dict[str, str]:
    # Press the first button that does not look like "deny".
    for name, value, label in form.buttons:
        if not _DENY.search(f"{name or ''} {value} {label}"):
            if name:
                data[name] = value
            break
    return data


def authorize(session: requests.Session, url: str, login: str, password: str,
              redirect_uri: str, tamper=None, max_steps: int = 8) -> AuthorizeResult:
    """Follows Fulmar's authorize pages from `url` like a browser: signs in with
    `login`/`password` and approves. Returns at the first redirect to `redirect_uri`.

    `tamper(form, data)` may change what gets posted (to test CSRF protection)."""
    pages: list[str] = []
    forms: list[Form] = []
    resp = session.get(url, allow_redirects=False, timeout=TIMEOUT)
    for _ in range(max_steps):
        if resp.status_code in (301, 302, 303, 307, 308):
            loc = resp.headers.get("Location", "")
            target = urljoin(resp.url, loc)
            if target.startswith(redirect_uri) or loc.startswith(redirect_uri):
                query = {k: v[0] for k, v in parse_qs(urlsplit(loc).query).items()}
                return AuthorizeResult(location=loc, query=query, pages=pages, forms=forms)
            if urlsplit(target).netloc != urlsplit(url).netloc:
                raise FlowStopped(f"redirect away from the server to {loc!r}", resp)
            resp = session.get(target, allow_redirects=False, timeout=TIMEOUT)
            continue
        if resp.status_code != 200:
            raise FlowStopped("expected an HTML page or a redirect", resp)
        ctype = resp.headers.get("Content-Type", "")
        if "text/html" not in ctype:
            raise FlowStopped(f"expected text/html, got {ctype!r}", resp)
        pages.append(resp.url)
        candidates = [f for f in parse_forms(resp.text) if f.method in ("post", "get")]
        login_forms = [f for f in candidates if f.has_password()]
        if login_forms:
            form = login_forms[0]
            data = _submit_data(form, _credentials(form, login, password))
        else:
            approve = [f for f in candidates if not f.is_deny()]
            if not approve:
                raise FlowStopped("no sign-in or approve form on the page", resp)
            form = approve[0]
            data = _submit_data(form, {n: v for n, v, _ in form.fields})
        if tamper is not None:
            data = tamper(form, data)
        forms.append(form)
        action = urljoin(resp.url, form.action or resp.url)
        if form.method == "get":
            resp = session.get(action, params=data, allow_redirects=False, timeout=TIMEOUT)
        else:
            resp = session.post(action, data=data, allow_redirects=False, timeout=TIMEOUT)
    raise FlowStopped(f"no redirect to {redirect_uri} after {max_steps} steps", resp)
