"""Sink servers: fake remote inboxes on 127.0.0.1 that verify every POST's signature.

A sink answers any path as an inbox. It checks the signature with
`activitypub.httpsig.verify_request` against the public keys it was given, records each
verified body, and can be told to fail the next N requests, answer a fixed status, hang, or
take only one signature standard.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.httpsig import verify_request
from activitypub.keys import PublicKey
from tests.instances import free_port, serving


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Sink:
    port: int
    keys: dict[str, PublicKey] = field(default_factory=dict)  # key id -> key
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why unverified POSTs were refused
    failures: list[int] = field(default_factory=list)  # statuses to answer next, in order
    status: int = 202  # the answer once `failures` is used up
    delay: float = 0.0  # seconds each request takes
    schemes: frozenset[str] = frozenset({"cavage", "rfc9421"})  # signature standards taken
    in_flight: int = 0
    most_in_flight: int = 0
    attempts: int = 0

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    def trust(self, key_id: str, owner: str, pem: str) -> None:
        self.keys[key_id] = PublicKey(key_id=key_id, owner=owner, pem=pem)

    def fail(self, times: int, status: int = 503) -> None:
        self.failures.extend([status] * times)

    def counts(self) -> Counter[tuple[str, str]]:
        """How often each (inbox path, activity id) arrived."""
        return Counter((r.path, r.body["id"]) for r in self.received)

    def bodies(self, type: str | None = None) -> list[dict[str, Any]]:
        return [r.body for r in self.received if type is None or r.body.get("type") == type]

    async def _lookup(self, key_id: str, refresh: bool) -> PublicKey | None:
        return self.keys.get(key_id)

    async def inbox(self, request: Request) -> Response:
        self.attempts += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        if self.failures:
            return Response(status_code=self.failures.pop(0))
        try:
            body = await request.body()
        except ClientDisconnect:  # the sender went away (killed)
            return Response(status_code=499)
        url = f"{self.base}{request.url.path}"
        result = await verify_request("POST", url, request.headers.items(), body, self._lookup)
        if not result.ok:
            self.rejected.append(result.reason)
            return Response(result.reason, status_code=401)
        if result.scheme not in self.schemes:
            self.rejected.append(f"{result.scheme} signatures are not taken here")
            return Response("unsupported signature", status_code=401)
        if self.status < 300:
            self.received.append(Received(request.url.path, json.loads(body),
                                          dict(request.headers.items())))
        return Response(status_code=self.status)


@contextlib.asynccontextmanager
async def running_sink(**options: Any) -> AsyncIterator[Sink]:
    """A sink served by uvicorn on a free loopback port until the block ends."""
    sink = Sink(port=free_port(), **options)
    app = Starlette(routes=[Route("/{path:path}", sink.inbox, methods=["POST"])])
    async with serving(app, sink.port):
        yield sink


@contextlib.asynccontextmanager
async def running_sinks(count: int, **options: Any) -> AsyncIterator[list[Sink]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(running_sink(**options)) for _ in range(count)]
