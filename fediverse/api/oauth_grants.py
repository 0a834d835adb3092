"""OAuth 2 grants: authorization codes (with PKCE S256), the token grants, and revocation.

Errors are `OAuthError`: RFC 6749's `error` code with a description safe to show.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.oauth_apps import app_by_client_id
from models import push
from models.accounts import verify_password
from models.tables import Account, OAuthApp, OAuthCode, OAuthToken
from models.tokens import (
    parse_scopes,
    resolve_refresh,
    resolve_token,
    revoke_family,
    scope_allows,
    token_by_refresh,
    token_digest,
)
from models.types import utcnow

CODE_LIFETIME = timedelta(minutes=10)
PKCE_METHODS = ("S256",)
_CHALLENGE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class OAuthError(Exception):
    """An OAuth error answer: `error` is RFC 6749's code, `description` is safe to show."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def invalid_grant() -> OAuthError:
    return OAuthError(400, "invalid_grant", "The provided authorization grant is invalid, "
                      "expired, revoked, does not match the redirection URI used in the "
                      "authorization request, or was issued to another client.")


def invalid_client() -> OAuthError:
    return OAuthError(401, "invalid_client", "Client authentication failed due to unknown "
                      "client, no client authentication included, or unsupported authentication "
                      "method.")


def invalid_scope() -> OAuthError:
    return OAuthError(400, "invalid_scope",
                      "The requested scope is invalid, unknown, or malformed.")


@dataclass(frozen=True)
class Issued:
    """A new access token (with a refresh token for a person's), as `/oauth/token` answers it."""

    token: str
    row: OAuthToken
    refresh_token: str | None = None

    def response(self) -> dict[str, object]:
        answer: dict[str, object] = {
            "access_token": self.token, "token_type": "Bearer", "scope": self.row.scopes,
            "created_at": int(self.row.created_at.timestamp())}
        if self.refresh_token is not None:
            answer["refresh_token"] = self.refresh_token
        return answer


def granted_scopes(app: OAuthApp, requested: str | None) -> str:
    """The scopes asked for (default `read`), each within the app's; `invalid_scope` if not."""
    try:
        scopes = parse_scopes(requested if requested and requested.strip() else "read")
    except ValueError:
        raise invalid_scope() from None
    if not all(scope_allows(app.scopes, scope) for scope in scopes):
        raise invalid_scope()
    return " ".join(scopes)


async def authenticate_client(session: AsyncSession, client_id: str | None,
                              client_secret: str | None) -> OAuthApp:
    """The app whose id and secret these are; `invalid_client` otherwise."""
    app = await app_by_client_id(session, client_id)
    if app is None or not client_secret or not hmac.compare_digest(
            app.client_secret.encode(), client_secret.encode()):
        raise invalid_client()
    return app


async def issue_token(session: AsyncSession, app: OAuthApp, account: Account | None,
                      scopes: str, *, at: datetime | None = None) -> Issued:
    """A new token row for `account` (None: app-only) through `app`, created `at` (default
    now), flushed. A person's token comes with a refresh token (RFC 6749 4.4.3: none for
    client credentials)."""
    token = secrets.token_urlsafe(32)
    refresh = secrets.token_urlsafe(32) if account is not None else None
    row = OAuthToken(token_sha256=token_digest(token), scopes=scopes, app_id=app.id,
                     account_id=account.id if account is not None else None,
                     refresh_sha256=token_digest(refresh) if refresh else None,
                     created_at=at or utcnow())
    session.add(row)
    await session.flush()
    return Issued(token=token, row=row, refresh_token=refresh)


# authorization codes

def check_code_challenge(challenge: str | None, method: str | None) -> str | None:
    """The PKCE challenge to keep with a code; only S256, as Mastodon."""
    if not challenge:
        if method:
            raise OAuthError(400, "invalid_request", "code_challenge_method without code_challenge")
        return None
    if (method or "plain") not in PKCE_METHODS:
        raise OAuthError(400, "invalid_request",
                         "The code challenge method must be S256.")
    if not 43 <= len(challenge) <= 128 or not set(challenge) <= _CHALLENGE_CHARS:
        raise OAuthError(400, "invalid_request", "The code challenge is malformed.")
    return challenge


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def create_code(session: AsyncSession, app: OAuthApp, account: Account, *,
                      redirect_uri: str, scopes: str, challenge: str | None) -> str:
    """A new authorization code (only its digest is kept), flushed."""
    code = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(OAuthCode(
        code_sha256=token_digest(code), app_id=app.id, account_id=account.id,
        redirect_uri=redirect_uri, scopes=scopes, code_challenge=challenge,
        created_at=now, expires_at=now + CODE_LIFETIME,
    ))
    await session.flush()
    return code


