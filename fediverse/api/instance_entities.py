"""The instance to Mastodon's Instance entities (v1 and v2) and the limits clients read."""

from __future__ import annotations

from typing import Any

from fediverse.api.instance_assets import ICON_SIZES, THUMBNAIL_PATH, icon_url, thumbnail
from fediverse.api.instance_facts import InstanceFacts
from fediverse.api.instance_texts import PRIVACY_POLICY_PATH, TERMS_OF_SERVICE_PATH, has_terms
from fediverse.api.posting import MAX_CHARS, MAX_MEDIA
from fediverse.media.processing import MAX_BYTES, MAX_PIXELS, accepted_mime_types
from fediverse.media.uploads import DESCRIPTION_LIMIT
from fediverse.settings import Settings
from fediverse.state import VERSION
from models import polls

MASTODON_VERSION = "4.3.0"  # the API level we answer as, so that clients offer what we do
API_VERSION = 2
DESCRIPTION = "A fediverse server whose posts center on generated images."
LANGUAGES = ["en"]


def version() -> str:
    return f"{MASTODON_VERSION} (compatible; fediverse {VERSION})"


def streaming_url(settings: Settings) -> str:
    return ("ws" if settings.scheme == "http" else "wss") + "://" + settings.domain


def _limits() -> dict[str, Any]:
    """The configuration both versions share."""
    return {
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        "statuses": {"max_characters": MAX_CHARS, "max_media_attachments": MAX_MEDIA,
                     "characters_reserved_per_url": 23},
        "media_attachments": {
            "supported_mime_types": accepted_mime_types(),
            "description_limit": DESCRIPTION_LIMIT,
            "image_size_limit": MAX_BYTES, "image_matrix_limit": MAX_PIXELS,
            "video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0,
        },
        "polls": {"max_options": polls.MAX_OPTIONS,
                  "max_characters_per_option": polls.MAX_OPTION_CHARS,
                  "min_expiration": polls.MIN_EXPIRATION, "max_expiration": polls.MAX_EXPIRATION},
    }


def instance_v2(settings: Settings, facts: InstanceFacts, vapid_key: str = "") -> dict[str, Any]:
    base = settings.base_url
    picture = thumbnail()
    return {
        "domain": settings.domain,
        "title": settings.domain,
        "version": version(),
        "source_url": "",
        "description": DESCRIPTION,
        "usage": {"users": {"active_month": facts.active_month}},
        "thumbnail": {"url": base + THUMBNAIL_PATH, "blurhash": picture.blurhash,
                      "versions": {"@1x": base + THUMBNAIL_PATH, "@2x": base + THUMBNAIL_PATH}},
        "icon": [{"src": icon_url(base, size), "size": f"{size}x{size}"} for size in ICON_SIZES],
        "languages": LANGUAGES,
        "configuration": {
            "urls": {"streaming": streaming_url(settings), "status": None, "about": None,
                     "privacy_policy": base + PRIVACY_POLICY_PATH,
                     "terms_of_service": (base + TERMS_OF_SERVICE_PATH
                                          if has_terms(settings) else None)},
            "vapid": {"public_key": vapid_key},
            **_limits(),
            "translation": {"enabled": False},
        },
        "registrations": {"enabled": settings.open_registrations, "approval_required": False,
                          "message": None, "url": None},
        "api_versions": {"mastodon": API_VERSION},
        "contact": {"email": "", "account": facts.contact},
        "rules": [],
    }


def instance_v1(settings: Settings, facts: InstanceFacts) -> dict[str, Any]:
    return {
        "uri": settings.domain,
        "title": settings.domain,
        "short_description": DESCRIPTION,
        "description": DESCRIPTION,
        "email": "",
        "version": version(),
        "urls": {"streaming_api": streaming_url(settings)},
        "stats": {"user_count": facts.user_count, "status_count": facts.status_count,
                  "domain_count": facts.domain_count},
        "thumbnail": settings.base_url + THUMBNAIL_PATH,
        "languages": LANGUAGES,
        "registrations": settings.open_registrations,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": _limits(),
        "contact_account": facts.contact,
        "rules": [],
    }
