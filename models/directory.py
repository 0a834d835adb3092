"""The profile directory (Mastodon's `/api/v1/directory`): accounts that chose to be listed."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.domain_blocks import blocked_accounts
from models.relationships import muted_ids
from models.tables import Account, Block

ORDERS = ("active", "new")


async def directory_page(session: AsyncSession, *, offset: int, limit: int, order: str,
                         local: bool, viewer_id: int | None = None) -> list[Account]:
    """Discoverable accounts, neither suspended nor gone nor moved (local ones and the
    remote ones known here; `local`: only local ones), `order`ed by their latest status
    ("active") or newest first ("new"); for a viewer, but those blocked either way, muted, or
    on a server it blocks."""
    query = select(Account).where(
        col(Account.discoverable).is_(True), col(Account.suspended_at).is_(None),
        col(Account.gone_at).is_(None), col(Account.moved_to_account_id).is_(None),
        col(Account.kind).in_(("person", "remote")))
    if local:
        query = query.where(Account.domain == "")
    if viewer_id is not None:
        hidden = await muted_ids(session, viewer_id)
        blocked = select(Block.target_account_id).where(Block.account_id == viewer_id)
        blockers = select(Block.account_id).where(Block.target_account_id == viewer_id)
        query = query.where(col(Account.id).not_in(blocked), col(Account.id).not_in(blockers),
                            col(Account.id).not_in(blocked_accounts(viewer_id)))
        if hidden:
            query = query.where(col(Account.id).not_in(sorted(hidden)))
    if order == "new":
        query = query.order_by(col(Account.created_at).desc(), col(Account.id).desc())
    else:
        query = query.order_by(sa.nulls_last(col(Account.last_status_at).desc()),
                               col(Account.id).desc())
    return list((await session.exec(query.offset(offset).limit(limit))).all())
