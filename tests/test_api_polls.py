"""Polls on a real running instance, driven with Mastodon.py: a status with a poll, votes
counted at once and shown with the voter's own choices, the refusals Mastodon makes (422
with nothing stored, 404 for a status not visible), edits that start the votes afresh, the
poll federated as a Question, and the durable job that ends it with notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mastodon import MastodonAPIError, MastodonNotFoundError
from sqlmodel import select

from fediverse.api.entities import iso
from models.queue import Worker
from models.tables import Account, Job, Notification, PollVote, Status
from outbox import polls as poll_jobs
from outbox.deliver import QUEUE, make_delivery_handlers
from outbox.rendering import render_note
from tests.media_samples import image_bytes
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

DAY = 86400


async def _poll_status(api: Api, token: str, options: list[str] | None = None,
                       **poll: object):  # type: ignore[no-untyped-def]
    client = api.mastodon(token)
    made = client.make_poll(options or ["tea", "coffee", "water"],
                            expires_in=poll.pop("expires_in", DAY), **poll)
    return await api.call(client.status_post, "what do you drink?", poll=made)


async def test_create_vote_and_read_a_poll(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, carol_token = await api.user("carol")
    before = datetime.now(UTC)
    status = await _poll_status(api, alice_token)

    poll = status.poll
    assert poll.id == str(status.id) and poll.multiple is False and poll.expired is False
    assert [(o.title, o.votes_count) for o in poll.options] == [
        ("tea", 0), ("coffee", 0), ("water", 0)]
    assert poll.votes_count == 0 and poll.voters_count == 0 and poll.emojis == []
    assert poll.voted is True and poll.own_votes == []  # the author's own poll
    ends = poll.expires_at
    assert before + timedelta(seconds=DAY - 5) < ends < datetime.now(UTC) + timedelta(seconds=DAY)

    bob_client = api.mastodon(bob_token)
    seen = await api.call(bob_client.poll, poll.id)
    assert seen.voted is False and seen.own_votes == []
    voted = await api.call(bob_client.poll_vote, poll.id, 1)
    assert voted.voted is True and voted.own_votes == [1]
    assert [o.votes_count for o in voted.options] == [0, 1, 0]
    assert voted.votes_count == 1 and voted.voters_count == 1
    await api.call(api.mastodon(carol_token).poll_vote, poll.id, [1])

    again = await api.call(bob_client.status, status.id)  # the status shows the poll too
    assert again.poll.own_votes == [1] and again.poll.voters_count == 2
    assert [o.votes_count for o in again.poll.options] == [0, 2, 0]
    home = await api.call(api.mastodon(carol_token).account_statuses, alice.id)
    assert home[0].poll.own_votes == [1] and home[0].poll.voted is True
    anonymous = await api.http("GET", f"/api/v1/polls/{poll.id}")
    assert anonymous.status_code == 200 and anonymous.json()["votes_count"] == 2
    assert "voted" not in anonymous.json() and "own_votes" not in anonymous.json()
    assert anonymous.json()["expires_at"] == iso(ends)
    votes = await api.rows(PollVote, PollVote.status_id == int(status.id))
    assert sorted((v.account_id, v.choice) for v in votes) == sorted(
        [(bob.id, 1), (carol.id, 1)])

    # the poll federates as a Question with its counts
    ctx = api.inst.state.federation
    async with api.inst.state.sessions() as session:
        row = await session.get(Status, int(status.id))
        author = await session.get(Account, alice.id)
        note = await render_note(session, row, author, ctx.urls, ctx.domain)
    assert note["type"] == "Question" and "anyOf" not in note and note["votersCount"] == 2
    assert [(o["name"], o["replies"]["totalItems"]) for o in note["oneOf"]] == [
        ("tea", 0), ("coffee", 2), ("water", 0)]
    assert note["endTime"] == ends.strftime("%Y-%m-%dT%H:%M:%SZ") and "closed" not in note
    # a debounced Update of the Question waits in the delivery queue
    updates = await api.rows(Job, Job.kind == poll_jobs.POLL_UPDATE)
    assert updates and all(j.payload == {"status": int(status.id)} for j in updates)


async def test_multiple_choice_and_hidden_totals(api: Api) -> None:  # noqa: F811
    _, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    status = await _poll_status(api, alice_token, ["a", "b", "c", "d"], multiple=True,
                                hide_totals=True)
    assert status.poll.multiple is True
    voted = await api.call(api.mastodon(bob_token).poll_vote, status.poll.id, [0, 2])
    assert voted.own_votes == [0, 2] and voted.voters_count == 1
    assert [o.votes_count for o in voted.options] == [None] * 4  # hidden while open
    assert voted.votes_count == 2
    own = await api.call(api.mastodon(alice_token).poll, status.poll.id)
    assert [o.votes_count for o in own.options] == [1, 0, 1, 0]  # its author sees them


async def test_bad_polls_are_refused_and_nothing_stored(api: Api) -> None:  # noqa: F811
    _, token = await api.user("alice")
    media = await api.http("POST", "/api/v2/media", token,
                           files={"file": ("a.png", image_bytes("png"), "image/png")})
    assert media.status_code in (200, 202)
    cases = [
        {"poll[options][]": ["only one"], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", "b", "c", "d", "e"], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", "x" * 51], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", ""], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", "a"], "poll[expires_in]": "600"},
        {"poll[options][]": ["a", "b"], "poll[expires_in]": "299"},
        {"poll[options][]": ["a", "b"], "poll[expires_in]": str(40 * DAY)},
        {"poll[options][]": ["a", "b"]},
        {"poll[options][]": ["a", "b"], "poll[expires_in]": "soon"},
        {"poll[options][]": ["a", "b"], "poll[expires_in]": "600",
         "media_ids[]": [media.json()["id"]]},
    ]
    for form in cases:
        answer = await api.http("POST", "/api/v1/statuses", token,
                                data={"status": "a poll", **form})
        assert answer.status_code == 422, (form, answer.text)
        assert set(answer.json()) == {"error"}
    assert await api.rows(Status) == [] and await api.rows(Job, Job.kind == poll_jobs.POLL_END) == []
    instance = (await api.http("GET", "/api/v2/instance")).json()
    v1 = (await api.http("GET", "/api/v1/instance")).json()
    limits = {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300,
              "max_expiration": 2629746}
    assert instance["configuration"]["polls"] == limits == v1["configuration"]["polls"]
    answer = await api.http("POST", "/api/v1/statuses", token, json={
        "status": "json poll", "poll": {"options": ["x", "y"], "expires_in": 300}})
    assert answer.status_code == 200 and len(answer.json()["poll"]["options"]) == 2


async def test_vote_refusals(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    _, carol_token = await api.user("carol")
    bob = api.mastodon(bob_token)
    status = await _poll_status(api, alice_token)
    pid = status.poll.id

    for choices in ([3], [0, 1], []):
        answer = await api.http("POST", f"/api/v1/polls/{pid}/votes", bob_token,
                                data={"choices[]": choices})
        assert answer.status_code == 422, (choices, answer.text)
    with pytest.raises(MastodonAPIError) as own:
        await api.call(api.mastodon(alice_token).poll_vote, pid, 0)
    assert own.value.args[1] == 422
    assert await api.rows(PollVote) == []

    await api.call(bob.poll_vote, pid, 0)
    with pytest.raises(MastodonAPIError) as twice:
        await api.call(bob.poll_vote, pid, 1)
    assert twice.value.args[1] == 422
    assert len(await api.rows(PollVote)) == 1

    with pytest.raises(MastodonNotFoundError):
        await api.call(bob.poll, str(int(status.id) + 1))
    not_poll = await api.call(bob.status_post, "no poll here")
    with pytest.raises(MastodonNotFoundError):
        await api.call(bob.poll, not_poll.id)
    hidden = await api.call(api.mastodon(alice_token).status_post, "private poll",
                            visibility="direct",
                            poll=bob.make_poll(["x", "y"], expires_in=600))
    with pytest.raises(MastodonNotFoundError):
        await api.call(bob.poll, hidden.poll.id)
    with pytest.raises(MastodonNotFoundError):
        await api.call(bob.poll_vote, hidden.poll.id, 0)
    assert (await api.http("GET", f"/api/v1/polls/{hidden.poll.id}")).status_code == 404

    await _expire(api, int(pid))
    with pytest.raises(MastodonAPIError) as ended:
        await api.call(api.mastodon(carol_token).poll_vote, pid, 0)
    assert ended.value.args[1] == 422
    assert (await api.call(bob.poll, pid)).expired is True
    assert len(await api.rows(PollVote)) == 1
    assert alice.id  # the author


async def _expire(api: Api, status_id: int) -> None:
    """Move the poll's end (and its end job) to the past, as if its time had passed."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with api.inst.state.writer() as session:
        row = await session.get(Status, status_id)
        assert row is not None and row.poll
        row.poll = {**row.poll, "expires_at": past.isoformat()}
        session.add(row)
        for job in (await session.exec(select(Job).where(Job.kind == poll_jobs.POLL_END))).all():
            if job.payload["status"] == status_id:
                job.run_at = past
                session.add(job)
        await session.commit()


