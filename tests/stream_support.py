"""Mastodon.py stream listeners for the tests: every event in order (`Collector`), or what
each kind of event brought, kept apart (`Heard`); each knows whether its stream has opened
(its first heartbeat)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from mastodon import StreamListener


class Heard(StreamListener):
    def __init__(self) -> None:
        self.updates: list[Any] = []
        self.notifications: list[Any] = []
        self.conversations: list[Any] = []
        self.deleted: list[int] = []
        self.opened = threading.Event()

    def on_update(self, status: Any) -> None:
        self.updates.append(status)

    def on_notification(self, notification: Any) -> None:
        self.notifications.append(notification)

    def on_conversation(self, conversation: Any) -> None:
        self.conversations.append(conversation)

    def on_delete(self, status_id: int) -> None:
        self.deleted.append(int(status_id))

    def handle_heartbeat(self) -> None:
        self.opened.set()


class Collector(StreamListener):
    """Every event a Mastodon.py stream hands over, as (name, entity or id)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.opened = threading.Event()

    def on_update(self, status: Any) -> None:
        self.events.append(("update", status))

    def on_status_update(self, status: Any) -> None:
        self.events.append(("status.update", status))

    def on_delete(self, status_id: Any) -> None:
        self.events.append(("delete", str(status_id)))

    def on_notification(self, notification: Any) -> None:
        self.events.append(("notification", notification))

    def handle_heartbeat(self) -> None:
        self.opened.set()

    async def until(self, count: int) -> list[tuple[str, Any]]:
        for _ in range(200):
            if len(self.events) >= count:
                return self.events
            await asyncio.sleep(0.025)
        raise AssertionError(f"only {self.events}")
