"""verify_request: round trips for every algorithm, each refusal, key rotation, httpx auth."""

import base64

import httpx
import pytest

from activitypub.digest import content_digest_header
from activitypub.errors import FetchError, Gone
from activitypub.httpsig import (
    HTTPSignatureAuth,
    algorithms,
    cavage,
    rfc9421,
    sign_cavage,
    sign_rfc9421,
    verify_request,
)
from activitypub.httpsig.headers import HeaderView
from activitypub.httpsig.target import parse_target
from activitypub.keys import (
    PublicKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_private_key,
)

NOW = 1_700_000_000.0
URL = "https://b.example/users/bob/inbox"
BODY = b'{"type": "Follow"}'
ACTOR = "https://a.example/users/alice"
KEY_ID = ACTOR + "#main-key"
RSA = generate_rsa_keypair()
RSA_OTHER = generate_rsa_keypair()
ED = generate_ed25519_keypair()


class Keys:
    """A key lookup that serves a first key, then (on refresh) a second; records its calls."""

    def __init__(
        self, first: str | None, refreshed: str | None = None, error: Exception | None = None
    ):
        self.first, self.refreshed, self.error = first, refreshed, error
        self.calls: list[tuple[str, bool]] = []

    async def __call__(self, key_id: str, refresh: bool) -> PublicKey | None:
        self.calls.append((key_id, refresh))
        if self.error is not None:
            raise self.error
        pem = self.refreshed if refresh and self.refreshed else self.first
        return PublicKey(key_id, ACTOR, pem) if pem else None


def cavage_post(
    body: bytes = BODY, keypair: tuple[str, str] = RSA, **headers: str
) -> dict[str, str]:
    return sign_cavage(
        "POST",
        URL,
        {"Content-Type": "application/activity+json", **headers},
        body,
        key_id=KEY_ID,
        private_key_pem=keypair[0],
        now=NOW,
    )


def rfc_post(body: bytes = BODY, keypair: tuple[str, str] = RSA, **kwargs) -> dict[str, str]:
    return sign_rfc9421(
        "POST",
        URL,
        {"Content-Type": "application/activity+json"},
        body,
        key_id=KEY_ID,
        private_key_pem=keypair[0],
        created=int(NOW),
        **kwargs,
    )


