"""Actor documents: Mastodon's keys and shapes; the HTML profile page escapes what it shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser

from activitypub.actor import DEFAULT_CONTEXT, ActorFields, ImageRef, build_actor, build_actor_html

BASE = "https://example.com/users/alice"
PEM = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"


def make_fields(**changes: object) -> ActorFields:
    values: dict[str, object] = dict(
        id=BASE, preferred_username="alice", name="Alice", summary_html="<p>Hi</p>",
        url="https://example.com/@alice", inbox=BASE + "/inbox", outbox=BASE + "/outbox",
        followers=BASE + "/followers", following=BASE + "/following",
        featured=BASE + "/collections/featured", featured_tags=BASE + "/collections/tags",
        shared_inbox="https://example.com/inbox", public_key_pem=PEM,
        icon=ImageRef("https://example.com/media/avatar.png", "image/png"),
        image=ImageRef("https://example.com/media/header.jpg", "image/jpeg"),
        manually_approves_followers=True, discoverable=True, indexable=False,
        published=datetime(2024, 1, 1, 15, 30, 12, tzinfo=UTC),
        fields=[("Website", '<a href="https://alice.example">alice.example</a>')],
        also_known_as=["https://old.example/users/alice"],
    )
    values.update(changes)
    return ActorFields(**values)  # type: ignore[arg-type]


def test_actor_has_mastodon_keys() -> None:
    doc = build_actor(make_fields())
    assert doc["@context"] == DEFAULT_CONTEXT
    assert doc["id"] == BASE and doc["type"] == "Person"
    assert doc["preferredUsername"] == "alice"
    assert doc["name"] == "Alice" and doc["summary"] == "<p>Hi</p>"
    assert doc["url"] == "https://example.com/@alice"
    assert doc["inbox"] == BASE + "/inbox" and doc["outbox"] == BASE + "/outbox"
    assert doc["followers"] == BASE + "/followers" and doc["following"] == BASE + "/following"
    assert doc["featured"] == BASE + "/collections/featured"
    assert doc["featuredTags"] == BASE + "/collections/tags"
    assert doc["publicKey"] == {"id": BASE + "#main-key", "owner": BASE, "publicKeyPem": PEM}
    assert doc["endpoints"] == {"sharedInbox": "https://example.com/inbox"}
    assert doc["attachment"] == [{"type": "PropertyValue", "name": "Website",
                                  "value": '<a href="https://alice.example">alice.example</a>'}]
    assert doc["icon"] == {"type": "Image", "mediaType": "image/png",
                           "url": "https://example.com/media/avatar.png"}
    assert doc["image"] == {"type": "Image", "mediaType": "image/jpeg",
                            "url": "https://example.com/media/header.jpg"}
    assert doc["manuallyApprovesFollowers"] is True
    assert doc["discoverable"] is True and doc["indexable"] is False
    assert doc["published"] == "2024-01-01T00:00:00Z"
    assert doc["tag"] == []
    assert doc["alsoKnownAs"] == ["https://old.example/users/alice"]
    assert not any(":" in key for key in doc if key != "@context")  # no prefixed keys
    for absent in ("movedTo", "memorial", "suspended"):
        assert absent not in doc


def test_optional_parts() -> None:
    fields = make_fields(type="Application", icon=None, image=None, also_known_as=[], fields=[],
                         followers=None, following=None, featured=None, shared_inbox=None,
                         moved_to="https://new.example/users/alice", memorial=True,
                         suspended=True, key_id=BASE + "/main-key")
    doc = build_actor(fields, context=["https://www.w3.org/ns/activitystreams"])
    assert doc["@context"] == ["https://www.w3.org/ns/activitystreams"]
    assert doc["type"] == "Application"
    for absent in ("followers", "following", "featured", "endpoints"):
        assert absent not in doc
    assert doc["movedTo"] == "https://new.example/users/alice"
    assert doc["memorial"] is True and doc["suspended"] is True
    assert doc["publicKey"]["id"] == BASE + "/main-key"
    assert doc["attachment"] == []
    assert "icon" not in doc and "image" not in doc and "alsoKnownAs" not in doc


def test_published_is_utc_midnight_of_the_day() -> None:
    late = datetime(2024, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert build_actor(make_fields(published=late))["published"] == "2024-03-02T00:00:00Z"
    naive = datetime(2023, 7, 9, 8, 0)
    assert build_actor(make_fields(published=naive))["published"] == "2023-07-09T00:00:00Z"


def test_context_is_not_shared_between_documents() -> None:
    doc = build_actor(make_fields())
    doc["@context"][2]["extra"] = "x"
    assert "extra" not in DEFAULT_CONTEXT[2]


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_page_escapes_and_links_to_actor() -> None:
    fields = make_fields(name='<script>alert("x")</script>',
                         fields=[("<b>Label</b>", "<a href=\"https://a.example\">a</a>")])
    page = build_actor_html(fields, domain="example.com")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    parsed = Collector()
    parsed.feed(page)
    assert ("link", {"rel": "alternate", "type": "application/activity+json", "href": BASE}) \
        in parsed.tags
    assert ("img", {"class": "avatar", "src": "https://example.com/media/avatar.png", "alt": "",
                    "width": "96", "height": "96"}) in parsed.tags
    assert "@alice@example.com" in parsed.text
    assert "<b>Label</b>" in parsed.text  # the field name shown as text, not markup
    assert ("a", {"href": "https://a.example"}) in parsed.tags  # the value is sanitised HTML
    assert ("p", {}) in parsed.tags  # summary inserted as HTML
    assert any(t == "title" for t, _ in parsed.tags)
