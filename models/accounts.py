"""Local accounts: creation with a key pair, look-ups, passwords, and the instance actor."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.keys import generate_rsa_keypair
from models.tables import Account
from models.types import utcnow

USERNAME_RE = re.compile(r"[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?", re.IGNORECASE)
USERNAME_MAX = 30
PASSWORD_MIN = 8
INSTANCE_ACTOR_USERNAME = "instance.actor"
# names a person may not take: they would be confused with the server itself
RESERVED_USERNAMES = frozenset({INSTANCE_ACTOR_USERNAME, "admin", "administrator", "root",
                                "support", "help", "postmaster", "webmaster", "abuse"})

_hasher = PasswordHasher()  # Argon2id with argon2-cffi's current recommended parameters


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why and is safe to show."""


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(account: Account, password: str) -> PasswordCheck:
    """Check `password`; on success, upgrade an outdated hash in place (the caller commits)."""
    if not account.password_hash:
        return PasswordCheck(False, "account has no password")
    if account.suspended_at is not None:
        return PasswordCheck(False, "account is suspended")
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(False, "wrong password")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return PasswordCheck(True, "ok")


def username_problem(username: str) -> str | None:
    """Why `username` cannot be a new local account's name, or None if it can."""
    if not username:
        return "username is empty"
    if len(username) > USERNAME_MAX:
        return f"username is longer than {USERNAME_MAX} characters"
    if not USERNAME_RE.fullmatch(username):
        return "username may hold only letters, digits, '_', and '.' or '-' between them"
    if username.lower() in RESERVED_USERNAMES:
        return f"username {username!r} is reserved"
    return None


def _normal_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and domain) or any(c.isspace() for c in email):
        raise AccountError(f"not an email address: {email!r}")
    return email


async def create_account(
    session: AsyncSession, username: str, *, password: str | None = None,
    email: str | None = None, admin: bool = False, bot: bool = False, generator: bool = False,
    locked: bool = False, display_name: str = "",
) -> Account:
    """A new local person account with an RSA-2048 key pair, flushed (the caller commits)."""
    if problem := username_problem(username):
        raise AccountError(problem)
    if password is not None and len(password) < PASSWORD_MIN:
        raise AccountError(f"password is shorter than {PASSWORD_MIN} characters")
    email = _normal_email(email) if email is not None else None
    # the slow parts before the first query: a writer session holds SQLite's write lock from
    # there to its commit, and other processes' writes wait for it
    private_pem, public_pem = await asyncio.to_thread(generate_rsa_keypair, 2048)
    password_hash = await asyncio.to_thread(hash_password, password) if password else None
    if await _username_taken(session, username):
        raise AccountError(f"username {username!r} is taken")
    if email is not None and await _email_taken(session, email):
        raise AccountError("email address is already in use")
    account = Account(
        username=username, display_name=display_name, email=email, password_hash=password_hash,
        is_admin=admin, bot=bot or generator, generator=generator, locked=locked,
        private_key_pem=private_pem, public_key_pem=public_pem,
    )
    try:
        async with session.begin_nested():
            session.add(account)
    except IntegrityError as exc:  # someone took the name or email a moment ago
        raise AccountError("username or email was taken meanwhile") from exc
    return account


async def _username_taken(session: AsyncSession, username: str) -> bool:
    query = select(Account.id).where(
        sa.func.lower(Account.username) == username.lower(), Account.domain == "")
    return (await session.exec(query)).first() is not None


async def _email_taken(session: AsyncSession, email: str) -> bool:
    query = select(Account.id).where(Account.email == email)
    return (await session.exec(query)).first() is not None


async def get_account(session: AsyncSession, username: str) -> Account | None:
    """The local person (never the instance actor) named `username`, any letter case."""
    query = select(Account).where(
        sa.func.lower(Account.username) == username.lower(), Account.kind == "person")
    return (await session.exec(query)).first()


async def list_accounts(session: AsyncSession, *, include_suspended: bool = False
                        ) -> list[Account]:
    """Local people, oldest first (never the instance actor)."""
    query = select(Account).where(Account.kind == "person").order_by(Account.id)
    if not include_suspended:
        query = query.where(Account.suspended_at.is_(None))  # type: ignore[union-attr]
    return list(await session.exec(query))


async def count_local_accounts(session: AsyncSession) -> int:
    """How many local people have accounts (not suspended; the instance actor not counted)."""
    query = select(sa.func.count()).select_from(Account).where(
        Account.kind == "person", Account.suspended_at.is_(None))  # type: ignore[union-attr]
    return int((await session.exec(query)).one())


async def get_or_create_instance_actor(session: AsyncSession, *,
                                       keypair: tuple[str, str] | None = None) -> Account:
    """The instance actor (signs our fetches); made on first use, safely under a race.

    `keypair` (private, public PEM), made before the session's transaction began, is the
    new actor's: a session that holds SQLite's write lock must not hold it while a key is
    generated (up to seconds on a busy machine, while other processes' writes wait)."""
    for _ in range(3):
        query = select(Account).where(Account.kind == "instance")
        found = (await session.exec(query)).first()
        if found is not None:
            return found
        private_pem, public_pem = keypair or await asyncio.to_thread(generate_rsa_keypair, 2048)
        actor = Account(
            kind="instance", username=INSTANCE_ACTOR_USERNAME, display_name="",
            bot=True, locked=True, discoverable=False, indexable=False,
            private_key_pem=private_pem, public_key_pem=public_pem, updated_at=utcnow(),
        )
        try:
            async with session.begin_nested():
                session.add(actor)
            return actor
        except IntegrityError:
            continue  # another process created it: read theirs
    raise RuntimeError("could not create or find the instance actor")
