"""A Mastodon.py stream listener for the tests: what each kind of event brought, kept
apart, and whether the stream has opened (its first heartbeat)."""

from __future__ import annotations

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
