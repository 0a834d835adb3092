"""Issue 4 audit: every entity a client reads carries each attribute docs.joinmastodon.org
documents for it (an empty value where there is nothing to say), as served by a running
instance."""

from __future__ import annotations

from typing import Any

from tests.media_samples import image_bytes
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

ACCOUNT = {"id", "username", "acct", "url", "uri", "display_name", "note", "avatar",
           "avatar_static", "header", "header_static", "locked", "fields", "emojis", "bot",
           "group", "discoverable", "indexable", "hide_collections", "noindex", "created_at",
           "last_status_at", "statuses_count", "followers_count", "following_count"}
CREDENTIAL_SOURCE = {"note", "fields", "privacy", "sensitive", "language",
                     "follow_requests_count", "hide_collections", "discoverable", "indexable"}
STATUS = {"id", "uri", "url", "created_at", "account", "content", "visibility", "sensitive",
          "spoiler_text", "media_attachments", "application", "mentions", "tags", "emojis",
          "reblogs_count", "favourites_count", "replies_count", "in_reply_to_id",
          "in_reply_to_account_id", "reblog", "poll", "card", "language", "edited_at",
          "favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered"}
MEDIA = {"id", "type", "url", "preview_url", "remote_url", "meta", "description", "blurhash"}
NOTIFICATION = {"id", "type", "created_at", "account", "group_key"}  # `status` if about one
RELATIONSHIP = {"id", "following", "showing_reblogs", "notifying", "languages", "followed_by",
                "blocking", "blocked_by", "muting", "muting_notifications", "requested",
                "requested_by", "domain_blocking", "endorsed", "note"}
INSTANCE_V2 = {"domain", "title", "version", "source_url", "description", "usage", "thumbnail",
               "icon", "languages", "configuration", "registrations", "api_versions", "contact",
               "rules"}
V2_CONFIGURATION = {
    "urls": {"streaming"},
    "accounts": {"max_featured_tags", "max_pinned_statuses"},
    "statuses": {"max_characters", "max_media_attachments", "characters_reserved_per_url"},
    "media_attachments": {"supported_mime_types", "image_size_limit", "image_matrix_limit",
                          "video_size_limit", "video_frame_rate_limit", "video_matrix_limit"},
    "polls": {"max_options", "max_characters_per_option", "min_expiration", "max_expiration"},
    "translation": {"enabled"},
}
INSTANCE_V1 = {"uri", "title", "short_description", "description", "email", "version", "urls",
               "stats", "thumbnail", "languages", "registrations", "approval_required",
               "invites_enabled", "configuration", "contact_account", "rules"}
APPLICATION = {"id", "name", "website", "scopes", "redirect_uri", "redirect_uris", "client_id",
               "client_secret", "client_secret_expires_at"}
EDIT = {"content", "spoiler_text", "sensitive", "created_at", "account", "media_attachments",
        "emojis"}
TAG = {"name", "url", "history"}


def missing(entity: dict[str, Any], documented: set[str], what: str) -> list[str]:
    return [f"{what}.{key}" for key in sorted(documented - set(entity))]


