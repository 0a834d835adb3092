"""Converters, models to ActivityStreams: notes, addressing, content HTML, activity shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activitypub.vocab import PUBLIC
from models.tables import Account, MediaAttachment, Status
from outbox import activities
from outbox.content import text_to_html
from outbox.notes import addressing, status_to_note
from outbox.urls import Urls

URLS = Urls("https://local.example")
ALICE = "https://local.example/users/alice"
FOLLOWERS = ALICE + "/followers"
WHEN = datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC)


def alice() -> Account:
    return Account(id=1, username="alice")


def bob() -> Account:
    return Account(id=2, kind="remote", username="bob", domain="remote.example",
                   uri="https://remote.example/users/bob", url="https://remote.example/@bob")


def status(**fields: object) -> Status:
    values: dict = {"id": 7, "uri": ALICE + "/statuses/7", "url": "https://local.example/@alice/7",
                    "account_id": 1, "content": "<p>hi</p>", "created_at": WHEN}
    return Status(**(values | fields))


@pytest.mark.parametrize(("visibility", "to", "cc"), [
    ("public", [PUBLIC], [FOLLOWERS, "https://remote.example/users/bob"]),
    ("unlisted", [FOLLOWERS], [PUBLIC, "https://remote.example/users/bob"]),
    ("private", [FOLLOWERS], ["https://remote.example/users/bob"]),
    ("direct", ["https://remote.example/users/bob"], []),
])
def test_addressing_per_visibility(visibility, to, cc) -> None:
    assert addressing(visibility, FOLLOWERS, ["https://remote.example/users/bob"]) == (to, cc)
    note = status_to_note(status(visibility=visibility), alice(), URLS, mentions=[bob()])
    assert (note["to"], note["cc"]) == (to, cc)


def test_note_with_image_reply_tags_and_content_warning() -> None:
    image = MediaAttachment(id=3, account_id=1, mime_type="image/png", file_path="a/b.png",
                            description="a red fox", blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                            width=512, height=384, focus_x=0.25, focus_y=-0.5)
    parent = Status(id=5, uri="https://remote.example/notes/5", account_id=2)
    note = status_to_note(
        status(spoiler_text="foxes", language="en", conversation="tag:local.example,2024:x",
               edited_at=datetime(2024, 5, 2, tzinfo=UTC)),
        alice(), URLS, mentions=[bob()], tags=["Foxes"], media=[image], in_reply_to=parent)
    assert note["type"] == "Note" and note["id"] == ALICE + "/statuses/7"
    assert note["attributedTo"] == ALICE
    assert note["published"] == "2024-05-01T12:30:05Z"
    assert note["updated"] == "2024-05-02T00:00:00Z"
    assert note["inReplyTo"] == "https://remote.example/notes/5"
    assert note["summary"] == "foxes" and note["sensitive"] is True
    assert note["conversation"] == note["context"] == "tag:local.example,2024:x"
    assert note["contentMap"] == {"en": "<p>hi</p>"}
    assert note["replies"]["id"] == ALICE + "/statuses/7/replies"
    assert note["attachment"] == [{
        "type": "Document", "mediaType": "image/png",
        "url": "https://local.example/media/a/b.png", "name": "a red fox",
        "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "focalPoint": [0.25, -0.5],
        "width": 512, "height": 384,
    }]
    assert note["tag"] == [
        {"type": "Mention", "href": "https://remote.example/users/bob",
         "name": "@bob@remote.example"},
        {"type": "Hashtag", "href": "https://local.example/tags/foxes", "name": "#Foxes"},
    ]


def test_plain_note_has_no_warning_and_null_reply() -> None:
    note = status_to_note(status(), alice(), URLS)
    assert note["summary"] is None and note["sensitive"] is False
    assert note["inReplyTo"] is None and note["attachment"] == [] and note["tag"] == []
    assert "updated" not in note


def test_text_to_html_links_mentions_hashtags_and_urls() -> None:
    carol = Account(id=3, username="carol")
    content = text_to_html("Hi @bob@remote.example and @carol <b>!\n\nsee https://ex.org/a?b=1 "
                           "#Cats #cats #1 me@mail.example",
                           mentions=[bob(), carol], urls=URLS, domain="local.example")
    assert content.html == (
        '<p>Hi <span class="h-card" translate="no"><a href="https://remote.example/@bob" '
        'class="u-url mention">@<span>bob</span></a></span> and '
        '<span class="h-card" translate="no"><a href="https://local.example/@carol" '
        'class="u-url mention">@<span>carol</span></a></span> &lt;b&gt;!</p>'
        '<p>see <a href="https://ex.org/a?b=1" target="_blank" rel="nofollow noopener noreferrer" '
        'translate="no">https://ex.org/a?b=1</a> '
        '<a href="https://local.example/tags/cats" class="mention hashtag" rel="tag">'
        '#<span>Cats</span></a> '
        '<a href="https://local.example/tags/cats" class="mention hashtag" rel="tag">'
        '#<span>cats</span></a> #1 me@mail.example</p>'
    )
    assert content.tags == ["Cats"]
    assert [a.username for a in content.mentioned] == ["bob", "carol"]


def test_text_to_html_lines_and_unknown_mentions() -> None:
    content = text_to_html("one\ntwo @nobody", mentions=[], urls=URLS, domain="local.example")
    assert content.html == "<p>one<br />two @nobody</p>" and content.mentioned == []


def test_activity_shapes() -> None:
    note = status_to_note(status(), alice(), URLS)
    create = activities.create(note)
    assert create["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert (create["id"], create["type"], create["actor"]) == (note["id"] + "/activity", "Create",
                                                               ALICE)
    assert create["object"] == note and create["to"] == note["to"] and create["cc"] == note["cc"]
    edited = datetime(2024, 5, 3, tzinfo=UTC)
    update = activities.update_note(note | {"updated": "2024-05-03T00:00:00Z"}, edited)
    assert update["type"] == "Update" and update["id"].startswith(note["id"] + "#updates/")
    assert update["published"] == "2024-05-03T00:00:00Z"
    delete = activities.delete_note(note["id"], ALICE, [PUBLIC], [FOLLOWERS])
    assert delete["object"] == {"id": note["id"], "type": "Tombstone", "atomUri": note["id"]}
    assert (delete["to"], delete["cc"]) == ([PUBLIC], [FOLLOWERS])
    follow = activities.follow(ALICE + "#follows/1", ALICE, "https://remote.example/users/bob")
    assert follow["object"] == "https://remote.example/users/bob"
    undo = activities.undo(follow["id"] + "/undo", ALICE, follow)
    assert undo["object"]["type"] == "Follow" and "@context" not in undo["object"]
    accept = activities.accept("https://x/a", ALICE, follow)
    assert accept["object"]["id"] == follow["id"] and accept["type"] == "Accept"
    assert activities.reject("https://x/r", ALICE, follow)["type"] == "Reject"
    boost = activities.announce(ALICE + "/statuses/9/activity", ALICE, "https://r/n/1",
                                published="2024-05-01T00:00:00Z", to=[PUBLIC], cc=[FOLLOWERS])
    assert boost["object"] == "https://r/n/1" and boost["type"] == "Announce"
    actor = {"@context": [], "id": ALICE, "type": "Person"}
    update_actor = activities.update_actor(actor, edited)
    assert update_actor["object"] == {"id": ALICE, "type": "Person"}
    assert update_actor["to"] == [PUBLIC] and update_actor["actor"] == ALICE
