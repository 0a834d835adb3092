"""Reports as Mastodon entities: `Report` (for the reporter and in notifications) and
`Admin::Report` with its `Admin::Account`s (for moderators)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.entities import Entity, account_entities, iso, status_entities
from models.tables import Account, Report, Status
from outbox.urls import Urls

# Mastodon's roles as `Admin::Account.role` shows them: everyone's, and the administrators'
_EVERYONE = {"id": "-99", "name": "", "color": "", "permissions": "65536", "highlighted": False}
_ADMIN = {"id": "3", "name": "Admin", "color": "", "permissions": "1", "highlighted": True}


def report_entity(report: Report, target: Entity) -> Entity:
    return {
        "id": str(report.id), "action_taken": report.action_taken_at is not None,
        "action_taken_at": iso(report.action_taken_at), "category": report.category,
        "comment": report.comment, "forwarded": report.forwarded,
        "created_at": iso(report.created_at),
        "status_ids": [str(i) for i in report.status_ids],
        "rule_ids": [str(i) for i in report.rule_ids or []],
        "target_account": target,
    }


async def _accounts(session: AsyncSession, urls: Urls, ids: set[int]) -> dict[int, Entity]:
    if not ids:
        return {}
    rows = list((await session.exec(select(Account).where(col(Account.id).in_(sorted(ids))))).all())
    return {int(e["id"]): e for e in await account_entities(session, urls, rows)}


async def report_entities(session: AsyncSession, urls: Urls, reports: Sequence[Report]
                          ) -> dict[int, Entity]:
    """`Report` entities by report id (those whose target is gone left out)."""
    targets = await _accounts(session, urls, {r.target_account_id for r in reports})
    return {r.id: report_entity(r, targets[r.target_account_id])
            for r in reports if r.target_account_id in targets}


def _admin_account(account: Account, entity: Entity) -> Entity:
    local = account.domain == ""
    return {
        "id": str(account.id), "username": account.username, "domain": account.domain or None,
        "created_at": iso(account.created_at), "email": account.email or "" if local else "",
        "ip": None, "ips": [], "locale": "", "invite_request": None,
        "role": _ADMIN if account.is_admin else _EVERYONE, "confirmed": local,
        "approved": local, "disabled": False, "silenced": False,
        "suspended": account.suspended_at is not None, "sensitized": False,
        "account": entity, "created_by_application_id": None, "invited_by_account_id": None,
    }


async def admin_report_entities(session: AsyncSession, urls: Urls, reports: Sequence[Report],
                                viewer_id: int) -> list[Entity]:
    """`Admin::Report`s, their accounts and statuses loaded for the whole list at once."""
    ids = {i for r in reports for i in (r.account_id, r.target_account_id,
                                        r.action_taken_by_account_id) if i}
    rows = list((await session.exec(select(Account).where(col(Account.id).in_(sorted(ids))))).all()
                ) if ids else []
    shown = {int(e["id"]): e for e in await account_entities(session, urls, rows)}
    admins = {a.id: _admin_account(a, shown[a.id]) for a in rows}
    status_ids = sorted({i for r in reports for i in r.status_ids})
    statuses = list((await session.exec(select(Status).where(col(Status.id).in_(status_ids)))
                     ).all()) if status_ids else []
    by_status = {int(e["id"]): e for e in await status_entities(session, urls, statuses, viewer_id)}
    found = []
    for r in reports:
        if r.account_id not in admins or r.target_account_id not in admins:
            continue
        taken_by = r.action_taken_by_account_id
        found.append({
            "id": str(r.id), "action_taken": r.action_taken_at is not None,
            "action_taken_at": iso(r.action_taken_at), "category": r.category,
            "comment": r.comment, "forwarded": r.forwarded, "created_at": iso(r.created_at),
            "updated_at": iso(r.updated_at or r.created_at),
            "account": admins[r.account_id], "target_account": admins[r.target_account_id],
            "assigned_account": None,
            "action_taken_by_account": admins.get(taken_by) if taken_by else None,
            "statuses": [by_status[i] for i in r.status_ids if i in by_status],
            "rules": [],  # the instance has no rules (`/api/v1/instance/rules`)
        })
    return found
