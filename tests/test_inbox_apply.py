"""Applying activities through the inbox job handler: Move, Block, boosts of our posts."""

from __future__ import annotations

from sqlmodel import select

from inbox.apply import make_inbox_handler
from models.accounts import create_account
from models.tables import Account, Block, Follow, Job, Notification, Status
from tests.inbox_support import actor_doc, add, federation, origin_server, remote, row_counts


async def rows(ctx, table):
    async with ctx.sessions() as session:
        return list(await session.exec(select(table)))


async def test_move_takes_local_followers_to_the_new_account(database_url):
    async with origin_server() as origin, \
            federation(database_url, "https://local.example") as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        old = remote(f"http://localhost:{origin.port}/users/old")
        await add(ctx, old)
        await add(ctx, Follow(account_id=alice.id, target_account_id=old.id, state="accepted",
                              uri="https://local.example/users/alice#follows/1"))
        new_uri = origin.base + "/users/new"
        move = {"id": old.uri + "#moves/1", "type": "Move", "actor": old.uri,
                "object": old.uri, "target": new_uri}
        origin.serve(actor_doc(new_uri))  # not (yet) naming the old account
        handle = make_inbox_handler(ctx)
        await handle({"activity": move, "recipient": None, "signer": old.key_id}, None)
        assert [f.target_account_id for f in await rows(ctx, Follow)] == [old.id]
        origin.serve(actor_doc(new_uri, alsoKnownAs=[old.uri]))
        await handle({"activity": move, "recipient": None, "signer": old.key_id}, None)
        [follow] = await rows(ctx, Follow)
        new = [a for a in await rows(ctx, Account) if a.uri == new_uri][0]
        assert (follow.account_id, follow.target_account_id, follow.state) == \
            (alice.id, new.id, "pending")
        assert follow.uri and follow.uri.startswith("https://local.example/users/alice#follows/")
        moved = [a for a in await rows(ctx, Account) if a.uri == old.uri][0]
        assert moved.moved_to_account_id == new.id
        deliveries = [j for j in await rows(ctx, Job) if j.queue == "deliver"]
        assert len(deliveries) == 2  # the Undo to the old account, the Follow to the new
        before = await row_counts(ctx)
        await handle({"activity": move, "recipient": None, "signer": old.key_id}, None)
        assert await row_counts(ctx) == before


async def test_block_ends_follows_both_ways(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        bob = remote("https://b.example/users/bob")
        await add(ctx, bob)
        await add(ctx, Follow(account_id=alice.id, target_account_id=bob.id, state="accepted"),
                  Follow(account_id=bob.id, target_account_id=alice.id, state="accepted"))
        block = {"id": bob.uri + "#blocks/1", "type": "Block", "actor": bob.uri,
                 "object": "https://local.example/users/alice"}
        handle = make_inbox_handler(ctx)
        await handle({"activity": block, "recipient": "alice", "signer": bob.key_id}, None)
        assert await rows(ctx, Follow) == []
        [row] = await rows(ctx, Block)
        assert (row.account_id, row.target_account_id, row.uri) == (bob.id, alice.id, block["id"])
        undo = {"id": bob.uri + "#blocks/1/undo", "type": "Undo", "actor": bob.uri,
                "object": block}
        await handle({"activity": undo, "recipient": "alice", "signer": bob.key_id}, None)
        assert await rows(ctx, Block) == []


async def test_boost_of_a_local_post_notifies_and_can_be_undone(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        bob = remote("https://b.example/users/bob")
        post = Status(uri="https://local.example/users/alice/statuses/1", account_id=alice.id,
                      local=True, visibility="public")
        await add(ctx, bob, post)
        boost = {"id": bob.uri + "/statuses/9/activity", "type": "Announce", "actor": bob.uri,
                 "object": post.uri, "to": ["as:Public"], "cc": [bob.uri + "/followers"]}
        handle = make_inbox_handler(ctx)
        await handle({"activity": boost, "recipient": None, "signer": bob.key_id}, None)
        stored = [s for s in await rows(ctx, Status) if s.uri == boost["id"]]
        assert len(stored) == 1 and stored[0].reblog_of_id == post.id
        [note] = await rows(ctx, Notification)
        assert (note.type, note.account_id, note.from_account_id) == ("reblog", alice.id, bob.id)
        undo = {"id": boost["id"] + "/undo", "type": "Undo", "actor": bob.uri, "object": boost}
        await handle({"activity": undo, "recipient": None, "signer": bob.key_id}, None)
        assert [s.uri for s in await rows(ctx, Status)] == [post.uri]
        assert await rows(ctx, Notification) == []
