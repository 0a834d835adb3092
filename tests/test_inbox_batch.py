"""The inbox's batch handler: bulk Creates and everything else, applied in claim order, once."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlmodel import select

from inbox.apply import make_inbox_handler
from inbox.batch import make_inbox_batch_handler
from inbox.notes import parse_time
from inbox.receive import INBOX_QUEUE
from models.accounts import create_account
from models.ids import new_id
from models.queue import Worker, enqueue_many
from models.tables import Account, Favourite, Follow, Job, Mention, Notification, Status
from outbox.events import Event, watch
from tests.inbox_support import actor_doc, add, federation, origin_server, remote, row_counts

BASE = "https://local.example"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def create(actor: str, n: int, **extra: Any) -> dict[str, Any]:
    note = {"id": f"{actor}/statuses/{n}", "type": "Note", "attributedTo": actor,
            "content": f"<p>note {n}</p><script>x</script>", "to": [PUBLIC],
            "cc": [actor + "/followers"], "published": "2024-05-01T10:00:00Z"} | extra
    return {"id": note["id"] + "/activity", "type": "Create", "actor": actor, "object": note}


async def run_batch(ctx, activities: list[dict[str, Any]], signer_of=None) -> list[Job]:  # type: ignore[no-untyped-def]
    """Enqueue the activities as the inbox does and let one worker batch apply them."""
    items = [({"activity": a, "recipient": None,
               "signer": (signer_of or (lambda a: a["actor"] + "#main-key"))(a)}, uuid.uuid4().hex)
             for i, a in enumerate(activities)]
    async with ctx.sessions() as session:
        await enqueue_many(session, INBOX_QUEUE, "activity", items)
        await session.commit()
    worker = Worker(ctx.sessions, {"activity": make_inbox_handler(ctx)}, [INBOX_QUEUE],
                    batches={"activity": make_inbox_batch_handler(ctx)}, batch_size=100)
    ran = await worker.run_once()
    assert ran == len(activities)
    async with ctx.sessions() as session:
        return list(await session.exec(select(Job).where(Job.queue == INBOX_QUEUE)))


async def rows(ctx, table, *where):  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return list(await session.exec(select(table).where(*where)))


async def test_a_batch_applies_in_order_and_once(database_url):
    async with origin_server() as origin, federation(database_url, BASE) as ctx:
        heard: list[Event] = []
        watch(ctx.sessions, heard.extend, origin="test")
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        bob = remote(f"{origin.base}/users/bob")
        stranger = remote(f"{origin.base}/users/stranger")  # nobody here follows them
        await add(ctx, bob, stranger)
        await add(ctx, Follow(account_id=alice.id, target_account_id=bob.id, state="accepted"))
        carol_uri = f"{origin.base}/users/carol"  # unknown yet: fetched, outside the bulk run
        origin.serve(actor_doc(carol_uri))
        mention = {"tag": [{"type": "Mention", "href": f"{BASE}/users/alice"},
                           {"type": "Mention", "href": stranger.uri}],
                   "cc": [f"{BASE}/users/alice"]}
        first = create(bob.uri, 1)
        batch = [
            first,
            create(bob.uri, 2, inReplyTo=first["object"]["id"]),
            create(stranger.uri, 3),  # not kept: no one here follows or is addressed
            create(stranger.uri, 4, **mention),  # kept: it mentions alice
            first,  # the same Create twice
            {"id": bob.uri + "/statuses/2#delete", "type": "Delete", "actor": bob.uri,
             "object": bob.uri + "/statuses/2"},  # after its Create: the post is gone
            create(carol_uri, 5, cc=[f"{BASE}/users/alice"]),
            {"id": bob.uri + "#likes/1", "type": "Like", "actor": bob.uri,
             "object": bob.uri + "/statuses/1"},  # not ours: nothing
            create(bob.uri, 6),
            create(bob.uri, 7, attributedTo=stranger.uri),  # not by its actor: refused
            create(bob.uri, 8) | {"actor": stranger.uri},  # signed by bob, sent as stranger
        ]
        jobs = await run_batch(ctx, batch, signer_of=lambda a: bob.key_id
                               if "8" in a["id"] else a["actor"] + "#main-key")
        assert {j.state for j in jobs} == {"done"}
        statuses = {s.uri: s for s in await rows(ctx, Status)}
        assert sorted(statuses) == sorted([
            bob.uri + "/statuses/1", bob.uri + "/statuses/2", stranger.uri + "/statuses/4",
            carol_uri + "/statuses/5", bob.uri + "/statuses/6"])
        reply = statuses[bob.uri + "/statuses/2"]
        assert reply.deleted_at is not None  # the Delete came after the Create
        assert reply.in_reply_to_id == statuses[bob.uri + "/statuses/1"].id
        assert statuses[bob.uri + "/statuses/1"].content == "<p>note 1</p>"
        kept = statuses[stranger.uri + "/statuses/4"]
        assert kept.visibility == "public"
        mentions = await rows(ctx, Mention)
        assert {(m.status_id, m.account_id) for m in mentions} == {
            (kept.id, alice.id), (kept.id, stranger.id)}
        [note] = await rows(ctx, Notification)
        assert (note.account_id, note.from_account_id, note.type, note.status_id) == \
            (alice.id, stranger.id, "mention", kept.id)
        assert await rows(ctx, Favourite) == []
        assert [a.uri for a in await rows(ctx, Account, Account.uri == carol_uri)] == [carol_uri]
        # live streams heard of every new status and the notification, once each
        new = {e.id for e in heard if e.kind == "update"}
        assert new == {s.id for s in statuses.values()}
        assert [e.id for e in heard if e.kind == "notification"] == [note.id]

        before = await row_counts(ctx)
        await run_batch(ctx, batch)  # delivered again (as new jobs): nothing changes
        after = await row_counts(ctx)
        assert {k: v for k, v in after.items() if k != "jobs"} == \
            {k: v for k, v in before.items() if k != "jobs"}


async def test_a_failing_bulk_run_is_applied_one_by_one(database_url, caplog):
    """A status id that another process took meanwhile makes the bulk insert fail; the run's
    jobs are then applied one by one, which steps over the taken id."""
    caplog.set_level(logging.INFO, logger="inbox.batch")
    async with federation(database_url, BASE) as ctx:
        async with ctx.sessions() as session:
            alice = await create_account(session, "alice")
            await session.commit()
        bob = remote("https://b.example/users/bob")
        await add(ctx, bob)
        await add(ctx, Follow(account_id=alice.id, target_account_id=bob.id, state="accepted"))
        published = "2024-05-01T10:00:00Z"
        taken = new_id(parse_time(published)) + 1  # the id the first post will be given
        await add(ctx, Status(id=taken, uri="https://elsewhere.example/1", account_id=bob.id,
                              local=False))
        batch = [create(bob.uri, n, published=published) for n in range(1, 4)]
        jobs = await run_batch(ctx, batch)
        assert {j.state for j in jobs} == {"done"}
        statuses = {s.uri: s for s in await rows(ctx, Status)}
        assert sorted(statuses) == sorted(["https://elsewhere.example/1"] + [
            bob.uri + f"/statuses/{n}" for n in (1, 2, 3)])
        assert statuses["https://elsewhere.example/1"].id == taken
        assert "applying them one by one" in caplog.text
