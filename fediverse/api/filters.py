"""Mastodon API: filters v2 (a filter, its keywords and its statuses) and the v1 filters
(one keyword each) that older apps use. Applying them is `fediverse.api.filtering`."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse.api.auth import caller
from fediverse.api.entities import iso
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.filtering import (
    ACTIONS,
    CONTEXTS,
    CustomFilter,
    custom_filter,
    filter_entity,
    forget_filters,
)
from fediverse.api.filtering import FilterKeyword as KeywordValue
from fediverse.api.filtering import FilterStatus as StatusValue
from fediverse.api.params import Params, params
from fediverse.routes.common import json_response, state
from models.tables import Filter, FilterKeyword, FilterStatus, Status
from models.types import utcnow

READ, WRITE = "read:filters", "write:filters"
MAX_TITLE, MAX_KEYWORD = 255, 512
MAX_KEYWORDS = 100
MAX_ID = 2**63 - 1
Item = TypeVar("Item", FilterKeyword, FilterStatus)
_ATTR = re.compile(r"^keywords_attributes\[(\d*)\]\[(\w+)\]$")


def _id(request: Request, name: str = "id") -> int:
    raw = request.path_params[name]
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
        raise not_found()
    return int(raw)


async def _me(request: Request, scope: str) -> int:
    who = await caller(request, scope)
    assert who.account is not None
    return who.account.id


# ---- reading and checking parameters ----

def _context(p: Params, *, required: bool) -> list[str] | None:
    given = [str(c) for c in p.getlist("context") if str(c) != ""]
    if not given:
        if required or "context" in p:
            raise unprocessable("Validation failed: Context can't be blank")
        return None
    wrong = [c for c in given if c not in CONTEXTS]
    if wrong:
        raise unprocessable(f"Validation failed: Context {wrong[0]!r} is not a filter context")
    return list(dict.fromkeys(given))


def _title(p: Params, *, required: bool) -> str | None:
    title = p.string("title", max_length=MAX_TITLE)
    if title is None and not required:
        return None
    if not (title or "").strip():
        raise unprocessable("Validation failed: Title can't be blank")
    return (title or "").strip()


def _action(p: Params) -> str | None:
    action = p.string("filter_action")
    if action is not None and action not in ACTIONS:
        raise unprocessable("Validation failed: Filter action must be warn, hide or blur")
    return action


def _expiry(p: Params) -> tuple[bool, Any]:
    """(given, expires_at): `expires_in` seconds from now; empty means never."""
    if "expires_in" not in p:
        return False, None
    seconds = p.integer("expires_in", minimum=1, maximum=10 * 365 * 86400)
    return True, (utcnow() + timedelta(seconds=seconds) if seconds else None)


def _keyword_text(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if not text or isinstance(value, dict | list):
        raise unprocessable("Validation failed: Keyword can't be blank")
    if len(text) > MAX_KEYWORD:
        raise unprocessable(f"Validation failed: Keyword is too long (maximum is {MAX_KEYWORD} "
                            "characters)")
    return text


def _flag(value: Any, name: str, default: bool) -> bool:
    return bool(Params([(name, value)]).boolean(name, default))


def keyword_attributes(p: Params) -> list[dict[str, Any]]:
    """`keywords_attributes` as a list of dicts, however sent: a JSON list, Rails'
    `keywords_attributes[][keyword]` (a repeated field starts the next one), or indexed
    `keywords_attributes[0][keyword]`."""
    found: list[dict[str, Any]] = []
    for item in p.getlist("keywords_attributes"):
        if not isinstance(item, dict):
            raise unprocessable("Validation failed: keywords_attributes must be a list of objects")
        found.append(item)
    listed: list[dict[str, Any]] = []
    indexed: dict[str, dict[str, Any]] = {}
    for name, value in p._items:  # noqa: SLF001 (names as sent)
        match = _ATTR.match(name)
        if match is None:
            continue
        index, field = match.groups()
        if index:
            indexed.setdefault(index, {})[field] = value
        elif not listed or field in listed[-1]:
            listed.append({field: value})
        else:
            listed[-1][field] = value
    found.extend(listed)
    found.extend(indexed[k] for k in sorted(indexed, key=int))
    if len(found) > MAX_KEYWORDS:
        raise unprocessable(f"Validation failed: at most {MAX_KEYWORDS} keywords")
    return found


# ---- storage ----

async def _filter_of(session: AsyncSession, account_id: int, filter_id: int) -> Filter:
    found = await session.get(Filter, filter_id)
    if found is None or found.account_id != account_id:
        raise not_found()
    return found


async def _loaded(session: AsyncSession, row: Filter) -> CustomFilter:
    keywords = (await session.exec(select(FilterKeyword).where(
        FilterKeyword.filter_id == row.id))).all()
    statuses = (await session.exec(select(FilterStatus).where(
        FilterStatus.filter_id == row.id))).all()
    return custom_filter(row, [KeywordValue(k.id, k.keyword, k.whole_word) for k in keywords],
                         [StatusValue(s.id, s.status_id) for s in statuses])


async def _apply_keywords(session: AsyncSession, row: Filter,
                          attributes: list[dict[str, Any]]) -> None:
    """Create, change (`id`) or delete (`id` with `_destroy`) the filter's keywords; every
    one is checked before any is written."""
    planned: list[tuple[str, Any, str, bool]] = []
    for item in attributes:
        raw_id = item.get("id")
        destroy = _flag(item.get("_destroy"), "_destroy", False)
        if raw_id not in (None, ""):
            keyword_id = Params([("id", raw_id)]).integer("id", minimum=1, maximum=MAX_ID) or 0
            existing = await session.get(FilterKeyword, keyword_id)
            if existing is None or existing.filter_id != row.id:
                raise unprocessable(f"Validation failed: keyword {keyword_id} is not in this filter")
            if destroy:
                planned.append(("delete", existing, "", False))
            else:
                text = (_keyword_text(item["keyword"]) if "keyword" in item
                        else existing.keyword)
                planned.append(("update", existing, text,
                                _flag(item.get("whole_word"), "whole_word", existing.whole_word)))
        elif not destroy:
            planned.append(("create", None, _keyword_text(item.get("keyword")),
                            _flag(item.get("whole_word"), "whole_word", True)))
    for action, existing, text, whole_word in planned:
        if action == "delete":
            await session.delete(existing)
        elif action == "update":
            existing.keyword, existing.whole_word = text, whole_word
            session.add(existing)
        else:
            session.add(FilterKeyword(filter_id=row.id, keyword=text, whole_word=whole_word))


async def _answer_filter(request: Request, account_id: int, filter_id: int,
                         status: int = 200) -> Response:
    async with state(request).sessions() as session:
        row = await _filter_of(session, account_id, filter_id)
        return json_response(filter_entity(await _loaded(session, row)), status=status)


# ---- v2: filters ----

async def list_filters(request: Request) -> Response:
    me = await _me(request, READ)
    async with state(request).sessions() as session:
        rows = (await session.exec(select(Filter).where(Filter.account_id == me)
                                   .order_by(col(Filter.id)))).all()
        return json_response([filter_entity(await _loaded(session, r)) for r in rows])


async def get_filter(request: Request) -> Response:
    me = await _me(request, READ)
    return await _answer_filter(request, me, _id(request))


async def create_filter(request: Request) -> Response:
    me = await _me(request, WRITE)
    p = await params(request)
    title, context = _title(p, required=True), _context(p, required=True)
    action = _action(p) or "warn"
    _, expires_at = _expiry(p)
    attributes = keyword_attributes(p)
    async with state(request).writer() as session:
        row = Filter(account_id=me, title=title or "", context=context or [],
                     filter_action=action, expires_at=expires_at)
        session.add(row)
        await session.flush()
        await _apply_keywords(session, row, attributes)
        await session.commit()
        filter_id = row.id
    forget_filters()
    return await _answer_filter(request, me, filter_id)


async def update_filter(request: Request) -> Response:
    me = await _me(request, WRITE)
    filter_id = _id(request)
    p = await params(request)
    title, context, action = _title(p, required=False), _context(p, required=False), _action(p)
    expiry_given, expires_at = _expiry(p)
    attributes = keyword_attributes(p)
    async with state(request).writer() as session:
        row = await _filter_of(session, me, filter_id)
        if title is not None:
            row.title = title
        if context is not None:
            row.context = context
        if action is not None:
            row.filter_action = action
        if expiry_given:
            row.expires_at = expires_at
        row.updated_at = utcnow()
        session.add(row)
        await _apply_keywords(session, row, attributes)
        await session.commit()
    forget_filters()
    return await _answer_filter(request, me, filter_id)


async def delete_filter(request: Request) -> Response:
    me = await _me(request, WRITE)
    async with state(request).writer() as session:
        await session.delete(await _filter_of(session, me, _id(request)))
        await session.commit()
    forget_filters()
    return json_response({})


# ---- v2: keywords ----

def _keyword_entity(k: FilterKeyword) -> dict[str, Any]:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word}


async def _item_of(session: AsyncSession, model: type[Item], account_id: int, item_id: int
                   ) -> Item:
    """A keyword or status of one of `account_id`'s filters; 404 for anyone else's."""
    found = await session.get(model, item_id)
    if found is None:
        raise not_found()
    await _filter_of(session, account_id, found.filter_id)
    return found


def _item_routes(model: type[Item], entity: Callable[[Item], dict[str, Any]]
                 ) -> tuple[Handler, Handler, Handler]:
    """List (under a filter), get and delete, alike for a filter's keywords and statuses."""
    async def list_items(request: Request) -> Response:
        me = await _me(request, READ)
        async with state(request).sessions() as session:
            row = await _filter_of(session, me, _id(request))
            items = (await session.exec(select(model).where(
                col(model.filter_id) == row.id).order_by(col(model.id)))).all()
            return json_response([entity(item) for item in items])

    async def get_item(request: Request) -> Response:
        me = await _me(request, READ)
        async with state(request).sessions() as session:
            return json_response(entity(await _item_of(session, model, me, _id(request))))

    async def delete_item(request: Request) -> Response:
        me = await _me(request, WRITE)
        async with state(request).writer() as session:
            await session.delete(await _item_of(session, model, me, _id(request)))
            await session.commit()
        forget_filters()
        return json_response({})

    return list_items, get_item, delete_item


