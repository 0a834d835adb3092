"""What live streams hear: new statuses, edits, deletes and notifications, told after commit.

`watch(sessions, publish)` hooks a session factory. Each flush notes the rows it wrote
(a new `Status` or `Notification`, a status whose `deleted_at` or `edited_at` changed, a
boost deleted outright); a commit hands the notes to `publish`; a rollback drops them. So
every write path (local actions, the inbox, workers) is heard without calling anything, and
a listener never hears of a row it cannot read yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel.orm.session import Session as SQLModelSession

from models.tables import Notification, Status

UPDATE, EDIT, DELETE, NOTIFICATION = "update", "status.update", "delete", "notification"
_NOTES = "fediverse.events"


@dataclass(frozen=True)
class Event:
    kind: str  # UPDATE (a new status or boost), EDIT, DELETE, NOTIFICATION
    id: int  # the status's or the notification's


Publish = Callable[[list[Event]], None]


def _changed(row: Status, name: str) -> bool:
    history = sa.inspect(row).attrs[name].history
    return history.has_changes() and getattr(row, name) is not None


def _published(row: Status) -> bool:
    """A status waiting for its generated image was just let out."""
    history = sa.inspect(row).attrs["pending"].history
    return history.has_changes() and not row.pending


def flushed(new: Iterable[Any], dirty: Iterable[Any], deleted: Iterable[Any]) -> list[Event]:
    """The events one flush makes (a pending status makes its `update` once published)."""
    found = [Event(UPDATE, r.id) for r in new if isinstance(r, Status) and not r.pending]
    found += [Event(NOTIFICATION, r.id) for r in new if isinstance(r, Notification)]
    for row in dirty:
        if isinstance(row, Status) and _published(row):
            found.append(Event(UPDATE, row.id))
        elif isinstance(row, Status) and _changed(row, "deleted_at"):
            found.append(Event(DELETE, row.id))
        elif isinstance(row, Status) and _changed(row, "edited_at"):
            found.append(Event(EDIT, row.id))
    found += [Event(DELETE, r.id) for r in deleted if isinstance(r, Status)]
    return found


def _unique(events: list[Event]) -> list[Event]:
    """Each event once; no edit of a status that is new in the same transaction."""
    new = {e.id for e in events if e.kind == UPDATE}
    seen: set[Event] = set()
    kept = []
    for e in events:
        if e not in seen and not (e.kind == EDIT and e.id in new):
            seen.add(e)
            kept.append(e)
    return kept


def watch(sessions: async_sessionmaker[Any], publish: Publish) -> None:
    """Tell `publish` what each committed transaction of `sessions` wrote."""
    base = sessions.kw.get("sync_session_class") or SQLModelSession
    watched: type[Session] = type("WatchedSession", (base,), {})

    def after_flush(session: Session, _context: Any) -> None:
        notes = session.info.setdefault(_NOTES, [])
        notes += flushed(session.new, session.dirty, session.deleted)

    def after_commit(session: Session) -> None:
        notes = session.info.pop(_NOTES, None)
        if notes:
            publish(_unique(notes))

    def after_rollback(session: Session) -> None:
        session.info.pop(_NOTES, None)

    event.listen(watched, "after_flush", after_flush)
    event.listen(watched, "after_commit", after_commit)
    event.listen(watched, "after_rollback", after_rollback)
    sessions.configure(sync_session_class=watched)
