"""The HTML pages of the OAuth flow: sign-in and consent, the out-of-band code, errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from html import escape

from starlette.responses import HTMLResponse

from fediverse.api.csrf import FIELD

# no framing (clickjacking the consent button), no scripts, and no Referer carrying a code
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
          "label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.4rem}"
          "button{padding:.5rem}.error{color:#b00}code{font-size:1.2rem;word-break:break-all}")


@dataclass(frozen=True)
class AuthorizeParams:
    """The parameters of an authorization request, carried through the sign-in form."""

    client_id: str = ""
    redirect_uri: str = ""
    response_type: str = ""
    scope: str = ""
    state: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def sign_in_page(params: AuthorizeParams, *, app_name: str, scopes: list[str], csrf: str,
                 action: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    """The form that signs in and grants `app_name` the `scopes`."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">'
        for name, value in asdict(params).items() if value)
    items = "".join(f"<li><code>{escape(scope)}</code></li>" for scope in scopes)
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>Authorize {escape(app_name)}</h1>"
        f"<p><strong>{escape(app_name)}</strong> asks to use your account with these "
        f"permissions:</p><ul>{items}</ul>{problem}"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="{FIELD}" value="{escape(csrf)}">{hidden}'
        '<label for="username">Username or email address</label>'
        '<input id="username" name="username" autocomplete="username" required>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button type="submit" name="decision" value="approve">Authorize</button>'
        '<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>'
        "</form>"
    )
    return _page(f"Authorize {app_name}", body, status)


def code_page(code: str) -> HTMLResponse:
    """The out-of-band redirect: the code to copy into the app."""
    body = ("<h1>Authorization code</h1><p>Copy this code and paste it into the application."
            f'</p><p><code id="authorization-code">{escape(code)}</code></p>'
            f'<input class="oauth-code" readonly value="{escape(code)}" '
            'aria-label="Authorization code">')
    return _page("Authorization code", body)


def error_page(message: str, status: int) -> HTMLResponse:
    return _page("Authorization failed",
                 f'<h1>Authorization failed</h1><p class="error">{escape(message)}</p>', status)
