"""Applying many received activities at once: the inbox queue's batch handler.

The common case, a `Create` of an embedded post from an actor we hold a fresh copy of, is
applied in bulk: a run of such jobs is worked out from one read transaction, in which every
lookup of the run is one query (actors, posts we have, who is followed, parents, mentioned
accounts), and then shares one write transaction (`models.queue.run_write`: on SQLite, one
trip to the writer thread) that inserts the new rows together and marks the jobs done.
Nothing in either touches the network.

Any other job (another type, an actor to fetch, a post named only by its id) is applied
alone, in a transaction of its own, by the same code as a single job (`apply_payload`), after
the bulk run and up to `ALONE_AT_ONCE` at a time, as single jobs always were: a fetch holds
no write lock, and one slow server holds up no more than its own jobs. (So a Delete or an
Undo claimed with the Create it undoes comes after it.) When the bulk transaction fails (a
row another process made meanwhile), its jobs are applied one by one instead, so that one
bad activity is retried alone.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.vocab import (
    actor_id,
    as_list,
    first,
    id_of,
    ids_of,
    normalize_activity,
    same_origin,
    type_of,
)
from inbox.apply import apply_payload
from inbox.handlers.common import authored
from inbox.handlers.posts import is_vote
from inbox.notes import POST_TYPES, NoteFields, note_to_fields
from inbox.resolve import fresh, is_local, local_username
from inbox.statuses import media_values, notified, status_values
from models.conversation_mutes import thread_key, unmuted_rows
from models.generation_jobs import ATTEMPTS, MENTION
from models.generation_jobs import QUEUE as GENERATE
from models.ids import new_id
from models.queue import (
    BatchHandler,
    Finish,
    complete_rows,
    enqueue_rows,
    insert_rows,
    run_read,
    run_write,
)
from models.remote_media import enqueue_copies
from models.tables import (
    Account,
    Follow,
    Job,
    MediaAttachment,
    Mention,
    Notification,
    Status,
    StatusTag,
    Tag,
)
from models.types import utcnow
from outbox.context import Context
from outbox.events import NOTIFICATION, UPDATE, Event, hooks_of, relay

log = logging.getLogger(__name__)

ALONE_AT_ONCE = 4  # jobs of a batch applied alone at the same time (each may fetch)
_IN_CLAUSE = 500  # values per IN (...): well under both backends' bound-parameter limits
_ROWS = 500  # rows per bulk insert statement


@dataclass
class _Create:
    """A job that can be applied in bulk: a Create of one embedded object."""

    job: Job
    actor_uri: str
    obj: dict[str, Any]  # normalised


def make_inbox_batch_handler(ctx: Context) -> BatchHandler:
    """The batch handler for queue "inbox", job kind "activity" (see `models.queue.Worker`)."""

    async def handle(jobs: list[Job], finish: Finish) -> dict[int, Exception]:
        run = [c for job in jobs if (c := _bulk_candidate(ctx, job)) is not None]
        failures, bulk = await _apply_run(ctx, run, finish) if run else ({}, set())
        alone = asyncio.Semaphore(ALONE_AT_ONCE)

        async def apply_alone(job: Job) -> dict[int, Exception]:
            async with alone:
                return await _apply_alone(ctx, job, finish)

        for found in await asyncio.gather(
                *(apply_alone(job) for job in jobs if job.id not in bulk)):
            failures |= found
        return failures

    return handle


def _bulk_candidate(ctx: Context, job: Job) -> _Create | None:
    """The job as a bulk Create, when `apply_activity` would route it to `on_create` with
    one embedded object; None sends it down the general path."""
    payload = job.payload
    activity = payload.get("activity") if isinstance(payload, dict) else None
    if not isinstance(activity, dict):
        return None
    activity = normalize_activity(activity)
    uri = actor_id(activity)
    if type_of(activity) != {"Create"} or not uri or is_local(ctx, uri):
        return None
    signer = payload.get("signer")
    activity_id = id_of(activity.get("id"))
    if (signer and not same_origin(signer, uri)) or (activity_id and not same_origin(activity_id, uri)):
        return None
    objects = as_list(activity.get("object"))
    if len(objects) != 1 or not isinstance(objects[0], dict) or is_vote(objects[0]):
        return None  # a vote goes the general way (`inbox.votes`)
    if "signature" in activity and is_local(ctx, id_of(first(objects[0].get("inReplyTo"))) or ""):
        return None  # a reply to one of ours that may be forwarded (outbox.forward)
    return _Create(job=job, actor_uri=uri, obj=objects[0])


async def _apply_alone(ctx: Context, job: Job, finish: Finish) -> dict[int, Exception]:
    async def done(session: AsyncSession) -> None:
        await finish(session, [job.id])

    try:
        await apply_payload(ctx, job.payload, then=done)
    except Exception as exc:
        return {job.id: exc}
    return {}


async def _apply_run(ctx: Context, run: list[_Create], finish: Finish
                     ) -> tuple[dict[int, Exception], set[int]]:
    """Apply `run` in bulk; the failures, and the ids of the jobs it took care of (the others,
    from actors to fetch first, are to be applied alone).

    The rows are worked out first, from one read transaction, holding no write lock; the
    write transaction then only inserts them (so the one SQLite writer, which accepting
    activities needs too, is held briefly)."""
    hooks = hooks_of(ctx.sessions)
    origin = hooks[0] if hooks else None
    try:
        plan = await run_read(ctx.sessions, lambda connection: _plan_creates(ctx, connection, run))
        events, done = await run_write(ctx.sessions, lambda connection: _store_plan(
            connection, plan, origin))
    except Exception as exc:  # applied again one by one: only the culprit fails
        log.info("bulk apply of %d activities failed, applying them one by one: %s",
                 len(run), exc)
    else:
        if events and hooks:
            hooks[1](events)  # committed: live streams in this process hear of them
        return {}, done
    failures: dict[int, Exception] = {}
    for candidate in run:
        failures |= await _apply_alone(ctx, candidate.job, finish)
    return failures, {c.job.id for c in run}


@dataclass(frozen=True)
class _Known:
    """A status a run can see: stored already, or made earlier in the run."""

    id: int
    account_id: int
    local: bool


class _Lookups:
    """What a run needs from the database, each kind fetched in one query up front."""

    def __init__(self, ctx: Context, session: Session) -> None:
        self.ctx, self.session = ctx, session
        self.actors: dict[str, Account] = {}
        self.statuses: dict[str, _Known] = {}  # by uri
        self.followed: set[int] = set()  # actors (and authors of known posts) followed here
        self.remote: dict[str, Account] = {}  # mentioned remote accounts, by uri
        self._local: dict[str, Account | None] = {}

    def load(self, run: list[_Create]) -> None:
        self.actors = self._accounts({c.actor_uri for c in run})
        uris = {str(c.obj.get("id")) for c in run}
        uris |= {p for c in run if (p := id_of(first(c.obj.get("inReplyTo"))))}
        for chunk in _chunks(uris):
            query = sa.select(Status.uri, Status.id, Status.account_id, Status.local).where(
                Status.uri.in_(chunk))  # type: ignore[attr-defined]
            for uri, *known in self.session.execute(query):
                self.statuses[uri] = _Known(*known)
        authors = {a.id for a in self.actors.values()} | {k.account_id for k in self.statuses.values()}
        for chunk in _chunks(authors):
            query = (sa.select(Follow.target_account_id).distinct()
                     .join(Account, Account.id == Follow.account_id)  # type: ignore[arg-type]
                     .where(Follow.target_account_id.in_(chunk),  # type: ignore[attr-defined]
                            Follow.state == "accepted", Account.domain == ""))
            self.followed.update(self.session.execute(query).scalars())
        mentioned = {uri for c in run for uri in _mention_hrefs(c.obj) + _mention_uris(c.obj)
                     if not is_local(self.ctx, uri)}
        self.remote = self._accounts(mentioned)

    def _accounts(self, uris: set[str]) -> dict[str, Account]:
        found: dict[str, Account] = {}
        for chunk in _chunks(uris):
            rows = self.session.execute(sa.select(Account).where(
                Account.uri.in_(chunk))).scalars()  # type: ignore[union-attr]
            found |= {a.uri: a for a in rows if a.uri}
        return found

    def local(self, uri: str) -> Account | None:
        """As `inbox.resolve.local_account`: the local person at one of our actor URLs."""
        if uri not in self._local:
            name = local_username(self.ctx, uri)
            query = sa.select(Account).where(
                sa.func.lower(Account.username) == (name or "").lower(), Account.kind == "person")
            self._local[uri] = self.session.execute(query).scalars().first() if name else None
        return self._local[uri]

    def mentioned(self, uri: str) -> Account | None:
        """As `inbox.statuses._mentioned`: ours, or a remote account already known."""
        return self.local(uri) if is_local(self.ctx, uri) else self.remote.get(uri)


def _chunks(values: set[Any]) -> list[list[Any]]:
    ordered = sorted(values)
    return [ordered[start:start + _IN_CLAUSE] for start in range(0, len(ordered), _IN_CLAUSE)]


def _mention_hrefs(obj: dict[str, Any]) -> list[str]:
    """Mentioned uris as `inbox.handlers.posts.wanted` reads them."""
    return [h for t in as_list(obj.get("tag")) if isinstance(t, dict)
            and "Mention" in type_of(t) and (h := id_of(t.get("href")))]


def _mention_uris(obj: dict[str, Any]) -> list[str]:
    """Mentioned uris as `inbox.notes.mentions_of` reads them."""
    tags = [t for t in as_list(obj.get("tag")) if isinstance(t, dict) and "Mention" in type_of(t)]
    return [h for t in tags if (h := id_of(t.get("href") or t.get("id")))]


def _wanted(look: _Lookups, obj: dict[str, Any], author: Account) -> bool:
    """`inbox.handlers.posts.wanted`, from the run's lookups."""
    if author.id in look.followed:
        return True
    for uri in _mention_hrefs(obj) + ids_of(obj.get("to")) + ids_of(obj.get("cc")):
        if is_local(look.ctx, uri) and look.local(uri) is not None:
            return True
    parent_uri = id_of(first(obj.get("inReplyTo")))
    parent = look.statuses.get(parent_uri) if parent_uri else None
    return parent is not None and (parent.local or parent.account_id in look.followed)


