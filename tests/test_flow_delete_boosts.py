"""A post's `Update` and `Delete` reach every host that has it, not only the author's
followers now: a host whose account boosted it without following the author, one whose
account has since unfollowed, and the followers of a local booster; boosts go with the post."""

from __future__ import annotations

from inbox.resolve import resolve_status
from models.tables import Follow, Notification, Status
from outbox import actions
from tests.flows_support import Side, following, pair, trio  # noqa: F401


def _stored(side: Side, uri: str):  # type: ignore[no-untyped-def]
    return lambda: side.status(uri)


def _tombstoned(side: Side, uri: str):  # type: ignore[no-untyped-def]
    async def probe() -> Status | None:
        found = await side.status(uri)
        return found if found is not None and found.deleted_at is not None else None
    return probe


async def _fetch(side: Side, uri: str) -> Status:
    """The post at `uri` as `side` fetches it from its origin (as a search would)."""
    async with side.writer() as session:
        status = await resolve_status(side.ctx, session, uri)
        await session.commit()
    assert status is not None
    return status


async def test_edit_and_delete_reach_a_booster_and_a_former_follower(trio) -> None:  # noqa: F811
    a, b, c = trio
    alice, bob, carol = await a.account("alice"), await b.account("bob"), await c.account("carol")
    alice_on_b = await following(b, bob, a, alice)
    post = await a.act(actions.post_status, alice, text="soon gone")
    await b.eventually(_stored(b, post.uri), what="alice's post")

    # carol does not follow alice: she finds the post and boosts it
    copy_on_c = await _fetch(c, post.uri)
    boost = await c.act(actions.reblog, carol, copy_on_c)
    boost_on_a = await a.eventually(_stored(a, boost.uri), what="carol's boost")
    assert boost_on_a.reblog_of_id == post.id
    # bob stops following alice after the post reached him
    await b.act(actions.unfollow, bob, alice_on_b)

    bob_on_a = await a.by_uri(b.actor("bob"))

    async def unfollowed() -> bool:
        return not await a.rows(Follow, Follow.account_id == bob_on_a.id)

    await a.eventually(unfollowed, what="the Undo of the follow")
    await a.act(actions.edit_status, post, text="soon gone, edited")

    async def edited_on_c() -> bool:
        found = await c.status(post.uri)
        return found is not None and found.content == "<p>soon gone, edited</p>"

    await c.eventually(edited_on_c, what="the Update on C")
    await a.act(actions.delete_status, post)

    gone_on_c = await c.eventually(_tombstoned(c, post.uri), what="the Delete on C")
    assert gone_on_c.content == ""
    assert await c.status(boost.uri) is None  # carol's boost went with it
    gone_on_b = await b.eventually(_tombstoned(b, post.uri), what="the Delete on B")
    assert gone_on_b.content == ""
    # on A, the boost and its notification are gone too
    assert await a.status(boost.uri) is None
    assert await a.rows(Notification, Notification.status_id == post.id) == []


async def test_delete_reaches_the_followers_of_a_local_booster(pair) -> None:  # noqa: F811
    a, b = pair
    alice, carol = await a.account("alice"), await a.account("carol")
    bob = await b.account("bob")
    await following(b, bob, a, carol)  # bob follows the booster, not alice
    post = await a.act(actions.post_status, alice, text="seen through carol")
    await a.settled()
    boost = await a.act(actions.reblog, carol, post)
    await b.eventually(_stored(b, boost.uri), what="carol's boost")
    await b.eventually(_stored(b, post.uri), what="the boosted post")

    await a.act(actions.delete_status, post)

    await b.eventually(_tombstoned(b, post.uri), what="the Delete on B")
    assert await b.status(boost.uri) is None
    assert await a.status(boost.uri) is None  # carol's boost is gone here too


async def test_deleting_a_boost_through_the_api_undoes_it(pair) -> None:  # noqa: F811
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    await following(b, bob, a, alice)
    post = await a.act(actions.post_status, alice, text="boost me")
    copy = await b.eventually(_stored(b, post.uri), what="alice's post")
    boost = await b.act(actions.reblog, bob, copy)
    await a.eventually(_stored(a, boost.uri), what="bob's boost")

    from fediverse.api import interactions

    await interactions.delete(b.inst.state, bob.id, boost.id)  # DELETE /api/v1/statuses/:boost

    async def unboosted() -> bool:
        return await a.status(boost.uri) is None

    await a.eventually(unboosted, what="the Undo of the Announce")
    assert (await a.status(post.uri)).deleted_at is None  # the post itself stays
    assert await a.rows(Notification, Notification.type == "reblog") == []
