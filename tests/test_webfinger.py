"""WebFinger and host-meta: parsing resources, building JRDs, looking up handles over HTTP."""

from __future__ import annotations

import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.errors import BlockedAddress, DocumentError, Gone
from activitypub.fetch import Fetcher
from activitypub.webfinger import (
    JRD_CONTENT_TYPE,
    WebFingerError,
    actor_url_from_jrd,
    build_jrd,
    host_meta_json,
    host_meta_xml,
    lookup,
    parse_handle,
    parse_resource,
)

LOCAL = "Example.COM"


@pytest.mark.parametrize("resource, username", [
    ("acct:alice@example.com", "alice"),
    ("acct:Alice_1@EXAMPLE.com", "Alice_1"),
    ("alice@example.com", "alice"),
    ("@alice@example.com", "alice"),
    ("acct:@alice@example.com", "alice"),
    ("  acct:a.b-c@example.com ", "a.b-c"),
    ("https://example.com/users/alice", "alice"),
    ("https://EXAMPLE.com/users/alice/", "alice"),
    ("https://example.com/@alice", "alice"),
    ("https://example.com/@alice#main", "alice"),
    ("http://example.com/users/alice", "alice"),    # a development server on http
    ("acct:example.com@example.com", "example.com"),  # the instance actor
])
def test_parse_resource_good(resource: str, username: str) -> None:
    assert parse_resource(resource, local_domain=LOCAL) == username


@pytest.mark.parametrize("resource, status", [
    (None, 400), ("", 400), ("   ", 400),
    ("acct:alice", 400),                       # no @domain
    ("alice", 400),
    ("mailto:alice@example.com", 400),         # neither acct: nor https:
    ("ftp://example.com/users/alice", 400),
    ("acct:al ice@example.com", 400),          # bad characters
    ("acct:alice<script>@example.com", 400),
    ("acct:.alice@example.com", 400),
    ("acct:alice@@example.com", 400),
    ("acct:@example.com", 400),
    ("acct:alice@exa_mple.com", 400),
    ("acct:alice@", 400),
    ("https://user@example.com/users/alice", 400),
    ("https://example.com/users/al%20ice", 400),
    ("acct:" + "a" * 600 + "@example.com", 400),
    ("acct:alice@other.example", 404),         # another domain
    ("acct:alice@example.com:8443", 404),
    ("https://other.example/users/alice", 404),
    ("https://example.com/notes/1", 404),      # ours, but no account form
    ("https://example.com/users/alice/outbox", 404),
    ("https://example.com/users/alice?x=1", 404),
])
def test_parse_resource_bad(resource: str | None, status: int) -> None:
    with pytest.raises(WebFingerError) as caught:
        parse_resource(resource, local_domain=LOCAL)
    assert caught.value.status == status
    assert caught.value.reason


def test_parse_resource_with_port() -> None:
    assert parse_resource("acct:bob@localhost:8000", local_domain="localhost:8000") == "bob"
    assert parse_resource("https://localhost:8000/@bob", local_domain="LOCALHOST:8000") == "bob"
    instance = "acct:localhost:8000@localhost:8000"
    assert parse_resource(instance, local_domain="localhost:8000") == "localhost:8000"
    with pytest.raises(WebFingerError):
        parse_resource("acct:localhost:8000@localhost:8000", local_domain="localhost")
    with pytest.raises(WebFingerError) as caught:
        parse_resource("acct:bob@localhost", local_domain="localhost:8000")
    assert caught.value.status == 404


def test_build_jrd_shape() -> None:
    jrd = build_jrd(username="alice", domain="example.com",
                    actor_url="https://example.com/users/alice",
                    profile_url="https://example.com/@alice",
                    avatar_url="https://example.com/media/a.png", avatar_type="image/png")
    assert jrd["subject"] == "acct:alice@example.com"
    assert jrd["aliases"] == ["https://example.com/@alice", "https://example.com/users/alice"]
    links = {link["rel"]: link for link in jrd["links"]}
    assert links["self"] == {"rel": "self", "type": "application/activity+json",
                             "href": "https://example.com/users/alice"}
    assert links["http://webfinger.net/rel/profile-page"]["type"] == "text/html"
    assert links["http://webfinger.net/rel/profile-page"]["href"] == "https://example.com/@alice"
    assert links["http://ostatus.org/schema/1.0/subscribe"]["template"] == (
        "https://example.com/authorize_interaction?uri={uri}")
    assert links["http://webfinger.net/rel/avatar"]["href"] == "https://example.com/media/a.png"
    assert actor_url_from_jrd(jrd) == "https://example.com/users/alice"


