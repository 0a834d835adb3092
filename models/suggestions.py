"""Accounts to suggest following, as Mastodon's suggestions: first those most followed by
whom the viewer follows (`friends_of_friends`), then this server's most followed accounts
(`most_followed`); never the viewer, whom they follow or asked to, block, are blocked by,
mute or dismissed, nor accounts that are suspended, gone, moved or not discoverable."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.status_queries import muted_by
from models.tables import Account, Block, Follow, SuggestionDismissal
from models.types import utcnow


def _excluded(viewer_id: int) -> sa.CompoundSelect:
    return sa.union_all(
        select(sa.literal(viewer_id, sa.BigInteger)),
        select(Follow.target_account_id).where(Follow.account_id == viewer_id),
        select(Block.target_account_id).where(Block.account_id == viewer_id),
        select(Block.account_id).where(Block.target_account_id == viewer_id),
        muted_by(viewer_id, utcnow()),
        select(SuggestionDismissal.target_account_id).where(
            SuggestionDismissal.account_id == viewer_id))


def _suggestible(viewer_id: int) -> list[sa.ColumnElement[bool]]:
    return [col(Account.id).not_in(_excluded(viewer_id)), col(Account.discoverable),
            col(Account.suspended_at).is_(None), col(Account.gone_at).is_(None),
            col(Account.moved_to_account_id).is_(None), Account.kind != "instance"]


async def suggestions(session: AsyncSession, viewer_id: int, limit: int
                      ) -> list[tuple[Account, str]]:
    """Up to `limit` (account, why) pairs, the best first."""
    followees = select(Follow.target_account_id).where(Follow.account_id == viewer_id,
                                                       Follow.state == "accepted")
    theirs = (select(Follow.target_account_id.label("id"),  # type: ignore[attr-defined]
                     sa.func.count().label("n"))
              .where(col(Follow.account_id).in_(followees), Follow.state == "accepted")
              .group_by(Follow.target_account_id).subquery())
    found: list[tuple[Account, str]] = [
        (account, "friends_of_friends") for account in (await session.exec(
            select(Account).join(theirs, theirs.c.id == Account.id)
            .where(*_suggestible(viewer_id))
            .order_by(theirs.c.n.desc(), col(Account.followers_count).desc(), col(Account.id))
            .limit(limit))).all()]
    if len(found) < limit:
        seen = [a.id for a, _ in found]
        found += [(account, "most_followed") for account in (await session.exec(
            select(Account).where(Account.domain == "", col(Account.id).not_in(seen),
                                  *_suggestible(viewer_id))
            .order_by(col(Account.followers_count).desc(), col(Account.id))
            .limit(limit - len(found)))).all()]
    return found


async def dismiss(session: AsyncSession, viewer_id: int, target_id: int) -> None:
    """Never suggest `target_id` to the viewer again. The caller commits."""
    known = (await session.exec(select(SuggestionDismissal.id).where(
        SuggestionDismissal.account_id == viewer_id,
        SuggestionDismissal.target_account_id == target_id))).first()
    if known is None:
        session.add(SuggestionDismissal(account_id=viewer_id, target_account_id=target_id))
