"""Issue 5 audit, across real processes as CONTRACT.md deploys them: `fediverse serve
--no-workers` takes an `/imagine` status and `fediverse worker --queue generate` (as on a GPU
machine) makes its image; the author's stream hears the post once, with its image, and their
home timeline shows it."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import orjson

from tests.instances import free_port
from tests.processes import ROOT, command_env, fediverse_process, serving
from tests.test_generation import PROMPT, bearer
from tests.test_streaming_processes import SseReader


def _command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "fediverse", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def _until_made(client: httpx.AsyncClient, token: str, status_id: str) -> None:
    """Wait (the worker process loads torch first) until the author sees the image."""
    for _ in range(1200):
        shown = await client.get(f"/api/v1/statuses/{status_id}", headers=bearer(token))
        if shown.status_code == 200 and shown.json()["media_attachments"][0]["url"]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the worker process never made the image")


async def test_a_generation_worker_process_publishes_to_the_authors_stream(tmp_path,
                                                                         database_url):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = command_env(tmp_path, database_url, port)
    heard = SseReader()
    async with serving(env, port, "--no-workers"):
        await asyncio.to_thread(_command, env, "account", "create", "maker")
        token = await asyncio.to_thread(_command, env, "token", "create", "maker",
                                        "--scopes", "read write")
        async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None)
                                     ) as client, \
                client.stream("GET", "/api/v1/streaming/user",
                              headers=bearer(token)) as stream:
            assert stream.status_code == 200
            reader = asyncio.create_task(heard.read(stream))
            try:
                await asyncio.wait_for(heard.opened.wait(), 10)
                posted = await client.post("/api/v1/statuses", headers=bearer(token),
                                           data={"status": f"/imagine {PROMPT}"})
                assert posted.status_code == 200, posted.text
                assert posted.json()["media_attachments"][0]["url"] is None
                async with fediverse_process(env, "worker", "--queue", "generate"):
                    await _until_made(client, token, posted.json()["id"])
                    events = await heard.until(1)
                await asyncio.sleep(0.3)  # nothing more is heard of it
            finally:
                reader.cancel()
            home = await client.get("/api/v1/timelines/home", headers=bearer(token))
    assert [name for name, _ in heard.events] == ["update"]
    shown = orjson.loads(events[0][1])
    assert shown["id"] == posted.json()["id"]
    [image] = shown["media_attachments"]
    assert image["url"] and image["description"] == PROMPT
    assert "AI-generated image." in shown["content"]
    assert [s["id"] for s in home.json()] == [posted.json()["id"]]
    assert home.json()[0]["media_attachments"][0]["url"] == image["url"]
