"""draft-cavage-12: appendix C vectors (with the C.3 errata), header parsing, signing."""

import base64
import re
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from activitypub.errors import SignatureError
from activitypub.httpsig import algorithms, cavage, sign_cavage, verify_request
from activitypub.httpsig.headers import HeaderView
from activitypub.httpsig.target import parse_target
from activitypub.keys import (
    PublicKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_public_key,
)

VECTORS = Path(__file__).parent / "vectors" / "cavage-12"
BODY = b'{"hello": "world"}'
URL = "https://example.com/foo?param=value&pet=dog"
DATE = "Sun, 05 Jan 2014 21:31:40 GMT"
NOW = parsedate_to_datetime(DATE).timestamp()
PUBLIC = (VECTORS / "keys/Test.public.pem").read_text()


def request_headers() -> list[tuple[str, str]]:
    head = (VECTORS / "request.http").read_text().split("\n\n", 1)[0]
    return [tuple(line.split(": ", 1)) for line in head.split("\n")[1:]]


def published(case: str) -> tuple[str, str]:
    """(field name, parameters) of a printed header, unfolded: line breaks inside the
    signature value are dropped, others become a space."""
    text = (VECTORS / case / "header-as-published.txt").read_text().strip()
    name, _, params = text.partition(": ")
    params = re.sub(r'signature="[^"]*"', lambda m: re.sub(r"\s+", "", m.group(0)), params)
    return name, re.sub(r"\s*\n\s*", " ", params)


def params_of(case: str) -> str:
    name, params = published(case)
    return params.removeprefix("Signature ") if name == "Authorization" else params


def signature_of(case: str, file: str = "signature.b64") -> bytes:
    return base64.b64decode((VECTORS / case / file).read_text())


def rsa_verify(data: str, signature: bytes) -> bool:
    return algorithms.verify("rsa-v1_5-sha256", load_public_key(PUBLIC), data.encode(), signature)


async def lookup_test_key(key_id: str, refresh: bool) -> PublicKey | None:
    return PublicKey(key_id, "https://example.com/actor", PUBLIC) if key_id == "Test" else None


@pytest.mark.parametrize("case", ["C.1-default", "C.2-basic", "C.3-all-headers"])
def test_published_header_parses(case):
    sig = cavage.parse_signature_header(params_of(case))
    assert (sig.key_id, sig.algorithm) == ("Test", "rsa-sha256")
    assert sig.signature == signature_of(case)


def test_c1_default_headers_is_date():
    sig = cavage.parse_signature_header(params_of("C.1-default"))
    assert sig.headers == ("date",)
    text = cavage.signing_string(
        "POST", parse_target(URL), HeaderView(request_headers()), sig.headers
    )
    assert text == (VECTORS / "C.1-default/signing-string.txt").read_text()
    assert rsa_verify(text, sig.signature)


def test_c2_basic_signing_string_and_signature():
    sig = cavage.parse_signature_header(params_of("C.2-basic"))
    assert sig.headers == ("(request-target)", "host", "date")
    text = cavage.signing_string(
        "POST", parse_target(URL), HeaderView(request_headers()), sig.headers
    )
    assert text == (VECTORS / "C.2-basic/signing-string.txt").read_text()
    assert rsa_verify(text, sig.signature)


def test_c3_as_printed_does_not_verify_erratum():
    sig = cavage.parse_signature_header(params_of("C.3-all-headers"))
    assert sig.headers[:3] == ("(request-target)", "(created)", "(expires)")
    assert (sig.created, sig.expires) == (1402170695, 1402170699)
    text = cavage.signing_string(
        "POST",
        parse_target(URL),
        HeaderView(request_headers()),
        sig.headers,
        created=sig.created,
        expires=sig.expires,
    )
    assert text == (VECTORS / "C.3-all-headers/signing-string-per-headers-param.txt").read_text()
    assert not rsa_verify(text, sig.signature)
    assert rsa_verify(
        text, signature_of("C.3-all-headers", "signature-per-headers-param.COMPUTED.b64")
    )


def test_c3_printed_signature_matches_headers_without_created_and_expires():
    names = ("(request-target)", "host", "date", "content-type", "digest", "content-length")
    text = cavage.signing_string("POST", parse_target(URL), HeaderView(request_headers()), names)
    assert text == (VECTORS / "C.3-all-headers/signing-string.txt").read_text()
    assert rsa_verify(text, signature_of("C.3-all-headers"))


async def test_c2_through_verify_request_needs_digest_for_a_post():
    headers = request_headers() + [("Authorization", "Signature " + params_of("C.2-basic"))]
    result = await verify_request("POST", URL, headers, BODY, lookup_test_key, now=NOW)
    assert not result.ok
    assert result.reason == "signature does not cover a Digest or Content-Digest header"
    result = await verify_request(
        "POST", URL, headers, BODY, lookup_test_key, now=NOW, require_digest=False
    )
    assert result.ok, result.reason
    assert (result.key_id, result.owner, result.scheme) == (
        "Test",
        "https://example.com/actor",
        "cavage",
    )


