"""JSON-LD processing through pyld with bundled contexts: the network is never used.

`document_loader` serves the context documents kept in `activitypub/contexts/` and refuses
every other URL, so a document that names an unknown remote context fails to process
(`DocumentError`) instead of making us fetch it. pyld is imported only when first needed.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

from .errors import DocumentError

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
IDENTITY_CONTEXT = "https://w3id.org/identity/v1"

_CONTEXT_DIR = Path(__file__).parent / "contexts"

# Context URL (without scheme) -> bundled file name.
_BUNDLED = {
    "www.w3.org/ns/activitystreams": "activitystreams.jsonld",
    "www.w3.org/ns/activitystreams.jsonld": "activitystreams.jsonld",
    "w3id.org/security/v1": "security-v1.jsonld",
    "w3id.org/identity/v1": "identity-v1.jsonld",
    "w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    "w3id.org/security/multikey/v1": "multikey-v1.jsonld",
}

# The extension terms Mastodon declares inline on the documents it emits.
MASTODON_TERMS: dict[str, Any] = {
    "toot": "http://joinmastodon.org/ns#",
    "schema": "http://schema.org#",
    "ostatus": "http://ostatus.org#",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "memorial": "toot:memorial",
    "suspended": "toot:suspended",
    "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
    "Emoji": "toot:Emoji",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "votersCount": "toot:votersCount",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "atomUri": "ostatus:atomUri",
    "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
    "conversation": "ostatus:conversation",
}

# The `@context` we emit on our own documents, shaped like Mastodon's.
MASTODON_CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, MASTODON_TERMS]

# What `compact` compacts to: the keys come out as Mastodon writes them.
COMPACTION_CONTEXT: list[Any] = MASTODON_CONTEXT


def bundled_urls() -> list[str]:
    """Every context URL the loader answers (https and http forms)."""
    return [f"{scheme}://{rest}" for rest in _BUNDLED for scheme in ("https", "http")]


@cache
def _parsed(name: str) -> dict:
    return json.loads((_CONTEXT_DIR / name).read_text(encoding="utf-8"))


def _bundled_name(url: str) -> str | None:
    bare, _fragment = urldefrag(url)
    for scheme in ("https://", "http://"):
        if bare.startswith(scheme):
            return _BUNDLED.get(bare[len(scheme):].rstrip("/"))
    return None


def _refuse(url: str) -> Exception:
    from pyld.jsonld import JsonLdError

    return JsonLdError(
        f"Refusing to load a JSON-LD context that is not bundled: {url}",
        "jsonld.LoadDocumentError",
        {"url": url},
        code="loading document failed",
    )


def document_loader(url: str, options: dict | None = None) -> dict:
    """A pyld document loader serving bundled contexts; any other URL raises JsonLdError."""
    name = _bundled_name(url)
    if name is None:
        raise _refuse(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        # A copy: pyld may resolve relative IRIs in place.
        "document": copy.deepcopy(_parsed(name)),
        # Lets pyld keep the resolved context in its shared cache.
        "tag": "static",
    }


def _refused_url(error: BaseException) -> str | None:
    """The context URL the loader refused, found along the chain of pyld errors."""
    seen: BaseException | None = error
    while seen is not None:
        details = getattr(seen, "details", None)
        if isinstance(details, dict) and isinstance(details.get("url"), str):
            return details["url"]
        seen = seen.__cause__ or seen.__context__
    return None


def _document_error(error: Exception) -> DocumentError:
    url = _refused_url(error)
    if url and _bundled_name(url) is None:
        return DocumentError(f"unknown JSON-LD context: {url}")
    return DocumentError("the document is not valid JSON-LD")


def _options(**extra: Any) -> dict:
    # No base IRI: a relative IRI stays relative instead of resolving against pyld's
    # placeholder (http://example.org/base/).
    return {"documentLoader": document_loader, "base": None, **extra}


# Prefixes a key may keep after compaction; see `_restore_bare_terms`.
_KEY_PREFIXES = ("_:", "as:", "toot:", "sec:", "schema:", "ostatus:")


def _bare(key: str) -> str:
    for prefix in _KEY_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):]
    return key


def _restore_bare_terms(node: Any) -> Any:
    """Rename keys left prefixed by compaction (`_:x`, `as:x`, `toot:x`...) to `x` where free.

    A key stays prefixed when our term cannot hold the value: the ActivityStreams context
    maps undefined terms to blank-node IRIs (`"@vocab": "_:"`), so a `sensitive` the sender
    never defined compacts to `_:sensitive`; a `movedTo` sent as a plain string cannot use our
    id-typed `movedTo` and stays `as:movedTo`. Mastodon reads plain JSON and would see `x`,
    so we read it as `x` too.
    """
    if isinstance(node, list):
        return [_restore_bare_terms(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "@context":
            out[key] = value
            continue
        bare = _bare(key)
        name = bare if bare not in node and bare not in out else key
        out[name] = _restore_bare_terms(value)
    return out


def expand(doc: dict) -> list:
    """Expanded JSON-LD of `doc` (raises DocumentError on bad or unknown contexts)."""
    from pyld import jsonld

    try:
        return jsonld.expand(doc, _options())
    except jsonld.JsonLdError as error:
        raise _document_error(error) from error


def compact(doc: dict, context: Any = COMPACTION_CONTEXT) -> dict:
    """`doc` re-compacted to `context`; by default its keys are the ones Mastodon emits."""
    from pyld import jsonld

    try:
        compacted = jsonld.compact(doc, context, _options())
    except jsonld.JsonLdError as error:
        raise _document_error(error) from error
    return _restore_bare_terms(compacted)


def normalize(doc: dict) -> str:
    """URDNA2015 canonical N-Quads of `doc`, as Linked Data Signatures hash it."""
    from pyld import jsonld

    options = _options(algorithm="URDNA2015", format="application/n-quads")
    try:
        return jsonld.normalize(doc, options)
    except jsonld.JsonLdError as error:
        raise _document_error(error) from error
