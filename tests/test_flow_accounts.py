"""Account-level flows between real instances: a profile update, and a move whose followers
(on the new account's own server and on a third one) follow the new account instead."""

from __future__ import annotations

import httpx

from models.tables import Account, Follow
from outbox import actions
from tests.flows_support import Side, following, pair, trio  # noqa: F401


async def test_profile_update_reaches_followers(pair) -> None:  # noqa: F811
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    alice_on_b = await following(b, bob, a, alice)
    assert alice_on_b.display_name == ""

    await a.act(actions.update_profile, alice, display_name="Alice Liddell",
                note="down the rabbit hole", locked=True)

    async def updated() -> Account | None:
        found = await b.by_uri(a.actor("alice"))
        return found if found and found.display_name else None

    found = await b.eventually(updated, what="the profile update")
    assert found.display_name == "Alice Liddell" and found.id == alice_on_b.id
    assert "down the rabbit hole" in found.note and found.locked is True


async def _follows(side: Side, follower: Account, target: Account | None) -> str | None:
    if target is None:
        return None
    row = await side.one(Follow, Follow.account_id == follower.id,
                         Follow.target_account_id == target.id)
    return row.state if row else None


async def test_move_takes_the_followers_along(trio) -> None:  # noqa: F811
    a, b, c = trio
    alice = await a.account("alice")
    bob, new = await b.account("bob"), await b.account("alice2")
    carol = await c.account("carol")
    alice_on_b = await following(b, bob, a, alice)
    alice_on_c = await following(c, carol, a, alice)
    await b.act(actions.update_profile, new, also_known_as=[a.actor("alice")])
    new_on_a = await a.resolve(b.handle("alice2"))
    assert new_on_a.also_known_as == [a.actor("alice")]

    await a.act(actions.move_account, alice, new_on_a)

    # on B the follower follows the new (local) account at once
    await b.eventually(lambda: _follows(b, bob, new), what="bob's follow of the new account")
    assert await _follows(b, bob, new) == "accepted"
    assert await _follows(b, bob, alice_on_b) is None
    moved = await b.by_uri(a.actor("alice"))
    assert moved.moved_to_account_id == new.id

    # on C the follower asks B, which accepts
    async def carol_moved() -> bool:
        new_on_c = await c.by_uri(b.actor("alice2"))
        return await _follows(c, carol, new_on_c) == "accepted"

    await c.eventually(carol_moved, what="carol's accepted follow of the new account")
    assert await _follows(c, carol, alice_on_c) is None
    carol_on_b = await b.by_uri(c.actor("carol"))
    assert await _follows(b, carol_on_b, new) == "accepted"

    # and A hears both Undos: the old account has no followers left
    async def no_followers() -> bool:
        return not await a.rows(Follow, Follow.target_account_id == alice.id)

    await a.eventually(no_followers, what="the Undos of the old follows")
    assert (await a.one(Account, Account.id == alice.id)).moved_to_account_id == new_on_a.id
    # and the old actor document says where it went
    async with httpx.AsyncClient() as http:
        doc = (await http.get(a.actor("alice"), headers={"Accept": "application/activity+json"})).json()
    assert doc["movedTo"] == b.actor("alice2")