def test_build_jrd_without_avatar() -> None:
    jrd = build_jrd(username="a", domain="x.example", actor_url="https://x.example/users/a",
                    profile_url="https://x.example/@a")
    assert [link["rel"] for link in jrd["links"]].count("http://webfinger.net/rel/avatar") == 0


def test_host_meta() -> None:
    root = ET.fromstring(host_meta_xml("https://example.com/"))
    ns = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"
    assert root.tag == f"{ns}XRD"
    link = root.find(f"{ns}Link")
    assert link is not None and link.get("rel") == "lrdd"
    assert link.get("template") == "https://example.com/.well-known/webfinger?resource={uri}"
    assert host_meta_json("https://example.com") == {"links": [
        {"rel": "lrdd", "template": "https://example.com/.well-known/webfinger?resource={uri}"}]}


@pytest.mark.parametrize("handle, parsed", [
    ("@alice@Example.com", ("alice", "example.com")),
    ("alice@example.com", ("alice", "example.com")),
    ("acct:alice@example.com", ("alice", "example.com")),
    ("bob@localhost:3000", ("bob", "localhost:3000")),
])
def test_parse_handle(handle: str, parsed: tuple[str, str]) -> None:
    assert parse_handle(handle) == parsed


@pytest.mark.parametrize("handle", ["alice", "@alice", "alice@", "a@b@c", "al ice@x.example",
                                    "alice@x_y.example", ""])
def test_parse_handle_bad(handle: str) -> None:
    with pytest.raises(DocumentError):
        parse_handle(handle)


def test_self_link_ld_json_profile_and_missing() -> None:
    ld = {"links": [{"rel": "self", "type": "text/html", "href": "https://x.example/@a"},
                    {"rel": "self", "href": "https://x.example/a",
                     "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}]}
    assert actor_url_from_jrd(ld) == "https://x.example/a"
    with pytest.raises(DocumentError):
        actor_url_from_jrd({"links": [{"rel": "self", "type": "text/html", "href": "https://x"}]})
    with pytest.raises(DocumentError):
        actor_url_from_jrd({"subject": "acct:a@x"})


# --- lookup against a real server ------------------------------------------------------------

def make_app(seen: list[str]) -> Starlette:
    async def webfinger(request: Request) -> Response:
        resource = request.query_params.get("resource", "")
        seen.append(resource)
        host = request.headers["host"]
        if resource == f"acct:gone@{host}":
            return Response(status_code=410)
        if resource == f"acct:nolink@{host}":
            return JSONResponse({"subject": resource, "links": []}, media_type=JRD_CONTENT_TYPE)
        try:
            username = parse_resource(resource, local_domain=host)
        except WebFingerError as exc:
            return Response(exc.reason, status_code=exc.status)
        jrd = build_jrd(username=username, domain=host, actor_url=f"http://{host}/users/{username}",
                        profile_url=f"http://{host}/@{username}")
        return JSONResponse(jrd, media_type=JRD_CONTENT_TYPE)

    return Starlette(routes=[Route("/.well-known/webfinger", webfinger)])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    seen: list[str] = []
    uv = uvicorn.Server(uvicorn.Config(make_app(seen), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield f"127.0.0.1:{sock.getsockname()[1]}", seen
    uv.should_exit = True
    thread.join(5)
    sock.close()


@pytest.fixture
async def fetcher():
    async with Fetcher(user_agent="fediverse-test/0.1", allow_private=True, allow_http=True) as f:
        yield f


async def test_lookup(server, fetcher) -> None:
    host, seen = server
    for handle in (f"@alice@{host}", f"alice@{host}", f"acct:alice@{host}"):
        assert await lookup(handle, fetcher, scheme="http") == f"http://{host}/users/alice"
    assert seen[-1] == f"acct:alice@{host}"


async def test_lookup_failures(server, fetcher) -> None:
    host, _ = server
    with pytest.raises(Gone):
        await lookup(f"gone@{host}", fetcher, scheme="http")
    with pytest.raises(DocumentError):
        await lookup(f"nolink@{host}", fetcher, scheme="http")
    with pytest.raises(DocumentError):
        await lookup("not a handle", fetcher, scheme="http")


async def test_lookup_refuses_private_hosts(server) -> None:
    host, seen = server
    before = len(seen)
    async with Fetcher(user_agent="t", allow_http=True) as strict:
        with pytest.raises(BlockedAddress):
            await lookup(f"alice@{host}", strict, scheme="http")
    assert len(seen) == before
