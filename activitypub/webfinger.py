"""WebFinger (RFC 7033) and host-meta: answering for local accounts, looking up remote ones."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import quoteattr

from activitypub.errors import ActivityPubError, DocumentError

if TYPE_CHECKING:
    from activitypub.fetch import Fetcher

JRD_CONTENT_TYPE = "application/jrd+json; charset=utf-8"
XRD_CONTENT_TYPE = "application/xrd+xml; charset=utf-8"
JRD_ACCEPT = "application/jrd+json, application/json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
AVATAR_REL = "http://webfinger.net/rel/avatar"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
_AS_PROFILE = "https://www.w3.org/ns/activitystreams"

_USERNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}(?::[0-9]{{1,5}})?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ACTOR_PATHS = (re.compile(r"/users/([^/]+)/?"), re.compile(r"/@([^/]+)/?"))
_MAX_RESOURCE = 512


class WebFingerError(ActivityPubError):
    """A `resource` we cannot answer for; `status` is 400 (malformed) or 404 (not ours)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_resource(resource: str | None, *, local_domain: str) -> str:
    """The local username a WebFinger `resource` names, or a `WebFingerError`."""
    resource = (resource or "").strip()
    if not resource:
        raise WebFingerError(400, "missing resource")
    if len(resource) > _MAX_RESOURCE:
        raise WebFingerError(400, "resource too long")
    lowered = resource.lower()
    if lowered.startswith(("https://", "http://")):
        return _parse_url(resource, local_domain)
    if lowered.startswith("acct:"):
        resource = resource[len("acct:"):]
    elif _SCHEME.match(resource):
        raise WebFingerError(400, "resource is neither acct: nor a URL of ours")
    return _parse_acct(resource.removeprefix("@"), local_domain)


def _parse_acct(acct: str, local_domain: str) -> str:
    username, at, domain = acct.rpartition("@")
    if not at:
        raise WebFingerError(400, "resource has no @domain")
    # The instance actor is named after the domain, port included: acct:DOMAIN@DOMAIN.
    is_instance = username.lower() == local_domain.lower()
    if not is_instance and not _USERNAME.fullmatch(username):
        raise WebFingerError(400, "malformed username")
    if not _DOMAIN.fullmatch(domain):
        raise WebFingerError(400, "malformed domain")
    if domain.lower() != local_domain.lower():
        raise WebFingerError(404, "not a local account")
    return username


def _parse_url(url: str, local_domain: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise WebFingerError(400, "malformed URL") from exc
    if "@" in parts.netloc or not _DOMAIN.fullmatch(parts.netloc):
        raise WebFingerError(400, "malformed URL host")
    if parts.netloc.lower() != local_domain.lower():
        raise WebFingerError(404, "not a local URL")
    if parts.query:
        raise WebFingerError(404, "unknown URL form")
    for pattern in _ACTOR_PATHS:
        match = pattern.fullmatch(parts.path)
        if match:
            if not _USERNAME.fullmatch(match.group(1)):
                raise WebFingerError(400, "malformed username")
            return match.group(1)
    raise WebFingerError(404, "unknown URL form")


def build_jrd(
    *,
    username: str,
    domain: str,
    actor_url: str,
    profile_url: str,
    avatar_url: str | None = None,
    avatar_type: str | None = None,
) -> dict[str, Any]:
    """The JRD Mastodon answers for a local account."""
    scheme = urlsplit(actor_url).scheme or "https"
    links: list[dict[str, str]] = [
        {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url},
        {"rel": "self", "type": "application/activity+json", "href": actor_url},
        {"rel": SUBSCRIBE_REL, "template": f"{scheme}://{domain}/authorize_interaction?uri={{uri}}"},
    ]
    if avatar_url:
        avatar = {"rel": AVATAR_REL, "href": avatar_url}
        if avatar_type:
            avatar["type"] = avatar_type
        links.append(avatar)
    return {
        "subject": f"acct:{username}@{domain}",
        "aliases": [profile_url, actor_url],
        "links": links,
    }


def _lrdd_template(base_url: str) -> str:
    return base_url.rstrip("/") + "/.well-known/webfinger?resource={uri}"


def host_meta_xml(base_url: str) -> str:
    """`/.well-known/host-meta`: an XRD pointing at our WebFinger endpoint."""
    template = quoteattr(_lrdd_template(base_url))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={template}/>\n'
        "</XRD>\n"
    )


def host_meta_json(base_url: str) -> dict[str, Any]:
    """`/.well-known/host-meta.json`."""
    return {"links": [{"rel": "lrdd", "template": _lrdd_template(base_url)}]}


def parse_handle(handle: str) -> tuple[str, str]:
    """`@user@host`, `user@host` or `acct:user@host` as (user, host); the host keeps its port."""
    text = handle.strip()
    if text.lower().startswith("acct:"):
        text = text[len("acct:"):]
    username, at, host = text.removeprefix("@").partition("@")
    if not at or not _USERNAME.fullmatch(username) or not _DOMAIN.fullmatch(host):
        raise DocumentError(f"malformed handle {handle!r}")
    return username, host.lower()


def actor_url_from_jrd(jrd: dict[str, Any]) -> str:
    """The href of the JRD's `self` link of an ActivityPub type."""
    links = jrd.get("links")
    if not isinstance(links, list):
        raise DocumentError("JRD has no links")
    for link in links:
        if isinstance(link, dict) and link.get("rel") == "self" and _is_activity_link(link):
            href = link.get("href")
            if isinstance(href, str) and href.startswith(("https://", "http://")):
                return href
    raise DocumentError("JRD has no ActivityPub self link")


def _is_activity_link(link: dict[str, Any]) -> bool:
    media = str(link.get("type", ""))
    kind = media.split(";", 1)[0].strip().lower()
    if kind == "application/activity+json":
        return True
    return kind == "application/ld+json" and _AS_PROFILE in media


async def lookup(handle: str, fetcher: Fetcher, *, scheme: str = "https") -> str:
    """Resolve a handle to its actor URL through the host's WebFinger endpoint."""
    username, host = parse_handle(handle)
    resource = quote(f"acct:{username}@{host}", safe=":@")
    url = f"{scheme}://{host}/.well-known/webfinger?resource={resource}"
    jrd = await fetcher.get_json(url, accept=JRD_ACCEPT)
    return actor_url_from_jrd(jrd)
