"""OAuth access tokens (only their SHA-256 is stored) and Mastodon's scope vocabulary."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Account, OAuthApp, OAuthToken
from models.types import utcnow

TOKEN_BYTES = 32
DEFAULT_SCOPES = "read write follow push"

_READ = ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists",
         "mutes", "notifications", "search", "statuses")
_WRITE = ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows",
          "lists", "media", "mutes", "notifications", "reports", "statuses")
_ADMIN = ("accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks",
          "email_domain_blocks", "canonical_email_blocks")
TOP_LEVEL_SCOPES = frozenset({"read", "write", "follow", "push", "profile",
                              "admin:read", "admin:write"})
SCOPES = TOP_LEVEL_SCOPES | frozenset(
    [f"read:{s}" for s in _READ] + [f"write:{s}" for s in _WRITE]
    + [f"admin:read:{s}" for s in _ADMIN] + [f"admin:write:{s}" for s in _ADMIN]
)
# the legacy `follow` scope stands for these granular ones (as in Mastodon)
_FOLLOW_IMPLIES = frozenset({"read:blocks", "write:blocks", "read:follows", "write:follows",
                             "read:mutes", "write:mutes"})


def parse_scopes(scopes: str) -> list[str]:
    """The scopes of a space-separated string, in order, without repeats; `ValueError` names
    the first scope Mastodon does not know."""
    found: list[str] = []
    for scope in scopes.split():
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        if scope not in found:
            found.append(scope)
    if not found:
        raise ValueError("no scopes given")
    return found


def scope_allows(granted: str, required: str) -> bool:
    """Whether the space-separated `granted` scopes cover the single scope `required`
    (`read` covers `read:statuses`, `admin:read` covers `admin:read:accounts`)."""
    have = set(granted.split())
    if required in have:
        return True
    if required in _FOLLOW_IMPLIES and "follow" in have:
        return True
    parent, sep, _ = required.rpartition(":")
    return bool(sep) and parent in have


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(
    session: AsyncSession, account: Account | None, scopes: str = DEFAULT_SCOPES,
    app: OAuthApp | None = None,
) -> str:
    """A new bearer token for `account` (None: an app-only token); returns the token itself,
    which is never stored. The caller commits."""
    normal = " ".join(parse_scopes(scopes))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(OAuthToken(
        token_sha256=token_digest(token), scopes=normal,
        account_id=account.id if account is not None else None,
        app_id=app.id if app is not None else None,
    ))
    await session.flush()
    return token


async def resolve_token(session: AsyncSession, token: str) -> OAuthToken | None:
    """The live (not revoked) token row for a bearer token, or None."""
    query = select(OAuthToken).where(
        OAuthToken.token_sha256 == token_digest(token),
        OAuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
    )
    return (await session.exec(query)).first()


async def resolve_refresh(session: AsyncSession, refresh_token: str) -> OAuthToken | None:
    """The live token a refresh token belongs to, or None (used, revoked or unknown)."""
    query = select(OAuthToken).where(
        OAuthToken.refresh_sha256 == token_digest(refresh_token),
        OAuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
    )
    return (await session.exec(query)).first()


async def token_by_refresh(session: AsyncSession, refresh_token: str) -> OAuthToken | None:
    """The token a refresh token was issued with, live or not (a used one is revoked)."""
    query = select(OAuthToken).where(OAuthToken.refresh_sha256 == token_digest(refresh_token))
    return (await session.exec(query)).first()


async def revoke_family(session: AsyncSession, row: OAuthToken) -> int:
    """Revoke `row` and every token refreshed from it, directly or not; the count revoked.

    A refresh stamps the old token's `revoked_at` and its successor's `created_at` with the same
    instant (tokens keep no parent column), so that instant leads to the successor.
    The caller commits."""
    now = utcnow()
    revoked = 0
    while True:
        if row.revoked_at is None:
            row.revoked_at = now
            session.add(row)
            revoked += 1
            break  # a live token has not been refreshed: the family ends here
        query = select(OAuthToken).where(
            OAuthToken.app_id == row.app_id, OAuthToken.account_id == row.account_id,
            OAuthToken.created_at == row.revoked_at, OAuthToken.id != row.id,
            OAuthToken.refresh_sha256.is_not(None),  # type: ignore[union-attr]
        )
        successor = (await session.exec(query)).first()
        if successor is None:
            break
        row = successor
    await session.flush()
    return revoked


async def revoke_token(session: AsyncSession, token: str) -> bool:
    """Revoke a bearer token; False if it was unknown or already revoked. The caller commits."""
    row = await resolve_token(session, token)
    if row is None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    await session.flush()
    return True