def resign(
    headers: dict[str, str],
    names: list[str],
    algorithm: str = "rsa-sha256",
    primitive: str = "rsa-v1_5-sha256",
    private: str = RSA[0],
    url: str = URL,
    extra: str = "",
) -> dict[str, str]:
    """Replace the cavage Signature with one over `names` (to build odd but valid requests)."""
    text = cavage.signing_string("POST", parse_target(url), HeaderView(headers), names)
    signature = algorithms.sign(primitive, load_private_key(private), text.encode())
    alg = f'algorithm="{algorithm}",' if algorithm else ""
    headers = dict(headers)
    headers["Signature"] = (
        f'keyId="{KEY_ID}",{alg}headers="{" ".join(names)}",{extra}'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


async def verify(headers, body=BODY, keys=None, *, method="POST", url=URL, **kwargs):
    return await verify_request(method, url, headers, body, keys or Keys(RSA[1]), now=NOW, **kwargs)


# round trips


@pytest.mark.parametrize("keypair", [RSA, ED], ids=["rsa-sha256", "hs2019-ed25519"])
async def test_cavage_post_round_trip(keypair):
    result = await verify(cavage_post(keypair=keypair), keys=Keys(keypair[1]))
    assert result.ok, result.reason
    assert (result.key_id, result.owner, result.scheme, result.reason) == (
        KEY_ID,
        ACTOR,
        "cavage",
        "",
    )


async def test_cavage_get_round_trip():
    headers = sign_cavage(
        "GET",
        URL,
        {"Accept": "application/activity+json"},
        None,
        key_id=KEY_ID,
        private_key_pem=RSA[0],
        now=NOW,
    )
    result = await verify(headers, None, method="GET")
    assert result.ok, result.reason


@pytest.mark.parametrize("algorithm", ["hs2019", ""], ids=["hs2019", "no-algorithm"])
async def test_hs2019_or_no_algorithm_with_rsa_key_is_pkcs1_sha256(algorithm):
    headers = resign(cavage_post(), ["(request-target)", "host", "date", "digest"], algorithm)
    assert (await verify(headers)).ok


async def test_hs2019_with_rsa_pss_is_accepted():
    headers = resign(
        cavage_post(),
        ["(request-target)", "host", "date", "digest"],
        "hs2019",
        primitive="rsa-pss-sha512",
    )
    assert (await verify(headers)).ok


async def test_rsa_sha512_is_accepted():
    headers = resign(
        cavage_post(),
        ["(request-target)", "host", "date", "digest"],
        "rsa-sha512",
        primitive="rsa-v1_5-sha512",
    )
    assert (await verify(headers)).ok


async def test_request_target_signed_without_query_is_accepted():
    headers = resign(cavage_post(), ["(request-target)", "host", "date", "digest"])
    result = await verify(headers, url=URL + "?page=2")
    assert result.ok, result.reason


async def test_authorization_form_is_accepted():
    headers = cavage_post()
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    assert (await verify(headers)).ok


async def test_headers_as_pairs_and_bytes_and_any_case():
    headers = cavage_post()
    pairs = [(name.upper(), value) for name, value in headers.items()]
    assert (await verify(pairs)).ok
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    assert (await verify(raw)).ok


async def test_rfc9421_post_round_trip():
    result = await verify(rfc_post())
    assert result.ok, result.reason
    assert (result.scheme, result.owner) == ("rfc9421", ACTOR)


@pytest.mark.parametrize(
    "keypair, primitive", [(RSA, "rsa-v1_5-sha256"), (ED, "ed25519")], ids=["rsa", "ed25519"]
)
async def test_rfc9421_without_alg_uses_the_key_type(keypair, primitive):
    headers = {
        "Content-Digest": content_digest_header(BODY),
        "Signature-Input": f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW)};keyid="{KEY_ID}"',
    }
    message = rfc9421.Message.request("POST", URL, HeaderView(headers))
    headers["Signature"] = "sig1=:AAAA:"
    sig = rfc9421.parse_signatures(HeaderView(headers))[0]
    base = rfc9421.signature_base(message, sig).encode()
    signature = algorithms.sign(primitive, load_private_key(keypair[0]), base)
    headers["Signature"] = f"sig1=:{base64.b64encode(signature).decode()}:"
    result = await verify(headers, keys=Keys(keypair[1]))
    assert result.ok, result.reason


async def test_rfc9421_preferred_when_both_are_present():
    headers = cavage_post()
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    both = sign_rfc9421(
        "POST", URL, headers, BODY, key_id=KEY_ID, private_key_pem=RSA[0], created=int(NOW)
    )
    result = await verify(both)
    assert result.ok and result.scheme == "rfc9421"
    broken = dict(both, Signature="sig1=:" + base64.b64encode(b"x" * 256).decode() + ":")
    result = await verify(broken)
    assert not result.ok and result.scheme == "rfc9421"


# refusals


async def test_refuses_an_unsigned_request():
    result = await verify({"Date": "whatever"})
    assert not result.ok and result.reason == "request is not signed"


@pytest.mark.parametrize("value", ["garbage", 'keyId="k",signature=', "Signature keyId"])
async def test_refuses_a_garbage_cavage_header(value):
    result = await verify(dict(cavage_post(), Signature=value))
    assert not result.ok and result.scheme == "cavage" and result.reason


@pytest.mark.parametrize("value", ["sig1=(garbage", "sig1=:AAAA:", "1sig=()"])
async def test_refuses_a_garbage_signature_input(value):
    result = await verify(dict(rfc_post(), **{"Signature-Input": value}))
    assert not result.ok and result.scheme == "rfc9421"
    assert "malformed" in result.reason or "not an inner list" in result.reason


