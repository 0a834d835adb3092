"""Followed hashtags through the client API, driven with Mastodon.py: follow (making the tag
when no status carries it yet), unfollow, the list with Link pages, `following` on the Tag,
scopes and bad names; public statuses carrying a followed tag in the home timeline and on
the user stream, whoever posts them, also from another server; not when muted, blocked or
domain-blocked, nor when not public."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from mastodon import Mastodon

from fediverse.api import streaming
from models.tables import Account, Tag, TagFollow
from models.tokens import create_token
from tests.flows_support import Side, following, pair  # noqa: F401
from tests.stream_support import Heard
from tests.test_api_accounts_support import MASTODON_VERSION, Api, api  # noqa: F401


async def test_follow_unfollow_and_list_tags(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    _, other_token = await api.user("bob")
    client = api.mastodon(token)
    assert await api.call(client.followed_tags) == []
    assert await api.rows(Tag) == []
    cats = await api.call(client.tag_follow, "Cats")  # no status carries it: made now
    assert cats.name == "Cats" and cats.following is True and cats.url.endswith("/tags/cats")
    await api.call(client.tag_follow, "dogs")
    again = await api.call(client.tag_follow, "cats")  # any letter case: the same tag
    assert again.id == cats.id and again.following is True
    assert [t.name for t in await api.rows(Tag)] == ["Cats", "dogs"]
    listed = await api.call(client.followed_tags)
    assert [(t.name, t.following) for t in listed] == [("dogs", True), ("Cats", True)]

    first = await api.http("GET", "/api/v1/followed_tags?limit=1", token)
    assert [t["name"] for t in first.json()] == ["dogs"]
    assert 'rel="next"' in first.headers["link"]
    page = await api.call(client.followed_tags, limit=1)
    assert [t.name for t in await api.call(client.fetch_next, page)] == ["Cats"]

    shown = await api.call(client.tag, "cats")
    assert shown.following is True
    assert (await api.call(api.mastodon(other_token).tag, "cats")).following is False
    found = await api.call(client.search_v2, "#cats", result_type="hashtags")
    assert [(t.name, t.following) for t in found.hashtags] == [("Cats", True)]
    anonymous = await api.http("GET", "/api/v1/tags/cats")
    assert anonymous.status_code == 200 and "following" not in anonymous.json()

    gone = await api.call(client.tag_unfollow, "CATS")
    assert gone.id == cats.id and gone.following is False
    assert [t.name for t in await api.call(client.followed_tags)] == ["dogs"]
    assert (await api.call(client.tag, "cats")).following is False
    assert len(await api.rows(TagFollow)) == 1


async def test_bad_names_and_scopes(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    _, reader = await api.user("reader", scopes="read:follows")
    _, writer = await api.user("writer", scopes="write:follows")
    _, follow = await api.user("follower", scopes="follow")
    _, other = await api.user("other", scopes="read:statuses write:statuses")
    for name in ("123", "no-dash", "x" * 300, "%20"):
        answer = await api.http("POST", f"/api/v1/tags/{name}/follow", token)
        assert answer.status_code == 404, name
    answer = await api.http("POST", "/api/v1/tags/neverseen/unfollow", token)
    assert answer.status_code == 404 and answer.json() == {"error": "Record not found"}
    assert await api.rows(Tag) == [] and await api.rows(TagFollow) == []

    assert (await api.http("GET", "/api/v1/followed_tags", reader)).status_code == 200
    assert (await api.http("POST", "/api/v1/tags/cats/follow", reader)).status_code == 403
    assert (await api.http("GET", "/api/v1/followed_tags", writer)).status_code == 403
    assert (await api.http("POST", "/api/v1/tags/cats/follow", writer)).status_code == 200
    assert (await api.http("POST", "/api/v1/tags/cats/unfollow", writer)).status_code == 200
    assert (await api.http("POST", "/api/v1/tags/cats/follow", follow)).status_code == 200
    assert [t["name"] for t in (await api.http("GET", "/api/v1/followed_tags", follow)).json()
            ] == ["cats"]
    for method, path in (("GET", "/api/v1/followed_tags"), ("POST", "/api/v1/tags/cats/follow"),
                         ("POST", "/api/v1/tags/cats/unfollow")):
        assert (await api.http(method, path, other)).status_code == 403
        assert (await api.http(method, path, None)).status_code == 401
    assert len(await api.rows(TagFollow)) == 1


async def _ids(api: Api, client: Mastodon, **kwargs: Any) -> list[str]:
    return [str(s.id) for s in await api.call(client.timeline_home, **kwargs)]


async def test_followed_tags_fill_the_home_timeline(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")  # follows no one: her home is only tags
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    client, bob_app, carol_app = (api.mastodon(token), api.mastodon(bob_token),
                                  api.mastodon(carol_token))
    before = await api.call(bob_app.status_post, "#cats before she follows")
    await api.call(client.tag_follow, "cats")
    tagged = await api.call(bob_app.status_post, "look #Cats")
    await api.call(bob_app.status_post, "quiet #cats", visibility="unlisted")
    await api.call(bob_app.status_post, "private #cats", visibility="private")
    await api.call(bob_app.status_post, "#dogs only")
    await api.call(carol_app.status_reblog, tagged.id)  # a boost carries no tag of its own
    muted = await api.call(carol_app.status_post, "carol's #cats")
    blocker = (await api.user("dave"))[1]
    blocked = await api.call(api.mastodon(blocker).status_post, "dave's #cats")

    assert await _ids(api, client) == [str(blocked.id), str(muted.id), str(tagged.id),
                                       str(before.id)]
    assert await _ids(api, client, limit=1, max_id=muted.id) == [str(tagged.id)]
    assert await _ids(api, client, min_id=tagged.id) == [str(blocked.id), str(muted.id)]
    await api.call(client.account_mute, carol.id)
    await api.call(api.mastodon(blocker).account_block, (await api.rows(
        Account, Account.username == "alice"))[0].id)
    assert await _ids(api, client) == [str(tagged.id), str(before.id)]

    await api.call(client.tag_unfollow, "cats")
    assert await _ids(api, client) == []
    # bob's own home is his statuses: no tag of hers reaches it
    assert str(tagged.id) in await _ids(api, bob_app)


async def test_user_stream_tells_of_followed_tags(api: Api, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.2)
    _, token = await api.user("alice")
    _, bob_token = await api.user("bob")
    client, bob_app = api.mastodon(token), api.mastodon(bob_token)
    await api.call(client.tag_follow, "cats")
    heard = Heard()
    handle = await api.call(client.stream_user, heard, run_async=True)
    try:
        assert await asyncio.to_thread(heard.opened.wait, 10)
        await api.call(bob_app.status_post, "#dogs only")
        unlisted = await api.call(bob_app.status_post, "unlisted #cats", visibility="unlisted")
        sent = await api.call(bob_app.status_post, "streamed #cats")
        for _ in range(200):
            if heard.updates:
                break
            await asyncio.sleep(0.025)
        await api.call(bob_app.status_delete, unlisted.id)
        await api.call(bob_app.status_delete, sent.id)  # where she saw it, she hears it go
        for _ in range(200):
            if heard.deleted:
                break
            await asyncio.sleep(0.025)
        await asyncio.sleep(0.3)
    finally:
        await asyncio.to_thread(handle.close)
    assert [s.id for s in heard.updates] == [sent.id]
    assert heard.deleted == [int(sent.id)]


async def test_a_remote_status_with_a_followed_tag_reaches_home(pair) -> None:  # noqa: F811
    """Carol on A follows bob on B, so his posts come to A; alice, following only #cats, gets
    his #cats post in her home, until she blocks B."""
    from outbox import actions

    a, b = pair
    alice, carol = await a.account("alice"), await a.account("carol")
    bob = await b.account("bob")
    await following(a, carol, b, bob)
    alice_app = await a.mastodon(alice)
    await asyncio.to_thread(alice_app.tag_follow, "cats")
    plain = await b.act(actions.post_status, bob, text="no tag here")
    sent = await b.act(actions.post_status, bob, text="remote #cats")
    await a.eventually(lambda: a.status(plain.uri), what="bob's untagged post")
    arrived = await a.eventually(lambda: a.status(sent.uri), what="bob's #cats post")

    home = [str(s.id) for s in await asyncio.to_thread(alice_app.timeline_home)]
    assert home == [str(arrived.id)]
    await asyncio.to_thread(alice_app.domain_block, b.inst.domain)
    assert await asyncio.to_thread(alice_app.timeline_home) == []