async def test_entities_carry_every_documented_attribute(api: Api) -> None:
    alice_account, alice = await api.user("alice")
    bob_account, bob = await api.user("bob")
    await api.http("POST", f"/api/v1/accounts/{alice_account.id}/follow", bob)
    media = await api.http("POST", "/api/v2/media", alice,
                           files={"file": ("a.png", image_bytes("PNG"), "image/png")})
    assert media.status_code in (200, 202), media.text
    posted = (await api.http("POST", "/api/v1/statuses", alice, data={
        "status": "hello @bob #cats", "media_ids[]": media.json()["id"]})).json()
    await api.http("PUT", f"/api/v1/statuses/{posted['id']}", alice,
                   data={"status": "hello again @bob #cats", "media_ids[]": media.json()["id"]})
    await api.http("POST", f"/api/v1/statuses/{posted['id']}/reblog", bob)
    gaps: list[str] = []

    me = (await api.http("GET", "/api/v1/accounts/verify_credentials", alice)).json()
    gaps += missing(me, ACCOUNT | {"source", "role"}, "CredentialAccount")
    gaps += missing(me.get("source", {}), CREDENTIAL_SOURCE, "CredentialAccount.source")
    shown = (await api.http("GET", f"/api/v1/accounts/{alice_account.id}")).json()
    gaps += missing(shown, ACCOUNT, "Account")
    status = (await api.http("GET", f"/api/v1/statuses/{posted['id']}", bob)).json()
    gaps += missing(status, STATUS, "Status")
    gaps += missing(status["media_attachments"][0], MEDIA, "MediaAttachment")
    gaps += missing(status["tags"][0], {"name", "url"}, "Status.tags[]")
    gaps += missing(status["mentions"][0], {"id", "username", "url", "acct"}, "Status.mentions[]")
    home = (await api.http("GET", "/api/v1/timelines/home", bob)).json()
    boosts = [s for s in home if s["reblog"]]
    assert boosts
    gaps += missing(boosts[0], STATUS, "Status(boost)")
    notes = (await api.http("GET", "/api/v1/notifications", alice)).json()
    assert notes
    for note in notes:
        about_status = {"status"} if note["type"] in ("mention", "reblog", "favourite") else set()
        gaps += missing(note, NOTIFICATION | about_status, f"Notification({note['type']})")
    relation = (await api.http("GET", "/api/v1/accounts/relationships", bob,
                               params={"id[]": str(alice_account.id)})).json()[0]
    gaps += missing(relation, RELATIONSHIP, "Relationship")
    v1 = (await api.http("GET", "/api/v1/instance")).json()
    v2 = (await api.http("GET", "/api/v2/instance")).json()
    gaps += missing(v2, INSTANCE_V2, "Instance")
    configuration = v2.get("configuration", {})
    gaps += missing(configuration, set(V2_CONFIGURATION), "Instance.configuration")
    for part, keys in V2_CONFIGURATION.items():
        gaps += missing(configuration.get(part, {}), keys, f"Instance.configuration.{part}")
    gaps += missing(v2.get("registrations", {}), {"enabled", "approval_required", "message"},
                    "Instance.registrations")
    gaps += missing(v2.get("contact", {}), {"email", "account"}, "Instance.contact")
    gaps += missing(v1.get("configuration", {}), set(V2_CONFIGURATION) - {"urls", "translation"},
                    "V1::Instance.configuration")
    gaps += missing(v1, INSTANCE_V1, "V1::Instance")
    app = (await api.http("POST", "/api/v1/apps", data={
        "client_name": "Audit", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})).json()
    gaps += missing(app, APPLICATION, "Application")
    history = (await api.http("GET", f"/api/v1/statuses/{posted['id']}/history", bob)).json()
    for edit in history:
        gaps += missing(edit, EDIT, "StatusEdit")
    source = (await api.http("GET", f"/api/v1/statuses/{posted['id']}/source", alice)).json()
    gaps += missing(source, {"id", "text", "spoiler_text"}, "StatusSource")
    found = (await api.http("GET", "/api/v2/search", bob, params={"q": "cats"})).json()
    gaps += missing(found, {"accounts", "statuses", "hashtags"}, "Search")
    assert found["hashtags"]
    gaps += missing(found["hashtags"][0], TAG, "Tag")
    context = (await api.http("GET", f"/api/v1/statuses/{posted['id']}/context", bob)).json()
    gaps += missing(context, {"ancestors", "descendants"}, "Context")
    markers = (await api.http("POST", "/api/v1/markers", bob,
                              data={"home[last_read_id]": posted["id"]})).json()
    gaps += missing(markers.get("home", {}), {"last_read_id", "version", "updated_at"}, "Marker")
    assert gaps == [], gaps
