"""A day of use with Mastodon.py, beyond the core flow of test_mastodon_py.py:
profiles, lookups and search, locked accounts and follow requests, edits with
history, pins, bookmarks, the public, local and hashtag timelines, visibility,
mutes and blocks, markers and the small endpoints apps call at start-up.

It runs after test_mastodon_py.py (pytest.ini) with its own users, carol and dave,
so the core file's exact counts are not disturbed. Tests run in file order and
share `STATE`.
"""

from __future__ import annotations

import re
import secrets

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError

from conftest import BOB_REDIRECT, _suffix, sign_in

STATE: dict = {}


def need(key: str):
    if key not in STATE:
        pytest.fail(f"needs {key!r} from an earlier test that failed or did not run")
    return STATE[key]


@pytest.fixture(scope="module")
def users(server):
    suffix = _suffix()
    names = {"carol": "carol" + suffix, "dave": "dave" + suffix}
    for username in names.values():
        server.create_user(username, f"{username}@example.org")
    return names


@pytest.fixture(scope="module")
def carol(server, app_credentials, users):
    return sign_in(server, app_credentials, users["carol"], BOB_REDIRECT, pkce=True)[0]


@pytest.fixture(scope="module")
def dave(server, app_credentials, users):
    return sign_in(server, app_credentials, users["dave"], BOB_REDIRECT, pkce=True)[0]


def test_start_up_calls(carol):
    """What Ivory and others call right after signing in."""
    prefs = carol.preferences()
    assert prefs["posting:default:visibility"] in ("public", "unlisted", "private", "direct")
    assert "reading:expand:spoilers" in prefs
    assert carol.lists() == []
    assert isinstance(carol.custom_emojis(), list)
    markers = carol.markers_get(["home", "notifications"])
    assert isinstance(markers, dict)


def test_update_credentials(carol, users):
    me = carol.account_update_credentials(
        display_name="Carol C.",
        note="Hello, I am <Carol> & I post #things",
        fields=[("Website", "https://carol.example/"), ("Pronouns", "she/her")],
        bot=False,
        discoverable=True,
    )
    STATE["carol_id"] = me.id
    assert me.display_name == "Carol C."
    assert "&lt;Carol&gt;" in me.note and "<Carol>" not in me.note, me.note
    assert me.source.note == "Hello, I am <Carol> & I post #things"
    assert [f.name for f in me.fields] == ["Website", "Pronouns"]
    assert me.fields[1].value == "she/her"
    assert me.source.fields[0].value == "https://carol.example/"
    again = carol.account_verify_credentials()
    assert again.display_name == "Carol C."
    assert again.discoverable is True


def test_profile_links_are_linkified(carol):
    # Mastodon renders the note and field values as HTML with links (rel="me" on
    # field links). Fulmar once returned them as escaped plain text.
    me = carol.account_update_credentials(
        note="My site: https://carol.example/about",
        fields=[("Website", "https://carol.example/")],
    )
    assert 'href="https://carol.example/"' in me.fields[0].value, me.fields[0].value
    assert 'href="https://carol.example/about"' in me.note, me.note
    assert re.search(r'rel="[^"]*\bme\b', me.fields[0].value), me.fields[0].value


def test_lookup_and_search(carol, dave, users):
    found = carol.account_lookup(users["dave"])
    assert found.username == users["dave"]
    STATE["dave_id"] = found.id
    assert carol.account(found.id).acct == users["dave"]
    hits = carol.account_search(users["dave"][:4])
    assert found.id in [a.id for a in hits]
    with pytest.raises(MastodonNotFoundError):
        carol.account_lookup("nobody-here-" + secrets.token_hex(3))


def test_locked_account_and_follow_request(carol, dave):
    dave_id, carol_id = need("dave_id"), need("carol_id")
    assert dave.account_update_credentials(locked=True).locked is True
    rel = carol.account_follow(dave_id)
    assert rel.following is False and rel.requested is True, rel
    requests_ = dave.follow_requests()
    assert carol_id in [a.id for a in requests_]
    types = [n.type for n in dave.notifications()]
    assert "follow_request" in types, types
    rel = dave.follow_request_authorize(carol_id)
    assert rel.followed_by is True
    [rel] = carol.account_relationships(dave_id)
    assert rel.following is True and rel.requested is False
    assert carol_id in [a.id for a in dave.account_followers(dave_id)]
    assert dave.follow_requests() == []


def test_private_post_for_followers_only(carol, dave, server, alice):
    private = dave.status_post("For my followers", visibility="private")
    assert private.visibility == "private"
    assert carol.status(private.id).id == private.id, "a follower sees it"
    with pytest.raises(MastodonNotFoundError):
        alice.status(private.id)  # alice does not follow dave: 404, never 403
    assert private.id in [s.id for s in carol.timeline_home()]
    assert private.id not in [s.id for s in alice.timeline_public()]
    with pytest.raises(MastodonAPIError) as err:
        carol.status_reblog(private.id)
    assert err.value.args[1] in (403, 404, 422), err.value.args


