"""Grouped notifications (`/api/v2/notifications`) on a real running instance, read with
Mastodon.py: likes and boosts of one post, and follows, each make one group; mentions stay
alone; pages, one group, its accounts, dismissing it, the unread count, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from mastodon import MastodonNotFoundError
from sqlmodel import col

from models.notifications import GROUP_HOURS, _bucket
from models.tables import Marker, Notification
from models.types import utcnow
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401


async def _busy_day(api: Api):  # type: ignore[no-untyped-def]
    """Erin mentions alice; bob and carol follow her; bob, carol and dave like her post; bob
    boosts it; erin mentions her again. All within one group window."""
    alice, token = await api.user("alice")
    bob, carol, dave, erin = [(await api.user(name))[0] for name in ("bob", "carol", "dave",
                                                                       "erin")]
    post = await api.act(actions.post_status, alice, text="my cat")
    first = await api.act(actions.post_status, erin, text="@alice hey", mentions=[alice])
    for follower in (bob, carol):
        await api.act(actions.follow, follower, alice)
    for fan in (bob, carol, dave):
        await api.act(actions.favourite, fan, post)
    await api.act(actions.reblog, bob, post)
    second = await api.act(actions.post_status, erin, text="@alice again", mentions=[alice])
    # one window for all, whatever the clock says (a window may have just ended)
    middle = (_bucket(utcnow()) + GROUP_HOURS // 2) * 3600
    async with api.inst.state.sessions() as session:
        rows = (await session.exec(sa.select(Notification.id).where(
            col(Notification.account_id) == alice.id))).scalars().all()
        for position, row_id in enumerate(sorted(rows)):
            await session.exec(sa.update(Notification).where(col(Notification.id) == row_id).values(
                created_at=_at(middle, position)))
        await session.commit()
    return alice, token, (bob, carol, dave, erin), post, first, second


def _at(epoch: int, seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC) + timedelta(seconds=seconds)


async def test_groups_gather_likes_boosts_and_follows(api: Api) -> None:  # noqa: F811
    alice, token, (bob, carol, dave, erin), post, first, second = await _busy_day(api)
    client = api.mastodon(token)
    found = await api.call(client.grouped_notifications, expand_accounts="full")
    groups = found.notification_groups
    assert [(g.type, g.notifications_count) for g in groups] == [
        ("mention", 1), ("reblog", 1), ("favourite", 3), ("follow", 2), ("mention", 1)]
    mention2, boost, likes, follows, mention1 = groups
    assert mention2.group_key == f"ungrouped-{mention2.most_recent_notification_id}"
    assert str(mention2.status_id) == str(second.id) and str(mention1.status_id) == str(first.id)
    assert str(likes.status_id) == str(post.id) == str(boost.status_id)
    assert [str(i) for i in likes.sample_account_ids] == [str(dave.id), str(carol.id),
                                                          str(bob.id)]
    assert [str(i) for i in follows.sample_account_ids] == [str(carol.id), str(bob.id)]
    assert follows.status_id is None and likes.group_key.startswith("favourite-")
    assert int(likes.page_min_id) < int(likes.page_max_id) == int(
        likes.most_recent_notification_id)
    assert likes.latest_page_notification_at is not None
    assert sorted(str(a.id) for a in found.accounts) == sorted(
        str(a.id) for a in (bob, carol, dave, erin))
    assert sorted(str(s.id) for s in found.statuses) == sorted(
        str(s.id) for s in (post, first, second))

    # the v1 list still has every notification, one by one, with the same group keys
    one_by_one = await api.call(client.notifications)
    assert len(one_by_one) == 8
    assert {n.group_key for n in one_by_one if n.type == "favourite"} == {likes.group_key}
    assert {n.group_key for n in one_by_one} == {g.group_key for g in groups}


async def test_group_pages_follow_link_headers(api: Api) -> None:  # noqa: F811
    alice, token, *_ = await _busy_day(api)
    client = api.mastodon(token)
    every = (await api.call(client.grouped_notifications)).notification_groups
    one = await api.call(client.grouped_notifications, limit=2)
    two = await api.call(client.fetch_next, one)
    three = await api.call(client.fetch_next, two)
    keys = [g.group_key for page in (one, two, three) for g in page.notification_groups]
    assert keys == [g.group_key for g in every] and len(keys) == 5
    back = await api.call(client.fetch_previous, two)
    assert [g.group_key for g in back.notification_groups] == [g.group_key for g in
                                                               one.notification_groups]
    assert len(one.notification_groups[1].sample_account_ids) == 1  # the boost


async def test_partial_avatars_and_grouped_types(api: Api) -> None:  # noqa: F811
    alice, token, (bob, carol, dave, erin), *_ = await _busy_day(api)
    client = api.mastodon(token)
    # Mastodon.py asks for partial_avatars: the latest of each group in full, others partly
    partial = await api.call(client.grouped_notifications, types=["favourite"])
    assert [str(a.id) for a in partial.accounts] == [str(dave.id)]
    assert sorted(str(a.id) for a in partial.partial_accounts) == sorted(
        [str(carol.id), str(bob.id)])
    assert set(partial.partial_accounts[0]) >= {
        "id", "acct", "avatar", "avatar_static", "url", "locked", "bot"}
    everyone = await api.call(client.grouped_notifications)
    assert {str(a.id) for a in everyone.accounts} == {str(a.id) for a in (bob, carol, dave, erin)}
    assert everyone.partial_accounts == []  # each one leads some group
    only_likes = await api.call(client.grouped_notifications, grouped_types=["favourite"])
    types = [(g.type, g.notifications_count) for g in only_likes.notification_groups]
    assert types == [("mention", 1), ("reblog", 1), ("favourite", 3), ("follow", 1),
                     ("follow", 1), ("mention", 1)]
    follows = await api.call(client.grouped_notifications, types=["follow"])
    assert [g.notifications_count for g in follows.notification_groups] == [2]


async def test_one_group_its_accounts_dismiss_and_unread(api: Api) -> None:  # noqa: F811
    alice, token, (bob, carol, dave, erin), post, *_ = await _busy_day(api)
    client = api.mastodon(token)
    groups = (await api.call(client.grouped_notifications)).notification_groups
    likes = groups[2]
    alone = await api.call(client.grouped_notification, likes.group_key)
    assert [g.notifications_count for g in alone.notification_groups] == [3]
    assert str(alone.statuses[0].id) == str(post.id)
    fans = await api.call(client.grouped_notification_accounts, likes.group_key)
    assert [str(a.id) for a in fans] == [str(dave.id), str(carol.id), str(bob.id)]
    assert await api.call(client.unread_grouped_notifications_count) == 5
    async with api.inst.state.sessions() as session:  # read up to the likes
        session.add(Marker(account_id=alice.id, timeline="notifications",
                           last_read_id=int(likes.most_recent_notification_id)))
        await session.commit()
    assert await api.call(client.unread_grouped_notifications_count) == 2

    await api.call(client.dismiss_grouped_notification, likes.group_key)
    left = (await api.call(client.grouped_notifications)).notification_groups
    assert [g.type for g in left] == ["mention", "reblog", "follow", "mention"]
    assert len(await api.rows(Notification, col(Notification.type) == "favourite")) == 0
    with pytest.raises(MastodonNotFoundError):
        await api.call(client.grouped_notification, likes.group_key)


async def test_refusals(api: Api) -> None:  # noqa: F811
    alice, token, *_ = await _busy_day(api)
    _, other = await api.user("zoe")
    _, no_read = await api.user("yan", scopes="write")
    groups = (await api.call(api.mastodon(token).grouped_notifications)).notification_groups
    key = groups[2].group_key
    assert (await api.http("GET", "/api/v2/notifications")).status_code == 401
    assert (await api.http("GET", "/api/v2/notifications", no_read)).status_code == 403
    bad = await api.http("GET", "/api/v2/notifications?expand_accounts=all", token)
    assert bad.status_code == 422 and "expand_accounts" in bad.json()["error"]
    for path in (f"/api/v2/notifications/{key}", "/api/v2/notifications/nonsense-1-2",
                 "/api/v2/notifications/favourite-x-1", f"/api/v2/notifications/{key}/accounts"):
        assert (await api.http("GET", path, other)).status_code == 404, path
    dismissed = await api.http("POST", f"/api/v2/notifications/{key}/dismiss", other)
    assert dismissed.status_code == 404
    assert len(await api.rows(Notification)) == 8  # nothing changed