async def test_edit_resets_votes_when_options_change(api: Api) -> None:  # noqa: F811
    _, alice_token = await api.user("alice")
    _, bob_token = await api.user("bob")
    alice = api.mastodon(alice_token)
    status = await _poll_status(api, alice_token, ["red", "blue"])
    await api.call(api.mastodon(bob_token).poll_vote, status.poll.id, 0)

    same = await api.call(alice.status_update, status.id, "which colour?",
                          poll=alice.make_poll(["red", "blue"], expires_in=2 * DAY))
    assert [o.votes_count for o in same.poll.options] == [1, 0]  # same options: kept
    changed = await api.call(alice.status_update, status.id, "which colour?",
                             poll=alice.make_poll(["red", "green"], expires_in=3 * DAY))
    assert [(o.title, o.votes_count) for o in changed.poll.options] == [("red", 0), ("green", 0)]
    assert changed.poll.voters_count == 0 and await api.rows(PollVote) == []
    assert (await api.call(api.mastodon(bob_token).poll, status.poll.id)).voted is False
    # each end has its job; the poll left out of an edit goes
    ends = await api.rows(Job, Job.kind == poll_jobs.POLL_END)
    assert len(ends) == 3
    gone = await api.call(alice.status_update, status.id, "no poll now")
    assert gone.poll is None


