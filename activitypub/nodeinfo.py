"""NodeInfo 2.0 and 2.1 documents, and the `/.well-known/nodeinfo` that points at them."""

from __future__ import annotations

import re
from typing import Any

from activitypub.errors import DocumentError

VERSIONS = ("2.0", "2.1")
_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{version}"
_SOFTWARE_NAME = re.compile(r"[a-z0-9-]+")


def schema_url(version: str) -> str:
    """The `rel` of a NodeInfo version, which is also its schema's URL."""
    _check_version(version)
    return _SCHEMA.format(version=version)


def content_type(version: str) -> str:
    """The content type a NodeInfo document of `version` is served with."""
    return f'application/json; profile="{schema_url(version)}#"'


CONTENT_TYPE_20 = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"'
CONTENT_TYPE_21 = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'


def well_known(base_url: str) -> dict[str, Any]:
    """`/.well-known/nodeinfo`: links to our documents at `/nodeinfo/<version>`."""
    base = base_url.rstrip("/")
    return {
        "links": [
            {"rel": schema_url(version), "href": f"{base}/nodeinfo/{version}"}
            for version in VERSIONS
        ]
    }


def document(
    version: str,
    *,
    software_name: str,
    software_version: str,
    repository: str | None = None,
    homepage: str | None = None,
    users_total: int,
    users_active_month: int,
    users_active_halfyear: int,
    local_posts: int,
    open_registrations: bool,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """A NodeInfo document; 2.0 has no `repository` or `homepage` in `software`."""
    _check_version(version)
    if not _SOFTWARE_NAME.fullmatch(software_name):
        raise DocumentError("software name must match ^[a-z0-9-]+$")
    software: dict[str, str] = {"name": software_name, "version": software_version}
    if version == "2.1":
        if repository:
            software["repository"] = repository
        if homepage:
            software["homepage"] = homepage
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": max(users_total, 0),
                "activeMonth": max(users_active_month, 0),
                "activeHalfyear": max(users_active_halfyear, 0),
            },
            "localPosts": max(local_posts, 0),
        },
        "metadata": metadata,
    }


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise DocumentError(f"unknown NodeInfo version {version!r}")
