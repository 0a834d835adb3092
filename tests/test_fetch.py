"""The safe fetcher, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from activitypub.errors import (
    BadResponse,
    BlockedAddress,
    FetchError,
    FetchTimeout,
    Gone,
    TooLarge,
)
from activitypub.fetch import ACTIVITY_ACCEPT, Fetcher
from activitypub.netguard import GuardedTransport, is_blocked_address

AS = "https://www.w3.org/ns/activitystreams"
AP = "application/activity+json"
LOOPBACK_2 = ipaddress.ip_address("127.0.0.2")


class LocalServer:
    """A starlette app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Starlette):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        config.timeout_graceful_shutdown = 1
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> LocalServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()


def actor_json(request: Request, **extra: object) -> dict:
    return {"@context": [AS, "https://w3id.org/security/v1"], "id": str(request.url),
            "type": "Person", **extra}


def make_app(seen: list[Request]) -> Starlette:
    async def actor(request: Request) -> Response:
        seen.append(request)
        return JSONResponse(actor_json(request), media_type=AP)

    async def ld_actor(request: Request) -> Response:
        return JSONResponse(actor_json(request), media_type=f'application/ld+json; profile="{AS}"')

    async def html(request: Request) -> Response:
        return Response("<html></html>", media_type="text/html")

    async def plain_json(request: Request) -> Response:
        return JSONResponse({"links": []})

    async def huge(request: Request) -> Response:
        return Response(b"x" * 2_000_000, media_type=AP)

    async def stream_huge(request: Request) -> Response:
        async def chunks():
            for _ in range(200):
                yield b" " * 65536
        return StreamingResponse(chunks(), media_type=AP)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)  # past the fetcher's whole deadline (3 s)
        return JSONResponse(actor_json(request), media_type=AP)

    async def drip(request: Request) -> Response:
        async def chunks():
            for _ in range(30):
                await asyncio.sleep(0.2)
                yield b" "
        return StreamingResponse(chunks(), media_type=AP)

    async def gone(request: Request) -> Response:
        return Response(status_code=410)

    async def missing(request: Request) -> Response:
        return Response(status_code=404)

    async def wrong_id(request: Request) -> Response:
        doc = actor_json(request, id="https://elsewhere.example/actor")
        return JSONResponse(doc, media_type=AP)

    async def same_host_id(request: Request) -> Response:
        return JSONResponse(actor_json(request, id=str(request.url_for("actor"))), media_type=AP)

    async def no_context(request: Request) -> Response:
        doc = actor_json(request)
        doc["@context"] = ["https://w3id.org/security/v1"]
        return JSONResponse(doc, media_type=AP)

    async def bad_json(request: Request) -> Response:
        return Response(b'{"id": ', media_type=AP)

    async def array(request: Request) -> Response:
        return Response(json.dumps([1, 2]), media_type=AP)

    async def redirect(request: Request) -> Response:
        n = int(request.path_params["n"])
        return RedirectResponse("../actor" if n == 0 else str(n - 1), status_code=302)

    async def to_other_loopback(request: Request) -> Response:
        return RedirectResponse(f"http://127.0.0.2:{request.url.port}/actor", status_code=301)

    async def to_file(request: Request) -> Response:
        return RedirectResponse("file:///etc/passwd", status_code=302)

    return Starlette(routes=[
        Route("/actor", actor, name="actor"), Route("/ld", ld_actor), Route("/html", html),
        Route("/plain-json", plain_json), Route("/huge", huge), Route("/stream-huge", stream_huge),
        Route("/slow", slow), Route("/drip", drip), Route("/gone", gone),
        Route("/missing", missing), Route("/wrong-id", wrong_id),
        Route("/same-host-id", same_host_id), Route("/no-context", no_context),
        Route("/bad-json", bad_json), Route("/array", array),
        Route("/redirect/{n}", redirect), Route("/to-other-loopback", to_other_loopback),
        Route("/to-file", to_file),
    ])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[Request]]]:
    seen: list[Request] = []
    with LocalServer(make_app(seen)) as running:
        yield f"http://127.0.0.1:{running.port}", seen


