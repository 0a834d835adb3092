"""Posting and editing statuses from the client API: the form checked, mentions resolved,
media and parent found, then `outbox.actions` writes and federates."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, replace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.errors import ActivityPubError
from fediverse.api.errors import not_found, unprocessable
from fediverse.api.generations import refusal
from fediverse.api.params import Params
from fediverse.api.poll_form import PollForm, poll_form
from fediverse.generation.follow_up import imagine_prompt
from fediverse.generation.requests import Ask
from fediverse.generation.service import imagine
from fediverse.imaging import InvalidRequest
from fediverse.state import AppState
from inbox.resolve import resolve_handle
from models import polls
from models.accounts import get_account
from models.related import Related, load_page
from models.status_queries import idempotent_status, visible_status
from models.tables import Account, MediaAttachment, Status
from outbox import actions
from outbox import polls as poll_jobs
from outbox.content import MENTION_RE
from outbox.context import Context
from outbox.post_write import KeyTaken, MediaTaken, NewPost, post_new, with_parent_author

MAX_CHARS = 500
MAX_MEDIA = 4
MAX_SPOILER = 500


@dataclass(frozen=True)
class StatusForm:
    text: str
    media_ids: list[int] | None  # None: not given (an edit keeps the media)
    in_reply_to_id: int | None = None
    sensitive: bool | None = None
    spoiler_text: str | None = None
    visibility: str | None = None
    language: str | None = None
    poll: PollForm | None = None


def _ids(values: list[object], name: str) -> list[int]:
    try:
        ids = [int(str(v)) for v in values if str(v) != ""]
    except ValueError:
        raise unprocessable(f"Validation failed: {name} must be ids") from None
    return list(dict.fromkeys(ids))


def status_form(p: Params) -> StatusForm:
    """The parameters of a new or edited status, refused (422) when invalid (a
    `scheduled_at` is read apart: `fediverse.api.scheduled_statuses`)."""
    text = p.string("status", "") or ""
    if len(text) > MAX_CHARS:
        raise unprocessable(f"Validation failed: Text character limit of {MAX_CHARS} exceeded")
    media_ids = _ids(p.getlist("media_ids"), "media_ids") if "media_ids" in p else None
    if media_ids is not None and len(media_ids) > MAX_MEDIA:
        raise unprocessable(f"Validation failed: Media attachments are limited to {MAX_MEDIA}")
    if not text.strip() and not media_ids:
        raise unprocessable("Validation failed: Text can't be blank")
    poll = poll_form(p)
    if poll is not None and media_ids:
        raise unprocessable("Validation failed: Cannot attach both media and a poll")
    visibility = p.string("visibility") or None
    if visibility is not None and visibility not in actions.VISIBILITIES:
        raise unprocessable("Validation failed: Visibility is not included in the list")
    language = p.string("language") or None
    if language is not None and not (language.replace("-", "").isalpha() and len(language) <= 16):
        raise unprocessable("Validation failed: Language is not valid")
    reply = p.string("in_reply_to_id") or None
    if reply is not None and not reply.isdigit():
        raise not_found()
    return StatusForm(
        text=text, media_ids=media_ids, in_reply_to_id=int(reply) if reply else None,
        sensitive=p.boolean("sensitive"), language=language, visibility=visibility,
        spoiler_text=p.string("spoiler_text", max_length=MAX_SPOILER), poll=poll,
    )


def writer(st: AppState) -> AsyncSession:
    """A session that takes SQLite's write lock when it begins (it reads, then writes)."""
    return st.writer()


async def usable_media(session: AsyncSession, account: Account, ids: list[int],
                 status: Status | None = None) -> list[MediaAttachment]:
    """The caller's unattached (or already this status's) ready media, in the order given."""
    if not ids:
        return []
    rows = (await session.exec(select(MediaAttachment).where(  # type: ignore[attr-defined]
        col(MediaAttachment.id).in_(ids), MediaAttachment.account_id == account.id))).all()
    found = {m.id: m for m in rows
             if m.status_id is None or (status is not None and m.status_id == status.id)}
    if len(found) != len(ids):
        raise unprocessable("Validation failed: media_ids contains an unknown or used media")
    if any(m.state != "ready" for m in found.values()):
        raise unprocessable("Cannot attach files that have not finished processing. "
                            "Try again in a moment!")
    return [found[i] for i in ids]


async def visible_parent(session: AsyncSession, account: Account, form: StatusForm) -> Status | None:
    if form.in_reply_to_id is None:
        return None
    parent = await visible_status(session, form.in_reply_to_id, account)  # type: ignore[arg-type]
    if parent is None:
        raise not_found()
    return parent


def _handles(ctx: Context, text: str) -> list[tuple[str, str | None]]:
    found = []
    for match in MENTION_RE.finditer(text):
        host = match.group(2)
        host = None if host is None or host.lower() == ctx.domain.lower() else host.lower()
        if (match.group(1).lower(), host) not in found:
            found.append((match.group(1).lower(), host))
    return found


async def resolve_mentions(st: AppState, text: str) -> list[int]:
    """Ids of the accounts `@user` and `@user@domain` in `text` name; remote ones are looked up
    (and cached); those not found are left as plain text, as Mastodon does."""
    ctx, ids = st.federation, list[int]()
    if not _handles(ctx, text):
        return ids
    async with st.sessions() as session:
        for user, host in _handles(ctx, text):
            try:
                account = (await get_account(session, user) if host is None
                           else await resolve_handle(ctx, session, f"{user}@{host}"))
            except (ActivityPubError, ValueError):
                account = None
            if account is not None and account.id not in ids:
                ids.append(account.id)
        await session.commit()
    return ids


