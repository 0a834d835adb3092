"""Issue 4 audit: `update` notifications (an edited post one has boosted, local or remote, as
Mastodon's fan-out sends them) and the `user:notification` stream, which carries
notifications and nothing else, on a running instance."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from fediverse.api import streaming
from inbox.statuses import edit_status, store_status
from models.tables import Account, Notification
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture(autouse=True)
def quick_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.2)


async def updates_of(api: Api, token: str) -> list[dict[str, Any]]:
    answer = await api.http("GET", "/api/v1/notifications", token, params={"types[]": "update"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_an_edit_notifies_the_local_accounts_that_boosted_it(api: Api) -> None:
    _, alice = await api.user("alice")
    _, bob = await api.user("bob")
    _, carol = await api.user("carol")
    _, dave = await api.user("dave")
    posted = (await api.http("POST", "/api/v1/statuses", alice, data={"status": "first"})).json()
    for token in (bob, carol, alice):  # alice boosts her own: no notification of herself
        boosted = await api.http("POST", f"/api/v1/statuses/{posted['id']}/reblog", token)
        assert boosted.status_code == 200, boosted.text
    await api.http("POST", f"/api/v1/statuses/{posted['id']}/unreblog", carol)
    edited = await api.http("PUT", f"/api/v1/statuses/{posted['id']}", alice,
                            data={"status": "second"})
    assert edited.status_code == 200, edited.text
    heard = await updates_of(api, bob)
    assert [(n["type"], n["account"]["username"], n["status"]["id"]) for n in heard] == [
        ("update", "alice", posted["id"])]
    assert "second" in heard[0]["status"]["content"]
    assert heard[0]["status"]["edited_at"] is not None
    for token in (alice, carol, dave):  # the author, an undone boost, a stranger
        assert await updates_of(api, token) == []
    grouped = await api.http("GET", "/api/v2/notifications", bob,
                             params={"types[]": "update"})
    assert grouped.status_code == 200, grouped.text
    [group] = grouped.json()["notification_groups"]
    assert group["type"] == "update" and group["status_id"] == posted["id"]
    assert group["group_key"].startswith("ungrouped-")  # Mastodon groups no edits


async def test_a_remote_edit_notifies_local_boosters(api: Api) -> None:
    bob_account, bob = await api.user("bob")
    ctx = api.inst.state.federation
    note = {"id": "https://remote.example/notes/1", "type": "Note",
            "attributedTo": "https://remote.example/users/zed", "content": "<p>before</p>",
            "to": [PUBLIC], "published": "2026-01-01T00:00:00Z"}
    async with api.inst.state.writer() as session:
        zed = Account(kind="remote", username="zed", domain="remote.example",
                      uri="https://remote.example/users/zed",
                      followers_url="https://remote.example/users/zed/followers")
        session.add(zed)
        await session.flush()
        status = await store_status(ctx, session, note, zed)
        await session.commit()
    assert (await api.http("POST", f"/api/v1/statuses/{status.id}/reblog", bob)).status_code == 200
    async with api.inst.state.writer() as session:
        fresh, author = await session.get(type(status), status.id), await session.get(Account, zed.id)
        changed = note | {"content": "<p>after</p>", "updated": "2026-01-02T00:00:00Z"}
        assert await edit_status(ctx, session, fresh, changed, author)
        await session.commit()
    heard = await updates_of(api, bob)
    assert [(n["account"]["acct"], n["status"]["id"]) for n in heard] == [
        ("zed@remote.example", str(status.id))]
    assert "after" in heard[0]["status"]["content"]
    rows = await api.rows(Notification, Notification.account_id == bob_account.id)
    assert [row.type for row in rows] == ["update"]


async def _events(lines: Any, count: int) -> list[tuple[str, Any]]:
    """The next `count` events of a server-sent-events body (heartbeats skipped)."""
    found: list[tuple[str, Any]] = []
    name = None
    while len(found) < count:
        line = await asyncio.wait_for(anext(lines), 5)
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name:
            found.append((name, orjson.loads(line.removeprefix("data: "))))
            name = None
    return found


async def test_the_notification_stream_carries_notifications_only(api: Api) -> None:
    _, alice = await api.user("alice")
    bob_account, bob = await api.user("bob")
    await api.http("POST", f"/api/v1/accounts/{bob_account.id}/follow", alice)
    async with api.inst.client() as client:
        async with client.stream("GET", "/api/v1/streaming/user/notification",
                                 headers={"Authorization": f"Bearer {bob}"}) as answer:
            assert answer.status_code == 200
            lines = answer.aiter_lines()
            assert await anext(lines) == ":)"
            # bob's own post reaches his home timeline (the `user` stream), not this one
            await api.http("POST", "/api/v1/statuses", bob, data={"status": "my own post"})
            await api.http("POST", "/api/v1/statuses", alice,
                           data={"status": "@bob hello there"})
            [(event, payload)] = await _events(lines, 1)
    assert event == "notification"
    assert payload["type"] == "mention" and payload["account"]["username"] == "alice"
    assert "hello there" in payload["status"]["content"]
