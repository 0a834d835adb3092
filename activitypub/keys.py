"""Key pairs and public keys: generation, PEM loading (cached) and the key lookup contract.

Loading a PEM costs far more than a signature check, so loaded keys are kept in an LRU
keyed by the PEM text: verification is a hot path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from activitypub.errors import SignatureError

PublicKeyObject: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKeyObject: TypeAlias = (
    rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
)


@dataclass(frozen=True)
class PublicKey:
    """A remote (or local) public key as an actor document publishes it."""

    key_id: str
    owner: str  # actor id that owns the key ('' if unknown)
    pem: str  # SubjectPublicKeyInfo PEM (RSA, EC P-256 or Ed25519)


KeyLookup: TypeAlias = Callable[[str, bool], Awaitable[PublicKey | None]]
"""(key_id, refresh) -> the key, or None when unknown; may raise `FetchError`.
`refresh=True` asks for a fresh copy (the cached one failed to verify)."""


def generate_rsa_keypair(bits: int = 2048) -> tuple[str, str]:
    """A new RSA key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return private_pem(key), public_pem(key.public_key())


def generate_ed25519_keypair() -> tuple[str, str]:
    """A new Ed25519 key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = ed25519.Ed25519PrivateKey.generate()
    return private_pem(key), public_pem(key.public_key())


def private_pem(key: PrivateKeyObject) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_pem(key: PublicKeyObject) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@lru_cache(maxsize=4096)
def load_public_key(pem: str) -> PublicKeyObject:
    """Parse a public key PEM (SPKI or PKCS#1 RSA); raises `SignatureError` if unusable."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise SignatureError("public key PEM could not be loaded") from exc
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise SignatureError(f"unsupported public key type {type(key).__name__}")
    return key


@lru_cache(maxsize=256)
def load_private_key(pem: str) -> PrivateKeyObject:
    """Parse an unencrypted private key PEM; raises `SignatureError` if unusable."""
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise SignatureError("private key PEM could not be loaded") from exc
    if not isinstance(
        key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise SignatureError(f"unsupported private key type {type(key).__name__}")
    return key
