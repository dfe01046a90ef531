"""Mastodon.py (the real client library, pinned in requirements.txt) against a
running Fulmar: register an app, sign in through the HTML OAuth pages, post,
reply, favourite, reblog, follow, read home and notifications, and page back and
forth with the Link header.

The tests run in file order and build on each other through `STATE` (bob's post,
alice's reply, ...): a test that needs an earlier one says so when it is missing.
"""

from __future__ import annotations

import re
import secrets
import warnings

import pytest
import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonIllegalArgumentError,
    MastodonNotFoundError,
    MastodonUnauthorizedError,
)

import browser
from conftest import (
    ALICE_REDIRECT,
    BOB_REDIRECT,
    REQUEST_TIMEOUT,
    SCOPES,
    PkceSession,
    authorize_url,
    new_client,
    sign_in,
)
from fulmar import PASSWORD

STATE: dict = {}
MAX_PAGES = 40  # bound on every paging loop


def need(key: str):
    if key not in STATE:
        pytest.fail(f"needs {key!r} from an earlier test that failed or did not run")
    return STATE[key]


def is_id(value) -> bool:
    return isinstance(value, str) and value.isdigit()


def id_key(value) -> tuple[int, str]:
    """Mastodon IDs sort by (length, lexical)."""
    return (len(str(value)), str(value))


def api_status(exc: MastodonAPIError) -> int:
    # Mastodon.py raises ex_type('Mastodon API returned error', status, reason, error).
    return exc.args[1]


# --- the instance, as Mastodon.py sees it before signing in -------------------------


def test_version_check_finds_a_mastodon_4_server(server):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "no API version found" for a 4.3+ version
        client = new_client(server)
        version = client.retrieve_mastodon_version(fail_hard=True)
    assert client.mastodon_major == 4, version
    raw = requests.get(f"{server.base}/api/v1/instance", timeout=REQUEST_TIMEOUT).json()
    assert re.fullmatch(r"4\.\d+\.\d+ \(compatible; Fulmar \d+\.\d+\.\d+.*\)", raw["version"]), raw[
        "version"
    ]
    if (client.mastodon_major, client.mastodon_minor) >= (4, 3):
        assert client.mastodon_api_version >= 1


def test_instance_paths_with_a_trailing_slash(server):
    # Mastodon.py's version check asks for /api/v1/instance/ and /api/v2/instance/.
    for path in ("/api/v1/instance/", "/api/v2/instance/"):
        r = requests.get(server.base + path, timeout=REQUEST_TIMEOUT)
        assert r.status_code == 200, f"GET {path} -> {r.status_code} {r.text[:300]}"


def test_instance_v1(server):
    inst = new_client(server).instance_v1()
    assert inst.uri == server.domain
    assert inst.title
    assert inst.version.startswith("4.")
    assert isinstance(inst.stats.user_count, int) and inst.stats.user_count >= 2
    assert inst.urls.streaming_api.startswith("ws")
    assert inst.configuration.statuses.max_characters >= 500
    assert isinstance(inst.languages, list)
    assert isinstance(inst.rules, list)


def test_instance_v2(server):
    client = new_client(server)
    inst = client.instance_v2()
    assert inst.domain == server.domain
    assert inst.title
    assert inst.version.startswith("4.")
    assert inst.thumbnail.url.startswith("http")
    assert "email" in inst.contact
    assert isinstance(inst.registrations.enabled, bool)
    # api_versions came with Mastodon 4.3 (mastodon: 2); an older claimed version may
    # honestly say 0, but the key must be there.
    assert isinstance(inst.api_versions.mastodon, int)
    if (client.mastodon_major, client.mastodon_minor) >= (4, 3):
        assert inst.api_versions.mastodon >= 2
    conf = inst.configuration
    assert conf.urls.streaming.startswith("ws")
    assert conf.statuses.max_characters >= 500
    assert conf.statuses.max_media_attachments >= 0
    assert isinstance(conf.media_attachments.supported_mime_types, list)
    assert conf.polls.max_options >= 2
    assert "public_key" in conf.vapid
    # instance() is the v2 document on a 4.x server.
    assert client.instance().domain == server.domain


