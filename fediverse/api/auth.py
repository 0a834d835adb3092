"""Bearer tokens and scopes: who is calling, and may they."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from fediverse.api.errors import forbidden, unauthorized
from fediverse.routes.common import state
from models.tables import Account, OAuthApp, OAuthToken
from models.tokens import resolve_token, scope_allows


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


async def optional_caller(request: Request) -> Caller | None:
    """The caller if a token came with the request (an invalid one is still a 401)."""
    cached = request.scope.get("fediverse.caller")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = bearer_token(request)
    if token is None:
        return None
    async with state(request).sessions() as session:
        row = await resolve_token(session, token)
        if row is None:
            raise unauthorized()
        account = await session.get(Account, row.account_id) if row.account_id else None
        app = await session.get(OAuthApp, row.app_id) if row.app_id else None
    if account is not None and account.suspended_at is not None:
        raise unauthorized("Your login is currently disabled")
    found = Caller(token=row, account=account, app=app)
    request.scope["fediverse.caller"] = found
    return found
