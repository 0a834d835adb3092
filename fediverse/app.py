"""The starlette application: routes, and the workers started beside it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from fediverse.api.errors import ApiError, handle_api_error
from fediverse.api.ratelimit import RateLimitMiddleware
from fediverse.api.router import api_routes
from fediverse.routes import collections, federation, media, objects, wellknown
from fediverse.settings import Settings
from fediverse.state import AppState


def create_app(settings: Settings, *, run_workers: bool = True) -> Starlette:
    """Build the app; the database is opened when it starts (migrations are the caller's)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from fediverse.workers import run_workers as run
        from fediverse.workers import select_queues

        state = await AppState.start(settings)
        app.state.fv = state
        stop = asyncio.Event()
        task = None
        if run_workers:
            queues = select_queues(None)
            if queues:
                task = asyncio.create_task(run(state, queues, stop))
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            from fediverse.media.uploads import wait_for_processing

            await wait_for_processing()
            await state.close()

    routes = wellknown.routes + federation.routes + collections.routes + objects.routes
    routes += media.routes + api_routes()
    middleware = [
        # browser apps (Elk, Phanpy) call the API and token endpoints from other origins
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"],
                   expose_headers=["Link", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                                   "X-RateLimit-Reset"]),
        Middleware(RateLimitMiddleware),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                     exception_handlers={ApiError: handle_api_error})
