"""The in-process event bus: committed writes (`outbox.events`) fanned out to live streams.

Each subscriber has its own bounded queue; one that falls too far behind is cut off (its
stream ends, and the client reconnects) rather than holding memory for ever.

Limitation: the bus is per process. A status written by `fediverse worker` in another
process (a remote post arriving through a separate inbox worker) reaches the streams of
that process only; run the workers inside `fediverse serve` for live streams to hear
everything, or relay through PostgreSQL LISTEN/NOTIFY (not done yet).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from outbox.events import Event

QUEUE_SIZE = 1000


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
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

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
