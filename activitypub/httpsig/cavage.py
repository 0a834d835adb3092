"""draft-cavage-http-signatures-12, as the fediverse uses it.

    Signature: keyId="https://host/users/alice#main-key",algorithm="rsa-sha256",
               headers="(request-target) host date digest content-type",signature="<base64>"

The same parameters may come as `Authorization: Signature <params>`. `hs2019` means
"ask the key": RSA keys sign RSASSA-PKCS1-v1_5 with SHA-256, as Mastodon does.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from email.utils import formatdate

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from activitypub.digest import digest_header
from activitypub.errors import SignatureError
from activitypub.httpsig import algorithms
from activitypub.httpsig.headers import HeaderView
from activitypub.httpsig.target import Target, parse_target
from activitypub.keys import load_private_key

# cavage algorithm name -> primitives to try; None means "as the key's type dictates"
ALGORITHMS: dict[str, tuple[str, ...] | None] = {
    "rsa-sha256": ("rsa-v1_5-sha256",),
    "rsa-sha512": ("rsa-v1_5-sha512",),
    "ecdsa-sha256": ("ecdsa-p256-sha256",),
    "ed25519": ("ed25519",),
    "hs2019": None,
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_PARAM = re.compile(
    r'[ \t]*([A-Za-z]+)[ \t]*=[ \t]*(?:"([^"]*)"|([0-9]+(?:\.[0-9]+)?))[ \t]*(?:,|$)'
)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CavageSignature:
    """The parameters of one cavage `Signature` header."""

    key_id: str
    algorithm: str | None  # lower-cased; None when absent
    headers: tuple[str, ...]  # lower-cased, in signing order
    signature: bytes
    created: int | None = None
    expires: int | None = None


def find_signature_header(headers: HeaderView) -> str | None:
    """The parameter string from `Signature`, else from `Authorization: Signature ...`."""
    value = headers.combined("signature")
    if value is not None:
        return value
    for auth in headers.values("authorization"):
        scheme, _, params = auth.strip().partition(" ")
        if scheme.lower() == "signature":
            return params
    return None


def parse_signature_header(value: str) -> CavageSignature:
    """Parse the parameters; raises ValueError with a short reason when malformed."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None or match.end() == pos:
            raise ValueError("Signature header is malformed")
        name = match.group(1)
        if name in params:
            raise ValueError(f"Signature header repeats {name}")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
    for required in ("keyId", "signature"):
        if not params.get(required):
            raise ValueError(f"Signature header has no {required}")
    try:
        signature = base64.b64decode(_WHITESPACE.sub("", params["signature"]), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("Signature header signature is not base64") from None
    names = params.get("headers", "date").lower().split()
    if not names:
        raise ValueError("Signature header has an empty headers list")
    algorithm = params.get("algorithm")
    return CavageSignature(
        key_id=params["keyId"],
        algorithm=algorithm.lower() if algorithm else None,
        headers=tuple(names),
        signature=signature,
        created=_integer(params.get("created"), "created"),
        expires=_integer(params.get("expires"), "expires"),
    )


def _integer(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"Signature header {name} is not a number") from None


def signing_string(
    method: str,
    target: Target,
    headers: HeaderView,
    names: tuple[str, ...] | list[str],
    *,
    created: int | None = None,
    expires: int | None = None,
    with_query: bool = True,
) -> str:
    """The string that is signed; raises ValueError naming a covered header that is missing."""
    lines = []
    for name in names:
        if name == "(request-target)":
            path = target.request_target if with_query else target.path
            value = f"{method.lower()} {path}"
        elif name in ("(created)", "(expires)"):
            number = created if name == "(created)" else expires
            if number is None:
                raise ValueError(f"signature covers {name} but has no {name[1:-1]} parameter")
            value = str(number)
        else:
            found = headers.combined(name)
            if found is None and name == "host":
                found = target.authority  # HTTP/2 carries it as :authority
            if found is None:
                raise ValueError(f"signed header {name} is missing")
            value = found
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def _algorithm_names(key: object) -> tuple[str, str]:
    """(primitive, cavage name) for signing with this key."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa-v1_5-sha256", "rsa-sha256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519", "hs2019"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return "ecdsa-p256-sha256", "hs2019"
    raise SignatureError(f"cannot sign cavage signatures with a {type(key).__name__}")


def _set(headers: dict[str, str], name: str, value: str, *, replace: bool) -> str:
    """Set a header by case-insensitive name, keeping an existing one unless `replace`."""
    for existing in [k for k in headers if k.lower() == name.lower()]:
        if not replace:
            return headers[existing]
        del headers[existing]
    headers[name] = value
    return value


def sign_cavage(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    now: float | None = None,
) -> dict[str, str]:
    """A new dict of headers with Host, Date, Digest (for a body) and Signature added."""
    if '"' in key_id:
        raise SignatureError("key id must not contain a double quote")
    primitive, alg_name = _algorithm_names(load_private_key(private_key_pem))
    try:
        target = parse_target(url)
    except ValueError as exc:
        raise SignatureError(str(exc)) from exc
    out = dict(headers)
    _set(out, "Host", target.authority, replace=False)
    _set(out, "Date", formatdate(time.time() if now is None else now, usegmt=True), replace=False)
    view = HeaderView(out)
    names = ["(request-target)", "host", "date"]
    if body or method.upper() in BODY_METHODS:
        _set(out, "Digest", digest_header(body or b""), replace=True)
        names.append("digest")
        if "content-type" in view:
            names.append("content-type")
        view = HeaderView(out)
    elif "accept" in view:
        names.append("accept")
    data = signing_string(method, target, view, names).encode("utf-8", "surrogateescape")
    signature = algorithms.sign(primitive, load_private_key(private_key_pem), data)
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="{alg_name}",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return out
