"""Servers this instance blocks (Mastodon's admin domain blocks): the rows, a per-process
snapshot that answers "is this host blocked?" without the database, and the purge that a
suspension does.

A block of `example.com` covers `example.com`, any `*.example.com`, on any port; a block of
`localhost:8001` (tests) covers that port only. Each process re-reads the snapshot every
`REFRESH` seconds, so a block made by another process (the CLI, another web process) takes
hold there within that time; `changed()` makes this process re-read at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, Follow, InstanceDomainBlock
from models.types import utcnow

REFRESH = 2.0  # seconds a snapshot is trusted
SEVERITIES = ("silence", "suspend", "noop")


@dataclass(frozen=True)
class Policy:
    """What applies to one server."""

    domain: str  # the block's own domain
    severity: str
    reject_media: bool
    reject_reports: bool

    @property
    def suspended(self) -> bool:
        return self.severity == "suspend"

    @property
    def silenced(self) -> bool:
        return self.severity == "silence"


def _candidates(host: str) -> list[str]:
    """The block domains that would cover `host` (`a.b.c:port` → a.b.c:port, a.b.c, b.c:port,
    b.c, c:port, c)."""
    name, sep, port = host.lower().partition(":")
    labels = name.split(".")
    found = []
    for i in range(len(labels)):
        suffix = ".".join(labels[i:])
        if sep:
            found.append(f"{suffix}:{port}")
        found.append(suffix)
    return found


class ServerBlocks:
    """This process's view of the blocked servers (empty in the common case: free)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self.sessions = sessions
        self._policies: dict[str, Policy] = {}
        self._read_at = float("-inf")
        self._reading: asyncio.Future[dict[str, Policy]] | None = None

    def changed(self) -> None:
        self._read_at = float("-inf")

    async def policies(self) -> dict[str, Policy]:
        if time.monotonic() - self._read_at < REFRESH:
            return self._policies
        if self._reading is None:  # one read for all who ask at once
            self._reading = asyncio.ensure_future(self._read())
            self._reading.add_done_callback(lambda _: setattr(self, "_reading", None))
        return await asyncio.shield(self._reading)

    async def _read(self) -> dict[str, Policy]:
        async with self.sessions() as session:
            rows = (await session.exec(select(InstanceDomainBlock))).all()
        self._policies = {r.domain: Policy(r.domain, r.severity, r.reject_media, r.reject_reports)
                          for r in rows}
        self._read_at = time.monotonic()
        return self._policies

    async def policy(self, host: str | None) -> Policy | None:
        """The block that covers `host` (host[:port]), or None."""
        policies = await self.policies()
        if not policies or not host:
            return None
        return next((policies[c] for c in _candidates(host) if c in policies), None)

    async def suspended(self, host: str | None) -> bool:
        found = await self.policy(host)
        return found is not None and found.suspended


_BY_ENGINE: weakref.WeakKeyDictionary[Any, ServerBlocks] = weakref.WeakKeyDictionary()


def _database(bind: Any) -> Any:
    """What engines on one database share (an engine with other execution options too)."""
    return getattr(getattr(bind, "sync_engine", bind), "pool", bind)


def server_blocks(sessions: async_sessionmaker[AsyncSession]) -> ServerBlocks:
    """The one view per database in this process."""
    key = _database(sessions.kw.get("bind") or sessions)
    found = _BY_ENGINE.get(key)
    if found is None:
        found = _BY_ENGINE[key] = ServerBlocks(sessions)
    return found


def server_blocks_of(session: AsyncSession) -> ServerBlocks:
    """The view of the database that `session` is bound to."""
    key = _database(session.bind)
    found = _BY_ENGINE.get(key)
    if found is None:
        found = _BY_ENGINE[key] = ServerBlocks(async_sessionmaker(session.bind, class_=AsyncSession))
    return found


async def with_silenced(session: AsyncSession, where: Any) -> Any:
    """A public timeline's filter (`models.timelines.PublicFilter`) with the servers silenced
    now."""
    silenced = silenced_domains(await server_blocks_of(session).policies())
    return dataclasses.replace(where, silenced=silenced) if silenced else where


