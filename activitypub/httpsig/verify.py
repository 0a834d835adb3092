"""One entry point that verifies an incoming request signed by either standard.

Order of checks: a signature is there and parses; the algorithm is supported; the request
target is covered; the time (Date, created, expires) is near; the body digest is covered
and matches; the key is found; the signature holds (with one key refetch on failure, for
key rotation). The first failure is the `reason`; nothing here raises for a bad request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache

from activitypub.digest import check_content_digest, check_digest
from activitypub.errors import ActivityPubError, SignatureError
from activitypub.httpsig import algorithms, cavage, rfc9421
from activitypub.httpsig.headers import HeaderInput, HeaderView
from activitypub.httpsig.target import Target, parse_target
from activitypub.keys import KeyLookup, PublicKey, load_public_key

_TARGET_COMPONENTS = ("@target-uri", "@path", "@request-target")


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str  # one human line; "" when ok
    key_id: str | None = None
    owner: str | None = None  # the key owner's actor id when ok
    scheme: str | None = None  # "cavage" or "rfc9421"


@dataclass(frozen=True)
class _Candidate:
    """A parsed signature ready for a key: any one base verifying is enough."""

    scheme: str
    key_id: str
    primitives: tuple[str, ...] | None  # None: as the key's type dictates
    signature: bytes
    bases: tuple[bytes, ...]


@dataclass(frozen=True)
class _Request:
    method: str
    target: Target
    headers: HeaderView
    body: bytes
    needs_digest: bool
    now: float
    max_skew: int


async def verify_request(
    method: str,
    url: str,
    headers: HeaderInput,
    body: bytes | None,
    key_lookup: KeyLookup,
    *,
    now: float | None = None,
    max_skew: int = 3600,
    require_digest: bool | None = None,
) -> Verification:
    """Verify a request's HTTP signature (RFC 9421 preferred over draft-cavage when both).

    `url` is the full URL as received; `require_digest=None` requires a covered digest
    whenever there is a body or the method normally carries one.
    """
    try:
        target = parse_target(url)
    except ValueError as exc:
        return Verification(False, str(exc))
    body = body or b""
    if require_digest is None:
        require_digest = bool(body) or method.upper() in cavage.BODY_METHODS
    request = _Request(
        method,
        target,
        HeaderView(headers),
        body,
        require_digest,
        time.time() if now is None else now,
        max_skew,
    )
    if "signature-input" in request.headers:
        candidate = _rfc9421_candidate(request)
    else:
        candidate = _cavage_candidate(request)
    if isinstance(candidate, Verification):
        return candidate
    return await _verify_with_key(candidate, key_lookup)


def _cavage_candidate(request: _Request) -> _Candidate | Verification:
    raw = cavage.find_signature_header(request.headers)
    if raw is None:
        return Verification(False, "request is not signed")
    try:
        sig = cavage.parse_signature_header(raw)
    except ValueError as exc:
        return Verification(False, str(exc), scheme="cavage")

    def fail(reason: str) -> Verification:
        return Verification(False, reason, key_id=sig.key_id, scheme="cavage")

    if sig.algorithm is not None and sig.algorithm not in cavage.ALGORITHMS:
        return fail(f"unsupported algorithm {sig.algorithm}")
    covered = frozenset(sig.headers)
    if "(request-target)" not in covered:
        return fail("signature does not cover (request-target)")
    created = sig.created if "(created)" in covered else None
    reason = _check_time(request, "date" in covered, created, sig.expires) or _check_digests(
        request, covered
    )
    if reason:
        return fail(reason)
    variants = [True, False] if request.target.query else [True]
    try:
        bases = tuple(
            cavage.signing_string(
                request.method,
                request.target,
                request.headers,
                sig.headers,
                created=sig.created,
                expires=sig.expires,
                with_query=with_query,
            ).encode("utf-8", "surrogateescape")
            for with_query in variants
        )
    except ValueError as exc:
        return fail(str(exc))
    primitives = cavage.ALGORITHMS[sig.algorithm] if sig.algorithm else None
    return _Candidate("cavage", sig.key_id, primitives, sig.signature, bases)


def _rfc9421_candidate(request: _Request) -> _Candidate | Verification:
    try:
        sig = rfc9421.parse_signatures(request.headers)[0]
    except ValueError as exc:
        return Verification(False, str(exc), scheme="rfc9421")
    key_id = sig.param_str("keyid")
    if not key_id:
        return Verification(False, f"signature {sig.label} has no keyid", scheme="rfc9421")

    def fail(reason: str) -> Verification:
        return Verification(False, reason, key_id=key_id, scheme="rfc9421")

    alg = sig.param_str("alg")
    if alg is not None and alg not in algorithms.ASYMMETRIC:
        return fail(f"unsupported algorithm {alg}")
    covered = sig.names
    if "@method" not in covered or covered.isdisjoint(_TARGET_COMPONENTS):
        return fail("signature does not cover @method and the request target")
    created = sig.param_int("created")
    reason = _check_time(request, "date" in covered, created, sig.param_int("expires"))
    reason = reason or _check_digests(request, covered)
    if reason:
        return fail(reason)
    try:
        message = rfc9421.Message(request.headers, method=request.method, target=request.target)
        base = rfc9421.signature_base(message, sig).encode("utf-8", "surrogateescape")
    except ValueError as exc:
        return fail(str(exc))
    return _Candidate("rfc9421", key_id, (alg,) if alg else None, sig.signature, (base,))


def _check_time(
    request: _Request, date_covered: bool, created: int | None, expires: int | None
) -> str | None:
    """Why the signature's time is unacceptable, or None."""
    if not date_covered and created is None:
        return "signature covers neither Date nor a created time"
    if expires is not None and request.now > expires:
        return f"signature expired {_span(request.now - expires)} ago"
    if created is not None:
        reason = _skew("created", created, request.now, request.max_skew)
        if reason:
            return reason
    if date_covered:
        value = request.headers.combined("date")
        if value is None:
            return "signed header date is missing"
        when = _date_seconds(value)
        if when is None:
            return f"Date header {value!r} is malformed"
        return _skew("Date", when, request.now, request.max_skew)
    return None


