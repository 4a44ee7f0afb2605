"""Queue now, handle in batches: the pattern of the message writer, the start
batcher and the queue refresh.

Items are put without awaiting anything, so they keep the order they
arrived in. One task takes everything queued (up to `max_batch`) and awaits
`handle(batch)`; whatever arrived meanwhile is the next batch. Under load
the batches grow by themselves, and one transaction or one refresh serves
many requests; when nothing is queued the task waits for the next `put`.

A queue may be bounded (`max_items`): past it `put` refuses the item
(returns False) and the caller answers `overloaded`, so a flood that the
handler cannot keep up with costs a refusal each, not memory.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BatchQueue(Generic[T]):
    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[None]],
        *,
        name: str,
        max_batch: int = 0,
        max_items: int = 0,
    ) -> None:
        """`handle` is a coroutine function; `max_batch` 0 takes everything queued.

        `max_items` bounds what waits for a round (0: unbounded); the batch
        being handled is not counted.
        """
        self._handle = handle
        self._name = name
        self._max_batch = max_batch
        self._max_items = max_items
        self._items: list[T] = []
        self._kicked = False
        # One task for the life of the queue, woken by an event: a task made
        # per wake-up cost more, at a wake-up every batch or two under load.
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._handling = False

    def put(self, item: T) -> bool:
        """Queue an item (not a coroutine: nothing can overtake it on its way in).

        False, and nothing queued, when the queue is full.
        """
        if self._max_items and len(self._items) >= self._max_items:
            return False
        self._items.append(item)
        self._wake()
        return True

    def kick(self) -> None:
        """Run one round even with nothing queued (`handle` gets an empty batch)."""
        self._kicked = True
        self._wake()

    def _wake(self) -> None:
        self._wakeup.set()
        if self._task is None or self._task.done():
            # A context of its own: the first put may come from a sync view's
            # async_to_sync (an admin action), whose context names an executor
            # that is gone once the view returns; the task outlives it.
            self._task = asyncio.get_running_loop().create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        while True:
            if not self._items and not self._kicked:
                self._wakeup.clear()
                await self._wakeup.wait()
            self._kicked = False
            if self._max_batch:
                batch, self._items = self._items[: self._max_batch], self._items[self._max_batch :]
            else:
                batch, self._items = self._items, []
            self._handling = True
            try:
                await self._handle(batch)
            except Exception:  # the handler answers its items itself; this is the last resort
                log.exception("%s: handling a batch of %d failed", self._name, len(batch))
            finally:
                self._handling = False

    @property
    def idle(self) -> bool:
        """Nothing queued and no batch being handled (a server draining waits for this)."""
        return not self._items and not self._handling
