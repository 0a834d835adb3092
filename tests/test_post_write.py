"""A new status in one transaction (`outbox.post_write`): what the request writes, and the
`publish` job that renders and fans out its `Create` after the commit."""

from __future__ import annotations

import asyncio
import re

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import select

from models.db import sqlite_sync_writer
from models.queue import Worker
from models.tables import IdempotencyKey, Job, Mention, Notification, OutboxActivity, Status
from outbox import actions
from outbox.deliver import Deliverer
from outbox.post_write import PUBLISH, NewPost, post_new
from tests.outbox_fixtures import BASE, ctx, local, remote_follower, trust  # noqa: F401
from tests.sinks import running_sink
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)


async def _rows(ctx, model, *where):  # noqa: F811
    async with ctx.sessions() as session:
        return list((await session.exec(select(model).where(*where))).all())


async def _drain(ctx) -> None:  # noqa: F811
    deliverer = Deliverer(ctx)
    try:
        while await Worker(ctx.sessions, deliverer.handlers(), ["deliver"]).run_once():
            pass
    finally:
        await deliverer.aclose()


async def _post(api: Api, token: str, text: str, key: str):  # type: ignore[no-untyped-def]  # noqa: F811
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    async with api.inst.client() as client:
        return await client.post("/api/v1/statuses", headers=headers, data={"status": text})


async def test_the_publish_job_sends_the_create_after_the_commit(ctx) -> None:  # noqa: F811
    alice, carol = await local(ctx, "alice"), await local(ctx, "carol")
    async with running_sink() as sink:
        trust([sink], ctx, alice)
        await remote_follower(ctx, sink, alice)
        status, _ = await post_new(ctx, ctx.sessions, NewPost(
            account=alice, text="hi @carol #Cats", mentions=[carol]))
        # committed with its mention, notification and tag, the Create not yet rendered
        [job] = await _rows(ctx, Job, Job.queue == "deliver")
        assert job.kind == PUBLISH and job.payload == {"status": status.id}
        assert await _rows(ctx, OutboxActivity) == []
        assert [m.account_id for m in await _rows(ctx, Mention)] == [carol.id]
        [note] = await _rows(ctx, Notification)
        assert (note.account_id, note.type, note.status_id) == (carol.id, "mention", status.id)
        await _drain(ctx)
        await _drain(ctx)  # a second run plans nothing twice
    [create] = sink.bodies()
    assert create["type"] == "Create" and create["object"]["id"] == status.uri
    assert create["object"]["content"] == status.content and "#<span>Cats</span>" in status.content
    assert {t["name"] for t in create["object"]["tag"]} == {"#Cats", "@carol@" + ctx.domain}
    assert len(await _rows(ctx, OutboxActivity)) == 1


async def test_a_status_deleted_before_its_publish_job_sends_no_create(ctx) -> None:  # noqa: F811
    alice = await local(ctx, "alice")
    async with running_sink() as sink:
        trust([sink], ctx, alice)
        await remote_follower(ctx, sink, alice)
        status, _ = await post_new(ctx, ctx.sessions, NewPost(
            account=alice, text="gone soon"))
        async with ctx.sessions() as session:
            row = await session.get(Status, status.id)
            await actions.delete_status(ctx, session, row)
        await _drain(ctx)
    assert [body["type"] for body in sink.bodies()] == ["Delete"]


async def test_a_post_through_the_api_is_one_transaction(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    await api.user("carol")
    state = api.inst.state
    engines = [state.engine.sync_engine]
    sync = sqlite_sync_writer(state.engine)
    if sync is not None:
        engines.append(sync[0])
    committed: list[set[str]] = []  # the tables each committed transaction inserted into

    def executed(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        conn.info.setdefault("inserted", set()).update(re.findall(r"INSERT INTO (\w+)", statement))

    def commit(conn: sa.Connection) -> None:
        committed.append(conn.info.pop("inserted", set()))

    def rollback(conn: sa.Connection) -> None:
        conn.info.pop("inserted", None)

    hooks = {"before_cursor_execute": executed, "commit": commit, "rollback": rollback}
    for engine in engines:
        for name, hook in hooks.items():
            event.listen(engine, name, hook)
    try:
        answer = await _post(api, token, "hello @carol #one #two", "k1")
    finally:
        for engine in engines:
            for name, hook in hooks.items():
                event.remove(engine, name, hook)
    assert answer.status_code == 200, answer.text
    [post] = [tables for tables in committed if "statuses" in tables]
    assert {"statuses", "mentions", "tags", "status_tags", "notifications", "idempotency_keys",
            "jobs"} <= post
    body = answer.json()
    assert [m["acct"] for m in body["mentions"]] == ["carol"]
    assert sorted(t["name"] for t in body["tags"]) == ["one", "two"]


async def test_the_same_idempotency_key_at_once_posts_once(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")

    async def post() -> str:
        answer = await _post(api, token, "once", "same")
        assert answer.status_code == 200, answer.text
        return str(answer.json()["id"])

    first, second = await asyncio.gather(post(), post())
    assert first == second
    assert len(await api.rows(Status)) == 1 and len(await api.rows(IdempotencyKey)) == 1