@lru_cache(maxsize=256)  # concurrent senders stamp the same second
def _date_seconds(value: str) -> float | None:
    """The time a `Date` header names, or None when it is malformed."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _skew(what: str, when: float, now: float, max_skew: int) -> str | None:
    delta = when - now
    if abs(delta) <= max_skew:
        return None
    direction = "in the future" if delta > 0 else "in the past"
    return f"{what} is {_span(abs(delta))} {direction} (more than {max_skew} s from now)"


def _span(seconds: float) -> str:
    """A rough human duration: '2 hours', '40 seconds'."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = int(seconds)
    return f"{count} second{'s' if count != 1 else ''}"


def _check_digests(request: _Request, covered: frozenset[str]) -> str | None:
    """Why the covered body digests are missing or wrong, or None."""
    names = [name for name in ("digest", "content-digest") if name in covered]
    if request.needs_digest and not names:
        return "signature does not cover a Digest or Content-Digest header"
    for name in names:
        value = request.headers.combined(name)
        if value is None:
            return f"signed header {name} is missing"
        check = check_digest if name == "digest" else check_content_digest
        result = check(value, request.body)
        if not result.ok:
            return result.reason
    return None


async def _lookup(key_lookup: KeyLookup, key_id: str, refresh: bool) -> PublicKey | str:
    try:
        key = await key_lookup(key_id, refresh)
    except ActivityPubError as exc:
        return f"key {key_id} could not be fetched: {exc}"
    return key if key is not None else f"key {key_id} is unknown"


def _check_key(candidate: _Candidate, key: PublicKey) -> str | None:
    """Why the signature fails with this key, or None when it holds."""
    try:
        loaded = load_public_key(key.pem)
    except SignatureError as exc:
        return f"key {candidate.key_id}: {exc}"
    primitives = candidate.primitives or algorithms.algorithms_for_key(loaded)
    usable = [alg for alg in primitives if algorithms.key_matches(alg, loaded)]
    if not usable:
        return f"key {candidate.key_id} cannot verify {', '.join(primitives)}"
    for base in candidate.bases:
        for alg in usable:
            if algorithms.verify(alg, loaded, base, candidate.signature):
                return None
    return "signature does not verify"


async def _verify_with_key(candidate: _Candidate, key_lookup: KeyLookup) -> Verification:
    def result(reason: str | None, key: PublicKey | None = None) -> Verification:
        owner = key.owner if key is not None and reason is None else None
        return Verification(reason is None, reason or "", candidate.key_id, owner, candidate.scheme)

    key = await _lookup(key_lookup, candidate.key_id, False)
    if isinstance(key, str):
        return result(key)
    reason = _check_key(candidate, key)
    if reason is None:
        return result(None, key)
    fresh = await _lookup(key_lookup, candidate.key_id, True)  # the key may have rotated
    if isinstance(fresh, str):
        return result(f"{reason}; refetching the key failed: {fresh}")
    if fresh.pem.strip() == key.pem.strip():
        return result(reason)
    reason = _check_key(candidate, fresh)
    return result(reason, fresh)
