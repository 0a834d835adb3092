"""What each `fediverse` command does, apart from parsing its arguments."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from fediverse.errors import CommandError
from fediverse.settings import Settings

if TYPE_CHECKING:  # the command line starts without them
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

STARTUP_FAILURE = 3  # as `uvicorn.run` exits when the server cannot start


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


async def migrate(settings: Settings, *, quiet: bool = False) -> int:
    """Apply pending migrations; a database that cannot be reached is one clear line."""
    from models.migrate import upgrade

    url = settings.effective_database_url
    try:
        await upgrade(url)
    except Exception as exc:  # any driver error means the same thing to the operator
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"FEDIVERSE_DATABASE_URL: cannot use {_redact(url)}: {reason}") from exc
    if not quiet:
        print("database is up to date", file=sys.stderr)
    return 0


def serve(settings: Settings, *, host: str, port: int, workers: bool) -> int:
    import uvicorn

    from fediverse.app import create_app

    asyncio.run(migrate(settings, quiet=True))

    async def listening() -> None:
        while not server.started:
            await asyncio.sleep(0.01)

    app = create_app(settings, run_workers=workers, listening=listening, settle=True)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", server_header=False,
                            proxy_headers=True,
                            timeout_graceful_shutdown=5)  # open streams must not hold a shutdown up
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it handled
        server.run()
    return 0 if server.started else STARTUP_FAILURE  # uvicorn said why


async def worker(settings: Settings, queues: list[str] | None) -> int:
    from fediverse.state import AppState
    from fediverse.workers import run_workers, select_queues

    try:
        chosen = select_queues(queues)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    await migrate(settings, quiet=True)
    state = await AppState.start(settings)
    from fediverse.app import settle_memory

    settle_memory()  # as serve does once warmed up
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"worker running on queues: {', '.join(chosen)}", file=sys.stderr)
    try:
        await run_workers(state, chosen, stop)
    finally:
        await state.close()
    return 0


async def create_account(
    settings: Settings, username: str, *, password: str | None, email: str | None,
    admin: bool, bot: bool, generator: bool,
) -> int:
    from models.accounts import AccountError
    from models.accounts import create_account as create

    async with command_sessions(settings) as sessions:
        async with sessions() as session:
            try:
                account = await create(
                    session, username, password=password, email=email,
                    admin=admin, bot=bot or generator, generator=generator,
                )
            except AccountError as exc:
                raise CommandError(f"account {username!r}: {exc}") from exc
            await session.commit()
    print(f"created @{account.username}@{settings.domain}", file=sys.stderr)
    return 0


async def create_token(settings: Settings, username: str, scopes: str) -> int:
    from models.accounts import get_account
    from models.tokens import create_token as create

    async with command_sessions(settings) as sessions:
        async with sessions() as session:
            account = await get_account(session, username)
            if account is None:
                raise CommandError(f"no local account named {username!r}")
            try:
                token = await create(session, account, scopes)
            except ValueError as exc:
                raise CommandError(f"--scopes: {exc}") from exc
            await session.commit()
    print(token)
    return 0


def generate(
    settings: Settings, prompt: str, *, out: Path, seed: int | None, steps: int | None,
    width: int | None, height: int | None, negative_prompt: str | None,
) -> int:
    from fediverse.imaging import InvalidRequest, ModelUnavailable, generate_to_file

    try:
        info = generate_to_file(
            model=settings.image_model, device=settings.device, prompt=prompt, out=out,
            seed=seed, steps=steps, width=width, height=height,
            negative_prompt=negative_prompt, progress=sys.stderr.isatty(),
            options=settings.image_options,
        )
    except (InvalidRequest, ModelUnavailable) as exc:
        raise CommandError(str(exc)) from exc
    print(
        f"wrote {info.path} ({info.width}x{info.height}, seed {info.seed}, "
        f"{info.steps} steps, {info.seconds:.1f} s)",
        file=sys.stderr,
    )
    return 0


async def prune_media(settings: Settings, *, days: int, profiles: bool) -> int:
    """Delete the copies of other servers' images older than `days` days (they become links
    again, as before they were copied): posts' attachments, and with `profiles` the avatars
    and headers of remote accounts no local account follows."""
    from datetime import timedelta

    from fediverse.media.storage import remove_files
    from models.remote_media import forget_copies
    from models.types import utcnow

    if days < 0:
        raise CommandError("--days: must be 0 or more")
    before, removed, freed = utcnow() - timedelta(days=days), 0, 0
    async with command_sessions(settings) as sessions:
        while True:
            async with sessions() as session:
                files = await forget_copies(session, before, profiles=profiles)
                await session.commit()
            if not files:
                break
            for path in files:  # after the commit: no row names them any more
                with contextlib.suppress(OSError):
                    freed += (settings.media_dir / path).stat().st_size
            remove_files(settings.media_dir, *files)
            removed += len(files)
    print(f"removed {removed} files ({freed / 2**20:.1f} MiB)", file=sys.stderr)
    return 0


@contextlib.asynccontextmanager
async def command_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A command's sessions on the migrated database; the engine goes when the block ends."""
    from models.db import make_engine, session_factory

    await migrate(settings, quiet=True)
    engine = make_engine(settings.effective_database_url)
    try:
        # writers from their first statement: on SQLite they wait (busy timeout) for a running
        # server's write lock, where a read turned write would fail at once if it was taken
        yield session_factory(engine, immediate=True)
    finally:
        await engine.dispose()
