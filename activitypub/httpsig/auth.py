"""Signing outgoing httpx requests, as an `httpx.Auth` flow."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from activitypub.httpsig.cavage import sign_cavage
from activitypub.httpsig.rfc9421 import sign_rfc9421

SCHEMES = ("cavage", "rfc9421")


class HTTPSignatureAuth(httpx.Auth):
    """Signs each request with draft-cavage (default) or RFC 9421 (rsa-v1_5-sha256 unless `alg`)."""

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        private_key_pem: str,
        *,
        scheme: str = "cavage",
        alg: str = "rsa-v1_5-sha256",
    ) -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, not {scheme!r}")
        self.key_id = key_id
        self.private_key_pem = private_key_pem
        self.scheme = scheme
        self.alg = alg

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = dict(request.headers.items())
        body = request.content or None
        if self.scheme == "cavage":
            signed = sign_cavage(
                request.method,
                str(request.url),
                headers,
                body,
                key_id=self.key_id,
                private_key_pem=self.private_key_pem,
            )
        else:
            signed = sign_rfc9421(
                request.method,
                str(request.url),
                headers,
                body,
                key_id=self.key_id,
                private_key_pem=self.private_key_pem,
                alg=self.alg,
            )
        for name, value in signed.items():
            if headers.get(name.lower()) != value:
                request.headers[name] = value
        yield request
