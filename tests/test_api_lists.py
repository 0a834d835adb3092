"""Lists on a real running instance, driven with Mastodon.py: create, read, change and delete
them; members only among whom one follows, gone when unfollowed; the list timeline with its
replies policies and pages; exclusive lists leaving the home timeline; the list stream;
another's list not found; scopes and bad input refused with nothing stored; a member on
another server, whose block takes him out of the list."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
import websockets
from mastodon import Mastodon, MastodonAPIError, MastodonNotFoundError, StreamListener

from fediverse.api import streaming
from models.db import session_factory
from models.tables import Account, List, ListAccount
from models.tokens import create_token
from outbox import actions
from tests.flows_support import Side, following, pair  # noqa: F401  (the fixture)
from tests.stream_support import Collector
from tests.test_api_accounts_support import MASTODON_VERSION, Api, api  # noqa: F401


async def _follow(api: Api, follower: Account, *targets: Account) -> None:
    for target in targets:
        await api.act(actions.follow, follower, target)


async def test_create_read_change_delete(api: Api) -> None:  # noqa: F811
    _, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    a, b = api.mastodon(alice_token), api.mastodon(bob_token)

    friends = await api.call(a.list_create, "Friends")
    assert friends.title == "Friends" and friends.replies_policy == "list"
    assert friends.exclusive is False and isinstance(friends.id, str | int)
    raw = await api.http("POST", "/api/v1/lists", alice_token,
                         json={"title": "Work", "replies_policy": "none", "exclusive": True})
    assert raw.status_code == 200
    work = raw.json()
    assert set(work) == {"id", "title", "replies_policy", "exclusive"}
    assert isinstance(work["id"], str) and work["id"].isdigit()
    assert work["replies_policy"] == "none" and work["exclusive"] is True

    assert [x.title for x in await api.call(a.lists)] == ["Friends", "Work"]
    assert (await api.call(a.list, work["id"])).title == "Work"
    changed = await api.call(a.list_update, friends.id, "Pals", replies_policy="followed",
                             exclusive=True)
    assert (changed.title, changed.replies_policy, changed.exclusive) == ("Pals", "followed", True)
    partial = await api.http("PUT", f"/api/v1/lists/{friends.id}", alice_token,
                             data={"exclusive": "false"})
    assert partial.json() == {"id": str(friends.id), "title": "Pals",
                              "replies_policy": "followed", "exclusive": False}

    # another's list is not found, whatever is asked of it
    assert await api.call(b.lists) == []
    for method, path in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/accounts"),
                         ("POST", "/accounts"), ("DELETE", "/accounts")):
        answer = await api.http(method, f"/api/v1/lists/{friends.id}{path}", bob_token,
                                data={"title": "mine now", "account_ids[]": "1"})
        assert answer.status_code == 404 and answer.json() == {"error": "Record not found"}
    answer = await api.http("GET", f"/api/v1/timelines/list/{friends.id}", bob_token)
    assert answer.status_code == 404
    with pytest.raises(MastodonNotFoundError):
        await api.call(b.list, friends.id)
    for bad in ("0", "abc", "99999999999999999999"):
        assert (await api.http("GET", f"/api/v1/lists/{bad}", alice_token)).status_code == 404

    answer = await api.http("DELETE", f"/api/v1/lists/{work['id']}", alice_token)
    assert answer.status_code == 200 and answer.json() == {}
    assert [x.title for x in await api.call(a.lists)] == ["Pals"]
    with pytest.raises(MastodonNotFoundError):
        await api.call(a.list, work["id"])


async def test_bad_input_stores_nothing(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    for data in ({}, {"title": "  "}, {"title": "x", "replies_policy": "everyone"},
                 {"title": "x", "exclusive": "maybe"}, {"title": "x" * 256}):
        answer = await api.http("POST", "/api/v1/lists", token, data=data)
        assert answer.status_code == 422, data
        assert list(answer.json()) == ["error"] and "\n" not in answer.json()["error"]
    assert await api.rows(List) == []
    made = (await api.http("POST", "/api/v1/lists", token, data={"title": "ok"})).json()
    answer = await api.http("PUT", f"/api/v1/lists/{made['id']}", token,
                            data={"replies_policy": "all"})
    assert answer.status_code == 422
    answer = await api.http("POST", f"/api/v1/lists/{made['id']}/accounts", token, data={})
    assert answer.status_code == 422
    [kept] = await api.rows(List)
    assert (kept.title, kept.replies_policy) == ("ok", "list")


async def test_members_are_followed_accounts(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, _ = await api.user("bob")
    carol, _ = await api.user("carol")
    dave, _ = await api.user("dave")
    erin, _ = await api.user("erin", locked=True)
    a = api.mastodon(alice_token)
    await _follow(api, alice, bob, carol, dave, erin)  # erin's is only a request
    friends = await api.call(a.list_create, "Friends")
    other = await api.call(a.list_create, "Other")

    frank, _ = await api.user("frank")
    for target in (erin, frank):  # requested, and not followed at all
        with pytest.raises(MastodonAPIError) as refused:
            await api.call(a.list_accounts_add, friends.id, [target.id])
        assert refused.value.args[1] == 422
    answer = await api.http("POST", f"/api/v1/lists/{friends.id}/accounts", alice_token,
                            data={"account_ids[]": [str(bob.id), "123456789"]})
    assert answer.status_code == 404
    assert await api.rows(ListAccount) == []  # none of a refused request's accounts kept

    await api.call(a.list_accounts_add, friends.id, [bob.id, carol.id])
    await api.call(a.list_accounts_add, friends.id, [dave.id])
    await api.call(a.list_accounts_add, other.id, [bob.id])
    answer = await api.http("POST", f"/api/v1/lists/{friends.id}/accounts", alice_token,
                            data={"account_ids[]": str(bob.id)})
    assert answer.status_code == 422 and "taken" in answer.json()["error"]

    page = await api.call(a.list_accounts, friends.id, limit=2)
    assert [x.acct for x in page] == ["dave", "carol"]
    rest = await api.call(a.fetch_next, page)
    assert [x.acct for x in rest] == ["bob"]
    answer = await api.http("GET", f"/api/v1/lists/{friends.id}/accounts?limit=1", alice_token)
    assert 'rel="next"' in answer.headers["link"] and len(answer.json()) == 1
    answer = await api.http("GET", f"/api/v1/lists/{friends.id}/accounts?limit=0", alice_token)
    assert sorted(x["acct"] for x in answer.json()) == ["bob", "carol", "dave"]
    assert "link" not in answer.headers
    assert [x.title for x in await api.call(a.account_lists, bob.id)] == ["Friends", "Other"]
    assert [x.title for x in await api.call(a.account_lists, dave.id)] == ["Friends"]
    assert await api.call(a.account_lists, erin.id) == []

    await api.call(a.list_accounts_delete, friends.id, [carol.id, erin.id])
    assert [x.acct for x in await api.call(a.list_accounts, friends.id)] == ["dave", "bob"]
    await api.call(a.account_unfollow, bob.id)  # unfollowing takes bob out of every list
    assert [x.acct for x in await api.call(a.list_accounts, friends.id)] == ["dave"]
    assert await api.call(a.account_lists, bob.id) == []
    await api.call(a.account_block, dave.id)  # so does blocking
    assert await api.call(a.list_accounts, friends.id) == []

    await api.call(a.account_follow, carol.id)
    await api.call(a.list_accounts_add, other.id, [carol.id])
    async with session_factory(api.inst.state.engine, immediate=True)() as session:
        await session.exec(sa.delete(Account).where(Account.id == carol.id))  # type: ignore[call-overload]
        await session.commit()
    assert await api.rows(ListAccount) == []  # a deleted account leaves its lists
    gina, _ = await api.user("gina")
    await api.call(a.account_follow, gina.id)
    await api.call(a.list_accounts_add, other.id, [gina.id])
    await api.call(a.list_delete, other.id)
    assert await api.rows(ListAccount) == []  # and a deleted list its members
    async with session_factory(api.inst.state.engine, immediate=True)() as session:
        await session.exec(sa.delete(Account).where(Account.id == alice.id))  # type: ignore[call-overload]
        await session.commit()
    assert await api.rows(List) == []  # a deleted account's lists go with it


async def test_list_timeline_replies_policy_and_pages(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    dave, dave_token = await api.user("dave")
    _, erin_token = await api.user("erin")
    a, b, c, d = (api.mastodon(t) for t in (alice_token, bob_token, carol_token, dave_token))
    e = api.mastodon(erin_token)
    await _follow(api, alice, bob, carol, dave)
    friends = await api.call(a.list_create, "Friends")
    await api.call(a.list_accounts_add, friends.id, [bob.id, carol.id])

    to_carol = await api.call(c.status_post, "carol here")
    to_dave = await api.call(d.status_post, "dave here")  # not in the list
    to_erin = await api.call(e.status_post, "erin here")  # not followed
    mine = await api.call(a.status_post, "alice here")
    private = await api.call(b.status_post, "for followers", visibility="private")
    await api.call(b.status_post, "@carol only for carol", visibility="direct")
    dm = await api.call(b.status_post, "@alice only for alice", visibility="direct")
    r_member = await api.call(b.status_post, "@carol re", in_reply_to_id=to_carol.id)
    r_followed = await api.call(b.status_post, "@dave re", in_reply_to_id=to_dave.id)
    r_stranger = await api.call(b.status_post, "@erin re", in_reply_to_id=to_erin.id)
    r_owner = await api.call(b.status_post, "@alice re", in_reply_to_id=mine.id)
    r_self = await api.call(b.status_post, "more", in_reply_to_id=private.id)
    boost = await api.call(c.status_reblog, to_erin.id)

    always = [r_self.id, r_owner.id, dm.id, private.id, mine.id, to_carol.id]

    async def shown() -> list[Any]:
        found = await api.call(a.timeline_list, friends.id, limit=40)
        return [s.id for s in found]

    listed = await shown()
    assert listed == sorted(listed, key=int, reverse=True)
    assert set(listed) == {boost.id, r_member.id, *always}
    await api.call(a.list_update, friends.id, "Friends", replies_policy="followed")
    assert set(await shown()) == {boost.id, r_member.id, r_followed.id, *always}
    await api.call(a.list_update, friends.id, "Friends", replies_policy="none")
    assert set(await shown()) == {boost.id, *always}
    assert r_stranger.id not in await shown()

    # pages: newest first, Link headers both ways, since_id and min_id
    first = await api.call(a.timeline_list, friends.id, limit=2)
    assert [s.id for s in first] == [boost.id, r_self.id]
    second = await api.call(a.fetch_next, first)
    assert [s.id for s in second] == [r_owner.id, dm.id]
    back = await api.call(a.fetch_previous, second)
    assert [s.id for s in back] == [boost.id, r_self.id]
    since = await api.call(a.timeline_list, friends.id, since_id=mine.id)
    assert [s.id for s in since] == [boost.id, r_self.id, r_owner.id, dm.id, private.id]
    upward = await api.call(a.timeline_list, friends.id, min_id=mine.id, limit=2)
    assert [s.id for s in upward] == [dm.id, private.id]
    answer = await api.http("GET", f"/api/v1/timelines/list/{friends.id}?limit=1", alice_token)
    assert answer.status_code == 200 and f"max_id={boost.id}" in answer.headers["link"]
    assert answer.json()[0]["reblog"]["id"] == str(to_erin.id)  # the home renderer's entity
    assert answer.json()[0]["reblogged"] is False and "favourited" in answer.json()[0]

    # mutes and hidden boosts
    await api.call(a.account_mute, carol.id)
    assert set(await shown()) == {*always[:-1]}
    await api.call(a.account_unmute, carol.id)
    relationship = await api.call(a.account_follow, carol.id, reblogs=False)
    assert relationship.showing_reblogs is False
    assert set(await shown()) == set(always)


async def test_exclusive_lists_leave_the_home_timeline(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    a, b, c = (api.mastodon(t) for t in (alice_token, bob_token, carol_token))
    await _follow(api, alice, bob, carol)
    bobs = await api.call(b.status_post, "bob's")
    carols = await api.call(c.status_post, "carol's")
    mine = await api.call(a.status_post, "mine")
    news = await api.call(a.list_create, "News", exclusive=True)
    await api.call(a.list_accounts_add, news.id, [bob.id])
    loose = await api.call(a.list_create, "Loose")
    await api.call(a.list_accounts_add, loose.id, [carol.id])

    async def home() -> list[Any]:
        return [s.id for s in await api.call(a.timeline_home)]

    assert await home() == [mine.id, carols.id]
    assert [s.id for s in await api.call(a.timeline_list, news.id)] == [mine.id, bobs.id]
    await api.call(a.list_update, news.id, "News", exclusive=False)
    assert await home() == [mine.id, carols.id, bobs.id]
    await api.call(a.list_update, news.id, "News", exclusive=True)
    await api.call(a.list_delete, news.id)
    assert await home() == [mine.id, carols.id, bobs.id]


def _ids(events: list[tuple[str, Any]]) -> list[tuple[str, int]]:
    """(event, status id) of `Collector.events`."""
    return [(name, int(found) if name == "delete" else int(found.id)) for name, found in events]


async def _open(client: Mastodon, method: str, *args: Any) -> tuple[Collector, Any]:
    heard = Collector()
    handle = await asyncio.to_thread(getattr(client, method), *args, heard, run_async=True)
    assert await asyncio.to_thread(heard.opened.wait, 10)
    return heard, handle


async def test_list_stream_and_exclusive_user_stream(api: Api, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.2)
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    a, b, c = (api.mastodon(t) for t in (alice_token, bob_token, carol_token))
    await _follow(api, alice, bob, carol)
    news = await api.call(a.list_create, "News", exclusive=True)
    await api.call(a.list_accounts_add, news.id, [bob.id])
    listed, list_handle = await _open(a, "stream_list", news.id)
    home, home_handle = await _open(a, "stream_user")
    try:
        carols = await api.call(c.status_post, "not in the list")
        bobs = await api.call(b.status_post, "in the list")
        await api.call(b.status_update, bobs.id, "in the list, edited")
        await api.call(b.status_delete, bobs.id)
        events = await listed.until(3)
        await home.until(1)
        await asyncio.sleep(0.3)
    finally:
        await asyncio.to_thread(list_handle.close)
        await asyncio.to_thread(home_handle.close)
    assert _ids(events) == [("update", int(bobs.id)), ("status.update", int(bobs.id)),
                            ("delete", int(bobs.id))]
    # bob's posts stay out of alice's home stream: his list is exclusive
    assert [e for e in _ids(home.events) if e[0] != "delete"] == [("update", int(carols.id))]


async def test_list_stream_is_the_owners_only(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    await _follow(api, alice, bob)
    news = (await api.http("POST", "/api/v1/lists", alice_token, data={"title": "N"})).json()
    await api.http("POST", f"/api/v1/lists/{news['id']}/accounts", alice_token,
                   data={"account_ids[]": str(bob.id)})
    answer = await api.http("GET", f"/api/v1/streaming/list?list={news['id']}", bob_token)
    assert answer.status_code == 404
    answer = await api.http("GET", "/api/v1/streaming/list", alice_token)
    assert answer.status_code == 400
    url = api.base.replace("http://", "ws://") + "/api/v1/streaming"
    async with websockets.connect(f"{url}?access_token={bob_token}") as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "list", "list": news["id"]}))
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message == {"error": "List not found", "status": 404}
    async with websockets.connect(
            f"{url}?access_token={alice_token}&stream=list&list={news['id']}") as ws:
        await asyncio.sleep(0.1)
        posted = await api.call(api.mastodon(bob_token).status_post, "hi list")
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["stream"] == ["list", news["id"]] and message["event"] == "update"
        assert orjson.loads(message["payload"])["id"] == str(posted.id)


async def test_scopes(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    _, reader = await api.user("reader", scopes="read:statuses read:accounts write:statuses")
    _, lists_reader = await api.user("lister", scopes="read:lists")
    made = (await api.http("POST", "/api/v1/lists", token, data={"title": "x"})).json()
    for method, path in (("GET", "/api/v1/lists"), ("POST", "/api/v1/lists"),
                         ("GET", f"/api/v1/timelines/list/{made['id']}"),
                         ("GET", f"/api/v1/accounts/{alice.id}/lists")):
        answer = await api.http(method, path, reader, data={"title": "no"})
        assert answer.status_code == 403, path
        assert answer.json() == {"error": "This action is outside the authorized scopes"}
    assert (await api.http("GET", "/api/v1/lists", lists_reader)).status_code == 200
    answer = await api.http("POST", "/api/v1/lists", lists_reader, data={"title": "no"})
    assert answer.status_code == 403
    assert (await api.http("GET", "/api/v1/lists")).status_code == 401
    assert len(await api.rows(List)) == 1


async def test_a_remote_member_across_two_servers(pair) -> None:  # noqa: F811
    """Alice on A lists bob of B: his posts reach her list; when he blocks her, the follow
    ends on A and he leaves her list."""
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    bob_on_a = await following(a, alice, b, bob)
    app = await a.mastodon(alice)
    friends = await asyncio.to_thread(app.list_create, "Far friends")
    await asyncio.to_thread(app.list_accounts_add, friends.id, [bob_on_a.id])
    posted = await b.act(actions.post_status, bob, text="hello from B")

    async def listed() -> list[Any]:
        return await asyncio.to_thread(app.timeline_list, friends.id)

    [status] = await a.eventually(listed, what="bob's post in alice's list")
    assert status.uri == posted.uri and status.account.acct == f"bob@{b.inst.domain}"
    alice_on_b = await b.resolve(a.handle("alice"))
    await b.act(actions.block, bob, alice_on_b)

    async def left() -> bool:
        return not await asyncio.to_thread(app.list_accounts, friends.id)

    await a.eventually(left, what="bob leaving alice's list")
    assert await a.rows(ListAccount) == []
