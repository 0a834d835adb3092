"""Background workers: which job kinds each queue runs, and the loops that run them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fediverse.state import AppState
from models.queue import BatchHandler, Worker

Handler = Callable[[dict[str, Any], Any], Awaitable[None]]


def _inbox(state: AppState) -> dict[str, Handler]:
    from inbox.apply import make_inbox_handler

    return {"activity": make_inbox_handler(state.federation)}


def _inbox_batches(state: AppState) -> dict[str, BatchHandler]:
    from inbox.batch import make_inbox_batch_handler

    return {"activity": make_inbox_batch_handler(state.federation)}


def _deliver(state: AppState) -> dict[str, Handler]:
    from fediverse.api.scheduled_statuses import scheduled_handlers
    from outbox.deliver import make_delivery_handlers

    return make_delivery_handlers(state.federation) | scheduled_handlers(state)


def _generate(state: AppState) -> dict[str, Handler]:
    from fediverse.generation.worker import make_generation_handlers

    return make_generation_handlers(state)


def _generate_batches(state: AppState) -> dict[str, BatchHandler]:
    from fediverse.generation.worker import make_generation_batches

    return make_generation_batches(state)


def _media(state: AppState) -> dict[str, Handler]:
    from fediverse.media.jobs import make_media_handlers

    return make_media_handlers(state)


def _push(state: AppState) -> dict[str, Handler]:
    from fediverse.push.jobs import make_push_handlers

    return make_push_handlers(state)


# queue -> the job kinds it runs, given the process's state. A queue nobody handles is
# never claimed, so its jobs wait, durable, for a process that can run them.
QUEUES: dict[str, Callable[[AppState], dict[str, Handler]]] = {
    "inbox": _inbox,
    "deliver": _deliver,
    "generate": _generate,
    "media": _media,  # uploads whose process died before processing them
    "push": _push,  # Web Push notifications
}
# queue -> the job kinds it runs many at a time (`models.queue.BatchHandler`), and how many
BATCHES: dict[str, Callable[[AppState], dict[str, BatchHandler]]] = {
    "inbox": _inbox_batches,
    "generate": _generate_batches,
}
BATCH_SIZE = {"generate": 16, "inbox": 100}
# queue -> seconds between claims once the queue is empty: a busy inbox is applied in
# batches of tens, not one activity at a time (each batch costs a few queries)
LINGER = {"inbox": 0.05}
# how many jobs (or batches) of a queue one process runs at once: deliveries wait on other
# servers; one pipeline renders one batch at a time; inbox batches mostly wait for the one
# database writer, fewer and bigger ones cost less
CONCURRENCY = {"inbox": 2, "deliver": 64, "generate": 1, "media": 2, "push": 16}


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
            QUEUES[queue](state),
            [queue],
            concurrency=CONCURRENCY.get(queue, 4),
            wake=state.wake,
            batches=BATCHES[queue](state) if queue in BATCHES else None,
            batch_size=BATCH_SIZE.get(queue, 100),
            linger=LINGER.get(queue, 0.0),
        )
        for queue in queues
    ]
    tasks = [w.run(stop) for w in workers]
    if "deliver" in queues:  # finished deliveries are folded away now and then
        from outbox.prune import prune_loop

        tasks.append(prune_loop(state.sessions, stop))
    await asyncio.gather(*tasks)