async def test_refuses_an_unsupported_cavage_algorithm():
    headers = resign(cavage_post(), ["(request-target)", "host", "date", "digest"], "hmac-sha256")
    result = await verify(headers)
    assert not result.ok and result.reason == "unsupported algorithm hmac-sha256"


async def test_refuses_an_unsupported_rfc9421_algorithm():
    headers = rfc_post()
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        "rsa-v1_5-sha256", "hmac-sha256"
    )
    result = await verify(headers)
    assert not result.ok and result.reason == "unsupported algorithm hmac-sha256"


@pytest.mark.parametrize(
    "offset, words", [(-7200, "2 hours in the past"), (5400, "1 hour in the future")]
)
async def test_refuses_a_stale_date(offset, words):
    headers = sign_cavage(
        "POST", URL, {}, BODY, key_id=KEY_ID, private_key_pem=RSA[0], now=NOW + offset
    )
    result = await verify(headers)
    assert not result.ok
    assert result.reason == f"Date is {words} (more than 3600 s from now)"


async def test_date_within_skew_is_accepted():
    headers = sign_cavage(
        "POST", URL, {}, BODY, key_id=KEY_ID, private_key_pem=RSA[0], now=NOW - 3000
    )
    assert (await verify(headers)).ok


@pytest.mark.parametrize("offset", [-7200, 7200])
async def test_refuses_a_stale_created(offset):
    headers = sign_rfc9421(
        "POST", URL, {}, BODY, key_id=KEY_ID, private_key_pem=RSA[0], created=int(NOW + offset)
    )
    result = await verify(headers)
    assert not result.ok and result.reason.startswith("created is 2 hours")


async def test_refuses_an_expired_cavage_signature():
    headers = resign(
        cavage_post(),
        ["(request-target)", "host", "date", "digest"],
        extra=f"expires={int(NOW) - 5},",
    )
    result = await verify(headers)
    assert not result.ok and result.reason == "signature expired 5 seconds ago"


async def test_refuses_a_malformed_date():
    headers = resign(
        dict(cavage_post(), Date="yesterday"), ["(request-target)", "host", "date", "digest"]
    )
    result = await verify(headers)
    assert not result.ok and "Date header 'yesterday' is malformed" == result.reason


async def test_refuses_a_signed_date_that_is_missing():
    headers = cavage_post()
    del headers["Date"]
    result = await verify(headers)
    assert not result.ok and result.reason == "signed header date is missing"


async def test_refuses_a_signature_covering_no_time():
    headers = resign(cavage_post(), ["(request-target)", "host", "digest"])
    result = await verify(headers)
    assert not result.ok and result.reason == "signature covers neither Date nor a created time"


@pytest.mark.parametrize("sign", [cavage_post, rfc_post], ids=["cavage", "rfc9421"])
async def test_refuses_a_body_that_does_not_match_the_digest(sign):
    result = await verify(sign(), body=b'{"type": "Delete"}')
    assert not result.ok and "does not match the body" in result.reason


async def test_refuses_a_post_whose_digest_is_not_covered():
    headers = resign(cavage_post(), ["(request-target)", "host", "date"])
    result = await verify(headers)
    assert not result.ok
    assert result.reason == "signature does not cover a Digest or Content-Digest header"


async def test_refuses_an_rfc9421_post_whose_content_digest_is_not_covered():
    headers = sign_rfc9421(
        "GET", URL, {}, None, key_id=KEY_ID, private_key_pem=RSA[0], created=int(NOW)
    )
    result = await verify(headers)  # a POST carrying a GET-shaped signature
    assert not result.ok
    assert result.reason == "signature does not cover a Digest or Content-Digest header"


async def test_refuses_a_post_whose_request_target_is_not_covered():
    headers = resign(cavage_post(), ["host", "date", "digest"])
    result = await verify(headers)
    assert not result.ok and result.reason == "signature does not cover (request-target)"


async def test_refuses_an_rfc9421_signature_without_the_target():
    headers = rfc_post()
    headers["Signature-Input"] = headers["Signature-Input"].replace('"@target-uri" ', "")
    result = await verify(headers)
    assert (
        not result.ok and result.reason == "signature does not cover @method and the request target"
    )


