"""CSRF protection for our HTML forms: a signed double-submit cookie.

The page carries a random token in a hidden field and the same token, signed with a key
only this server knows, in a cookie; a form post is accepted only when both agree.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from fediverse.routes.common import state

COOKIE = "fediverse_csrf"
FIELD = "authenticity_token"
MAX_AGE = 3600


def _key(request: Request) -> bytes:
    # derived from the instance's own private key: stable across restarts, never sent anywhere
    secret = state(request).instance_private_key_pem.encode()
    return hashlib.sha256(b"fediverse csrf\x00" + secret).digest()


def _sign(request: Request, token: str) -> str:
    return hmac.new(_key(request), token.encode(), hashlib.sha256).hexdigest()


def _cookie_token(request: Request) -> str | None:
    """The token in a well-signed cookie, or None."""
    token, _, signature = request.cookies.get(COOKIE, "").partition(".")
    if token and signature and hmac.compare_digest(signature, _sign(request, token)):
        return token
    return None


def csrf_token(request: Request) -> str:
    """The token for a page's form: the cookie's if it is still good, else a new one."""
    return _cookie_token(request) or secrets.token_urlsafe(24)


def set_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE, f"{token}.{_sign(request, token)}", max_age=MAX_AGE, path="/oauth",
        httponly=True, samesite="lax", secure=request.url.scheme == "https",
    )


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether a posted form's token matches the signed cookie."""
    token = _cookie_token(request)
    return bool(token and submitted) and hmac.compare_digest(token or "", submitted or "")
