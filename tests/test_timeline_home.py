"""The home timeline read through the client API's fast path (`models.timelines.home_rows`,
`models.reads`) lists what the plain query lists, for a sparse timeline too: one whose
followees' statuses lie below more than SCAN_BUDGET others' newer ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from models import timelines
from models.db import session_factory
from models.status_queries import Window
from models.tables import Account, Status
from outbox import actions
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)


def _ids(start: datetime, count: int) -> list[int]:
    """Time-sortable ids, one a second from `start`."""
    base = int(start.timestamp() * 1000)
    return [(base + i * 1000) << 16 for i in range(count)]


async def test_sparse_home_timeline_reads_past_the_scan_budget(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    m = api.mastodon(token)
    engine = api.inst.state.engine
    async with session_factory(engine)() as session:
        quiet = Account(kind="remote", username="quiet", domain="q.example",
                        uri="https://q.example/users/quiet")
        busy = Account(kind="remote", username="busy", domain="b.example",
                       uri="https://b.example/users/busy")
        session.add_all([quiet, busy])
        await session.commit()
    await api.act(actions.follow, alice, quiet)
    async with session_factory(engine)() as session:  # the remote side accepts
        await (await session.connection()).execute(sa.text(
            "UPDATE follows SET state = 'accepted'"))
        await session.commit()
    start = datetime.now(UTC) - timedelta(days=2)
    older, newer = 5, timelines.SCAN_BUDGET + 100
    rows = [{"id": i, "uri": f"https://q.example/s/{i}", "account_id": quiet.id,
             "local": False, "content": "<p>quiet</p>", "visibility": "public"}
            for i in _ids(start, older)]
    rows += [{"id": i, "uri": f"https://b.example/s/{i}", "account_id": busy.id,
              "local": False, "content": "<p>busy</p>", "visibility": "public"}
             for i in _ids(start + timedelta(hours=1), newer)]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(Status.__table__), rows)  # type: ignore[attr-defined]
    quiet_ids = [str(r["id"]) for r in rows[:older]][::-1]

    first = await api.call(m.timeline_home, limit=3)
    assert [s.id for s in first] == quiet_ids[:3]
    assert all(s.account.acct == "quiet@q.example" for s in first)
    rest = await api.call(m.fetch_next, first)
    assert [s.id for s in rest] == quiet_ids[3:]
    upward = await api.call(m.timeline_home, min_id=quiet_ids[-1], limit=2)
    assert [s.id for s in upward] == quiet_ids[-3:-1]

    async with session_factory(engine)() as session:  # the plain query agrees
        plain = await timelines.home(session, alice.id, Window(40))
    assert [str(s.id) for s in plain] == quiet_ids