async def test_refuses_a_signed_header_that_is_missing():
    headers = cavage_post()
    del headers["Content-Type"]
    result = await verify(headers)
    assert not result.ok and result.reason == "signed header content-type is missing"


async def test_refuses_an_unknown_key():
    keys = Keys(None)
    result = await verify(cavage_post(), keys=keys)
    assert not result.ok and result.reason == f"key {KEY_ID} is unknown"
    assert keys.calls == [(KEY_ID, False)]


@pytest.mark.parametrize("error", [FetchError("connection refused"), Gone("gone")])
async def test_refuses_when_the_key_cannot_be_fetched(error):
    result = await verify(cavage_post(), keys=Keys(RSA[1], error=error))
    assert not result.ok
    assert result.reason == f"key {KEY_ID} could not be fetched: {error}"


async def test_refuses_a_tampered_request():
    result = await verify(cavage_post(), url="https://b.example/users/carol/inbox")
    assert not result.ok and result.reason == "signature does not verify"


async def test_refuses_a_key_of_the_wrong_type():
    result = await verify(cavage_post(), keys=Keys(ED[1]))
    assert not result.ok and result.reason == f"key {KEY_ID} cannot verify rsa-v1_5-sha256"


async def test_refuses_an_unloadable_key():
    result = await verify(cavage_post(), keys=Keys("-----BEGIN PUBLIC KEY-----\nnope\n"))
    assert not result.ok and "could not be loaded" in result.reason


# key rotation


@pytest.mark.parametrize("sign", [cavage_post, rfc_post], ids=["cavage", "rfc9421"])
async def test_wrong_cached_key_then_refetch_succeeds(sign):
    keys = Keys(RSA_OTHER[1], refreshed=RSA[1])
    result = await verify(sign(), keys=keys)
    assert result.ok, result.reason
    assert keys.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_refetch_returning_the_same_key_fails_without_retrying():
    keys = Keys(RSA_OTHER[1], refreshed=RSA_OTHER[1])
    result = await verify(cavage_post(), keys=keys)
    assert not result.ok and result.reason == "signature does not verify"
    assert keys.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_refetch_that_fails_is_reported():
    class Flaky(Keys):
        async def __call__(self, key_id: str, refresh: bool) -> PublicKey | None:
            if refresh:
                raise FetchError("timed out")
            return await super().__call__(key_id, refresh)

    result = await verify(cavage_post(), keys=Flaky(RSA_OTHER[1]))
    assert not result.ok
    assert (
        result.reason
        == f"signature does not verify; refetching the key failed: key {KEY_ID} could not be fetched: timed out"
    )


async def test_refetched_key_that_still_fails():
    keys = Keys(RSA_OTHER[1], refreshed=ED[1])
    result = await verify(cavage_post(), keys=keys)
    assert not result.ok and len(keys.calls) == 2


# httpx


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_httpx_auth_signs_requests_that_verify(scheme, method):
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(202)

    auth = HTTPSignatureAuth(KEY_ID, RSA[0], scheme=scheme)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        if method == "POST":
            response = await client.post(
                URL + "?a=b", content=BODY, headers={"Content-Type": "application/activity+json"}
            )
        else:
            response = await client.get(URL, headers={"Accept": "application/activity+json"})
    assert response.status_code == 202
    request = captured[0]
    result = await verify_request(
        request.method,
        str(request.url),
        request.headers.multi_items(),
        request.content,
        Keys(RSA[1]),
    )
    assert result.ok, result.reason
    assert result.scheme == scheme
    if scheme == "cavage" and method == "POST":
        assert request.headers["digest"].startswith("SHA-256=")
        assert (
            'headers="(request-target) host date digest content-type"'
            in request.headers["signature"]
        )


def test_httpx_auth_refuses_an_unknown_scheme():
    with pytest.raises(ValueError):
        HTTPSignatureAuth(KEY_ID, RSA[0], scheme="jws")
