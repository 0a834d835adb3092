"""The streaming API against a running instance: Mastodon.py's SSE streams, raw SSE over
httpx, and the WebSocket through the `websockets` client."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import orjson
import pytest
import websockets
from mastodon import StreamListener

from fediverse.api import streaming
from inbox.statuses import store_status
from models.tables import Account, Status
from outbox import actions
from tests.stream_support import Collector
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def quick_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed Mastodon.py stream is noticed at the next write: make that soon."""
    monkeypatch.setattr(streaming, "HEARTBEAT_SECONDS", 0.2)


async def act(api: Api, action: Any, *rows: Any, **options: Any) -> Any:
    """An `outbox.actions` action in one of the instance's own (watched) sessions."""
    async with api.inst.state.writer() as session:
        fresh = [await session.get(type(row), row.id) for row in rows]
        return await action(api.inst.state.federation, session, *fresh, **options)


async def _opened(collector: Collector) -> None:
    assert await asyncio.to_thread(collector.opened.wait, 10)


async def test_user_stream_carries_home_notifications_edits_and_deletes(api: Api) -> None:
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    _, carol_token = await api.user("carol")
    await api.act(actions.follow, alice, bob)
    a, b, c = (api.mastodon(t) for t in (alice_token, bob_token, carol_token))
    heard = Collector()
    handle = await api.call(a.stream_user, heard, run_async=True)
    try:
        await _opened(heard)
        await api.call(c.status_post, "carol is not followed")
        await api.call(b.status_post, "@carol a direct not for alice", visibility="direct")
        post = await api.call(b.status_post, "hello followers", visibility="private")
        mention = await api.call(c.status_post, "@alice hi")
        await api.call(b.status_update, post.id, "hello again")
        await api.call(b.status_delete, post.id)
        events = await heard.until(4)
    finally:
        await asyncio.to_thread(handle.close)
    assert [name for name, _ in events] == ["update", "notification", "status.update", "delete"]
    assert events[0][1].id == post.id and events[0][1].account.acct == "bob"
    assert events[0][1].visibility == "private" and events[0][1].favourited is False
    assert events[1][1].type == "mention" and events[1][1].status.id == mention.id
    assert events[2][1].id == post.id and "hello again" in events[2][1].content
    assert events[2][1].edited_at is not None
    assert events[3][1] == str(post.id)
    assert await api.call(a.stream_healthy)


async def test_public_stream_hears_remote_arrivals_and_published_statuses_only(api: Api) -> None:
    alice, token = await api.user("alice")
    heard = Collector()
    handle = await api.call(api.mastodon(token).stream_public, heard, run_async=True,
                            local=False)
    try:
        await _opened(heard)
        async with api.inst.state.writer() as session:
            zed = Account(kind="remote", username="zed", domain="remote.example",
                          uri="https://remote.example/users/zed",
                          followers_url="https://remote.example/users/zed/followers")
            session.add(zed)
            await session.flush()
            for name, to in (("secret", "https://remote.example/users/zed/followers"),
                             ("open", "https://www.w3.org/ns/activitystreams#Public")):
                await store_status(api.inst.state.federation, session, {
                    "id": f"https://remote.example/notes/{name}", "type": "Note",
                    "attributedTo": zed.uri, "content": f"<p>{name}</p>", "to": [to]}, zed)
            waiting = Status(uri="https://x.example/waiting", account_id=alice.id,
                             visibility="public", pending=True)  # as /imagine keeps it
            session.add(waiting)
            await session.commit()
        async with api.inst.state.writer() as session:
            waiting.pending = False  # its image is done: published
            session.add(waiting)
            await session.commit()
        events = await heard.until(2)
        await asyncio.sleep(0.2)
    finally:
        await asyncio.to_thread(handle.close)
    assert [(n, s.uri) for n, s in events] == [("update", "https://remote.example/notes/open"),
                                                ("update", "https://x.example/waiting")]
    assert events[0][1].account.acct == "zed@remote.example"


async def test_sse_errors_and_heartbeat(api: Api) -> None:
    _, token = await api.user("alice")
    _, writer = await api.user("wendy", scopes="write")
    _, statuses_only = await api.user("sam", scopes="read:statuses")
    health = await api.http("GET", "/api/v1/streaming/health")
    assert (health.status_code, health.text) == (200, "OK")
    assert (await api.http("GET", "/api/v1/streaming/user")).status_code == 401
    assert (await api.http("GET", "/api/v1/streaming/public", "nonsense")).status_code == 401
    assert (await api.http("GET", "/api/v1/streaming/user", writer)).status_code == 403
    refused = await api.http("GET", "/api/v1/streaming/user/notification", statuses_only)
    assert refused.status_code == 403 and "error" in refused.json()
    no_tag = await api.http("GET", "/api/v1/streaming/hashtag", token)
    assert no_tag.status_code == 400 and no_tag.json() == {"error": "No tag for stream provided"}

    async with api.inst.client() as client:
        async with client.stream("GET", f"/api/v1/streaming/public/local?access_token={token}"
                                 ) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            lines = answer.aiter_lines()
            assert await anext(lines) == ":)"
            assert await anext(lines) == ":thump"


async def _message(ws: Any) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[no-any-return]


async def test_websocket_subscribes_and_unsubscribes(api: Api) -> None:
    alice, token = await api.user("alice")
    url = api.base.replace("http://", "ws://") + "/api/v1/streaming"
    with pytest.raises(websockets.InvalidStatus) as denied:
        async with websockets.connect(url + "?stream=public"):
            pass
    assert denied.value.response.status_code == 401

    async with websockets.connect(f"{url}?stream=public:local&access_token={token}") as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Cats"}))
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "nowhere"}))
        assert await _message(ws) == {"error": "Unknown stream type", "status": 400}
        post = await act(api, actions.post_status, alice, text="look #cats")
        first, second = await _message(ws), await _message(ws)
        assert {tuple(first["stream"]), tuple(second["stream"])} == {
            ("public:local",), ("hashtag", "Cats")}
        assert first["event"] == "update" and orjson.loads(first["payload"])["id"] == str(post.id)
        await ws.send(orjson.dumps({"type": "unsubscribe", "stream": "public:local"}))
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "user"}))
        await asyncio.sleep(0.1)  # the commands are read before the next post
        await act(api, actions.delete_status, post)
        deleted = [await _message(ws), await _message(ws)]
        assert sorted(tuple(m["stream"]) for m in deleted) == [("hashtag", "Cats"), ("user",)]
        assert {(m["event"], m["payload"]) for m in deleted} == {("delete", str(post.id))}

    # the token offered as the subprotocol, as browsers send it
    async with websockets.connect(f"{url}?stream=user", subprotocols=[token]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == token
        await act(api, actions.post_status, alice, text="mine", visibility="private")
        message = await _message(ws)
        assert message["stream"] == ["user"] and message["event"] == "update"
        assert await api.get(Status, int(orjson.loads(message["payload"])["id"])) is not None
