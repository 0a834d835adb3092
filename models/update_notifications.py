"""Mastodon's `update` notification: the local accounts that boosted a status hear of its edits."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.conversation_mutes import muting_clause, status_thread
from models.tables import Account, Notification, Status


async def notify_boosters_of_edit(session: AsyncSession, status: Status) -> None:
    """One `update` notification for each local account (not the author) with a live boost of
    the edited `status`, as Mastodon's fan-out does on an edit. The caller commits."""
    query = (select(Status.account_id).distinct()
             .join(Account, col(Account.id) == Status.account_id)
             .where(Status.reblog_of_id == status.id, col(Status.deleted_at).is_(None),
                    Account.domain == "", Status.account_id != status.account_id,
                    ~muting_clause(Status.account_id, status_thread(status))))
    for account_id in (await session.exec(query)).all():
        session.add(Notification(account_id=account_id, from_account_id=status.account_id,
                                 type="update", status_id=status.id))
