"""Client applications: registration (`POST /api/v1/apps`) and the Application entity."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fediverse.api.errors import unprocessable
from models.tables import OAuthApp
from models.tokens import parse_scopes

OOB = "urn:ietf:wg:oauth:2.0:oob"
NAME_MAX = 60  # Mastodon's limit on client_name
URI_MAX = 2000
DEFAULT_APP_SCOPES = "read"


@dataclass(frozen=True)
class AppRequest:
    """What `POST /api/v1/apps` asked for, already checked."""

    name: str
    redirect_uris: list[str]
    scopes: str
    website: str | None


def redirect_uris_from(values: list[Any]) -> list[str]:
    """Redirect URIs from a string, a list, or newline-separated strings; 422 when one is not
    an absolute URI without a fragment (or the out-of-band URN)."""
    uris = [line.strip() for value in values for line in str(value).splitlines() if line.strip()]
    if not uris:
        raise unprocessable("Validation failed: Redirect URI can't be blank")
    for uri in uris:
        if uri != OOB and not _absolute_uri(uri):
            raise unprocessable("Validation failed: Redirect URI must be an absolute URI.")
    return list(dict.fromkeys(uris))


def _absolute_uri(uri: str) -> bool:
    if len(uri) > URI_MAX or any(c.isspace() for c in uri):
        return False
    parts = urlsplit(uri)
    return bool(parts.scheme) and not parts.fragment and bool(parts.netloc or parts.path)


def scopes_from(text: str | None, default: str = DEFAULT_APP_SCOPES) -> str:
    """Normalised scopes; 422 naming an unknown one."""
    try:
        return " ".join(parse_scopes(text if text and text.strip() else default))
    except ValueError as exc:
        raise unprocessable(f"Validation failed: Scopes are invalid ({exc})") from None


def website_from(text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > URI_MAX:
        raise unprocessable("Validation failed: Website is invalid")
    return text.strip()


def app_request(name: str | None, redirect_uris: list[Any], scopes: str | None,
                website: str | None) -> AppRequest:
    """Check a registration as Mastodon does; 422 with the first problem."""
    name = (name or "").strip()
    if not name:
        raise unprocessable("Validation failed: Application name can't be blank")
    if len(name) > NAME_MAX:
        raise unprocessable(
            f"Validation failed: Application name is too long (maximum is {NAME_MAX} characters)")
    return AppRequest(name=name, redirect_uris=redirect_uris_from(redirect_uris),
                      scopes=scopes_from(scopes), website=website_from(website))


async def register_app(session: AsyncSession, request: AppRequest) -> OAuthApp:
    """A new app with a fresh client id and secret, flushed (the caller commits)."""
    app = OAuthApp(
        name=request.name, website=request.website, redirect_uris="\n".join(request.redirect_uris),
        scopes=request.scopes, client_id=secrets.token_urlsafe(32),
        client_secret=secrets.token_urlsafe(32),
    )
    session.add(app)
    await session.flush()
    return app


async def app_by_client_id(session: AsyncSession, client_id: str | None) -> OAuthApp | None:
    if not client_id:
        return None
    query = select(OAuthApp).where(OAuthApp.client_id == client_id)
    return (await session.exec(query)).first()


def app_redirect_uris(app: OAuthApp) -> list[str]:
    return [uri for uri in app.redirect_uris.split("\n") if uri]


def application_entity(app: OAuthApp, *, with_secret: bool, vapid_key: str = "") -> dict[str, Any]:
    """Mastodon's Application; the credentials only for the one who registered it."""
    uris = app_redirect_uris(app)
    entity: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": vapid_key,
    }
    if with_secret:
        entity |= {"client_id": app.client_id, "client_secret": app.client_secret,
                   "client_secret_expires_at": 0}
    return entity
