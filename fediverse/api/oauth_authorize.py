"""`/oauth/authorize`: check the request, sign the person in, and hand back a code.

Two kinds of refusal, as RFC 6749 4.1.2.1 says: an unknown client or a redirect URI that is
not the app's is shown on our page (`PageError`: never redirect to an unchecked URI); any
other problem goes back to the app in the redirect (`OAuthError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.oauth_apps import OOB, app_by_client_id, app_redirect_uris
from fediverse.api.oauth_grants import (
    OAuthError,
    check_code_challenge,
    create_code,
    granted_scopes,
    login,
)
from fediverse.api.oauth_pages import AuthorizeParams
from models.tables import OAuthApp

NATIVE_PATH = "/oauth/authorize/native"


class PageError(Exception):
    """A refusal shown on our own page, never redirected."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Checked:
    """An authorization request that may be granted."""

    app: OAuthApp
    redirect_uri: str
    scopes: str
    challenge: str | None
    state: str


async def checked_app(session: AsyncSession, p: AuthorizeParams) -> tuple[OAuthApp, str]:
    """The app and the redirect URI to answer at; `PageError` when either is wrong."""
    app = await app_by_client_id(session, p.client_id)
    if app is None:
        raise PageError(400, "Client authentication failed due to unknown client.")
    registered = app_redirect_uris(app)
    uri = p.redirect_uri or (registered[0] if len(registered) == 1 else "")
    if uri not in registered:  # exact match, as Mastodon
        raise PageError(400, "The redirect URI included is not valid.")
    return app, uri


def checked_grant(app: OAuthApp, uri: str, p: AuthorizeParams) -> Checked:
    """The rest of the request; `OAuthError` for the app."""
    if p.response_type != "code":
        raise OAuthError(400, "unsupported_response_type",
                         "The authorization server does not support this response type.")
    scopes = granted_scopes(app, p.scope)
    challenge = check_code_challenge(p.code_challenge, p.code_challenge_method)
    return Checked(app=app, redirect_uri=uri, scopes=scopes, challenge=challenge, state=p.state)


async def grant_code(session: AsyncSession, checked: Checked, username: str | None,
                     password: str | None) -> str | None:
    """A code for the person these credentials sign in, or None if they do not."""
    account = await login(session, username, password)
    if account is None:
        return None
    return await create_code(session, checked.app, account, redirect_uri=checked.redirect_uri,
                             scopes=checked.scopes, challenge=checked.challenge)


def redirect_target(redirect_uri: str, answer: dict[str, str], state: str) -> str:
    """Where the browser goes next: the app's URI with `answer` (and `state`) in the query,
    or our page showing the code for the out-of-band URI."""
    query = dict(answer) | ({"state": state} if state else {})
    if redirect_uri == OOB:
        return f"{NATIVE_PATH}?{urlencode(query)}"
    separator = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{separator}{urlencode(query)}"
