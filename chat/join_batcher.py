"""New customers' first joins, placed in batches.

A storm of visitors (a campaign email, a page in the news) arrives as
hundreds of `customer:join` a second. Each handler hands its start to
`submit`; one batch (`chat.batching`) takes everything waiting, places it
with one call of `services.joins.customers_start` (one transaction), sends
the events, and then resolves each handler's future. Starts are placed in
the order submitted.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import actions
from .batching import BatchQueue
from .errors import INTERNAL, OVERLOADED, ChatError
from .services.joins import JoinResult, Start, customers_start

log = logging.getLogger(__name__)

# Bounds one transaction; the rest waits for the next round.
MAX_BATCH = 500


async def _place(batch: list[tuple[Start, asyncio.Future]]) -> None:
    try:
        results = await actions.run(customers_start, starts=[s for s, _ in batch])
    except Exception as exc:
        log.exception("placing %d new customers failed", len(batch))
        error = exc if isinstance(exc, ChatError) else ChatError(INTERNAL, _("Could not start a chat."))
        for _start, future in batch:
            if not future.done():
                future.set_exception(error)
        return
    for (_start, future), result in zip(batch, results, strict=True):
        if not future.done():  # the handler was cancelled
            future.set_result(result)


_starts: BatchQueue[tuple[Start, asyncio.Future]] | None = None


def submit(start: Start) -> asyncio.Future[JoinResult]:
    """Queue a start; the future resolves to its JoinResult (or the ChatError).

    Raises ChatError `overloaded`, with nothing queued, when the queue is full.
    """
    global _starts
    if _starts is None:
        _starts = BatchQueue(
            _place, name="start batcher", max_batch=MAX_BATCH, max_items=settings.JOIN_BATCHER_MAX_QUEUE
        )
    future = asyncio.get_running_loop().create_future()
    if not _starts.put((start, future)):
        raise ChatError(OVERLOADED, _("The server is overloaded; try again in a moment."))
    return future
