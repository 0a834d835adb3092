"""Small HTML pages for browsers: one status, one hashtag. Text is escaped; status content
is stored sanitised and goes in as it is."""

from __future__ import annotations

from html import escape

from models.tables import Account, MediaAttachment, Status
from outbox.urls import Urls

_HEAD = (
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
)


def media_url(media: MediaAttachment, urls: Urls) -> str:
    """Where an attachment's file is fetched from: ours (an upload, or a remote file copied
    here), else the sender's."""
    if media.file_path:
        return f"{urls.base}/media/{media.file_path}"
    return media.remote_url or f"{urls.base}/media/"


def _page(title: str, body: str, alternate: str | None = None) -> str:
    link = (f'<link rel="alternate" type="application/activity+json" href="{escape(alternate)}">\n'
            if alternate else "")
    return f"{_HEAD}<title>{escape(title)}</title>\n{link}</head>\n<body>\n{body}</body>\n</html>\n"


def _image(media: MediaAttachment, urls: Urls) -> str:
    size = f' width="{media.width}" height="{media.height}"' if media.width and media.height else ""
    return f'<img src="{escape(media_url(media, urls))}" alt="{escape(media.description)}"{size}>'


def _article(status: Status, author: Account, media: list[MediaAttachment], urls: Urls, domain: str) -> str:
    name = escape(author.display_name or author.username)
    handle = escape(f"@{author.username}@{domain}")
    content = status.content
    if status.spoiler_text:
        content = f"<details><summary>{escape(status.spoiler_text)}</summary>{content}</details>"
    images = "".join(_image(m, urls) for m in media)
    when = status.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<article class="status">\n'
        f'<header><a href="{escape(urls.profile(author.username))}">{name}</a> '
        f'<span class="handle">{handle}</span></header>\n'
        f'<div class="content">{content}</div>\n'
        + (f'<div class="media">{images}</div>\n' if images else "")
        + f'<footer><a href="{escape(status.url or status.uri)}"><time datetime="{when}">{when}</time></a></footer>\n'
        "</article>\n"
    )


def status_page(status: Status, author: Account, media: list[MediaAttachment], urls: Urls,
                domain: str) -> str:
    title = f"{author.display_name or author.username} (@{author.username}@{domain})"
    return _page(title, _article(status, author, media, urls, domain), alternate=status.uri)


def tag_page(name: str, statuses: list[tuple[Status, Account]], urls: Urls, domain: str) -> str:
    articles = "".join(_article(s, a, [], urls, domain) for s, a in statuses)
    empty = "" if articles else "<p>No public posts with this hashtag yet.</p>\n"
    return _page(f"#{name}", f"<main>\n<h1>#{escape(name)}</h1>\n{articles}{empty}</main>\n")


def gone_page() -> str:
    return _page("Deleted", "<main><p>This post has been deleted.</p></main>\n")