list_keywords, get_keyword, delete_keyword = _item_routes(FilterKeyword, _keyword_entity)


async def add_keyword(request: Request) -> Response:
    me = await _me(request, WRITE)
    p = await params(request)
    text = _keyword_text(p.get("keyword"))
    whole_word = bool(p.boolean("whole_word", True))
    async with state(request).writer() as session:
        row = await _filter_of(session, me, _id(request))
        keyword = FilterKeyword(filter_id=row.id, keyword=text, whole_word=whole_word)
        session.add(keyword)
        await session.commit()
        entity = _keyword_entity(keyword)
    forget_filters()
    return json_response(entity)


async def update_keyword(request: Request) -> Response:
    me = await _me(request, WRITE)
    p = await params(request)
    text = _keyword_text(p.get("keyword")) if "keyword" in p else None
    whole_word = p.boolean("whole_word")
    async with state(request).writer() as session:
        keyword = await _item_of(session, FilterKeyword, me, _id(request))
        if text is not None:
            keyword.keyword = text
        if whole_word is not None:
            keyword.whole_word = whole_word
        session.add(keyword)
        await session.commit()
        entity = _keyword_entity(keyword)
    forget_filters()
    return json_response(entity)


# ---- v2: statuses ----

def _status_entity(s: FilterStatus) -> dict[str, Any]:
    return {"id": str(s.id), "status_id": str(s.status_id)}


