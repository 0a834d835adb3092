"""Muting a thread (`POST /api/v1/statuses/:id/mute`, `/unmute`) on a running instance, driven
with Mastodon.py: `muted` on its statuses for the muter alone (single statuses and the home
timeline), no notifications from it (mentions, replies, favourites, boosts), until unmuted; a
reply from another server in a muted thread notifies no one either."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mastodon import Mastodon, MastodonAPIError, MastodonNotFoundError

from models.tables import Account, ConversationMute, Notification
from models.tokens import create_token
from outbox import actions
from tests.flows_support import Side, pair  # noqa: F401
from tests.test_api_accounts_support import MASTODON_VERSION, Api, api  # noqa: F401


def _kinds(notifications: list[Any]) -> list[tuple[str, str]]:
    return [(n.type, str(n.status.id)) for n in notifications]


async def test_muted_thread_marks_its_statuses_and_stops_notifications(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    root = await api.call(alice_client.status_post, "a thread of mine")
    first = await api.call(bob_client.status_post, "@alice first answer", in_reply_to_id=root.id)
    assert root.muted is False
    assert _kinds(await api.call(alice_client.notifications)) == [("mention", str(first.id))]

    muted = await api.call(alice_client.status_mute, first.id)  # any status of the thread
    assert muted.id == first.id and muted.muted is True
    assert (await api.call(alice_client.status, root.id)).muted is True
    assert (await api.call(bob_client.status, root.id)).muted is False  # his view: his own
    home = await api.call(alice_client.timeline_home)
    assert [(s.id, s.muted) for s in home] == [(root.id, True)]
    again = await api.call(alice_client.status_mute, root.id)  # twice: still one mute
    assert again.muted is True and len(await api.rows(ConversationMute)) == 1

    second = await api.call(bob_client.status_post, "@alice second answer",
                            in_reply_to_id=first.id)
    assert second.muted is False
    assert (await api.call(alice_client.status, second.id)).muted is True
    await api.call(bob_client.status_favourite, root.id)
    await api.call(bob_client.status_reblog, root.id)
    other = await api.call(alice_client.status_post, "another thread")
    await api.call(bob_client.status_favourite, other.id)  # not muted: notifies
    found = await api.call(alice_client.notifications)
    assert _kinds(found) == [("favourite", str(other.id)), ("mention", str(first.id))]
    assert (await api.call(alice_client.status, other.id)).muted is False

    unmuted = await api.call(alice_client.status_unmute, root.id)
    assert unmuted.muted is False and await api.rows(ConversationMute) == []
    third = await api.call(bob_client.status_post, "@alice third answer", in_reply_to_id=root.id)
    assert _kinds(await api.call(alice_client.notifications))[0] == ("mention", str(third.id))
    home = await api.call(alice_client.timeline_home)
    assert all(s.muted is False for s in home)


async def test_a_mute_is_the_muters_own_and_refusals(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    alice_client, bob_client = api.mastodon(alice_token), api.mastodon(bob_token)
    carol_client = api.mastodon(carol_token)
    root = await api.call(alice_client.status_post, "@carol hello both")
    await api.call(bob_client.status_mute, root.id)  # bob mutes it: alice and carol still hear
    reply = await api.call(bob_client.status_post, "@alice @carol hi", in_reply_to_id=root.id)
    assert _kinds(await api.call(alice_client.notifications)) == [("mention", str(reply.id))]
    assert ("mention", str(reply.id)) in _kinds(await api.call(carol_client.notifications))
    assert (await api.call(alice_client.status, root.id)).muted is False
    # a boost stands for the boosted status's thread
    boost = await api.call(carol_client.status_reblog, root.id)
    assert (await api.call(carol_client.status_mute, boost.id)).muted is True
    assert (await api.call(carol_client.status, reply.id)).muted is True
    # an edit of the boosted status tells its boosters, but carol, who muted its thread
    _, erin_token = await api.user("erin")
    erin_client = api.mastodon(erin_token)
    await api.call(erin_client.status_reblog, root.id)
    await api.call(alice_client.status_update, root.id, "@carol hello both, edited")
    assert ("update", str(root.id)) in _kinds(await api.call(erin_client.notifications))
    assert "update" not in [kind for kind, _ in _kinds(await api.call(carol_client.notifications))]

    secret = await api.call(alice_client.status_post, "only me", visibility="direct")
    with pytest.raises(MastodonNotFoundError):
        await api.call(bob_client.status_mute, secret.id)  # not his to see
    with pytest.raises(MastodonNotFoundError):
        await api.call(bob_client.status_unmute, "123456789")
    assert (await api.http("POST", "/api/v1/statuses/abc/mute", bob_token)).status_code == 404
    answer = await api.http("POST", f"/api/v1/statuses/{root.id}/mute")
    assert answer.status_code == 401 and "error" in answer.json()
    _, reader_token = await api.user("dave", scopes="read write:blocks")
    with pytest.raises(MastodonAPIError) as refused:
        await api.call(api.mastodon(reader_token).status_mute, root.id)
    assert refused.value.args[1] == 403
    muters = {row.account_id for row in await api.rows(ConversationMute)}
    assert muters == {bob.id, carol.id}


async def test_a_remote_reply_in_a_muted_thread_notifies_no_one(pair) -> None:  # noqa: F811
    """Alice on A mutes her thread; bob on B answers in it, then in another thread: only the
    other answer notifies her, though both arrived."""
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    bob_on_a = await a.resolve(b.handle("bob"))
    alice_app = await a.mastodon(alice)
    muted_root = await a.act(actions.post_status, alice, text="hush, bob", mentions=[bob_on_a])
    open_root = await a.act(actions.post_status, alice, text="talk, bob", mentions=[bob_on_a])
    assert (await asyncio.to_thread(alice_app.status_mute, muted_root.id)).muted is True

    async def arrived(uri: str) -> Any:
        return await b.status(uri)

    muted_copy = await b.eventually(lambda: arrived(muted_root.uri), what="the muted thread")
    open_copy = await b.eventually(lambda: arrived(open_root.uri), what="the other thread")
    alice_on_b = await b.resolve(a.handle("alice"))
    hushed = await b.act(actions.post_status, bob, text="answer in the muted thread",
                         in_reply_to=muted_copy, mentions=[alice_on_b])
    await asyncio.sleep(1.1)  # a later second: ids from `published` keep the order
    spoken = await b.act(actions.post_status, bob, text="answer in the other thread",
                         in_reply_to=open_copy, mentions=[alice_on_b])

    async def heard() -> list[Any]:
        return await asyncio.to_thread(alice_app.notifications)

    await a.eventually(heard, what="the answer in the open thread")
    stored = await a.eventually(lambda: a.status(hushed.uri), what="the muted thread's answer")
    await a.settled()
    found = await heard()
    assert stored.in_reply_to_id == muted_root.id
    spoken_here = await a.status(spoken.uri)
    assert spoken_here is not None
    assert _kinds(found) == [("mention", str(spoken_here.id))]
    assert await a.rows(Notification, Notification.status_id == stored.id) == []
    shown = await asyncio.to_thread(alice_app.status, stored.id)
    assert shown.muted is True
