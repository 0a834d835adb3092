"""Body digests: the cavage-era `Digest` header (RFC 3230) and RFC 9530 `Content-Digest`.

    Digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=
    Content-Digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:

Checking accepts sha-256 and sha-512 (algorithm names case-insensitive in `Digest`); every
supported entry present must match, and at least one must be present.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from http_sfv.dictionary import Dictionary
from http_sfv.item import Item

_HASHES: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}


@dataclass(frozen=True)
class DigestCheck:
    ok: bool
    reason: str  # "" when ok


def _raw_digest(algorithm: str, body: bytes) -> bytes:
    try:
        return _HASHES[algorithm.lower()](body).digest()
    except KeyError:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}") from None


def digest_header(body: bytes, algorithm: str = "SHA-256") -> str:
    """The value of a `Digest` header, e.g. `SHA-256=<base64>` (name kept as given)."""
    return f"{algorithm}={base64.b64encode(_raw_digest(algorithm, body)).decode('ascii')}"


def content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """The value of a `Content-Digest` header, e.g. `sha-256=:<base64>:`."""
    algorithm = algorithm.lower()
    return f"{algorithm}=:{base64.b64encode(_raw_digest(algorithm, body)).decode('ascii')}:"


def check_digest(value: str, body: bytes) -> DigestCheck:
    """Check a `Digest` header value against the body."""
    entries: list[tuple[str, bytes]] = []
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep or not name:
            return DigestCheck(False, "Digest header is malformed")
        if name.lower() not in _HASHES:
            continue
        try:
            entries.append((name.lower(), base64.b64decode(encoded.strip(), validate=True)))
        except (binascii.Error, ValueError):
            return DigestCheck(False, f"Digest {name} value is not base64")
    return _compare(entries, body, "Digest")


def check_content_digest(value: str, body: bytes) -> DigestCheck:
    """Check a `Content-Digest` header value (a structured dictionary) against the body."""
    field = Dictionary()
    try:
        field.parse(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return DigestCheck(False, "Content-Digest header is malformed")
    entries: list[tuple[str, bytes]] = []
    for name, member in field.items():
        if name not in _HASHES:
            continue
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            return DigestCheck(False, f"Content-Digest {name} is not a byte sequence")
        entries.append((name, member.value))
    return _compare(entries, body, "Content-Digest")


def _compare(entries: list[tuple[str, bytes]], body: bytes, header: str) -> DigestCheck:
    if not entries:
        return DigestCheck(False, f"{header} has no sha-256 or sha-512 value")
    for name, expected in entries:
        if not hmac.compare_digest(_raw_digest(name, body), expected):
            return DigestCheck(False, f"{header} {name} does not match the body")
    return DigestCheck(True, "")
