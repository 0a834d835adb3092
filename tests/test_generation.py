"""Generated images as posts, on live instances with the tiny model: `/imagine` from
Mastodon.py federated with its image, generator accounts answering mentions across servers,
`POST /api/v1/generations` with async media semantics, reproducible seeds, refusals that
queue nothing, and a queued job surviving a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from mastodon import Mastodon
from sqlmodel import select

from models.tables import Account, Job, MediaAttachment, Status
from models.tokens import create_token
from outbox import actions
from tests.flows_support import Side, following, pair  # noqa: F401
from tests.instances import Instance, running_instance

PROMPT = "a lighthouse at dusk"


async def token_for(side: Side, username: str, **options: Any) -> str:
    async with side.writer() as session:
        from models.accounts import create_account

        account = await create_account(session, username, **options)
        token = await create_token(session, account, "read write follow")
        await session.commit()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def media_when_ready(client: httpx.AsyncClient, token: str, media_id: str,
                           timeout: float = 30.0) -> dict[str, Any]:
    """Poll GET /api/v1/media/:id: 206 while processing, then 200 with a url."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.get(f"/api/v1/media/{media_id}", headers=bearer(token))
        assert answer.status_code in (200, 206), answer.text
        if answer.status_code == 200:
            return dict(answer.json())
        assert answer.json()["url"] is None
        assert time.monotonic() < deadline, "the generated image never became ready"
        await asyncio.sleep(0.1)


async def test_imagine_arrives_on_the_other_instance_with_its_image(pair):  # noqa: F811
    a, b = pair
    token = await token_for(a, "poster")
    poster = await a.one(Account, Account.username == "poster")
    reader = await b.account("reader")
    await following(b, reader, a, poster)
    api = Mastodon(access_token=token, api_base_url=a.base)
    posted = await asyncio.to_thread(api.status_post, f"/imagine {PROMPT}")
    assert posted["media_attachments"][0]["url"] is None
    assert posted["media_attachments"][0]["description"] == PROMPT
    async with a.inst.client() as client:  # nobody else sees it until the image exists
        hidden = await client.get(f"/api/v1/statuses/{posted['id']}")
        row = await a.one(Status, Status.id == int(posted["id"]))
        assert hidden.status_code == 404 or (row is not None and not row.pending)

    async def arrived() -> Status | None:
        return await b.status(posted["uri"])

    note = await b.eventually(arrived, what="the generated post", timeout=30)
    media = await b.rows(MediaAttachment, MediaAttachment.status_id == note.id)
    assert len(media) == 1 and media[0].description == PROMPT
    assert media[0].remote_url and media[0].remote_url.startswith(a.base)
    async with httpx.AsyncClient() as client:
        image = await client.get(media[0].remote_url)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert b"parameters" in image.content and b"trainedAlgorithmicMedia" in image.content
    shown = await asyncio.to_thread(api.status, posted["id"])
    assert shown["media_attachments"][0]["url"]


async def test_a_generator_account_answers_a_mention_from_another_server(pair):  # noqa: F811
    a, b = pair
    await a.account("painter", generator=True)
    asker = await b.account("asker")
    painter = await b.resolve(a.handle("painter"))
    asked = await b.act(actions.post_status, asker, text=f"@painter@{a.inst.domain} a quiet harbour",
                        visibility="direct", mentions=[painter])

    async def answered() -> Status | None:
        return await b.one(Status, Status.in_reply_to_id == asked.id)

    reply = await b.eventually(answered, what="the generator's reply", timeout=30)
    assert reply.visibility == "direct"
    media = await b.rows(MediaAttachment, MediaAttachment.status_id == reply.id)
    assert len(media) == 1 and media[0].description == "a quiet harbour"


async def generations_of(inst: Instance, token: str, **form: Any) -> httpx.Response:
    async with inst.client() as client:
        return await client.post("/api/v1/generations", headers=bearer(token), data=form)


async def test_generations_answer_202_then_206_then_200_and_seeds_repeat(tmp_path,
                                                                        database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        first = await generations_of(inst, token, prompt=PROMPT, seed="7", width="64",
                                     height="64")
        again = await generations_of(inst, token, prompt=PROMPT, seed="7")
        assert first.status_code == again.status_code == 202, first.text
        assert first.json()["url"] is None and first.json()["description"] == PROMPT
        async with inst.client() as client:
            ready = [await media_when_ready(client, token, r.json()["id"])
                     for r in (first, again)]
        rows = [await side.one(MediaAttachment, MediaAttachment.id == int(m["id"]))
                for m in ready]
        files = [(inst.settings.media_dir / row.file_path).read_bytes() for row in rows]
        assert files[0] == files[1] and files[0].startswith(b"\x89PNG")
        assert ready[0]["blurhash"] and ready[0]["meta"]["original"]["width"] == 64
        async with inst.client() as client:  # then it is attached like an upload
            posted = await client.post("/api/v1/statuses", headers=bearer(token),
                                       data={"status": "made it", "media_ids[]": ready[0]["id"]})
        assert posted.status_code == 200 and posted.json()["media_attachments"][0]["url"]


@pytest.mark.parametrize("form", [
    {"prompt": ""}, {"prompt": "   "}, {"prompt": "x" * 1001}, {"prompt": "a", "width": "65"},
    {"prompt": "a", "width": "4096"}, {"prompt": "a", "height": "32"}, {"prompt": "a", "steps": "0"},
    {"prompt": "a", "steps": "51"}, {"prompt": "a", "steps": "many"},
    {"prompt": "a", "negative_prompt": "n" * 1001}, {"prompt": "a", "seed": "-1"},
])
async def test_bad_requests_are_refused_and_queue_nothing(tmp_path, database_url, form):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        answer = await generations_of(inst, token, **form)
        assert answer.status_code == 422 and answer.json()["error"]
        assert await side.rows(Job, Job.queue == "generate") == []
        assert await side.rows(MediaAttachment) == []


@pytest.mark.parametrize("text", ["/imagine  ", "/imagine " + "@" * 0 + " \n "])
async def test_an_empty_imagine_is_refused_and_stores_nothing(tmp_path, database_url, text):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        async with inst.client() as client:
            answer = await client.post("/api/v1/statuses", headers=bearer(token),
                                       data={"status": text})
        assert answer.status_code == 422 and answer.json()["error"]
        assert await side.rows(Job, Job.queue == "generate") == []
        assert await side.rows(Status) == [] and await side.rows(MediaAttachment) == []


async def test_generations_need_a_token(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        async with inst.client() as client:
            answer = await client.post("/api/v1/generations", data={"prompt": PROMPT})
        assert answer.status_code == 401


async def test_a_queued_generation_finishes_after_a_restart(tmp_path, database_url):
    data: Path = tmp_path / "a"
    async with running_instance(data, database_url, run_workers=False) as inst:
        token = await token_for(Side(inst), "maker")
        answer = await generations_of(inst, token, prompt=PROMPT)
        assert answer.status_code == 202
    async with running_instance(data, database_url, run_workers=True) as inst:
        async with inst.client() as client:
            ready = await media_when_ready(client, token, answer.json()["id"])
        assert ready["url"] and ready["description"] == PROMPT
        async with inst.state.sessions() as session:
            jobs = (await session.exec(select(Job).where(Job.queue == "generate"))).all()
        assert [job.state for job in jobs] == ["done"]
