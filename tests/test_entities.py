"""Models to Mastodon entities: the pure converters, and the default images."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fediverse.api import assets
from fediverse.api.entities import (
    account_entity,
    iso,
    media_entity,
    notification_entity,
    relationship_entity,
    status_entity,
)
from models.related import AccountStats, Related, ViewerState
from models.relationships import Relation
from models.tables import Account, MediaAttachment, Notification, Status
from outbox.urls import Urls

URLS = Urls("https://fv.example")
WHEN = datetime(2022, 4, 30, 14, 19, 5, 123456, tzinfo=UTC)


def test_iso_has_milliseconds_and_z() -> None:
    assert iso(WHEN) == "2022-04-30T14:19:05.123Z"
    assert iso(WHEN.replace(microsecond=0, tzinfo=None)) == "2022-04-30T14:19:05.000Z"
    assert iso(None) is None


def test_local_and_remote_accounts() -> None:
    local = Account(id=7, username="alice", created_at=WHEN)
    entity = account_entity(local, URLS, AccountStats(statuses_count=3, last_status_at=WHEN))
    assert entity["id"] == "7" and entity["acct"] == "alice"
    assert entity["url"] == "https://fv.example/@alice"
    assert entity["uri"] == "https://fv.example/users/alice"
    assert entity["avatar"] == "https://fv.example/avatars/original/missing.png"
    assert entity["header"] == "https://fv.example/headers/original/missing.png"
    assert entity["statuses_count"] == 3 and entity["last_status_at"] == "2022-04-30"
    assert entity["fields"] == [] and entity["emojis"] == []
    remote = Account(id=8, kind="remote", username="zed", domain="remote.example",
                     uri="https://remote.example/u/zed", avatar_url="https://remote.example/a.png",
                     actor_type="Service", fields=[{"name": "web", "value": "x"}])
    entity = account_entity(remote, URLS)
    assert entity["acct"] == "zed@remote.example" and entity["bot"] is True
    assert entity["url"] == "https://remote.example/u/zed"
    assert entity["avatar"] == "https://remote.example/a.png"
    assert entity["fields"] == [{"name": "web", "value": "x", "verified_at": None}]
    assert entity["followers_count"] == 0


def test_media_while_processing_and_ready() -> None:
    media = MediaAttachment(id=5, account_id=7, state="processing", description="")
    entity = media_entity(media, URLS)
    assert entity["url"] is None and entity["preview_url"] is None
    assert entity["description"] is None and entity["meta"] == {"focus": {"x": 0.0, "y": 0.0}}
    media.state, media.file_path, media.thumbnail_path = "ready", "5/original.png", "5/small.png"
    media.width, media.height = 640, 480
    entity = media_entity(media, URLS)
    assert entity["url"] == "https://fv.example/media/5/original.png"
    assert entity["preview_url"] == "https://fv.example/media/5/small.png"
    assert entity["remote_url"] is None
    assert entity["meta"]["original"] == {"width": 640, "height": 480, "size": "640x480",
                                          "aspect": 640 / 480}


def _related(*statuses: Status, viewer: ViewerState | None = None) -> Related:
    author = Account(id=7, username="alice", created_at=WHEN)
    for s in statuses:
        s.favourites_count = 2  # kept on the row by the database
    return Related(accounts={7: author}, statuses={s.id: s for s in statuses}, viewer=viewer)


def test_status_and_boost() -> None:
    status = Status(id=10, uri="https://fv.example/users/alice/statuses/10", account_id=7,
                    content="<p>hi</p>", created_at=WHEN)
    boost = Status(id=11, uri="https://fv.example/users/alice/statuses/11/activity",
                   account_id=7, reblog_of_id=10, created_at=WHEN)
    related = _related(status, boost, viewer=ViewerState(account_id=7, favourited={10}))
    entity = status_entity(boost, related, URLS)
    assert entity["reblog"]["id"] == "10" and entity["reblog"]["favourited"] is True
    assert entity["favourited"] is False and entity["url"] == boost.uri
    inner = entity["reblog"]
    assert inner["favourites_count"] == 2 and inner["media_attachments"] == []
    for key in ("edited_at", "poll", "card", "language", "in_reply_to_id", "reblog"):
        assert key in inner and inner[key] is None
    anonymous = status_entity(status, _related(status), URLS)
    assert "favourited" not in anonymous and "pinned" not in anonymous


def test_remote_poll() -> None:
    status = Status(id=12, uri="https://remote.example/q/1", account_id=7, created_at=WHEN,
                    poll={"options": [{"title": "a", "votes_count": 2},
                                      {"title": "b", "votes_count": 1}],
                          "multiple": False, "expires_at": "2020-01-01T00:00:00+00:00",
                          "voters_count": None})
    poll = status_entity(status, _related(status), URLS)["poll"]
    assert poll["expired"] is True and poll["votes_count"] == 3
    assert poll["expires_at"] == "2020-01-01T00:00:00.000Z"
    assert "voted" not in poll and "own_votes" not in poll  # for a signed-in viewer only
    viewer = ViewerState(account_id=8, votes={12: [1]})
    poll = status_entity(status, _related(status, viewer=viewer), URLS)["poll"]
    assert poll["voted"] is True and poll["own_votes"] == [1]


def test_relationship_and_notification() -> None:
    rel = relationship_entity(Relation(id=9, following=True, muting=True))
    assert rel["id"] == "9" and rel["following"] and rel["muting_notifications"] is False
    assert rel["showing_reblogs"] is True and rel["note"] == ""
    note = Notification(id=3, account_id=1, from_account_id=9, type="follow", created_at=WHEN)
    entity = notification_entity(note, {"id": "9"})
    assert entity == {"id": "3", "type": "follow", "created_at": "2022-04-30T14:19:05.123Z",
                      "group_key": "follow-458700", "account": {"id": "9"}}  # hour of its window
    mention = Notification(id=4, account_id=1, from_account_id=9, type="mention", created_at=WHEN)
    assert notification_entity(mention, {"id": "9"})["group_key"] == "ungrouped-4"


def test_default_images_are_pngs() -> None:
    client = TestClient(Starlette(routes=assets.routes))
    for path, size in (("/avatars/original/missing.png", (120, 120)),
                       ("/headers/original/missing.png", (300, 100))):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(answer.content))
        image.load()
        assert image.size == size
