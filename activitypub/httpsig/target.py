"""The parts of a request URL that signatures cover."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    uri: str  # the full URL as received
    scheme: str  # lower-cased
    authority: str  # lower-cased host[:port], default port dropped
    path: str  # raw (still percent-encoded), "/" when empty
    query: str | None  # raw, without "?"; None when there is no "?"

    @property
    def request_target(self) -> str:
        """Path and query as in the request line (origin form)."""
        return self.path if self.query is None else f"{self.path}?{self.query}"


@lru_cache(maxsize=1024)  # an inbox is sent to at few URLs, over and over
def parse_target(url: str) -> Target:
    """Split a full URL; raises ValueError when it has no scheme or host."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"not an absolute URL: {url!r}")
    scheme = parts.scheme.lower()
    host = parts.hostname  # lower-cased, brackets removed
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    authority = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    query = parts.query if (parts.query or url.split("#", 1)[0].endswith("?")) else None
    return Target(url, scheme, authority, parts.path or "/", query)
