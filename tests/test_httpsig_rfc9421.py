"""RFC 9421: appendix B and section 4.3 vectors, signing round trips, component rules."""

import base64
import json
from pathlib import Path

import pytest
from http_sfv.item import Item

from activitypub.errors import SignatureError
from activitypub.httpsig import rfc9421, sign_rfc9421, verify_request
from activitypub.httpsig.headers import HeaderView
from activitypub.keys import PublicKey, load_public_key, private_pem, public_pem

VECTORS = Path(__file__).parent / "vectors" / "rfc9421"
CASES = json.loads((VECTORS / "cases.json").read_text())
SIGNED_CASES = [case for case in CASES if "alg" in case]
B4_CASES = [case for case in CASES if "expected_valid" in case]
BODY = b'{"hello": "world"}'


def read_message(path: Path) -> tuple[str, str, list[tuple[str, str]]]:
    """(request or status line, https URL for requests, header pairs) of a .http file."""
    head = path.read_text().split("\n\n", 1)[0]
    first, *lines = head.split("\n")
    headers = [tuple(line.split(": ", 1)) for line in lines if line]
    if first.startswith("HTTP/"):
        return first, "", headers
    host = next(value for name, value in headers if name.lower() == "host")
    return first, f"https://{host}{first.split()[1]}", headers


def read_headers_file(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(": ", 1)) for line in path.read_text().splitlines() if line]


def request_message(path: Path) -> rfc9421.Message:
    first, url, headers = read_message(path)
    return rfc9421.Message.request(first.split()[0], url, HeaderView(headers))


def key_for(case: dict):
    if case["keyid"] == "test-shared-secret":
        return base64.b64decode((VECTORS / "keys/test-shared-secret.b64").read_text())
    return load_public_key((VECTORS / f"keys/{case['keyid']}.public.pem").read_text())


def case_message(case: dict) -> rfc9421.Message:
    name = case["case"]
    if case.get("message") == "test-response":
        status, _, headers = read_message(VECTORS / "messages/test-response.http")
        headers += read_headers_file(VECTORS / f"cases/{name}/headers.http")
        return rfc9421.Message.response(int(status.split()[1]), HeaderView(headers))
    if name.startswith("b3"):
        return request_message(VECTORS / "messages/b3-proxy-request-signed.http")
    if name.startswith("b4"):
        return request_message(VECTORS / "messages/b4-0-original.http")
    if name.startswith("s4.3-sig1"):
        return request_message(VECTORS / "messages/s4.3-client-request-signed.http")
    if name.startswith("s4.3"):
        return request_message(VECTORS / "messages/s4.3-proxy-request-both-signatures.http")
    first, url, headers = read_message(VECTORS / "messages/test-request.http")
    headers += read_headers_file(VECTORS / f"cases/{name}/headers.http")
    return rfc9421.Message.request(first.split()[0], url, HeaderView(headers))


def label_of(case: dict) -> str:
    """The label a case signs under (the section 4.3 cases name it in the case name)."""
    return case.get("label") or case["case"].split("-")[1]


def labelled(message: rfc9421.Message, label: str) -> rfc9421.MessageSignature:
    return next(s for s in rfc9421.parse_signatures(message.headers) if s.label == label)


def expected_base(case: dict) -> str:
    folder = VECTORS / "cases" / case["case"]
    return next(folder.glob("signature-base*.txt")).read_text()


@pytest.mark.parametrize("case", SIGNED_CASES, ids=[c["case"] for c in SIGNED_CASES])
def test_signature_base_matches_vector(case):
    message = case_message(case)
    label = label_of(case)
    assert rfc9421.signature_base(message, labelled(message, label)) == expected_base(case)


@pytest.mark.parametrize("case", SIGNED_CASES, ids=[c["case"] for c in SIGNED_CASES])
def test_vector_signature_verifies(case):
    message = case_message(case)
    label = label_of(case)
    sig = labelled(message, label)
    published = base64.b64decode((VECTORS / f"cases/{case['case']}/signature.b64").read_text())
    assert sig.signature == published
    base = rfc9421.signature_base(message, sig).encode()
    assert rfc9421.verify_base(case["alg"], key_for(case), base, sig.signature)
    tampered = base[:-1] + bytes([base[-1] ^ 1])
    assert not rfc9421.verify_base(case["alg"], key_for(case), tampered, sig.signature)


