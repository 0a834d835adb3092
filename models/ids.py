"""Mastodon-style ids: `(unix_ms << 16) | sequence`, 64-bit, sortable by creation time.

Within a process ids strictly increase; across processes the 16 low bits start at a random
offset each millisecond, so two processes colliding needs the same millisecond and the same
random draw (the primary key would then refuse the second row).

Back-dated ids (a remote post's `published` time) count up within their millisecond from a
random start, so one process never hands out the same one twice; a row that another process
took first is stepped over with `id_above` (see `models.statuses.insert_status`).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from datetime import UTC, datetime

_SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1

_lock = threading.Lock()
_last = 0
_backdated: OrderedDict[int, int] = OrderedDict()  # millisecond -> the last id handed out in it
_BACKDATED_KEPT = 4096  # milliseconds remembered; older ones start afresh (the database guards)


def _unix_ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("id time must be timezone-aware")
    return int(at.timestamp() * 1000)


def id_at(ms: int) -> int:
    """The lowest id that can belong to unix time `ms` (milliseconds), for `since`-style queries."""
    return ms << _SEQUENCE_BITS


def new_id(at: datetime | None = None) -> int:
    """A fresh id for now, or for `at` (back-dated rows such as fetched remote statuses)."""
    global _last
    if at is not None:
        return _backdated_id(_unix_ms(at))
    ms = _unix_ms(datetime.now(UTC))
    with _lock:
        candidate = id_at(ms) | secrets.randbits(_SEQUENCE_BITS - 2)  # leave room to count up
        _last = max(candidate, _last + 1)
        return _last


def _remember(ms: int, value: int) -> int:
    _backdated[ms] = value
    _backdated.move_to_end(ms)
    while len(_backdated) > _BACKDATED_KEPT:
        _backdated.popitem(last=False)
    return value


def _backdated_id(ms: int) -> int:
    """The next id of millisecond `ms` for this process (a full one carries into the next)."""
    with _lock:
        last = _backdated.get(ms)
        start = id_at(ms) | secrets.randbits(_SEQUENCE_BITS - 1)  # room to count up
        return _remember(ms, start if last is None else last + 1)


def id_above(taken: int) -> int:
    """A back-dated id just above `taken` (the highest one a table holds in its millisecond),
    never one this process handed out already."""
    ms = taken >> _SEQUENCE_BITS
    with _lock:
        return _remember(ms, max(taken, _backdated.get(ms, taken)) + 1)


def id_time(value: int) -> datetime:
    """When an id was made (to the millisecond)."""
    return datetime.fromtimestamp((value >> _SEQUENCE_BITS) / 1000, tz=UTC)