async def _accounts(session: AsyncSession, ids: list[int]) -> list[Account]:
    if not ids:
        return []
    rows = (await session.exec(select(Account).where(col(Account.id).in_(ids)))).all()  # type: ignore[attr-defined]
    by_id = {a.id: a for a in rows}
    return [by_id[i] for i in ids if i in by_id]


async def create_status(st: AppState, account: Account, form: StatusForm,
                        key: str | None = None, *, application_id: int | None = None
                        ) -> tuple[Status, Related | None]:
    """Post the status (or answer the one posted with the same idempotency key) as the
    caller's `account` (as authenticated: detached, not reloaded), from the OAuth app
    `application_id`; with what its entity shows, read in the posting transaction (None:
    read it afresh)."""
    if key:
        earlier = await _earlier(st, account.id, key)
        if earlier is not None:
            return earlier, None
    if any(host for _, host in _handles(st.federation, form.text)):
        async with st.sessions() as session:  # refuse before a lookup stores a remote actor
            await visible_parent(session, account, form)
            await usable_media(session, account, form.media_ids or [])
    prompt = imagine_prompt(form.text)
    if prompt is not None:  # posted once its image exists
        try:
            return await imagine(st, account.id, Ask(prompt=prompt), lambda: _status(_post(
                st, account, replace(form, text=prompt), key, pending=True,
                application_id=application_id)),
                in_reply_to_id=form.in_reply_to_id), None
        except InvalidRequest as exc:
            raise refusal(exc) from exc
    return await _post(st, account, form, key, application_id=application_id)


async def _status(posting: Awaitable[tuple[Status, Related | None]]) -> Status:
    return (await posting)[0]


async def _earlier(st: AppState, account_id: int, key: str) -> Status | None:
    async with st.sessions() as session:
        return await idempotent_status(session, account_id, key)


async def _post(st: AppState, account: Account, form: StatusForm, key: str | None, *,
                pending: bool = False, application_id: int | None = None
                ) -> tuple[Status, Related | None]:
    """One transaction writes the status and all that goes with it (`outbox.post_write`);
    what it refers to (mentions, parent, media) is looked up first."""
    mentions, parent, media = [], None, []
    mention_ids = await resolve_mentions(st, form.text)
    if mention_ids or form.in_reply_to_id is not None or form.media_ids:
        async with st.sessions() as session:
            mentions = await _accounts(session, mention_ids)
            parent = await visible_parent(session, account, form)
            media = await usable_media(session, account, form.media_ids or [])
            parent_author = (await session.get(Account, parent.account_id)
                             if parent is not None else None)
        mentions = with_parent_author(mentions, account, parent_author)
    post = NewPost(
        account=account, text=form.text, visibility=form.visibility or account.default_privacy,
        spoiler_text=form.spoiler_text or "",
        sensitive=account.default_sensitive if form.sensitive is None else form.sensitive,
        language=form.language or account.default_language, in_reply_to=parent, media=media,
        mentions=mentions, pending=pending, key=key, application_id=application_id,
        poll=form.poll.poll() if form.poll is not None else None)
    try:
        return await post_new(st.federation, st.sessions, post,
                              lambda conn, status: load_page(conn, [status], account.id))
    except MediaTaken:
        raise unprocessable("Validation failed: media_ids contains an unknown or used media"
                            ) from None
    except KeyTaken:  # the same key raced in from another request: answer its status
        earlier = await _earlier(st, account.id, key or "")
        if earlier is None:
            raise
        return earlier, None


async def _edit_poll(session: AsyncSession, status: Status, form: PollForm | None) -> None:
    """As Mastodon: a poll left out of the edit goes; new options (or a new `multiple`)
    start the votes afresh; the end is `expires_in` from now."""
    old = status.poll
    if form is None:
        if old:
            await polls.clear_votes(session, status.id)
            status.poll = None
        return
    poll = form.poll()
    if old and polls.titles(old) == form.options and bool(old.get("multiple")) == form.multiple:
        poll = {**poll, "options": old["options"], "voters_count": old.get("voters_count")}
    else:
        await polls.clear_votes(session, status.id)
    status.poll = poll
    await poll_jobs.schedule_end(session, status)


def editable(status: Status | None, account_id: int) -> bool:
    """Whether `status` is a live post (not a boost) of `account_id`'s, theirs to edit."""
    return (status is not None and status.account_id == account_id
            and status.deleted_at is None and status.reblog_of_id is None)


async def update_status(st: AppState, account_id: int, status_id: int, form: StatusForm
                        ) -> Status:
    """Edit the caller's own status; 404 for any other."""
    async with writer(st) as session:
        account = await session.get(Account, account_id)
        status = await session.get(Status, status_id)
        if account is None or not editable(status, account_id):
            raise not_found()
        if form.media_ids is not None:
            await usable_media(session, account, form.media_ids, status)
    mention_ids = await resolve_mentions(st, form.text)
    async with writer(st) as session:
        status = await session.get(Status, status_id)
        account = await session.get(Account, account_id)
        assert status is not None and account is not None
        media = (None if form.media_ids is None
                 else await usable_media(session, account, form.media_ids, status))
        if form.language is not None:
            status.language = form.language
        await _edit_poll(session, status, form.poll)
        return await actions.edit_status(
            st.federation, session, status, text=form.text, spoiler_text=form.spoiler_text,
            sensitive=form.sensitive, media=media, mentions=await _accounts(session, mention_ids))
