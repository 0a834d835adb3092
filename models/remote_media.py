"""Remote posts' images and remote accounts' avatars and headers, copied to this server
(`fediverse.media.remote` does the copying): the jobs enqueued, in the transaction that
stores a post whose attachments are links to another server (one per post, and per edit),
or an account whose images are."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from models.queue import enqueue, enqueue_rows
from models.tables import Account, Follow, MediaAttachment, Status

QUEUE = "media"
KIND = "remote"  # payload: {"status_id": id}
PROFILE = "remote-profile"  # payload: {"account_id": id}
ATTEMPTS = 5  # a server that stays down keeps its images linked, not copied


def _key(status_id: int, edited_at: datetime | None) -> str:
    return f"remote:{status_id}" + (f":{edited_at.isoformat()}" if edited_at else "")


async def enqueue_copy(session: AsyncSession, status_id: int,
                       edited_at: datetime | None = None) -> None:
    """Queue copying a remote status's images, in the caller's transaction."""
    await enqueue(session, QUEUE, KIND, {"status_id": status_id},
                  dedupe_key=_key(status_id, edited_at), max_attempts=ATTEMPTS)


def enqueue_copies(connection: sa.Connection, status_ids: list[int]) -> None:
    """`enqueue_copy` for many new statuses on a plain connection (the inbox's batches)."""
    if status_ids:
        enqueue_rows(connection, QUEUE, KIND,
                     [({"status_id": sid}, _key(sid, None)) for sid in status_ids],
                     max_attempts=ATTEMPTS)


async def enqueue_profile_copy(session: AsyncSession, account_id: int, avatar_url: str | None,
                               header_url: str | None) -> None:
    """Queue copying a remote account's avatar and header, once per pair of URLs."""
    urls = hashlib.sha256(f"{avatar_url}\n{header_url}".encode()).hexdigest()[:32]
    await enqueue(session, QUEUE, PROFILE, {"account_id": account_id},
                  dedupe_key=f"profile:{account_id}:{urls}", max_attempts=ATTEMPTS)


async def forget_copies(session: AsyncSession, before: datetime, *, profiles: bool,
                        limit: int = 500) -> list[str]:
    """Turn up to `limit` copies back into links, in the caller's transaction (it commits):
    the images of remote statuses posted before `before`, and with `profiles` the avatars
    and headers of remote accounts no local account follows. The files they named, to
    delete once the transaction is committed; none left when it returns an empty list."""
    media = MediaAttachment.__table__  # type: ignore[attr-defined]
    statuses, accounts = Status.__table__, Account.__table__  # type: ignore[attr-defined]
    rows = (await session.execute(
        sa.select(media.c.id, media.c.file_path, media.c.thumbnail_path)
        .join(statuses, statuses.c.id == media.c.status_id)
        .where(statuses.c.local.is_(False), statuses.c.created_at < before,
               media.c.file_path.is_not(None), media.c.remote_url.is_not(None))
        .limit(limit))).all()
    files = [path for row in rows for path in (row.file_path, row.thumbnail_path) if path]
    if rows:
        await session.execute(sa.update(media).where(media.c.id.in_([r.id for r in rows]))
                              .values(file_path=None, thumbnail_path=None))
    if profiles and len(rows) < limit:
        follows, follower = Follow.__table__, accounts.alias("follower")  # type: ignore[attr-defined]
        followed = (sa.select(follows.c.id)
                    .join(follower, follower.c.id == follows.c.account_id)
                    .where(follows.c.target_account_id == accounts.c.id, follower.c.domain == ""))
        found = (await session.execute(
            sa.select(accounts.c.id, accounts.c.avatar_path, accounts.c.header_path)
            .where(accounts.c.kind == "remote", ~sa.exists(followed),
                   (accounts.c.avatar_path.is_not(None) | accounts.c.header_path.is_not(None)))
            .limit(limit - len(rows)))).all()
        files += [path for row in found for path in (row.avatar_path, row.header_path) if path]
        if found:
            await session.execute(sa.update(accounts).where(
                accounts.c.id.in_([r.id for r in found])).values(avatar_path=None,
                                                                  header_path=None))
    return list(dict.fromkeys(files))  # a small image is its own thumbnail
