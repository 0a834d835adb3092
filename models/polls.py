"""Polls: a status's `poll` (JSON: options with counts, `multiple`, `expires_at`,
`voters_count`, `hide_totals`) and the `poll_votes` behind it.

Our polls are counted from their votes (every voter's); a remote poll shows the counts its
origin last sent, and its votes here are our accounts' own only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.ids import new_id
from models.tables import Account, PollVote, Status

Poll = dict[str, Any]
# the limits instances publish (configuration.polls), as Mastodon's defaults
MAX_OPTIONS = 4
MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300  # seconds
MAX_EXPIRATION = 2629746  # a month
_VOTES = PollVote.__table__  # type: ignore[attr-defined]


def new_poll(titles: list[str], *, expires_at: datetime, multiple: bool, hide_totals: bool
             ) -> Poll:
    return {"options": [{"title": t, "votes_count": 0} for t in titles], "multiple": multiple,
            "expires_at": expires_at.astimezone(UTC).isoformat(), "voters_count": 0,
            "hide_totals": hide_totals}


def expires_at(poll: Poll) -> datetime | None:
    raw = poll.get("expires_at")
    if not raw:
        return None
    moment = datetime.fromisoformat(str(raw))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expired(poll: Poll, now: datetime | None = None) -> bool:
    ends = expires_at(poll)
    return ends is not None and ends <= (now or datetime.now(UTC))


def titles(poll: Poll) -> list[str]:
    return [str(o.get("title") or "") for o in poll.get("options") or []]


async def votes_of(session: AsyncSession, status_id: int, account_id: int) -> list[int]:
    """The choices `account_id` made in the poll, in order."""
    found = await session.exec(select(PollVote.choice).where(
        PollVote.status_id == status_id, PollVote.account_id == account_id)
        .order_by(col(PollVote.choice)))
    return list(found.all())


async def add_votes(session: AsyncSession, status_id: int, account_id: int,
                    choices: Iterable[int], uri: Callable[[int], str] | None = None
                    ) -> list[PollVote]:
    """Store the choices (the caller checked them); `uri`: the vote's Note, from its row id."""
    rows = []
    for choice in choices:
        row = PollVote(id=new_id(), status_id=status_id, account_id=account_id, choice=choice)
        row.uri = uri(row.id) if uri is not None else None
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows


async def has_vote_uri(session: AsyncSession, uri: str) -> bool:
    found = await session.exec(select(PollVote.id).where(PollVote.uri == uri))
    return found.first() is not None


async def lock(session: AsyncSession, status_id: int) -> None:
    """Hold the poll's status row to the end of the transaction (PostgreSQL; on SQLite the
    writer holds the database): votes are checked, stored and counted one voter at a time."""
    await session.exec(select(Status.id).where(Status.id == status_id)  # type: ignore[call-overload]
                       .with_for_update())


async def recount(session: AsyncSession, status: Status) -> None:
    """Our poll's counts from its votes (`lock` taken)."""
    await lock(session, status.id)
    rows = (await session.exec(select(PollVote.choice, func.count()).where(
        PollVote.status_id == status.id).group_by(col(PollVote.choice)))).all()
    voters = (await session.exec(select(func.count(sa.distinct(PollVote.account_id))).where(
        PollVote.status_id == status.id))).one()
    by_choice = dict(rows)
    poll = dict(status.poll or {})
    poll["options"] = [{**o, "votes_count": by_choice.get(i, 0)}
                       for i, o in enumerate(poll.get("options") or [])]
    poll["voters_count"] = voters
    status.poll = poll
    session.add(status)


def count_own(status: Status, choices: list[int]) -> None:
    """A remote poll shows our account's vote at once (its origin's next counts replace it)."""
    poll = dict(status.poll or {})
    poll["options"] = [{**o, "votes_count": (o.get("votes_count") or 0) + (i in choices)}
                       for i, o in enumerate(poll.get("options") or [])]
    poll["voters_count"] = (poll.get("voters_count") or 0) + 1
    status.poll = poll


async def clear_votes(session: AsyncSession, status_id: int) -> None:
    await session.exec(sa.delete(PollVote).where(col(PollVote.status_id) == status_id))


async def local_voters(session: AsyncSession, status_id: int) -> list[int]:
    """Our accounts that voted in the poll."""
    found = await session.exec(
        select(PollVote.account_id).join(Account, col(Account.id) == PollVote.account_id)
        .where(PollVote.status_id == status_id, Account.domain == "").distinct())
    return sorted(found.all())


def own_votes(conn: sa.Connection, account_id: int, status_ids: list[int]
              ) -> dict[int, list[int]]:
    """`account_id`'s choices in the polls of `status_ids`, by status."""
    found: dict[int, list[int]] = {}
    rows = conn.execute(sa.select(_VOTES.c.status_id, _VOTES.c.choice).where(
        _VOTES.c.account_id == account_id, _VOTES.c.status_id.in_(status_ids))
        .order_by(_VOTES.c.choice))
    for status_id, choice in rows:
        found.setdefault(status_id, []).append(choice)
    return found
