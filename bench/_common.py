"""What the federation benchmarks share: servers on loopback, a real instance, the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
import time
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


def machine() -> str:
    """`nproc`, the CPU model and Python, as one line."""
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {model}, "
            f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")


@contextlib.asynccontextmanager
async def serving(app: Any, port: int, **options: Any) -> AsyncIterator[uvicorn.Server]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:`port` in this event loop."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            timeout_graceful_shutdown=1, **options)
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


@contextlib.asynccontextmanager
async def running_instance(data_dir: Path, database_url: str, *,
                           run_workers: bool = True) -> AsyncIterator[Instance]:
    """A whole fediverse instance (as `fediverse serve` runs it) on 127.0.0.1."""
    port = free_port()
    settings = Settings(domain=f"127.0.0.1:{port}", data_dir=data_dir, database_url=database_url,
                        image_model="tiny", device="cpu", insecure_http=True,
                        allow_private_networks=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.effective_database_url)
    app = create_app(settings, run_workers=run_workers)
    async with serving(app, port, access_log=False):
        yield Instance(settings=settings, state=app.state.fv)


@contextlib.asynccontextmanager
async def signed_in(root: Path) -> AsyncIterator[tuple[Instance, httpx.AsyncClient]]:
    """A SQLite instance in `root` (no workers) with one account, alice, and a client that
    holds her read and write token."""
    from models.accounts import create_account
    from models.tokens import create_token

    url = f"sqlite:///{root / 'fediverse.db'}"
    async with running_instance(root, url, run_workers=False) as inst:
        async with inst.state.sessions() as session:
            alice = await create_account(session, "alice")
            token = await create_token(session, alice, "read write")
            await session.commit()
        async with httpx.AsyncClient(base_url=inst.base_url, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            yield inst, client


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "inf"
