"""An upload answered 202 survives the server being killed before processing it: the kept
copy and its `media` job are finished by the restarted server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from fediverse.media.jobs import process_upload
from fediverse.media.uploads import QUEUE, uploads_dir
from fediverse.settings import Settings
from fediverse.state import AppState
from models.accounts import create_account
from models.db import make_engine, session_factory
from models.queue import PermanentJobError
from models.tables import Job, MediaAttachment
from models.tokens import create_token
from tests.instances import free_port
from tests.media_samples import image_bytes
from tests.processes import command_env, serving


async def _seed(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            alice = await create_account(session, "alice")
            token = await create_token(session, alice, "read write")
            await session.commit()
        return token
    finally:
        await engine.dispose()


async def _stored(database_url: str, media_id: int) -> tuple[str, list[str]]:
    """The attachment's state and the states of its jobs."""
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            row = await session.get(MediaAttachment, media_id)
            jobs = (await session.exec(select(Job.state).where(Job.queue == QUEUE))).all()
        assert row is not None
        return row.state, list(jobs)
    finally:
        await engine.dispose()


async def test_an_upload_of_a_killed_server_is_finished_after_restart(
        tmp_path: Path, database_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    token = await _seed(database_url)
    env = command_env(tmp_path, database_url, port)
    big = image_bytes("JPEG", (7600, 4300), colour=(40, 80, 120))  # processing takes a while
    headers = {"Authorization": f"Bearer {token}"}
    async with serving(env, port) as server, httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(base + "/api/v2/media", headers=headers,
                                   files={"file": ("big.jpg", big, "image/jpeg")},
                                   data={"description": "kept"})
        server.kill()  # at once: no time to process the image
        await server.wait()
    assert answer.status_code == 202, answer.text
    media_id = int(answer.json()["id"])
    assert await _stored(database_url, media_id) == ("processing", ["queued"])
    kept = list(uploads_dir(tmp_path).iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == big

    async with serving(env, port), httpx.AsyncClient(timeout=10) as client:
        for _ in range(1200):  # the job is due once the dead process could not take it back
            shown = await client.get(f"{base}/api/v1/media/{media_id}", headers=headers)
            if shown.status_code != 206:
                break
            await asyncio.sleep(0.05)
    assert shown.status_code == 200, shown.text
    ready = shown.json()
    assert ready["url"] and ready["description"] == "kept"
    assert ready["meta"]["original"]["size"] == "3828x2166"  # scaled down to 4K's area
    assert await _stored(database_url, media_id) == ("ready", ["done"])
    assert list(uploads_dir(tmp_path).iterdir()) == []  # the kept copy is gone


async def test_a_missing_kept_upload_is_retried_then_fails(tmp_path: Path,
                                                          database_url: str) -> None:
    """A worker without the kept copy (another machine's disk) leaves the job to retry; on
    the last try the attachment fails. One already done is left alone."""
    state = await AppState.start(Settings(domain="127.0.0.1:9", data_dir=tmp_path,
                                          database_url=database_url, image_model="tiny"))
    try:
        async with state.writer() as session:
            alice = await create_account(session, "alice")
            waiting = MediaAttachment(account_id=alice.id, state="processing")
            done = MediaAttachment(account_id=alice.id, state="ready")
            session.add_all([waiting, done])
            await session.commit()
        with pytest.raises(FileNotFoundError):
            await process_upload(state, waiting.id, "elsewhere", last_try=False)
        assert (await _stored(database_url, waiting.id))[0] == "processing"
        with pytest.raises(PermanentJobError):
            await process_upload(state, waiting.id, "elsewhere", last_try=True)
        assert (await _stored(database_url, waiting.id))[0] == "failed"
        await process_upload(state, done.id, "elsewhere")  # nothing to do
        assert (await _stored(database_url, done.id))[0] == "ready"
    finally:
        await state.close()
