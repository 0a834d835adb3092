"""What the account, relationship, notification and search routes share: sessions, finding
an account by the id in a path, and turning accounts and relations into entities."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from fediverse.api.entities import Entity, account_entities, relationship_entity
from fediverse.api.errors import not_found
from fediverse.api.params import Page
from fediverse.routes.common import state
from models.relationships import Window, relations
from models.tables import Account

SHOWN_KINDS = ("person", "remote")


def reader(request: Request) -> AsyncSession:
    return state(request).sessions()


def writer(request: Request) -> AsyncSession:
    """A session that takes SQLite's write lock when it begins (it reads, then writes)."""
    return state(request).writer()


def parse_id(raw: str) -> int:
    """An id from a path; anything that is not one names nothing (404)."""
    if not raw.isdigit() or len(raw) > 19:
        raise not_found()
    return int(raw)


async def account_or_404(session: AsyncSession, raw: str | int) -> Account:
    """A person of ours or a remote account, not suspended, by id."""
    account = await session.get(Account, raw if isinstance(raw, int) else parse_id(raw))
    if account is None or account.kind not in SHOWN_KINDS or account.suspended_at is not None:
        raise not_found()
    return account


def window_of(page: Page, offset: int = 0) -> Window:
    return Window(limit=page.limit, max_id=page.max_id, since_id=page.since_id,
                  min_id=page.min_id, offset=offset)


async def accounts_json(request: Request, session: AsyncSession, accounts: Sequence[Account]
                        ) -> list[Entity]:
    return await account_entities(session, state(request).urls, accounts)


async def account_json(request: Request, session: AsyncSession, account: Account) -> Entity:
    return (await accounts_json(request, session, [account]))[0]


async def relationship_json(request: Request, viewer: Account, target_id: int) -> Entity:
    """The viewer's relationship to one account, read afresh (after a write committed)."""
    async with reader(request) as session:
        [found] = await relations(session, viewer.id, [target_id])
    return relationship_entity(found)
