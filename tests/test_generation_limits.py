"""Generation limits, blocks and cancelling, on live instances with the tiny model: an
account, a remote actor or server over its limit and a full queue are refused at once (429,
or the generator's reply saying why) with nothing queued; a blocked asker is ignored; a
deleted request's image is never posted."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from fediverse.imaging import get_pipeline
from fediverse.settings import SettingsError, load
from models.tables import Account, Host, Job, MediaAttachment, Status
from outbox import actions
from tests.flows_support import Side, pair  # noqa: F401
from tests.instances import Instance, running_instance
from tests.test_generation import PROMPT, bearer, generations_of, token_for


def limited(inst: Instance, **limits: int) -> None:
    """The instance's generation limits, changed while it runs."""
    inst.state.settings = dataclasses.replace(inst.state.settings, **limits)


async def renders(side: Side, *states: str) -> list[Job]:
    where: list[Any] = [Job.queue == "generate", Job.kind == "render"]
    if states:
        where.append(col(Job.state).in_(states))
    return await side.rows(Job, *where)


async def finish_renders(side: Side) -> None:
    """As if the worker had made every waiting image (for a server without workers)."""
    async with side.writer() as session:
        await session.exec(sa.update(Job).where(Job.queue == "generate")  # type: ignore[call-overload]
                           .values(state="done"))
        await session.commit()


@pytest.mark.parametrize("limit", ["generation_account_pending", "generation_account_hourly"])
async def test_an_account_over_its_limit_is_refused_with_429_and_nothing_queued(
        tmp_path, database_url, limit):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        limited(inst, **{limit: 2})
        token = await token_for(side, "maker")
        answers = [await generations_of(inst, token, prompt=PROMPT) for _ in range(3)]
        assert [a.status_code for a in answers] == [202, 202, 429], answers[2].text
        assert "2 images" in answers[2].json()["error"]
        assert len(await renders(side)) == 2 and len(await side.rows(MediaAttachment)) == 2
        async with inst.client() as client:  # an `/imagine` status too, and none is stored
            posted = await client.post("/api/v1/statuses", headers=bearer(token),
                                       data={"status": f"/imagine {PROMPT}"})
        assert posted.status_code == 429 and "2 images" in posted.json()["error"]
        assert await side.rows(Status) == [] and len(await renders(side)) == 2
        other = await token_for(side, "other")  # one account's limit is not another's
        assert (await generations_of(inst, other, prompt=PROMPT)).status_code == 202
        await finish_renders(side)  # made: room again while waiting, not within the hour
        again = await generations_of(inst, token, prompt=PROMPT)
        assert again.status_code == (202 if limit.endswith("pending") else 429), again.text


