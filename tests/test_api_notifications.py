"""The notifications API on a real running instance: a mention, a follow, a favourite and a
boost notify; type filters, pages, one by id, dismiss, clear, and refused requests."""

from __future__ import annotations

import pytest
from mastodon import MastodonNotFoundError

from models.tables import Marker, Notification
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401


async def _busy_day(api: Api):  # type: ignore[no-untyped-def]
    """Bob mentions alice, follows her, likes and boosts her post; carol mentions her too."""
    alice, token = await api.user("alice")
    bob, _ = await api.user("bob")
    carol, _ = await api.user("carol")
    post = await api.act(actions.post_status, alice, text="my cat")
    mention = await api.act(actions.post_status, bob, text="@alice hello", mentions=[alice])
    await api.act(actions.follow, bob, alice)
    await api.act(actions.favourite, bob, post)
    await api.act(actions.reblog, bob, post)
    await api.act(actions.post_status, carol, text="@alice hi", mentions=[alice])
    return alice, token, bob, carol, post, mention


async def test_notifications_list_and_filters(api: Api) -> None:  # noqa: F811
    alice, token, bob, carol, post, mention = await _busy_day(api)
    client = api.mastodon(token)
    found = await api.call(client.notifications)
    assert [n.type for n in found] == ["mention", "reblog", "favourite", "follow", "mention"]
    last = found[-1]
    assert int(last.account.id) == bob.id and int(last.status.id) == mention.id
    assert "hello" in last.status.content and last.status.account.acct == "bob"
    assert int(found[2].status.id) == post.id and found[3].status is None

    mentions = await api.call(client.notifications, types=["mention"])
    assert [m.type for m in mentions] == ["mention", "mention"]
    others = await api.call(client.notifications, exclude_types=["mention", "follow"])
    assert [n.type for n in others] == ["reblog", "favourite"]
    from_carol = await api.call(client.notifications, account_id=carol.id)
    assert [int(n.account.id) for n in from_carol] == [carol.id]

    first = await api.call(client.notifications, limit=2)
    second = await api.call(client.fetch_next, first)
    assert [n.type for n in first + second] == [n.type for n in found[:4]]
    one = await api.call(client.notifications, id=found[1].id)
    assert one.type == "reblog"
    count = await api.http("GET", "/api/v1/notifications/unread_count", token)
    assert count.json() == {"count": 5}
    async with api.inst.state.sessions() as session:  # read up to the favourite
        session.add(Marker(account_id=alice.id, timeline="notifications",
                           last_read_id=int(found[2].id)))
        await session.commit()
    count = await api.http("GET", "/api/v1/notifications/unread_count", token)
    assert count.json() == {"count": 2}


async def test_muted_accounts_and_deleted_statuses_leave_the_list(api: Api) -> None:  # noqa: F811
    alice, token, bob, carol, post, mention = await _busy_day(api)
    client = api.mastodon(token)
    await api.call(client.account_mute, carol.id)
    await api.act(actions.delete_status, mention)
    found = await api.call(client.notifications)
    assert [n.type for n in found] == ["reblog", "favourite", "follow"]


async def test_dismiss_and_clear(api: Api) -> None:  # noqa: F811
    alice, token, bob, *_ = await _busy_day(api)
    other, other_token = await api.user("dave")
    client = api.mastodon(token)
    found = await api.call(client.notifications)
    with pytest.raises(MastodonNotFoundError):  # someone else's notification
        await api.call(api.mastodon(other_token).notifications_dismiss, found[0].id)
    await api.call(client.notifications_dismiss, found[0].id)
    assert [n.id for n in await api.call(client.notifications)] == [n.id for n in found[1:]]
    with pytest.raises(MastodonNotFoundError):
        await api.call(client.notifications, id=found[0].id)
    await api.call(client.notifications_clear)
    assert await api.call(client.notifications) == []
    assert await api.rows(Notification, Notification.account_id == alice.id) == []


async def test_refused_requests(api: Api) -> None:  # noqa: F811
    alice, token, *_ = await _busy_day(api)
    _, read_only = await api.user("dave", scopes="read")
    _, statuses_only = await api.user("erin", scopes="read:statuses")
    [first, *_] = (await api.http("GET", "/api/v1/notifications", token)).json()
    assert (await api.http("GET", "/api/v1/notifications")).status_code == 401
    assert (await api.http("GET", "/api/v1/notifications", statuses_only)).status_code == 403
    for path in ("/api/v1/notifications/clear", f"/api/v1/notifications/{first['id']}/dismiss"):
        assert (await api.http("POST", path, read_only)).status_code == 403
        assert (await api.http("POST", path)).status_code == 401
    for path in ("/api/v1/notifications/123", "/api/v1/notifications/x"):
        answer = await api.http("GET", path, token)
        assert answer.status_code == 404 and answer.json() == {"error": "Record not found"}
    assert (await api.http("POST", "/api/v1/notifications/9/dismiss", token)).status_code == 404
    bad = await api.http("GET", "/api/v1/notifications?account_id=abc", token)
    assert bad.status_code == 422 and "error" in bad.json()
    assert len(await api.rows(Notification, Notification.account_id == alice.id)) == 5