@pytest.mark.parametrize("case", B4_CASES, ids=[c["case"] for c in B4_CASES])
def test_b4_transformations(case):
    message = request_message(VECTORS / f"messages/{case['case']}.http")
    sig = labelled(message, "transform")
    key = load_public_key((VECTORS / "keys/test-key-ed25519.public.pem").read_text())
    base = rfc9421.signature_base(message, sig).encode()
    assert rfc9421.verify_base("ed25519", key, base, sig.signature) is case["expected_valid"]


@pytest.mark.parametrize("case", B4_CASES, ids=[c["case"] for c in B4_CASES])
async def test_b4_transformations_through_verify_request(case):
    first, url, headers = read_message(VECTORS / f"messages/{case['case']}.http")
    pem = (VECTORS / "keys/test-key-ed25519.public.pem").read_text()

    async def lookup(key_id: str, refresh: bool) -> PublicKey | None:
        return (
            PublicKey(key_id, "https://example.org/actor", pem)
            if key_id == "test-key-ed25519"
            else None
        )

    result = await verify_request(
        first.split()[0], url, headers, None, lookup, now=1618884473, require_digest=False
    )
    assert result.ok is case["expected_valid"], result.reason
    assert result.scheme == "rfc9421" and result.key_id == "test-key-ed25519"
    if not case["expected_valid"]:
        assert result.reason == "signature does not verify"


async def test_section_4_3_rsa_v1_5_proxy_signature_through_verify_request():
    _, url, headers = read_message(VECTORS / "messages/s4.3-proxy-request-both-signatures.http")
    # verify_request checks the first label; keep only the proxy's rsa-v1_5-sha256 signature
    view = HeaderView(headers)
    proxy = labelled(rfc9421.Message.request("POST", url, view), "proxy_sig")
    kept = [(n, v) for n, v in headers if n.lower() not in ("signature-input", "signature")]
    kept += [
        ("Signature-Input", f"proxy_sig={proxy.signature_params}"),
        ("Signature", f"proxy_sig=:{base64.b64encode(proxy.signature).decode()}:"),
    ]
    pem = (VECTORS / "keys/test-key-rsa.public.pem").read_text()

    async def lookup(key_id: str, refresh: bool) -> PublicKey | None:
        return PublicKey(key_id, "", pem)

    result = await verify_request("POST", url, kept, BODY, lookup, now=1618884490)
    assert result.ok, result.reason
    late = await verify_request("POST", url, kept, BODY, lookup, now=1618884541)
    assert not late.ok and late.reason.startswith("signature expired")


ALGS = {
    "rsa-v1_5-sha256": lambda: rsa_key(),
    "rsa-pss-sha512": lambda: rsa_key(),
    "ecdsa-p256-sha256": lambda: ec_key("p256"),
    "ecdsa-p384-sha384": lambda: ec_key("p384"),
    "ed25519": lambda: ed_key(),
}


def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key(curve: str):
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1() if curve == "p256" else ec.SECP384R1())


def ed_key():
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.generate()


@pytest.mark.parametrize("alg", sorted(ALGS))
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_sign_then_verify_round_trip(alg, method):
    key = ALGS[alg]()
    key_id = "https://a.example/users/alice#main-key"
    url = "https://b.example/users/bob/inbox?x=1"
    body = BODY if method == "POST" else None
    headers = (
        {"Content-Type": "application/activity+json"}
        if body
        else {"Accept": "application/activity+json"}
    )
    signed = sign_rfc9421(
        method,
        url,
        headers,
        body,
        key_id=key_id,
        private_key_pem=private_pem(key),
        alg=alg,
        created=1_700_000_000,
    )

    async def lookup(wanted: str, refresh: bool) -> PublicKey | None:
        return PublicKey(key_id, "https://a.example/users/alice", public_pem(key.public_key()))

    result = await verify_request(method, url, signed, body, lookup, now=1_700_000_100)
    assert result.ok, result.reason
    assert (result.owner, result.scheme, result.key_id) == (
        "https://a.example/users/alice",
        "rfc9421",
        key_id,
    )


