"""Like and Flag, and the undoing of likes."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.vocab import id_of, ids_of, object_id, type_of
from inbox.handlers.common import by_uri
from inbox.resolve import get_status, is_local, local_account
from inbox.sanitize import plain_text
from models.conversation_mutes import muting_accounts, status_thread
from models.reports import add_report
from models.tables import Account, Favourite, Notification, Report, Status
from outbox.context import Context

MAX_COMMENT = 5000


async def _favourite_of(session: AsyncSession, account_id: int, status_id: int) -> Favourite | None:
    query = select(Favourite).where(Favourite.account_id == account_id,
                                    Favourite.status_id == status_id)
    return (await session.exec(query)).first()


async def on_like(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                  actor: Account) -> None:
    """A like of a local post: a favourite and a notification for its author."""
    status = await get_status(session, object_id(activity) or "")
    if status is None or not status.local or status.deleted_at is not None:
        return
    if await _favourite_of(session, actor.id, status.id) is not None:
        return
    session.add(Favourite(account_id=actor.id, status_id=status.id, uri=activity.get("id")))
    if not await muting_accounts(session, [status.account_id], status_thread(status)):
        session.add(Notification(account_id=status.account_id, from_account_id=actor.id,
                                 type="favourite", status_id=status.id))


async def undo_like(ctx: Context, session: AsyncSession, inner: Any, actor: Account) -> bool:
    favourite = await by_uri(session, Favourite, id_of(inner), actor.id)
    if favourite is None and isinstance(inner, dict) and "Like" in type_of(inner):
        status = await get_status(session, object_id(inner) or "")
        favourite = await _favourite_of(session, actor.id, status.id) if status else None
    if favourite is None:
        return False
    await session.delete(favourite)
    return True


async def _reported(ctx: Context, session: AsyncSession,
                    uris: list[str]) -> tuple[list[Account], list[Status]]:
    accounts: list[Account] = []
    statuses: list[Status] = []
    for uri in uris:
        if is_local(ctx, uri):
            account = await local_account(ctx, session, uri)
        else:  # another server's, as we have it
            account = (await session.exec(select(Account).where(Account.uri == uri))).first()
        status = None if account else await get_status(session, uri)
        if account is not None:
            accounts.append(account)
        elif status is not None:
            statuses.append(status)
    return accounts, statuses


async def _ours_to_judge(session: AsyncSession, target_id: int, statuses: list[Status]) -> bool:
    """Whether a report about `target_id` is for our moderators: the account is ours, or
    (as Mastodon) some reported post of theirs replies to one of ours."""
    target = await session.get(Account, target_id)
    if target is None or target.local:
        return target is not None
    replied = {s.in_reply_to_account_id for s in statuses
               if s.account_id == target_id and s.in_reply_to_account_id}
    if not replied:
        return False
    ours = select(Account.id).where(col(Account.id).in_(sorted(replied)), Account.domain == "")
    return (await session.exec(ours)).first() is not None


async def on_flag(ctx: Context, session: AsyncSession, activity: dict[str, Any],
                  actor: Account) -> None:
    """A report about a local account (and some of its posts), kept for the moderators."""
    uri = activity.get("id")
    if uri and (await session.exec(select(Report.id).where(Report.uri == uri))).first():
        return
    accounts, statuses = await _reported(ctx, session, ids_of(activity.get("object")))
    target_id = accounts[0].id if accounts else statuses[0].account_id if statuses else None
    if target_id is None or not await _ours_to_judge(session, target_id, statuses):
        return
    content = activity.get("content") if isinstance(activity.get("content"), str) else ""
    await add_report(session, Report(
        account_id=actor.id, target_account_id=target_id, uri=uri,
        status_ids=[s.id for s in statuses if s.account_id == target_id],
        comment=plain_text(content)[:MAX_COMMENT],
    ))
