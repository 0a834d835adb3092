"""Hostile input against every route the app serves: never a 500.

The routes are walked from the app itself (so a new route is fuzzed without being listed
here). Each route and method gets a deterministic batch of hostile requests (a `random`
seeded by the route): bad path parameters, query, form, multipart and JSON bodies of the
wrong shape, Content-Type lies, and no token, an invalid one, a read-only one and a full one.
Every answer must be below 500; a 4xx from the client API must carry `{"error": "<one
line>"}`; and a batch in which every write was refused must leave the row counts of
statuses, accounts, media and follows as they were.

The federation side gets the same: inbox POSTs unsigned (401) and signed by a real remote
key with junk bodies (4xx or a 202 that stores nothing), actor, object and collection GETs
with hostile paths and Accept headers, webfinger with hostile `resource`, and nodeinfo.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.routing import Route

from activitypub.httpsig import sign_cavage
from activitypub.keys import generate_rsa_keypair
from fediverse.app import eager_routes, lazy_routes
from models.tables import Account, Follow, MediaAttachment, Status
from tests.inbox_support import actor_doc, origin_server
from tests.instances import running_instance
from tests.test_api_accounts_support import Api, api  # noqa: F401  (the fixture)

# a longer hunt: FEDIVERSE_FUZZ_SEED=7 FEDIVERSE_FUZZ_ROUNDS=40 pytest tests/test_fuzz_routes.py
SEED = int(os.environ.get("FEDIVERSE_FUZZ_SEED", "20261126"))
PER_ROUTE = int(os.environ.get("FEDIVERSE_FUZZ_ROUNDS", "8"))  # parameter sets per route
PATHS_PER_PARAM = 5  # bad values of each path parameter (the first three always)
COUNTED = (Status, Account, MediaAttachment, Follow)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
FEDERATION_PREFIXES = ("/users/", "/@", "/inbox", "/actor", "/.well-known/", "/nodeinfo",
                       "/media/", "/tags/")  # the second test's
LONG = "x" * 100_000

# what handlers read, and then some; a value may go out as a scalar, a list, or an object
PARAMS = [
    "limit", "max_id", "since_id", "min_id", "offset", "q", "type", "types[]",
    "exclude_types[]", "account_id", "status", "media_ids[]", "visibility", "scheduled_at",
    "language", "poll[options][]", "poll[expires_in]", "poll[multiple]", "spoiler_text",
    "in_reply_to_id", "description", "focus", "display_name", "note", "fields_attributes",
    "fields_attributes[0][name]", "fields_attributes[0][value]", "locked", "bot", "discoverable",
    "expires_in", "context[]", "keywords_attributes[][keyword]", "keywords_attributes[][_destroy]",
    "filter_action", "title", "keyword", "whole_word", "irreversible", "id", "id[]", "resolve",
    "following", "acct", "local", "remote", "only_media", "tagged", "pinned", "exclude_replies",
    "exclude_reblogs", "reblogs", "notify", "languages[]", "duration", "notifications",
    "sensitive", "home[last_read_id]", "notifications[last_read_id]", "timeline[]",
    "grouped_types[]", "expand_accounts", "stream", "tag", "list", "client_name",
    "redirect_uris", "scopes", "website", "grant_type", "code", "client_id", "client_secret",
    "redirect_uri", "token", "username", "password", "response_type", "prompt", "force_login",
    "authenticity_token", "decision", "resource", "rel", "prompt_text", "negative_prompt",
    "steps", "seed", "width", "height", "source_media_id", "strength", "page", "account_ids[]",
]
SCALARS = [
    "", "-1", "0", str(2**70), str(-(2**70)), "1e309", "NaN", "abc", "ü∂ƒ©☃", "\x00", "a\x00b",
    LONG, "../../etc/passwd", "..%2f..%2f", "%", "%zz", "null", "true", "[]", "{}",
    "'; DROP TABLE statuses;--", "2026-13-45T99:99:99Z", "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z", " 1 ", "1.5", "@a@127.0.0.1:1", "https://127.0.0.1:1/x", "#tag",
    "\u202e\ufeff", "0x10", "-0", "1" * 400, "public", "direct", "hide", "warn", "home",
    "alice", "@alice", "\r\nX-Injected: 1",
]
JSON_VALUES: list[Any] = [
    None, True, False, 0, -1, 2**70, -(2**70), 1.5, 1e308, "", LONG, "\x00", [], [1, "a"],
    {}, {"a": {"b": []}}, [[[[[]]]]], {"0": {"name": "x", "value": ["y"]}}, "abc", [None],
]
PATH_VALUES = ["abc", str(2**70), "%00", "-1", "0", "ü", "..%2f..%2fetc", " 1", "1.5",
               "1e3", "9" * 40, quote("<script>"), "%ff%fe"]
# a valid body for some writes, that hostile parameters join, so they get past the first check
VALID = {
    "POST /api/v1/statuses": [("status", "hello")],
    "PUT /api/v1/statuses/{id}": [("status", "edited")],
    "POST /api/v1/apps": [("client_name", "fuzz"), ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob")],
    "POST /oauth/token": [("grant_type", "password"), ("username", "alice"),
                          ("password", "x"), ("client_id", "x"), ("client_secret", "x")],
    "POST /api/v2/filters": [("title", "t"), ("context[]", "home")],
    "PUT /api/v2/filters/{id}": [("title", "t"), ("context[]", "home")],
    "POST /api/v2/filters/{id}/keywords": [("keyword", "k")],
    "POST /api/v1/filters": [("phrase", "p"), ("context[]", "home")],
    "POST /api/v1/markers": [("home[last_read_id]", "1")],
    "POST /api/v1/generations": [("prompt", "a red square"), ("steps", "1")],
    "PATCH /api/v1/accounts/update_credentials": [("display_name", "A")],
}
ACCEPTS = ["application/activity+json", 'application/ld+json; profile="x"', "text/html",
           "*/*", "", "garbage/\x01", "application/json;q=abc", "a" * 8000,
           "application/activity+json, text/html;q=2"]


@dataclass
class World:
    api: Api
    tokens: dict[str, str | None]
    ids: dict[str, str]  # path parameter name -> a real value of it
    problems: list[str] = field(default_factory=list)
    sent: dict[int, int] = field(default_factory=dict)  # answers by status class (2, 4, ...)


async def counts(api: Api) -> dict[str, int]:
    async with api.inst.state.sessions() as session:
        return {t.__name__: int((await session.exec(
            sa.select(sa.func.count()).select_from(t))).one()[0])  # type: ignore[call-overload]
            for t in COUNTED}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
async def world(api: Api) -> AsyncIterator[World]:  # noqa: F811
    alice, full = await api.user("alice")
    bob, bobs = await api.user("bob")
    _, reader = await api.user("carol", scopes="read")
    async def ok(method: str, path: str, token: str, **kw: Any) -> Any:
        answer = await api.http(method, path, token, **kw)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()
    mine = await ok("POST", "/api/v1/statuses", full, data={"status": "mine #tag"})
    theirs = await ok("POST", "/api/v1/statuses", bobs, data={"status": "@alice hi"})
    await ok("POST", f"/api/v1/accounts/{bob.id}/follow", full)
    await ok("POST", f"/api/v1/statuses/{theirs['id']}/favourite", full)
    media = await ok("POST", "/api/v1/media", full, files={"file": ("a.png", png(), "image/png")})
    made = await ok("POST", "/api/v2/filters", full,
                    json={"title": "f", "context": ["home"],
                          "keywords_attributes": [{"keyword": "kw"}]})
    notes = await ok("GET", "/api/v1/notifications", full)
    ids = {"id": theirs["id"], "mine": mine["id"], "account": str(bob.id), "media": media["id"],
           "filter": made["id"], "keyword": made["keywords"][0]["id"],
           "notification": notes[0]["id"] if notes else "1",
           "group_key": notes[0]["group_key"] if notes else "x", "username": "alice",
           "hashtag": "tag", "name": "tag", "version": "2.0", "path": "x.png"}
    yield World(api, {"none": None, "invalid": "not-a-token", "read": reader, "full": full},
                ids)


def routes() -> list[tuple[str, str]]:
    """(method, path pattern) for every HTTP route the app serves (HEAD goes with GET)."""
    found = []
    for route in eager_routes() + lazy_routes():
        if isinstance(route, Route):
            found += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def fill(pattern: str, values: dict[str, str]) -> str:
    path = pattern
    for name, value in values.items():
        path = path.replace("{" + name + "}", value).replace("{" + name + ":int}", value)
        path = path.replace("{" + name + ":path}", value)
    return path


def params_of(pattern: str) -> list[str]:
    return [part.split("}")[0].split(":")[0] for part in pattern.split("{")[1:]]


def real_value(world: World, pattern: str, name: str) -> str:
    if name != "id":
        return world.ids.get(name, "1")
    for marker, key in (("/accounts/", "account"), ("/follow_requests/", "account"),
                        ("/media/", "media"), ("/filters/keywords/", "keyword"),
                        ("/filters/statuses/", "id"), ("/filters/", "filter"),
                        ("/notifications/", "notification")):
        if marker in pattern:
            return world.ids[key]
    if pattern.startswith("/users/") or pattern.startswith("/@"):
        return world.ids["mine"]
    return world.ids["id"]


def hostile_pairs(rng: random.Random) -> list[tuple[str, str]]:
    pairs = []
    for _ in range(rng.randint(1, 4)):
        name, value = rng.choice(PARAMS), rng.choice(SCALARS)
        shape = rng.random()
        if shape < 0.2:  # a list where a scalar goes
            pairs += [(name, value), (name, rng.choice(SCALARS))]
        elif shape < 0.35:  # an object where a scalar goes
            pairs.append((f"{name}[{rng.choice(['a', '0', ''])}]", value))
        else:
            pairs.append((name, value))
    return pairs


def json_body(rng: random.Random) -> bytes:
    shape = rng.random()
    if shape < 0.15:
        return json.dumps(rng.choice([[1, 2], 5, "text", None, 2**70, [{"status": "x"}]])).encode()
    if shape < 0.25:
        depth = rng.choice([200, 5000, 100_000])
        return b"[" * depth + b"]" * depth if rng.random() < 0.5 else \
            b'{"a":' * depth + b"1" + b"}" * depth
    if shape < 0.35:
        return rng.choice([b"{", b'{"status": "x",}', b"\xff\xfe{}", b"", b'{"a": NaN}',
                           b'{"status": "\\ud800"}'])
    return json.dumps({rng.choice(PARAMS): rng.choice(JSON_VALUES)
                       for _ in range(rng.randint(1, 4))}).encode()


def request_variant(rng: random.Random, method: str, valid: list[tuple[str, str]]
                    ) -> dict[str, Any]:
    """httpx keyword arguments for one hostile request (`valid` pairs joining some)."""
    if valid and method != "GET" and rng.random() < 0.5:
        pairs = valid + hostile_pairs(rng)
        if rng.random() < 0.5:
            return {"content": urlencode(pairs).encode(),
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
        return {"content": json.dumps(dict(valid) | {k: rng.choice(JSON_VALUES) for k, _ in
                                                     hostile_pairs(rng)}).encode(),
                "headers": {"Content-Type": "application/json"}}
    kind = rng.choice(["query", "query"] if method == "GET" else
                      ["query", "form", "form_bytes", "json", "json", "multipart", "lie"])
    if kind == "query":  # a request line stays under what uvicorn reads (long goes in bodies)
        return {"params": [(k, v[:6000]) for k, v in hostile_pairs(rng)]}
    if kind == "form":
        return {"data": dict(hostile_pairs(rng)) if rng.random() < 0.5 else None,
                "content": None if rng.random() < 0.5 else
                "&".join(f"{quote(k)}={quote(v)}" for k, v in hostile_pairs(rng)).encode(),
                "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    if kind == "form_bytes":  # invalid UTF-8 in the form, raw and percent-encoded
        return {"content": rng.choice([b"status=\xff\xfe&visibility=\xc3",
                                       b"status=%ff%fe%c3&limit=%80", b"\xff=\xff",
                                       b"a=1&&&==&%", b"description=%00&focus=%E2%82"]),
                "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    if kind == "json":
        return {"content": json_body(rng), "headers": {"Content-Type": "application/json"}}
    if kind == "multipart":
        files = {"file": ("x.png", rng.choice([b"", b"\x89PNG\r\n\x1a\nbroken", png()[:40],
                                                b"GIF89a" + b"\x00" * 30]),
                          rng.choice(["image/png", "text/plain", "image/gif"]))}
        return {"data": dict(hostile_pairs(rng)), "files": files}
    lie = rng.choice([  # Content-Type lies
        (b'{"status": "x"}', "application/x-www-form-urlencoded"),
        (b"status=x&visibility=public", "application/json"),
        (b"--b\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\nx", "multipart/form-data"),
        (b"--b\r\ngarbage", "multipart/form-data; boundary=b"),
        (b"\x00\x01\x02", "application/octet-stream"),
        (b'{"status": "x"}', "text/plain; charset=utf-7"),
        (b'{"status": "x"}', "application/json; charset=latin-1"),
    ])
    return {"content": lie[0], "headers": {"Content-Type": lie[1]}}


async def send(world: World, client: httpx.AsyncClient, method: str, path: str,
               token: str | None, what: str, **kw: Any) -> int:
    """One request; what is wrong with its answer goes to `world.problems`."""
    headers = dict(kw.pop("headers", None) or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    kw = {k: v for k, v in kw.items() if v is not None}
    try:
        request = client.build_request(method, path, headers=headers, **kw)
        answer = await client.send(request, stream=True)
    except httpx.TimeoutException:
        world.problems.append(f"{method} {path} [{what}]: no answer in time")
        return 599
    try:
        streamed = answer.headers.get("content-type", "").startswith("text/event-stream")
        body = b"" if streamed else await answer.aread()
    finally:
        await answer.aclose()
    status = answer.status_code
    world.sent[status // 100] = world.sent.get(status // 100, 0) + 1
    where = f"{method} {path[:120]!r} [{what}] {str(kw)[:200]}"
    if status >= 500:
        world.problems.append(f"{where}: {status} {body[:200]!r}")
    elif status >= 400 and path.startswith("/api/") and status != 405:
        try:
            error = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            world.problems.append(f"{where}: {status} without an error body {body[:200]!r}")
        else:
            if not isinstance(error, str) or not error or "\n" in error or len(error) > 1000:
                world.problems.append(f"{where}: {status} malformed error {body[:200]!r}")
    return status


def report(problems: list[str]) -> str:
    shown = "\n".join(problems[:100])
    return f"{len(problems)} problems:\n{shown}"


async def fuzz_route(world: World, client: httpx.AsyncClient, method: str, pattern: str) -> None:
    """One route's batch: tokens, bad path parameters, then hostile parameter sets."""
    rng = random.Random(SEED ^ zlib.crc32(f"{method} {pattern}".encode()))
    names = params_of(pattern)
    real = {n: real_value(world, pattern, n) for n in names}
    before = await counts(world.api)
    wrote = False

    async def one(path: str, token: str | None, what: str, **kw: Any) -> None:
        nonlocal wrote
        status = await send(world, client, method, path, token, what, **kw)
        wrote = wrote or (method in WRITES and status < 400)

    for who, token in world.tokens.items():
        await one(fill(pattern, real), token, f"token {who}")
    for name in names:
        for bad in PATH_VALUES[:3] + rng.sample(PATH_VALUES[3:], PATHS_PER_PARAM - 3):
            await one(fill(pattern, real | {name: bad}), world.tokens["full"], f"path {name}")
    for i in range(PER_ROUTE):
        token = world.tokens["read" if i % 5 == 4 else "full"]
        path = fill(pattern, real if rng.random() < 0.8 else
                    {n: rng.choice(PATH_VALUES) for n in names})
        await one(path, token, "params",
                  **request_variant(rng, method, VALID.get(f"{method} {pattern}", [])))
    if not wrote:
        after = await counts(world.api)
        if after != before:
            world.problems.append(f"{method} {pattern}: refused, yet {before} -> {after}")


