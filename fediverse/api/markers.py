"""Read markers: where an account stopped reading its home timeline and notifications."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.entities import iso
from fediverse.api.errors import unprocessable
from fediverse.api.params import Params
from models.tables import Account, Marker
from models.types import utcnow

TIMELINES = ("home", "notifications")


def marker_entity(marker: Marker) -> dict[str, Any]:
    return {"last_read_id": str(marker.last_read_id), "version": marker.version,
            "updated_at": iso(marker.updated_at)}


def markers_entity(markers: list[Marker]) -> dict[str, Any]:
    return {marker.timeline: marker_entity(marker) for marker in markers}


def wanted_timelines(p: Params) -> list[str]:
    """`timeline[]` names we keep; none asked means all of them."""
    asked = [str(name) for name in p.getlist("timeline")]
    return [name for name in TIMELINES if name in asked] if asked else list(TIMELINES)


def updates_from(p: Params) -> dict[str, int]:
    """`home[last_read_id]=...` and the like, checked; 422 for an id that is not one."""
    updates: dict[str, int] = {}
    for name in TIMELINES:
        value = p.get(f"{name}[last_read_id]")
        if value is None:
            continue
        text = str(value)
        if not text.isdigit() or int(text) >= 2**63:
            raise unprocessable(f"Validation failed: {name} last_read_id is not an id")
        updates[name] = int(text)
    return updates


async def markers_of(session: AsyncSession, account: Account, timelines: list[str]
                     ) -> list[Marker]:
    query = select(Marker).where(Marker.account_id == account.id,
                                 col(Marker.timeline).in_(timelines))
    return list(await session.exec(query))


async def save_markers(session: AsyncSession, account: Account, updates: dict[str, int]
                       ) -> list[Marker]:
    """Create or move each marker (its version counts the moves); the caller commits."""
    saved = []
    for timeline, last_read_id in updates.items():
        saved.append(await _save(session, account, timeline, last_read_id))
    return saved


async def _save(session: AsyncSession, account: Account, timeline: str, last_read_id: int
                ) -> Marker:
    for _attempt in range(2):  # a concurrent first save wins the insert; then update it
        found = (await markers_of(session, account, [timeline]))
        marker = found[0] if found else Marker(account_id=account.id, timeline=timeline,
                                               last_read_id=last_read_id, version=-1)
        marker.last_read_id, marker.version, marker.updated_at = (
            last_read_id, marker.version + 1, utcnow())
        try:
            async with session.begin_nested():
                session.add(marker)
            return marker
        except IntegrityError:
            continue
    raise unprocessable("Validation failed: the marker was changed meanwhile")
