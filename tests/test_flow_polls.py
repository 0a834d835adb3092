"""Polls between two real instances: a poll posted on A arrives on B as a Question with its
options; a B user votes through B's client API, the vote (a Create of a named Note) is
counted on A once, never kept as a reply; A's Update of the Question brings B the new counts;
when the poll ends, voters on both sides and the author are notified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mastodon import Mastodon

from inbox.apply import apply_payload
from models.db import session_factory
from models.tables import Account, Job, Notification, OutboxActivity, PollVote, Status
from models.tokens import create_token
from outbox import polls as poll_jobs
from tests.clients_support import call
from tests.flows_support import Side, following, pair  # noqa: F401
from tests.test_api_accounts_support import MASTODON_VERSION


def _counts(status: Status | None) -> list[int] | None:
    if status is None or not status.poll:
        return None
    return [o["votes_count"] for o in status.poll["options"]]


async def _expire(side: Side, status_id: int) -> None:
    """Move the poll's end (and its end jobs) to the past, as if its time had passed."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with side.writer() as session:
        row = await session.get(Status, status_id)
        assert row is not None and row.poll
        row.poll = {**row.poll, "expires_at": past.isoformat()}
        session.add(row)
        for job in await side.rows(Job, Job.kind == poll_jobs.POLL_END):
            if job.payload["status"] == status_id:
                found = await session.get(Job, job.id)
                assert found is not None
                found.run_at = past
                session.add(found)
        await session.commit()
    side.inst.state.wake.set()


async def test_a_poll_voted_across_instances(pair) -> None:  # noqa: F811
    a, b = pair
    alice, carol, bob = await a.account("alice"), await a.account("carol"), await b.account("bob")
    alice_on_b = await following(b, bob, a, alice)
    alice_api, carol_api, bob_api = (await a.mastodon(alice), await a.mastodon(carol),
                                     await b.mastodon(bob))
    posted = await call(alice_api.status_post, "cats or dogs?",
                        poll=alice_api.make_poll(["cats", "dogs"], expires_in=3600))
    sid = int(posted.id)
    uri = posted.uri

    copy = await b.eventually(lambda: b.status(uri), what="the poll")
    assert copy.account_id == alice_on_b.id and copy.poll is not None
    assert [o["title"] for o in copy.poll["options"]] == ["cats", "dogs"]
    assert copy.poll["multiple"] is False and _counts(copy) == [0, 0]
    seen = await call(bob_api.poll, copy.id)
    assert seen.voted is False and [o.title for o in seen.options] == ["cats", "dogs"]
    assert abs(seen.expires_at - posted.poll.expires_at) < timedelta(seconds=1)

    voted = await call(bob_api.poll_vote, copy.id, 1)
    assert voted.own_votes == [1] and [o.votes_count for o in voted.options] == [0, 1]
    [mine] = await b.rows(PollVote, PollVote.status_id == copy.id)
    assert mine.account_id == bob.id and mine.uri.startswith(b.actor("bob") + "#votes/")

    async def counted_on_a() -> list[int] | None:
        found = _counts(await a.status(uri))
        return found if found == [0, 1] else None

    await a.eventually(counted_on_a, what="bob's vote counted")
    bob_on_a = await a.by_uri(b.actor("bob"))
    [vote] = await a.rows(PollVote, PollVote.status_id == sid)
    assert vote.account_id == bob_on_a.id and vote.choice == 1 and vote.uri == mine.uri
    assert await a.rows(Status, Status.in_reply_to_id == sid) == []  # not a reply
    assert (await a.status(uri)).poll["voters_count"] == 1

    # the same vote again, and another choice by the same actor: counted once
    sent = await b.one(OutboxActivity, OutboxActivity.uri == mine.uri + "/activity")
    assert sent is not None and sent.body["object"]["name"] == "dogs"
    assert sent.body["object"]["to"] == [a.actor("alice")] and not sent.body["object"].get("content")
    other: dict[str, Any] = {**sent.body, "id": mine.uri + "x/activity",
                             "object": {**sent.body["object"], "id": mine.uri + "x",
                                        "name": "cats"}}
    for activity in (sent.body, other):
        await apply_payload(a.ctx, {"activity": activity, "signer": b.actor("bob")})
    assert _counts(await a.status(uri)) == [0, 1]
    assert len(await a.rows(PollVote, PollVote.status_id == sid)) == 1

    # a vote on A changes the counts; the Update of the Question brings them to B
    await call(carol_api.poll_vote, posted.poll.id, 1)

    async def updated_on_b() -> bool:
        found = await b.status(uri)
        return _counts(found) == [0, 2] and found.poll["voters_count"] == 2

    await b.eventually(updated_on_b, what="the new counts", timeout=15)
    refreshed = await call(bob_api.poll, copy.id)
    assert [o.votes_count for o in refreshed.options] == [0, 2] and refreshed.own_votes == [1]
    assert refreshed.voters_count == 2

    # the end: A's author and voter, and B's voter, are told; votes after it are ignored
    await _expire(a, sid)
    await _expire(b, copy.id)

    async def told(side: Side, account: Account) -> Notification | None:
        return await side.one(Notification, Notification.type == "poll",
                              Notification.account_id == account.id)

    assert (await a.eventually(lambda: told(a, alice), what="alice's poll notice")).status_id == sid
    assert await a.eventually(lambda: told(a, carol), what="carol's poll notice")
    on_b = await b.eventually(lambda: told(b, bob), what="bob's poll notice")
    assert on_b.status_id == copy.id and on_b.from_account_id == alice_on_b.id
    [notice] = await call(bob_api.notifications, types=["poll"])
    assert notice.status.poll.expired is True and notice.status.poll.own_votes == [1]
    await b.account("dave")
    await a.resolve(b.handle("dave"))
    dave = b.actor("dave")
    late = {**sent.body, "id": dave + "#votes/1/activity", "actor": dave,
            "object": {**sent.body["object"], "id": dave + "#votes/1", "attributedTo": dave}}
    await apply_payload(a.ctx, {"activity": late, "signer": dave})
    assert len(await a.rows(PollVote, PollVote.status_id == sid)) == 2  # bob's and carol's


async def test_an_edit_with_new_options_voids_votes_on_both_sides(pair) -> None:  # noqa: F811
    a, b = pair
    alice, bob = await a.account("alice"), await b.account("bob")
    await following(b, bob, a, alice)
    alice_api, bob_api = await a.mastodon(alice), await b.mastodon(bob)
    posted = await call(alice_api.status_post, "tea or coffee?",
                        poll=alice_api.make_poll(["tea", "coffee"], expires_in=3600))
    copy = await b.eventually(lambda: b.status(posted.uri), what="the poll")
    await call(bob_api.poll_vote, copy.id, 0)
    await a.eventually(lambda: a.one(PollVote, PollVote.status_id == int(posted.id)),
                       what="bob's vote on A")

    await call(alice_api.status_update, posted.id, "tea or cocoa?",
               poll=alice_api.make_poll(["tea", "cocoa"], expires_in=3600))

    async def edited_on_b() -> bool:
        found = await b.status(posted.uri)
        return found is not None and [o["title"] for o in found.poll["options"]] == [
            "tea", "cocoa"]

    await b.eventually(edited_on_b, what="the edited poll")
    assert await b.rows(PollVote) == [] and await a.rows(PollVote) == []
    seen = await call(bob_api.poll, copy.id)
    assert seen.voted is False and seen.own_votes == []
    assert [o.votes_count for o in seen.options] == [0, 0]
    again = await call(bob_api.poll_vote, copy.id, 1)  # a vote in the new poll
    assert again.own_votes == [1]