async def test_every_client_route_survives_hostile_input(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.api.base, timeout=20) as client:
        for method, pattern in routes():
            if not pattern.startswith(FEDERATION_PREFIXES):
                await fuzz_route(world, client, method, pattern)
    assert not world.problems, report(world.problems)
    # the walk found the routes, and the requests reached both answers and refusals
    assert world.sent.get(2, 0) > 200 and world.sent.get(4, 0) > 1000, world.sent


# ---- the federation side ----

AS = "https://www.w3.org/ns/activitystreams"


@pytest.fixture
async def instance(tmp_path, database_url) -> AsyncIterator[Api]:
    """An instance whose workers run, so that an accepted activity is also applied."""
    async with running_instance(tmp_path / "fed", database_url, run_workers=True) as inst:
        yield Api(inst)


def junk_activities(actor: str, local: str, rng: random.Random) -> list[bytes]:
    """Bodies a signed sender might post: broken JSON, and activities whose fields have the
    wrong type or point nowhere. None of them should store anything."""
    raw = [b"", b"{", b"[]", b"5", b'"x"', b"null", b"\xff\xfe{}", b'{"a": NaN}',
           b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
           json.dumps({"type": "Create"}).encode(),
           json.dumps({"type": "Create", "actor": actor}).encode()]
    kinds = ["Create", "Update", "Delete", "Follow", "Undo", "Like", "Announce", "Accept",
             "Reject", "Block", "Flag", "Move", "Add", "Remove", "EmojiReact", "Question",
             ["Create", "Note"], None, 5, ""]
    objects: list[Any] = [
        None, 5, 2**70, "", LONG, [], [None], {"type": None}, {"id": 5},
        {"type": "Note", "id": actor + "/n/1", "attributedTo": actor, "content": ["x"],
         "to": 5},
        {"type": "Note", "id": actor + "/n/2", "attributedTo": [actor, 5], "content": None,
         "published": "not a date", "inReplyTo": {"id": 7}, "tag": "x"},
        {"type": "Note", "id": local + "/users/alice/statuses/1", "attributedTo": actor,
         "content": "impostor"},
        {"type": "Person", "id": actor, "publicKey": "junk", "inbox": 5},
        {"type": "Follow", "actor": local + "/users/alice", "object": actor},
        local + "/users/alice", local + "/users/nobody", local + "/users/alice/statuses/" +
        str(2**70), "https://127.0.0.1:1/x", {"type": "Question", "oneOf": "x"},
        {"type": "Note", "id": actor + "/n/3", "attributedTo": actor, "content": "x",
         "attachment": [{"type": "Document", "url": 5, "mediaType": ["x"]}], "to": AS + "#Public"},
    ]
    made = []
    for i in range(28):
        activity: dict[str, Any] = {"@context": rng.choice([AS, 5, [AS, {"x": None}], None]),
                                    "id": rng.choice([f"{actor}#junk/{i}", 5, None, "",
                                                      f"{local}/users/alice#{i}"]),
                                    "type": rng.choice(kinds),
                                    "actor": rng.choice([actor, actor, [actor], {"id": actor},
                                                         5, None]),
                                    "object": rng.choice(objects)}
        if rng.random() < 0.3:
            activity["target"] = rng.choice(objects)
        if rng.random() < 0.2:
            activity["to"] = rng.choice([5, None, {}, [None, 7], "x"])
        made.append(json.dumps(activity).encode())
    return raw + made


