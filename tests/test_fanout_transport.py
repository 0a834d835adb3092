"""The delivery client against a raw loopback server: answers of every framing, kept-alive
connections, size cap, time limits, and the address guard."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Callable

import pytest

from activitypub.errors import BlockedAddress
from activitypub.netguard import is_blocked_address
from outbox.transport import DeliveryClient, Timeout, TransportError, delivery_client

OK = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"


class Server:
    """Answers each request with `answer(n)` (n counts requests), counting connections."""

    def __init__(self, answer: Callable[[int], bytes | None]) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                reply = self.answer(len(self.requests))
                if reply is None:  # hang up without a word
                    break
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply or b"Content-Length" not in reply \
                        and b"chunked" not in reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(answer: Callable[[int], bytes | None]) -> AsyncIterator[Server]:
    server = Server(answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server


def client(**options) -> DeliveryClient:
    return delivery_client(allow_private=True, user_agent="fediverse-test/1", **options)


async def test_kept_alive_connection_carries_many_requests() -> None:
    async with serving(lambda n: OK) as server:
        http = client()
        for n in range(5):
            reply = await http.post(f"http://127.0.0.1:{server.port}/inbox?n={n}",
                                    content=b'{"a": 1}',
                                    headers={"Content-Type": "application/activity+json"})
            assert (reply.status_code, reply.text) == (202, "ok")
        await http.aclose()
    assert server.connections == 1 and len(server.requests) == 5
    first = server.requests[0].decode()
    assert first.startswith("POST /inbox?n=0 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n" in first
    assert "User-Agent: fediverse-test/1\r\n" in first
    assert "Content-Length: 8\r\n" in first and first.endswith('{"a": 1}')


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nok",  # the body ends with the connection
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
])
async def test_answers_of_every_framing(answer: bytes) -> None:
    async with serving(lambda n: answer) as server:
        http = client()
        for _ in range(2):
            reply = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x", headers={})
            assert (reply.status_code, reply.body) == (200, b"ok")
        await http.aclose()


async def test_a_large_answer_is_cut_and_its_connection_dropped() -> None:
    big = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000
    async with serving(lambda n: big) as server:
        http = DeliveryClient(user_agent="t", blocked=lambda ip: False, max_body=1000)
        for _ in range(2):
            reply = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x", headers={})
            assert reply.status_code == 400 and reply.body == b"x" * 1000
        await http.aclose()
    assert server.connections == 2  # never reused


async def test_a_connection_closed_while_idle_is_replaced() -> None:
    # the server closes after each answer without saying so: the next request on the
    # kept connection finds it closed before any answer, and goes once more on a new one
    async def close_after_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        server.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(1)
        writer.write(OK)
        await writer.drain()
        writer.close()

    server = Server(lambda n: OK)
    listener = await asyncio.start_server(close_after_answer, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        http = client()
        for _ in range(3):
            assert (await http.post(f"http://127.0.0.1:{port}/", content=b"x",
                                    headers={})).status_code == 202
            await asyncio.sleep(0.05)
        await http.aclose()
    assert server.connections == 3


async def test_no_answer_in_time() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        await asyncio.sleep(5)
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        http = client(timeout=0.3)
        with pytest.raises(Timeout):
            await http.post(f"http://127.0.0.1:{port}/", content=b"x", headers={})
        await http.aclose()


async def test_hung_up_without_answer_is_an_error() -> None:
    async with serving(lambda n: None) as server:
        http = client()
        with pytest.raises(TransportError):
            await http.post(f"http://127.0.0.1:{server.port}/", content=b"x", headers={})
        await http.aclose()
    assert len(server.requests) == 1  # not sent again: the connection was new


async def test_refused_addresses_are_never_connected() -> None:
    async def to_loopback(host: str, port: int) -> list:
        return [ipaddress.ip_address("127.0.0.1")]

    async with serving(lambda n: OK) as server:
        http = DeliveryClient(user_agent="t", blocked=is_blocked_address, resolver=to_loopback)
        for url in (f"http://127.0.0.1:{server.port}/", f"http://sneaky.example:{server.port}/",
                    f"http://[::ffff:127.0.0.1]:{server.port}/"):
            with pytest.raises(BlockedAddress):
                await http.post(url, content=b"x", headers={})
        await http.aclose()
    assert server.connections == 0


@pytest.mark.parametrize("url, headers", [
    ("ftp://example.com/inbox", {}),
    ("http://example.com/in box", {}),
    ("http://example.com/inbox", {"X-Evil": "a\r\nInjected: 1"}),
    ("http://example.com/inbox", {"Bad Name": "x"}),
])
async def test_what_cannot_be_sent_is_refused(url: str, headers: dict) -> None:
    http = client()
    with pytest.raises(ValueError):
        await http.post(url, content=b"x", headers=headers)
    await http.aclose()


async def test_requests_are_not_held_back_and_idle_connections_are_bounded() -> None:
    import socket

    async with serving(lambda n: OK) as server:
        async def here(host: str, port: int) -> list:
            return [ipaddress.ip_address("127.0.0.1")]

        http = DeliveryClient(user_agent="t", blocked=lambda ip: False, resolver=here,
                              max_idle=2)
        for host in ("a.test", "b.test", "c.test"):  # three origins
            await http.post(f"http://{host}:{server.port}/", content=b"x", headers={})
        idle = [c for connections in http._idle.values() for c in connections]
        assert len(idle) == 2 and len(http._idle) == 2  # the oldest was closed, its entry gone
        for connection in idle:  # Nagle off: a request is never held for an ACK
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        await http.aclose()
    assert server.connections == 3