@dataclass
class _Plan:
    """A run's rows, worked out before its write transaction (see `_plan_creates`)."""

    done: list[_Create]  # the jobs applied (kept or not)
    kept: list[tuple[dict[str, Any], NoteFields]]  # status rows, with their fields
    rows: dict[Any, list[dict[str, Any]]]  # other rows, by table
    answers: list[tuple[dict[str, Any], str]]  # generator accounts' jobs


def _plan_creates(ctx: Context, connection: sa.Connection, run: list[_Create]) -> _Plan:
    """The rows that applying the run's Creates as `apply_activity` would, one after another,
    adds, read in `connection`'s transaction (nothing is written). A job whose actor we lack,
    or hold a stale copy of, is left to be applied alone (it fetches).

    Statuses and what hangs off them become rows for bulk inserts: building ORM objects
    would cost more than all the rest."""
    with Session(bind=connection) as session:
        look = _Lookups(ctx, session)
        look.load(run)
        return _plan_of(look, run)


def _plan_of(look: _Lookups, run: list[_Create]) -> _Plan:
    kept: list[tuple[dict[str, Any], NoteFields, Account]] = []
    done = [c for c in run if (a := look.actors.get(c.actor_uri)) is not None and fresh(a)]
    for candidate in done:
        actor = look.actors[candidate.actor_uri]
        if actor.kind != "remote" or actor.suspended_at is not None:
            continue
        obj = candidate.obj
        if not type_of(obj) & POST_TYPES or is_vote(obj) or not authored(obj, actor):
            continue
        if obj["id"] in look.statuses or not _wanted(look, obj, actor):
            continue
        fields = note_to_fields(obj, followers_url=actor.followers_url)
        parent = look.statuses.get(fields.in_reply_to_uri) if fields.in_reply_to_uri else None
        values = status_values(fields, actor.id,
                               (parent.id, parent.account_id) if parent else None)
        look.statuses[fields.uri] = _Known(values["id"], actor.id, False)
        kept.append((values, fields, actor))
    rows: dict[Any, list[dict[str, Any]]] = {Mention: [], Notification: [],
                                             MediaAttachment: []}
    answers: list[tuple[dict[str, Any], str]] = []
    now = utcnow()
    for values, fields, author in kept:
        status_id = values["id"]
        rows[MediaAttachment] += media_values(status_id, author.id, fields.media)
        mentioned: dict[int, Account] = {}
        for uri in fields.mentions:
            account = look.mentioned(uri)
            if account is not None and account.id not in mentioned:
                mentioned[account.id] = account
                rows[Mention].append({"id": new_id(), "status_id": status_id,
                                      "account_id": account.id})
        rows[Notification] += [
            {"id": new_id(), "account_id": account.id, "from_account_id": author.id,
             "type": "mention", "status_id": status_id, "created_at": now}
            for account in notified(author, list(mentioned.values()))]
        answers += [({"status_id": status_id, "generator_id": account.id},
                     f"mention:{status_id}:{account.id}")
                    for account in mentioned.values()
                    if account.generator and account.domain == "" and account.id != author.id]
    return _Plan(done, [(values, fields) for values, fields, _ in kept], rows, answers)


