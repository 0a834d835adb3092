"""Ordered collections, pages and page URLs."""

from __future__ import annotations

from activitypub.collection import ordered_collection, ordered_collection_page, page_url

AS = "https://www.w3.org/ns/activitystreams"
OUTBOX = "https://example.com/users/alice/outbox"


def test_collection_with_page_links() -> None:
    doc = ordered_collection(OUTBOX, 42, first=OUTBOX + "?page=true",
                             last=OUTBOX + "?min_id=0&page=true")
    assert doc == {"@context": AS, "id": OUTBOX, "type": "OrderedCollection", "totalItems": 42,
                   "first": OUTBOX + "?page=true", "last": OUTBOX + "?min_id=0&page=true"}


def test_collection_without_pages() -> None:
    doc = ordered_collection(OUTBOX, 0)
    assert doc == {"@context": AS, "id": OUTBOX, "type": "OrderedCollection", "totalItems": 0}


def test_embedded_first_page_has_no_context() -> None:
    page = ordered_collection_page(OUTBOX + "?page=true", OUTBOX, [], next=None)
    doc = ordered_collection(OUTBOX, 0, first=page)
    assert doc["@context"] == AS
    assert "@context" not in doc["first"]
    assert doc["first"]["type"] == "OrderedCollectionPage"
    assert "@context" in page  # the caller's page is left as it was


def test_page_shape() -> None:
    items = ["https://example.com/users/bob", {"type": "Create", "id": "https://x/1"}]
    page = ordered_collection_page(OUTBOX + "?page=true", OUTBOX, items,
                                   next=OUTBOX + "?max_id=9&page=true",
                                   prev=OUTBOX + "?min_id=20&page=true")
    assert page == {
        "@context": AS, "id": OUTBOX + "?page=true", "type": "OrderedCollectionPage",
        "next": OUTBOX + "?max_id=9&page=true", "prev": OUTBOX + "?min_id=20&page=true",
        "partOf": OUTBOX, "orderedItems": items,
    }
    last = ordered_collection_page(OUTBOX + "?page=2", OUTBOX, [], with_context=False)
    assert last == {"id": OUTBOX + "?page=2", "type": "OrderedCollectionPage", "partOf": OUTBOX,
                    "orderedItems": []}


def test_page_url() -> None:
    assert page_url(OUTBOX, page=True) == OUTBOX + "?page=true"
    assert page_url(OUTBOX, page=True, max_id=105, min_id=None) == OUTBOX + "?page=true&max_id=105"
    assert page_url(OUTBOX + "?page=true", max_id="7") == OUTBOX + "?page=true&max_id=7"
    assert page_url(OUTBOX + "?page=1", page=2) == OUTBOX + "?page=2"
    assert page_url(OUTBOX, only_other_accounts=False) == OUTBOX + "?only_other_accounts=false"
    assert page_url(OUTBOX, q="a b&c") == OUTBOX + "?q=a+b%26c"
