"""Follows between two real instances: automatic, approved, rejected, undone, and ended by a block."""

from __future__ import annotations

from models.tables import Block, Follow, Notification
from outbox import actions
from tests.flows_support import Side, pair  # noqa: F401


async def _follow_row(side: Side, follower_id: int, target_id: int) -> Follow | None:
    return await side.one(Follow, Follow.account_id == follower_id,
                          Follow.target_account_id == target_id)


async def test_follow_an_unlocked_account_then_unfollow(pair) -> None:  # noqa: F811
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    bob_on_a = await a.resolve(b.handle("bob"))
    assert bob_on_a.uri == b.actor("bob") and bob_on_a.kind == "remote"
    assert bob_on_a.inbox == b.actor("bob") + "/inbox" and bob_on_a.shared_inbox == b.base + "/inbox"

    await a.act(actions.follow, alice, bob_on_a)

    alice_on_b = await b.eventually(lambda: b.by_uri(a.actor("alice")), what="alice's actor")
    theirs = await b.eventually(lambda: _follow_row(b, alice_on_b.id, bob.id), what="the follow")
    assert theirs.state == "accepted"
    assert theirs.uri is not None and theirs.uri.startswith(a.actor("alice") + "#follows/")

    async def accepted_on_a() -> bool:
        row = await _follow_row(a, alice.id, bob_on_a.id)
        return row is not None and row.state == "accepted"

    await a.eventually(accepted_on_a, what="the Accept")
    [note] = await b.rows(Notification, Notification.account_id == bob.id)
    assert (note.type, note.from_account_id, note.status_id) == ("follow", alice_on_b.id, None)

    await a.act(actions.unfollow, alice, bob_on_a)
    assert await _follow_row(a, alice.id, bob_on_a.id) is None

    async def gone_on_b() -> bool:
        return await _follow_row(b, alice_on_b.id, bob.id) is None

    await b.eventually(gone_on_b, what="the Undo of the follow")


async def test_follow_a_locked_account_approved_and_rejected(pair) -> None:  # noqa: F811
    a, b = pair
    alice, carol = await a.account("alice"), await a.account("carol")
    bob = await b.account("bob", locked=True)
    bob_on_a = await a.resolve(b.handle("bob"))
    assert bob_on_a.locked is True  # manuallyApprovesFollowers came across

    await a.act(actions.follow, alice, bob_on_a)
    await a.act(actions.follow, carol, bob_on_a)
    alice_on_b = await b.eventually(lambda: b.by_uri(a.actor("alice")), what="alice's actor")
    carol_on_b = await b.eventually(lambda: b.by_uri(a.actor("carol")), what="carol's actor")
    for account in (alice_on_b, carol_on_b):
        row = await b.eventually(lambda i=account.id: _follow_row(b, i, bob.id),
                                 what="a request")
        assert row.state == "pending"
    requests = await b.rows(Notification, Notification.account_id == bob.id)
    assert sorted((n.type, n.from_account_id) for n in requests) == sorted(
        [("follow_request", alice_on_b.id), ("follow_request", carol_on_b.id)])
    await b.settled()
    assert (await _follow_row(a, alice.id, bob_on_a.id)).state == "pending"  # no Accept yet

    accepted = await b.act(actions.accept_follow_request, bob, alice_on_b)
    assert accepted is not None and accepted.state == "accepted"
    assert await b.act(actions.reject_follow_request, bob, carol_on_b) is True

    async def alice_accepted() -> bool:
        row = await _follow_row(a, alice.id, bob_on_a.id)
        return row is not None and row.state == "accepted"

    async def carol_refused() -> bool:
        return await _follow_row(a, carol.id, bob_on_a.id) is None

    await a.eventually(alice_accepted, what="the Accept of alice's request")
    await a.eventually(carol_refused, what="the Reject of carol's request")
    assert (await _follow_row(b, alice_on_b.id, bob.id)).state == "accepted"
    assert await _follow_row(b, carol_on_b.id, bob.id) is None


async def test_block_ends_follows_both_ways(pair) -> None:  # noqa: F811
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    bob_on_a = await a.resolve(b.handle("bob"))
    alice_on_b = await b.resolve(a.handle("alice"))
    await a.act(actions.follow, alice, bob_on_a)
    await b.act(actions.follow, bob, alice_on_b)

    async def both_accepted() -> bool:
        ours = await _follow_row(a, alice.id, bob_on_a.id)
        theirs = await _follow_row(a, bob_on_a.id, alice.id)
        return bool(ours and theirs and ours.state == theirs.state == "accepted")

    await a.eventually(both_accepted, what="follows both ways")
    await b.settled()

    block = await b.act(actions.block, bob, alice_on_b)
    assert await _follow_row(b, bob.id, alice_on_b.id) is None
    assert await _follow_row(b, alice_on_b.id, bob.id) is None

    async def blocked_on_a() -> Block | None:
        return await a.one(Block, Block.account_id == bob_on_a.id, Block.target_account_id == alice.id)

    row = await a.eventually(blocked_on_a, what="the Block")
    assert row.uri == block.uri
    assert await _follow_row(a, alice.id, bob_on_a.id) is None
    assert await _follow_row(a, bob_on_a.id, alice.id) is None