def test_oauth_server_metadata(server):
    info = new_client(server).oauth_authorization_server_info()
    assert info, "GET /.well-known/oauth-authorization-server gave nothing"
    assert info["authorization_endpoint"] == f"{server.base}/oauth/authorize"
    assert info["token_endpoint"] == f"{server.base}/oauth/token"
    assert "S256" in info["code_challenge_methods_supported"]
    assert "authorization_code" in info["grant_types_supported"]
    assert "code" in info["response_types_supported"]
    for scope in SCOPES + ["read:statuses", "write:favourites"]:
        assert scope in info["scopes_supported"], scope


# --- registering and signing in ------------------------------------------------------


def test_create_app(app_credentials):
    client_id, client_secret = app_credentials
    assert isinstance(client_id, str) and client_id
    assert isinstance(client_secret, str) and client_secret


def test_sign_in_with_username_and_pkce(server, alice_login):
    alice, details = alice_login
    me = alice.account_verify_credentials()
    assert me.username == server.users["alice"]
    assert me.acct == server.users["alice"]
    assert is_id(me.id)
    assert me.source.privacy in ("public", "unlisted", "private", "direct")
    assert "note" in me.source
    STATE["alice_id"] = me.id
    # The browser filled in a real HTML form that carries a CSRF token.
    result = details["result"]
    assert result.forms, "no form was submitted"
    assert any(f.csrf_field() for f in result.forms), f"no hidden CSRF field in {result.forms}"
    # The token request carried the PKCE verifier.
    assert details["session"].token_requests[-1].get("code_verifier") == details["verifier"]
    app = alice.app_verify_credentials()
    assert app.name == "Fulmar interop (Mastodon.py)"


def test_sign_in_with_email_without_pkce(server, bob):
    me = bob.account_verify_credentials()
    assert me.username == server.users["bob"]
    STATE["bob_id"] = me.id


def test_out_of_band_code_for_scripts(server):
    """Mastodon.py's defaults: redirect_uris urn:ietf:wg:oauth:2.0:oob, where the
    server shows the code on a page for the person to paste into the script."""
    client_id, client_secret = Mastodon.create_app(
        "Fulmar interop (oob)", api_base_url=server.base, request_timeout=REQUEST_TIMEOUT)
    client = new_client(server, client_id=client_id, client_secret=client_secret)
    url = client.auth_request_url(allow_http=True)
    session = requests.Session()
    page = session.get(url, timeout=REQUEST_TIMEOUT)
    assert page.status_code == 200, page.text[:500]
    [form] = [f for f in browser.parse_forms(page.text) if f.has_password()]
    data = browser._submit_data(form, browser._credentials(form, server.users["alice"], PASSWORD))
    shown = session.post(requests.compat.urljoin(page.url, form.action or page.url), data=data,
                         allow_redirects=False, timeout=REQUEST_TIMEOUT)
    assert shown.status_code == 200, f"{shown.status_code} {shown.headers.get('Location')}"
    assert "text/html" in shown.headers.get("Content-Type", "")
    codes = re.findall(r'value="([A-Za-z0-9_-]{20,})"|<code>([A-Za-z0-9_-]{20,})</code>', shown.text)
    codes = [a or b for a, b in codes]
    assert len(set(codes)) == 1, f"one code on the page: {shown.text[:2000]}"
    client.log_in(code=codes[0], allow_http=True)
    assert client.account_verify_credentials().username == server.users["alice"]


def test_pkce_code_needs_its_verifier(server, app_credentials):
    client_id, client_secret = app_credentials
    # As Doorkeeper (Mastodon's OAuth library) answers: a missing verifier is
    # invalid_request, a wrong one invalid_grant.
    for verifier, error in ((None, "invalid_request"), (browser.pkce_pair()[0], "invalid_grant")):
        session = PkceSession()
        client = new_client(server, client_id=client_id, client_secret=client_secret,
                            session=session)
        _, challenge = browser.pkce_pair()
        url = authorize_url(client, ALICE_REDIRECT, "s", challenge)
        result = browser.authorize(requests.Session(), url, server.users["alice"], PASSWORD,
                                   ALICE_REDIRECT)
        session.code_verifier = verifier
        with pytest.raises(MastodonIllegalArgumentError, match=error):
            client.log_in(code=result.query["code"], redirect_uri=ALICE_REDIRECT, scopes=SCOPES,
                          allow_http=True)


