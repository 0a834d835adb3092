"""RFC 9421 HTTP Message Signatures: parsing, signature bases and signing.

    Signature-Input: sig1=("@method" "@target-uri" "content-digest");created=1700000000;
                     keyid="https://host/users/alice#main-key";alg="rsa-v1_5-sha256"
    Signature: sig1=:<base64>:

Both fields are structured dictionaries (RFC 8941), parsed with `http_sfv`. Components
supported: @method, @target-uri, @authority, @scheme, @request-target, @path, @query,
@query-param;name=..., @status, and plain header fields (lower-case names, no parameters).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item

from activitypub.digest import content_digest_header
from activitypub.errors import SignatureError
from activitypub.httpsig import algorithms
from activitypub.httpsig.headers import HeaderView
from activitypub.httpsig.target import Target, parse_target
from activitypub.keys import PublicKeyObject, load_private_key

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_REQUEST_DERIVED = frozenset(
    {
        "@method",
        "@target-uri",
        "@authority",
        "@scheme",
        "@request-target",
        "@path",
        "@query",
        "@query-param",
    }
)


@dataclass(frozen=True)
class Message:
    """What component values are taken from: a request (method, target) or a response (status)."""

    headers: HeaderView
    method: str | None = None
    target: Target | None = None
    status: int | None = None

    @classmethod
    def request(cls, method: str, url: str, headers: HeaderView) -> Message:
        return cls(headers, method=method, target=parse_target(url))

    @classmethod
    def response(cls, status: int, headers: HeaderView) -> Message:
        return cls(headers, status=status)


@dataclass(frozen=True)
class MessageSignature:
    """One labelled signature with its parsed `Signature-Input` member."""

    label: str
    components: tuple[Item, ...]  # component identifiers, with their parameters
    params: dict[str, object]  # created, expires, keyid, alg, nonce, tag...
    signature_params: str  # the serialized member: the value of "@signature-params"
    signature: bytes

    @property
    def names(self) -> frozenset[str]:
        """The covered component names (without parameters)."""
        return frozenset(str(item.value) for item in self.components)

    def param_int(self, name: str) -> int | None:
        value = self.params.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def param_str(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if isinstance(value, str) else None


def _parse_dictionary(value: str | None, field: str) -> Dictionary:
    parsed = Dictionary()
    if value is None:
        raise ValueError(f"{field} header is missing")
    try:
        parsed.parse(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError(f"{field} header is malformed") from None
    return parsed


def parse_signatures(headers: HeaderView) -> list[MessageSignature]:
    """Every signature named in both fields, in Signature-Input order; ValueError if malformed."""
    inputs = _parse_dictionary(headers.combined("signature-input"), "Signature-Input")
    values = _parse_dictionary(headers.combined("signature"), "Signature")
    found = []
    for label, member in inputs.items():
        if label not in values:
            continue
        if not isinstance(member, InnerList):
            raise ValueError(f"Signature-Input {label} is not an inner list")
        sig = values[label]
        if not isinstance(sig, Item) or not isinstance(sig.value, bytes):
            raise ValueError(f"Signature {label} is not a byte sequence")
        for item in member:
            if not isinstance(item.value, str):
                raise ValueError(f"Signature-Input {label} has a component that is not a string")
        found.append(
            MessageSignature(label, tuple(member), dict(member.params), str(member), sig.value)
        )
    if not found:
        raise ValueError("Signature-Input and Signature share no label")
    return found


def component_value(message: Message, component: Item) -> str:
    """The value of one covered component; raises ValueError when it cannot be had."""
    name = str(component.value)
    if name.startswith("@"):
        return _derived_value(message, name, component.params)
    if name != name.lower():
        raise ValueError(f"component {name!r} is not lower-case")
    if component.params:
        raise ValueError(f"component parameters on {name!r} are not supported")
    value = message.headers.combined(name)
    if value is None:
        raise ValueError(f"signed header {name} is missing")
    return value


def _derived_value(message: Message, name: str, params: dict[str, object]) -> str:
    if name == "@status":
        if message.status is None:
            raise ValueError("@status is only for responses")
        return str(message.status)
    if name not in _REQUEST_DERIVED:
        raise ValueError(f"unsupported component {name}")
    if message.target is None or message.method is None:
        raise ValueError(f"{name} is only for requests")
    if name == "@query-param":
        return _query_param(message.target, params.get("name"))
    if params:
        raise ValueError(f"component parameters on {name!r} are not supported")
    target = message.target
    return {
        "@method": message.method,
        "@target-uri": target.uri,
        "@authority": target.authority,
        "@scheme": target.scheme,
        "@request-target": target.request_target,
        "@path": target.path,
        "@query": f"?{target.query or ''}",
    }[name]


def _query_param(target: Target, name: object) -> str:
    if not isinstance(name, str):
        raise ValueError("@query-param needs a name parameter")
    pairs = parse_qsl(target.query or "", keep_blank_values=True)
    matches = [value for key, value in pairs if quote(key, safe="*") == name]
    if len(matches) != 1:
        raise ValueError(f"query parameter {name!r} occurs {len(matches)} times")
    return quote(matches[0], safe="*")


def signature_base(message: Message, signature: MessageSignature) -> str:
    """The exact text that is signed (RFC 9421 2.5); raises ValueError on a bad component."""
    lines = []
    seen: set[str] = set()
    for component in signature.components:
        identifier = str(component)
        if identifier in seen:
            raise ValueError(f"component {identifier} is covered twice")
        seen.add(identifier)
        value = component_value(message, component)
        if "\n" in value or "\r" in value:
            raise ValueError(f"component {identifier} has a line break")
        lines.append(f"{identifier}: {value}")
    lines.append(f'"@signature-params": {signature.signature_params}')
    return "\n".join(lines)


def verify_base(alg: str, key: PublicKeyObject | bytes, base: bytes, signature: bytes) -> bool:
    """Check a signature over a base; `key` is the shared secret for hmac-sha256."""
    if alg == "hmac-sha256":
        return isinstance(key, bytes) and algorithms.verify_hmac(key, base, signature)
    if isinstance(key, bytes):
        return False
    return algorithms.verify(alg, key, base, signature)


def _components_for(method: str, headers: HeaderView, has_body: bool) -> list[str]:
    names = ["@method", "@target-uri"]
    if has_body:
        names.append("content-digest")
        if "content-type" in headers:
            names.append("content-type")
    return names


def sign_rfc9421(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    alg: str = "rsa-v1_5-sha256",
    label: str = "sig1",
    created: int | None = None,
) -> dict[str, str]:
    """A new dict of headers with Content-Digest (for a body), Signature-Input and Signature."""
    if alg not in algorithms.ASYMMETRIC:
        raise SignatureError(f"unsupported algorithm {alg}")
    key = load_private_key(private_key_pem)
    out = {k: v for k, v in headers.items() if k.lower() not in ("signature-input", "signature")}
    has_body = bool(body) or method.upper() in BODY_METHODS
    if has_body:
        out = {k: v for k, v in out.items() if k.lower() != "content-digest"}
        out["Content-Digest"] = content_digest_header(body or b"")
    view = HeaderView(out)
    inner = InnerList()
    for name in _components_for(method, view, has_body):
        inner.append(name)
    inner.params["created"] = int(time.time()) if created is None else created
    inner.params["keyid"] = key_id
    inner.params["alg"] = alg
    try:
        message = Message.request(method, url, view)
        parsed = MessageSignature(label, tuple(inner), dict(inner.params), str(inner), b"")
        base = signature_base(message, parsed).encode("utf-8", "surrogateescape")
    except ValueError as exc:
        raise SignatureError(str(exc)) from exc
    signature = algorithms.sign(alg, key, base)
    out["Signature-Input"] = f"{label}={inner}"
    out["Signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return out
