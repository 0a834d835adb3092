"""Mastodon's streaming API: server-sent events per stream, and one WebSocket for many.

SSE: `GET /api/v1/streaming/{user,user/notification,public,public/local,public/remote,
hashtag,hashtag/local,direct,list}` answer `text/event-stream`: `:)` first, then `event: NAME` /
`data: PAYLOAD` pairs, and a `:thump` comment while quiet. WebSocket: `/api/v1/streaming`
(token in `access_token`, `Authorization` or `Sec-WebSocket-Protocol`), `?stream=` for a
first stream, then `{"type": "subscribe"|"unsubscribe", "stream": ..., "tag": ...,
"list": ...}` (`list`: the id of one of the caller's lists); each
message is `{"stream": [...], "event": ..., "payload": ...}`. Every stream needs a token
(`read:statuses`, or `read:notifications` for `user:notification`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fediverse.api.auth import Caller, bearer_token, caller, optional_caller
from fediverse.api.errors import ApiError, forbidden
from fediverse.api.params import is_id, params
from fediverse.api.stream_events import LIST, STREAMS, Channel, Listener, Outgoing, render
from fediverse.events import Subscription
from fediverse.routes.common import error, state
from models.tables import List

HEARTBEAT_SECONDS = 15.0


def channel_of(name: str, tag: str | None = None, *, only_media: bool = False,
               list_id: object = None) -> Channel:
    """A stream by its Mastodon name; 400 for an unknown one, a hashtag without a tag or a
    list without an id."""
    if only_media and name.startswith("public") and not name.endswith(":media"):
        name += ":media"
    if name not in STREAMS:
        raise ApiError(400, "Unknown stream type")
    if name.startswith("hashtag"):
        if not (tag or "").strip():
            raise ApiError(400, "No tag for stream provided")
        return Channel(name, tag.strip().lstrip("#"))  # type: ignore[union-attr]
    if name == LIST:
        if not is_id(str(list_id or "")):
            raise ApiError(400, "No list for stream provided")
        return Channel(name, str(int(str(list_id))))
    return Channel(name)


async def check_list(conn: HTTPConnection, who: Caller, channel: Channel) -> None:
    """A list stream is its owner's only: 404 for another's list or none."""
    if channel.name != LIST:
        return
    async with state(conn).sessions() as session:  # type: ignore[arg-type]
        found = await session.get(List, int(channel.tag or 0))
    if found is None or who.account is None or found.account_id != who.account.id:
        raise ApiError(404, "List not found")


def check_scope(who: Caller, channel: Channel) -> None:
    needed = "read:notifications" if channel.name == "user:notification" else "read:statuses"
    if not who.allows(needed):
        raise forbidden()


async def outgoing(conn: HTTPConnection, listener: Listener, subscription: Subscription
                   ) -> AsyncIterator[Outgoing | None]:
    """The listener's messages as events come; None when a heartbeat is due. Ends when the
    bus cuts the subscription off."""
    fv = state(conn)  # type: ignore[arg-type]
    while True:
        try:
            event = await asyncio.wait_for(subscription.next(), HEARTBEAT_SECONDS)
        except TimeoutError:
            yield None
            continue
        if event is None:
            return
        async with fv.sessions() as session:
            items = await render(session, fv.urls, listener, event)
        for item in items:
            yield item


# server-sent events

async def _sse_body(request: Request, listener: Listener) -> AsyncIterator[str]:
    bus = state(request).events
    with bus.subscribe() as subscription:
        await bus.listening()  # other processes' writes too, before we say we are open
        yield ":)\n"
        async for item in outgoing(request, listener, subscription):
            yield ":thump\n" if item is None else f"event: {item.event}\ndata: {item.payload}\n\n"


def _sse(name: str) -> Callable[[Request], Awaitable[Response]]:
    """The SSE route of one stream."""
    async def route(request: Request) -> Response:
        who = await caller(request)
        p = await params(request)
        channel = channel_of(name, p.get("tag"), only_media=bool(p.boolean("only_media")),
                             list_id=p.get("list"))
        check_scope(who, channel)
        await check_list(request, who, channel)
        assert who.account is not None
        listener = Listener(who.account, who.allows("read:notifications"), {channel})
        return StreamingResponse(_sse_body(request, listener), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})
    return route


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


# WebSocket

async def _ws_caller(ws: WebSocket) -> tuple[Caller | None, str | None]:
    """The caller, and the subprotocol to echo when the token came as one."""
    protocol = ws.headers.get("sec-websocket-protocol", "").split(",")[0].strip() or None
    conn: HTTPConnection = ws
    if bearer_token(ws) is None and protocol:  # type: ignore[arg-type]
        # the token offered as the subprotocol stands for an Authorization header
        headers = [*ws.scope["headers"], (b"authorization", f"Bearer {protocol}".encode())]
        conn = HTTPConnection({**ws.scope, "headers": headers})
    else:
        protocol = None
    try:
        return await optional_caller(conn), protocol  # type: ignore[arg-type]
    except ApiError:
        return None, None


async def _send_json(ws: WebSocket, data: object) -> None:
    await ws.send_text(orjson.dumps(data).decode())


async def _command(ws: WebSocket, who: Caller, listener: Listener, text: str) -> None:
    """Apply one subscribe/unsubscribe message; errors are told, the socket stays open."""
    try:
        message = orjson.loads(text)
        if not isinstance(message, dict) or message.get("type") not in ("subscribe", "unsubscribe"):
            raise ApiError(400, "Unknown message type")
        channel = channel_of(str(message.get("stream", "")), message.get("tag"),
                             list_id=message.get("list"))
        check_scope(who, channel)
        await check_list(ws, who, channel)
    except orjson.JSONDecodeError:
        await _send_json(ws, {"error": "Invalid JSON", "status": 400})
        return
    except ApiError as failure:
        await _send_json(ws, {"error": failure.message, "status": failure.status})
        return
    if message["type"] == "subscribe":
        listener.channels.add(channel)
    else:
        listener.channels.discard(channel)


async def _receive(ws: WebSocket) -> str:
    """The next message, sent as text or as bytes."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")