@pytest.fixture
async def fetcher():
    async with Fetcher(user_agent="fediverse-test/0.1", allow_private=True, allow_http=True,
                       connect_timeout=1.5, read_timeout=1.5, max_bytes=1_000_000) as f:  # a busy CI
        yield f


class FakeSignature(httpx.Auth):
    """Stands in for the HTTP signature auth: marks the requests it would sign."""

    def auth_flow(self, request: httpx.Request):
        request.headers["Signature"] = "test"
        yield request


# --- is_blocked_address ------------------------------------------------------------

@pytest.mark.parametrize("address, blocked", [
    ("8.8.8.8", False), ("93.184.215.14", False), ("1.1.1.1", False),
    ("127.0.0.1", True), ("127.255.255.254", True), ("10.0.0.1", True), ("172.16.5.4", True),
    ("192.168.1.1", True), ("169.254.169.254", True), ("100.64.0.1", True),
    ("100.127.255.254", True), ("0.0.0.0", True), ("224.0.0.1", True), ("239.255.255.250", True),
    ("240.0.0.1", True), ("255.255.255.255", True), ("192.0.2.1", True), ("198.18.0.1", True),
    ("2606:4700:4700::1111", False), ("2001:4860:4860::8888", False),
    ("::1", True), ("::", True), ("fe80::1", True), ("fc00::1", True), ("fd12:3456::1", True),
    ("ff02::1", True), ("ff0e::1", True), ("2001:db8::1", True),
    ("::ffff:127.0.0.1", True), ("::ffff:10.1.2.3", True), ("::ffff:169.254.169.254", True),
    ("::ffff:8.8.8.8", False), ("64:ff9b::7f00:1", True), ("64:ff9b::808:808", False),
    ("2002:7f00:1::", True), ("2002:808:808::", False),
])
def test_is_blocked_address(address: str, blocked: bool) -> None:
    assert is_blocked_address(ipaddress.ip_address(address)) is blocked


# --- refusals before any request -------------------------------------------------------

async def test_loopback_literal_refused_before_any_request(server) -> None:
    base, seen = server
    before = len(seen)
    async with Fetcher(user_agent="t", allow_http=True) as f:
        with pytest.raises(BlockedAddress):
            await f.get_object(f"{base}/actor")
    assert len(seen) == before


async def test_name_resolving_to_loopback_refused(server) -> None:
    base, seen = server
    before = len(seen)
    port = base.rsplit(":", 1)[1]
    async with Fetcher(user_agent="t", allow_http=True) as f:
        with pytest.raises(BlockedAddress):
            await f.get_object(f"http://localhost:{port}/actor")
    assert len(seen) == before


async def test_http_refused_unless_allowed(server) -> None:
    base, seen = server
    async with Fetcher(user_agent="t", allow_private=True) as f:
        with pytest.raises(FetchError, match="scheme"):
            await f.get_object(f"{base}/actor")
        with pytest.raises(FetchError, match="scheme"):
            await f.get_object("ftp://example.com/actor")


def test_empty_user_agent_refused() -> None:
    with pytest.raises(ValueError):
        Fetcher(user_agent=" ")


# --- the guarded transport: resolution happens once, and the vetted IP is used ---------

async def test_connects_to_the_address_it_vetted(server) -> None:
    base, seen = server
    port = int(base.rsplit(":", 1)[1])
    asked: list[str] = []

    async def resolver(host: str, port: int):
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    # "fedi.test" resolves nowhere on this machine: the request can only succeed by
    # connecting to the address our resolver gave.
    async with Fetcher(user_agent="t", allow_private=True, allow_http=True, resolver=resolver) as f:
        doc = await f.get_object(f"http://fedi.test:{port}/actor")
    assert doc["id"] == f"http://fedi.test:{port}/actor"
    assert asked == ["fedi.test"]
    assert seen[-1].headers["host"] == f"fedi.test:{port}"


