"""A starlette `Router` that tries, for each path, only the routes whose pattern matches it.

The app has about a hundred routes, tried in order for every request; here the routes a
path can match are found once per path (kept for up to `PATHS` paths) and only those are
tried, in the same order, so every request gets the answer plain `Router` would give.
"""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

PATHS = 4096  # paths remembered (those with ids in them come and go)


def _may_match(route: BaseRoute, path: str) -> bool:
    """False only when `route` can never match `path` (whatever the method or scope)."""
    if isinstance(route, (Route, WebSocketRoute, Mount)):
        return route.path_regex.match(path) is not None
    return True  # e.g. Host: its match depends on more than the path


class IndexedRouter(Router):
    def __init__(self, routes: list[BaseRoute]) -> None:
        super().__init__(routes=routes)
        self._candidates: dict[str, tuple[BaseRoute, ...]] = {}

    def candidates(self, path: str) -> tuple[BaseRoute, ...]:
        found = self._candidates.get(path)
        if found is None:
            found = tuple(r for r in self.routes if _may_match(r, path))
            if len(self._candidates) >= PATHS:
                self._candidates.clear()
            self._candidates[path] = found
        return found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial = partial_scope = None
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None and partial_scope is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)  # no match: slash redirects, then default
