"""A safe fetcher for remote ActivityPub documents and other JSON resources.

Every hop of a redirect chain is checked: the scheme, the addresses the host resolves to
(through `netguard`), the time taken, the size of the body. ActivityPub documents are
also checked for their content type, `@context` and `id`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import anyio
import httpx

from activitypub.errors import BadResponse, BlockedAddress, FetchError, FetchTimeout, Gone, TooLarge
from activitypub.netguard import (
    AddressPolicy,
    GuardedTransport,
    Resolver,
    is_blocked_address,
    never_blocked,
    resolve,
)
from activitypub.vocab import host_of

__all__ = ["ACTIVITY_ACCEPT", "AS_CONTEXT", "Fetcher", "is_blocked_address"]

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
ACTIVITY_ACCEPT = (
    'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
)
_AS_CONTEXTS = {AS_CONTEXT, "http://www.w3.org/ns/activitystreams"}
_ACTIVITY_TYPES = {"application/activity+json", "application/ld+json"}
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass
class _Hop:
    """What one request gave: a redirect target, or a body."""

    location: str | None = None
    body: bytes = b""


class Fetcher:
    """Fetches remote documents over one shared, guarded `httpx.AsyncClient`."""

    def __init__(
        self,
        *,
        user_agent: str,
        auth: httpx.Auth | None = None,
        allow_private: bool = False,
        allow_http: bool = False,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_bytes: int = 1_000_000,
        max_redirects: int = 3,
        blocked: AddressPolicy = is_blocked_address,
        resolver: Resolver = resolve,
        refused_host: Callable[[str], Awaitable[bool]] | None = None,
    ):
        if not user_agent.strip():
            raise ValueError("a non-empty User-Agent is required")
        self._auth = auth
        self._refused_host = refused_host  # e.g. servers the application blocks
        self._allow_http = allow_http
        self._blocked = never_blocked if allow_private else blocked
        self._deadline = connect_timeout + read_timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(blocked=self._blocked, resolver=resolver),
            headers={"User-Agent": user_agent},
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get_object(
        self, url: str, *, signed: bool = True, same_host_id: bool = False
    ) -> dict[str, Any]:
        """Fetch an ActivityPub document whose `id` is the final URL asked for.

        `same_host_id` relaxes that to "an id on the same origin as the final URL", for
        key ids such as GoToSocial's `ACTOR/main-key`, which answers with the actor stub.
        """
        auth = self._auth if signed else None
        final_url, body = await self._fetch(url, ACTIVITY_ACCEPT, auth, _is_activity_type)
        document = _parse_object(body)
        _check_context(document)
        _check_id(document, final_url, same_host_id)
        return document

    async def get_json(self, url: str, *, accept: str) -> dict[str, Any]:
        """Fetch any JSON object (a WebFinger JRD, a NodeInfo document), unsigned."""
        _final_url, body = await self._fetch(url, accept, None, _is_json_type)
        return _parse_object(body)

    async def get_bytes(self, url: str, *, accept: str,
                        media_type_ok: Callable[[str], bool]) -> bytes:
        """Fetch any other resource (an image), unsigned, whose content type passes
        `media_type_ok`; the same checks and bounds as documents."""
        _final_url, body = await self._fetch(url, accept, None, media_type_ok)
        return body

    async def _fetch(
        self, url: str, accept: str, auth: httpx.Auth | None, type_ok: Callable[[str], bool]
    ) -> tuple[str, bytes]:
        """Follow at most `max_redirects` redirects; return the final URL and the body."""
        for _ in range(self._max_redirects + 1):
            hop = await self._hop(url, accept, auth, type_ok)
            if hop.location is None:
                return url, hop.body
            url = hop.location
        raise BadResponse(f"more than {self._max_redirects} redirects")

    async def _hop(
        self, url: str, accept: str, auth: httpx.Auth | None, type_ok: Callable[[str], bool]
    ) -> _Hop:
        self._check_url(url)
        if self._refused_host is not None:
            host = host_of(url)
            if await self._refused_host(host):
                raise BlockedAddress(f"{host} is refused here")
        try:
            with anyio.fail_after(self._deadline):
                return await self._request(url, accept, auth, type_ok)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise FetchTimeout(f"{url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"could not fetch {url}: {type(exc).__name__}") from exc

    async def _request(
        self, url: str, accept: str, auth: httpx.Auth | None, type_ok: Callable[[str], bool]
    ) -> _Hop:
        headers = {"Accept": accept}
        async with self._client.stream("GET", url, headers=headers, auth=auth) as response:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise BadResponse(f"redirect without a Location from {url}")
                return _Hop(location=urljoin(url, location))
            _check_status(response)
            media_type = _media_type(response.headers.get("content-type", ""))
            if not type_ok(media_type):
                raise BadResponse(f"unexpected content type {media_type or 'none'!r}")
            return _Hop(body=await self._read(response))

    async def _read(self, response: httpx.Response) -> bytes:
        """Read the decoded body, stopping as soon as it passes `max_bytes`."""
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            raise TooLarge(f"body of {length} bytes is over {self._max_bytes}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise TooLarge(f"body is over {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_url(self, url: str) -> None:
        """Refuse a URL before any connection: its scheme, and a blocked IP literal."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as exc:
            raise FetchError(f"malformed URL {url!r}") from exc
        allowed = ("https", "http") if self._allow_http else ("https",)
        if parts.scheme not in allowed:
            raise FetchError(f"refused URL scheme {parts.scheme!r}")
        if not host or parts.username is not None:
            raise FetchError(f"refused URL {url!r}")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return  # a name: the transport vets what it resolves to
        if self._blocked(literal):
            raise BlockedAddress(f"{host} is a refused address")


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_activity_type(media_type: str) -> bool:
    return media_type in _ACTIVITY_TYPES


def _is_json_type(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _check_status(response: httpx.Response) -> None:
    if response.status_code == 410:
        raise Gone(f"{response.url} is gone")
    if not 200 <= response.status_code < 300:
        raise BadResponse(f"status {response.status_code} from {response.url}",
                          status=response.status_code)


def _parse_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise BadResponse("body is not valid JSON") from exc
    if not isinstance(document, dict):
        raise BadResponse("body is not a JSON object")
    return document


def _check_context(document: dict[str, Any]) -> None:
    context = document.get("@context")
    entries = context if isinstance(context, list) else [context]
    if not any(isinstance(entry, str) and entry in _AS_CONTEXTS for entry in entries):
        raise BadResponse("@context does not contain the ActivityStreams context")


def _check_id(document: dict[str, Any], final_url: str, same_host: bool) -> None:
    """The document must be the one asked for (the URL's fragment is not sent, so ignored)."""
    expected = urldefrag(final_url).url
    actual = document.get("id")
    if not isinstance(actual, str):
        raise BadResponse("document has no id")
    if actual == expected:
        return
    if same_host and _origin(actual) is not None and _origin(actual) == _origin(expected):
        return
    raise BadResponse(f"document id {actual!r} is not {expected!r}")


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        return parts.scheme, (parts.hostname or ""), parts.port
    except ValueError:
        return None
