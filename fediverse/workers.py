"""Background workers: which job kinds each queue runs, and the loops that run them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fediverse.state import AppState
from models.queue import Worker
from outbox.context import Context

Handler = Callable[[dict[str, Any], Any], Awaitable[None]]


def _inbox(ctx: Context) -> dict[str, Handler]:
    from inbox.apply import make_inbox_handler

    return {"activity": make_inbox_handler(ctx)}


def _deliver(ctx: Context) -> dict[str, Handler]:
    from outbox.deliver import make_delivery_handlers

    return make_delivery_handlers(ctx)


# queue -> the job kinds it runs, given the federation context. A queue nobody handles is
# never claimed, so its jobs wait, durable, for a process that can run them.
QUEUES: dict[str, Callable[[Context], dict[str, Handler]]] = {
    "inbox": _inbox,
    "deliver": _deliver,
}
# how many jobs of a queue one process runs at once: deliveries wait on other servers
CONCURRENCY = {"inbox": 4, "deliver": 64}


def select_queues(requested: list[str] | None) -> list[str]:
    """The queues to work on; asking for a queue nobody handles is an error."""
    if not requested:
        return sorted(QUEUES)
    unknown = [q for q in requested if q not in QUEUES]
    if unknown:
        raise ValueError(
            f"--queue: no handlers for {', '.join(unknown)} (known: {', '.join(sorted(QUEUES))})"
        )
    return list(dict.fromkeys(requested))


async def run_workers(state: AppState, queues: list[str], stop: asyncio.Event) -> None:
    """Run one worker per queue until `stop` is set."""
    workers = [
        Worker(
            state.sessions,
            QUEUES[queue](state.federation),
            [queue],
            concurrency=CONCURRENCY.get(queue, 4),
            wake=state.wake,
        )
        for queue in queues
    ]
    await asyncio.gather(*(w.run(stop) for w in workers))
