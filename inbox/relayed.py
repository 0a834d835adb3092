"""Activities relayed by a third party: HTTP-signed by the relay, LD-signed by their actor.

Mastodon's relays (and Mastodon itself, forwarding replies) send an activity whose HTTP
signature is the sender's while the activity carries its actor's `RsaSignature2017`
Linked Data signature. `verify_relayed` accepts such an activity when that LD signature is
valid and made with a key of the activity's actor; the origin rules that follow (activity
and objects on the actor's host) then hold against the actor as for a direct delivery.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from activitypub.errors import ActivityPubError
from activitypub.keys import KeyLookup, PublicKey
from activitypub.ldsig import ld_signature_creator, verify_ld


@dataclass(frozen=True)
class Relayed:
    """`key_id` of the actor's key that LD-signed the activity, or None and `reason`."""

    key_id: str | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.key_id is not None


async def verify_relayed(activity: dict, actor: str, key_lookup: KeyLookup) -> Relayed:
    """Whether `activity` carries a valid `RsaSignature2017` by a key of `actor`.

    The key is looked up as HTTP signatures' are (cached, else fetched); when it fails to
    verify, it is fetched afresh once, in case the actor changed its key.
    """
    creator = ld_signature_creator(activity)
    if creator is None:
        return Relayed(None, "it carries no RsaSignature2017 signature")
    reason = ""
    for refresh in (False, True):
        try:
            key = await key_lookup(creator, refresh)
        except ActivityPubError as exc:
            return Relayed(None, f"its LD signature's key {creator} could not be fetched: {exc}")
        reason = _key_problem(key, creator, actor)
        if key is None or reason:
            continue
        # normalising JSON-LD takes milliseconds: off the event loop
        checked = await asyncio.to_thread(verify_ld, activity, key.pem)
        if checked.ok:
            return Relayed(creator)
        reason = f"its LD signature is refused: {checked.reason}"
    return Relayed(None, reason)


def _key_problem(key: PublicKey | None, creator: str, actor: str) -> str:
    if key is None:
        return f"its LD signature's key {creator} is unknown"
    if key.owner != actor:
        return f"its LD signature's key {creator} belongs to {key.owner or 'no one'}, not the actor"
    return ""
