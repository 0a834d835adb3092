"""`fediverse report list|resolve`: reports for operators who have no admin app."""

from __future__ import annotations

import sys

from fediverse.commands import command_sessions
from fediverse.errors import CommandError
from fediverse.settings import Settings

COMMENT_SHOWN = 60  # characters of the comment on a line


def _acct(account: object | None) -> str:
    if account is None:
        return "?"
    username, domain = account.username, account.domain  # type: ignore[attr-defined]
    return f"{username}@{domain}" if domain else username


async def list_reports(settings: Settings, *, everything: bool) -> int:
    """One line per report, newest first: open ones (`everything`: resolved ones too)."""
    from sqlmodel import col, select

    from models.relationships import Window
    from models.reports import ReportFilter, reports_page
    from models.tables import Account

    async with command_sessions(settings) as sessions:
        async with sessions() as session:
            wanted = ReportFilter(resolved=None if everything else False)
            rows = await reports_page(session, wanted, Window(limit=10_000))
            ids = {i for r in rows for i in (r.account_id, r.target_account_id)}
            accounts = {a.id: a for a in (await session.exec(
                select(Account).where(col(Account.id).in_(sorted(ids))))).all()} if ids else {}
    for r in rows:
        comment = " ".join(r.comment.split())
        if len(comment) > COMMENT_SHOWN:
            comment = comment[:COMMENT_SHOWN - 1] + "…"
        state = " resolved" if r.action_taken_at else ""
        print(f"{r.id}\t{r.created_at:%Y-%m-%d %H:%M}\tfrom {_acct(accounts.get(r.account_id))}"
              f"\tabout {_acct(accounts.get(r.target_account_id))}\t{r.category}{state}"
              f"\t{comment}")
    if not rows:
        print("no reports" if everything else "no open reports", file=sys.stderr)
    return 0


async def resolve_report(settings: Settings, report_id: str) -> int:
    from models.reports import resolve
    from models.tables import Report

    if not report_id.isdigit() or len(report_id) > 19:
        raise CommandError(f"no report {report_id!r}")
    async with command_sessions(settings) as sessions:
        async with sessions() as session:
            report = await session.get(Report, int(report_id))
            if report is None:
                raise CommandError(f"no report {report_id!r}")
            resolve(report, None)
            session.add(report)
            await session.commit()
    print(f"resolved report {report_id}", file=sys.stderr)
    return 0
