"""What live streams hear: new statuses, edits, deletes and notifications, told after commit.

`watch(sessions, publish)` hooks a session factory. Each flush notes the rows it wrote
(a new `Status` or `Notification`, a status whose `deleted_at` or `edited_at` changed, a
boost deleted outright); a commit hands the notes to `publish`; a rollback drops them. So
every write path (local actions, the inbox, workers) is heard without calling anything, and
a listener never hears of a row it cannot read yet.

Other processes hear them through the database, inside the same transaction (so only once
it commits): with `origin`, each flush's events also go out as a `NOTIFY` on PostgreSQL, or
as rows of `stream_events` on SQLite, which listening processes poll (`relayed_after`) and
prune. Only ids travel; each process renders them for its own listeners.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel.orm.session import Session as SQLModelSession

from models.tables import Notification, Status, StreamEvent
from models.types import utcnow

UPDATE, EDIT, DELETE, NOTIFICATION = "update", "status.update", "delete", "notification"
KINDS = frozenset({UPDATE, EDIT, DELETE, NOTIFICATION})
CHANNEL = "fediverse_events"  # PostgreSQL's LISTEN/NOTIFY channel
_NOTIFY_EVENTS = 200  # events per NOTIFY: its payload must stay under 8,000 bytes
RELAY_KEEP = timedelta(seconds=60)  # SQLite: relayed rows older than this are pruned
PRUNE_EVERY = 500  # SQLite: a writing process prunes after relaying this many events
_relayed = 0
_NOTES = "fediverse.events"
_MARKS = "fediverse.events.savepoints"
_HOOKS = "fediverse_events_hooks"  # on a watched session class: (origin, publish)


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


def unique(events: list[Event]) -> list[Event]:
    """Each event once; no edit of a status that is new in the same transaction."""
    new = {e.id for e in events if e.kind == UPDATE}
    seen: set[Event] = set()
    kept = []
    for e in events:
        if e not in seen and not (e.kind == EDIT and e.id in new):
            seen.add(e)
            kept.append(e)
    return kept


def relay(connection: sa.Connection, origin: str, events: list[Event]) -> None:
    """Tell other processes of `events`, in the connection's transaction."""
    if connection.dialect.name == "postgresql":
        for payload in notify_payloads(origin, events):
            connection.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))
        return
    now = utcnow()
    connection.execute(sa.insert(StreamEvent), [
        {"origin": origin, "kind": e.kind, "ref_id": e.id, "created_at": now} for e in events])
    global _relayed
    _relayed += len(events)
    if _relayed >= PRUNE_EVERY:  # listeners prune too; this keeps the table small without any
        _relayed = 0
        connection.execute(sa.delete(StreamEvent).where(
            StreamEvent.created_at < now - RELAY_KEEP))  # type: ignore[arg-type]


def notify_payloads(origin: str, events: list[Event]) -> list[str]:
    """The `NOTIFY` payloads (on `CHANNEL`) that relay `events` on PostgreSQL."""
    return [orjson.dumps({"o": origin, "e": [[e.kind, e.id] for e in
                                             events[start:start + _NOTIFY_EVENTS]]}).decode()
            for start in range(0, len(events), _NOTIFY_EVENTS)]


def parse_notify(payload: str) -> tuple[str, list[Event]]:
    """The origin and events of a relayed NOTIFY payload; ValueError if it is none of ours."""
    try:
        data = orjson.loads(payload)
        events = [Event(str(kind), int(ref)) for kind, ref in data["e"]]
        origin = str(data["o"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError("not a relayed event") from exc
    return origin, [e for e in events if e.kind in KINDS]


async def last_relayed(connection: AsyncConnection) -> int:
    """The newest `stream_events` id (0 if none): where a new listener starts."""
    found = await connection.execute(sa.select(sa.func.max(StreamEvent.id)))
    return int(found.scalar() or 0)


async def relayed_after(connection: AsyncConnection, after_id: int, *, limit: int = 1000
                        ) -> list[tuple[int, str, Event]]:
    """(id, origin, event) of the `stream_events` rows after `after_id`, oldest first."""
    query = sa.select(StreamEvent.id, StreamEvent.origin, StreamEvent.kind,
                      StreamEvent.ref_id).where(StreamEvent.id > after_id)  # type: ignore[operator]
    rows = await connection.execute(query.order_by(StreamEvent.id).limit(limit))
    return [(int(i), str(o), Event(str(k), int(r))) for i, o, k, r in rows.all()
            if k in KINDS]


async def prune_relayed(connection: AsyncConnection, older_than: timedelta) -> None:
    await connection.execute(sa.delete(StreamEvent).where(
        StreamEvent.created_at < utcnow() - older_than))  # type: ignore[arg-type]


def hooks_of(sessions: async_sessionmaker[Any]) -> tuple[str | None, Publish] | None:
    """The relay origin and `publish` that `watch` gave a session factory (None: unwatched),
    for rows written without the ORM: `relay` them in their transaction, and `publish` them
    once it has committed."""
    watched = sessions.kw.get("sync_session_class")
    return getattr(watched, _HOOKS, None)


def note_written(session: Session, events: list[Event]) -> None:
    """Events of rows a watched session's transaction wrote without the ORM (on its
    connection): relayed now, told once it commits, like those of its flushes."""
    hooks = getattr(type(session), _HOOKS, None)
    if hooks is None or not events:
        return
    if hooks[0] is not None:
        relay(session.connection(), hooks[0], events)
    session.info.setdefault(_NOTES, []).extend(events)


def watch(sessions: async_sessionmaker[Any], publish: Publish, *,
          origin: str | None = None) -> None:
    """Tell `publish` what each committed transaction of `sessions` wrote; with `origin`
    (this process's relay id), tell other processes too (`relay`)."""
    base = sessions.kw.get("sync_session_class") or SQLModelSession
    watched: type[Session] = type("WatchedSession", (base,), {_HOOKS: (origin, publish)})

    def after_flush(session: Session, _context: Any) -> None:
        found = flushed(session.new, session.dirty, session.deleted)
        if found and origin is not None:
            relay(session.connection(), origin, found)
        session.info.setdefault(_NOTES, []).extend(found)

    def after_transaction_create(session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:  # a savepoint: where to cut the notes back to if it rolls back
            session.info.setdefault(_MARKS, {})[transaction] = len(session.info.get(_NOTES, []))

    def after_commit(session: Session) -> None:
        if session.in_nested_transaction():  # a savepoint released: the transaction goes on
            return
        notes = session.info.pop(_NOTES, None)
        if notes:
            publish(unique(notes))

    def after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
        if previous.nested:  # a savepoint rolled back: forget what it wrote
            mark = session.info.get(_MARKS, {}).get(previous)
            if mark is not None:
                del session.info.get(_NOTES, [])[mark:]
        elif previous.parent is None:
            session.info.pop(_NOTES, None)

    def after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # the session's transaction is over, however it ended
            session.info.pop(_NOTES, None)
            session.info.pop(_MARKS, None)

    event.listen(watched, "after_flush", after_flush)
    event.listen(watched, "after_transaction_create", after_transaction_create)
    event.listen(watched, "after_commit", after_commit)
    event.listen(watched, "after_soft_rollback", after_soft_rollback)
    event.listen(watched, "after_transaction_end", after_transaction_end)
    sessions.configure(sync_session_class=watched)
