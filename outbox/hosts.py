"""Whether deliveries to a host get through: failures counted, dead hosts skipped and probed.

    healthy ──failure──▶ failing ──failures ≥ N, or failing ≥ a day──▶ unavailable
       ▲                    │                                             │
       └────── success ─────┴──────────── success (a probe) ─────────────┘

While a host is unavailable its deliveries end at once (dead, with the reason), except one
probe delivery per `probe_every`; any success, or `mark_host_available` (the host sent us
something), makes it healthy again. Healthy hosts cost no database work: each process keeps
a snapshot of the troubled ones, re-read every `refresh` seconds.

The signature standard a host took (see outbox.deliver's double knock) is kept on its row
too, and read with the snapshot, so other processes and restarts sign that way at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.ids import new_id
from models.tables import Host
from models.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard deliveries try, and when a host counts as gone."""

    per_host: int = 8  # requests in flight to one host
    max_attempts: int = 16  # with the queue's backoff, about five days of retries
    unavailable_after_failures: int = 50  # consecutive failed deliveries...
    unavailable_after: timedelta = timedelta(days=1)  # ...or failing this long with no success
    probe_every: timedelta = timedelta(hours=1)  # one delivery tries an unavailable host
    refresh: float = 5.0  # seconds a snapshot of troubled hosts is trusted
    timeout: float = 10.0  # seconds to read an answer (5 to connect)
    in_flight: int = 256  # requests in flight in all, per process
    signers: int = field(default_factory=lambda: os.cpu_count() or 2)  # signing threads
    lease: float = 60.0  # seconds a fan-out holds the rows it has not written back (renewed)


@dataclass
class HostState:
    failures: int
    first_failure_at: datetime | None
    unavailable_since: datetime | None
    next_probe_at: datetime | None


class HostUnavailable(Exception):
    """Deliveries to this host are skipped until it answers again."""


class HostHealth:
    """Per-process view of troubled hosts, writing only when a host's state changes."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], policy: DeliveryPolicy):
        self.sessions = sessions
        self.policy = policy
        self._troubled: dict[str, HostState] = {}
        self._schemes: dict[str, str] = {}  # host -> the signature standard it took
        self._read_at = float("-inf")
        self._reading: asyncio.Future[dict[str, HostState]] | None = None

    async def check(self, domain: str) -> None:
        """Raise `HostUnavailable` unless a delivery to `domain` should be tried now."""
        state = (await self._snapshot()).get(domain)
        if state is None or state.unavailable_since is None:
            return
        now = utcnow()
        if (state.next_probe_at is None or state.next_probe_at <= now) and await self._probe(domain):
            return
        raise HostUnavailable(f"{domain} unavailable since {state.unavailable_since:%Y-%m-%d %H:%M}")

    async def refresh(self) -> None:
        """Re-read the snapshot if it is older than the policy's `refresh`."""
        await self._snapshot()

    def scheme(self, domain: str) -> str | None:
        """The signature standard `domain` took, as of the last snapshot (None: not known)."""
        return self._schemes.get(domain)

    @property
    def schemes(self) -> dict[str, str]:
        return self._schemes

    async def remember_scheme(self, domain: str, scheme: str) -> None:
        """Keep the signature standard `domain` took, for every process (one write when it
        changes)."""
        if self._schemes.get(domain) == scheme:
            return
        self._schemes[domain] = scheme
        try:
            async with self.sessions() as session:
                dialect = session.get_bind().dialect.name
                insert = pg_insert if dialect == "postgresql" else sqlite_insert
                await session.exec(  # type: ignore[call-overload]
                    insert(Host).values(id=new_id(), domain=domain, failures=0, blocked=False,
                                        signature_scheme=scheme)
                    .on_conflict_do_update(index_elements=["domain"],
                                           set_={"signature_scheme": scheme}))
                await session.commit()
        except SQLAlchemyError as exc:  # the delivery got through all the same
            log.warning("could not keep the signature standard of %s: %s", domain, exc)

    async def succeeded(self, domain: str) -> None:
        if domain not in await self._snapshot():
            return
        async with self.sessions() as session:
            await mark_host_available(session, domain)
            await session.commit()
        self._troubled.pop(domain, None)

    async def failed(self, domain: str) -> HostState:
        """Count a failed delivery; the host becomes unavailable past the policy's limits."""
        now = utcnow()
        async with self.sessions() as session:
            await _ensure_row(session, domain)
            row = (await session.exec(select(Host).where(Host.domain == domain)
                                      .with_for_update())).one()
            row.failures += 1
            row.first_failure_at = row.first_failure_at or now
            if row.unavailable_since is None and self._gone(row, now):
                row.unavailable_since = now
                row.next_probe_at = now + self.policy.probe_every
            state = HostState(row.failures, row.first_failure_at, row.unavailable_since,
                              row.next_probe_at)
            await session.commit()
        self._troubled[domain] = state
        return state

    def _gone(self, row: Host, now: datetime) -> bool:
        assert row.first_failure_at is not None
        return (row.failures >= self.policy.unavailable_after_failures
                or now - row.first_failure_at >= self.policy.unavailable_after)

    async def _probe(self, domain: str) -> bool:
        """Take the next probe of an unavailable host; False if another worker has it."""
        now = utcnow()
        statement = (
            sa.update(Host)
            .where(col(Host.domain) == domain, col(Host.unavailable_since).is_not(None),
                   sa.or_(col(Host.next_probe_at).is_(None), col(Host.next_probe_at) <= now))
            .values(next_probe_at=now + self.policy.probe_every)
            .execution_options(synchronize_session=False)
        )
        async with self.sessions() as session:
            result = await session.exec(statement)  # type: ignore[call-overload]
            await session.commit()
        if domain in self._troubled:
            self._troubled[domain].next_probe_at = now + self.policy.probe_every
        return bool(result.rowcount)

    async def _snapshot(self) -> dict[str, HostState]:
        if time.monotonic() - self._read_at < self.policy.refresh:
            return self._troubled
        if self._reading is None:  # one read for all the deliveries asking at once
            self._reading = asyncio.ensure_future(self._read())
            self._reading.add_done_callback(self._read_done)
        return await asyncio.shield(self._reading)

    def _read_done(self, task: asyncio.Future[dict[str, HostState]]) -> None:
        self._reading = None

    async def _read(self) -> dict[str, HostState]:
        query = select(Host).where(sa.or_(col(Host.failures) > 0,
                                          col(Host.unavailable_since).is_not(None),
                                          col(Host.signature_scheme).is_not(None)))
        async with self.sessions() as session:
            rows = (await session.exec(query)).all()
        self._troubled = {row.domain: HostState(row.failures, row.first_failure_at,
                                                row.unavailable_since, row.next_probe_at)
                          for row in rows
                          if row.failures > 0 or row.unavailable_since is not None}
        self._schemes = {row.domain: row.signature_scheme for row in rows
                         if row.signature_scheme}
        self._read_at = time.monotonic()
        return self._troubled


async def _ensure_row(session: AsyncSession, domain: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.exec(insert(Host).values(id=new_id(), domain=domain, failures=0, blocked=False)  # type: ignore[call-overload]
                       .on_conflict_do_nothing(index_elements=["domain"]))


async def mark_host_available(session: AsyncSession, domain: str) -> None:
    """Forget a host's failures (it answered, or sent us something); the caller commits."""
    statement = (
        sa.update(Host).where(col(Host.domain) == domain)
        .values(failures=0, first_failure_at=None, unavailable_since=None, next_probe_at=None,
                last_success_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.exec(statement)  # type: ignore[call-overload]
