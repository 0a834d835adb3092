"""Every route of the client API, gathered from its resource modules."""

from __future__ import annotations

from starlette.routing import BaseRoute


def api_routes() -> list[BaseRoute]:
    from fediverse.api import (
        accounts,
        admin_domain_blocks,
        assets,
        conversations,
        directory,
        domain_blocks,
        featured_tags,
        filters,
        generations,
        instance,
        lists,
        media,
        notifications,
        oauth,
        polls,
        push,
        registrations,
        reports,
        scheduled_statuses,
        search,
        statuses,
        streaming,
        suggestions,
        tags,
        timelines,
    )

    routes: list[BaseRoute] = []
    for module in (assets, oauth, instance, accounts, statuses, timelines, notifications, media,
                   search, generations, streaming, filters, tags, conversations, lists,
                   domain_blocks, push, directory, polls, featured_tags, scheduled_statuses,
                   admin_domain_blocks, reports, registrations, suggestions):
        routes.extend(module.routes)
    return routes
