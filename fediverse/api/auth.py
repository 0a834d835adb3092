"""Bearer tokens and scopes: who is calling, and may they."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from weakref import WeakSet

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.requests import Request

from fediverse.api.errors import forbidden, unauthorized
from fediverse.routes.common import state
from models.reads import read
from models.tables import Account, OAuthApp, OAuthToken
from models.tokens import scope_allows, token_digest


@dataclass(frozen=True)
class Caller:
    token: OAuthToken
    account: Account | None  # None for a client_credentials (app-only) token
    app: OAuthApp | None

    def allows(self, scope: str) -> bool:
        return scope_allows(self.token.scopes, scope)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query_params.get("access_token") or None


async def caller(request: Request, scope: str | None = None, *, user: bool = True) -> Caller:
    """The authenticated caller; 401 without a valid token, 403 without `scope`.

    `user=True` also refuses app-only tokens, which act for no account."""
    found = await optional_caller(request)
    if found is None:
        raise unauthorized()
    if user and found.account is None:
        raise unauthorized("This method requires an authenticated user")
    if scope is not None and not found.allows(scope):
        raise forbidden()
    return found


_CALLER = (sa.select(OAuthToken, Account, OAuthApp)
           .outerjoin(Account, Account.id == OAuthToken.account_id)  # type: ignore[arg-type]
           .outerjoin(OAuthApp, OAuthApp.id == OAuthToken.app_id)  # type: ignore[arg-type]
           .where(OAuthToken.token_sha256 == sa.bindparam("digest"),
                  OAuthToken.revoked_at.is_(None)))  # type: ignore[union-attr]


def _token_row(conn: sa.Connection, token: str) -> tuple[OAuthToken, Account | None,
                                                          OAuthApp | None] | None:
    """The live token with its account and app, one query."""
    with Session(bind=conn) as session:
        found = session.execute(_CALLER, {"digest": token_digest(token)}).first()
        return None if found is None else (found[0], found[1], found[2])


async def admin(request: Request, scope: str) -> Caller:
    """The caller, when it is an admin with `scope` (the admin API): 403 otherwise."""
    who = await caller(request, scope)
    if who.account is None or not who.account.is_admin:
        raise forbidden("This action is not allowed")
    return who


async def optional_caller(request: Request) -> Caller | None:
    """The caller if a token came with the request (an invalid one is still a 401)."""
    cached = request.scope.get("fediverse.caller")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = bearer_token(request)
    if token is None:
        return None
    found_row = await read(state(request).engine, lambda conn: _token_row(conn, token))
    if found_row is None:
        raise unauthorized()
    row, account, app = found_row
    if account is not None and account.suspended_at is not None:
        raise unauthorized("Your login is currently disabled")
    found = Caller(token=row, account=account, app=app)
    request.scope["fediverse.caller"] = found
    return found


# ---- a per-process cache of token -> (account id, scopes), for the hot read routes ----
# A cached token is trusted for TOKEN_TTL seconds: a revocation or suspension made by
# another process takes effect within that. In this process any statement that changes a
# token or an account row empties the cache at once, and again when its transaction ends
# (a lookup that overlapped the change is not kept: `_generation`).
TOKEN_TTL = 1.0
_MAX_CACHED = 10_000
_cached: dict[str, tuple[float, int, str]] = {}  # token -> (expires, account id, scopes)
_generation = 0
_changing: WeakSet[sa.Connection] = WeakSet()  # mid-transaction, having changed such rows
_WATCHED = ("UPDATE oauth_tokens", "DELETE FROM oauth_tokens", "UPDATE accounts",
            "DELETE FROM accounts")


def forget_tokens() -> None:
    """Drop every cached token (each is looked up afresh on its next use)."""
    global _generation
    _generation += 1
    _cached.clear()


@event.listens_for(sa.Engine, "before_cursor_execute")
def _on_execute(conn: sa.Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement.startswith(_WATCHED):
        _changing.add(conn)
        forget_tokens()


@event.listens_for(sa.Engine, "commit")
@event.listens_for(sa.Engine, "rollback")
def _on_end(conn: sa.Connection) -> None:
    if conn in _changing:
        _changing.discard(conn)
        forget_tokens()


async def token_account(request: Request, scope: str) -> int:
    """`caller(request, scope).account.id`, from the cache when the token was seen lately."""
    token = bearer_token(request)
    if token is not None:
        found = _cached.get(token)
        if found is not None and found[0] > time.monotonic():
            if not scope_allows(found[2], scope):
                raise forbidden()
            return found[1]
    generation = _generation
    who = await caller(request, scope)
    assert who.account is not None and token is not None
    if generation == _generation:
        if len(_cached) >= _MAX_CACHED:
            _cached.clear()
        _cached[token] = (time.monotonic() + TOKEN_TTL, who.account.id, who.token.scopes)
    return who.account.id
