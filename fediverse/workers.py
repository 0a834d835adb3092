"""Background workers: which job kinds each queue runs, and the loops that run them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fediverse.state import AppState
from models.queue import Worker

Handler = Callable[[dict, object], Awaitable[None]]
# queue -> kind -> handler factory (given the process state). Federation (inbox, deliver) and
# generation register theirs here as they land; a queue without handlers is never claimed, so
# its jobs wait, durable, for a process that can run them.
HANDLERS: dict[str, dict[str, Callable[[AppState], Handler]]] = {}


def select_queues(requested: list[str] | None) -> list[str]:
    """The queues to work on; asking for a queue nobody handles is an error."""
    if not requested:
        return sorted(HANDLERS)
    unknown = [q for q in requested if q not in HANDLERS]
    if unknown:
        known = ", ".join(sorted(HANDLERS)) or "none yet"
        raise ValueError(f"--queue: no handlers for {', '.join(unknown)} (known: {known})")
    return list(dict.fromkeys(requested))


async def run_workers(state: AppState, queues: list[str], stop: asyncio.Event) -> None:
    """Run one worker per queue until `stop` is set."""
    if not queues:
        await stop.wait()
        return
    workers = [
        Worker(
            state.sessions,
            {kind: make(state) for kind, make in HANDLERS[queue].items()},
            [queue],
            wake=state.wake,
        )
        for queue in queues
    ]
    await asyncio.gather(*(w.run(stop) for w in workers))