async def test_c3_errata_headers_through_verify_request():
    params = (
        'keyId="Test",algorithm="rsa-sha256",'
        'headers="(request-target) host date content-type digest content-length",'
        f'signature="{(VECTORS / "C.3-all-headers/signature.b64").read_text().strip()}"'
    )
    headers = request_headers() + [("Signature", params)]
    result = await verify_request("POST", URL, headers, BODY, lookup_test_key, now=NOW)
    assert result.ok, result.reason


async def test_c3_computed_with_created_and_expires_through_verify_request():
    _, params = published("C.3-all-headers")
    computed = (VECTORS / "C.3-all-headers/signature-per-headers-param.COMPUTED.b64").read_text()
    params = re.sub(r'signature="[^"]*"', f'signature="{computed.strip()}"', params)
    headers = request_headers() + [("Signature", params)]
    # the vector's Date and created are five months apart: allow that, then check expiry
    result = await verify_request(
        "POST", URL, headers, BODY, lookup_test_key, now=1402170697, max_skew=10**8
    )
    assert result.ok, result.reason
    late = await verify_request(
        "POST", URL, headers, BODY, lookup_test_key, now=1402170700, max_skew=10**8
    )
    assert not late.ok and late.reason == "signature expired 1 second ago"


@pytest.mark.parametrize(
    "value, reason",
    [
        ('keyId="Test",signature="abc', "malformed"),
        ('keyId="Test" signature="YWJj"', "malformed"),
        ('algorithm="rsa-sha256",signature="YWJj"', "no keyId"),
        ('keyId="Test"', "no signature"),
        ('keyId="Test",signature="%%%"', "not base64"),
        ('keyId="Test",keyId="Other",signature="YWJj"', "repeats keyId"),
        ('keyId="Test",headers="",signature="YWJj"', "empty headers"),
    ],
)
def test_malformed_signature_header(value, reason):
    with pytest.raises(ValueError, match=reason):
        cavage.parse_signature_header(value)


def test_request_target_without_query():
    target = parse_target(URL)
    with_query = cavage.signing_string("POST", target, HeaderView({}), ["(request-target)"])
    without = cavage.signing_string(
        "POST", target, HeaderView({}), ["(request-target)"], with_query=False
    )
    assert with_query == "(request-target): post /foo?param=value&pet=dog"
    assert without == "(request-target): post /foo"


def test_sign_cavage_post_headers():
    private, _ = generate_rsa_keypair()
    headers = {"Content-Type": "application/activity+json"}
    signed = sign_cavage(
        "POST",
        "https://b.example/inbox",
        headers,
        BODY,
        key_id="https://a.example/users/alice#main-key",
        private_key_pem=private,
        now=NOW,
    )
    assert headers == {"Content-Type": "application/activity+json"}
    assert signed["Host"] == "b.example"
    assert signed["Date"] == DATE
    assert signed["Digest"] == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    sig = cavage.parse_signature_header(signed["Signature"])
    assert sig.key_id == "https://a.example/users/alice#main-key"
    assert sig.algorithm == "rsa-sha256"
    assert sig.headers == ("(request-target)", "host", "date", "digest", "content-type")


def test_sign_cavage_get_headers_include_accept_and_keep_given_host():
    private, _ = generate_rsa_keypair()
    signed = sign_cavage(
        "GET",
        "https://b.example:8443/users/bob",
        {"host": "b.example:8443", "Accept": "application/activity+json"},
        None,
        key_id="k",
        private_key_pem=private,
        now=NOW,
    )
    assert "Digest" not in signed and "Host" not in signed and signed["host"] == "b.example:8443"
    assert cavage.parse_signature_header(signed["Signature"]).headers == (
        "(request-target)",
        "host",
        "date",
        "accept",
    )


def test_sign_cavage_with_ed25519_uses_hs2019():
    private, _ = generate_ed25519_keypair()
    signed = sign_cavage("GET", "https://b.example/", {}, None, key_id="k", private_key_pem=private)
    assert cavage.parse_signature_header(signed["Signature"]).algorithm == "hs2019"


def test_sign_cavage_refuses_a_quote_in_the_key_id_and_a_bad_key():
    private, _ = generate_rsa_keypair()
    with pytest.raises(SignatureError):
        sign_cavage("GET", "https://b.example/", {}, None, key_id='a"b', private_key_pem=private)
    with pytest.raises(SignatureError):
        sign_cavage("GET", "https://b.example/", {}, None, key_id="k", private_key_pem="nope")
