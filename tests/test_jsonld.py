"""JSON-LD through bundled contexts: loading, expansion, compaction, normalisation, no network."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from pyld.jsonld import JsonLdError

from activitypub import jsonld
from activitypub.errors import DocumentError

ACTIVITIES = Path(__file__).parent / "vectors" / "activities"
AS = "https://www.w3.org/ns/activitystreams#"
TOOT = "http://joinmastodon.org/ns#"
SEC = "https://w3id.org/security#"


def load(name: str) -> dict:
    return json.loads((ACTIVITIES / name).read_text(encoding="utf-8"))


def all_payloads() -> list[Path]:
    return sorted(ACTIVITIES.glob("*/*.json"))


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/ns/activitystreams",
        "http://www.w3.org/ns/activitystreams",
        "https://www.w3.org/ns/activitystreams.jsonld",
        "https://www.w3.org/ns/activitystreams#",
        "https://w3id.org/security/v1",
        "https://w3id.org/identity/v1",
        "https://w3id.org/security/data-integrity/v1",
        "https://w3id.org/security/multikey/v1",
    ],
)
def test_loader_serves_bundled_contexts(url: str) -> None:
    remote = jsonld.document_loader(url, {})
    assert remote["documentUrl"] == url
    assert remote["contentType"] == "application/ld+json"
    assert isinstance(remote["document"]["@context"], dict)


def test_loader_serves_the_published_activitystreams_terms() -> None:
    context = jsonld.document_loader("https://www.w3.org/ns/activitystreams")["document"]
    terms = context["@context"]
    assert terms["as"] == AS
    assert terms["to"] == {"@id": "as:to", "@type": "@id"}


def test_loader_hands_out_copies() -> None:
    first = jsonld.document_loader("https://w3id.org/security/v1")
    first["document"]["@context"]["publicKey"] = "tampered"
    again = jsonld.document_loader("https://w3id.org/security/v1")
    assert again["document"]["@context"]["publicKey"] == {"@id": "sec:publicKey", "@type": "@id"}


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/context.jsonld",
        "https://queer.hacktivis.me/schemas/litepub-0.1.jsonld",
        "http://joinmastodon.org/ns",
        "https://www.w3.org/ns/activitystreams/../../evil",
        "file:///etc/passwd",
    ],
)
def test_loader_refuses_everything_else(url: str) -> None:
    with pytest.raises(JsonLdError) as caught:
        jsonld.document_loader(url, {})
    assert caught.value.code == "loading document failed"
    assert caught.value.details == {"url": url}


def test_every_bundled_url_loads() -> None:
    urls = jsonld.bundled_urls()
    assert "https://w3id.org/identity/v1" in urls
    for url in urls:
        assert "@context" in jsonld.document_loader(url)["document"]


def test_expand_mastodon_note() -> None:
    [note] = jsonld.expand(load("mastodon/note_1.json"))
    assert note["@type"] == [AS + "Note"]
    assert note["@id"].startswith("https://")
    assert AS + "content" in note
    assert note[AS + "sensitive"] == [{"@value": False}]


def test_expand_unknown_context_fails_closed() -> None:
    with pytest.raises(DocumentError, match="unknown JSON-LD context: https://greenish.red/"):
        jsonld.expand(load("pleroma/create_note.json"))


def test_compact_keeps_mastodon_keys() -> None:
    original = load("mastodon/docs-note-with-image.json")
    compacted = jsonld.compact(original)
    assert compacted["@context"] == jsonld.COMPACTION_CONTEXT
    attachment = compacted["attachment"]
    assert attachment["focalPoint"] == [-0.55, 0.43]
    assert attachment["url"] == "https://example.com/files/cats.png"
    assert compacted["content"] == "A picture attached!"


def test_compact_turns_prefixed_keys_into_mastodon_keys() -> None:
    odd = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"toot": TOOT, "sec": SEC, "schema": "http://schema.org#"},
        ],
        "id": "https://odd.example/users/x",
        "type": "Person",
        "toot:discoverable": True,
        "toot:indexable": False,
        "toot:featured": {"id": "https://odd.example/users/x/featured"},
        "as:manuallyApprovesFollowers": True,
        "as:movedTo": "https://new.example/users/x",
        "sec:publicKey": {
            "id": "https://odd.example/users/x#key",
            "sec:owner": {"id": "https://odd.example/users/x"},
            "sec:publicKeyPem": "PEM",
        },
        "attachment": {"type": "schema:PropertyValue", "name": "site", "schema:value": "v"},
    }
    person = jsonld.compact(odd)
    assert person["discoverable"] is True
    assert person["indexable"] is False
    assert person["featured"] == "https://odd.example/users/x/featured"
    assert person["manuallyApprovesFollowers"] is True
    assert person["movedTo"] == "https://new.example/users/x"
    assert person["publicKey"] == {
        "id": "https://odd.example/users/x#key",
        "owner": "https://odd.example/users/x",
        "publicKeyPem": "PEM",
    }
    assert person["attachment"] == {"type": "PropertyValue", "name": "site", "value": "v"}
    assert not [key for key in person if ":" in key]


def test_compact_reads_terms_the_sender_left_undefined() -> None:
    # Misskey declares no `sensitive`; Pleroma's actor declares no security context.
    assert jsonld.compact(load("misskey/question-poll-no-end-date.json"))["sensitive"] is False
    actor = jsonld.compact(load("pleroma/actor-info.pleroma.site.json"))
    assert actor["publicKey"]["id"] == "https://info.pleroma.site/actor.json#main-key"
    signed = jsonld.compact(load("mastodon/delete.json"))
    assert signed["signature"]["creator"] == "https://mastodon.madrid/users/felix#main-key"


def test_compact_keeps_relative_iris_relative() -> None:
    doc = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Note", "cc": "Public"}
    assert jsonld.compact(doc)["cc"] == "Public"


def test_mastodon_context_declares_extension_terms() -> None:
    as_iri, security_iri, terms = jsonld.MASTODON_CONTEXT
    assert (as_iri, security_iri) == (jsonld.AS_CONTEXT, jsonld.SECURITY_CONTEXT)
    doc = {
        "@context": jsonld.MASTODON_CONTEXT,
        "id": "https://here.example/users/a",
        "type": "Person",
        "discoverable": True,
        "indexable": True,
        "memorial": False,
        "suspended": False,
        "featuredTags": "https://here.example/users/a/tags",
        "attributionDomains": ["here.example"],
        "alsoKnownAs": ["https://old.example/users/a"],
        "attachment": [{"type": "PropertyValue", "name": "n", "value": "v"}],
        "tag": [{"type": "Emoji", "name": ":x:"}, {"type": "Hashtag", "name": "#y"}],
    }
    [person] = jsonld.expand(doc)
    for term in ("discoverable", "indexable", "memorial", "suspended", "featuredTags"):
        assert TOOT + term in person, term
    assert person[TOOT + "attributionDomains"] == [{"@id": "here.example"}]
    assert person[AS + "alsoKnownAs"] == [{"@id": "https://old.example/users/a"}]
    assert person[AS + "attachment"][0]["@type"] == ["http://schema.org#PropertyValue"]
    assert {t["@type"][0] for t in person[AS + "tag"]} == {TOOT + "Emoji", AS + "Hashtag"}
    assert "blurhash" in terms and "focalPoint" in terms and "votersCount" in terms


def test_normalize_is_canonical() -> None:
    doc = load("mastodon/create_note.json")
    reordered = json.loads(json.dumps(doc, sort_keys=True))
    nquads = jsonld.normalize(doc)
    assert nquads == jsonld.normalize(reordered)
    lines = nquads.splitlines()
    assert lines == sorted(lines)
    assert all(line.endswith(" .") for line in lines)
    assert f"<{AS}Create>" in nquads


def test_normalize_unknown_context_fails_closed() -> None:
    doc = {"@context": "https://evil.example/ctx", "id": "https://evil.example/x"}
    with pytest.raises(DocumentError, match="https://evil.example/ctx"):
        jsonld.normalize(doc)


def test_invalid_json_ld_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="not valid JSON-LD"):
        jsonld.expand({"@context": 5, "id": "https://a.example/x"})


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every attempt to connect a socket is recorded and refused."""
    from pyld import jsonld as pyld_jsonld

    # Empty pyld's shared context cache so the loader really is asked.
    pyld_jsonld._resolved_context_cache.clear()
    attempts: list = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.mark.parametrize("path", all_payloads(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_payloads_never_touch_the_network(path: Path, no_network: list) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    try:
        expanded = jsonld.expand(doc)
        jsonld.compact(doc)
        jsonld.normalize(doc)
    except DocumentError as error:
        # Only documents naming a context we do not bundle may fail.
        assert "unknown JSON-LD context" in str(error)
    else:
        assert isinstance(expanded, list)
    assert no_network == []
