"""Plain-JSON vocabulary helpers, on payloads captured from real servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from activitypub import jsonld
from activitypub.vocab import (
    PUBLIC,
    actor_id,
    as_list,
    attributed_to_id,
    audience_of,
    first,
    has_as_context,
    host_of,
    id_of,
    ids_of,
    is_public,
    normalize_activity,
    object_id,
    same_origin,
    type_of,
)

ACTIVITIES = Path(__file__).parent / "vectors" / "activities"


def load(name: str) -> dict:
    return json.loads((ACTIVITIES / name).read_text(encoding="utf-8"))


def test_public_iri() -> None:
    assert PUBLIC == "https://www.w3.org/ns/activitystreams#Public"


@pytest.mark.parametrize("value", [PUBLIC, "as:Public", "Public", [PUBLIC], ["x", "as:Public"]])
def test_is_public(value: object) -> None:
    assert is_public(value)


@pytest.mark.parametrize(
    "value", [None, [], "https://a.example/users/x/followers", ["Publicx"], {"id": "x"}]
)
def test_is_not_public(value: object) -> None:
    assert not is_public(value)


def test_as_list() -> None:
    assert as_list(None) == []
    assert as_list("x") == ["x"]
    assert as_list({"a": 1}) == [{"a": 1}]
    assert as_list(["x", "y"]) == ["x", "y"]


def test_id_of_every_form() -> None:
    assert id_of("https://a.example/1") == "https://a.example/1"
    assert id_of({"id": "https://a.example/2", "type": "Note"}) == "https://a.example/2"
    assert id_of({"@id": "https://a.example/3"}) == "https://a.example/3"
    assert id_of({"type": "Link", "href": "https://a.example/4"}) == "https://a.example/4"
    assert id_of({"type": "Note"}) is None
    assert id_of("") is None
    assert id_of(None) is None
    assert id_of(42) is None


def test_ids_of_skips_items_without_id() -> None:
    value = ["https://a.example/1", {"id": "https://a.example/2"}, {"type": "Note"}, None]
    assert ids_of(value) == ["https://a.example/1", "https://a.example/2"]
    assert ids_of("https://a.example/1") == ["https://a.example/1"]
    assert ids_of(None) == []


def test_first() -> None:
    assert first(["a", "b"]) == "a"
    assert first("a") == "a"
    assert first([]) is None
    assert first(None) is None


def test_type_of() -> None:
    assert type_of(load("mastodon/note_1.json")) == {"Note"}
    assert type_of({"type": ["Note", "Article"]}) == {"Note", "Article"}
    assert type_of({"@type": "Person"}) == {"Person"}
    assert type_of("https://a.example/1") == set()


def test_has_as_context_on_real_payloads() -> None:
    assert has_as_context(load("gotosocial/move.json"))  # a lone string
    assert has_as_context(load("mastodon/person.json"))  # a list with inline terms
    assert has_as_context(load("pleroma/note.json"))  # litepub list
    assert has_as_context(load("gotosocial/person.json"))  # AS2 not first
    assert not has_as_context(load("lemmy/follow.json"))  # no @context at all
    assert not has_as_context(load("gotosocial/announce.json"))


def test_has_as_context_forms() -> None:
    assert has_as_context({"@context": "http://www.w3.org/ns/activitystreams"})
    assert has_as_context({"@context": "https://www.w3.org/ns/activitystreams.jsonld"})
    assert has_as_context({"@context": [{"@context": "https://www.w3.org/ns/activitystreams"}]})
    assert not has_as_context({"@context": "https://www.w3.org/ns/activitystreams-evil"})
    assert not has_as_context({"@context": ["https://w3id.org/security/v1"]})
    assert not has_as_context(["https://www.w3.org/ns/activitystreams"])


def test_host_of() -> None:
    assert host_of("https://Mastodon.Social/users/x") == "mastodon.social"
    assert host_of("https://a.example:443/x") == "a.example"
    assert host_of("http://a.example:80/x") == "a.example"
    assert host_of("https://a.example:8443/x") == "a.example:8443"
    assert host_of("http://[::1]:8080/x") == "[::1]:8080"
    assert host_of("not a url") == ""
    assert host_of("https://a.example:99999/") == ""


def test_same_origin() -> None:
    assert same_origin("https://A.example/users/x", "https://a.example:443/objects/1")
    assert not same_origin("https://a.example/x", "http://a.example/x")
    assert not same_origin("https://a.example/x", "https://a.example:8443/x")
    assert not same_origin("https://a.example/x", "https://b.a.example/x")
    assert not same_origin("https://a.example.evil/x", "https://a.example/x")
    assert not same_origin("relative/path", "relative/path")


def test_gotosocial_lone_values_become_lists() -> None:
    accept = normalize_activity(load("gotosocial/accept-like-approval.json"))
    assert accept["to"] == ["https://somewhere.else.example.org/users/someone"]
    assert accept["cc"][0] == PUBLIC
    create = normalize_activity(load("gotosocial/create.json"))
    assert create["to"] == ["https://example.org/users/bobby_tables"]
    assert [note["to"] for note in create["object"]] == [
        ["https://example.org/users/bobby_tables"]
    ] * 2


def test_lone_tag_object_becomes_a_list() -> None:
    # JSON-LD compaction collapses a one-item list, as GoToSocial's serialiser does.
    question = jsonld.compact(load("misskey/question-poll-no-end-date.json"))
    assert isinstance(question["tag"], dict)
    normalized = normalize_activity(question)
    assert normalized["tag"] == [
        {
            "type": "Mention",
            "href": "https://marchgenso.me/users/march",
            "name": "@march@marchgenso.me",
        }
    ]
    assert normalized["to"] == [PUBLIC]  # compaction wrote "as:Public"
    assert question["to"] == "as:Public"
    assert normalized["attachment"] == []


def test_short_public_forms_are_expanded() -> None:
    doc = {"type": "Note", "to": "as:Public", "cc": ["Public", {"id": "https://a.example/f"}]}
    normalized = normalize_activity(doc)
    assert normalized["to"] == [PUBLIC]
    assert normalized["cc"] == [PUBLIC, "https://a.example/f"]
    assert doc["to"] == "as:Public"  # the input is left alone


def test_lemmy_announce_normalises_the_embedded_activity() -> None:
    announce = normalize_activity(load("lemmy/announce_create_page.json"))
    create = announce["object"]
    page = create["object"]
    assert announce["to"] == [PUBLIC]
    assert create["cc"] == ["http://enterprise.lemmy.ml/c/main"]
    assert page["audience"] == ["http://enterprise.lemmy.ml/u/main"]
    assert is_public(page["to"])
    assert actor_id(announce) == "http://enterprise.lemmy.ml/c/main"
    assert actor_id(create) == "http://enterprise.lemmy.ml/u/lemmy_beta"
    assert attributed_to_id(page) == "http://enterprise.lemmy.ml/u/lemmy_beta"
    assert object_id(create) == "http://enterprise.lemmy.ml/post/7"


def test_lemmy_link_attachment_and_audience() -> None:
    create = normalize_activity(load("lemmy/create_page.json"))
    assert create["audience"] == ["https://enterprise.lemmy.ml/c/main"]
    [link] = create["object"]["attachment"]
    assert id_of(link) == "https://lemmy.ml/pictrs/image/xl8W7FZfk9.jpg"


def test_pleroma_and_peertube_addressing() -> None:
    note = normalize_activity(load("pleroma/note.json"))
    assert PUBLIC in note["cc"]
    assert is_public(note["cc"])
    announce = normalize_activity(load("peertube/announce_video.json"))
    assert audience_of(announce) == {
        PUBLIC,
        "https://tilvids.com/accounts/thelinuxexperiment/followers",
    }
    video = "https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1"
    assert object_id(announce) == video


def test_embedded_actor_keeps_its_form() -> None:
    doc = {"type": "Like", "actor": {"id": "https://a.example/u", "type": "Person"}}
    normalized = normalize_activity(doc)
    assert normalized["actor"] == {"id": "https://a.example/u", "type": "Person"}
    assert actor_id(normalized) == "https://a.example/u"
    several = {"actor": ["https://a.example/u", "https://b.example/u"]}
    assert actor_id(several) == "https://a.example/u"
    authors = {"attributedTo": [{"type": "Person", "id": "https://p.example/a"}]}
    assert attributed_to_id(authors) == "https://p.example/a"


@pytest.mark.parametrize(
    "path", sorted(ACTIVITIES.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_every_payload_normalises_to_one_shape(path: Path) -> None:
    normalized = normalize_activity(json.loads(path.read_text(encoding="utf-8")))
    for node in [normalized, *as_list(normalized.get("object"))]:
        if not isinstance(node, dict):
            continue
        for key in ("to", "cc", "bto", "bcc", "audience"):
            if key in node:
                assert all(isinstance(x, str) for x in node[key]), key
                assert not {"as:Public", "Public"} & set(node[key])
        for key in ("tag", "attachment"):
            if key in node:
                assert isinstance(node[key], list)
