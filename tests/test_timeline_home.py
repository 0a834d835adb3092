"""The home timeline read through the client API's fast path (`models.timelines.home_rows`,
`models.reads`) lists what the plain query lists, for a sparse timeline too: one whose
followees' statuses lie below more than SCAN_BUDGET others' newer ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from models import timelines
from models.db import session_factory
from models.reads import read
from models.related import Related, load_raw_page
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


def _snapshot(page: list, related: Related) -> tuple:  # type: ignore[type-arg]
    """All a page shows, as plain values."""
    viewer = related.viewer
    return ([tuple(s) for s in page],
            {i: tuple(s) for i, s in related.statuses.items()},
            {i: tuple(a) for i, a in related.accounts.items()},
            {i: [tuple(m) for m in found] for i, found in related.media.items() if found},
            {i: [a.id for a in found] for i, found in related.mentions.items()},
            {i: list(found) for i, found in related.tags.items()},
            None if viewer is None else (viewer.favourited, viewer.reblogged,
                                         viewer.bookmarked, viewer.pinned))


async def test_a_home_page_in_one_statement_is_the_rows_and_all_they_show(
        api: Api) -> None:  # noqa: F811
    """`home_page` (on PostgreSQL one statement) gives what `home_rows` and `load_raw_page`
    give, whichever way it reads: boosts of statuses off the page, mentions, tags, the
    viewer's marks."""
    alice, token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    _dave, dave_token = await api.user("dave")

    async def post(who: str, text: str, **more: object) -> str:
        answer = await api.http("POST", "/api/v1/statuses", who, json={"status": text, **more})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["id"])

    async def do(who: str, path: str) -> None:
        answer = await api.http("POST", path, who)
        assert answer.status_code == 200, answer.text

    for followee in (bob, carol):
        await do(token, f"/api/v1/accounts/{followee.id}/follow")
    own = await post(token, "mine #tea")
    hello = await post(bob_token, "@alice hi #tea #cake")
    look = await post(carol_token, "@bob @alice look")
    far = await post(dave_token, "far away #tea")  # dave is not followed
    await post(bob_token, "@alice a secret", visibility="direct")
    for path in (f"/api/v1/statuses/{far}/reblog", f"/api/v1/statuses/{own}/reblog"):
        await do(carol_token, path)
    for path in (f"/api/v1/statuses/{hello}/favourite", f"/api/v1/statuses/{look}/bookmark",
                 f"/api/v1/statuses/{hello}/reblog", f"/api/v1/statuses/{own}/pin"):
        await do(token, path)

    engine = api.inst.state.engine

    def both(window: Window) -> tuple[tuple, tuple]:  # type: ignore[type-arg]
        def reference(conn: sa.Connection) -> tuple:  # type: ignore[type-arg]
            rows = timelines.home_rows(conn, alice.id, window)
            return _snapshot(rows, load_raw_page(conn, rows, alice.id))
        return reference, lambda conn: _snapshot(*timelines.home_page(conn, alice.id, window))

    everything = None
    # 20 and 40: the page read by id comes out short (7), then read by author or, with
    # under a quarter page found (`SPARSE_SHARE`), by followee
    for window in (Window(20), Window(40), Window(3), Window(2, max_id=int(look)),
                   Window(40, max_id=int(look)), Window(2, min_id=int(own)),
                   Window(20, since_id=int(hello))):
        reference, one = both(window)
        expected = await read(engine, reference, generic_plans=True)
        assert await read(engine, one, generic_plans=True) == expected
        everything = everything or expected
    assert everything is not None and len(everything[0]) == 7  # all but dave's own post
    boosted = {s[14] for s in everything[0] if s[14]}  # reblog_of_id
    assert boosted == {int(far), int(own), int(hello)} and int(far) in everything[1]
    assert everything[6] == ({int(hello)}, {int(hello)}, {int(look)}, {int(own)})
    assert set(everything[4][int(look)]) == {bob.id, alice.id}
    assert [t.name for t in everything[5][int(hello)]] == ["tea", "cake"]
