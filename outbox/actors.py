"""Local accounts as ActivityPub actors: models to ActivityStreams."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from activitypub.actor import ActorFields
from models.tables import Account
from outbox.urls import Urls


def account_to_actor(account: Account, urls: Urls, *, moved_to: str | None = None) -> ActorFields:
    name = account.username
    return ActorFields(
        id=urls.actor(name),
        type="Service" if account.bot or account.generator else "Person",
        preferred_username=name,
        name=account.display_name or "",
        summary_html=account.note or "",
        url=urls.profile(name),
        inbox=urls.inbox(name),
        outbox=urls.outbox(name),
        followers=urls.followers(name),
        following=urls.following(name),
        featured=urls.featured(name),
        featured_tags=urls.featured_tags(name),
        shared_inbox=urls.shared_inbox,
        public_key_pem=account.public_key_pem or "",
        key_id=urls.key_id(name),
        manually_approves_followers=account.locked,
        discoverable=account.discoverable,
        indexable=account.indexable,
        published=account.created_at,
        fields=[(f.get("name", ""), f.get("value", "")) for f in (account.fields or [])],
        also_known_as=list(account.also_known_as or []),
        moved_to=moved_to,
    )


def instance_actor_fields(account: Account, urls: Urls) -> ActorFields:
    """The instance actor, which signs our fetches (Mastodon's is an `Application` too)."""
    host = urls.base.split("://", 1)[1]
    return ActorFields(
        id=urls.instance_actor,
        type="Application",
        preferred_username=host,
        name="",
        summary_html="",
        url=urls.base + "/about",
        inbox=urls.instance_actor + "/inbox",
        outbox=urls.instance_actor + "/outbox",
        followers=None,
        following=None,
        featured=None,
        shared_inbox=urls.shared_inbox,
        public_key_pem=account.public_key_pem or "",
        key_id=urls.instance_key_id,
        manually_approves_followers=True,
        discoverable=False,
        indexable=False,
        published=account.created_at,
    )


def actor_id(account: Account, urls: Urls) -> str:
    """The ActivityPub id of any account: ours from the URL scheme, a remote one as cached."""
    if account.local:
        return urls.actor(account.username)
    if not account.uri:
        raise ValueError(f"remote account {account.id} has no uri")
    return account.uri


def profile_url(account: Account, urls: Urls) -> str:
    """Where a person's profile page is, for links in content."""
    if account.local:
        return urls.profile(account.username)
    return account.url or actor_id(account, urls)


def acct(account: Account, domain: str) -> str:
    """`user@domain` of any account (`domain` is ours)."""
    return f"{account.username}@{account.domain or domain}"


async def load_actor_fields(session: AsyncSession, account: Account, urls: Urls) -> ActorFields:
    """The actor of a local account, with `movedTo` read from the account it moved to."""
    moved = await session.get(Account, account.moved_to_account_id) if account.moved_to_account_id else None
    return account_to_actor(account, urls, moved_to=actor_id(moved, urls) if moved else None)
