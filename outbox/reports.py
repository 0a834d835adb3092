"""Forwarding a report made here to the reported account's server (and to the servers of
those its reported posts reply to or mention) as a `Flag` from the instance actor, so the
reporter stays anonymous, as Mastodon does."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import get_or_create_instance_actor
from models.tables import Account, Mention, Report, Status
from outbox import activities
from outbox.actors import actor_id
from outbox.audience import inbox_of
from outbox.context import Context
from outbox.deliver import publish


async def _involved(session: AsyncSession, statuses: Sequence[Status]) -> list[Account]:
    """Remote accounts the reported posts reply to (their parents' authors, as stored here)
    or mention."""
    ids = {s.in_reply_to_account_id for s in statuses if s.in_reply_to_account_id}
    parents = [s.in_reply_to_uri for s in statuses if s.in_reply_to_uri]
    if parents:
        authors = select(Status.account_id).where(col(Status.uri).in_(parents))
        ids |= set((await session.exec(authors)).all())
    if statuses:
        mentioned = select(Mention.account_id).where(
            col(Mention.status_id).in_([s.id for s in statuses]))
        ids |= set((await session.exec(mentioned)).all())
    if not ids:
        return []
    query = select(Account).where(col(Account.id).in_(sorted(ids)), Account.domain != "")
    return list((await session.exec(query)).all())


async def forward_report(ctx: Context, session: AsyncSession, report: Report, target: Account,
                         statuses: Sequence[Status], domains: Sequence[str] = ()) -> bool:
    """Plan the `Flag` of `report` to the target's server and to those of `domains` that the
    reported posts involve (the caller commits, then wakes the workers). False when there
    is nowhere to send it (a local target)."""
    if target.local:
        return False
    wanted = {d.strip().lower() for d in domains} - {target.domain.lower()}
    inboxes = {inbox_of(a) for a in await _involved(session, statuses)
               if a.domain.lower() in wanted}
    sender = await get_or_create_instance_actor(session)
    objects = [actor_id(target, ctx.urls)] + [s.uri for s in statuses if s.uri]
    activity = activities.flag(f"{ctx.urls.instance_actor}#reports/{report.id}",
                               ctx.urls.instance_actor, objects, report.comment)
    await publish(ctx, session, activity, sender=sender, followers=False, recipients=[target],
                  inboxes=[i for i in inboxes if i])
    return True
