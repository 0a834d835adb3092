"""User domain blocks through the client API, driven with Mastodon.py: the list with Link
pages, domains normalised, bad input and scopes refused; and, across two live instances,
what a block does: the blocked server's posts (and boosts of them) leave the timelines and
search, its notifications hide, its followers go (told with a Reject), its accounts cannot
be followed, and the Relationship says `domain_blocking`."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from mastodon import Mastodon, MastodonAPIError

from fediverse.api import streaming
from models.tables import Account, DomainBlock, Follow
from models.tokens import create_token
from outbox import actions
from tests.flows_support import Side, following, pair  # noqa: F401
from tests.stream_support import Heard
from tests.test_api_accounts_support import MASTODON_VERSION, Api, api  # noqa: F401


async def test_block_list_and_unblock_domains(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    client = api.mastodon(token)
    assert await api.call(client.domain_blocks) == []
    await api.call(client.domain_block, "Example.COM")
    await api.call(client.domain_block, "https://Bücher.example/some/path")
    await api.call(client.domain_block, "example.com")  # again: nothing changes
    assert await api.call(client.domain_blocks) == ["xn--bcher-kva.example", "example.com"]

    first = await api.http("GET", "/api/v1/domain_blocks?limit=1", token)
    assert first.status_code == 200 and first.json() == ["xn--bcher-kva.example"]
    assert 'rel="next"' in first.headers["link"]
    page = await api.call(client.domain_blocks, limit=1)
    rest = await api.call(client.fetch_next, page)
    assert rest == ["example.com"]

    await api.call(client.domain_unblock, "EXAMPLE.com")
    assert await api.call(client.domain_blocks) == ["xn--bcher-kva.example"]
    answer = await api.http("DELETE", "/api/v1/domain_blocks", token,
                            data={"domain": "never.blocked"})
    assert answer.status_code == 200 and answer.json() == {}
    assert [r.domain for r in await api.rows(DomainBlock)] == ["xn--bcher-kva.example"]


@pytest.mark.parametrize("domain", ["", "   ", "not a domain", "-bad-.example", "a..b",
                                    "exa_mple.com", "x" * 300])
async def test_bad_domains_are_refused(api: Api, domain: str) -> None:  # noqa: F811
    _, token = await api.user("alice")
    answer = await api.http("POST", "/api/v1/domain_blocks", token, data={"domain": domain})
    assert answer.status_code == 422 and answer.json()["error"].startswith("Validation failed")
    assert await api.rows(DomainBlock) == []


async def test_own_domain_and_missing_domain_are_refused(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    for body in ({"domain": api.inst.domain}, {"domain": f"http://{api.inst.domain}/"},
                 {"domain": "127.0.0.1"}, {}):
        answer = await api.http("POST", "/api/v1/domain_blocks", token, data=body)
        assert answer.status_code == 422, body
        assert list(answer.json()) == ["error"]
    answer = await api.http("DELETE", "/api/v1/domain_blocks", token)
    assert answer.status_code == 422
    assert await api.rows(DomainBlock) == []


async def test_scopes(api: Api) -> None:  # noqa: F811
    _, reader = await api.user("reader", scopes="read:blocks")
    _, writer = await api.user("writer", scopes="write:blocks")
    _, follow = await api.user("follower", scopes="follow")
    _, other = await api.user("other", scopes="read:statuses write:statuses")
    body = {"domain": "example.com"}
    assert (await api.http("GET", "/api/v1/domain_blocks", reader)).status_code == 200
    assert (await api.http("POST", "/api/v1/domain_blocks", reader, data=body)).status_code == 403
    assert (await api.http("GET", "/api/v1/domain_blocks", writer)).status_code == 403
    assert (await api.http("POST", "/api/v1/domain_blocks", writer, data=body)).status_code == 200
    assert (await api.http("DELETE", "/api/v1/domain_blocks", writer, data=body)
            ).status_code == 200
    assert (await api.http("POST", "/api/v1/domain_blocks", follow, data=body)).status_code == 200
    assert (await api.http("GET", "/api/v1/domain_blocks", follow)).json() == ["example.com"]
    for method in ("GET", "POST", "DELETE"):
        assert (await api.http(method, "/api/v1/domain_blocks", other, data=body)
                ).status_code == 403
        assert (await api.http(method, "/api/v1/domain_blocks", None, data=body)
                ).status_code == 401
    assert len(await api.rows(DomainBlock)) == 1


async def _ids(fn: Any, *args: Any, **kwargs: Any) -> set[str]:
    return {str(s.id) for s in await asyncio.to_thread(fn, *args, **kwargs)}


async def test_a_blocked_server_disappears_from_its_blocker(pair) -> None:  # noqa: F811
    a, b = pair
    alice, carol = await a.account("alice"), await a.account("carol")
    bob, dave = await b.account("bob"), await b.account("dave")
    await following(b, bob, a, alice)  # bob follows alice: a follower from B
    bob_on_a = await following(a, alice, b, bob)  # and alice follows him
    dave_on_a = await a.resolve(b.handle("dave"))
    await a.act(actions.follow, alice, carol)
    await a.act(actions.follow, carol, alice)  # a notification not from B
    alice_app, carol_app = await a.mastodon(alice), await a.mastodon(carol)
    alice_on_b = await b.resolve(a.handle("alice"))

    sent = await b.act(actions.post_status, bob, text="#cats kittens @alice",
                       mentions=[alice_on_b])
    arrived = await a.eventually(lambda: a.status(sent.uri), what="bob's post")
    sid = str(arrived.id)
    dm = await b.act(actions.post_status, bob, text="psst @alice", visibility="direct",
                     mentions=[alice_on_b])
    await a.eventually(lambda: a.status(dm.uri), what="bob's direct message")
    boost = await asyncio.to_thread(carol_app.status_reblog, sid)
    own = await asyncio.to_thread(carol_app.status_post, "kittens from carol #cats")

    async def mentioned() -> bool:
        return any(n.type == "mention" for n in
                   await asyncio.to_thread(alice_app.notifications))

    await a.eventually(mentioned, what="bob's mention")
    assert len(await asyncio.to_thread(alice_app.conversations)) == 1
    home = await _ids(alice_app.timeline_home)
    assert {sid, str(boost.id), str(own.id)} <= home
    assert sid in await _ids(alice_app.timeline_public)
    assert sid in await _ids(alice_app.timeline_hashtag, "cats")
    found = await asyncio.to_thread(alice_app.search_v2, "kittens", result_type="statuses")
    assert sid in {str(s.id) for s in found.statuses}
    [rel] = await asyncio.to_thread(alice_app.account_relationships, bob_on_a.id)
    assert rel.domain_blocking is False and rel.followed_by is True

    await asyncio.to_thread(alice_app.domain_block, b.inst.domain)

    home = await _ids(alice_app.timeline_home)
    assert sid not in home and str(boost.id) not in home and str(own.id) in home
    assert sid not in await _ids(alice_app.timeline_public)
    assert await _ids(alice_app.timeline_hashtag, "cats") == {str(own.id)}
    found = await asyncio.to_thread(alice_app.search_v2, "kittens", result_type="statuses")
    assert [str(s.id) for s in found.statuses] == [str(own.id)]
    assert await asyncio.to_thread(alice_app.conversations) == []
    notes = await asyncio.to_thread(alice_app.notifications)
    assert notes and all(str(n.account.id) != str(bob_on_a.id) for n in notes)
    [rel] = await asyncio.to_thread(alice_app.account_relationships, bob_on_a.id)
    assert rel.domain_blocking is True and rel.followed_by is False
    assert rel.following is True  # her own follow stays, as Mastodon's
    [other] = await asyncio.to_thread(carol_app.account_relationships, bob_on_a.id)
    assert other.domain_blocking is False  # the block is alice's alone
    assert sid in await _ids(carol_app.timeline_public)

    # bob's follow of alice ends here, and B hears of it (a Reject)
    assert await a.rows(Follow, Follow.account_id == bob_on_a.id) == []

    async def unfollowed() -> bool:
        return not await b.rows(Follow, Follow.account_id == bob.id,
                                Follow.target_account_id == alice_on_b.id)

    await b.eventually(unfollowed, what="the end of bob's follow")
    with pytest.raises(MastodonAPIError) as refused:
        await asyncio.to_thread(alice_app.account_follow, dave_on_a.id)
    assert refused.value.args[1] == 403
    assert await a.rows(Follow, Follow.target_account_id == dave_on_a.id) == []
    # and a new follow from B is refused (a Reject), as Mastodon does
    await b.act(actions.follow, dave, alice_on_b)

    async def refused_there() -> bool:
        return not await b.rows(Follow, Follow.account_id == dave.id)

    await b.eventually(refused_there, what="the Reject of dave's follow")
    assert await a.rows(Follow, Follow.account_id == dave_on_a.id) == []

    await asyncio.to_thread(alice_app.domain_unblock, b.inst.domain)
    home = await _ids(alice_app.timeline_home)
    assert {sid, str(boost.id)} <= home
    assert len(await asyncio.to_thread(alice_app.conversations)) == 1
    [rel] = await asyncio.to_thread(alice_app.account_relationships, bob_on_a.id)
    assert rel.domain_blocking is False
    assert any(str(n.account.id) == str(bob_on_a.id)
               for n in await asyncio.to_thread(alice_app.notifications))


async def test_streams_skip_a_blocked_server(pair, monkeypatch) -> None:  # noqa: F811
    """After alice blocks B, bob's post (which still comes to A: she follows him) and his
    mention of her reach neither her user stream nor her public stream; carol's do."""
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.2)
    a, b = pair
    alice, carol = await a.account("alice"), await a.account("carol")
    bob = await b.account("bob")
    await following(a, alice, b, bob)
    await a.act(actions.follow, alice, carol)
    alice_app, carol_app = await a.mastodon(alice), await a.mastodon(carol)
    alice_on_b = await b.resolve(a.handle("alice"))
    await asyncio.to_thread(alice_app.domain_block, b.inst.domain)
    user, public = Heard(), Heard()
    handles = [await asyncio.to_thread(alice_app.stream_user, user, run_async=True),
               await asyncio.to_thread(alice_app.stream_public, public, run_async=True)]
    try:
        for heard in (user, public):
            assert await asyncio.to_thread(heard.opened.wait, 10)
        sent = await b.act(actions.post_status, bob, text="hello @alice", mentions=[alice_on_b])
        await a.eventually(lambda: a.status(sent.uri), what="bob's post")
        await a.settled()
        own = await asyncio.to_thread(carol_app.status_post, "hello from carol @alice")
        for _ in range(200):
            if user.updates and public.updates and user.notifications:
                break
            await asyncio.sleep(0.025)
        await asyncio.sleep(0.3)
    finally:
        for handle in handles:
            await asyncio.to_thread(handle.close)
    assert [s.id for s in user.updates] == [own.id]
    assert [s.id for s in public.updates] == [own.id]
    assert [n.account.acct for n in user.notifications] == ["carol"]
