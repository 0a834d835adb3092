"""Polls from other servers: votes in our polls, and the new counts of their polls."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.vocab import first, id_of
from inbox.handlers.common import authored
from inbox.resolve import get_status, is_local
from models import polls
from models.tables import Account, Status
from outbox import polls as poll_jobs
from outbox.context import Context


async def on_vote(ctx: Context, session: AsyncSession, obj: dict[str, Any],
                  actor: Account) -> None:
    """A vote (`inbox.handlers.posts.is_vote`) in one of our open polls: counted once per
    actor (per option in a multiple-choice poll), never stored as a reply."""
    question = id_of(first(obj.get("inReplyTo")))
    uri = id_of(obj.get("id"))
    if not question or not uri or not is_local(ctx, question) or not authored(obj, actor):
        return
    status = await get_status(session, question)
    if (status is None or not status.local or status.deleted_at is not None or not status.poll
            or polls.expired(status.poll) or status.account_id == actor.id):
        return
    titles = polls.titles(status.poll)
    name = str(obj.get("name") or "").strip()
    if name not in titles or await polls.has_vote_uri(session, uri):
        return
    choice = titles.index(name)
    await polls.lock(session, status.id)
    earlier = await polls.votes_of(session, status.id, actor.id)
    if choice in earlier or (earlier and not status.poll.get("multiple")):
        return
    note: str = uri
    await polls.add_votes(session, status.id, actor.id, [choice], lambda _: note)
    await polls.recount(session, status)
    await poll_jobs.schedule_update(session, status.id)


def refresh_counts(status: Status, poll: dict[str, Any] | None) -> bool:
    """A remote poll's new counts, sent without an edit (same options): whether applied."""
    if (status.local or not poll or not status.poll
            or polls.titles(poll) != polls.titles(status.poll)):
        return False
    status.poll = poll
    return True
