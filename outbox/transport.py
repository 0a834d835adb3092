"""The HTTP client deliveries go out through: a small HTTP/1.1 client on asyncio, guarded.

httpx spends about a millisecond of CPU on each request, and its pool looks at every open
connection for every request, which turns a fan-out to 1,000 hosts quadratic. A delivery is
one POST whose answer is judged by its status, so this client does only that: the request
goes out in one write, httptools (llhttp, as uvicorn uses) parses the answer, and kept-alive
connections are pooled per origin. The guard is `activitypub.netguard`'s: each host is
resolved and vetted here, then the connection goes to the vetted address (so a second DNS
answer cannot steer it), and TLS still checks the certificate against the host name.
Connecting (resolving included) has its own time limit, the answer another; an answer's
body is read up to `max_body` bytes, past that the connection is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

from activitypub.errors import BlockedAddress
from activitypub.netguard import (
    AddressPolicy,
    IPAddress,
    Resolver,
    default_ssl_context,
    is_blocked_address,
    never_blocked,
    resolve,
    vet,
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_BAD_IN_HEADER = frozenset("\r\n\0")

__all__ = ["BlockedAddress", "DeliveryClient", "Reply", "TransportError", "delivery_client"]


class TransportError(Exception):
    """The request got no (complete) answer: refused, timed out, cut off, unparseable."""


class ConnectError(TransportError):
    """No connection could be made (resolving included)."""


class Timeout(TransportError):
    """Connecting or answering took longer than allowed."""


class _Closed(TransportError):
    """The other side closed the connection before answering."""

    def __init__(self, message: str, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered  # some of an answer arrived: never send the request again


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: bytes  # at most the client's `max_body` bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str  # as in the URL, lower-cased, without brackets
    port: int


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; one request at a time."""

    def __init__(self, origin: _Origin, max_body: int) -> None:
        self.origin = origin
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Reply] | None = None
        self._body = bytearray()
        self._answered = False
        self._keep = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():  # nothing asked: the stream is broken
            self.close()
            return
        self._answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(TransportError(f"unparseable answer from {self.origin.host}: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            status = self._status()
            if status and not self._parser.should_keep_alive():
                self._finish(status)  # a body that ends with the connection
            else:
                self._fail(_Closed(f"{self.origin.host} closed the connection", self._answered))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            return
        room = self.max_body - len(self._body)
        self._body += body[:room]
        if len(body) > room:  # too large: judge by what we have, and never reuse
            self._finish(self._status())
            self.close()

    def on_message_complete(self) -> None:
        status = self._status()
        if 100 <= status < 200:  # an interim answer: the real one follows
            self._body.clear()
            return
        self._keep = self._parser.should_keep_alive()
        self._finish(status)

    # ours
    async def exchange(self, request: bytes, timeout: float) -> tuple[Reply, bool]:
        """Send a request; the reply, and whether the connection may carry another."""
        assert self.transport is not None
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self._body.clear()
        self._answered = self._keep = False
        self.transport.write(request)
        try:
            async with asyncio.timeout(timeout):
                reply = await waiter
        except TimeoutError:
            self.close()
            raise Timeout(f"{self.origin.host} did not answer in {timeout:g} s") from None
        finally:
            self._waiter = None
        return reply, self._keep and not self.closed

    def _status(self) -> int:
        try:
            return int(self._parser.get_status_code())
        except Exception:  # no status line yet
            return 0

    def _finish(self, status: int) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(Reply(status, bytes(self._body)))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class DeliveryClient:
    """POSTs (or any request) over pooled HTTP/1.1 connections to vetted addresses only."""

    def __init__(
        self, *, blocked: AddressPolicy = is_blocked_address, resolver: Resolver = resolve,
        user_agent: str, timeout: float = 10.0, connect_timeout: float = 5.0,
        max_body: int = 64 * 1024, keepalive_expiry: float = 30.0, max_idle: int = 512,
        idle_per_origin: int = 8, ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._blocked = blocked
        self._resolve = resolver
        self.user_agent = user_agent
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_body = max_body
        self.keepalive_expiry = keepalive_expiry
        self.max_idle = max_idle
        self.idle_per_origin = idle_per_origin
        self._ssl = ssl_context
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._idle_order: OrderedDict[_Connection, None] = OrderedDict()  # oldest first
        self._busy: set[_Connection] = set()

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Reply:
        return await self.request("POST", url, content=content, headers=headers)

    async def request(self, method: str, url: str, *, content: bytes = b"",
                      headers: dict[str, str] | None = None) -> Reply:
        """Send one request and read its answer; raises `TransportError` (or
        `BlockedAddress`) when there is none, ValueError for a URL or header it cannot send."""
        origin, target, authority = _split(url)
        request = self._serialize(method, target, authority, headers or {}, content)
        connection, reused = await self._acquire(origin)
        try:
            reply, keep = await connection.exchange(request, self.timeout)
        except _Closed as exc:
            self._drop(connection)
            if not reused or exc.answered:
                raise
            # a kept-alive connection the other side had closed before reading: once more
            connection, reused = await self._acquire(origin, fresh=True)
            try:
                reply, keep = await connection.exchange(request, self.timeout)
            except BaseException:
                self._drop(connection)
                raise
        except BaseException:
            self._drop(connection)
            raise
        self._release(connection, keep)
        return reply

    async def aclose(self) -> None:
        for connection in [*self._idle_order, *self._busy]:
            connection.close()
        self._idle.clear()
        self._idle_order.clear()
        self._busy.clear()

    def _serialize(self, method: str, target: str, authority: str, headers: dict[str, str],
                   content: bytes) -> bytes:
        names = {name.lower() for name in headers}
        lines = [f"{method} {target} HTTP/1.1"]
        if "host" not in names:
            lines.append(f"Host: {authority}")
        if "user-agent" not in names:
            lines.append(f"User-Agent: {self.user_agent}")
        for name, value in headers.items():
            if name.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            if _BAD_IN_HEADER.intersection(name) or _BAD_IN_HEADER.intersection(value) \
                    or not name or ":" in name or " " in name:
                raise ValueError(f"header {name!r} cannot be sent")
            lines.append(f"{name}: {value}")
        if content or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(content)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + content

    async def _acquire(self, origin: _Origin, *, fresh: bool = False) -> tuple[_Connection, bool]:
        """A connection to `origin`, and whether it was kept alive from an earlier request."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle and not fresh:
            connection = idle.pop()
            if not idle:
                del self._idle[origin]
            self._idle_order.pop(connection, None)
            if not connection.closed and now - connection.idle_since < self.keepalive_expiry:
                self._busy.add(connection)
                return connection, True
            connection.close()
        connection = await self._connect(origin)
        self._busy.add(connection)
        return connection, False

    def _release(self, connection: _Connection, keep: bool) -> None:
        self._busy.discard(connection)
        idle = self._idle.get(connection.origin, [])
        if not keep or connection.closed or len(idle) >= self.idle_per_origin:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle[connection.origin] = idle
        idle.append(connection)
        self._idle_order[connection] = None
        while len(self._idle_order) > self.max_idle:  # the longest idle goes
            oldest, _ = self._idle_order.popitem(last=False)
            others = self._idle.get(oldest.origin, [])
            with contextlib.suppress(ValueError):
                others.remove(oldest)
            if not others:
                self._idle.pop(oldest.origin, None)
            oldest.close()

    def _drop(self, connection: _Connection) -> None:
        self._busy.discard(connection)
        connection.close()

    async def _connect(self, origin: _Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        context = None
        if origin.scheme == "https":
            context = self._ssl or default_ssl_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                addresses = await self._addresses(origin)
                error: Exception = ConnectError(f"could not connect to {origin.host}")
                for address in addresses:
                    try:
                        _, connection = await loop.create_connection(
                            lambda: _Connection(origin, self.max_body), str(address),
                            origin.port, ssl=context,
                            server_hostname=origin.host if context else None)
                        return connection
                    except OSError as exc:  # refused, unreachable, TLS failure...
                        error = ConnectError(f"could not connect to {origin.host}: {exc}")
                raise error
        except TimeoutError:
            raise Timeout(f"connecting to {origin.host} took over "
                          f"{self.connect_timeout:g} s") from None

    async def _addresses(self, origin: _Origin) -> list[IPAddress]:
        try:
            addresses = [ipaddress.ip_address(origin.host)]
        except ValueError:
            try:
                addresses = await self._resolve(origin.host, origin.port)
            except OSError as exc:
                raise ConnectError(f"could not resolve {origin.host}") from exc
        if not addresses:
            raise ConnectError(f"{origin.host} resolves to no address")
        return vet(origin.host, addresses, self._blocked)


def _split(url: str) -> tuple[_Origin, str, str]:
    """(origin, request target, Host value); ValueError for what cannot be requested."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"cannot request {url!r}")
    port = parts.port or _DEFAULT_PORTS[scheme]  # ValueError for a bad port
    host = parts.hostname
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in target + host):
        raise ValueError(f"cannot request {url!r}: characters that need escaping")
    shown = f"[{host}]" if ":" in host else host
    authority = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    return _Origin(scheme, host, port), target, authority


def delivery_client(*, allow_private: bool, user_agent: str, timeout: float = 10.0,
                    resolver: Resolver = resolve, max_idle: int = 512) -> DeliveryClient:
    """The client deliveries use: private addresses refused unless `allow_private`, up to
    `timeout` seconds for an answer (5 to connect), connections kept for reuse."""
    blocked = never_blocked if allow_private else is_blocked_address
    return DeliveryClient(blocked=blocked, resolver=resolver, user_agent=user_agent,
                          timeout=timeout, max_idle=max_idle)
