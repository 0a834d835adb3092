"""A local post's plain text as the HTML Mastodon writes: paragraphs, links, mentions, hashtags."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape

from linkify_it import LinkifyIt  # type: ignore[import-untyped]

from models.tables import Account
from outbox.actors import profile_url
from outbox.urls import Urls

# @user or @user@domain, not inside a word, an address or a path
MENTION_RE = re.compile(
    r"(?<![\w@/.])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@([a-z0-9.-]+[a-z0-9](?::\d+)?))?",
    re.IGNORECASE,
)
# a hashtag has at least one letter (`#1` is not one)
HASHTAG_RE = re.compile(r"(?<![\w/#&])#(\w*[^\W\d]\w*)")


@dataclass
class Content:
    html: str
    tags: list[str] = field(default_factory=list)  # hashtag names, first spelling, no repeats
    mentioned: list[Account] = field(default_factory=list)  # accounts linked in the text


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    html: str


@lru_cache(maxsize=1)
def _linkify() -> LinkifyIt:
    return LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})


def text_to_html(text: str, *, mentions: list[Account], urls: Urls, domain: str) -> Content:
    """Escape `text`, split it into paragraphs and lines, and link URLs, the given
    mentions (as they are written: `@user` or `@user@domain`) and hashtags."""
    content = Content(html="")
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip().replace("\r\n", "\n")) if p.strip()]
    rendered = []
    for paragraph in paragraphs:
        lines = [_inline(line, mentions, urls, domain, content) for line in paragraph.split("\n")]
        rendered.append("<p>" + "<br />".join(lines) + "</p>")
    content.html = "".join(rendered)
    return content


def _inline(line: str, mentions: list[Account], urls: Urls, domain: str, out: Content) -> str:
    # each kind of span needs its mark in the line: most lines skip the matchers
    spans = _links(line) if "://" in line else []
    if "@" in line:
        spans += _mentions(line, spans, mentions, urls, domain, out)
    if "#" in line:
        spans += _hashtags(line, spans, urls, out)
    if not spans:
        return escape(line, quote=False)
    html, pos = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        html.append(escape(line[pos:span.start], quote=False))
        html.append(span.html)
        pos = span.end
    html.append(escape(line[pos:], quote=False))
    return "".join(html)


def _free(start: int, end: int, taken: list[_Span]) -> bool:
    return all(end <= s.start or start >= s.end for s in taken)


def _links(line: str) -> list[_Span]:
    spans = []
    for match in _linkify().match(line) or []:
        if match.schema.lower() in ("http:", "https:"):
            href = escape(match.url)
            spans.append(_Span(match.index, match.last_index, (
                f'<a href="{href}" target="_blank" rel="nofollow noopener noreferrer" '
                f'translate="no">{escape(match.text, quote=False)}</a>')))
    return spans


def _find_account(user: str, host: str | None, mentions: list[Account], domain: str
                  ) -> Account | None:
    for account in mentions:
        if account.username.lower() != user.lower():
            continue
        if host is None or host.lower() == (account.domain or domain).lower():
            return account
    return None


def _mentions(line: str, taken: list[_Span], mentions: list[Account], urls: Urls, domain: str,
              out: Content) -> list[_Span]:
    spans = []
    for match in MENTION_RE.finditer(line):
        account = _find_account(match.group(1), match.group(2), mentions, domain)
        if account is None or not _free(match.start(), match.end(), taken):
            continue
        href = escape(profile_url(account, urls))
        spans.append(_Span(match.start(), match.end(), (
            f'<span class="h-card" translate="no"><a href="{href}" class="u-url mention">'
            f'@<span>{escape(account.username, quote=False)}</span></a></span>')))
        if all(a.id != account.id for a in out.mentioned):
            out.mentioned.append(account)
    return spans


def _hashtags(line: str, taken: list[_Span], urls: Urls, out: Content) -> list[_Span]:
    spans = []
    for match in HASHTAG_RE.finditer(line):
        if not _free(match.start(), match.end(), taken):
            continue
        name = match.group(1)
        href = escape(urls.tag(name.lower()))
        spans.append(_Span(match.start(), match.end(), (
            f'<a href="{href}" class="mention hashtag" rel="tag">'
            f'#<span>{escape(name, quote=False)}</span></a>')))
        if name.lower() not in (t.lower() for t in out.tags):
            out.tags.append(name)
    return spans
