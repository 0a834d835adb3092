"""Rate limits for the client API and OAuth, as Mastodon answers them.

Fixed windows kept in memory (per process): 300 requests per 5 minutes per token, or per IP
address without one; app registration, token requests, sign-in form posts and sign-ups also count
against a stricter per-IP limit. Every limited answer carries `X-RateLimit-Limit`,
`X-RateLimit-Remaining` and `X-RateLimit-Reset` (ISO 8601); past the limit the answer is 429
with `{"error": "Too many requests"}`. Loopback addresses are exempt, as in Mastodon (a
reverse proxy on the same host must pass the client's address on, e.g. X-Forwarded-For read
by uvicorn's proxy headers).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LIMITED_PREFIXES = ("/api/", "/oauth/")
STRICT_PATHS = frozenset({("POST", "/api/v1/apps"), ("POST", "/oauth/token"),
                          ("POST", "/oauth/authorize"), ("POST", "/oauth/authorize/"),
                          ("POST", "/api/v1/accounts")})
LOOPBACK = frozenset({"127.0.0.1", "::1"})


@dataclass(frozen=True)
class Limit:
    requests: int
    period: float  # seconds


DEFAULT_LIMIT = Limit(300, 300.0)
STRICT_LIMIT = Limit(30, 300.0)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # unix time the window ends

    def headers(self) -> list[tuple[bytes, bytes]]:
        reset = datetime.fromtimestamp(self.reset_at, UTC)
        stamp = reset.strftime("%Y-%m-%dT%H:%M:%S.") + f"{reset.microsecond // 1000:03d}Z"
        return [(b"x-ratelimit-limit", str(self.limit).encode()),
                (b"x-ratelimit-remaining", str(self.remaining).encode()),
                (b"x-ratelimit-reset", stamp.encode())]


class FixedWindows:
    """Request counts per key in windows of `limit.period` seconds aligned to the clock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (window end, count)
        self._next_sweep = 0.0

    def hit(self, key: str, limit: Limit) -> Verdict:
        now = self._clock()
        self._sweep(now)
        end = (math.floor(now / limit.period) + 1) * limit.period
        window_end, count = self._counts.get(key, (end, 0))
        if window_end <= now:
            window_end, count = end, 0
        count += 1
        self._counts[key] = (window_end, count)
        return Verdict(allowed=count <= limit.requests, limit=limit.requests,
                       remaining=max(0, limit.requests - count), reset_at=window_end)

    def _sweep(self, now: float) -> None:
        """Forget windows that have ended, now and then, so memory stays bounded."""
        if now < self._next_sweep:
            return
        self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
        self._next_sweep = now + 60


def _token_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    query = scope.get("query_string", b"").decode("latin-1")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "access_token" and value:
            return value
    return None


class RateLimitMiddleware:
    """ASGI middleware: `Middleware(RateLimitMiddleware)` in the app's middleware list."""

    def __init__(self, app: ASGIApp, *, default: Limit = DEFAULT_LIMIT,
                 strict: Limit = STRICT_LIMIT, exempt: frozenset[str] = LOOPBACK,
                 clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.default = default
        self.strict = strict
        self.exempt = exempt
        self.clock = clock
        self.windows = FixedWindows(clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        verdict = self._judge(scope) if scope["type"] == "http" else None
        if verdict is None:
            await self.app(scope, receive, send)
        elif not verdict.allowed:
            await _too_many(verdict, send, self.clock())
        else:
            await self.app(scope, receive, _with_headers(send, verdict))

    def _judge(self, scope: Scope) -> Verdict | None:
        path: str = scope.get("path", "")
        client = scope.get("client")
        address = client[0] if client else ""
        if not path.startswith(LIMITED_PREFIXES) or address in self.exempt:
            return None
        token = _token_of(scope)
        key = ("token:" + hashlib.sha256(token.encode()).hexdigest() if token
               else "ip:" + address)
        verdict = self.windows.hit(key, self.default)
        if (scope.get("method", ""), path) in STRICT_PATHS:
            strict = self.windows.hit("strict:" + address, self.strict)
            verdict = strict if verdict.allowed else verdict
        return verdict


def _with_headers(send: Send, verdict: Verdict) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"x-ratelimit-limit" for name, _ in headers):
                headers += verdict.headers()  # else a narrower limit answered (generation)
            message["headers"] = headers
        await send(message)

    return sending


async def _too_many(verdict: Verdict, send: Send, now: float) -> None:
    body = orjson.dumps({"error": "Too many requests"})
    retry = max(0, math.ceil(verdict.reset_at - now))
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()),
               (b"retry-after", str(retry).encode())] + verdict.headers()
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
