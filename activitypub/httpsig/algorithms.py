"""Signature primitives by name, shared by both standards.

Names are RFC 9421's: rsa-v1_5-sha256, rsa-v1_5-sha512, rsa-pss-sha512, ecdsa-p256-sha256,
ecdsa-p384-sha384, ed25519, hmac-sha256. ECDSA signatures are the raw r||s form RFC 9421
uses; `verify` also accepts DER, which cavage-era signers send.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from activitypub.errors import SignatureError
from activitypub.keys import PrivateKeyObject, PublicKeyObject

ASYMMETRIC = frozenset(
    {
        "rsa-v1_5-sha256",
        "rsa-v1_5-sha512",
        "rsa-pss-sha512",
        "ecdsa-p256-sha256",
        "ecdsa-p384-sha384",
        "ed25519",
    }
)
_CURVES = {"ecdsa-p256-sha256": ("secp256r1", 32), "ecdsa-p384-sha384": ("secp384r1", 48)}
_PKCS1_HASH = {"rsa-v1_5-sha256": hashes.SHA256(), "rsa-v1_5-sha512": hashes.SHA512()}
_PKCS1 = padding.PKCS1v15()  # both stateless: made once, not per signature


def key_matches(alg: str, key: PublicKeyObject | PrivateKeyObject) -> bool:
    """Whether the key is of the type the algorithm needs."""
    if alg.startswith("rsa-"):
        return isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey)
    if alg in _CURVES:
        return (
            isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey)
            and key.curve.name == _CURVES[alg][0]
        )
    if alg == "ed25519":
        return isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey)
    return False


def algorithms_for_key(key: PublicKeyObject) -> tuple[str, ...]:
    """What to try when the signature does not name its algorithm (most likely first)."""
    if isinstance(key, rsa.RSAPublicKey):
        return ("rsa-v1_5-sha256", "rsa-pss-sha512")
    if isinstance(key, ec.EllipticCurvePublicKey):
        return tuple(alg for alg in _CURVES if _CURVES[alg][0] == key.curve.name)
    return ("ed25519",)


def sign(alg: str, key: PrivateKeyObject, data: bytes) -> bytes:
    if not key_matches(alg, key):
        raise SignatureError(f"a {type(key).__name__} cannot sign with {alg}")
    if isinstance(key, rsa.RSAPrivateKey):
        if alg == "rsa-pss-sha512":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
            return key.sign(data, pss, hashes.SHA512())
        return key.sign(data, _PKCS1, _PKCS1_HASH[alg])
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = _CURVES[alg][1]
        der = key.sign(data, ec.ECDSA(_ec_hash(alg)))
        r, s = utils.decode_dss_signature(der)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return key.sign(data)


def verify(alg: str, key: PublicKeyObject, data: bytes, signature: bytes) -> bool:
    """True when `signature` is valid for `data`; False for a wrong signature or key type."""
    if not key_matches(alg, key):
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if alg == "rsa-pss-sha512":
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=padding.PSS.AUTO)
                key.verify(signature, data, pss, hashes.SHA512())
            else:
                key.verify(signature, data, _PKCS1, _PKCS1_HASH[alg])
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(_ec_der(alg, signature), data, ec.ECDSA(_ec_hash(alg)))
        else:
            key.verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_hmac(secret: bytes, data: bytes) -> bytes:
    """hmac-sha256 (RFC 9421 3.3.3); for shared-secret peers and the vectors."""
    return hmac.new(secret, data, hashlib.sha256).digest()


def verify_hmac(secret: bytes, data: bytes, signature: bytes) -> bool:
    return hmac.compare_digest(sign_hmac(secret, data), signature)


def _ec_hash(alg: str) -> hashes.HashAlgorithm:
    return hashes.SHA256() if alg == "ecdsa-p256-sha256" else hashes.SHA384()


def _ec_der(alg: str, signature: bytes) -> bytes:
    size = _CURVES[alg][1]
    if len(signature) != 2 * size:
        return signature  # assume DER already
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    return utils.encode_dss_signature(r, s)
