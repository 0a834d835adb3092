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


async def _count(api: Api, token: str, version: str = "v1", query: str = "") -> int:  # noqa: F811
    answer = await api.http("GET", f"/api/{version}/notifications/unread_count{query}", token)
    assert answer.status_code == 200, answer.text
    return answer.json()["count"]  # type: ignore[no-any-return]


async def test_unread_counts_leave_out_what_a_hide_filter_drops(api: Api) -> None:  # noqa: F811
    """As in Mastodon, the counts are of what the lists show: a notification whose status a
    `hide` filter of the notifications context matches counts nowhere (v1 and grouped v2);
    a `warn` filter, or one's own status, leaves it counted."""
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    post = await api.act(actions.post_status, alice, text="my troll joke")
    await api.act(actions.favourite, bob, post)  # one's own status: never filtered
    for text in ("@alice you troll", "@alice tea?", "@alice a troll again"):
        await api.act(actions.post_status, bob, text=text, mentions=[alice])
    assert await _count(api, token) == 4 and await _count(api, token, "v2") == 4
    for title, action, keyword in (("Trolls", "hide", "troll"), ("Tea", "warn", "tea")):
        made = await api.http("POST", "/api/v2/filters", token, json={
            "title": title, "context": ["notifications"], "filter_action": action,
            "keywords_attributes": [{"keyword": keyword}]})
        assert made.status_code == 200, made.text

    listed = (await api.http("GET", "/api/v1/notifications", token)).json()
    assert [n["type"] for n in listed] == ["mention", "favourite"]
    groups = (await api.http("GET", "/api/v2/notifications", token)).json()
    assert len(groups["notification_groups"]) == 2
    assert await _count(api, token) == 2 and await _count(api, token, "v2") == 2
    assert await _count(api, token, query="?limit=1") == 1
    assert await _count(api, token, "v2", "?limit=1") == 1
    assert await _count(api, token, query="?types[]=mention") == 1
    async with api.inst.state.sessions() as session:  # read up to the favourite
        session.add(Marker(account_id=alice.id, timeline="notifications",
                           last_read_id=int(listed[1]["id"])))
        await session.commit()
    assert await _count(api, token) == 1 and await _count(api, token, "v2") == 1
    assert bob.id
