"""Filters v2 matching (fediverse/api/filtering.py): keywords as Mastodon matches them, the
`filtered` results, `hide` dropping, contexts, expiry, boosts and one's own posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fediverse.api.filtering import (
    CustomFilter,
    FilterKeyword,
    FilterStatus,
    apply_to_notifications,
    apply_to_statuses,
    filter_entity,
    keyword_pattern,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
VIEWER = 1


def status(id: int, content: str, *, author: int = 2, **more: Any) -> dict[str, Any]:
    return {"id": str(id), "account": {"id": str(author)}, "content": content,
            "spoiler_text": "", "media_attachments": [], "poll": None, "reblog": None,
            "filtered": []} | more


def words(*keywords: str, whole_word: bool = True) -> tuple[FilterKeyword, ...]:
    return tuple(FilterKeyword(n, k, whole_word) for n, k in enumerate(keywords, 1))


def test_keywords_match_as_mastodon_does() -> None:
    whole = keyword_pattern(words("cat", "#Tea", "c++"))
    assert whole is not None
    assert whole.search("A CAT sat") and whole.search("we drink #tea") and whole.search("in c++!")
    assert not whole.search("concatenate") and not whole.search("cats")
    part = keyword_pattern(words("cat", whole_word=False))
    assert part is not None and part.search("concatenate")
    assert keyword_pattern(words(" ")) is None
    assert keyword_pattern(words("a.b")).search("a.b") and not keyword_pattern(  # type: ignore[union-attr]
        words("a.b")).search("axb")


def test_warn_marks_hide_drops_in_their_context_only() -> None:
    warn = CustomFilter(10, "Spoilers", ("home", "public"), "warn", keywords=words("finale"))
    hide = CustomFilter(11, "Politics", ("home",), "hide", keywords=words("election"))
    timeline = [status(100, "<p>The <b>finale</b> was great</p>"),
                status(101, "<p>Election night</p>"), status(102, "<p>Nothing here</p>")]
    home = apply_to_statuses([dict(s) for s in timeline], [warn, hide], "home", VIEWER, NOW)
    assert [s["id"] for s in home] == ["100", "102"]
    [result] = home[0]["filtered"]
    assert result == {"filter": filter_entity(warn), "keyword_matches": ["finale"],
                      "status_matches": None}
    assert result["filter"] == {"id": "10", "title": "Spoilers", "context": ["home", "public"],
                                "expires_at": None, "filter_action": "warn",
                                "keywords": [{"id": "1", "keyword": "finale",
                                              "whole_word": True}], "statuses": []}
    assert home[1]["filtered"] == []
    public = apply_to_statuses([dict(s) for s in timeline], [warn, hide], "public", VIEWER, NOW)
    assert [s["id"] for s in public] == ["100", "101", "102"]  # hide is for home only
    thread = apply_to_statuses([dict(s) for s in timeline], [warn, hide], "thread", VIEWER, NOW)
    assert all(s["filtered"] == [] for s in thread)


def test_expired_filters_and_own_posts_are_left_alone() -> None:
    old = CustomFilter(1, "Old", ("home",), "hide", expires_at=NOW - timedelta(seconds=1),
                       keywords=words("cat"))
    soon = CustomFilter(2, "Soon", ("home",), "hide", expires_at=NOW + timedelta(days=1),
                        keywords=words("dog"))
    posts = [status(1, "cat"), status(2, "dog"), status(3, "dog", author=VIEWER)]
    kept = apply_to_statuses(posts, [old, soon], "home", VIEWER, NOW)
    assert [s["id"] for s in kept] == ["1", "3"]


def test_text_searched_and_statuses_named() -> None:
    cw = CustomFilter(1, "CW", ("public",), keywords=words("spider"))
    named = CustomFilter(2, "That one", ("public",), statuses=(FilterStatus(7, 300),))
    posts = [
        status(200, "<p>hidden</p>", spoiler_text="spider pic"),
        status(201, "<p>look</p>", media_attachments=[{"description": "a Spider web"}]),
        status(202, "<p>vote</p>", poll={"options": [{"title": "spiders"}, {"title": "spider"}]}),
        status(203, "<p>spider</p>".replace("spider", "spi<b>der</b>")),  # tags don't hide it
        status(204, "<p>x</p>", reblog=status(300, "<p>boosted</p>", author=3)),
        status(205, "<p>no</p>"),
    ]
    kept = apply_to_statuses(posts, [cw, named], "public", VIEWER, NOW)
    matches = {s["id"]: [(r["filter"]["id"], r["keyword_matches"], r["status_matches"])
                         for r in s["filtered"]] for s in kept}
    assert matches == {"200": [("1", ["spider"], None)], "201": [("1", ["Spider"], None)],
                       "202": [("1", ["spider"], None)], "203": [("1", ["spider"], None)],
                       "204": [("2", None, ["300"])], "205": []}
    assert kept[4]["reblog"]["filtered"] == kept[4]["filtered"]


def test_boosts_of_ones_own_posts_and_notifications() -> None:
    hide = CustomFilter(1, "No", ("notifications",), "hide", keywords=words("spam"))
    warn = CustomFilter(2, "Hmm", ("notifications",), "warn", keywords=words("maybe"))
    notes = [{"id": "1", "type": "mention", "status": status(1, "spam spam")},
             {"id": "2", "type": "follow", "status": None},
             {"id": "3", "type": "mention", "status": status(2, "maybe so")}]
    kept = apply_to_notifications(notes, [hide, warn], VIEWER, NOW)
    assert [n["id"] for n in kept] == ["2", "3"]
    assert kept[1]["status"]["filtered"][0]["filter"]["id"] == "2"
    mine = status(9, "<p>boost</p>", reblog=status(8, "spam", author=VIEWER))
    boosted = apply_to_statuses([mine], [CustomFilter(3, "H", ("home",), "hide",
                                                      keywords=words("spam"))],
                                "home", VIEWER, NOW)
    assert boosted == [mine]
