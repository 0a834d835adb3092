"""`fediverse domain block|unblock|list`: servers the instance blocks, for the operator.

A running server learns of a change within `models.instance_blocks.REFRESH` seconds."""

from __future__ import annotations

import sys

from fediverse.api.domain_blocks import normal_domain
from fediverse.commands import command_sessions
from fediverse.errors import CommandError
from fediverse.settings import Settings
from models.instance_blocks import block_for, list_blocks, remove_block, save_block
from models.tables import InstanceDomainBlock


def _domain(settings: Settings, raw: str) -> str:
    domain = normal_domain(raw)
    if domain is None:
        raise CommandError(f"{raw!r} is not a domain name")
    if domain in (settings.domain.lower(), settings.host.lower()):
        raise CommandError(f"{domain} is this server's own domain")
    return domain


async def block(settings: Settings, raw: str, *, severity: str, reject_media: bool,
                reject_reports: bool, public_comment: str | None,
                private_comment: str | None) -> int:
    """Block a server, or change how it is blocked; a suspension removes its accounts here."""
    domain = _domain(settings, raw)
    async with command_sessions(settings) as sessions:
        async with sessions() as session:
            found = await block_for(session, domain)
            removed = await save_block(
                session, found or InstanceDomainBlock(domain=domain), severity=severity,
                reject_media=reject_media, reject_reports=reject_reports,
                public_comment=public_comment, private_comment=private_comment)
            await session.commit()
    print(f"{'updated' if found else 'blocked'} {domain} ({severity}); "
          f"{removed} accounts removed", file=sys.stderr)
    return 0


async def unblock(settings: Settings, raw: str) -> int:
    domain = _domain(settings, raw)
    async with command_sessions(settings) as sessions:
        async with sessions() as session:
            found = await block_for(session, domain)
            if found is None:
                raise CommandError(f"{domain} is not blocked")
            await remove_block(session, found)
            await session.commit()
    print(f"unblocked {domain}", file=sys.stderr)
    return 0


async def show(settings: Settings) -> int:
    """One line a block on standard output: domain, severity, then the options set."""
    async with command_sessions(settings) as sessions:
        async with sessions() as session:
            blocks = await list_blocks(session)
    for b in blocks:
        flags = [name for name in ("reject_media", "reject_reports") if getattr(b, name)]
        print("\t".join([b.domain, b.severity, *flags]))
    return 0
