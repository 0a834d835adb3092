"""The instance's texts, as an admin sets them (`FEDIVERSE_EXTENDED_DESCRIPTION`,
`FEDIVERSE_PRIVACY_POLICY`, `FEDIVERSE_TERMS_OF_SERVICE`, each also as a `*_FILE` of HTML read
at each request): Mastodon's `/api/v1/instance/extended_description`, `privacy_policy` and
`terms_of_service`, and the privacy policy and terms as web pages."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nh3
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import optional_caller
from fediverse.api.entities import iso
from fediverse.api.errors import not_found
from fediverse.routes.common import json_response, state
from fediverse.settings import Settings
from inbox.sanitize import ATTRIBUTES, LINK_REL, SCHEMES, TAGS

log = logging.getLogger(__name__)

PRIVACY_POLICY_PATH = "/privacy-policy"
TERMS_OF_SERVICE_PATH = "/terms-of-service"
MAX_TEXT = 1_000_000  # characters read of a text's file
_PUBLIC = {"Access-Control-Allow-Origin": "*"}
# when the built-in texts were last written
DEFAULT_UPDATED_AT = datetime(2026, 11, 26, tzinfo=UTC)
DEFAULT_PRIVACY_POLICY = """\
<h1>Privacy policy</h1>
<p>This server keeps what it needs to run your account and to share your posts: your e-mail
address and a hash of your password, what you post and upload (images and their generation
prompts included), whom you follow, and the addresses your requests come from, for a short
time, to keep the service safe.</p>
<p>Public posts, your profile and whom you follow are shown to anyone and sent to the other
servers that your followers and the people you mention use. Those servers keep their own
copies under their own rules; deleting a post here asks them to delete theirs too. Direct
and followers-only posts go only to their audience, but the people who run this server can
read them: do not share anything dangerous here.</p>
<p>Nothing is sold or shown to advertisers. You can delete your account at any time; its
data is then removed from this server.</p>
"""

# admin-written pages may use headings and rules besides what posts may
_CLEANER = nh3.Cleaner(
    tags=set(TAGS) | {"h1", "h2", "h3", "h4", "h5", "h6", "hr", "dl", "dt", "dd"},
    clean_content_tags={"script", "style"},
    attributes={k: set(v) for k, v in ATTRIBUTES.items()},
    url_schemes=set(SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
)
_SEEN: dict[str, datetime] = {}  # a text given inline -> when this process first served it


@dataclass(frozen=True)
class Text:
    content: str  # sanitised HTML
    updated_at: datetime


def _given(inline: str, path: str, name: str) -> Text | None:
    """The text from its file (its time: the file's), else as given (the time this process
    first served it); None when neither is set."""
    if path:
        try:
            file = Path(path).expanduser()
            with file.open(encoding="utf-8") as stream:
                raw = stream.read(MAX_TEXT)
            moment = datetime.fromtimestamp(file.stat().st_mtime, UTC)
            return Text(_CLEANER.clean(raw), moment)
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("%s_FILE: cannot read %s (%s)", name, path, exc)
    if not inline.strip():
        return None
    return Text(_CLEANER.clean(inline), _SEEN.setdefault(inline, datetime.now(UTC)))


def extended_description(settings: Settings) -> Text:
    return (_given(settings.extended_description, settings.extended_description_file,
                   "FEDIVERSE_EXTENDED_DESCRIPTION")
            or Text("", DEFAULT_UPDATED_AT))


def privacy_policy(settings: Settings) -> Text:
    return (_given(settings.privacy_policy, settings.privacy_policy_file,
                   "FEDIVERSE_PRIVACY_POLICY")
            or Text(DEFAULT_PRIVACY_POLICY, DEFAULT_UPDATED_AT))


def terms_of_service(settings: Settings) -> Text | None:
    return _given(settings.terms_of_service, settings.terms_of_service_file,
                  "FEDIVERSE_TERMS_OF_SERVICE")


def has_terms(settings: Settings) -> bool:
    return bool(settings.terms_of_service_file or settings.terms_of_service.strip())


async def extended_description_route(request: Request) -> Response:
    await optional_caller(request)  # a bad token is still a 401
    text = extended_description(state(request).settings)
    return json_response({"updated_at": iso(text.updated_at), "content": text.content},
                         headers=_PUBLIC)


async def privacy_policy_route(request: Request) -> Response:
    await optional_caller(request)
    text = privacy_policy(state(request).settings)
    return json_response({"updated_at": iso(text.updated_at), "content": text.content},
                         headers=_PUBLIC)


async def terms_of_service_route(request: Request) -> Response:
    """Mastodon 4.4's TermsOfService: the one in effect (no versions kept here)."""
    await optional_caller(request)
    text = terms_of_service(state(request).settings)
    if text is None:
        raise not_found()
    return json_response({"effective_date": text.updated_at.date().isoformat(),
                          "effective": True, "content": text.content, "succeeded_by": None},
                         headers=_PUBLIC)


def _page(title: str, content: str) -> Response:
    return HTMLResponse(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
                        f"{html.escape(title)}</title></head><body>{content}</body></html>")


async def privacy_policy_page(request: Request) -> Response:
    settings = state(request).settings
    return _page(f"Privacy policy - {settings.domain}", privacy_policy(settings).content)


async def terms_of_service_page(request: Request) -> Response:
    settings = state(request).settings
    text = terms_of_service(settings)
    if text is None:
        return HTMLResponse("<p>This server has no terms of service.</p>", status_code=404)
    return _page(f"Terms of service - {settings.domain}", text.content)


routes: list[BaseRoute] = [
    Route("/api/v1/instance/extended_description", extended_description_route, methods=["GET"]),
    Route("/api/v1/instance/privacy_policy", privacy_policy_route, methods=["GET"]),
    Route("/api/v1/instance/terms_of_service", terms_of_service_route, methods=["GET"]),
    Route(PRIVACY_POLICY_PATH, privacy_policy_page, methods=["GET"]),
    Route(TERMS_OF_SERVICE_PATH, terms_of_service_page, methods=["GET"]),
]
