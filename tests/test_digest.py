"""Body digests: the cavage-era Digest header and RFC 9530 Content-Digest."""

import base64
import hashlib
import re
from pathlib import Path

import pytest

from activitypub.digest import (
    check_content_digest,
    check_digest,
    content_digest_header,
    digest_header,
)

VECTORS = Path(__file__).parent / "vectors"
BODY = b'{"hello": "world"}'


def header_in(path: Path, name: str) -> str:
    match = re.search(rf"^{name}: (.*)$", path.read_text(), re.MULTILINE)
    assert match, f"{name} not in {path}"
    return match.group(1)


def test_digest_header_matches_cavage_request():
    expected = header_in(VECTORS / "cavage-12/request.http", "Digest")
    assert digest_header(BODY) == expected == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="


def test_content_digest_sha512_matches_rfc9421_request():
    expected = header_in(VECTORS / "rfc9421/messages/test-request.http", "Content-Digest")
    assert content_digest_header(BODY, "sha-512") == expected
    assert check_content_digest(expected, BODY).ok


def test_content_digest_defaults_to_sha256():
    b64 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert content_digest_header(BODY) == f"sha-256=:{b64}:"
    assert check_content_digest(content_digest_header(BODY), BODY).ok


def test_corrected_test_response_digest_matches_and_published_one_does_not():
    body = b'{"message": "good dog"}'
    fixed = header_in(VECTORS / "rfc9421/messages/test-response.http", "Content-Digest")
    published = header_in(
        VECTORS / "rfc9421/messages/test-response.as-published.http", "Content-Digest"
    )
    assert check_content_digest(fixed, body).ok
    result = check_content_digest(published, body)
    assert not result.ok and "does not match" in result.reason


@pytest.mark.parametrize("name", ["SHA-256", "sha-256", "Sha-256"])
def test_digest_algorithm_name_is_case_insensitive(name):
    value = digest_header(BODY).replace("SHA-256", name)
    assert check_digest(value, BODY).ok


def test_digest_accepts_sha512_and_several_entries():
    value = f"{digest_header(BODY, 'SHA-512')}, {digest_header(BODY)}"
    assert check_digest(value, BODY).ok


def test_digest_mismatch_is_refused():
    result = check_digest(digest_header(b"other body"), BODY)
    assert not result.ok and result.reason == "Digest sha-256 does not match the body"


def test_digest_with_one_wrong_entry_among_good_ones_is_refused():
    value = f"{digest_header(BODY)}, {digest_header(b'x', 'SHA-512')}"
    assert not check_digest(value, BODY).ok


def test_digest_with_only_unknown_algorithms_is_refused():
    result = check_digest("MD5=" + base64.b64encode(hashlib.md5(BODY).digest()).decode(), BODY)
    assert not result.ok and "no sha-256 or sha-512" in result.reason


@pytest.mark.parametrize("value", ["", "SHA-256", "SHA-256=not base64!!", "=abc"])
def test_malformed_digest_is_refused(value):
    assert not check_digest(value, BODY).ok


@pytest.mark.parametrize("value", ["sha-256=abc", "sha-256=:%%%:", "(", 'sha-256="text"'])
def test_malformed_content_digest_is_refused(value):
    result = check_content_digest(value, BODY)
    assert not result.ok and "Content-Digest" in result.reason


def test_content_digest_mismatch_is_refused():
    result = check_content_digest(content_digest_header(b"tampered"), BODY)
    assert not result.ok and result.reason == "Content-Digest sha-256 does not match the body"
