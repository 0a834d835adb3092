"""Issue 4 audit: the narrower named streams over one WebSocket. `public:remote` hears only
other servers' posts, `public:local` and `hashtag:local` only ours, `hashtag` both; a post's
edit reaches each stream that had it as `status.update`."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import websockets

from inbox.statuses import store_status
from models.tables import Account
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
STREAMS = [("public:remote", None), ("public:local", None), ("hashtag:local", "cats"),
           ("hashtag", "cats")]


async def _messages(ws: Any, count: int) -> list[dict[str, Any]]:
    found = [orjson.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(count)]
    try:  # nothing more than expected arrives
        extra = await asyncio.wait_for(ws.recv(), 0.5)
    except TimeoutError:
        return found
    raise AssertionError(f"unexpected {extra}")


def heard(messages: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(stream, event, text) of each message."""
    return {(":".join(m["stream"]), m["event"], orjson.loads(m["payload"])["content"])
            for m in messages}


async def test_local_remote_and_hashtag_streams(api: Api) -> None:
    _, token = await api.user("alice")
    url = api.base.replace("http://", "ws://") + f"/api/v1/streaming?access_token={token}"
    async with websockets.connect(url) as ws:
        for name, tag in STREAMS:
            await ws.send(orjson.dumps({"type": "subscribe", "stream": name, "tag": tag}))
        # commands are read in order: the answer to a bad one means the others are applied
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "nowhere"}))
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5)) == {
            "error": "Unknown stream type", "status": 400}
        posted = await api.http("POST", "/api/v1/statuses", token,
                                data={"status": "local #cats"})
        assert posted.status_code == 200
        async with api.inst.state.writer() as session:
            zed = Account(kind="remote", username="zed", domain="remote.example",
                          uri="https://remote.example/users/zed",
                          followers_url="https://remote.example/users/zed/followers")
            session.add(zed)
            await session.flush()
            await store_status(api.inst.state.federation, session, {
                "id": "https://remote.example/notes/1", "type": "Note", "to": [PUBLIC],
                "attributedTo": zed.uri, "content": "<p>remote #cats</p>",
                "tag": [{"type": "Hashtag", "name": "#cats",
                         "href": "https://remote.example/tags/cats"}]}, zed)
            await session.commit()
        got = heard(await _messages(ws, 5))
        local, remote = "<p>local", "<p>remote"
        assert {(s, e, c.split(" ")[0]) for s, e, c in got} == {
            ("public:local", "update", local), ("hashtag:local:cats", "update", local),
            ("hashtag:cats", "update", local), ("public:remote", "update", remote),
            ("hashtag:cats", "update", remote)}
        edited = await api.http("PUT", f"/api/v1/statuses/{posted.json()['id']}", token,
                                data={"status": "local edited #cats"})
        assert edited.status_code == 200
        got = heard(await _messages(ws, 3))
        assert {(s, e) for s, e, _ in got} == {
            ("public:local", "status.update"), ("hashtag:local:cats", "status.update"),
            ("hashtag:cats", "status.update")}
        assert all("edited" in c for _, _, c in got)
