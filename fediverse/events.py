"""The event bus: committed writes (`outbox.events`) fanned out to live streams.

Each subscriber has its own bounded queue; one that falls too far behind is cut off (its
stream ends, and the client reconnects) rather than holding memory for ever.

A process's own writes reach its bus directly. Those of other processes (`fediverse worker`,
other web processes) come through the database once a stream has called `listening()`:
LISTEN on PostgreSQL (a connection of its own), polling `stream_events` on SQLite (which the
listener also prunes). Each process skips what it relayed itself, by its `origin`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from outbox.events import (
    CHANNEL,
    RELAY_KEEP,
    Event,
    last_relayed,
    parse_notify,
    prune_relayed,
    relayed_after,
    unique,
)

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
POLL_SECONDS = 0.1  # SQLite: how often a listening process looks for others' events
PRUNE_SECONDS = 20.0  # SQLite: how often a listening process prunes old relayed rows
RETRY_SECONDS = 1.0  # after the relay's connection failed
READY_SECONDS = 5.0  # a stream waits at most this long for the relay to start


class Subscription:
    """One listener's queue; `None` in it means the bus cut it off."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(QUEUE_SIZE + 1)
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= QUEUE_SIZE:
            self.close()
            return
        self.queue.put_nowait(event)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)

    async def next(self) -> Event | None:
        return await self.queue.get()


class Bus:
    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self._subscribers: set[Subscription] = set()
        self.origin = secrets.token_hex(8)  # tags what this process relays
        self._engine = engine
        self._relay: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def publish(self, events: list[Event]) -> None:
        for subscriber in list(self._subscribers):
            for item in events:
                subscriber.offer(item)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        subscription = Subscription()
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)
            subscription.closed = True

    def close(self) -> None:
        """End every stream (at shutdown)."""
        for subscriber in list(self._subscribers):
            subscriber.close()

    async def aclose(self) -> None:
        """End every stream and stop hearing other processes."""
        self.close()
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
            self._relay = None

    async def listening(self) -> None:
        """Hear other processes' writes from now on: starts the relay once, and waits (a
        little) until it hears."""
        if self._engine is None:
            return
        if self._relay is None:
            self._relay = asyncio.create_task(self._run_relay(self._engine))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._ready.wait()), READY_SECONDS)

    def _heard(self, origin: str, events: list[Event]) -> None:
        if origin != self.origin and events:
            self.publish(events)

    async def _run_relay(self, engine: AsyncEngine) -> None:
        while True:
            try:
                if engine.dialect.name == "postgresql":
                    await self._listen(engine)
                else:
                    await self._poll(engine)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the stream relay failed; retrying")
            await asyncio.sleep(RETRY_SECONDS)

    async def _listen(self, engine: AsyncEngine) -> None:
        """PostgreSQL: LISTEN on a connection of our own until it is lost."""
        import asyncpg

        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        lost = asyncio.Event()

        def notified(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            try:
                self._heard(*parse_notify(payload))
            except ValueError:
                log.warning("ignored a malformed %s notification", CHANNEL)

        try:
            connection.add_termination_listener(lambda _conn: lost.set())
            await connection.add_listener(CHANNEL, notified)
            self._ready.set()
            await lost.wait()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    async def _poll(self, engine: AsyncEngine) -> None:
        """SQLite: read the rows others wrote since we looked; prune old ones now and then."""
        async with engine.connect() as connection:
            seen = await last_relayed(connection)
        self._ready.set()
        loop = asyncio.get_running_loop()
        pruned_at = loop.time()
        while True:
            async with engine.connect() as connection:
                rows = await relayed_after(connection, seen)
            if rows:
                seen = rows[-1][0]
                foreign = unique([event for _, origin, event in rows if origin != self.origin])
                if foreign:
                    self.publish(foreign)
            if loop.time() - pruned_at > PRUNE_SECONDS:
                pruned_at = loop.time()
                await self._prune(engine)
            if not rows:
                await asyncio.sleep(POLL_SECONDS)

    async def _prune(self, engine: AsyncEngine) -> None:
        try:
            async with engine.begin() as connection:
                await prune_relayed(connection, RELAY_KEEP)
        except Exception as exc:  # a busy database: next time (writers prune too)
            log.warning("pruning stream events failed: %s", exc)