def test_a_code_works_once(server, app_credentials):
    client, details = sign_in(server, app_credentials, server.users["bob"], BOB_REDIRECT,
                              pkce=False)
    code = details["result"].query["code"]
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_grant"):
        client.log_in(code=code, redirect_uri=BOB_REDIRECT, scopes=SCOPES, allow_http=True)


def test_wrong_password_gets_no_code(server, app_credentials):
    client = new_client(server, client_id=app_credentials[0], client_secret=app_credentials[1])
    url = authorize_url(client, ALICE_REDIRECT, "s", None)
    try:
        result = browser.authorize(requests.Session(), url, server.users["alice"],
                                   "not the password", ALICE_REDIRECT, max_steps=3)
    except browser.FlowStopped as stopped:
        assert stopped.response.status_code < 500, str(stopped)
    else:
        assert "code" not in result.query, f"a code for a wrong password: {result.location}"


def test_forged_csrf_token_gets_no_code(server, app_credentials):
    client = new_client(server, client_id=app_credentials[0], client_secret=app_credentials[1])
    url = authorize_url(client, ALICE_REDIRECT, "s", None)
    forged = []

    def tamper(form, data):
        name = form.csrf_field()
        if name:
            data[name] = "forged" + data[name][6:]
            forged.append(name)
        return data

    try:
        result = browser.authorize(requests.Session(), url, server.users["alice"], PASSWORD,
                                   ALICE_REDIRECT, tamper=tamper, max_steps=3)
    except browser.FlowStopped as stopped:
        assert stopped.response.status_code < 500, str(stopped)
    else:
        assert "code" not in result.query, f"a code despite a forged CSRF token: {result.location}"
    assert forged, "no form had a CSRF field to forge"


def test_deny_redirects_with_access_denied(server, app_credentials):
    client = new_client(server, client_id=app_credentials[0], client_secret=app_credentials[1])
    url = authorize_url(client, ALICE_REDIRECT, "deny-state", None)

    def press_deny(form, data):
        for name, value, label in form.buttons:
            if name and re.search(r"deny|reject|cancel", f"{value} {label}", re.I):
                data[name] = value
        return data

    result = browser.authorize(requests.Session(), url, server.users["alice"], PASSWORD,
                               ALICE_REDIRECT, tamper=press_deny, max_steps=3)
    assert result.query.get("error") == "access_denied", result.location
    assert result.query.get("state") == "deny-state", result.location
    assert "code" not in result.query


def test_password_grant_for_scripts(server, app_credentials):
    # Mastodon.py uses the password grant only when the server metadata lists it.
    client = new_client(server, client_id=app_credentials[0], client_secret=app_credentials[1])
    assert "password" in client.oauth_authorization_server_info()["grant_types_supported"]
    client.log_in(username=f"{server.users['bob']}@example.org", password=PASSWORD,
                  scopes=SCOPES, allow_http=True)
    assert client.account_verify_credentials().username == server.users["bob"]
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_grant"):
        client.log_in(username=server.users["bob"], password="wrong", scopes=SCOPES,
                      allow_http=True)


def test_revoked_token_is_refused(server, app_credentials):
    client, _ = sign_in(server, app_credentials, server.users["bob"], BOB_REDIRECT, pkce=False)
    assert client.account_verify_credentials().username == server.users["bob"]
    client.revoke_access_token(allow_http=True)
    with pytest.raises(MastodonUnauthorizedError):
        client.account_verify_credentials()


def test_missing_scope_is_403(server):
    client_id, client_secret = Mastodon.create_app(
        "Fulmar interop read-only", scopes=["read"], redirect_uris=ALICE_REDIRECT,
        api_base_url=server.base, request_timeout=REQUEST_TIMEOUT,
    )
    client = new_client(server, client_id=client_id, client_secret=client_secret)
    url = client.auth_request_url(redirect_uris=ALICE_REDIRECT, scopes=["read"], allow_http=True)
    result = browser.authorize(requests.Session(), url, server.users["alice"], PASSWORD,
                               ALICE_REDIRECT)
    client.log_in(code=result.query["code"], redirect_uri=ALICE_REDIRECT, scopes=["read"],
                  allow_http=True)
    assert client.timeline_home() is not None
    with pytest.raises(MastodonAPIError) as err:
        client.status_post("a read-only token cannot post")
    assert api_status(err.value) == 403


