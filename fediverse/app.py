"""The starlette application: routes, and the workers started beside it.

Start-up is kept short (issue 2): only the well-known routes are imported before the server
listens. Every other route lives behind `LazyRoutes`, whose modules are imported in a thread
just after the server starts listening (`warm_up`), and so are the workers'; a request for
one of those routes meanwhile waits for that import.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Router
from starlette.types import Receive, Scope, Send

from fediverse.api.errors import ApiError, handle_api_error
from fediverse.api.ratelimit import RateLimitMiddleware
from fediverse.route_index import IndexedRouter
from fediverse.routes import wellknown
from fediverse.routes.common import json_response
from fediverse.settings import Settings
from fediverse.state import AppState

log = logging.getLogger(__name__)
# answered before anything else is imported: they need neither the database nor the models
EAGER_PATHS = frozenset({"/.well-known/nodeinfo", "/.well-known/host-meta",
                         "/.well-known/host-meta.json"})


def eager_routes() -> list[BaseRoute]:
    return [route for route in wellknown.routes if getattr(route, "path", "") in EAGER_PATHS]


def lazy_routes() -> list[BaseRoute]:
    """Every other route, in matching order (importing their modules, and the workers')."""
    import fediverse.workers  # noqa: F401 (what the workers started next will need)
    from fediverse.api.router import api_routes
    from fediverse.routes import collections, federation, media, objects

    rest = [route for route in wellknown.routes if getattr(route, "path", "") not in EAGER_PATHS]
    return (rest + federation.routes + collections.routes + objects.routes + media.routes
            + api_routes())


class LazyRoutes:
    """The app's fallback: a router over `build()`'s routes, built in a thread (`load`) so
    the event loop goes on answering the routes the app has already.

    No path is served both here and by the app's own routes, so the split changes no answer.
    """

    def __init__(self, build: Callable[[], list[BaseRoute]]) -> None:
        self._build = build
        self._router: Router | None = None
        self._loading: asyncio.Future[list[BaseRoute]] | None = None

    async def load(self) -> Router:
        if self._router is None:
            if self._loading is None:  # one thread, however many requests wait for it
                self._loading = asyncio.ensure_future(asyncio.to_thread(self._build))
            routes = await asyncio.shield(self._loading)
            if self._router is None:
                self._router = IndexedRouter(routes)
        return self._router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"]
                                        or b"%00" in scope.get("query_string", b"")):
            # no name or parameter holds a NUL, and PostgreSQL refuses one in a query
            await json_response({"error": "NUL characters are not allowed"}, status=400)(
                scope, receive, send)
            return
        router = self._router or await self.load()
        await router(scope, receive, send)


async def warm_up(lazy: LazyRoutes, state: AppState) -> None:
    """Import and build now what the first requests and the workers would."""
    await lazy.load()
    state.warm()


def settle_memory() -> None:
    """For a server process, once started: what start-up built (modules, tables, routes)
    lives as long as the process, so the cyclic garbage collector stops walking it
    (`gc.freeze`), and it looks at new objects less often (most are freed by reference
    counting anyway). Together they took about a tenth of a busy inbox's CPU time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such path, wrong method, a malformed form): the client
    API and OAuth answer them as Mastodon does, `{"error": "..."}`; other paths as before."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    if request.url.path.startswith(("/api/", "/oauth/")):
        return json_response({"error": exc.detail}, status=exc.status_code, headers=exc.headers)
    return Response(exc.detail, status_code=exc.status_code, headers=exc.headers,
                    media_type="text/plain")


def create_app(
    settings: Settings, *, run_workers: bool = True,
    listening: Callable[[], Awaitable[None]] | None = None, settle: bool = False,
) -> Starlette:
    """Build the app; the database is opened when it starts (migrations are the caller's).

    `listening`, when given, returns once the server accepts connections: warming up and the
    workers wait for it, so that they do not delay the first answer. `settle`: the app has
    its process to itself, which `settle_memory` tunes once warmed up.
    """
    lazy = LazyRoutes(lazy_routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = await AppState.start(settings)
        app.state.fv = state
        stop = asyncio.Event()
        working = False

        async def after_start() -> None:
            nonlocal working
            if listening is not None:
                await listening()
            try:
                await warm_up(lazy, state)
            except Exception:  # the requests that need these imports will fail the same way
                log.exception("warming up failed")
                raise
            if settle:
                settle_memory()
            if run_workers:
                from fediverse.workers import run_workers as run
                from fediverse.workers import select_queues

                queues = select_queues(None)
                if queues:
                    working = True
                    await run(state, queues, stop)

        task = asyncio.create_task(after_start())
        try:
            yield
        finally:
            stop.set()
            if not working:  # still waiting or warming up: nothing to finish
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            from fediverse.media.uploads import wait_for_processing

            await wait_for_processing()
            await state.close()

    middleware = [
        # browser apps (Elk, Phanpy) call the API and token endpoints from other origins
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"],
                   expose_headers=["Link", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                                   "X-RateLimit-Reset"]),
        Middleware(RateLimitMiddleware),
    ]
    app = Starlette(routes=eager_routes(), lifespan=lifespan, middleware=middleware,
                    exception_handlers={ApiError: handle_api_error,
                                        HTTPException: handle_http_error})
    app.router.default = lazy
    return app
