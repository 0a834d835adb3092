"""Linked Data Signatures (`RsaSignature2017`) as Mastodon puts them on relayed activities.

To sign, hash two URDNA2015-normalised documents with SHA-256 and take the hex digests:
the signature options (`creator`, `created`, with the `https://w3id.org/identity/v1`
context; `type`, `id` and `signatureValue` left out) and the document without its
`signature`. The concatenation of the two hex strings is signed RSASSA-PKCS1-v1_5 with
SHA-256 and the result put base64-encoded in `signature.signatureValue`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import jsonld
from .errors import DocumentError, SignatureError

SIGNATURE_TYPE = "RsaSignature2017"
_OPTIONS_LEFT_OUT = ("type", "id", "signatureValue")


@dataclass(frozen=True)
class LDVerification:
    """The outcome of `verify_ld`: `ok`, and why not in `reason`."""

    ok: bool
    reason: str
    creator: str | None = None


def ld_signature_creator(doc: dict) -> str | None:
    """The key id named by the document's `RsaSignature2017` signature, if any."""
    signature = doc.get("signature")
    if not isinstance(signature, dict) or signature.get("type") != SIGNATURE_TYPE:
        return None
    creator = signature.get("creator")
    return creator if isinstance(creator, str) else None


def _sha256_hex(doc: dict) -> str:
    return hashlib.sha256(jsonld.normalize(doc).encode("utf-8")).hexdigest()


def _to_be_signed(doc: dict, options: dict) -> bytes:
    """The bytes an `RsaSignature2017` signs: options hash then document hash."""
    options_doc = {k: v for k, v in options.items() if k not in _OPTIONS_LEFT_OUT}
    options_doc["@context"] = jsonld.IDENTITY_CONTEXT
    document = {k: v for k, v in doc.items() if k != "signature"}
    return (_sha256_hex(options_doc) + _sha256_hex(document)).encode("ascii")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_ld(
    doc: dict, *, creator: str, private_key_pem: str, created: str | None = None
) -> dict:
    """A copy of `doc` with an `RsaSignature2017` signature by the key `creator`."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise SignatureError("the private key could not be read") from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SignatureError("RsaSignature2017 needs an RSA key")
    options = {"type": SIGNATURE_TYPE, "creator": creator, "created": created or _now()}
    try:
        data = _to_be_signed(doc, options)
    except DocumentError as error:
        raise SignatureError(f"the document cannot be normalised: {error}") from error
    value = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    signature = {**options, "signatureValue": base64.b64encode(value).decode("ascii")}
    return {**doc, "signature": signature}


def _load_public_key(public_key_pem: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def _signature_problem(signature: Any) -> str | None:
    if signature is None:
        return "no signature"
    if not isinstance(signature, dict):
        return "signature is not an object"
    if signature.get("type") != SIGNATURE_TYPE:
        return f"unsupported signature type: {signature.get('type')!r}"
    if not isinstance(signature.get("creator"), str):
        return "signature has no creator"
    if not isinstance(signature.get("signatureValue"), str):
        return "signature has no signatureValue"
    return None


def verify_ld(doc: dict, public_key_pem: str) -> LDVerification:
    """Check the document's `RsaSignature2017` signature against `public_key_pem`.

    The caller must still check that the key belongs to the creator and the actor.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = doc.get("signature")
    problem = _signature_problem(signature)
    if problem:
        return LDVerification(False, problem, ld_signature_creator(doc))
    creator = signature["creator"]
    key = _load_public_key(public_key_pem)
    if key is None:
        return LDVerification(False, "public key is not an RSA PEM key", creator)
    try:
        value = base64.b64decode("".join(signature["signatureValue"].split()), validate=True)
    except (binascii.Error, ValueError):
        return LDVerification(False, "signatureValue is not base64", creator)
    try:
        data = _to_be_signed(doc, signature)
    except DocumentError as error:
        return LDVerification(False, f"cannot normalise: {error}", creator)
    try:
        key.verify(value, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return LDVerification(False, "signature does not match", creator)
    return LDVerification(True, "valid", creator)
