"""The conversations API on a real running instance, driven with Mastodon.py: direct statuses
grouped by thread, newest activity first, unread for whom they reach, read and removed until a
new message comes; pages with Link headers; scopes and unknown ids refused."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from mastodon import Mastodon, MastodonNotFoundError

from fediverse.api import streaming
from models.tables import Account, ConversationMark
from models.tokens import create_token
from outbox import actions
from tests.flows_support import Side, pair  # noqa: F401
from tests.stream_support import Heard
from tests.test_api_accounts_support import MASTODON_VERSION, Api, api  # noqa: F401


async def test_direct_statuses_make_conversations(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    carol_client = api.mastodon(carol_token)

    first = await api.call(alice_client.status_post, "@bob secret", visibility="direct")
    await api.call(alice_client.status_post, "@bob public hello", visibility="public")
    other = await api.call(carol_client.status_post, "@bob @alice psst", visibility="direct")

    bobs = await api.call(bob_client.conversations)
    assert [c.last_status.id for c in bobs] == [other.id, first.id]
    assert all(c.unread for c in bobs)
    assert [a.acct for a in bobs[0].accounts] == ["carol", "alice"]
    assert [a.acct for a in bobs[1].accounts] == ["alice"]
    assert bobs[1].last_status.visibility == "direct"
    assert "secret" in bobs[1].last_status.content

    alices = await api.call(alice_client.conversations)  # her own message is read
    assert [c.last_status.id for c in alices] == [other.id, first.id]
    assert [c.unread for c in alices] == [True, False]
    assert [a.acct for a in alices[1].accounts] == ["bob"]
    assert await api.call(api.mastodon((await api.user("dave"))[1]).conversations) == []

    reply = await api.call(bob_client.status_post, "@alice got it", visibility="direct",
                           in_reply_to_id=first.id)
    bobs = await api.call(bob_client.conversations)
    assert [c.last_status.id for c in bobs] == [reply.id, other.id]
    assert bobs[0].id == str(first.id) and bobs[0].unread is False  # his own reply: read
    alices = await api.call(alice_client.conversations)
    assert alices[0].id == str(first.id) and alices[0].unread is True
    assert alices[0].last_status.id == reply.id and alices[0].last_status.account.acct == "bob"


async def test_read_and_remove_until_a_new_message(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    first = await api.call(alice_client.status_post, "@bob one", visibility="direct")
    [conv] = await api.call(bob_client.conversations)
    assert conv.unread

    done = await api.call(bob_client.conversations_read, conv.id)
    assert done.id == conv.id and done.unread is False and done.last_status.id == first.id
    [conv] = await api.call(bob_client.conversations)
    assert conv.unread is False
    [theirs] = await api.call(alice_client.conversations)  # alice's state is her own
    assert theirs.id == conv.id and theirs.unread is False

    answer = await api.http("DELETE", f"/api/v1/conversations/{conv.id}", bob_token)
    assert answer.status_code == 200 and answer.json() == {}
    assert await api.call(bob_client.conversations) == []
    assert len(await api.call(alice_client.conversations)) == 1
    answer = await api.http("POST", f"/api/v1/conversations/{conv.id}/read", bob_token)
    assert answer.status_code == 404  # removed: not his to read until a new message

    second = await api.call(alice_client.status_post, "@bob two", visibility="direct",
                            in_reply_to_id=first.id)
    [back] = await api.call(bob_client.conversations)
    assert back.id == conv.id and back.unread is True and back.last_status.id == second.id

    await api.call(alice_client.status_delete, second.id)  # still removed up to the first
    assert await api.call(bob_client.conversations) == []


async def test_blocked_and_muted_accounts_neither_make_nor_surface_one(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    dave, dave_token = await api.user("dave")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    carol_client, dave_client = api.mastodon(carol_token), api.mastodon(dave_token)
    await api.call(bob_client.account_block, carol.id)
    await api.call(bob_client.account_mute, dave.id)

    blocked = await api.call(carol_client.status_post, "@bob hi", visibility="direct")
    muted = await api.call(dave_client.status_post, "@bob hey", visibility="direct")
    assert await api.call(bob_client.conversations) == []
    for path in (f"{blocked.id}/read", f"{muted.id}/read"):
        assert (await api.http("POST", f"/api/v1/conversations/{path}", bob_token)
                ).status_code == 404
    assert len(await api.call(dave_client.conversations)) == 1  # his own is still his

    first = await api.call(alice_client.status_post, "@bob @carol @dave all", visibility="direct")
    [conv] = await api.call(bob_client.conversations)
    await api.call(bob_client.conversations_read, conv.id)
    await api.call(carol_client.status_post, "@bob @alice me too", visibility="direct",
                   in_reply_to_id=first.id)
    daves = await api.call(dave_client.status_post, "@bob @alice and me",
                           visibility="direct", in_reply_to_id=first.id)
    [conv] = await api.call(bob_client.conversations)  # neither makes it unread
    assert conv.id == str(first.id) and conv.unread is False
    assert conv.last_status.id == first.id

    await api.http("DELETE", f"/api/v1/conversations/{conv.id}", bob_token)
    last = await api.call(carol_client.status_post, "@bob @alice still here",
                          visibility="direct", in_reply_to_id=first.id)
    assert await api.call(bob_client.conversations) == []  # nor shows it again
    [alices] = await api.call(alice_client.conversations)  # alice blocks no one
    assert alices.last_status.id == last.id and alices.unread is True

    await api.call(bob_client.account_unmute, dave.id)  # read at request time: back
    bobs = await api.call(bob_client.conversations)
    assert [c.last_status.id for c in bobs] == [daves.id, muted.id]
    assert [c.id for c in bobs] == [str(first.id), str(muted.id)]
    assert all(c.unread for c in bobs)


async def test_id_stays_when_the_first_status_goes(api: Api) -> None:  # noqa: F811
    _, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    first = await api.call(alice_client.status_post, "@bob one", visibility="direct")
    second = await api.call(bob_client.status_post, "@alice two", visibility="direct",
                            in_reply_to_id=first.id)
    third = await api.call(alice_client.status_post, "@bob three", visibility="direct",
                           in_reply_to_id=second.id)
    await api.call(alice_client.status_delete, first.id)

    [conv] = await api.call(bob_client.conversations)
    assert conv.id == str(first.id) and conv.last_status.id == third.id and conv.unread
    [theirs] = await api.call(alice_client.conversations)
    assert theirs.id == conv.id
    done = await api.call(bob_client.conversations_read, conv.id)
    assert done.id == conv.id and done.unread is False
    assert (await api.http("POST", f"/api/v1/conversations/{second.id}/read", bob_token)
            ).status_code == 404  # not its id

    await api.call(alice_client.status_delete, third.id)
    [conv] = await api.call(bob_client.conversations)
    assert conv.id == str(first.id) and conv.last_status.id == second.id
    answer = await api.http("DELETE", f"/api/v1/conversations/{conv.id}", bob_token)
    assert answer.status_code == 200 and await api.call(bob_client.conversations) == []
    await api.call(bob_client.status_delete, second.id)  # none left: gone for alice too
    assert await api.call(alice_client.conversations) == []


async def test_pages_and_link_headers(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    posted = [await api.call(alice_client.status_post, f"@bob n{i}", visibility="direct")
              for i in range(5)]
    newest_first = [p.id for p in reversed(posted)]
    page = await api.call(bob_client.conversations, limit=2)
    assert [c.last_status.id for c in page] == newest_first[:2]
    nxt = await api.call(bob_client.fetch_next, page)
    assert [c.last_status.id for c in nxt] == newest_first[2:4]
    prev = await api.call(bob_client.fetch_previous, nxt)
    assert [c.last_status.id for c in prev] == newest_first[:2]
    since = await api.call(bob_client.conversations, since_id=posted[2].id)
    assert [c.last_status.id for c in since] == newest_first[:2]
    answer = await api.http("GET", "/api/v1/conversations?limit=1", bob_token)
    assert answer.status_code == 200 and 'rel="next"' in answer.headers["link"]
    assert f"max_id={posted[-1].id}" in answer.headers["link"]


async def test_refused_requests_change_nothing(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    _, carol_token = await api.user("carol")
    _, reader = await api.user("reader", scopes="read")
    first = await api.call(api.mastodon(alice_token).status_post, "@bob x", visibility="direct")
    path = f"/api/v1/conversations/{first.id}"

    assert (await api.http("GET", "/api/v1/conversations")).status_code == 401
    assert (await api.http("POST", f"{path}/read", reader)).status_code == 403
    answer = await api.http("DELETE", path, reader)
    assert answer.status_code == 403 and "error" in answer.json()
    assert (await api.http("POST", f"{path}/read", carol_token)).status_code == 404  # not hers
    assert (await api.http("DELETE", path, carol_token)).status_code == 404
    for bad in ("0", "123456789", "abc", "99999999999999999999"):
        assert (await api.http("DELETE", f"/api/v1/conversations/{bad}", bob_token)
                ).status_code == 404
    with pytest.raises(MastodonNotFoundError):
        await api.call(api.mastodon(carol_token).conversations_read, first.id)
    answer = await api.http("GET", "/api/v1/conversations?limit=x", bob_token)
    assert answer.status_code == 422 and "limit" in answer.json()["error"]
    assert await api.rows(ConversationMark) == []
    assert len(await api.call(api.mastodon(bob_token).conversations)) == 1


async def test_direct_messages_across_two_servers(pair) -> None:  # noqa: F811
    """Alice on A writes to bob on B; he answers from his app; each sees one conversation."""
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    bob_on_a = await a.resolve(b.handle("bob"))
    alice_app, bob_app = await a.mastodon(alice), await b.mastodon(bob)
    sent = await a.act(actions.post_status, alice, text="psst bob", visibility="direct",
                       mentions=[bob_on_a])

    async def bobs() -> list[Any]:
        return await asyncio.to_thread(bob_app.conversations)

    [conv] = await b.eventually(bobs, what="alice's direct message")
    assert conv.unread is True and "psst bob" in conv.last_status.content
    assert [acc.acct for acc in conv.accounts] == [f"alice@{a.inst.domain}"]

    # a remote status's id comes from its `published` time, in whole seconds: answer in a
    # later second, or A sorts the answer before the message (as Mastodon would)
    await asyncio.sleep(1.1)
    reply = await asyncio.to_thread(bob_app.status_post, "here", visibility="direct",
                                    in_reply_to_id=conv.last_status.id)
    [mine] = await bobs()
    assert mine.id == conv.id and mine.unread is False and mine.last_status.id == reply.id

    async def alices() -> list[Any]:
        found = await asyncio.to_thread(alice_app.conversations)
        return found if found and found[0].last_status.id != str(sent.id) else []

    [theirs] = await a.eventually(alices, what="bob's answer")
    assert theirs.id == str(sent.id) and theirs.unread is True
    assert "here" in theirs.last_status.content
    assert [acc.acct for acc in theirs.accounts] == [f"bob@{b.inst.domain}"]
    read = await asyncio.to_thread(alice_app.conversations_read, theirs.id)
    assert read.unread is False


async def test_direct_stream_tells_of_new_messages(api: Api, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.2)
    _, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    await api.user("carol")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    heard = Heard()
    handle = await api.call(bob_client.stream_direct, heard, run_async=True)
    try:
        assert await asyncio.to_thread(heard.opened.wait, 10)
        await api.call(alice_client.status_post, "@bob not direct")
        other = await api.call(alice_client.status_post, "@carol not for bob",
                               visibility="direct")
        sent = await api.call(alice_client.status_post, "@bob psst", visibility="direct")
        for _ in range(200):
            if heard.conversations:
                break
            await asyncio.sleep(0.025)
        await api.call(alice_client.status_delete, other.id)
        await api.call(alice_client.status_delete, sent.id)
        for _ in range(200):
            if heard.deleted:
                break
            await asyncio.sleep(0.025)
        await asyncio.sleep(0.3)
    finally:
        await asyncio.to_thread(handle.close)
    [conv] = heard.conversations
    assert conv.id == str(sent.id) and conv.unread is True
    assert conv.last_status.id == sent.id and [a.acct for a in conv.accounts] == ["alice"]
    assert heard.deleted == [int(sent.id)]  # only his: the one to carol never reached him
