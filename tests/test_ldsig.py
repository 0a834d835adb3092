"""Linked Data Signatures (RsaSignature2017), including Mastodon's own signatures."""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from activitypub.errors import SignatureError
from activitypub.jsonld import MASTODON_CONTEXT
from activitypub.ldsig import LDVerification, ld_signature_creator, sign_ld, verify_ld

ACTIVITIES = Path(__file__).parent / "vectors" / "activities"
CREATOR = "https://here.example/users/alice#main-key"
CREATED = "2024-05-01T12:00:00Z"


def load(name: str) -> dict:
    return json.loads((ACTIVITIES / name).read_text(encoding="utf-8"))


def _pems(key: rsa.RSAPrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


@pytest.fixture(scope="module")
def keypair() -> tuple[str, str]:
    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def other_keypair() -> tuple[str, str]:
    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def activity() -> dict:
    return {
        "@context": MASTODON_CONTEXT,
        "id": "https://here.example/users/alice/statuses/1/activity",
        "type": "Create",
        "actor": "https://here.example/users/alice",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": ["https://here.example/users/alice/followers"],
        "object": {
            "id": "https://here.example/users/alice/statuses/1",
            "type": "Note",
            "attributedTo": "https://here.example/users/alice",
            "content": "<p>a generated image</p>",
            "sensitive": False,
            "attachment": [
                {
                    "type": "Document",
                    "mediaType": "image/png",
                    "url": "https://here.example/media/1.png",
                    "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                    "focalPoint": [0.0, 0.0],
                }
            ],
        },
    }


def test_round_trip(activity: dict, keypair: tuple[str, str]) -> None:
    private, public = keypair
    signed = sign_ld(activity, creator=CREATOR, private_key_pem=private, created=CREATED)
    assert "signature" not in activity  # the input is left alone
    signature = signed["signature"]
    assert signature["type"] == "RsaSignature2017"
    assert signature["creator"] == CREATOR
    assert signature["created"] == CREATED
    assert len(base64.b64decode(signature["signatureValue"], validate=True)) == 256
    assert verify_ld(signed, public) == LDVerification(True, "valid", CREATOR)
    assert ld_signature_creator(signed) == CREATOR


def test_signing_is_deterministic(activity: dict, keypair: tuple[str, str]) -> None:
    private, _ = keypair
    one = sign_ld(activity, creator=CREATOR, private_key_pem=private, created=CREATED)
    two = sign_ld(activity, creator=CREATOR, private_key_pem=private, created=CREATED)
    assert one == two
    later = sign_ld(
        activity, creator=CREATOR, private_key_pem=private, created="2024-05-02T00:00:00Z"
    )
    assert later["signature"]["signatureValue"] != one["signature"]["signatureValue"]


def test_created_defaults_to_now(activity: dict, keypair: tuple[str, str]) -> None:
    private, public = keypair
    signed = sign_ld(activity, creator=CREATOR, private_key_pem=private)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", signed["signature"]["created"])
    assert verify_ld(signed, public).ok


def test_key_order_does_not_matter(activity: dict, keypair: tuple[str, str]) -> None:
    private, public = keypair
    signed = sign_ld(activity, creator=CREATOR, private_key_pem=private, created=CREATED)
    assert verify_ld(json.loads(json.dumps(signed, sort_keys=True)), public).ok


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["object"].__setitem__("content", "<p>something else</p>"),
        lambda d: d["to"].append("https://evil.example/users/x"),
        lambda d: d["object"]["attachment"][0].__setitem__("url", "https://evil.example/x.png"),
        lambda d: d["signature"].__setitem__("created", "2030-01-01T00:00:00Z"),
        lambda d: d["signature"].__setitem__("creator", "https://evil.example/users/x#key"),
    ],
)
def test_tampered_document_fails(activity: dict, keypair: tuple[str, str], tamper) -> None:
    private, public = keypair
    signed = sign_ld(activity, creator=CREATOR, private_key_pem=private, created=CREATED)
    tamper(signed)
    result = verify_ld(signed, public)
    assert not result.ok
    assert result.reason == "signature does not match"


