"""Web Push, the protocol: the instance's VAPID key and header (RFC 8292), and a payload
encrypted for one subscription, as RFC 8291 says (aes128gcm, RFC 8188) or in the draft
format Mastodon still sends to subscriptions that are not `standard` (aesgcm). The crypto
is http_ece's and py_vapid's."""

from __future__ import annotations

import base64
import binascii
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

POINT_BYTES = 65  # an uncompressed P-256 point
AUTH_BYTES = 16
TOKEN_SECONDS = 12 * 3600  # a VAPID token's life (RFC 8292: at most 24 hours)
TTL_SECONDS = 48 * 3600  # how long the push service may keep a push, as Mastodon asks


@dataclass(frozen=True)
class VapidKeys:
    private_key_pem: str
    public_key: str  # base64url of the uncompressed point: what apps get as `vapid_key`


@dataclass(frozen=True)
class Encrypted:
    body: bytes
    headers: dict[str, str]  # Content-Encoding, and the draft format's Encryption/Crypto-Key


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_b64(text: str) -> bytes:
    """base64url or plain base64 (apps send both), padded or not; ValueError otherwise."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def check_subscription_keys(p256dh: bytes, auth: bytes) -> str | None:
    """Why a subscription's keys cannot be used; None when they can."""
    if len(p256dh) != POINT_BYTES or p256dh[0] != 4:
        return "p256dh is not an uncompressed P-256 public key"
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        return "p256dh is not a point on P-256"
    if len(auth) != AUTH_BYTES:
        return f"auth is not {AUTH_BYTES} bytes"
    return None


def _point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)


def generate_vapid_keys() -> VapidKeys:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return VapidKeys(private_key_pem=pem, public_key=b64url(_point(key)))


def origin(url: str) -> str:
    """The push service's origin, the token's audience."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def vapid_headers(keys: VapidKeys, endpoint: str, contact: str, *, standard: bool,
                  now: float | None = None) -> dict[str, str]:
    """A signed VAPID token for `endpoint`'s push service: `vapid t=…, k=…` (RFC 8292), or
    the draft's `WebPush` token with the key in `Crypto-Key` (merged with the body's)."""
    key = serialization.load_pem_private_key(keys.private_key_pem.encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signer = Vapid02(key, conf={"no-strict": True})  # `contact` may be an http:// test URL
    claims = {"aud": origin(endpoint), "sub": contact,
              "exp": int((now or time.time()) + TOKEN_SECONDS)}
    signed = signer.sign(claims)["Authorization"]  # "vapid t=TOKEN,k=KEY"
    token = signed.split("t=", 1)[1].split(",", 1)[0]
    if standard:
        return {"Authorization": f"vapid t={token}, k={keys.public_key}"}
    return {"Authorization": f"WebPush {token}", "Crypto-Key": f"p256ecdsa={keys.public_key}"}


def encrypt(payload: bytes, p256dh: bytes, auth: bytes, *, standard: bool) -> Encrypted:
    """`payload` encrypted for the subscription's keys with a new key pair and salt."""
    server_key = ec.generate_private_key(ec.SECP256R1())
    if standard:
        body = http_ece.encrypt(payload, private_key=server_key, dh=p256dh, auth_secret=auth,
                                version="aes128gcm")
        return Encrypted(body, {"Content-Encoding": "aes128gcm"})
    salt = os.urandom(16)
    body = http_ece.encrypt(payload, salt=salt, private_key=server_key, dh=p256dh,
                            auth_secret=auth, version="aesgcm")
    return Encrypted(body, {"Content-Encoding": "aesgcm", "Encryption": f"salt={b64url(salt)}",
                            "Crypto-Key": f"dh={b64url(_point(server_key))}"})


def push_request(keys: VapidKeys, endpoint: str, contact: str, payload: bytes, p256dh: bytes,
                 auth: bytes, *, standard: bool, urgency: str = "normal") -> Encrypted:
    """The body and headers of one push to `endpoint`."""
    sealed = encrypt(payload, p256dh, auth, standard=standard)
    headers = {"TTL": str(TTL_SECONDS), "Urgency": urgency,
               "Content-Type": "application/octet-stream", **sealed.headers}
    for name, value in vapid_headers(keys, endpoint, contact, standard=standard).items():
        headers[name] = f"{headers[name]};{value}" if name in headers else value
    return Encrypted(sealed.body, headers)