list_statuses, get_status, delete_status = _item_routes(FilterStatus, _status_entity)


async def add_status(request: Request) -> Response:
    me = await _me(request, WRITE)
    p = await params(request)
    status_id = p.integer("status_id", minimum=1, maximum=MAX_ID)
    if status_id is None:
        raise unprocessable("Validation failed: Status can't be blank")
    async with state(request).writer() as session:
        row = await _filter_of(session, me, _id(request))
        status = await session.get(Status, status_id)
        if status is None or status.deleted_at is not None:
            raise unprocessable("Validation failed: Status does not exist")
        existing = (await session.exec(select(FilterStatus).where(
            FilterStatus.filter_id == row.id, FilterStatus.status_id == status_id))).first()
        if existing is not None:
            raise unprocessable("Validation failed: Status has already been taken")
        item = FilterStatus(filter_id=row.id, status_id=status_id)
        session.add(item)
        await session.commit()
        entity = _status_entity(item)
    forget_filters()
    return json_response(entity)


# ---- v1: one filter per keyword ----

def _v1_entity(row: Filter, keyword: FilterKeyword) -> dict[str, Any]:
    return {"id": str(keyword.id), "phrase": keyword.keyword, "context": list(row.context),
            "whole_word": keyword.whole_word, "expires_at": iso(row.expires_at),
            "irreversible": row.filter_action == "hide"}


async def _v1_of(session: AsyncSession, account_id: int, keyword_id: int
                 ) -> tuple[Filter, FilterKeyword]:
    keyword = await _item_of(session, FilterKeyword, account_id, keyword_id)
    return await _filter_of(session, account_id, keyword.filter_id), keyword


