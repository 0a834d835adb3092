"""Remote actor documents into our cache: ActivityStreams to models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activitypub.keys import PublicKey
from activitypub.vocab import as_list, first, host_of, id_of, same_origin, type_of
from inbox.sanitize import plain_text, sanitize_html
from models.remote import upsert_remote_actor

ACTOR_TYPES = {"Person", "Service", "Application", "Group", "Organization"}
MAX_NAME = 2000
MAX_FIELDS = 16


def profile_fields(doc: dict[str, Any]) -> list[dict[str, str]]:
    """The `PropertyValue` name/value pairs of a profile, values sanitised."""
    pairs = [a for a in as_list(doc.get("attachment")) if "PropertyValue" in type_of(a)]
    return [{"name": plain_text(str(a.get("name") or ""))[:MAX_NAME],
             "value": sanitize_html(str(a.get("value") or ""))} for a in pairs[:MAX_FIELDS]]


def _public_keys(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [k for k in as_list(doc.get("publicKey")) if isinstance(k, dict)]


def actor_key(doc: dict[str, Any], key_id: str) -> PublicKey | None:
    """The key `key_id` from an actor document, if the actor really owns it."""
    actor_id = doc.get("id")
    if not isinstance(actor_id, str) or not same_origin(actor_id, key_id):
        return None
    for key in _public_keys(doc):
        owner = key.get("owner", actor_id)
        if key.get("id") == key_id and owner == actor_id and isinstance(key.get("publicKeyPem"), str):
            return PublicKey(key_id=key_id, owner=actor_id, pem=key["publicKeyPem"])
    return None


def image_url(value: Any) -> str | None:
    """The URL of an `icon`/`image`: a string, an Image with a `url`, or a list of those."""
    for item in as_list(value):
        if isinstance(item, str):
            return item
        if isinstance(item, dict):
            found = id_of(first(item.get("url"))) if "url" in item else id_of(item)
            if found:
                return found
    return None


def _own_keys(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The keys the actor may hold: on its own origin, owned by it (no one else's key ids)."""
    actor_id = doc["id"]
    return [k for k in _public_keys(doc)
            if isinstance(k.get("id"), str) and same_origin(k["id"], actor_id)
            and k.get("owner", actor_id) == actor_id]


def remote_actor_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The columns of a remote `Account` row for an actor document."""
    actor_id = doc["id"]
    keys = _own_keys(doc)
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    types = {t for t in as_list(doc.get("type")) if isinstance(t, str)}
    return {
        "uri": actor_id,
        "inbox": id_of(doc.get("inbox")) or "",
        "shared_inbox": id_of(endpoints.get("sharedInbox")) if endpoints else None,
        "outbox": id_of(doc.get("outbox")),
        "followers_url": id_of(doc.get("followers")),
        "following_url": id_of(doc.get("following")),
        "featured_url": id_of(doc.get("featured")),
        "url": id_of(doc.get("url")) or actor_id,
        "note": sanitize_html(doc.get("summary") if isinstance(doc.get("summary"), str) else ""),
        "fields": profile_fields(doc),
        "locked": bool(doc.get("manuallyApprovesFollowers")),
        "bot": bool(types & {"Service", "Application"}),
        "discoverable": bool(doc.get("discoverable")),
        "indexable": bool(doc.get("indexable")),
        "avatar_url": image_url(doc.get("icon")),
        "header_url": image_url(doc.get("image")),
        "also_known_as": [i for i in as_list(doc.get("alsoKnownAs")) if isinstance(i, str)],
        "username": str(doc.get("preferredUsername") or "")[:255],
        "domain": host_of(actor_id),
        "display_name": plain_text(str(doc.get("name") or ""))[:MAX_NAME],
        "key_id": keys[0].get("id") if keys else None,
        "public_key_pem": keys[0].get("publicKeyPem") if keys else None,
        "actor_type": next(iter(types & ACTOR_TYPES), next(iter(types), "Person")),
        "raw": doc,
        "fetched_at": datetime.now(UTC),
        "gone_at": None,
    }


async def save_remote_actor(session, doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Insert or refresh the cached copy of a remote actor."""
    return await upsert_remote_actor(session, remote_actor_fields(doc))


async def remove_remote_actor(session, account) -> None:  # type: ignore[no-untyped-def]
    """Forget a remote actor: its row goes, and with it (by cascade) everything it made."""
    import sqlalchemy as sa

    from models.tables import Account

    if account.kind != "remote":
        raise ValueError("only remote actors are removed this way")
    await session.exec(sa.delete(Account).where(Account.id == account.id))
    session.expunge(account)