async def _read_commands(ws: WebSocket, who: Caller, listener: Listener,
                         scope: anyio.CancelScope) -> None:
    try:
        while True:
            await _command(ws, who, listener, await _receive(ws))
    except WebSocketDisconnect:
        pass
    scope.cancel()


async def _first_stream(ws: WebSocket, who: Caller, listener: Listener) -> None:
    name = ws.query_params.get("stream")
    if name:
        text = orjson.dumps({"type": "subscribe", "stream": name, "tag": ws.query_params.get("tag"),
                             "list": ws.query_params.get("list")}).decode()
        await _command(ws, who, listener, text)


async def websocket(ws: WebSocket) -> None:
    who, protocol = await _ws_caller(ws)
    if who is None or who.account is None:
        await ws.send_denial_response(error(401, "Missing or invalid access token"))
        return
    listener = Listener(who.account, who.allows("read:notifications"))
    bus = state(ws).events  # type: ignore[arg-type]
    with bus.subscribe() as subscription:
        await bus.listening()
        await ws.accept(subprotocol=protocol)
        await _first_stream(ws, who, listener)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_read_commands, ws, who, listener, tasks.cancel_scope)
            async for item in outgoing(ws, listener, subscription):
                if item is not None:
                    await _send_json(ws, {"stream": item.channel.label(), "event": item.event,
                                          "payload": item.payload})
            tasks.cancel_scope.cancel()
    if not ws.client_state.name == "DISCONNECTED":
        await ws.close()


_SSE_PATHS = {"user": "user", "user/notification": "user:notification", "public": "public",
              "public/local": "public:local", "public/remote": "public:remote",
              "hashtag": "hashtag", "hashtag/local": "hashtag:local", "direct": "direct",
              "list": "list"}

routes: list[BaseRoute] = [
    Route("/api/v1/streaming/health", health, methods=["GET", "HEAD"]),
    *(Route(f"/api/v1/streaming/{path}", _sse(name), methods=["GET"])
      for path, name in _SSE_PATHS.items()),
    WebSocketRoute("/api/v1/streaming", websocket),
    WebSocketRoute("/api/v1/streaming/", websocket),
]
