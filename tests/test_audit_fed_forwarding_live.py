"""Forwarding between three live instances: bob (B) replies to alice's post (A); carol (C)
follows alice but not bob, and gets the reply through A, vouched for by B's LD signature.
Without the forward, C would never hear of it."""

from __future__ import annotations

from models.tables import Status
from outbox import actions
from tests.flows_support import following, trio  # noqa: F401


async def test_a_reply_reaches_the_followers_of_the_post_author(trio) -> None:  # noqa: F811
    a, b, c = trio
    alice, bob, carol = await a.account("alice"), await b.account("bob"), await c.account("carol")
    await following(b, bob, a, alice)
    alice_on_c = await following(c, carol, a, alice)
    post = await a.act(actions.post_status, alice, text="a picture")
    copy_on_b = await b.eventually(lambda: b.status(post.uri), what="alice's post on B")
    copy_on_c = await c.eventually(lambda: c.status(post.uri), what="alice's post on C")
    reply = await b.act(actions.post_status, bob, text="lovely", in_reply_to=copy_on_b)

    async def reply_on_c() -> Status | None:
        return await c.status(reply.uri)

    found = await c.eventually(reply_on_c, what="bob's reply, forwarded by A")
    assert found.in_reply_to_id == copy_on_c.id and found.content == "<p>lovely</p>"
    assert found.account_id != alice_on_c.id  # bob's, fetched from B as his
    bob_on_c = await c.by_uri(b.actor("bob"))
    assert bob_on_c is not None and found.account_id == bob_on_c.id
