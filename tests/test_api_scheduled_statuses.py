"""Scheduled statuses through Mastodon.py on a running instance: kept (checked as a status
posted now is), listed, moved, cancelled, and posted once at their time by the job the
delivery workers run (called here directly, the time moved into the past)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError
from sqlmodel import select

from fediverse.api.scheduled_statuses import publish_scheduled
from models.scheduled_statuses import DAILY_LIMIT, KIND
from models.tables import Job, ScheduledStatus, Status
from tests.inbox_support import jobs_settled
from tests.instances import running_instance
from tests.media_samples import image_bytes
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)


async def _make_due(api: Api, scheduled_id: int) -> None:
    async with api.inst.state.writer() as session:
        row = await session.get(ScheduledStatus, scheduled_id)
        row.scheduled_at = datetime.now(UTC) - timedelta(seconds=5)
        session.add(row)
        await session.commit()


async def test_a_status_is_kept_and_posted_at_its_time(api: Api) -> None:  # noqa: F811
    alice, token = await api.user("alice")
    bob, _ = await api.user("bob")
    m = api.mastodon(token)
    carol, carol_token = await api.user("carol")
    parent = await api.call(api.mastodon(carol_token).status_post, "first")
    media = await api.call(m.media_post, image_bytes("PNG"), mime_type="image/png",
                           description="a square")
    at = datetime.now(UTC) + timedelta(minutes=30)
    kept = await api.call(m.status_post, "later, @bob", media_ids=[media.id],
                          spoiler_text="cw", visibility="unlisted", language="en",
                          in_reply_to_id=parent.id, scheduled_at=at)
    assert abs((kept.scheduled_at - at).total_seconds()) < 1
    assert kept.params.text == "later, @bob" and kept.params.visibility == "unlisted"
    assert kept.params.media_ids == [str(media.id)] and kept.params.spoiler_text == "cw"
    assert kept.params.in_reply_to_id == str(parent.id) and kept.params.language == "en"
    assert [int(a["id"]) for a in kept.media_attachments] == [int(media.id)]
    assert len(await api.rows(Status)) == 1  # only carol's: nothing posted yet
    [job] = await api.rows(Job, Job.kind == KIND)
    assert job.queue == "deliver" and abs((job.run_at.replace(tzinfo=UTC) - at).total_seconds()) < 1

    assert [int(s.id) for s in await api.call(m.scheduled_statuses)] == [int(kept.id)]
    assert int((await api.call(m.scheduled_status, kept.id)).id) == int(kept.id)
    # a job that runs before the time (it was moved) posts nothing
    await publish_scheduled(api.inst.state, int(kept.id))
    assert len(await api.rows(Status)) == 1

    await _make_due(api, int(kept.id))
    await publish_scheduled(api.inst.state, int(kept.id))
    [posted] = await api.rows(Status, Status.account_id == alice.id)
    assert (posted.visibility, posted.spoiler_text, posted.language) == ("unlisted", "cw", "en")
    assert posted.in_reply_to_id == int(parent.id)
    shown = await api.call(m.status, posted.id)
    assert [int(a.id) for a in shown.media_attachments] == [int(media.id)]
    assert sorted(int(a.id) for a in shown.mentions) == sorted([bob.id, carol.id])
    assert await api.rows(ScheduledStatus) == []
    assert await api.call(m.scheduled_statuses) == []

    # a retry after a crash (the row still there) finds the status posted: no second one
    async with api.inst.state.writer() as session:
        session.add(ScheduledStatus(id=int(kept.id), account_id=alice.id,
                                    scheduled_at=datetime.now(UTC) - timedelta(seconds=5),
                                    params=kept.params))
        await session.commit()
    await publish_scheduled(api.inst.state, int(kept.id))
    assert len(await api.rows(Status, Status.account_id == alice.id)) == 1
    assert await api.rows(ScheduledStatus) == []


async def test_moving_and_cancelling(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    m = api.mastodon(token)
    kept = await api.call(m.status_post, "later", scheduled_at=datetime.now(UTC) + timedelta(hours=1))
    later = datetime.now(UTC) + timedelta(days=2)
    moved = await api.call(m.scheduled_status_update, kept.id, later)
    assert abs((moved.scheduled_at - later).total_seconds()) < 1
    assert len(await api.rows(Job, Job.kind == KIND)) == 2  # one for each time
    with pytest.raises(MastodonAPIError, match="must be in the future"):
        await api.call(m.scheduled_status_update, kept.id, datetime.now(UTC) + timedelta(minutes=1))
    assert abs(((await api.call(m.scheduled_status, kept.id)).scheduled_at - later
                ).total_seconds()) < 1
    _, bob_token = await api.user("bob")
    with pytest.raises(MastodonNotFoundError):  # another's: as if it were not there
        await api.call(api.mastodon(bob_token).scheduled_status_delete, kept.id)
    await api.call(m.scheduled_status_delete, kept.id)
    with pytest.raises(MastodonNotFoundError):
        await api.call(m.scheduled_status, kept.id)
    await publish_scheduled(api.inst.state, int(kept.id))  # its job, run: nothing to post
    assert await api.rows(Status) == []


async def test_refusals_store_nothing(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    later = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    for body in ({"status": "x", "scheduled_at": "soon"},
                 {"status": "", "scheduled_at": later},
                 {"status": "x", "scheduled_at": later, "media_ids": ["999"]},
                 {"status": "x", "scheduled_at": later, "visibility": "everyone"},
                 {"status": "x", "scheduled_at": (datetime.now(UTC) + timedelta(minutes=4)
                                                  ).isoformat()}):
        answer = await api.http("POST", "/api/v1/statuses", token, json=body)
        assert answer.status_code == 422 and answer.json()["error"], body
    reply = {"status": "x", "scheduled_at": later, "in_reply_to_id": "12345"}
    assert (await api.http("POST", "/api/v1/statuses", token, json=reply)).status_code == 404
    assert await api.rows(ScheduledStatus) == [] and await api.rows(Status) == []
    # as many as Mastodon lets one day hold, then no more that day
    day = datetime.now(UTC).replace(hour=12, minute=0, second=0) + timedelta(days=3)
    for i in range(DAILY_LIMIT):
        answer = await api.http("POST", "/api/v1/statuses", token,
                                json={"status": f"n{i}", "scheduled_at": (day + timedelta(
                                    minutes=i)).isoformat()})
        assert answer.status_code == 200, answer.text
    over = await api.http("POST", "/api/v1/statuses", token,
                          json={"status": "one more", "scheduled_at": day.isoformat()})
    assert over.status_code == 422 and "limit" in over.json()["error"]
    assert len(await api.rows(ScheduledStatus)) == DAILY_LIMIT
    page = await api.http("GET", "/api/v1/scheduled_statuses?limit=5", token)
    assert len(page.json()) == 5 and 'rel="next"' in page.headers["link"]
    _, reader = await api.user("reader", scopes="read")
    assert (await api.http("POST", "/api/v1/statuses", reader,
                           json={"status": "x", "scheduled_at": later})).status_code == 403
    _, writer = await api.user("writer", scopes="write")
    assert (await api.http("GET", "/api/v1/scheduled_statuses", writer)).status_code == 403


async def test_the_delivery_workers_post_it(tmp_path, database_url) -> None:
    """Through the real queue: the job waits for its time (moved here into the past, with
    the row's), then the delivery workers post the status."""
    async with running_instance(tmp_path / "w", database_url, run_workers=True) as inst:
        api = Api(inst)
        alice, token = await api.user("alice")
        m = api.mastodon(token)
        kept = await api.call(m.status_post, "from the queue",
                              scheduled_at=datetime.now(UTC) + timedelta(hours=1))
        await asyncio.sleep(0.5)  # the workers run meanwhile: nothing is due yet
        assert await api.rows(Status) == []
        await _make_due(api, int(kept.id))
        async with inst.state.writer() as session:
            [job] = (await session.exec(select(Job).where(Job.kind == KIND))).all()
            job.run_at = datetime.now(UTC)
            session.add(job)
            await session.commit()
        inst.state.wake.set()
        deadline = time.monotonic() + 10
        while not await api.rows(Status, Status.account_id == alice.id):
            assert time.monotonic() < deadline, "the scheduled status was not posted"
            await asyncio.sleep(0.05)
        [posted] = await api.rows(Status, Status.account_id == alice.id)
        assert "from the queue" in posted.content
        await jobs_settled(api)
        assert await api.rows(ScheduledStatus) == []
        [job] = await api.rows(Job, Job.kind == KIND)
        assert job.state == "done"
