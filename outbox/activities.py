"""Activities around our objects, as Mastodon sends them: pure builders over plain dicts.

Every activity id is a stable URL of ours, derived from the row it stands for, so a second
sending of the same activity carries the same id and the other side ignores it.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from activitypub.jsonld import MASTODON_CONTEXT
from activitypub.vocab import PUBLIC

Activity = dict[str, Any]


def _activity(id: str, type: str, actor: str, obj: Any, *, context: bool = True,
              **extra: Any) -> Activity:
    activity: Activity = {"@context": copy.deepcopy(MASTODON_CONTEXT)} if context else {}
    activity |= {"id": id, "type": type, "actor": actor}
    activity |= {k: v for k, v in extra.items() if v is not None}
    activity["object"] = obj
    return activity


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)  # milliseconds: two edits in a second differ


def create_id(note_uri: str) -> str:
    return note_uri + "/activity"


def create(note: dict[str, Any], *, context: bool = True) -> Activity:
    """`Create` of a note, addressed as the note is."""
    return _activity(create_id(note["id"]), "Create", note["attributedTo"], note,
                     context=context, published=note["published"], to=note["to"], cc=note["cc"])


def update_note(note: dict[str, Any], updated: datetime) -> Activity:
    """`Update` of an edited note; `updated` (also on the note) is later than the last one."""
    return _activity(f"{note['id']}#updates/{_stamp(updated)}", "Update",
                     note["attributedTo"], note, published=note.get("updated"),
                     to=note["to"], cc=note["cc"])


def tombstone(uri: str) -> dict[str, str]:
    return {"id": uri, "type": "Tombstone", "atomUri": uri}


def delete_note(uri: str, actor: str, to: list[str], cc: list[str]) -> Activity:
    """`Delete` of a note, whose object is a `Tombstone` of it."""
    return _activity(uri + "#delete", "Delete", actor, tombstone(uri), to=to, cc=cc)


def follow(id: str, actor: str, target: str) -> Activity:
    return _activity(id, "Follow", actor, target)


def follow_object(id: str, follower: str, target: str) -> Activity:
    """The `Follow` embedded in an Accept, Reject or Undo (no `@context`)."""
    return _activity(id, "Follow", follower, target, context=False)


def accept(id: str, actor: str, follow: Activity) -> Activity:
    return _activity(id, "Accept", actor, _bare(follow))


def reject(id: str, actor: str, follow: Activity) -> Activity:
    return _activity(id, "Reject", actor, _bare(follow))


def undo(id: str, actor: str, inner: Activity) -> Activity:
    """`Undo` of one of our activities (embedded, as Mastodon sends it)."""
    return _activity(id, "Undo", actor, _bare(inner))


def like(id: str, actor: str, object_uri: str) -> Activity:
    return _activity(id, "Like", actor, object_uri)


def announce(id: str, actor: str, object_uri: str, *, published: str, to: list[str],
             cc: list[str]) -> Activity:
    """A boost: the object is the boosted note's uri, never the note itself."""
    return _activity(id, "Announce", actor, object_uri, published=published, to=to, cc=cc)


def block(id: str, actor: str, target: str) -> Activity:
    return _activity(id, "Block", actor, target)


def move(id: str, actor: str, target: str, *, to: list[str]) -> Activity:
    """`Move` of an account (the actor itself) to `target`, which names it in `alsoKnownAs`."""
    return _activity(id, "Move", actor, actor, target=target, to=to)


def update_actor(actor_doc: dict[str, Any], updated: datetime) -> Activity:
    """`Update` of our actor (profile or key changed), to the public."""
    actor = {k: v for k, v in actor_doc.items() if k != "@context"}
    return _activity(f"{actor['id']}#updates/{_stamp(updated)}", "Update", actor["id"], actor,
                     to=[PUBLIC])


def _bare(activity: Activity) -> Activity:
    return {k: v for k, v in activity.items() if k != "@context"}


def flag(id: str, actor: str, objects: list[str], content: str) -> Activity:
    """A report, as Mastodon forwards one: from the instance actor, the reported actor first."""
    return _activity(id, "Flag", actor, objects, content=content)
