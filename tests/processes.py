"""Real `fediverse` command processes for tests: their environment, start, readiness, stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def command_env(data_dir: Path, database_url: str, port: int, **extra: str) -> dict[str, str]:
    """This environment without FEDIVERSE_* variables, plus a loopback test instance's. The
    device is the CPU unless FEDIVERSE_TEST_DEVICE names another (cuda on a GPU machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDIVERSE_")}
    env.update(FEDIVERSE_DATA_DIR=str(data_dir), FEDIVERSE_DOMAIN=f"127.0.0.1:{port}",
               FEDIVERSE_DATABASE_URL=database_url, FEDIVERSE_IMAGE_MODEL="tiny",
               FEDIVERSE_DEVICE=os.environ.get("FEDIVERSE_TEST_DEVICE", "cpu"),
               FEDIVERSE_INSECURE_HTTP="1", PYTHONPATH=str(ROOT),
               **extra)
    return env


@contextlib.asynccontextmanager
async def fediverse_process(env: dict[str, str], *args: str
                            ) -> AsyncIterator[asyncio.subprocess.Process]:
    """`fediverse ARGS...`, interrupted (then killed) at the end if still alive."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fediverse", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        yield child
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(child.wait(), 20)
            except TimeoutError:
                child.kill()
                await child.wait()


async def until_serving(base: str, child: asyncio.subprocess.Process) -> None:
    """Wait until the server at `base` answers; its stderr as the failure if it exits first."""
    async with httpx.AsyncClient(timeout=1) as client:
        for _ in range(600):
            if child.returncode is not None:
                assert child.stderr is not None
                raise AssertionError((await child.stderr.read()).decode())
            with contextlib.suppress(httpx.TransportError):
                await client.get(base + "/api/v1/streaming/health")
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"{base} did not answer")


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], port: int, *args: str
                  ) -> AsyncIterator[asyncio.subprocess.Process]:
    """`fediverse serve --port PORT ARGS...`, answering."""
    async with fediverse_process(env, "serve", "--port", str(port), *args) as child:
        await until_serving(f"http://127.0.0.1:{port}", child)
        yield child