def covers(domains: list[str]) -> sa.ColumnElement[bool]:
    """SQL: `accounts.domain` is on one of `domains` or below one."""
    tests = []
    for d in domains:
        tests += [col(Account.domain) == d, col(Account.domain).like(f"%.{d}")]
        if ":" not in d:
            tests += [col(Account.domain).like(f"{d}:%"), col(Account.domain).like(f"%.{d}:%")]
    return sa.or_(*tests)


def silenced_unfollowed(viewer_id: Any, domains: list[str]) -> sa.Select:  # type: ignore[type-arg]
    """The ids of the accounts on `domains` that `viewer_id` (None: nobody) does not follow."""
    query = select(Account.id).where(covers(domains))
    if viewer_id is not None:
        query = query.where(col(Account.id).not_in(select(Follow.target_account_id).where(
            Follow.account_id == viewer_id, Follow.state == "accepted")))
    return query


def silenced_senders(account_id: Any) -> sa.Select:  # type: ignore[type-arg]
    """SQL, the blocks read from their table: the ids of the accounts on silenced servers
    that `account_id` does not follow (their notifications to it are not shown)."""
    block = InstanceDomainBlock
    on_blocked = ((col(Account.domain) == block.domain)
                  | col(Account.domain).like("%." + col(block.domain))
                  | col(Account.domain).like(col(block.domain) + ":%"))
    return select(Account.id).join(block, on_blocked).where(
        block.severity == "silence", col(Account.id).not_in(select(Follow.target_account_id).where(
            Follow.account_id == account_id, Follow.state == "accepted")))


async def is_silenced_for(session: AsyncSession, account_id: int, sender_id: int | None) -> bool:
    """Whether `sender_id` is on a silenced server and `account_id` does not follow it."""
    if sender_id is None or not silenced_domains(await server_blocks_of(session).policies()):
        return False
    found = await session.exec(silenced_senders(account_id).where(Account.id == sender_id))
    return found.first() is not None


def silenced_domains(policies: dict[str, Policy]) -> tuple[str, ...]:
    return tuple(sorted(d for d, p in policies.items() if p.silenced))


async def list_blocks(session: AsyncSession) -> list[InstanceDomainBlock]:
    found = await session.exec(select(InstanceDomainBlock).order_by(col(InstanceDomainBlock.id)))
    return list(found.all())


async def get_block(session: AsyncSession, block_id: int) -> InstanceDomainBlock | None:
    return await session.get(InstanceDomainBlock, block_id)


async def block_for(session: AsyncSession, domain: str) -> InstanceDomainBlock | None:
    found = await session.exec(select(InstanceDomainBlock).where(
        InstanceDomainBlock.domain == domain))
    return found.first()


def update_block(block: InstanceDomainBlock, **changes: Any) -> None:
    for key, value in changes.items():
        if value is not None:
            setattr(block, key, value)
    block.updated_at = utcnow()


async def save_block(session: AsyncSession, block: InstanceDomainBlock, **changes: Any) -> int:
    """Make or change a block (`changes`: None leaves a field) and do what it does
    (`apply_block`, whose count it returns). The caller commits."""
    update_block(block, **changes)
    session.add(block)
    await session.flush()
    return await apply_block(session, block)


async def apply_block(session: AsyncSession, block: InstanceDomainBlock) -> int:
    """What a block does to what is stored: a suspension removes the server's accounts and,
    by cascade, their statuses, media rows, follows both ways, favourites, boosts and
    notifications (Mastodon keeps suspended rows; we keep nothing). Returns how many accounts
    went. The caller commits."""
    if block.severity != "suspend":
        return 0
    query = select(Account.id).where(Account.kind == "remote", covers([block.domain]))
    ids = list((await session.exec(query)).all())
    if ids:
        await session.exec(sa.delete(Follow).where(  # type: ignore[call-overload]
            sa.or_(col(Follow.account_id).in_(ids), col(Follow.target_account_id).in_(ids))))
        await session.exec(sa.delete(Account).where(col(Account.id).in_(ids)))  # type: ignore[call-overload]
    return len(ids)


async def remove_block(session: AsyncSession, block: InstanceDomainBlock) -> None:
    await session.delete(block)
