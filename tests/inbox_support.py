"""Helpers for the inbox tests: a Context on a migrated database, an origin server on
127.0.0.1 that serves documents, a fake remote server that also takes deliveries (for the
vendor payload tests), seeded rows, and row counts of every table."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub.fetch import Fetcher
from activitypub.vocab import host_of
from inbox.apply import apply_activity
from models.db import make_engine, session_factory
from models.migrate import upgrade
from models.tables import Account, Job, Status
from outbox.context import Context
from outbox.urls import Urls
from tests.instances import free_port, serving

VECTORS = Path(__file__).parent / "vectors" / "activities"
AS_JSON = "application/activity+json"


def vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


@contextlib.asynccontextmanager
async def federation(database_url: str, base: str, *, allow_private: bool = True
                     ) -> AsyncIterator[Context]:
    """A Context for an instance at `base` on a freshly migrated database."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    fetcher = Fetcher(user_agent="fediverse-test/1", allow_private=allow_private, allow_http=True)
    try:
        yield Context(sessions=session_factory(engine), urls=Urls(base), domain=host_of(base),
                      fetcher=fetcher, user_agent="fediverse-test/1",
                      allow_private=allow_private, allow_http=True)
    finally:
        await fetcher.aclose()
        await engine.dispose()


async def apply(ctx: Context, activity: dict[str, Any], signer: str | None = None) -> bool:
    async with ctx.sessions() as session:
        applied = await apply_activity(ctx, session, activity, signer=signer)
        await session.commit()
    return applied


def remote(uri: str, **fields: Any) -> Account:
    """A cached remote actor row, fresh, with conventional Mastodon URLs."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    values: dict[str, Any] = {
        "kind": "remote", "username": name, "domain": host_of(uri), "uri": uri,
        "inbox": uri + "/inbox", "followers_url": uri + "/followers", "key_id": uri + "#main-key",
        "fetched_at": datetime.now(UTC),
    }
    return Account(**(values | fields))


async def add(ctx: Context, *rows: Any) -> None:
    async with ctx.sessions() as session:
        for row in rows:
            session.add(row)
        await session.commit()


async def row_counts(ctx: Context) -> dict[str, int]:
    """How many rows every table holds."""
    async with ctx.sessions() as session:
        return {table.name: int((await session.exec(
                    select(sa.func.count()).select_from(table))).one())  # type: ignore[call-overload]
                for table in SQLModel.metadata.sorted_tables}


async def one(session: AsyncSession, query: Any) -> Any:
    return (await session.exec(query)).one()


async def status_at(ctx: Context, uri: str) -> Status | None:
    async with ctx.sessions() as session:
        return (await session.exec(select(Status).where(Status.uri == uri))).first()


@dataclass
class Origin:
    """A remote server on 127.0.0.1: answers each path with the document (or status) set."""

    port: int
    docs: dict[str, tuple[int, Any]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, doc: dict[str, Any], status: int = 200) -> None:
        self.docs[doc["id"].removeprefix(self.base)] = (status, doc)

    def answer(self, path: str, status: int, doc: Any = None) -> None:
        self.docs[path] = (status, doc)

    async def _handle(self, request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.hits.append(path)
        status, doc = self.docs.get(path, self.docs.get(request.url.path, (404, None)))
        kind = "application/jrd+json" if path.startswith("/.well-known/") else AS_JSON
        body = json.dumps(doc).encode() if doc is not None else b""
        return Response(body, status_code=status, media_type=kind)


@contextlib.asynccontextmanager
async def origin_server() -> AsyncIterator[Origin]:
    origin = Origin(port=free_port())
    app = Starlette(routes=[Route("/{path:path}", origin._handle)])
    async with serving(app, origin.port):
        yield origin


def actor_doc(uri: str, **extra: Any) -> dict[str, Any]:
    """A minimal actor document for `uri`."""
    name = uri.rsplit("/", 1)[-1]
    return {"@context": ["https://www.w3.org/ns/activitystreams"], "id": uri, "type": "Person",
            "preferredUsername": name, "inbox": uri + "/inbox", "followers": uri + "/followers",
            "publicKey": {"id": uri + "#main-key", "owner": uri, "publicKeyPem": "PEM"}} | extra


@dataclass
class FakeServer:
    """Another server on 127.0.0.1: GET answers the documents served, POST is taken and kept."""

    port: int
    docs: dict[str, Any] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, doc: dict[str, Any]) -> None:
        self.docs[doc["id"].removeprefix(self.base)] = doc

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            self.received.append(json.loads(await request.body()))
            return Response(status_code=202)
        doc = self.docs.get(request.url.path)
        if doc is None:
            return Response(status_code=404)
        return Response(json.dumps(doc), media_type=AS_JSON)

    async def delivered(self, kind: str, wait: float = 10.0) -> dict[str, Any]:
        """The first activity of `kind` delivered to it, waited for."""
        deadline = time.monotonic() + wait
        while True:
            found = [a for a in self.received if a.get("type") == kind]
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"no {kind} was delivered"
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def fake_server() -> AsyncIterator[FakeServer]:
    fake = FakeServer(port=free_port())
    app = Starlette(routes=[Route("/{path:path}", fake.handle, methods=["GET", "POST"])])
    async with serving(app, fake.port):
        yield fake


async def jobs_settled(api: Any, wait: float = 10.0) -> None:
    """Until the instance behind `api` (tests.test_api_accounts_support.Api) has no job
    queued or running."""
    deadline = time.monotonic() + wait
    while await api.rows(Job, Job.state.in_(("queued", "running"))):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "jobs still waiting"
        await asyncio.sleep(0.05)


def rsa_signature(pem: str, text: str) -> str:
    """Base64 RSA-SHA256 (PKCS#1 v1.5) of `text` with the private key `pem`, made with
    `cryptography` directly, not with our signer."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
