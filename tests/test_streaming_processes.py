"""Live streams hear what other processes write: a `fediverse worker` applying remote posts
reaches the streaming clients of a separate `fediverse serve`, through the database
(LISTEN/NOTIFY on PostgreSQL, the `stream_events` table on SQLite)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from fediverse.settings import Settings
from fediverse.state import AppState
from models.accounts import create_account
from models.db import make_engine, session_factory
from models.queue import enqueue
from models.tables import Account, Follow, StreamEvent
from models.tokens import create_token
from models.types import utcnow
from outbox import actions
from outbox.events import UPDATE, Event, prune_relayed
from tests.instances import free_port
from tests.processes import command_env, fediverse_process, until_serving

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ZED = "https://remote.example/users/zed"


def _settings(data_dir: Path, database_url: str, port: int) -> Settings:
    return Settings(domain=f"127.0.0.1:{port}", data_dir=data_dir, database_url=database_url,
                    image_model="tiny", device="cpu", insecure_http=True,
                    allow_private_networks=True)


async def test_two_app_states_on_one_database_hear_each_other_once(
        tmp_path: Path, database_url: str) -> None:
    """Two app states on one database (as two processes have): each hears the other's write
    through the relay, and its own once (directly, not again through the database)."""
    port = free_port()
    one = await AppState.start(_settings(tmp_path / "one", database_url, port))
    two = await AppState.start(_settings(tmp_path / "two", database_url, port))
    try:
        with one.events.subscribe() as heard_one, two.events.subscribe() as heard_two:
            await one.events.listening()
            await two.events.listening()
            async with two.writer() as session:
                alice = await create_account(session, "alice")
                status = await actions.post_status(two.federation, session, alice, text="hi")
                await session.commit()
            expected = Event(UPDATE, status.id)
            assert await asyncio.wait_for(heard_one.next(), 10) == expected
            assert await asyncio.wait_for(heard_two.next(), 10) == expected
            await asyncio.sleep(0.5)  # several polls: nothing heard twice
            assert heard_one.queue.empty() and heard_two.queue.empty()
    finally:
        await one.close()
        await two.close()


async def test_relayed_rows_are_pruned_by_age(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.insert(StreamEvent), [
                {"origin": "x", "kind": UPDATE, "ref_id": 1,
                 "created_at": utcnow() - timedelta(minutes=5)},
                {"origin": "x", "kind": UPDATE, "ref_id": 2, "created_at": utcnow()}])
            await prune_relayed(connection, timedelta(seconds=60))
            left = (await connection.execute(sa.select(StreamEvent.ref_id))).scalars().all()
    finally:
        await engine.dispose()
    assert list(left) == [2]


# real processes

class SseReader:
    """The events of one server-sent-events stream, as (name, data)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.opened = asyncio.Event()

    async def read(self, response: httpx.Response) -> None:
        name = None
        async for line in response.aiter_lines():
            if line.startswith(":"):
                self.opened.set()
            elif line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: ") and name is not None:
                self.events.append((name, line[len("data: "):]))
                name = None

    async def until(self, count: int) -> list[tuple[str, str]]:
        for _ in range(600):
            if len(self.events) >= count:
                return self.events
            await asyncio.sleep(0.05)
        raise AssertionError(f"heard only {self.events}")


async def _seed(database_url: str, port: int) -> str:
    """alice (a token of hers returned), following zed of remote.example."""
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            alice = await create_account(session, "alice")
            zed = Account(kind="remote", username="zed", domain="remote.example", uri=ZED,
                          inbox=ZED + "/inbox", followers_url=ZED + "/followers",
                          fetched_at=utcnow())
            session.add(zed)
            await session.flush()
            session.add(Follow(account_id=alice.id, target_account_id=zed.id, state="accepted"))
            token = await create_token(session, alice, "read")
            await session.commit()
        return token
    finally:
        await engine.dispose()


async def _inbox_job(database_url: str, activity: dict[str, Any]) -> None:
    """An activity as the inbox route stores it once its signature checked out."""
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await enqueue(session, "inbox", "activity", {"activity": activity, "signer": ZED})
            await session.commit()
    finally:
        await engine.dispose()


def _note(port: int, content: str, **extra: Any) -> dict[str, Any]:
    alice = f"http://127.0.0.1:{port}/users/alice"
    return {"id": "https://remote.example/notes/1", "type": "Note", "attributedTo": ZED,
            "content": content, "to": [PUBLIC], "cc": [ZED + "/followers", alice],
            "tag": [{"type": "Mention", "href": alice, "name": "@alice"}], **extra}


async def test_a_worker_process_reaches_the_streams_of_a_serve_process(
        tmp_path: Path, database_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    token = await _seed(database_url, port)
    env = command_env(tmp_path, database_url, port, FEDIVERSE_ALLOW_PRIVATE_NETWORKS="1")
    heard = SseReader()
    async with fediverse_process(env, "serve", "--no-workers", "--port", str(port)) as server, \
            fediverse_process(env, "worker", "--queue", "inbox") as worker:
        await until_serving(base, server)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=None)) as client, \
                client.stream("GET", base + "/api/v1/streaming/user",
                              headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status_code == 200
            reader = asyncio.create_task(heard.read(response))
            try:
                await asyncio.wait_for(heard.opened.wait(), 10)
                await _inbox_job(database_url, {
                    "id": "https://remote.example/notes/1/activity", "type": "Create",
                    "actor": ZED, "object": _note(port, "<p>@alice first</p>")})
                await heard.until(2)
                await _inbox_job(database_url, {
                    "id": "https://remote.example/notes/1#updates/1", "type": "Update",
                    "actor": ZED, "object": _note(port, "<p>@alice second</p>",
                                                  updated=utcnow().isoformat())})
                await heard.until(3)
                await _inbox_job(database_url, {
                    "id": "https://remote.example/notes/1#delete", "type": "Delete",
                    "actor": ZED, "object": "https://remote.example/notes/1"})
                events = await heard.until(4)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                    await reader
        assert worker.returncode is None and server.returncode is None
    assert [name for name, _ in events] == ["update", "notification", "status.update", "delete"]
    created, mention, edited = (orjson.loads(data) for _, data in events[:3])
    assert created["uri"] == "https://remote.example/notes/1"
    assert created["account"]["acct"] == "zed@remote.example"
    assert mention["type"] == "mention" and mention["status"]["id"] == created["id"]
    assert edited["id"] == created["id"] and "second" in edited["content"]
    assert events[3][1] == created["id"]