def _store_plan(connection: sa.Connection, plan: _Plan, origin: str | None
                ) -> tuple[list[Event], set[int]]:
    """Insert the plan's rows and mark its jobs done, in `connection`'s transaction; the
    events for live streams (relayed to other processes already when `origin` is given),
    and the ids of the jobs applied."""
    tags = [{"id": new_id(), "status_id": values["id"], "tag_id": tag_id}
            for values, fields in plan.kept for tag_id in _tag_ids(connection, fields.hashtags)]
    # a clash (an id or uri taken since the plan was made) fails the run, which is then
    # applied one by one
    if plan.rows[Notification]:
        plan.rows[Notification] = unmuted_rows(connection, plan.rows[Notification], {
            values["id"]: thread_key(values["conversation"], values["uri"])
            for values, _ in plan.kept})
    tables = [(Status, [values for values, _ in plan.kept]), *plan.rows.items(),
              (StatusTag, tags)]
    for table, values_list in tables:
        insert_rows(connection, table.__table__, values_list, chunk=_ROWS)
    enqueue_copies(connection, [values["id"] for values, fields in plan.kept if fields.media])
    if plan.answers:  # as `models.generation_jobs.enqueue_generator_mentions`
        enqueue_rows(connection, GENERATE, MENTION, plan.answers, max_attempts=ATTEMPTS)
    for worker, jobs in _by_worker(plan.done).items():
        complete_rows(connection, jobs, worker_id=worker)
    events = [Event(UPDATE, values["id"]) for values, _ in plan.kept]
    events += [Event(NOTIFICATION, row["id"]) for row in plan.rows[Notification]]
    if events and origin is not None:
        relay(connection, origin, events)
    return events, {c.job.id for c in plan.done}


def _by_worker(run: list[_Create]) -> dict[str | None, list[int]]:
    found: dict[str | None, list[int]] = {}
    for candidate in run:
        found.setdefault(candidate.job.locked_by, []).append(candidate.job.id)
    return found


def _tag_ids(connection: sa.Connection, names: list[str]) -> list[int]:
    """As `inbox.statuses.tag_named`, for each name: the hashtag's id, made on first use."""
    ids: list[int] = []
    for name in names:
        query = sa.select(Tag.id).where(sa.func.lower(Tag.name) == name.lower())
        found = connection.execute(query).scalar()
        if found is None:
            try:
                with connection.begin_nested():
                    connection.execute(sa.insert(Tag).values(id=new_id(), name=name,
                                                             created_at=utcnow()))
            except IntegrityError:  # made meanwhile by another writer
                pass
            found = connection.execute(query).scalar_one()
        if found not in ids:
            ids.append(found)
    return ids