def test_wrong_key_fails(activity: dict, keypair, other_keypair) -> None:
    signed = sign_ld(activity, creator=CREATOR, private_key_pem=keypair[0], created=CREATED)
    result = verify_ld(signed, other_keypair[1])
    assert (result.ok, result.reason) == (False, "signature does not match")


def test_missing_signature_fails_with_reason(activity: dict, keypair) -> None:
    result = verify_ld(activity, keypair[1])
    assert result == LDVerification(False, "no signature", None)
    assert ld_signature_creator(activity) is None


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("abc", "signature is not an object"),
        ({"type": "Ed25519Signature2020", "creator": CREATOR}, "unsupported signature type"),
        ({"type": "RsaSignature2017", "signatureValue": "AAAA"}, "signature has no creator"),
        ({"type": "RsaSignature2017", "creator": CREATOR}, "signature has no signatureValue"),
        (
            {"type": "RsaSignature2017", "creator": CREATOR, "signatureValue": "not base64!"},
            "signatureValue is not base64",
        ),
    ],
)
def test_malformed_signature_fails_with_reason(activity, keypair, signature, reason) -> None:
    result = verify_ld({**activity, "signature": signature}, keypair[1])
    assert not result.ok
    assert result.reason.startswith(reason)


def test_bad_public_key_fails_with_reason(activity: dict, keypair) -> None:
    signed = sign_ld(activity, creator=CREATOR, private_key_pem=keypair[0], created=CREATED)
    assert verify_ld(signed, "not a key").reason == "public key is not an RSA PEM key"
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert verify_ld(signed, ec_public).reason == "public key is not an RSA PEM key"


def test_sign_rejects_bad_keys(activity: dict) -> None:
    with pytest.raises(SignatureError):
        sign_ld(activity, creator=CREATOR, private_key_pem="garbage")
    ec_private = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(SignatureError, match="RSA"):
        sign_ld(activity, creator=CREATOR, private_key_pem=ec_private)


def test_resigning_replaces_the_signature(activity: dict, keypair, other_keypair) -> None:
    first = sign_ld(activity, creator=CREATOR, private_key_pem=keypair[0], created=CREATED)
    other = "https://here.example/actor#main-key"
    second = sign_ld(first, creator=other, private_key_pem=other_keypair[0], created=CREATED)
    assert verify_ld(second, other_keypair[1]) == LDVerification(True, "valid", other)


def test_unknown_remote_context_fails_closed(monkeypatch, activity: dict, keypair) -> None:
    attempts: list = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    private, public = keypair
    signed = sign_ld(activity, creator=CREATOR, private_key_pem=private, created=CREATED)
    signed["@context"] = [*MASTODON_CONTEXT, "https://evil.example/ctx.jsonld"]
    result = verify_ld(signed, public)
    assert not result.ok
    assert "unknown JSON-LD context: https://evil.example/ctx.jsonld" in result.reason
    with pytest.raises(SignatureError, match="unknown JSON-LD context"):
        sign_ld(signed, creator=CREATOR, private_key_pem=private, created=CREATED)
    assert attempts == []


MASTODON_ADMIN_KEY = "mastodon/actor-admin-mastodon.example.org.json"


@pytest.mark.parametrize("name", ["mastodon/accept-follow.json", "mastodon/follow-activity.json"])
def test_verifies_signatures_made_by_mastodon(name: str) -> None:
    doc = load(name)
    actor = load(MASTODON_ADMIN_KEY)
    result = verify_ld(doc, actor["publicKey"]["publicKeyPem"])
    assert result == LDVerification(True, "valid", actor["publicKey"]["id"])
    assert ld_signature_creator(doc) == actor["publicKey"]["id"]


def test_tampered_mastodon_signature_fails() -> None:
    doc = copy.deepcopy(load("mastodon/follow-activity.json"))
    doc["object"] = "http://evil.example/users/x"
    pem = load(MASTODON_ADMIN_KEY)["publicKey"]["publicKeyPem"]
    assert verify_ld(doc, pem).reason == "signature does not match"