async def v1_list(request: Request) -> Response:
    me = await _me(request, READ)
    async with state(request).sessions() as session:
        rows = (await session.exec(select(Filter, FilterKeyword).join(
            FilterKeyword, col(FilterKeyword.filter_id) == Filter.id).where(
            Filter.account_id == me).order_by(col(FilterKeyword.id)))).all()
        return json_response([_v1_entity(f, k) for f, k in rows])


async def v1_get(request: Request) -> Response:
    me = await _me(request, READ)
    async with state(request).sessions() as session:
        return json_response(_v1_entity(*await _v1_of(session, me, _id(request))))


def _v1_fields(p: Params, *, required: bool) -> tuple[str | None, list[str] | None, bool | None,
                                                      bool | None]:
    phrase = _keyword_text(p.get("phrase")) if required or "phrase" in p else None
    return (phrase, _context(p, required=required), p.boolean("whole_word"),
            p.boolean("irreversible"))


async def v1_create(request: Request) -> Response:
    me = await _me(request, WRITE)
    p = await params(request)
    phrase, context, whole_word, irreversible = _v1_fields(p, required=True)
    _, expires_at = _expiry(p)
    async with state(request).writer() as session:
        row = Filter(account_id=me, title=(phrase or "")[:MAX_TITLE], context=context or [],
                     filter_action="hide" if irreversible else "warn", expires_at=expires_at)
        session.add(row)
        await session.flush()
        keyword = FilterKeyword(filter_id=row.id, keyword=phrase or "",
                                whole_word=True if whole_word is None else whole_word)
        session.add(keyword)
        await session.commit()
        entity = _v1_entity(row, keyword)
    forget_filters()
    return json_response(entity)


async def v1_update(request: Request) -> Response:
    me = await _me(request, WRITE)
    p = await params(request)
    phrase, context, whole_word, irreversible = _v1_fields(p, required=False)
    expiry_given, expires_at = _expiry(p)
    async with state(request).writer() as session:
        row, keyword = await _v1_of(session, me, _id(request))
        if phrase is not None:
            keyword.keyword = phrase
        if whole_word is not None:
            keyword.whole_word = whole_word
        if context is not None:
            row.context = context
        if irreversible is not None:
            row.filter_action = "hide" if irreversible else "warn"
        if expiry_given:
            row.expires_at = expires_at
        row.updated_at = utcnow()
        session.add_all([row, keyword])
        await session.commit()
        entity = _v1_entity(row, keyword)
    forget_filters()
    return json_response(entity)


async def v1_delete(request: Request) -> Response:
    """Deletes the keyword, and its filter when that was its last one."""
    me = await _me(request, WRITE)
    async with state(request).writer() as session:
        row, keyword = await _v1_of(session, me, _id(request))
        others = (await session.exec(select(FilterKeyword.id).where(
            FilterKeyword.filter_id == row.id, FilterKeyword.id != keyword.id))).first()
        await session.delete(row if others is None else keyword)
        await session.commit()
    forget_filters()
    return json_response({})


Handler = Callable[[Request], Awaitable[Response]]
_V2 = "/api/v2/filters"
routes: list[BaseRoute] = [
    Route(_V2, list_filters, methods=["GET"]),
    Route(_V2, create_filter, methods=["POST"]),
    Route(f"{_V2}/keywords/{{id}}", get_keyword, methods=["GET"]),
    Route(f"{_V2}/keywords/{{id}}", update_keyword, methods=["PUT"]),
    Route(f"{_V2}/keywords/{{id}}", delete_keyword, methods=["DELETE"]),
    Route(f"{_V2}/statuses/{{id}}", get_status, methods=["GET"]),
    Route(f"{_V2}/statuses/{{id}}", delete_status, methods=["DELETE"]),
    Route(f"{_V2}/{{id}}", get_filter, methods=["GET"]),
    Route(f"{_V2}/{{id}}", update_filter, methods=["PUT"]),
    Route(f"{_V2}/{{id}}", delete_filter, methods=["DELETE"]),
    Route(f"{_V2}/{{id}}/keywords", list_keywords, methods=["GET"]),
    Route(f"{_V2}/{{id}}/keywords", add_keyword, methods=["POST"]),
    Route(f"{_V2}/{{id}}/statuses", list_statuses, methods=["GET"]),
    Route(f"{_V2}/{{id}}/statuses", add_status, methods=["POST"]),
    Route("/api/v1/filters", v1_list, methods=["GET"]),
    Route("/api/v1/filters", v1_create, methods=["POST"]),
    Route("/api/v1/filters/{id}", v1_get, methods=["GET"]),
    Route("/api/v1/filters/{id}", v1_update, methods=["PUT"]),
    Route("/api/v1/filters/{id}", v1_delete, methods=["DELETE"]),
]
