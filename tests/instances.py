"""Real fediverse instances on loopback, for tests that talk HTTP to them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from fediverse.app import create_app
from fediverse.settings import Settings
from fediverse.state import AppState
from models.migrate import upgrade


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[uvicorn.Server]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:`port`, in this event loop, until the block ends."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        await task


@dataclass
class Instance:
    settings: Settings
    state: AppState

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def domain(self) -> str:
        return self.settings.domain

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=10)


@contextlib.asynccontextmanager
async def running_instance(
    data_dir: Path, database_url: str, *, run_workers: bool = False, **options: Any
) -> AsyncIterator[Instance]:
    """Migrate, then serve a whole instance with uvicorn on 127.0.0.1 until the block ends
    (`options`: more settings)."""
    port = free_port()
    settings = Settings(
        domain=f"127.0.0.1:{port}",
        data_dir=data_dir,
        database_url=database_url,
        image_model="tiny",
        device="cpu",
        insecure_http=True,
        allow_private_networks=True,
        **options,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.effective_database_url)
    app = create_app(settings, run_workers=run_workers)
    async with serving(app, port):
        yield Instance(settings=settings, state=app.state.fv)
