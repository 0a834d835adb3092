"""Mastodon API: servers the instance blocks (`/api/v1/admin/domain_blocks`, admins only),
and the public list (`/api/v1/instance/domain_blocks`)."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.account_lookup import parse_id, reader, writer
from fediverse.api.auth import admin, optional_caller
from fediverse.api.domain_blocks import domain_param
from fediverse.api.entities import iso
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.params import Params, params
from fediverse.routes.common import json_response, state
from models.instance_blocks import (
    SEVERITIES,
    block_for,
    get_block,
    list_blocks,
    remove_block,
    save_block,
    server_blocks,
)
from models.tables import InstanceDomainBlock

_COMMENT_MAX = 1000


def admin_entity(block: InstanceDomainBlock) -> dict[str, Any]:
    """Mastodon's Admin::DomainBlock."""
    return {"id": str(block.id), "domain": block.domain, "digest": _digest(block.domain),
            "created_at": iso(block.created_at), "severity": block.severity,
            "reject_media": block.reject_media, "reject_reports": block.reject_reports,
            "private_comment": block.private_comment, "public_comment": block.public_comment,
            "obfuscate": block.obfuscate}


def public_entity(block: InstanceDomainBlock) -> dict[str, Any]:
    """Mastodon's DomainBlock: the domain partly starred when the block obfuscates it."""
    domain = _obfuscated(block.domain) if block.obfuscate else block.domain
    return {"domain": domain, "digest": _digest(block.domain), "severity": block.severity,
            "comment": block.public_comment}


def _digest(domain: str) -> str:
    return hashlib.sha256(domain.encode()).hexdigest()


def _obfuscated(domain: str) -> str:
    """As Mastodon: a quarter of the name kept at each end, dots kept, the rest starred."""
    keep = len(domain) // 4
    return "".join("*" if keep < i < len(domain) - keep and c != "." else c
                   for i, c in enumerate(domain))


def _options(p: Params, *, creating: bool) -> dict[str, Any]:
    """The fields a create or update sets (None: left as it is)."""
    severity = p.string("severity", "silence" if creating else None)
    if severity is not None and severity not in SEVERITIES:
        raise unprocessable("Validation failed: Severity is not included in the list")
    return {"severity": severity,
            "reject_media": p.boolean("reject_media", False if creating else None),
            "reject_reports": p.boolean("reject_reports", False if creating else None),
            "obfuscate": p.boolean("obfuscate", False if creating else None),
            "private_comment": p.string("private_comment", max_length=_COMMENT_MAX),
            "public_comment": p.string("public_comment", max_length=_COMMENT_MAX)}


async def _one(session: Any, request: Request) -> InstanceDomainBlock:
    block = await get_block(session, parse_id(request.path_params["id"]))
    if block is None:
        raise not_found()
    return block


async def index(request: Request) -> Response:
    await admin(request, "admin:read:domain_blocks")
    async with reader(request) as session:
        blocks = await list_blocks(session)
    return json_response([admin_entity(b) for b in blocks])


async def show(request: Request) -> Response:
    await admin(request, "admin:read:domain_blocks")
    async with reader(request) as session:
        return json_response(admin_entity(await _one(session, request)))


async def create(request: Request) -> Response:
    await admin(request, "admin:write:domain_blocks")
    p = await params(request)
    domain = domain_param(p, state(request).settings)
    options = _options(p, creating=True)
    async with writer(request) as session:
        if await block_for(session, domain) is not None:
            raise unprocessable("Validation failed: Domain has already been taken")
        block = InstanceDomainBlock(domain=domain)
        await save_block(session, block, **options)
        await session.commit()
        entity = admin_entity(block)
    server_blocks(state(request).sessions).changed()
    return json_response(entity)


async def update(request: Request) -> Response:
    await admin(request, "admin:write:domain_blocks")
    options = _options(await params(request), creating=False)
    async with writer(request) as session:
        block = await _one(session, request)
        await save_block(session, block, **options)
        await session.commit()
        entity = admin_entity(block)
    server_blocks(state(request).sessions).changed()
    return json_response(entity)


async def delete(request: Request) -> Response:
    await admin(request, "admin:write:domain_blocks")
    async with writer(request) as session:
        await remove_block(session, await _one(session, request))
        await session.commit()
    server_blocks(state(request).sessions).changed()
    return json_response({})


async def public_index(request: Request) -> Response:
    """The blocks anyone may see, as Mastodon shows them when it shows them to all."""
    await optional_caller(request)
    async with reader(request) as session:
        blocks = await list_blocks(session)
    return json_response([public_entity(b) for b in blocks if b.severity != "noop"])


routes: list[BaseRoute] = [
    Route("/api/v1/admin/domain_blocks", index, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks", create, methods=["POST"]),
    Route("/api/v1/admin/domain_blocks/{id}", show, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks/{id}", update, methods=["PUT"]),
    Route("/api/v1/admin/domain_blocks/{id}", delete, methods=["DELETE"]),
    Route("/api/v1/instance/domain_blocks", public_index, methods=["GET"]),
]
