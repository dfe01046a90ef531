"""Fixtures: one Fulmar server for the session, users alice and bob, an app
registered with Mastodon.create_app, and both users signed in through the real
OAuth authorization-code flow (alice with PKCE, bob without).

Mastodon.py 2.3 has no PKCE parameters: `auth_request_url` builds the URL from a
fixed set of parameters and `log_in(code=...)` posts no `code_verifier`. A browser
app that wants PKCE appends `code_challenge` to the authorize URL, and here the
token request gets its `code_verifier` through the requests.Session that
Mastodon.py accepts (`Mastodon(session=...)`), which is the library's own hook for
adjusting requests.
"""

from __future__ import annotations

import os
import secrets
import warnings
from urllib.parse import urlencode

import pytest
import requests
from mastodon import Mastodon

import browser
from fulmar import PASSWORD, Fulmar

SCOPES = ["read", "write", "follow", "push"]
# A web app's callback, and a native app's custom scheme: neither is ever fetched.
ALICE_REDIRECT = "https://client.example/fulmar-interop/callback"
BOB_REDIRECT = "org.example.fulmarinterop:/oauth-callback"
REQUEST_TIMEOUT = 30  # seconds, for every Mastodon.py request


class PkceSession(requests.Session):
    """A requests.Session that adds `code_verifier` to the next authorization_code
    token request (what Mastodon.py 2.3 cannot do itself)."""

    def __init__(self):
        super().__init__()
        self.code_verifier: str | None = None
        self.token_requests: list[dict] = []

    def request(self, method, url, *args, **kwargs):
        data = kwargs.get("data")
        if (method.upper() == "POST" and url.split("?")[0].endswith("/oauth/token")
                and isinstance(data, dict)):
            data = dict(data)
            if self.code_verifier is not None and data.get("grant_type") == "authorization_code":
                data["code_verifier"] = self.code_verifier
                self.code_verifier = None
            kwargs["data"] = data
            self.token_requests.append(data)
        return super().request(method, url, *args, **kwargs)


def _suffix() -> str:
    # A shared external database keeps earlier runs' users and posts: fresh names
    # keep the assertions about timelines and notifications exact.
    if os.environ.get("FULMAR_INTEROP_DATABASE_URL"):
        return "_" + secrets.token_hex(3)
    return ""


@pytest.fixture(scope="session")
def server():
    srv = Fulmar()
    try:
        srv.start()
        suffix = _suffix()
        srv.users = {}
        for name in ("alice", "bob"):
            username = name + suffix
            srv.create_user(username, f"{username}@example.org")
            srv.users[name] = username
        yield srv
        code = srv.stop()
        assert code == 0, f"fulmar serve exited {code} after SIGTERM:\n{srv.log}"
    except BaseException:
        print(f"--- fulmar serve log ---\n{srv.log}")
        raise
    finally:
        srv.cleanup()


def new_client(server, **kwargs) -> Mastodon:
    """A Mastodon.py client with its version checks on ("created" mode)."""
    # Mastodon.py's version check asks for /api/v1/instance/ (trailing slash); when
    # that fails it recurses until RecursionError. Say plainly what is wrong instead.
    if not getattr(server, "instance_ok", False):
        for path in ("/api/v1/instance/", "/api/v2/instance/"):
            r = requests.get(server.base + path, timeout=REQUEST_TIMEOUT)
            assert r.status_code == 200, (
                f"GET {path} -> {r.status_code} {r.text[:300]!r}: Mastodon.py's version "
                "check needs it (it recurses until RecursionError without it)")
        server.instance_ok = True
    with warnings.catch_warnings():
        # Mastodon.py warns when a 4.3+ server names no api_versions: an error here.
        warnings.simplefilter("error")
        return Mastodon(
            api_base_url=server.base,
            version_check_mode="created",
            request_timeout=REQUEST_TIMEOUT,
            ratelimit_method="throw",
            **kwargs,
        )


@pytest.fixture(scope="session")
def app_credentials(server):
    """(client_id, client_secret) of one app with both redirect URIs."""
    return Mastodon.create_app(
        "Fulmar interop (Mastodon.py)",
        scopes=SCOPES,
        redirect_uris=[ALICE_REDIRECT, BOB_REDIRECT],
        website="https://client.example/",
        api_base_url=server.base,
        request_timeout=REQUEST_TIMEOUT,
    )


def authorize_url(client: Mastodon, redirect_uri: str, state: str, challenge: str | None) -> str:
    url = client.auth_request_url(
        redirect_uris=redirect_uri, scopes=SCOPES, state=state, allow_http=True,
    )
    if challenge is not None:
        url += "&" + urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
    return url


def sign_in(server, app_credentials, login: str, redirect_uri: str, pkce: bool):
    """The whole browser flow, then `log_in(code=...)`. Returns (client, details)."""
    client_id, client_secret = app_credentials
    session = PkceSession()
    client = new_client(server, client_id=client_id, client_secret=client_secret, session=session)
    state = secrets.token_urlsafe(16)
    verifier, challenge = browser.pkce_pair() if pkce else (None, None)
    url = authorize_url(client, redirect_uri, state, challenge)
    result = browser.authorize(requests.Session(), url, login, PASSWORD, redirect_uri)
    assert result.query.get("state") == state, f"state not echoed: {result.location}"
    assert result.query.get("code"), f"no code in {result.location}"
    session.code_verifier = verifier
    token = client.log_in(code=result.query["code"], redirect_uri=redirect_uri,
                          scopes=SCOPES, allow_http=True)
    return client, {"token": token, "result": result, "verifier": verifier,
                    "session": session, "url": url}


@pytest.fixture(scope="session")
def alice_login(server, app_credentials):
    """alice signs in with her username, with PKCE, to the https callback."""
    return sign_in(server, app_credentials, server.users["alice"], ALICE_REDIRECT, pkce=True)


@pytest.fixture(scope="session")
def bob_login(server, app_credentials):
    """bob signs in with his email address, without PKCE, to the custom-scheme callback."""
    return sign_in(server, app_credentials, f"{server.users['bob']}@example.org", BOB_REDIRECT,
                   pkce=False)


@pytest.fixture(scope="session")
def alice(alice_login) -> Mastodon:
    return alice_login[0]


@pytest.fixture(scope="session")
def bob(bob_login) -> Mastodon:
    return bob_login[0]