def test_no_token_is_401(server):
    with pytest.raises(MastodonUnauthorizedError):
        new_client(server).timeline_home()


# --- posting and interacting --------------------------------------------------------


def test_status_post(server, bob):
    s = bob.status_post("Hello from Mastodon.py! #interop", language="en")
    assert is_id(s.id)
    assert s.account.username == server.users["bob"]
    assert s.visibility == "public"
    assert s.language == "en"
    assert "Hello from Mastodon.py!" in s.content
    assert 'rel="tag"' in s.content and "interop" in s.content
    assert [t.name for t in s.tags] == ["interop"]
    assert s.favourites_count == 0 and s.reblogs_count == 0 and s.replies_count == 0
    assert s.favourited is False and s.reblogged is False
    assert bob.status(s.id).id == s.id
    STATE["bob_post"] = s


def test_status_reply(server, alice):
    post = need("bob_post")
    r = alice.status_reply(post, "Welcome!")  # Mastodon.py prepends @bob
    assert r.in_reply_to_id == post.id
    assert r.in_reply_to_account_id == post.account.id
    assert [m.username for m in r.mentions] == [server.users["bob"]]
    assert 'class="u-url mention"' in r.content
    ctx = alice.status_context(post.id)
    assert r.id in [d.id for d in ctx.descendants]
    assert alice.status(post.id).replies_count == 1
    STATE["alice_reply"] = r


def test_status_favourite(alice, bob):
    post = need("bob_post")
    s = alice.status_favourite(post.id)
    assert s.id == post.id
    assert s.favourited is True
    assert s.favourites_count == 1
    assert bob.status(post.id).favourites_count == 1


def test_status_reblog(alice):
    post = need("bob_post")
    r = alice.status_reblog(post.id)
    assert is_id(r.id) and r.id != post.id, "a reblog has its own ID"
    assert r.reblog.id == post.id
    assert r.reblog.reblogged is True
    assert r.reblog.reblogs_count == 1
    assert r.account.id == need("alice_id")
    STATE["alice_reblog"] = r


def test_account_follow(server, alice):
    bob_id = need("bob_id")
    rel = alice.account_follow(bob_id)
    assert rel.id == bob_id
    assert rel.following is True
    assert rel.requested is False
    [again] = alice.account_relationships(bob_id)
    assert again.following is True
    assert bob_id in [a.id for a in alice.account_following(need("alice_id"))]


def test_timeline_home(alice, bob):
    later = bob.status_post("Posted after alice followed me")
    STATE["bob_later"] = later
    home = alice.timeline_home()
    ids = [s.id for s in home]
    assert later.id in ids, "a new post of a followed account is in home"
    assert need("bob_post").id in ids or need("alice_reblog").id in ids
    assert need("alice_reply").id in ids, "one's own posts are in home"
    assert ids == sorted(ids, key=id_key, reverse=True), "home is newest first"


def test_notifications(server, alice, bob):
    notes = bob.notifications()
    by_type = {}
    for n in notes:
        by_type.setdefault(n.type, []).append(n)
    for kind in ("favourite", "reblog", "mention", "follow"):
        assert kind in by_type, f"bob has no {kind} notification: {[n.type for n in notes]}"
        assert by_type[kind][0].account.username == server.users["alice"]
    assert by_type["favourite"][0].status.id == need("bob_post").id
    assert by_type["reblog"][0].status.id == need("bob_post").id
    assert by_type["mention"][0].status.id == need("alice_reply").id
    # Mastodon leaves the key out for follows; null is fine too.
    assert by_type["follow"][0].get("status") is None
    mentions = bob.notifications(types=["mention"])
    assert mentions and all(n.type == "mention" for n in mentions)
    others = bob.notifications(exclude_types=["mention"])
    assert others and all(n.type != "mention" for n in others)


# --- paging with the Link header ----------------------------------------------------


def walk(client: Mastodon, first_page) -> list[list]:
    """Pages with fetch_next until it returns None; fails on a loop."""
    pages = [first_page]
    page = first_page
    for _ in range(MAX_PAGES):
        page = client.fetch_next(page)
        if page is None:
            return pages
        pages.append(page)
        if not page:
            # An empty page has no Link header, so fetch_next must stop now.
            assert client.fetch_next(page) is None
            return pages
    pytest.fail(f"fetch_next did not end within {MAX_PAGES} pages")