async def test_a_full_queue_refuses_every_account(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        limited(inst, generation_queue_limit=2)
        first, second = await token_for(side, "first"), await token_for(side, "second")
        answers = [await generations_of(inst, token, prompt=PROMPT)
                   for token in (first, second, second)]
        assert [a.status_code for a in answers] == [202, 202, 429]
        assert "on this server" in answers[2].json()["error"]
        assert len(await renders(side)) == 2


@pytest.mark.parametrize("env", [{"FEDIVERSE_GENERATION_QUEUE_LIMIT": "many"},
                                 {"FEDIVERSE_GENERATION_ACTOR_HOURLY": "-1"}])
def test_limit_settings_must_be_whole_numbers(env):
    with pytest.raises(SettingsError) as raised:
        load(env)
    assert next(iter(env)) in str(raised.value)


def test_limit_settings_are_read_from_the_environment():
    settings = load({"FEDIVERSE_GENERATION_QUEUE_LIMIT": "0",
                     "FEDIVERSE_GENERATION_DOMAIN_PENDING": "3"})
    assert settings.generation_queue_limit == 0 and settings.generation_domain_pending == 3


async def _ask(b: Side, asker: Account, painter: Account, a: Side, text: str,
               visibility: str = "direct") -> Status:
    """`asker` on B mentions the generator on A; the generator's answer, once on B."""
    asked = await b.act(actions.post_status, asker, text=f"@painter@{a.inst.domain} {text}",
                        visibility=visibility, mentions=[painter])

    async def answered() -> Status | None:
        return await b.one(Status, Status.in_reply_to_id == asked.id)

    return await b.eventually(answered, what="the generator's answer", timeout=60)


async def _media_of(side: Side, status: Status) -> list[MediaAttachment]:
    return await side.rows(MediaAttachment, MediaAttachment.status_id == status.id)


async def test_remote_actors_and_servers_over_their_limits_get_a_reply_saying_why(pair):  # noqa: F811
    a, b = pair
    await a.account("painter", generator=True)
    limited(a.inst, generation_actor_hourly=1, generation_domain_hourly=2)
    askers = [await b.account(name) for name in ("one", "two", "three")]
    painter = await b.resolve(a.handle("painter"))

    made = await _ask(b, askers[0], painter, a, "a quiet harbour")
    assert len(await _media_of(b, made)) == 1
    refused = await _ask(b, askers[0], painter, a, "a second harbour", visibility="unlisted")
    assert await _media_of(b, refused) == [] and refused.visibility == "unlisted"
    assert "1 images in the last hour" in refused.content and "you have" in refused.content
    made = await _ask(b, askers[1], painter, a, "a third harbour")
    assert len(await _media_of(b, made)) == 1
    refused = await _ask(b, askers[2], painter, a, "a fourth harbour")
    assert "your server has asked for 2 images" in refused.content
    assert refused.visibility == "direct" and await _media_of(b, refused) == []
    assert len(await renders(a)) == 2  # the refused were never queued


async def test_a_mention_with_no_prompt_gets_a_reply_saying_why(pair):  # noqa: F811
    a, b = pair
    await a.account("painter", generator=True)
    asker = await b.account("asker")
    painter = await b.resolve(a.handle("painter"))
    answer = await _ask(b, asker, painter, a, " ")
    assert "prompt is empty" in answer.content and await _media_of(b, answer) == []
    assert await renders(a) == []


async def _mention_handled(a: Side, asked_uri: str) -> None:
    """Wait until A has stored the mention and run its job."""
    async def handled() -> bool:
        asked = await a.status(asked_uri)
        if asked is None:
            return False
        jobs = await a.rows(Job, Job.kind == "mention")
        return bool(jobs) and all(job.state == "done" for job in jobs)

    await a.eventually(handled, what="the mention's job", timeout=60)


@pytest.mark.parametrize("blocked", ["by the generator", "server"])
async def test_a_blocked_asker_is_ignored(pair, blocked):  # noqa: F811
    a, b = pair
    generator = await a.account("painter", generator=True)
    asker = await b.account("asker")
    painter = await b.resolve(a.handle("painter"))
    asker_on_a = await a.resolve(b.handle("asker"))
    if blocked == "server":
        async with a.writer() as session:
            session.add(Host(domain=b.inst.domain, blocked=True))
            await session.commit()
    else:
        await a.act(actions.block, generator, asker_on_a)
    asked = await b.act(actions.post_status, asker, text=f"@painter@{a.inst.domain} a harbour",
                        visibility="public", mentions=[painter])
    await _mention_handled(a, asked.uri)
    assert await renders(a) == []

    async def answered() -> Status | None:
        return await b.one(Status, Status.in_reply_to_id == asked.id)

    await b.never(answered, what="an answer to a blocked asker")
    assert await a.rows(Status, Status.account_id == generator.id) == []


async def test_deleting_a_pending_imagine_status_cancels_its_image(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=False) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        async with inst.client() as client:
            posted = await client.post("/api/v1/statuses", headers=bearer(token),
                                       data={"status": f"/imagine {PROMPT}"})
            assert posted.status_code == 200 and len(await renders(side, "queued")) == 1
            deleted = await client.delete(f"/api/v1/statuses/{posted.json()['id']}",
                                          headers=bearer(token))
        assert deleted.status_code == 200
        assert await renders(side) == []  # the job is gone: nothing is made or posted later
        assert await side.rows(MediaAttachment) == []
        assert await side.rows(Job, Job.queue == "deliver") == []  # it never left: no Delete
        row = await side.one(Status, Status.id == int(posted.json()["id"]))
        assert row is not None and row.deleted_at is not None


async def test_deleting_a_waiting_generation_removes_its_job(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=False) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        kept, dropped = [await generations_of(inst, token, prompt=PROMPT) for _ in range(2)]
        async with inst.client() as client:
            deleted = await client.delete(f"/api/v1/media/{dropped.json()['id']}",
                                          headers=bearer(token))
        assert deleted.status_code == 200
        assert [job.payload["media_id"] for job in await renders(side)] == [
            int(kept.json()["id"])]
        assert [m.id for m in await side.rows(MediaAttachment)] == [int(kept.json()["id"])]


async def test_a_request_whose_account_is_gone_is_dropped_unrendered(tmp_path, database_url):
    data = tmp_path / "a"
    async with running_instance(data, database_url, run_workers=False) as inst:
        side = Side(inst)
        token = await token_for(side, "maker")
        async with inst.client() as client:
            posted = await client.post("/api/v1/statuses", headers=bearer(token),
                                       data={"status": f"/imagine {PROMPT}"})
        assert posted.status_code == 200
        async with side.writer() as session:  # its statuses and media go with it
            await session.exec(sa.delete(Account).where(Account.username == "maker"))  # type: ignore[call-overload]
            await session.commit()
        assert len(await renders(side, "queued")) == 1
    async with running_instance(data, database_url, run_workers=True) as inst:
        side = Side(inst)
        await side.settled()
        assert [job.state for job in await renders(side)] == ["done"]
        assert await side.rows(MediaAttachment) == [] and await side.rows(Status) == []
        assert not list((inst.settings.media_dir / "attachments").rglob("*.*"))  # not made


async def test_a_remote_delete_of_the_mention_discards_an_image_being_made(pair):  # noqa: F811
    a, b = pair
    generator = await a.account("painter", generator=True)
    asker = await b.account("asker")
    painter = await b.resolve(a.handle("painter"))
    settings = a.inst.settings  # the pipeline is busy: the job waits on it
    busy = get_pipeline(settings.image_model, settings.device, settings.image_options)._lock
    busy.acquire()
    try:
        asked = await b.act(actions.post_status, asker,
                            text=f"@painter@{a.inst.domain} a harbour", visibility="direct",
                            mentions=[painter])

        async def rendering() -> bool:
            return bool(await renders(a, "running"))

        await a.eventually(rendering, what="the render job running", timeout=60)
        await b.act(actions.delete_status, asked)

        async def tombstoned() -> bool:
            row = await a.status(asked.uri)
            return row is not None and row.deleted_at is not None

        await a.eventually(tombstoned, what="the mention deleted on A", timeout=30)
    finally:
        busy.release()

    async def finished() -> bool:
        return [job.state for job in await renders(a)] == ["done"]

    await a.eventually(finished, what="the render job finished", timeout=90)
    assert await a.rows(Status, Status.account_id == generator.id) == []
    assert await a.rows(MediaAttachment, MediaAttachment.account_id == generator.id) == []
    assert not list((a.inst.settings.media_dir / "attachments").rglob("*.*"))

    async def answered() -> Status | None:
        return await b.one(Status, Status.in_reply_to_id == asked.id)

    await b.never(answered, what="an answer to a deleted mention")


async def test_deleting_local_mentions_cancels_the_rendering_and_the_waiting_image(
        tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        generator = await side.account("painter", generator=True)
        token = await token_for(side, "asker")
        settings = inst.settings
        busy = get_pipeline(settings.image_model, settings.device, settings.image_options)._lock
        busy.acquire()
        try:
            async with inst.client() as client:
                first = await client.post("/api/v1/statuses", headers=bearer(token),
                                          data={"status": "@painter a harbour"})

                async def rendering() -> bool:
                    return bool(await renders(side, "running"))

                await side.eventually(rendering, what="the first image rendering", timeout=60)
                second = await client.post("/api/v1/statuses", headers=bearer(token),
                                           data={"status": "@painter a lighthouse"})

                async def waiting() -> bool:  # behind the render, in the same queue
                    return len(await side.rows(Job, Job.kind == "mention")) == 2

                await side.eventually(waiting, what="the second mention waiting", timeout=20)
                for posted in (first, second):
                    deleted = await client.delete(f"/api/v1/statuses/{posted.json()['id']}",
                                                  headers=bearer(token))
                    assert deleted.status_code == 200
            assert [job.state for job in await renders(side)] == ["running"]
        finally:
            busy.release()

        async def finished() -> bool:
            return [job.state for job in await renders(side)] == ["done"]

        await side.eventually(finished, what="the first image finished", timeout=90)
        await side.settled()  # the second mention's job ran too, and queued no image
        assert len(await renders(side)) == 1
        assert await side.rows(Status, Status.account_id == generator.id) == []
        assert await side.rows(MediaAttachment) == []
        assert not list((settings.media_dir / "attachments").rglob("*.*"))