async def wait_for_inbox_jobs(api: Api) -> list[str]:
    """Wait until the inbox workers have tried every job; the errors the jobs met."""
    from models.tables import Job

    for _ in range(300):
        async with api.inst.state.sessions() as session:
            jobs = (await session.exec(sa.select(Job.state, Job.attempts, Job.last_error).where(
                Job.queue == "inbox"))).all()
        if all(state in ("done", "dead") or attempts > 0 for state, attempts, _ in jobs):
            return [str(error)[:300] for _, _, error in jobs if error]
        await asyncio.sleep(0.1)
    return ["inbox jobs still waiting after 30 s"]


async def test_federation_routes_survive_hostile_input(instance: Api) -> None:
    api = instance
    world = World(api, {}, {})
    _, token = await api.user("alice")
    posted = await api.http("POST", "/api/v1/statuses", token, data={"status": "hello #tag"})
    assert posted.status_code == 200, posted.text
    base = api.base
    pem, public = generate_rsa_keypair()
    rng = random.Random(SEED)
    async with origin_server() as origin, \
            httpx.AsyncClient(base_url=base, timeout=20) as client:
        actor = origin.base + "/users/mallory"
        origin.serve(actor_doc(actor, publicKey={"id": actor + "#main-key", "owner": actor,
                                                 "publicKeyPem": public}))

        async def inbox(path: str, body: bytes, *, sign: bool, what: str) -> int:
            headers = {"Content-Type": "application/activity+json"}
            if sign:
                headers = sign_cavage("POST", base + path, headers, body,
                                      key_id=actor + "#main-key", private_key_pem=pem)
            return await send(world, client, "POST", path, None, what, content=body,
                              headers=headers)

        # one accepted activity first: the sender's key is fetched and its account stored
        warm = json.dumps({"@context": AS, "id": actor + "#warm", "type": "Like",
                           "actor": actor, "object": base + "/users/alice/statuses/1"}).encode()
        assert await inbox("/inbox", warm, sign=True, what="warm-up") < 300
        assert await wait_for_inbox_jobs(api) == []
        before = await counts(api)

        for path in ["/inbox", "/users/alice/inbox", "/actor/inbox"]:
            status = await inbox(path, warm.replace(b"#warm", b"#unsigned"), sign=False,
                                 what="unsigned")
            if status != 401:
                world.problems.append(f"an unsigned activity to {path}: {status}, not 401")
        bodies = junk_activities(actor, base, rng)
        paths = ["/inbox", "/users/alice/inbox", "/actor/inbox"]
        for i, body in enumerate(bodies):
            path = paths[i % len(paths)]
            status = await inbox(path, body, sign=False, what="unsigned")
            if status != 401:  # unsigned: refused before the body is read
                world.problems.append(f"unsigned POST {path} {body[:80]!r}: {status}")
            status = await inbox(path, body, sign=True, what="signed junk")
            if not (400 <= status < 500 or status == 202):
                world.problems.append(f"signed POST {path} {body[:80]!r}: {status}")
        for path in ["/users/nobody/inbox", "/users/..%2f/inbox", "/users/%00/inbox"]:
            status = await inbox(path, warm, sign=True, what="no such inbox")
            if not 400 <= status < 500:
                world.problems.append(f"POST {path}: {status}")
        big = b'{"type": "Create", "content": "' + b"x" * 3_000_000 + b'"}'
        if await inbox("/inbox", big, sign=True, what="too large") != 413:
            world.problems.append("a 3 MB inbox body was not refused with 413")
        world.problems += await wait_for_inbox_jobs(api)
        after = await counts(api)
        if after != before:
            world.problems.append(f"inbox junk changed rows: {before} -> {after}")

        # actors, objects, collections, media and well-known documents
        status_id = posted.json()["id"]
        users = ["alice", "nobody", "ALICE", "alice%00", "a" * 2000, *PATH_VALUES[:8]]
        ids = [str(status_id), "0", str(2**70), "9" * 40]
        paths = ["/actor", "/.well-known/nodeinfo", "/.well-known/host-meta",
                 "/.well-known/host-meta.json", "/.well-known/oauth-authorization-server"]
        for user in users:
            paths += [f"/users/{user}", f"/@{user}", f"/users/{user}/outbox",
                      f"/users/{user}/followers", f"/users/{user}/following",
                      f"/users/{user}/collections/featured", f"/users/{user}/collections/tags",
                      f"/tags/{user}", f"/media/{user}", f"/nodeinfo/{user}"]
        for number in ids:
            paths += [f"/users/alice/statuses/{number}", f"/users/alice/statuses/{number}/activity",
                      f"/users/alice/statuses/{number}/replies", f"/@alice/{number}"]
        paths += ["/media/../../etc/passwd", "/media/%2e%2e/%2e%2e/etc/passwd", "/media/",
                  "/nodeinfo/2.0", "/nodeinfo/2.1", "/nodeinfo/2.0.json"]
        queries: list[list[tuple[str, str]]] = [
            [], [("page", "true")], [("page", "abc"), ("min_id", str(2**70))],
            [("page", "true"), ("max_id", "-1")], [("page", "1"), ("page", "2")],
            [("only_other_accounts", "x"), ("page", "\x00")]]
        for path in paths:
            for _ in range(2):
                accept = rng.choice(ACCEPTS)
                await send(world, client, rng.choice(["GET", "GET", "HEAD"]), path, None,
                           f"accept {accept[:30]!r}", headers={"Accept": accept},
                           params=rng.choice(queries))

        # webfinger
        domain = api.inst.domain
        resources = [None, "", "acct:alice@" + domain, "acct:ALICE@" + domain, "acct:alice",
                     "acct:alice@other.example", "acct:@" + domain, "acct:", "alice@" + domain,
                     f"{base}/users/alice", f"{base}/users/nobody", f"{base}/@alice",
                     "acct:alice@" + domain + "@x", "acct:\x00@" + domain, "a" * 6000,
                     "acct:../x@" + domain, "acct:ü@" + domain, "https://", "mailto:a@b",
                     f"acct:alice@{domain}:99999", "acct:%00"]
        for resource in resources:
            params = [] if resource is None else [("resource", resource)]
            if resource and rng.random() < 0.3:
                params.append(("resource", "acct:bob@" + domain))
            status = await send(world, client, "GET", "/.well-known/webfinger", None,
                                "webfinger", params=params, headers={"Accept": rng.choice(ACCEPTS)})
            if resource is not None and "alice" not in resource.lower() and status == 200:
                world.problems.append(f"webfinger {resource[:80]!r}: 200")
    assert not world.problems, report(world.problems)
    assert world.sent.get(2, 0) > 50 and world.sent.get(4, 0) > 100, world.sent