async def test_host_with_any_blocked_address_refused(server) -> None:
    async def resolver(host: str, port: int):
        return [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("127.0.0.1")]

    async with httpx.AsyncClient(transport=GuardedTransport(resolver=resolver)) as client:
        with pytest.raises(BlockedAddress):
            await client.get("http://mixed.test/")


# --- documents ---------------------------------------------------------------------------

async def test_good_document_signed(server) -> None:
    base, seen = server
    async with Fetcher(user_agent="fediverse-test/0.1", auth=FakeSignature(),
                       allow_private=True, allow_http=True) as f:
        doc = await f.get_object(f"{base}/actor")
        request = seen[-1]
        await f.get_object(f"{base}/actor", signed=False)
        unsigned = seen[-1]
    assert doc["id"] == f"{base}/actor" and doc["type"] == "Person"
    assert request.headers["user-agent"] == "fediverse-test/0.1"
    assert request.headers["accept"] == ACTIVITY_ACCEPT
    assert request.headers["signature"] == "test"
    assert "signature" not in unsigned.headers


async def test_ld_json_with_profile_accepted(server, fetcher) -> None:
    base, _ = server
    assert (await fetcher.get_object(f"{base}/ld"))["type"] == "Person"


async def test_fragment_of_key_id_ignored(server, fetcher) -> None:
    base, _ = server
    assert (await fetcher.get_object(f"{base}/actor#main-key"))["id"] == f"{base}/actor"


@pytest.mark.parametrize("path, error", [
    ("/html", BadResponse), ("/plain-json", BadResponse), ("/huge", TooLarge),
    ("/stream-huge", TooLarge), ("/slow", FetchTimeout), ("/drip", FetchTimeout),
    ("/gone", Gone), ("/missing", BadResponse), ("/wrong-id", BadResponse),
    ("/same-host-id", BadResponse), ("/no-context", BadResponse), ("/bad-json", BadResponse),
    ("/array", BadResponse), ("/redirect/3", BadResponse), ("/to-file", FetchError),
])
async def test_bad_documents_raise(server, fetcher, path: str, error: type[Exception]) -> None:
    base, _ = server
    with pytest.raises(error):
        await fetcher.get_object(base + path)


async def test_streamed_body_stops_early(server, fetcher) -> None:
    base, _ = server
    started = time.monotonic()
    with pytest.raises(TooLarge):
        await fetcher.get_object(f"{base}/stream-huge")
    assert time.monotonic() - started < 2


async def test_same_host_id_allowed_when_asked(server, fetcher) -> None:
    base, _ = server
    doc = await fetcher.get_object(f"{base}/same-host-id", same_host_id=True)
    assert doc["id"] == f"{base}/actor"
    with pytest.raises(BadResponse):
        await fetcher.get_object(f"{base}/wrong-id", same_host_id=True)


async def test_redirects_followed_up_to_the_limit(server, fetcher) -> None:
    base, _ = server
    doc = await fetcher.get_object(f"{base}/redirect/2")  # three hops
    assert doc["id"] == f"{base}/actor"


async def test_every_redirect_hop_is_checked(server) -> None:
    base, seen = server
    before = len(seen)
    policy = lambda ip: ip == LOOPBACK_2  # noqa: E731 - only the redirect target is refused
    async with Fetcher(user_agent="t", allow_http=True, blocked=policy) as f:
        with pytest.raises(BlockedAddress):
            await f.get_object(f"{base}/to-other-loopback")
    assert len(seen) == before


async def test_get_json_accepts_plain_json(server, fetcher) -> None:
    base, _ = server
    assert await fetcher.get_json(f"{base}/plain-json", accept="application/json") == {"links": []}
    with pytest.raises(BadResponse):
        await fetcher.get_json(f"{base}/html", accept="application/json")
    with pytest.raises(Gone):
        await fetcher.get_json(f"{base}/gone", accept="application/json")
