"""The home timeline's scan floor (`models.timelines._scan_floor`) is read once a second per
process: whatever floor a page reads under, stale or too high, the page is the same."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models import timelines
from models.db import session_factory
from models.tables import Account, Status
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)
from tests.test_timeline_home import _ids


async def test_pages_agree_whatever_the_floor(api: Api,  # noqa: F811
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timelines, "FLOOR_TTL", 3600.0)  # the floor read first stays
    alice, token = await api.user("alice")
    m = api.mastodon(token)
    assert await api.call(m.timeline_home, limit=3) == []  # reads the floor: an empty table
    engine = api.inst.state.engine
    async with session_factory(engine)() as session:
        busy = Account(kind="remote", username="busy", domain="b.example",
                       uri="https://b.example/users/busy")
        session.add(busy)
        await session.commit()
    await api.act(actions.follow, alice, busy)
    async with session_factory(engine)() as session:  # the remote side accepts
        await (await session.connection()).execute(sa.text(
            "UPDATE follows SET state = 'accepted'"))
        await session.commit()
    start = datetime.now(UTC) - timedelta(days=2)
    rows = [{"id": i, "uri": f"https://b.example/s/{i}", "account_id": busy.id,
             "local": False, "content": "<p>busy</p>", "visibility": "public"}
            for i in _ids(start, timelines.SCAN_BUDGET + 100)]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(Status.__table__), rows)  # type: ignore[attr-defined]
    newest = [str(r["id"]) for r in rows[::-1]]

    stale = await api.call(m.timeline_home, limit=5)  # under the empty table's floor
    assert [s.id for s in stale] == newest[:5]
    for reader in list(timelines._FLOORS):  # a floor above every status
        timelines._FLOORS[reader] = (time.monotonic(), 2**62)
    high = await api.call(m.timeline_home, limit=5)
    assert [s.id for s in high] == newest[:5]
    further = await api.call(m.fetch_next, high)
    assert [s.id for s in further] == newest[5:10]