def test_public_local_and_hashtag_timelines(carol, dave):
    tag = "fulmar" + secrets.token_hex(3)
    public = dave.status_post(f"Out in the open #{tag}")
    unlisted = dave.status_post(f"Quietly #{tag}", visibility="unlisted")
    STATE["dave_public"] = public
    for timeline in (carol.timeline_public(), carol.timeline_local()):
        ids = [s.id for s in timeline]
        assert public.id in ids
        assert unlisted.id not in ids, "unlisted stays out of public timelines"
    tagged = carol.timeline_hashtag(tag)
    assert [s.id for s in tagged] == [public.id]
    # Hashtags are case-insensitive.
    assert [s.id for s in carol.timeline_hashtag(tag.upper())] == [public.id]


def test_search_v2(carol, users):
    public = need("dave_public")
    tag = public.tags[0].name
    res = carol.search_v2(users["dave"], resolve=False)
    assert users["dave"] in [a.username for a in res.accounts]
    res = carol.search_v2(f"#{tag}", resolve=False)
    assert tag in [h.name for h in res.hashtags]


def test_edit_with_history_and_source(carol):
    s = carol.status_post("First version", spoiler_text="cw")
    assert s.spoiler_text == "cw" and s.sensitive is True
    assert s.edited_at is None
    edited = carol.status_update(s.id, "Second version", spoiler_text="")
    assert edited.id == s.id
    assert "Second version" in edited.content
    assert edited.edited_at is not None
    assert edited.spoiler_text == ""
    history = carol.status_history(s.id)
    assert [("First version" in h.content, "Second version" in h.content) for h in history] == [
        (True, False),
        (False, True),
    ]
    source = carol.status_source(s.id)
    assert source.text == "Second version"
    assert source.id == s.id


def test_reblogged_and_favourited_by(carol, dave):
    public = need("dave_public")
    carol.status_favourite(public.id)
    carol.status_reblog(public.id)
    assert [a.id for a in dave.status_favourited_by(public.id)] == [need("carol_id")]
    assert [a.id for a in dave.status_reblogged_by(public.id)] == [need("carol_id")]
    # Undo both, twice: the second undo is harmless.
    for _ in range(2):
        assert carol.status_unfavourite(public.id).favourited is False
        assert carol.status_unreblog(public.id).reblogged is False
    assert dave.status(public.id).favourites_count == 0
    assert dave.status(public.id).reblogs_count == 0


def test_pins_bookmarks_and_favourites(carol, dave):
    public = need("dave_public")
    mine = carol.status_post("Pin me")
    assert carol.status_pin(mine.id).pinned is True
    pinned = carol.account_statuses(need("carol_id"), pinned=True)
    assert [s.id for s in pinned] == [mine.id]
    assert carol.status_unpin(mine.id).pinned is False
    assert carol.status_bookmark(public.id).bookmarked is True
    assert public.id in [s.id for s in carol.bookmarks()]
    carol.status_favourite(public.id)
    assert public.id in [s.id for s in carol.favourites()]
    assert carol.status_unbookmark(public.id).bookmarked is False
    assert public.id not in [s.id for s in carol.bookmarks()]


def test_mute_and_block(carol, dave):
    dave_id = need("dave_id")
    rel = carol.account_mute(dave_id)
    assert rel.muting is True
    muted = dave.status_post("Carol should not see this in home")
    assert muted.id not in [s.id for s in carol.timeline_home()]
    assert dave_id in [a.id for a in carol.mutes()]
    assert carol.account_unmute(dave_id).muting is False
    rel = carol.account_block(dave_id)
    assert rel.blocking is True and rel.following is False, "a block ends the follow"
    assert dave_id in [a.id for a in carol.blocks()]
    assert carol.account_unblock(dave_id).blocking is False


def test_links_are_shortened_like_mastodon(carol):
    url = "https://example.org/a/rather/long/path/that/goes/on/and/on/and/on?with=query"
    s = carol.status_post(f"Read {url}\n\nsecond paragraph\nwith a line break")
    assert f'href="{url.replace("&", "&amp;")}"' in s.content, s.content
    assert 'class="invisible"' in s.content, s.content
    assert 'class="ellipsis"' in s.content, s.content
    assert re.search(r"<p>.*</p><p>second paragraph<br\s*/?>with a line break</p>", s.content), s.content


def test_markers_set_and_get(carol):
    home = carol.timeline_home(limit=1)
    assert home
    carol.markers_set(["home"], [home[0].id])
    markers = carol.markers_get(["home"])
    assert markers["home"].last_read_id == home[0].id


def test_unfollow(carol, dave):
    # carol's block of dave already ended the follow; follow again, then unfollow.
    dave.account_update_credentials(locked=False)
    assert carol.account_follow(need("dave_id")).following is True
    rel = carol.account_unfollow(need("dave_id"))
    assert rel.following is False
    after = dave.status_post("After the unfollow")
    assert after.id not in [s.id for s in carol.timeline_home()]


def test_notification_dismiss_and_clear(dave):
    notes = dave.notifications()
    assert notes
    dave.notifications_dismiss(notes[0].id)
    assert notes[0].id not in [n.id for n in dave.notifications()]
    dave.notifications_clear()
    assert dave.notifications() == []
