"""New customers' first joins, placed in batches.

A storm of visitors (a campaign email, a page in the news) arrives as
hundreds of `customer:join` a second. Each handler hands its start to
`submit`; one task takes everything waiting, places it with one call of
`services.customers_start` (one transaction), sends the events, and then
resolves each handler's future. Starts are placed in the order submitted.
"""

from __future__ import annotations

import asyncio
import logging

from . import actions, services
from .errors import INTERNAL, ChatError

log = logging.getLogger(__name__)

# Bounds one transaction; the rest waits for the next round.
MAX_BATCH = 500


class StartBatcher:
    def __init__(self) -> None:
        self._queue: list[tuple[services.Start, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    def submit(self, start: services.Start) -> asyncio.Future:
        """Queue a start; the future resolves to a services.JoinResult."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((start, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return future

    async def _run(self) -> None:
        # While one batch is in the database the next one gathers.
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                results = await actions.run(services.customers_start, starts=[s for s, _ in batch])
            except Exception as exc:
                log.exception("placing %d new customers failed", len(batch))
                error = exc if isinstance(exc, ChatError) else ChatError(INTERNAL, "Could not start a chat.")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # the handler was cancelled
                    future.set_result(result)


_batcher: StartBatcher | None = None


def batcher() -> StartBatcher:
    global _batcher
    if _batcher is None:
        _batcher = StartBatcher()
    return _batcher
