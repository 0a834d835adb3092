"""Reports between two real instances: a report of a remote account, forwarded on request,
arrives at its server as a `Flag` from the reporter's instance actor (the reporter stays
anonymous) and is a report there, of which its admins are notified; unforwarded, it stays."""

from __future__ import annotations

import asyncio
from typing import Any

from mastodon import Mastodon

from models.tables import Account, Report
from outbox import actions
from tests.flows_support import Side, following, pair, trio  # noqa: F401


async def _reports_on(side: Side) -> list[Report]:
    return await side.rows(Report)


async def test_forwarded_report_arrives_as_a_report(pair) -> None:  # noqa: F811
    a, b = pair
    alice, a_mod = await a.account("alice"), await a.account("amod", admin=True)
    bob, b_mod = await b.account("bob"), await b.account("bmod", admin=True)
    bob_on_a = await following(a, alice, b, bob)
    post = await b.act(actions.post_status, bob, text="spam spam spam")
    post_on_a = await a.eventually(lambda: a.status(post.uri), what="bob's post")
    client = await a.mastodon(alice, "write:reports")

    kept = await asyncio.to_thread(client.report, bob_on_a.id, comment="just us")
    assert kept.forwarded is False
    report = await asyncio.to_thread(client.report, bob_on_a.id, status_ids=[post_on_a.id],
                                     comment="please look", forward=True)
    assert report.forwarded is True and report.status_ids == [str(post_on_a.id)]

    [theirs] = await b.eventually(lambda: _reports_on(b), what="the forwarded report")
    assert theirs.target_account_id == bob.id and theirs.status_ids == [post.id]
    assert theirs.comment == "please look" and theirs.uri is not None
    reporter = await b.one(Account, Account.id == theirs.account_id)
    assert reporter is not None and reporter.uri == a.base + "/actor"  # not alice

    b_client = await b.mastodon(b_mod, "read")
    [note] = await b.eventually(lambda: _admin_notes(b_client), what="b's admin.report")
    assert note.report.id == str(theirs.id) and note.report.target_account.acct == "bob"
    assert note.report.comment == "please look"

    a_client = await a.mastodon(a_mod, "read")
    notes = await _admin_notes(a_client)  # a's admin: both reports made there
    assert [n.account.acct for n in notes] == ["alice", "alice"]
    assert [n.report.forwarded for n in notes] == [True, False]

    await b.settled()
    await a.settled()
    assert len(await _reports_on(b)) == 1  # the report not forwarded stayed on a


async def _admin_notes(client: Mastodon) -> list[Any]:
    return list(await asyncio.to_thread(client.notifications, types=["admin.report"]))


async def test_report_forwarded_to_the_server_replied_to(trio) -> None:  # noqa: F811
    a, b, c = trio
    alice, bob = await a.account("alice"), await b.account("bob")
    carol, c_mod = await c.account("carol"), await c.account("cmod", admin=True)
    bob_on_a = await following(a, alice, b, bob)
    await following(b, bob, c, carol)
    post = await c.act(actions.post_status, carol, text="a quiet evening")
    copy = await b.eventually(lambda: b.status(post.uri), what="carol's post on b")
    reply = await b.act(actions.post_status, bob, text="nobody cares", in_reply_to=copy)
    reply_on_a = await a.eventually(lambda: a.status(reply.uri), what="bob's reply on a")
    reply_on_c = await c.eventually(lambda: c.status(reply.uri), what="bob's reply on c")
    client = await a.mastodon(alice, "write:reports")

    await asyncio.to_thread(client.report, bob_on_a.id, status_ids=[reply_on_a.id],
                            comment="rude to carol", forward=True,
                            forward_to_domains=[c.inst.domain, "elsewhere.example"])
    [on_b] = await b.eventually(lambda: _reports_on(b), what="the report on b")
    assert on_b.target_account_id == bob.id and on_b.status_ids == [reply.id]
    [on_c] = await c.eventually(lambda: _reports_on(c), what="the report on c")
    bob_on_c = await c.by_uri(b.actor("bob"))
    assert bob_on_c is not None and on_c.target_account_id == bob_on_c.id
    assert on_c.status_ids == [reply_on_c.id] and on_c.comment == "rude to carol"
    c_client = await c.mastodon(c_mod, "read")
    [note] = await c.eventually(lambda: _admin_notes(c_client), what="c's admin.report")
    assert note.report.target_account.acct == f"bob@{b.inst.domain}"

    await asyncio.to_thread(client.report, bob_on_a.id, status_ids=[reply_on_a.id],
                            comment="only to b", forward=True)
    await a.settled()
    await b.eventually(lambda: _count_is(b, 2), what="the second report on b")
    await c.settled()
    assert len(await _reports_on(c)) == 1  # not named: not sent there


async def _count_is(side: Side, count: int) -> bool:
    return len(await _reports_on(side)) == count