def check_paging(client: Mastodon, reference: list, first_page, limit: int):
    """`reference` is everything in one request: the pages, forwards and back, are
    that list cut into pieces of `limit`, without duplicates or gaps."""
    ref_ids = [x.id for x in reference]
    assert len(set(ref_ids)) == len(ref_ids), "duplicates in the reference list"
    assert ref_ids == sorted(ref_ids, key=id_key, reverse=True), "newest first"
    pages = walk(client, first_page)
    ids = [x.id for p in pages for x in p]
    assert len(set(ids)) == len(ids), f"duplicates across pages: {ids}"
    assert ids == ref_ids, "fetch_next, page by page, gives exactly the full list"
    full = [p for p in pages if p]
    assert all(len(p) == limit for p in full[:-1]), [len(p) for p in pages]
    assert len(pages) - len(full) <= 1, "at most one empty page, at the end"
    # And back again with fetch_previous (min_id), from the last page to the first.
    back = [full[-1]]
    page = full[-1]
    for _ in range(MAX_PAGES):
        page = client.fetch_previous(page)
        if page is None or not page:
            break
        back.append(page)
    else:
        pytest.fail(f"fetch_previous did not end within {MAX_PAGES} pages")
    assert [[x.id for x in p] for p in reversed(back)] == [[x.id for x in p] for p in full], \
        "fetch_previous gives the same pages in reverse"


def test_paging_home_timeline(alice, bob):
    for i in range(7):
        bob.status_post(f"Paging post {i}")
    reference = alice.timeline_home(limit=40)
    assert 10 <= len(reference) < 40, len(reference)
    check_paging(alice, reference, alice.timeline_home(limit=3), 3)


def test_paging_account_statuses(alice):
    bob_id = need("bob_id")
    reference = alice.account_statuses(bob_id, limit=40)
    assert len(reference) >= 9
    check_paging(alice, reference, alice.account_statuses(bob_id, limit=2), 2)


def test_paging_notifications(bob):
    reference = bob.notifications(limit=80)
    assert len(reference) >= 4
    check_paging(bob, reference, bob.notifications(limit=2), 2)


def test_since_id_and_min_id(alice, bob):
    mark = alice.timeline_home(limit=1)[0]
    new = [bob.status_post(f"Newer post {i}") for i in range(3)]
    new_ids = [s.id for s in reversed(new)]  # newest first
    assert [s.id for s in alice.timeline_home(since_id=mark.id)] == new_ids
    # min_id: the items immediately above, still newest first.
    assert [s.id for s in alice.timeline_home(min_id=mark.id, limit=2)] == new_ids[1:]


# --- bad input ----------------------------------------------------------------------


def test_unknown_status_is_404(alice):
    with pytest.raises(MastodonNotFoundError) as err:
        alice.status(123)
    assert api_status(err.value) == 404
    with pytest.raises(MastodonNotFoundError):
        alice.account(123)


def test_over_long_status_is_422(alice):
    limit = alice.instance_v2().configuration.statuses.max_characters
    with pytest.raises(MastodonAPIError) as err:
        alice.status_post("x" * (limit + 1))
    assert api_status(err.value) == 422
    assert err.value.args[3], "an error text"
    # Exactly the limit is fine.
    assert alice.status_post("y" * limit).id


def test_direct_status_of_another_user_is_404(bob, alice):
    secret = bob.status_post("Only for me", visibility="direct")
    assert bob.status(secret.id).id == secret.id
    with pytest.raises(MastodonNotFoundError):
        alice.status(secret.id)


def test_idempotency_key(bob):
    key = secrets.token_hex(8)
    first = bob.status_post("Sent twice, posted once", idempotency_key=key)
    second = bob.status_post("Sent twice, posted once", idempotency_key=key)
    assert first.id == second.id


def test_status_delete(bob):
    s = bob.status_post("Soon gone")
    deleted = bob.status_delete(s.id)
    assert deleted.id == s.id
    assert deleted.text == "Soon gone"  # Mastodon returns the source for redrafting
    with pytest.raises(MastodonNotFoundError):
        bob.status(s.id)