def test_sign_rfc9421_shape_matches_mastodon():
    key = rsa_key()
    headers = {"Content-Type": "application/activity+json"}
    signed = sign_rfc9421(
        "POST",
        "https://b.example/inbox",
        headers,
        BODY,
        key_id="https://a.example/actor#main-key",
        private_key_pem=private_pem(key),
        created=1_700_000_000,
    )
    assert headers == {"Content-Type": "application/activity+json"}  # input untouched
    assert signed["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "content-digest" "content-type");created=1700000000;'
        'keyid="https://a.example/actor#main-key";alg="rsa-v1_5-sha256"'
    )
    assert signed["Content-Digest"].startswith("sha-256=:")
    assert signed["Signature"].startswith("sig1=:") and signed["Signature"].endswith(":")


def test_sign_rfc9421_get_covers_method_and_target_uri_only():
    signed = sign_rfc9421(
        "GET",
        "https://b.example/users/bob",
        {},
        None,
        key_id="k",
        private_key_pem=private_pem(ed_key()),
        alg="ed25519",
        label="get",
        created=5,
    )
    assert (
        signed["Signature-Input"]
        == 'get=("@method" "@target-uri");created=5;keyid="k";alg="ed25519"'
    )
    assert "Content-Digest" not in signed


def test_sign_rfc9421_refuses_unknown_algorithm_and_wrong_key_type():
    with pytest.raises(SignatureError):
        sign_rfc9421(
            "GET",
            "https://b.example/",
            {},
            None,
            key_id="k",
            private_key_pem=private_pem(ed_key()),
            alg="hmac-sha256",
        )
    with pytest.raises(SignatureError):
        sign_rfc9421(
            "GET",
            "https://b.example/",
            {},
            None,
            key_id="k",
            private_key_pem=private_pem(ed_key()),
            alg="rsa-v1_5-sha256",
        )


def test_derived_components_of_a_request():
    message = rfc9421.Message.request(
        "POST", "https://Example.COM:443/a%20b/c?x=1&y=%2F", HeaderView({})
    )

    def value(component: str, **params: str) -> str:
        item = Item(component)
        item.params.update(params)
        return rfc9421.component_value(message, item)

    assert value("@method") == "POST"
    assert value("@authority") == "example.com"
    assert value("@scheme") == "https"
    assert value("@path") == "/a%20b/c"
    assert value("@query") == "?x=1&y=%2F"
    assert value("@request-target") == "/a%20b/c?x=1&y=%2F"
    assert value("@target-uri") == "https://Example.COM:443/a%20b/c?x=1&y=%2F"
    assert value("@query-param", name="y") == "%2F"


def test_query_is_a_lone_question_mark_when_absent():
    message = rfc9421.Message.request("GET", "https://h.example:8443/p", HeaderView({}))
    assert rfc9421.component_value(message, Item("@query")) == "?"
    assert rfc9421.component_value(message, Item("@authority")) == "h.example:8443"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("@status", "only for responses"),
        ("@unknown", "unsupported component"),
        ("x-missing", "signed header x-missing is missing"),
        ("X-Upper", "not lower-case"),
    ],
)
def test_component_errors(name, reason):
    message = rfc9421.Message.request("GET", "https://h.example/", HeaderView({}))
    with pytest.raises(ValueError, match=reason):
        rfc9421.component_value(message, Item(name))


def test_repeated_header_values_are_joined_in_order():
    headers = HeaderView([("Accept", " application/json "), ("accept", "*/*")])
    message = rfc9421.Message.request("GET", "https://h.example/", headers)
    assert rfc9421.component_value(message, Item("accept")) == "application/json, */*"


@pytest.mark.parametrize(
    "fields",
    [
        [("Signature-Input", 'sig1=("@method"'), ("Signature", "sig1=:AAAA:")],
        [("Signature-Input", 'sig1=("@method");created=1'), ("Signature", "sig1=AAAA")],
        [("Signature-Input", 'sig1=("@method");created=1'), ("Signature", "other=:AAAA:")],
        [("Signature-Input", 'sig1=("@method");created=1')],
    ],
)
def test_malformed_signature_fields_are_refused(fields):
    with pytest.raises(ValueError):
        rfc9421.parse_signatures(HeaderView(fields))
