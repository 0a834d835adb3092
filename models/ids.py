"""Mastodon-style ids: `(unix_ms << 16) | sequence`, 64-bit, sortable by creation time.

Within a process ids strictly increase; across processes the 16 low bits start at a random
offset each millisecond, so two processes colliding needs the same millisecond and the same
random draw (the primary key would then refuse the second row).
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime

_SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1

_lock = threading.Lock()
_last = 0


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
        # a back-dated id is not part of the increasing sequence: random low bits only
        return id_at(_unix_ms(at)) | secrets.randbits(_SEQUENCE_BITS)
    ms = _unix_ms(datetime.now(UTC))
    with _lock:
        candidate = id_at(ms) | secrets.randbits(_SEQUENCE_BITS - 2)  # leave room to count up
        _last = max(candidate, _last + 1)
        return _last


def id_time(value: int) -> datetime:
    """When an id was made (to the millisecond)."""
    return datetime.fromtimestamp((value >> _SEQUENCE_BITS) / 1000, tz=UTC)
