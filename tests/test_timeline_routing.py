"""`IndexedRouter` answers every request as starlette's own `Router` does."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Host, Mount, Route, Router
from starlette.testclient import TestClient

from fediverse import route_index
from fediverse.route_index import IndexedRouter


def _says(text: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{text} {dict(request.path_params)}")
    return endpoint


def _routes() -> list[BaseRoute]:
    return [
        Route("/a/{name}", _says("a-param"), methods=["POST"]),
        Route("/a/fixed", _says("a-fixed"), methods=["GET"]),
        Route("/a/{name}", _says("a-param-get"), methods=["GET"]),
        Route("/items/{id:int}", _says("item")),
        Route("/only-post", _says("post"), methods=["POST"]),
        Route("/slash/", _says("slash")),
        Mount("/mounted", routes=[Route("/x", _says("mounted-x"))]),
        Host("other.example", Router(routes=[Route("/h", _says("host"))])),
    ]


REQUESTS = [
    ("GET", "/a/fixed", "testserver"), ("POST", "/a/fixed", "testserver"),
    ("GET", "/a/other", "testserver"), ("DELETE", "/a/other", "testserver"),
    ("GET", "/items/12", "testserver"), ("GET", "/items/x", "testserver"),
    ("GET", "/only-post", "testserver"), ("POST", "/only-post", "testserver"),
    ("GET", "/slash", "testserver"), ("GET", "/slash/", "testserver"),
    ("GET", "/mounted/x", "testserver"), ("GET", "/mounted/y", "testserver"),
    ("GET", "/h", "other.example"), ("GET", "/h", "testserver"), ("GET", "/nowhere", "x"),
]


@pytest.mark.parametrize(("method", "path", "host"), REQUESTS)
def test_same_answer_as_plain_router(method: str, path: str, host: str) -> None:
    plain, indexed = Starlette(), Starlette()
    plain.router = Router(routes=_routes())
    indexed.router = IndexedRouter(_routes())
    answers = []
    for app in (plain, indexed):
        with TestClient(app, base_url=f"http://{host}") as client:
            response = client.request(method, path, follow_redirects=False)
            answers.append((response.status_code, response.text,
                            response.headers.get("location"), response.headers.get("allow")))
    assert answers[0] == answers[1]
    assert answers[1][0] != 500


def test_remembered_paths_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(route_index, "PATHS", 3)
    router = IndexedRouter(_routes())
    for i in range(10):
        assert [r.path for r in router.candidates(f"/items/{i}")  # type: ignore[attr-defined]
                if isinstance(r, Route)] == ["/items/{id:int}"]
    assert len(router._candidates) <= 3
