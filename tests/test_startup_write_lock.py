"""SQLite's write lock while `fediverse serve` starts: commands beside it never wait it out.

A full-suite run once saw `fediverse token create`, run beside a starting server on the same
SQLite file, fail with "database is locked" after the 5 s busy timeout. The server's first
start made the instance actor in a transaction holding the write lock while it generated the
actor's RSA key (tens of milliseconds idle, seconds on a loaded machine). These tests watch
the lock with a plain sqlite3 connection of their own, which never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.instances import free_port, running_instance
from tests.processes import ROOT, command_env, fediverse_process, until_serving


class LockWatch:
    """A thread that tries to take the write lock of a SQLite file every millisecond (and
    gives it back at once): the longest time it found the lock held, and how often it found
    it held while some thread of this process was generating a key pair."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.longest = 0.0
        self.tries_during_keygen = 0
        self.held_during_keygen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lock-watch", daemon=True)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        held_since: float | None = None
        while not self._stop.is_set():
            time.sleep(0.001)
            if connection is None:
                if not self.path.exists():
                    continue
                connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            keygen = _generating_a_key()
            now = time.monotonic()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
            except sqlite3.OperationalError:  # held by someone else
                held_since = now if held_since is None else held_since
                self.longest = max(self.longest, now - held_since)
                self.held_during_keygen += keygen
            else:
                held_since = None
            self.tries_during_keygen += keygen
        if connection is not None:
            connection.close()

    @contextlib.contextmanager
    def watching(self) -> Iterator[LockWatch]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def _generating_a_key() -> bool:
    """Whether a thread of this process is in `generate_rsa_keypair` right now."""
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code.co_name == "generate_rsa_keypair":
                return True
            frame = frame.f_back
    return False


async def test_first_start_generates_the_instance_key_outside_the_write_lock(tmp_path):
    """The first start makes the instance actor; its key is made before the lock is taken."""
    path = tmp_path / "fediverse.db"
    with LockWatch(path).watching() as watch:
        async with running_instance(tmp_path, f"sqlite:///{path}") as instance:
            async with instance.client() as http:
                actor = await http.get("/actor", headers={"Accept": "application/activity+json"})
    assert actor.status_code == 200 and actor.json()["publicKey"]["publicKeyPem"]
    assert watch.tries_during_keygen > 0, "the watch never saw the key being made"
    assert watch.held_during_keygen == 0, (
        f"the write lock was held during {watch.held_during_keygen} of "
        f"{watch.tries_during_keygen} tries while the instance key was generated")


def _command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fediverse", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


async def test_commands_beside_a_starting_server_write(tmp_path):
    """`account create` and `token create`, again and again while `fediverse serve` starts
    on a fresh SQLite file and just after, all succeed, and the server never holds the write
    lock for half the busy timeout."""
    path = tmp_path / "fediverse.db"
    port = free_port()
    env = command_env(tmp_path, f"sqlite:///{path}", port)
    assert _command(env, "migrate").returncode == 0
    failures: list[str] = []

    async def writes(round_: int) -> None:
        made = await asyncio.to_thread(_command, env, "account", "create", f"user{round_}")
        token = await asyncio.to_thread(_command, env, "token", "create", f"user{round_}")
        for done in (made, token):
            if done.returncode != 0:
                failures.append(f"{' '.join(done.args[3:])}: {done.stderr.strip()}")
        if token.returncode == 0 and not token.stdout.strip():
            failures.append(f"token create user{round_} printed no token")

    with LockWatch(path).watching() as watch:
        async with fediverse_process(env, "serve", "--port", str(port)) as server:
            beside = asyncio.gather(*(writes(n) for n in range(2)))
            await until_serving(f"http://127.0.0.1:{port}", server)
            await beside
            await asyncio.gather(*(writes(n) for n in range(2, 4)))  # workers running now
    assert failures == [], "\n".join(failures)
    assert watch.longest < 2.5, f"the write lock was held for {watch.longest:.2f} s at once"
