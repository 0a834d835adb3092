"""Every route of the client API, gathered from its resource modules."""

from __future__ import annotations

from starlette.routing import BaseRoute


def api_routes() -> list[BaseRoute]:
    from fediverse.api import (
        accounts,
        assets,
        conversations,
        filters,
        generations,
        instance,
        media,
        notifications,
        oauth,
        search,
        statuses,
        streaming,
        tags,
        timelines,
    )

    routes: list[BaseRoute] = []
    for module in (assets, oauth, instance, accounts, statuses, timelines, notifications, media,
                   search, generations, streaming, filters, tags, conversations):
        routes.extend(module.routes)
    return routes