async def test_a_poll_ending_notifies_its_voters_and_author(api: Api) -> None:  # noqa: F811
    alice, alice_token = await api.user("alice")
    bob, bob_token = await api.user("bob")
    carol, _ = await api.user("carol")
    status = await _poll_status(api, alice_token)
    await api.call(api.mastodon(bob_token).poll_vote, status.poll.id, 2)
    [job] = await api.rows(Job, Job.kind == poll_jobs.POLL_END)
    assert job.payload == {"status": int(status.id)} and job.state == "queued"
    assert abs(job.run_at - status.poll.expires_at) < timedelta(seconds=1)

    await _expire(api, int(status.id))
    worker = Worker(api.inst.state.sessions, make_delivery_handlers(api.inst.state.federation),
                    [QUEUE])
    assert await worker.run_once() >= 1  # the job, due now, as a worker runs it
    assert (await api.get(Job, job.id)).state == "done"
    await poll_jobs.end_poll(api.inst.state.federation, int(status.id))  # a second run: no more
    told = await api.rows(Notification, Notification.type == "poll")
    assert sorted(n.account_id for n in told) == sorted([alice.id, bob.id])
    assert all(n.status_id == int(status.id) and n.from_account_id == alice.id for n in told)
    [seen] = await api.call(api.mastodon(bob_token).notifications, types=["poll"])
    assert seen.type == "poll" and seen.status.id == status.id and seen.status.poll.expired
    assert seen.status.poll.own_votes == [2]
    [own] = await api.call(api.mastodon(alice_token).notifications, types=["poll"])
    assert int(own.account.id) == alice.id and own.status.poll.voted is True
    assert carol.id not in {n.account_id for n in told}