async def exchange_code(session: AsyncSession, app: OAuthApp, code: str | None,
                        redirect_uri: str | None, verifier: str | None) -> Issued:
    """Trade a code for a token, once. A second try revokes the first token (RFC 6749 4.1.2);
    the caller commits either way."""
    row = (await session.exec(select(OAuthCode).where(
        OAuthCode.code_sha256 == token_digest(code or "")))).first()
    if row is None or row.app_id != app.id:
        raise invalid_grant()
    if row.used_at is not None:
        await _revoke_issued(session, row)
        raise invalid_grant()
    if row.expires_at <= utcnow() or redirect_uri != row.redirect_uri:
        raise invalid_grant()
    if not _verifier_matches(row.code_challenge, verifier):
        raise invalid_grant()
    account = await session.get(Account, row.account_id)
    if account is None or account.suspended_at is not None or not await _claim(session, row):
        raise invalid_grant()
    issued = await issue_token(session, app, account, row.scopes)
    row.token_id = issued.row.id
    session.add(row)
    return issued


def _verifier_matches(challenge: str | None, verifier: str | None) -> bool:
    if challenge is None:
        return not verifier  # a verifier for a code made without PKCE is a downgrade attempt
    return bool(verifier) and hmac.compare_digest(s256(verifier or ""), challenge)


async def _claim(session: AsyncSession, row: OAuthCode) -> bool:
    """Mark the code used; False if another request used it first."""
    result = await session.exec(sa.update(OAuthCode).where(
        OAuthCode.id == row.id, OAuthCode.used_at.is_(None),  # type: ignore[arg-type,union-attr]
    ).values(used_at=utcnow()))
    await session.refresh(row)
    return bool(result.rowcount == 1)


async def _revoke_issued(session: AsyncSession, row: OAuthCode) -> None:
    """Revoke the token a reused code gave, and those refreshed from it."""
    token = await session.get(OAuthToken, row.token_id) if row.token_id else None
    if token is not None and await revoke_family(session, token):
        await session.commit()


# the other grants

async def login(session: AsyncSession, login: str | None, password: str | None
                ) -> Account | None:
    """The local person signing in with a username or email address and password."""
    if not login or not password:
        return None
    name = login.strip().lower()
    query = select(Account).where(
        Account.kind == "person",
        sa.or_(sa.func.lower(Account.username) == name, col(Account.email) == name))
    account = (await session.exec(query)).first()
    if account is None:
        return None
    check = await asyncio.to_thread(verify_password, account, password)
    return account if check else None


async def password_grant(session: AsyncSession, app: OAuthApp, username: str | None,
                         password: str | None, scope: str | None) -> Issued:
    scopes = granted_scopes(app, scope)
    account = await login(session, username, password)
    if account is None:
        raise invalid_grant()
    return await issue_token(session, app, account, scopes)


def _narrowed(granted: str, requested: str | None) -> str:
    """The scopes a refreshed token gets: the old ones, or those asked for if the old ones
    cover each of them (RFC 6749 6); `invalid_scope` if not."""
    if not requested or not requested.strip():
        return granted
    try:
        scopes = parse_scopes(requested)
    except ValueError:
        raise invalid_scope() from None
    if not all(scope_allows(granted, scope) for scope in scopes):
        raise invalid_scope()
    return " ".join(scopes)


async def refresh_grant(session: AsyncSession, app: OAuthApp, refresh_token: str | None,
                        scope: str | None) -> Issued:
    """Trade a refresh token for a new token (with a new refresh token); the old token dies,
    so each refresh token works once. Presenting a used one again means it leaked: the
    tokens refreshed from it are revoked too (OAuth 2.1 4.3.1, RFC 6819 5.2.2.3)."""
    row = await token_by_refresh(session, refresh_token) if refresh_token else None
    if row is None or row.app_id != app.id or row.account_id is None:
        raise invalid_grant()
    if row.revoked_at is not None:
        await _reused(session, row)
    scopes = _narrowed(row.scopes, scope)
    account = await session.get(Account, row.account_id)
    if account is None or account.suspended_at is not None:
        raise invalid_grant()
    now = utcnow()
    if not await _retire(session, row, now):
        await session.refresh(row)  # another request refreshed or revoked it first
        await _reused(session, row)
    return await issue_token(session, app, account, scopes, at=now)


async def _reused(session: AsyncSession, row: OAuthToken) -> None:
    """Revoke the family of a used refresh token's token, commit that, refuse the grant."""
    if await revoke_family(session, row):
        await session.commit()
    raise invalid_grant()


async def _retire(session: AsyncSession, row: OAuthToken, now: datetime) -> bool:
    """Revoke the refreshed token at `now`, the instant its successor is created at (which
    links the family); False if another request refreshed or revoked it first."""
    result = await session.exec(sa.update(OAuthToken).where(
        OAuthToken.id == row.id, OAuthToken.revoked_at.is_(None),  # type: ignore[arg-type,union-attr]
    ).values(revoked_at=now))
    return bool(result.rowcount == 1)


async def revoke(session: AsyncSession, app: OAuthApp, token: str | None) -> None:
    """Revoke `token` (an access or a refresh token: both die) if `app` holds it (RFC 7009:
    unknown tokens are no error)."""
    row = (await resolve_token(session, token) or await resolve_refresh(session, token)) \
        if token else None
    if row is None:
        return
    if row.app_id != app.id:
        raise OAuthError(403, "unauthorized_client",
                         "You are not authorized to revoke this token")
    row.revoked_at = utcnow()
    session.add(row)
    await push.unsubscribe(session, row.id)  # the app is gone: so are its pushes
