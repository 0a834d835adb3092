"""The counts kept on account and status rows (database triggers, migration 0008) match a
fresh count of the rows after every kind of write: the client API, the inbox, cascades."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from inbox.apply import make_inbox_handler
from models.accounts import create_account
from models.tables import Account, Follow, Status
from outbox import actions
from tests.inbox_support import actor_doc, add, federation, origin_server, remote
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

ACCOUNT_TRUTH = """SELECT a.id, a.statuses_count, a.followers_count, a.following_count,
    a.last_status_at,
    (SELECT count(*) FROM statuses s WHERE s.account_id = a.id AND s.deleted_at IS NULL),
    (SELECT count(*) FROM follows f WHERE f.target_account_id = a.id AND f.state = 'accepted'),
    (SELECT count(*) FROM follows f WHERE f.account_id = a.id AND f.state = 'accepted'),
    (SELECT max(s.created_at) FROM statuses s
     WHERE s.account_id = a.id AND s.deleted_at IS NULL)
  FROM accounts a"""
STATUS_TRUTH = """SELECT s.id, s.replies_count, s.reblogs_count, s.favourites_count,
    (SELECT count(*) FROM statuses r WHERE r.in_reply_to_id = s.id AND r.deleted_at IS NULL),
    (SELECT count(*) FROM statuses b WHERE b.reblog_of_id = s.id AND b.deleted_at IS NULL),
    (SELECT count(*) FROM favourites f WHERE f.status_id = s.id)
  FROM statuses s"""


async def counts_are_true(sessions: Any) -> dict[str, int]:
    """Assert every kept count equals a fresh count; returns the totals kept (so a test can
    check that something was counted at all)."""
    totals = {"statuses": 0, "followers": 0, "following": 0, "replies": 0, "reblogs": 0,
              "favourites": 0}
    async with sessions() as session:
        conn = await session.connection()
        for row in (await conn.execute(sa.text(ACCOUNT_TRUTH))).all():
            account_id, statuses, followers, following, last, *truth = row
            assert (statuses, followers, following) == tuple(truth[:3]), (account_id, row)
            assert str(last) == str(truth[3]), (account_id, last, truth[3])
            totals["statuses"] += statuses
            totals["followers"] += followers
            totals["following"] += following
        for row in (await conn.execute(sa.text(STATUS_TRUTH))).all():
            status_id, replies, reblogs, favourites, *truth = row
            assert (replies, reblogs, favourites) == tuple(truth), (status_id, row)
            totals["replies"] += replies
            totals["reblogs"] += reblogs
            totals["favourites"] += favourites
    return totals


async def test_client_api_writes_keep_counts(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, _ = await api.user("carol")
    sessions = api.inst.state.sessions
    a, b = api.mastodon(alice_token), api.mastodon(bob_token)

    first = await api.call(a.status_post, "first")
    second = await api.call(a.status_post, "second")
    reply = await api.call(b.status_post, "a reply", in_reply_to_id=first.id)
    await api.call(b.status_favourite, first.id)
    await api.call(b.status_reblog, first.id)
    await api.call(b.account_follow, alice.id)
    await api.call(a.account_follow, bob.id)
    totals = await counts_are_true(sessions)
    assert totals == {"statuses": 4, "followers": 2, "following": 2, "replies": 1,
                      "reblogs": 1, "favourites": 1}
    shown = await api.call(a.status, first.id)
    assert (shown.replies_count, shown.reblogs_count, shown.favourites_count) == (1, 1, 1)
    me = await api.call(a.account_verify_credentials)
    assert (me.statuses_count, me.followers_count, me.following_count) == (2, 1, 1)

    await api.call(b.status_unfavourite, first.id)
    await api.call(b.status_unreblog, first.id)
    await api.call(b.status_delete, reply.id)
    await api.call(a.status_delete, second.id)  # the newest: last_status_at moves back
    totals = await counts_are_true(sessions)
    assert (totals["statuses"], totals["replies"], totals["reblogs"], totals["favourites"]) \
        == (1, 0, 0, 0)
    me = await api.call(a.account_verify_credentials)
    assert me.statuses_count == 1

    await api.call(a.account_unfollow, bob.id)
    await api.call(a.account_block, bob.id)  # ends bob's follow of alice too
    await api.act(actions.follow, carol, alice)
    totals = await counts_are_true(sessions)
    assert (totals["followers"], totals["following"]) == (1, 1)
    shown = await api.call(a.account, carol.id)
    assert shown.following_count == 1 and shown.followers_count == 0


def _note(author: str, number: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"{author}/statuses/{number}", "type": "Note", "attributedTo": author,
            "content": f"<p>note {number}</p>", "to": [PUBLIC], "cc": [author + "/followers"],
            "published": datetime(2026, 1, number, tzinfo=UTC).isoformat()} | extra


def _create(author: str, note: dict[str, Any]) -> dict[str, Any]:
    return {"id": note["id"] + "/activity", "type": "Create", "actor": author, "object": note,
            "to": note["to"], "cc": note["cc"]}


async def test_inbox_writes_and_cascades_keep_counts(database_url):
    async with origin_server() as origin, \
            federation(database_url, "https://local.example") as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        bob = remote(f"http://localhost:{origin.port}/users/bob")
        await add(ctx, bob)
        handle = make_inbox_handler(ctx)

        async def deliver(activity: dict[str, Any]) -> None:
            await handle({"activity": activity, "recipient": None, "signer": bob.key_id}, None)

        await add(ctx, Follow(account_id=alice.id, target_account_id=bob.id, state="accepted"),
                  Follow(account_id=bob.id, target_account_id=alice.id, state="pending"))
        post = Status(uri="https://local.example/users/alice/statuses/1", account_id=alice.id,
                      local=True, visibility="public")
        await add(ctx, post)
        await deliver(_create(bob.uri, _note(bob.uri, 1)))
        await deliver(_create(bob.uri, _note(bob.uri, 2, inReplyTo=post.uri)))
        boost = {"id": bob.uri + "/statuses/9/activity", "type": "Announce", "actor": bob.uri,
                 "object": post.uri, "to": [PUBLIC], "cc": [bob.uri + "/followers"]}
        like = {"id": bob.uri + "#likes/1", "type": "Like", "actor": bob.uri, "object": post.uri}
        await deliver(boost)
        await deliver(like)
        async with ctx.sessions() as session:  # alice accepts bob's follow
            follow = (await session.exec(select(Follow).where(
                Follow.account_id == bob.id))).one()
            follow.state = "accepted"
            session.add(follow)
            await session.commit()
        totals = await counts_are_true(ctx.sessions)
        assert totals == {"statuses": 4, "followers": 2, "following": 2, "replies": 1,
                          "reblogs": 1, "favourites": 1}

        await deliver({"id": like["id"] + "/undo", "type": "Undo", "actor": bob.uri,
                       "object": like})
        await deliver({"id": boost["id"] + "/undo", "type": "Undo", "actor": bob.uri,
                       "object": boost})
        await deliver({"id": bob.uri + "/statuses/2#delete", "type": "Delete", "actor": bob.uri,
                       "object": bob.uri + "/statuses/2"})
        totals = await counts_are_true(ctx.sessions)
        assert (totals["statuses"], totals["replies"], totals["reblogs"],
                totals["favourites"]) == (2, 0, 0, 0)

        # a Move takes alice's follow to the new account (pending there until accepted)
        new_uri = origin.base + "/users/new"
        origin.serve(actor_doc(new_uri, alsoKnownAs=[bob.uri]))
        await deliver({"id": bob.uri + "#moves/1", "type": "Move", "actor": bob.uri,
                       "object": bob.uri, "target": new_uri})
        totals = await counts_are_true(ctx.sessions)
        assert (totals["followers"], totals["following"]) == (1, 1)  # bob still follows alice

        await deliver({"id": bob.uri + "#blocks/1", "type": "Block", "actor": bob.uri,
                       "object": "https://local.example/users/alice"})
        totals = await counts_are_true(ctx.sessions)
        assert (totals["followers"], totals["following"]) == (0, 0)

        async with ctx.sessions() as session:  # an account gone: its rows cascade away
            await (await session.connection()).execute(
                sa.delete(Account).where(Account.id == bob.id))  # type: ignore[arg-type]
            await session.commit()
        totals = await counts_are_true(ctx.sessions)
        assert totals["statuses"] == 1


async def test_migration_backfill_counts_existing_rows(api: Api) -> None:  # noqa: F811
    """Migration 0008's backfill, run on rows made while nothing kept the counts."""
    import importlib

    migration = importlib.import_module("models.migrations.versions.0008_counters")
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    a, b = api.mastodon(alice_token), api.mastodon(bob_token)
    first = await api.call(a.status_post, "first")
    await api.call(b.status_post, "a reply", in_reply_to_id=first.id)
    await api.call(b.status_favourite, first.id)
    await api.call(b.status_reblog, first.id)
    await api.call(b.account_follow, alice.id)
    gone = await api.call(a.status_post, "gone")
    await api.call(a.status_delete, gone.id)
    async with api.inst.state.sessions() as session:  # forget every kept count
        conn = await session.connection()
        await conn.execute(sa.text(
            "UPDATE accounts SET statuses_count = 0, followers_count = 0, following_count = 0,"
            " last_status_at = NULL"))
        await conn.execute(sa.text(
            "UPDATE statuses SET replies_count = 0, reblogs_count = 0, favourites_count = 0"))
        await session.commit()
    async with api.inst.state.sessions() as session:
        conn = await session.connection()
        for statement in migration.BACKFILL:
            await conn.execute(sa.text(statement))
        await session.commit()
    totals = await counts_are_true(api.inst.state.sessions)
    assert totals == {"statuses": 3, "followers": 1, "following": 1, "replies": 1,
                      "reblogs": 1, "favourites": 1}
