"""Reports about accounts (and some of their posts): made here or received as a `Flag`, read
and resolved by the local admins, each of whom is notified of a new one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.relationships import Window, run_window, windowed
from models.tables import Account, Notification, Report
from models.types import utcnow

CATEGORIES = ("spam", "legal", "violation", "other")


@dataclass(frozen=True)
class ReportFilter:
    resolved: bool | None = False  # None: open and resolved alike
    account_id: int | None = None  # who reports
    target_account_id: int | None = None


async def admin_ids(session: AsyncSession) -> list[int]:
    """The local people who moderate (admins, not suspended)."""
    query = select(Account.id).where(Account.kind == "person", col(Account.is_admin).is_(True),
                                     col(Account.suspended_at).is_(None))
    return list((await session.exec(query)).all())


async def add_report(session: AsyncSession, report: Report) -> Report:
    """Store `report` and an `admin.report` notification for each admin (the caller commits)."""
    session.add(report)
    await session.flush()
    for admin_id in await admin_ids(session):
        session.add(Notification(account_id=admin_id, from_account_id=report.account_id,
                                 type="admin.report", report_id=report.id))
    return report


async def reports_page(session: AsyncSession, wanted: ReportFilter, window: Window
                       ) -> list[Report]:
    """Newest first."""
    query = select(Report)
    if wanted.resolved is not None:
        taken = col(Report.action_taken_at)
        query = query.where(taken.is_not(None) if wanted.resolved else taken.is_(None))
    if wanted.account_id is not None:
        query = query.where(Report.account_id == wanted.account_id)
    if wanted.target_account_id is not None:
        query = query.where(Report.target_account_id == wanted.target_account_id)
    return await run_window(session, windowed(query, col(Report.id), window), window)


async def reports_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Report]:
    if not ids:
        return {}
    rows = (await session.exec(select(Report).where(col(Report.id).in_(sorted(ids))))).all()
    return {r.id: r for r in rows}


def resolve(report: Report, by: Account | None) -> None:
    """Mark `report` handled by `by` (None: an operator at the command line); a report
    resolved already stays as it was."""
    if report.action_taken_at is None:
        report.action_taken_at = report.updated_at = utcnow()
        report.action_taken_by_account_id = by.id if by else None


def reopen(report: Report) -> None:
    if report.action_taken_at is not None:
        report.updated_at = utcnow()
    report.action_taken_at = None
    report.action_taken_by_account_id = None
