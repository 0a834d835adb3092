"""Polls federated: our accounts' votes, our polls' new counts, and the end of a poll.

A vote in our poll is counted at once; the `Update` of the Question with the new counts goes
out a moment later, one for all the votes of a short window (`POLL_UPDATE`). A vote in a
remote poll is a `Create` of a `Note` named after the option, to the poll's author only.
When a poll ends (`POLL_END`, a job due at its end) our voters and our author are notified.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import polls
from models.queue import enqueue, write_session
from models.tables import Account, Notification, PollVote, Status
from models.types import utcnow
from outbox import activities
from outbox.actors import actor_id
from outbox.audience import booster_follower_inboxes, delivered_inboxes, reached_accounts
from outbox.context import Context
from outbox.deliver import QUEUE, publish
from outbox.notes import iso
from outbox.relations import done
from outbox.rendering import mentioned_accounts, render_note

POLL_END = "poll-end"  # jobs of the delivery queue
POLL_UPDATE = "poll-update"
UPDATE_WINDOW = 2  # seconds of votes one `Update` of the Question carries


def end_key(status_id: int, ends: datetime) -> str:
    """The end job's key: a poll edited to end at another time gets a job of its own."""
    return f"poll-end:{status_id}:{int(ends.timestamp())}"


async def schedule_end(session: AsyncSession, status: Status) -> None:
    ends = polls.expires_at(status.poll or {})
    if ends is not None:
        await enqueue(session, QUEUE, POLL_END, {"status": status.id},
                      dedupe_key=end_key(status.id, ends), run_at=ends)


async def schedule_update(session: AsyncSession, status_id: int) -> None:
    window = int(utcnow().timestamp()) // UPDATE_WINDOW + 1
    await enqueue(session, QUEUE, POLL_UPDATE, {"status": status_id},
                  dedupe_key=f"poll-update:{status_id}:{window}",
                  run_at=datetime.fromtimestamp(window * UPDATE_WINDOW, UTC))


def vote_note(uri: str, voter: str, author: str, question: str, title: str) -> dict[str, Any]:
    """A vote as Mastodon sends one: a Note with the option's `name` and no content."""
    return {"id": uri, "type": "Note", "name": title, "attributedTo": voter, "to": [author],
            "cc": [], "inReplyTo": question, "published": iso(utcnow())}


async def vote(ctx: Context, session: AsyncSession, account: Account, status: Status,
               choices: list[int]) -> None:
    """`account`'s choices (valid: the caller checked) in `status`'s poll; commits."""
    if status.local:
        await polls.add_votes(session, status.id, account.id, choices)
        await polls.recount(session, status)
        await schedule_update(session, status.id)
        await done(ctx, session)
        return
    author = await session.get(Account, status.account_id)
    assert author is not None  # the foreign key holds it
    me = actor_id(account, ctx.urls)
    rows = await polls.add_votes(session, status.id, account.id, choices,
                                 lambda row_id: f"{me}#votes/{row_id}")
    polls.count_own(status, choices)
    session.add(status)
    titles = polls.titles(status.poll or {})
    for row in rows:
        note = vote_note(str(row.uri), me, actor_id(author, ctx.urls), status.uri,
                         titles[row.choice])
        await publish(ctx, session, activities.create(note), sender=account, followers=False,
                      recipients=[author])
    await schedule_end(session, status)  # to tell our voter when it ends
    await done(ctx, session)


async def _remote_voters(session: AsyncSession, status_id: int) -> list[Account]:
    query = (select(Account).join(PollVote, PollVote.account_id == Account.id)  # type: ignore[arg-type]
             .where(PollVote.status_id == status_id, Account.domain != "").distinct())
    return list((await session.exec(query)).all())


async def publish_counts(ctx: Context, session: AsyncSession, status: Status) -> None:
    """An `Update` of our Question with its counts, to all who have it and its voters."""
    author = await session.get(Account, status.account_id)
    assert author is not None
    note = await render_note(session, status, author, ctx.urls, ctx.domain)
    activity = activities.update_note(note, utcnow())
    inboxes = await delivered_inboxes(session, activities.create_id(status.uri))
    inboxes |= await booster_follower_inboxes(session, status.id)
    recipients = [*await mentioned_accounts(session, status.id),
                  *await reached_accounts(session, status),
                  *await _remote_voters(session, status.id)]
    await publish(ctx, session, activity, sender=author, followers=status.visibility != "direct",
                  recipients=recipients, inboxes=inboxes)


async def _live_poll(session: AsyncSession, status_id: int) -> Status | None:
    status = await session.get(Status, status_id)
    if status is None or status.deleted_at is not None or not status.poll:
        return None
    return status


async def send_update(ctx: Context, status_id: int) -> None:
    """The `POLL_UPDATE` job: our poll's counts as they are now."""
    async with write_session(ctx.sessions) as session:
        status = await _live_poll(session, status_id)
        if status is None or not status.local:
            return
        await publish_counts(ctx, session, status)
        await done(ctx, session)


async def end_poll(ctx: Context, status_id: int) -> None:
    """The `POLL_END` job: a `poll` notification to our voters and our author (once each);
    our poll's final counts go out, closed."""
    async with write_session(ctx.sessions) as session:
        status = await _live_poll(session, status_id)
        if status is None:
            return
        if not polls.expired(status.poll or {}):  # edited to end later: a job for then
            await schedule_end(session, status)
            await session.commit()
            return
        told = set((await session.exec(select(Notification.account_id).where(
            Notification.status_id == status.id, Notification.type == "poll"))).all())
        wanted = await polls.local_voters(session, status.id)
        if status.local:
            wanted.append(status.account_id)
        for account_id in dict.fromkeys(wanted):
            if account_id not in told:
                session.add(Notification(account_id=account_id, type="poll", status_id=status.id,
                                         from_account_id=status.account_id))
        if status.local:
            await publish_counts(ctx, session, status)
        await done(ctx, session)


def handlers(ctx: Context) -> dict[str, Any]:
    """The delivery queue's poll jobs (`outbox.deliver.Deliverer.handlers`)."""
    async def update(payload: dict[str, Any], job: Any = None) -> None:
        await send_update(ctx, int(payload["status"]))

    async def end(payload: dict[str, Any], job: Any = None) -> None:
        await end_poll(ctx, int(payload["status"]))

    return {POLL_UPDATE: update, POLL_END: end}
