"""Mastodon API: apps and OAuth 2 (`/api/v1/apps`, `/oauth/*`, the server metadata)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fediverse.api import oauth_grants as grants
from fediverse.api.auth import caller
from fediverse.api.csrf import FIELD, csrf_ok, csrf_token, set_csrf_cookie
from fediverse.api.errors import not_found
from fediverse.api.oauth_apps import app_request, application_entity, register_app
from fediverse.api.oauth_authorize import (
    NATIVE_PATH,
    Checked,
    PageError,
    checked_app,
    checked_grant,
    grant_code,
    redirect_target,
)
from fediverse.api.oauth_grants import OAuthError
from fediverse.api.oauth_pages import AuthorizeParams, code_page, error_page, sign_in_page
from fediverse.api.params import Params, params
from fediverse.push.keys import instance_vapid_keys
from fediverse.routes.common import json_response, state
from models.tables import OAuthApp
from models.tokens import SCOPES, TOP_LEVEL_SCOPES

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def writer(request: Request) -> AsyncSession:
    """A session that takes SQLite's write lock when it begins (it reads, then writes)."""
    return state(request).writer()


def oauth_error(exc: OAuthError) -> Response:
    headers = dict(_NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="OAuth"'
    return json_response({"error": exc.error, "error_description": exc.description},
                         status=exc.status, headers=headers)


# apps

async def create_app_route(request: Request) -> Response:
    p = await params(request)
    wanted = app_request(p.string("client_name"), p.getlist("redirect_uris"), p.string("scopes"),
                         p.string("website"))
    async with writer(request) as session:
        app = await register_app(session, wanted)
        await session.commit()
    keys = await instance_vapid_keys(state(request).sessions)
    return json_response(application_entity(app, with_secret=True, vapid_key=keys.public_key))


async def verify_app(request: Request) -> Response:
    found = await caller(request, user=False)
    if found.app is None:
        raise not_found("This access token belongs to no application")
    keys = await instance_vapid_keys(state(request).sessions)
    return json_response(application_entity(found.app, with_secret=False,
                                            vapid_key=keys.public_key))


# authorization

def _authorize_params(p: Params) -> AuthorizeParams:
    names = AuthorizeParams.__dataclass_fields__
    return AuthorizeParams(**{name: str(p.string(name) or "") for name in names})


async def _checked(request: Request, p: AuthorizeParams) -> Checked:
    async with state(request).sessions() as session:
        app, uri = await checked_app(session, p)
    try:
        return checked_grant(app, uri, p)
    except OAuthError as exc:
        raise _Redirect(redirect_target(uri, _error_answer(exc), p.state)) from exc


class _Redirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _error_answer(exc: OAuthError) -> dict[str, str]:
    return {"error": exc.error, "error_description": exc.description}


def _form(request: Request, p: AuthorizeParams, checked: Checked, *, error: str | None = None,
          status: int = 200) -> Response:
    token = csrf_token(request)
    page = sign_in_page(p, app_name=checked.app.name, scopes=checked.scopes.split(), csrf=token,
                        action=request.url.path, error=error, status=status)
    set_csrf_cookie(request, page, token)
    return page


async def authorize(request: Request) -> Response:
    """GET shows the sign-in and consent form; POST signs in and redirects with a code."""
    p = await params(request)
    form = _authorize_params(p)
    if request.method == "POST" and not csrf_ok(request, p.string(FIELD)):
        return error_page("The form has expired or was not sent by this site; try again.", 403)
    try:
        checked = await _checked(request, form)
        if request.method == "GET":
            return _form(request, form, checked)
        return await _decide(request, p, form, checked)
    except PageError as exc:
        return error_page(exc.message, exc.status)
    except _Redirect as exc:
        return RedirectResponse(exc.url, status_code=302, headers=_NO_STORE)


async def _decide(request: Request, p: Params, form: AuthorizeParams, checked: Checked
                  ) -> Response:
    if p.string("decision") == "deny":
        denied = {"error": "access_denied", "error_description": "The resource owner denied "
                  "the request."}
        raise _Redirect(redirect_target(checked.redirect_uri, denied, checked.state))
    async with writer(request) as session:
        code = await grant_code(session, checked, p.string("username"), p.string("password"))
        await session.commit()
    if code is None:
        return _form(request, form, checked, error="Invalid username, email or password.",
                     status=422)
    raise _Redirect(redirect_target(checked.redirect_uri, {"code": code}, checked.state))


async def native(request: Request) -> Response:
    """The out-of-band redirect's page: the code to copy, or why there is none."""
    query = request.query_params
    if "error" in query:
        return error_page(query.get("error_description") or query["error"], 400)
    code = query.get("code", "")
    return code_page(code) if code else error_page("No authorization code was given.", 400)


# tokens

def _client_credentials(request: Request, p: Params) -> tuple[str | None, str | None]:
    """client_id and client_secret from HTTP Basic (RFC 6749 2.3.1) or the body."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return unquote(user), unquote(secret)
    return p.string("client_id"), p.string("client_secret")


async def token(request: Request) -> Response:
    p = await params(request)
    grant_type = p.string("grant_type")
    try:
        async with writer(request) as session:
            app = await grants.authenticate_client(session, *_client_credentials(request, p))
            issued = await _grant(request, session, app, grant_type, p)
            await session.commit()
    except OAuthError as exc:
        return oauth_error(exc)
    return json_response(issued.response(), headers=_NO_STORE)


async def _grant(request: Request, session: AsyncSession, app: OAuthApp, grant_type: str | None,
                 p: Params) -> grants.Issued:
    if grant_type == "authorization_code":
        return await grants.exchange_code(session, app, p.string("code"), p.string("redirect_uri"),
                                          p.string("code_verifier"))
    if grant_type == "client_credentials":
        return await grants.issue_token(session, app, None, grants.granted_scopes(
            app, p.string("scope")))
    if grant_type == "refresh_token":
        return await grants.refresh_grant(session, app, p.string("refresh_token"),
                                          p.string("scope"))
    if grant_type == "password" and state(request).settings.password_grant:
        return await grants.password_grant(session, app, p.string("username"),
                                           p.string("password"), p.string("scope"))
    if not grant_type:
        raise OAuthError(400, "invalid_request", "The request is missing grant_type.")
    raise OAuthError(400, "unsupported_grant_type",
                     "The authorization grant type is not supported by the authorization server.")


async def revoke(request: Request) -> Response:
    p = await params(request)
    try:
        async with writer(request) as session:
            app = await grants.authenticate_client(session, *_client_credentials(request, p))
            await grants.revoke(session, app, p.string("token"))
            await session.commit()
    except OAuthError as exc:
        return oauth_error(exc)
    return json_response({})


async def server_metadata(request: Request) -> Response:
    """RFC 8414 metadata, as Mastodon serves it."""
    base = state(request).urls.base
    granular = sorted(SCOPES - TOP_LEVEL_SCOPES)
    grant_types = ["authorization_code", "client_credentials"]
    if state(request).settings.password_grant:
        grant_types.append("password")
    return json_response({
        "issuer": base + "/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": base + "/oauth/authorize",
        "token_endpoint": base + "/oauth/token",
        "revocation_endpoint": base + "/oauth/revoke",
        "app_registration_endpoint": base + "/api/v1/apps",
        "scopes_supported": sorted(TOP_LEVEL_SCOPES) + granular,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": list(grants.PKCE_METHODS),
        "grant_types_supported": grant_types,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }, headers={"Access-Control-Allow-Origin": "*"})


routes: list[BaseRoute] = [
    Route("/api/v1/apps", create_app_route, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", verify_app, methods=["GET"]),
    Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
    Route("/oauth/authorize/", authorize, methods=["GET", "POST"]),
    Route(NATIVE_PATH, native, methods=["GET"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", server_metadata, methods=["GET"]),
]
