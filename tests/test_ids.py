"""Back-dated status ids: many remote notes with one `published` millisecond all get stored,
with distinct ids of that millisecond, even when another process holds the id drawn here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from inbox.apply import make_inbox_handler
from inbox.batch import make_inbox_batch_handler
from inbox.receive import INBOX_QUEUE
from models.accounts import create_account
from models.ids import id_at, id_time, new_id
from models.queue import Worker, enqueue_many
from models.statuses import insert_status
from models.tables import Account, Follow, Job, Status
from tests.inbox_support import add, apply, federation, remote

ACTOR = "https://remote.example/users/flood"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_backdated_ids_of_one_millisecond_never_repeat() -> None:
    at = datetime(2024, 2, 29, 12, 0, 0, 123000, tzinfo=UTC)
    made = [new_id(at) for _ in range(70_000)]  # more than a millisecond's 65,536 low values
    assert len(set(made)) == len(made)
    assert made == sorted(made)  # counted up from the first
    assert all(value >> 16 == _ms(at) for value in made[:32_768])
    assert made[0] >= id_at(_ms(at))


def _create(n: int, published: str) -> dict:
    note = {"id": f"{ACTOR}/statuses/{n}", "type": "Note", "attributedTo": ACTOR,
            "content": f"<p>note {n}</p>", "published": published,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [ACTOR + "/followers"]}
    return {"id": note["id"] + "/activity", "type": "Create", "actor": ACTOR, "object": note,
            "published": published, "to": note["to"], "cc": note["cc"]}


async def _followed_remote(ctx) -> Account:
    """A local alice following the remote ACTOR, so that ACTOR's notes are kept."""
    async with ctx.sessions() as session:
        alice = await create_account(session, "alice")
        await session.commit()
    flood = remote(ACTOR)
    await add(ctx, flood)
    await add(ctx, Follow(account_id=alice.id, target_account_id=flood.id, state="accepted"))
    return flood


async def _statuses(ctx) -> list[Status]:
    async with ctx.sessions() as session:
        return list((await session.exec(select(Status).where(Status.local.is_(False)))).all())  # type: ignore[attr-defined]


async def test_a_flood_of_notes_with_one_published_time_is_all_stored(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        await _followed_remote(ctx)
        published = datetime(2023, 5, 1, 8, 30, 0, 250000, tzinfo=UTC)
        stamp = published.isoformat().replace("+00:00", "Z")
        for n in range(300):
            assert await apply(ctx, _create(n, stamp))
        stored = await _statuses(ctx)
        assert len(stored) == 300
        assert len({s.id for s in stored}) == 300
        assert {id_time(s.id) for s in stored} == {published}  # all in their millisecond
        assert {s.created_at for s in stored} == {published}


async def test_an_id_another_process_took_is_stepped_over(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        author = remote(ACTOR)
        await add(ctx, author)
        published = datetime.now(UTC) - timedelta(days=3)
        mine = new_id(published)
        # another process stored a note under the id this one draws next (mine + 1)
        await add(ctx, Status(id=mine + 1, uri=f"{ACTOR}/statuses/theirs", account_id=author.id,
                              local=False))
        async with ctx.sessions() as session:
            status = Status(id=new_id(published), uri=f"{ACTOR}/statuses/mine",
                            account_id=author.id, local=False)
            assert status.id == mine + 1
            await insert_status(session, status)
            await session.commit()
            assert status.id != mine + 1 and id_time(status.id) == id_time(mine)
        stored = {s.uri: s.id for s in await _statuses(ctx)}
        assert stored == {f"{ACTOR}/statuses/theirs": mine + 1, f"{ACTOR}/statuses/mine": status.id}


async def test_a_second_row_with_the_same_uri_is_still_refused(database_url):
    async with federation(database_url, "https://local.example") as ctx:
        author = remote(ACTOR)
        await add(ctx, author)
        uri = f"{ACTOR}/statuses/once"
        await add(ctx, Status(uri=uri, account_id=author.id, local=False))
        async with ctx.sessions() as session:
            with pytest.raises(IntegrityError):
                await insert_status(session, Status(uri=uri, account_id=author.id, local=False))
            # the savepoint rolled back alone: the transaction goes on
            count = len((await session.exec(select(Status.id))).all())
            assert count == 1


async def test_the_inbox_batch_stores_a_flood_even_past_a_taken_id(database_url):
    """The bulk path: its run clashes on an id another process took, and is applied again
    one by one, which steps over it."""
    async with federation(database_url, "https://local.example") as ctx:
        flood = await _followed_remote(ctx)
        published = datetime(2022, 7, 7, 7, 7, 7, 777000, tzinfo=UTC)
        taken = new_id(published) + 1  # the id this process draws next for that millisecond
        await add(ctx, Status(id=taken, uri=f"{ACTOR}/statuses/elsewhere", account_id=flood.id,
                              local=False))
        stamp = published.isoformat().replace("+00:00", "Z")
        items = [({"activity": _create(n, stamp), "recipient": None, "signer": ACTOR + "#main-key"},
                  f"flood-{n}") for n in range(250)]
        async with ctx.sessions() as session:
            await enqueue_many(session, INBOX_QUEUE, "activity", items)
            await session.commit()
        worker = Worker(ctx.sessions, {"activity": make_inbox_handler(ctx)}, [INBOX_QUEUE],
                        batches={"activity": make_inbox_batch_handler(ctx)}, batch_size=100)
        while await worker.run_once():
            pass
        async with ctx.sessions() as session:
            states = [j.state for j in (await session.exec(select(Job))).all()]
        assert states == ["done"] * 250
        stored = await _statuses(ctx)
        assert len(stored) == 251 and len({s.id for s in stored}) == 251
        assert {id_time(s.id) for s in stored} == {published}
