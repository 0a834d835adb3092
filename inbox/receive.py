"""The front of every inbox: limits, signature, origin, then a durable job. Nothing is applied here."""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from activitypub.httpsig import verify_request
from activitypub.keys import KeyLookup
from activitypub.vocab import host_of, id_of, same_origin
from inbox.relayed import verify_relayed
from models.instance_blocks import server_blocks
from models.queue import GroupCommit, enqueue_rows, run_write

MAX_BODY = 1_000_000  # Mastodon refuses bodies over 1 MB too
MAX_DEPTH = 24
INBOX_QUEUE = "inbox"
_CONTAINERS = (dict, list)
_JSON_TYPES = ("application/activity+json", "application/ld+json", "application/json")
_SIGNATURE_HEADERS = frozenset({"signature", "signature-input"})
UNSIGNED = "request is not signed (no Signature or Signature-Input header)"
# one group commit per session factory: concurrent POSTs share their enqueue transaction
_ENQUEUERS: weakref.WeakKeyDictionary[Any, GroupCommit] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Outcome:
    status: int
    reason: str = ""
    queued: bool = False
    sender: str = ""  # the verified HTTP signer's actor (a relay's, for relayed activities)


async def read_capped(stream: AsyncIterator[bytes], content_length: str | None, cap: int) -> bytes | None:
    """The whole body, or None as soon as it is known to exceed `cap` bytes."""
    if content_length is not None and content_length.isdigit() and int(content_length) > cap:
        return None
    chunks, size = [], 0
    async for chunk in stream:
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def is_signed(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether the request carries a signature of either standard: a `Signature` or
    `Signature-Input` header, or `Authorization: Signature ...` (lower-cased names). One
    without is refused before its body is read (401, as Mastodon answers it)."""
    for name, value in headers:
        if name in _SIGNATURE_HEADERS or (
                name == "authorization" and value[:10].lower() == "signature "):
            return True
    return False


def _too_deep(value: object, limit: int) -> bool:
    """Whether anything sits more than `limit` levels below `value`: whether a non-empty
    list or object is found `limit` levels down (one level of containers at a time)."""
    level = [value] if isinstance(value, _CONTAINERS) else []
    for _ in range(limit):
        inner: list[Any] = []
        for item in level:
            inner += [v for v in (item.values() if isinstance(item, dict) else item)
                      if isinstance(v, _CONTAINERS)]
        if not inner:
            return False
        level = inner
    return any(level)


def parse_activity(body: bytes) -> tuple[dict | None, str]:
    """The activity as a dict, or None and the reason it is refused."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, "body is not valid JSON"
    if not isinstance(doc, dict):
        return None, "body is not a JSON object"
    if _too_deep(doc, MAX_DEPTH):
        return None, f"body is nested deeper than {MAX_DEPTH} levels"
    if not isinstance(doc.get("type"), str | list):
        return None, "activity has no type"
    if not id_of(doc.get("actor")):
        return None, "activity has no actor"
    activity_id = doc.get("id")
    if activity_id is not None and not isinstance(activity_id, str):
        return None, "activity id is not a string"
    return doc, ""


async def receive(
    *, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes,
    key_lookup: KeyLookup, sessions, recipient: str | None,  # type: ignore[no-untyped-def]
) -> Outcome:
    """Check one inbox POST and store it as a job; the status code and reason to answer with."""
    header_list = list(headers)
    content_type = next((v for k, v in header_list if k.lower() == "content-type"), "")
    if not any(t in content_type.lower() for t in _JSON_TYPES):
        return Outcome(415, "content type must be application/activity+json")
    activity, problem = parse_activity(body)
    if activity is None:
        return Outcome(400, problem)
    actor = id_of(activity["actor"]) or ""
    if await server_blocks(sessions).suspended(host_of(actor)):  # as Mastodon: 403, unread
        return Outcome(403, "the actor's server is suspended here")
    result = await verify_request(method, url, header_list, body, key_lookup)
    if not result.ok:
        return Outcome(401, f"signature refused: {result.reason}")
    if await server_blocks(sessions).suspended(host_of(result.owner)):
        return Outcome(403, "the signer's server is suspended here")
    signer = result.key_id
    if result.owner != actor:  # relayed? then the actor's LD signature must vouch for it
        relayed = await verify_relayed(activity, actor, key_lookup)
        if not relayed.ok:
            return Outcome(401, f"the signer {result.owner} is not the activity's actor {actor}, "
                                f"and {relayed.reason}")
        signer = relayed.key_id
    activity_id = activity.get("id")
    if activity_id and not same_origin(activity_id, actor):
        return Outcome(400, "the activity id is not on the actor's host")
    dedupe = activity_id or "sha256:" + hashlib.sha256(body).hexdigest()
    payload = {"activity": activity, "recipient": recipient, "signer": signer}
    queued = await _enqueuer(sessions).add((payload, dedupe))
    return Outcome(202, queued=queued, sender=result.owner)


def _enqueuer(sessions) -> GroupCommit:  # type: ignore[no-untyped-def]
    """Stores accepted activities, many concurrent POSTs in one transaction: the answer
    (202) still waits until its own activity is committed."""
    enqueuer = _ENQUEUERS.get(sessions)
    if enqueuer is None:
        async def store(items: list[tuple[dict[str, Any], str]]) -> list[bool]:
            return await run_write(sessions, lambda connection: enqueue_rows(
                connection, INBOX_QUEUE, "activity", items))

        enqueuer = _ENQUEUERS[sessions] = GroupCommit(store)
    return enqueuer
