"""The inbox's cheaper paths store and answer exactly what the general ones did: bulk inserts
on SQLite without SQLAlchemy's per-row work, the reusable HTML sanitizer, and the inbox POST
as a plain ASGI app."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import nh3
import pytest
import sqlalchemy as sa
from models_fixtures import engine, sessions  # noqa: F401

from inbox.sanitize import ATTRIBUTES, CLASSES, LINK_REL, SCHEMES, TAGS, plain_text, sanitize_html
from models.accounts import create_account
from models.ids import new_id
from models.queue import enqueue, enqueue_rows, insert_rows, run_write
from models.tables import Job, Status
from tests.test_inbox_front import follow, jobs, pair, post, signed  # noqa: F401

WHEN = datetime(2026, 11, 26, 3, 4, 5, 678000, tzinfo=UTC)


def status_row(account_id: int, n: int) -> dict[str, Any]:
    """A remote status's values as `inbox.statuses.status_values` gives them (some columns
    left to their defaults)."""
    return {"id": new_id(), "uri": f"https://remote.example/notes/{n}", "url": None,
            "account_id": account_id, "local": False, "content": "<p>hi &amp; bye</p>",
            "spoiler_text": "", "sensitive": True, "visibility": "unlisted", "language": "en",
            "in_reply_to_uri": None, "in_reply_to_id": None, "in_reply_to_account_id": None,
            "conversation": None, "poll": {"options": [{"title": "é", "votes": 1}], "multiple": False},
            "created_at": WHEN + timedelta(hours=n), "edited_at": None}


def raw_rows(connection: sa.Connection, table: str, ids: list[int]) -> list[dict[str, Any]]:
    """Rows as the database holds them (no result processing), without their id and uri."""
    found = connection.exec_driver_sql(
        f"SELECT * FROM {table} WHERE id IN ({', '.join(str(i) for i in ids)}) ORDER BY id")
    rows = [dict(row._mapping) for row in found]
    return [{k: v for k, v in row.items() if k not in ("id", "uri", "dedupe_key")} for row in rows]


async def test_insert_rows_stores_what_sqlalchemy_stores(engine, sessions):  # noqa: F811
    async with sessions() as session:
        account = await create_account(session, "writer")
        await session.commit()
    fast = [status_row(account.id, n) for n in range(3)]
    plain = [status_row(account.id, n) | {"uri": f"https://remote.example/plain/{n}"}
             for n in range(3)]
    for row in fast:
        row.pop("conversation")  # a left-out column is stored as SQLAlchemy would store it
    for row in plain:
        row.pop("conversation")

    def write(connection: sa.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        insert_rows(connection, Status.__table__, fast, chunk=2)
        connection.execute(sa.insert(Status), plain)
        return (raw_rows(connection, "statuses", [r["id"] for r in fast]),
                raw_rows(connection, "statuses", [r["id"] for r in plain]))

    stored_fast, stored_plain = await run_write(sessions, write)
    assert len(stored_fast) == 3
    assert stored_fast == stored_plain
    async with sessions() as session:
        status = await session.get(Status, fast[1]["id"])
    assert status is not None and status.created_at == WHEN + timedelta(hours=1)
    assert status.poll == fast[1]["poll"] and status.sensitive is True
    assert status.local is False and status.reblogs_count == 0


async def test_insert_rows_refuses_rows_without_a_column_the_first_has(engine, sessions):  # noqa: F811
    async with sessions() as session:
        account = await create_account(session, "writer")
        await session.commit()
    rows = [status_row(account.id, 1), status_row(account.id, 2)]
    del rows[1]["visibility"]
    with pytest.raises(Exception):  # noqa: B017 (KeyError on SQLite, StatementError elsewhere)
        await run_write(sessions, lambda connection: insert_rows(connection, Status.__table__,
                                                                 rows))
    async with sessions() as session:
        assert (await session.exec(sa.select(sa.func.count()).select_from(Status)
                                   .where(Status.local == sa.false()))).one()[0] == 0


async def test_enqueue_rows_dedupes_and_stores_as_enqueue_does(engine, sessions):  # noqa: F811
    payload = {"activity": {"id": "https://remote.example/a/1", "type": "Create",
                            "content": "ünïcode \u2028 and \"quotes\""}, "recipient": None}
    async with sessions() as session:
        single = await enqueue(session, "inbox", "activity", payload, dedupe_key="k-single")
        await session.commit()
    assert single is not None
    keys = [f"k-{n}" for n in range(450)] + ["k-3", "k-single", "x" * 300, "x" * 300]
    items = [(payload | {"n": n}, key) for n, key in enumerate(keys)]

    def write(connection: sa.Connection) -> tuple[list[bool], list[dict[str, Any]]]:
        added = enqueue_rows(connection, "inbox", "activity", items)
        ids = [single.id, *connection.execute(sa.select(Job.id).where(
            Job.dedupe_key.in_(["k-0", "k-449"]))).scalars()]  # type: ignore[union-attr]
        return added, raw_rows(connection, "jobs", ids)

    added, stored = await run_write(sessions, write)
    assert added == [True] * 450 + [False, False, True, False]
    assert len(stored) == 3
    # the times as `enqueue` stores them (on SQLite: text of the same shape), the rest equal
    times = [(row.pop("run_at"), row.pop("created_at")) for row in stored]
    shapes = {(type(t), len(t) if isinstance(t, str) else 0) for pair_ in times for t in pair_}
    assert len(shapes) == 1, times
    for row in stored:
        if isinstance(row["payload"], str):
            row["payload"] = json.loads(row["payload"])
        row["payload"].pop("n", None)
    assert stored[0]["payload"] == payload
    assert stored[1] == stored[2] == stored[0]
    async with sessions() as session:
        total = (await session.exec(sa.select(sa.func.count()).select_from(Job))).one()[0]
        long_key = (await session.exec(sa.select(Job.dedupe_key).where(
            Job.dedupe_key.like("sha256:%")))).all()  # type: ignore[union-attr]
    assert total == 452 and len(long_key) == 1


HOSTILE = [
    "<p>plain</p>", "no markup at all", "<script>alert(1)</script><p>x</p>",
    '<a href="javascript:alert(1)" onclick="x()">j</a>', '<a href="https://e.example/">l</a>',
    '<span class="h-card evil"><a class="u-url mention" href="https://e.example/@a">@a</a></span>',
    "<img src=x onerror=alert(1)>", "<style>p{}</style><p>s</p>", "<!-- c --><b>b</b>",
    "<p>unclosed <em>em", "&lt;escaped&gt; &amp; <br>", "<iframe src=//e.example></iframe>",
    '<a href="gemini://e.example/x" target="_self" rel="me">g</a>', "<svg><a>x</a></svg>",
]


@pytest.mark.parametrize("markup", HOSTILE)
def test_sanitizer_answers_as_nh3_clean_did(markup):
    assert sanitize_html(markup) == nh3.clean(
        markup, tags=set(TAGS), clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        allowed_classes={k: set(v) for k, v in CLASSES.items()}, url_schemes=set(SCHEMES),
        link_rel=LINK_REL, set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True)
    assert "<script" not in sanitize_html(markup) and "onerror" not in sanitize_html(markup)
    assert plain_text(markup) == __import__("html").unescape(nh3.clean(markup, tags=set()))


async def test_inbox_with_a_query_string_verifies_the_url_as_sent(pair):  # noqa: F811
    a, b, accounts = pair
    body = json.dumps(follow(a, b)).encode()
    key = f"{b.base_url}/users/bob#main-key"
    pem = accounts["bob"].private_key_pem
    r = await post(a, "/inbox?via=relay", body, signed(a.base_url + "/inbox?via=relay", body, key, pem))
    assert r.status_code == 202, r.text
    other = json.dumps(follow(a, b, n=2)).encode()
    r = await post(a, "/inbox?via=relay", other, signed(a.base_url + "/inbox?via=other", other, key,
                                                        pem))
    assert r.status_code == 401 and r.json() == {"error": r.json()["error"]}
    assert await jobs(a) == 1


async def test_inbox_answers_as_an_endpoint_would(pair):  # noqa: F811
    a, b, accounts = pair
    body = json.dumps(follow(a, b)).encode()
    headers = signed(a.base_url + "/actor/inbox", body, f"{b.base_url}/users/bob#main-key",
                     accounts["bob"].private_key_pem)
    async with a.client() as http:
        accepted = await http.post("/actor/inbox", content=body,
                                   headers=headers | {"Origin": "https://web.example"})
        wrong_method = await http.get("/inbox")
        too_big = await http.post("/inbox", content=b"{" + b" " * 1_000_001 + b"}",
                                  headers={"Content-Type": "application/activity+json",
                                           "Signature": 'keyId="k",signature="c2ln"'})
    assert accepted.status_code == 202 and accepted.content == b""
    assert accepted.headers["access-control-allow-origin"] == "*"  # the middleware still ran
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert too_big.status_code == 413 and "larger than" in too_big.json()["error"]
    assert await jobs(a) == 1
