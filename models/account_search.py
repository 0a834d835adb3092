"""Finding accounts, statuses and hashtags by text (no full-text index: prefixes and LIKE)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.status_queries import not_blocked
from models.tables import Account, Follow, Status, Tag


def _like(text: str) -> str:
    """`text` with LIKE's wildcards escaped (the escape character is '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def find_by_acct(session: AsyncSession, username: str, domain: str) -> Account | None:
    """The account `username@domain` as stored (domain '' for ours), any letter case."""
    query = select(Account).where(
        sa.func.lower(Account.username) == username.lower(), Account.domain == domain.lower(),
        col(Account.kind).in_(("person", "remote")), col(Account.suspended_at).is_(None))
    return (await session.exec(query.limit(1))).first()


async def search_accounts(session: AsyncSession, text: str, *, limit: int, offset: int = 0,
                          domain: str | None = None, followed_by: int | None = None
                          ) -> list[Account]:
    """Accounts whose username starts with `text` or whose display name holds it; exact
    usernames first, then ours, then by name. `followed_by`: only those it follows."""
    name = text.lower()
    query = select(Account).where(
        col(Account.kind).in_(("person", "remote")), col(Account.suspended_at).is_(None),
        sa.func.lower(Account.username).like(_like(name) + "%", escape="\\")
        | sa.func.lower(Account.display_name).like("%" + _like(name) + "%", escape="\\"))
    if domain is not None:
        query = query.where(Account.domain == domain.lower())
    if followed_by is not None:
        query = query.where(select(Follow.id).where(
            Follow.account_id == followed_by, col(Follow.target_account_id) == Account.id,
            Follow.state == "accepted").exists())
    exact = sa.case((sa.func.lower(Account.username) == name, 0), else_=1)
    remote = sa.case((col(Account.domain) == "", 0), else_=1)
    query = query.order_by(exact, remote, sa.func.lower(Account.username), col(Account.id))
    return list((await session.exec(query.offset(offset).limit(limit))).all())


async def search_statuses(session: AsyncSession, text: str, viewer_id: int, *, limit: int,
                          offset: int = 0, account_id: int | None = None) -> list[Status]:
    """Public statuses and the viewer's own whose text holds `text`, newest first."""
    pattern = "%" + _like(text.lower()) + "%"
    query = select(Status).where(
        col(Status.deleted_at).is_(None), col(Status.reblog_of_id).is_(None),
        (Status.visibility == "public") | (Status.account_id == viewer_id),
        not_blocked(viewer_id),
        sa.func.lower(Status.content).like(pattern, escape="\\")
        | sa.func.lower(Status.spoiler_text).like(pattern, escape="\\"))
    if account_id is not None:
        query = query.where(Status.account_id == account_id)
    query = query.order_by(col(Status.id).desc()).offset(offset).limit(limit)
    return list((await session.exec(query)).all())


async def search_tags(session: AsyncSession, text: str, *, limit: int, offset: int = 0
                      ) -> list[Tag]:
    """Hashtags starting with `text` (without its '#'), the exact one first."""
    name = text.lstrip("#").lower()
    if not name:
        return []
    query = select(Tag).where(sa.func.lower(Tag.name).like(_like(name) + "%", escape="\\"))
    exact = sa.case((sa.func.lower(Tag.name) == name, 0), else_=1)
    query = query.order_by(exact, sa.func.length(Tag.name), sa.func.lower(Tag.name))
    return list((await session.exec(query.offset(offset).limit(limit))).all())
