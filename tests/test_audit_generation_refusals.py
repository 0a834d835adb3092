"""Issue 5 audit, refusals: a 429 over a generation limit says when to try again
(`Retry-After`, Mastodon's `X-RateLimit-*`), from what is known of the queue; replies saying
why a mention was refused are themselves limited, per asker, per server and in all."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route

from fediverse.api.ratelimit import RateLimitMiddleware
from fediverse.generation import limits
from fediverse.generation.limits import Asker, may_refuse
from models.tables import Account, Job, Status
from models.types import utcnow
from tests.flows_support import Side
from tests.instances import Instance, running_instance
from tests.test_generation import PROMPT, bearer, generations_of, token_for


def limited(inst: Instance, **values: int) -> None:
    inst.state.settings = dataclasses.replace(inst.state.settings, **values)


def _limit_headers(answer: httpx.Response) -> tuple[int, datetime]:
    """Retry-After and X-RateLimit-Reset of a 429, checked to agree with each other."""
    assert answer.status_code == 429, answer.text
    retry = int(answer.headers["retry-after"])
    assert answer.headers["x-ratelimit-remaining"] == "0"
    reset = datetime.fromisoformat(answer.headers["x-ratelimit-reset"].replace("Z", "+00:00"))
    expected = datetime.now(UTC) + timedelta(seconds=retry)
    assert abs((reset - expected).total_seconds()) < 5
    return retry, reset


async def _age_renders(side: Side, seconds: float) -> None:
    """Make every render job look queued `seconds` ago."""
    async with side.writer() as session:
        earlier = utcnow() - timedelta(seconds=seconds)
        await session.exec(sa.update(Job).where(Job.kind == "render")  # type: ignore[call-overload]
                           .values(created_at=earlier, run_at=earlier))
        await session.commit()


async def test_a_429_says_when_a_place_frees_up(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        limited(inst, generation_account_pending=1)
        token = await token_for(side, "maker")
        assert (await generations_of(inst, token, prompt=PROMPT)).status_code == 202
        refused = await generations_of(inst, token, prompt=PROMPT)
        retry, _ = _limit_headers(refused)  # nothing made yet: the default guess
        assert 1 <= retry <= limits.UNKNOWN_WAIT
        assert refused.headers["x-ratelimit-limit"] == "1"

        # images lately took 300 s from request to picture; the waiting one is 5 s old
        async with side.writer() as session:
            done = utcnow() - timedelta(seconds=400)
            session.add(Job(queue="generate", kind="render", state="done",
                            created_at=done - timedelta(seconds=300), finished_at=done,
                            run_at=done - timedelta(seconds=300),
                            payload={"asker": "0", "asker_domain": "", "media_id": 0}))
            await session.commit()
        await _age_renders_waiting(side, 5)
        retry, _ = _limit_headers(await generations_of(inst, token, prompt=PROMPT))
        assert 250 <= retry <= 296

        async with inst.client() as client:  # an `/imagine` status gets the same headers
            posted = await client.post("/api/v1/statuses", headers=bearer(token),
                                       data={"status": f"/imagine {PROMPT}"})
        retry, _ = _limit_headers(posted)
        assert posted.headers["x-ratelimit-limit"] == "1" and 250 <= retry <= 296
        assert await side.rows(Status) == []


async def _age_renders_waiting(side: Side, seconds: float) -> None:
    async with side.writer() as session:
        earlier = utcnow() - timedelta(seconds=seconds)
        await session.exec(sa.update(Job).where(Job.kind == "render",  # type: ignore[call-overload]
                                                Job.state == "queued")
                           .values(created_at=earlier, run_at=earlier))
        await session.commit()


async def test_an_hourly_429_says_when_the_oldest_request_leaves_the_hour(tmp_path,
                                                                         database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        limited(inst, generation_account_hourly=2, generation_account_pending=0)
        token = await token_for(side, "maker")
        for _ in range(2):
            assert (await generations_of(inst, token, prompt=PROMPT)).status_code == 202
        await _age_renders(side, 600)  # both asked ten minutes ago
        refused = await generations_of(inst, token, prompt=PROMPT)
        retry, _ = _limit_headers(refused)
        assert refused.headers["x-ratelimit-limit"] == "2"
        assert 3000 - 60 <= retry <= 3000 + 1  # the hour of the oldest ends in 50 minutes


async def test_a_full_queue_says_when_to_try_again(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        limited(inst, generation_queue_limit=1)
        first, second = await token_for(side, "first"), await token_for(side, "second")
        assert (await generations_of(inst, first, prompt=PROMPT)).status_code == 202
        refused = await generations_of(inst, second, prompt=PROMPT)
        retry, _ = _limit_headers(refused)
        assert refused.headers["x-ratelimit-limit"] == "1" and retry >= 1
        assert "on this server" in refused.json()["error"]


async def test_the_api_rate_limit_leaves_a_generation_limits_headers_alone():
    async def limited_answer(request):
        return JSONResponse({"error": "Too many requests: you"}, status_code=429, headers={
            "Retry-After": "12", "X-RateLimit-Limit": "4", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "2030-01-01T00:00:00.000Z"})

    async def plain(request):
        return JSONResponse({})

    app = Starlette(routes=[Route("/api/v1/generations", limited_answer, methods=["POST"]),
                            Route("/api/v1/instance", plain)],
                    middleware=[Middleware(RateLimitMiddleware)])
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/api/v1/generations")
        other = await client.get("/api/v1/instance")
    assert answer.headers.get_list("x-ratelimit-limit") == ["4"]
    assert answer.headers["retry-after"] == "12"
    assert other.headers.get_list("x-ratelimit-limit") == ["300"]  # the usual limit


async def _mention_jobs_done(side: Side, count: int) -> None:
    async def done() -> bool:
        jobs = await side.rows(Job, Job.kind == "mention")
        return len(jobs) == count and all(job.state == "done" for job in jobs)

    await side.eventually(done, what=f"{count} mention jobs done", timeout=60)


async def test_a_flood_of_bad_mentions_gets_only_a_few_replies(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        generator = await side.account("painter", generator=True)
        flooder, other = await token_for(side, "flooder"), await token_for(side, "other")
        async with inst.client() as client:
            for _ in range(limits.REFUSALS_PER_ASKER + 3):  # no prompt: each is refused
                posted = await client.post("/api/v1/statuses", headers=bearer(flooder),
                                           data={"status": "@painter"})
                assert posted.status_code == 200, posted.text
            await _mention_jobs_done(side, limits.REFUSALS_PER_ASKER + 3)
            posted = await client.post("/api/v1/statuses", headers=bearer(other),
                                       data={"status": "@painter"})
        await _mention_jobs_done(side, limits.REFUSALS_PER_ASKER + 4)
        replies = await side.rows(Status, Status.account_id == generator.id)
        flooder_row = await side.one(Account, Account.username == "flooder")
        other_row = await side.one(Account, Account.username == "other")
        assert flooder_row is not None and other_row is not None
        to_flooder = [r for r in replies if "@flooder" in (r.text or "")]
        to_other = [r for r in replies if "@other" in (r.text or "")]
        assert len(to_flooder) == limits.REFUSALS_PER_ASKER  # the rest went unanswered
        assert len(to_other) == 1 and "prompt is empty" in (to_other[0].text or "")
        assert await side.rows(Job, Job.kind == "render") == []


async def test_refusal_replies_are_limited_per_server_and_in_all(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        async with side.writer() as session:
            allowed = [await may_refuse(session, Asker(1000 + n, "flood.example"))
                       for n in range(limits.REFUSALS_PER_DOMAIN + 2)]
            await session.commit()
        assert allowed == [True] * limits.REFUSALS_PER_DOMAIN + [False] * 2
        async with side.writer() as session:  # another server's askers are still answered
            assert await may_refuse(session, Asker(1, "calm.example"))
            left = limits.REFUSALS_IN_ALL - limits.REFUSALS_PER_DOMAIN - 1
            everyone = [await may_refuse(session, Asker(2000 + n, f"s{n}.example"))
                        for n in range(left + 1)]
            await session.commit()
        assert everyone == [True] * left + [False]
        async with side.writer() as session:  # a refusal an hour old no longer counts
            await session.exec(sa.update(Job).where(Job.kind == "refusal")  # type: ignore[call-overload]
                               .values(created_at=utcnow() - timedelta(hours=1, seconds=1)))
            await session.commit()
        async with side.writer() as session:
            assert await may_refuse(session, Asker(1000, "flood.example"))
            await session.commit()


async def test_a_mention_over_a_limit_is_told_when_to_ask_again(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url, run_workers=True) as inst:
        side = Side(inst)
        limited(inst, generation_account_hourly=1)
        generator = await side.account("painter", generator=True)
        token = await token_for(side, "asker")
        async with inst.client() as client:
            for text in (f"@painter {PROMPT}", "@painter a second one"):
                posted = await client.post("/api/v1/statuses", headers=bearer(token),
                                           data={"status": text})
                assert posted.status_code == 200, posted.text
        await _mention_jobs_done(side, 2)

        async def both() -> list[Status] | None:
            rows = await side.rows(Status, Status.account_id == generator.id)
            return rows if len(rows) == 2 else None

        answers = await side.eventually(both, what="both answers", timeout=60)
        refused = [a for a in answers if "cannot make" in (a.text or "")]
        assert len(refused) == 1
        assert "1 images in the last hour" in (refused[0].text or "")
        assert re.search(r"a place should free up in about (59|60) minutes", refused[0].text)
        assert len(await side.rows(Job, Job.kind == "render")) == 1


async def test_concurrent_requests_never_pass_a_limit(tmp_path, database_url):
    async with running_instance(tmp_path / "a", database_url) as inst:
        side = Side(inst)
        limited(inst, generation_account_pending=2)
        token = await token_for(side, "maker")

        async def imagine() -> int:
            async with inst.client() as client:
                answer = await client.post("/api/v1/statuses", headers=bearer(token),
                                           data={"status": f"/imagine {PROMPT}"})
            return answer.status_code

        answers = await asyncio.gather(
            *(generations_of(inst, token, prompt=PROMPT) for _ in range(4)),
            *(imagine() for _ in range(4)))
        codes = [a if isinstance(a, int) else a.status_code for a in answers]
        assert codes.count(429) == 6 and set(codes) <= {200, 202, 429}, codes
        assert len(await side.rows(Job, Job.kind == "render")) == 2
        kept = [s for s in await side.rows(Status) if s.deleted_at is None]
        assert len(kept) == codes.count(200)  # a refused `/imagine` left no post behind
