"""Incoming HTML cut down to what Mastodon shows: an allow-list through nh3 (Ammonia)."""

from __future__ import annotations

import html

import nh3

TAGS = frozenset({"p", "br", "span", "a", "del", "pre", "code", "em", "strong", "b", "i", "u",
                  "ul", "ol", "li", "blockquote"})
# microformat and display classes Mastodon keeps; any other class is dropped
CLASSES = {
    "span": {"h-card", "mention", "hashtag", "ellipsis", "invisible"},
    "a": {"h-card", "mention", "hashtag", "u-url", "status-link"},
}
ATTRIBUTES = {"a": {"href"}}
SCHEMES = frozenset({"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp",
                     "magnet", "gemini"})
LINK_REL = "nofollow noopener noreferrer"
MAX_HTML = 100_000  # characters kept of any one field, before sanitising


# built once: nh3.clean with these options builds the same sanitizer again on every call,
# which cost several times the cleaning of a short post
_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags={"script", "style"},
    attributes={k: set(v) for k, v in ATTRIBUTES.items()},
    allowed_classes={k: set(v) for k, v in CLASSES.items()},
    url_schemes=set(SCHEMES),
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)
_NO_TAGS = nh3.Cleaner(tags=set())


def sanitize_html(markup: str | None) -> str:
    """`html` with only Mastodon's tags, classes and link schemes; links open in a new tab."""
    if not markup:
        return ""
    return _CLEANER.clean(markup[:MAX_HTML])


def plain_text(text: str | None) -> str:
    """Plain text (a poll option, a title) with any markup removed."""
    if not text:
        return ""
    return html.unescape(_NO_TAGS.clean(text[:MAX_HTML]))
