"""Who is asking: the verified signer of a GET, and whether it may be answered at all.

A GET may carry an HTTP Signature (draft-cavage or RFC 9421). When it does, the signature is
verified with the app's key store and the signer's cached actor row is looked up. Then:
a signer on a blocked domain gets 403; a signer the author blocks gets 404 (nothing revealed);
in authorized-fetch mode an ActivityPub GET without a good signature gets 401 with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from activitypub.httpsig import verify_request
from activitypub.vocab import host_of
from fediverse.routes.common import error, state
from models.audience import blocks, domain_blocked
from models.remote import get_account_by_uri
from models.tables import Account


@dataclass(frozen=True)
class Viewer:
    """The requester as its signature shows it; `account` is None unless verified."""

    account: Account | None = None
    actor: str | None = None  # the signer's actor id when verified
    reason: str = "request is not signed"

    @property
    def verified(self) -> bool:
        return self.actor is not None


def _is_signed(request: Request) -> bool:
    headers = request.headers
    if "signature" in headers or "signature-input" in headers:
        return True
    return headers.get("authorization", "").lower().startswith("signature ")


async def viewer_of(request: Request) -> Viewer:
    """Verify the request's signature, if any, and find the signer's actor row."""
    if not _is_signed(request):
        return Viewer()
    fv = state(request)
    url = str(request.url.replace(scheme=fv.settings.scheme, netloc=fv.settings.domain))
    result = await verify_request(request.method, url, request.headers.items(), b"", fv.keys.lookup)
    if not result.ok or not result.owner:
        return Viewer(reason=f"signature refused: {result.reason}")
    async with fv.sessions() as session:
        account = await get_account_by_uri(session, result.owner)
    return Viewer(account=account, actor=result.owner, reason="")


async def refusal(request: Request, viewer: Viewer, author: Account | None = None, *,
                  require_signature: bool = True) -> Response | None:
    """The answer to give instead of the document, or None when it may be served."""
    fv = state(request)
    if viewer.actor is not None:
        async with fv.sessions() as session:
            if await domain_blocked(session, host_of(viewer.actor)):
                return error(403, "your server is blocked here")
            if author is not None and viewer.account is not None and \
                    await blocks(session, author.id, viewer.account.id):
                return error(404, "not found")
    if require_signature and fv.settings.authorized_fetch and not viewer.verified:
        return error(401, f"this server requires signed fetches: {viewer.reason}")
    return None


async def admitted(request: Request, author: Account | None = None) -> Viewer | Response:
    """The verified viewer, or the refusal to answer with."""
    viewer = await viewer_of(request)
    refused = await refusal(request, viewer, author)
    return refused if refused is not None else viewer
