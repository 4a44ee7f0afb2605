"""The message writer: one task that stores messages in group commits.

Message events are handed to `submit` as their frame arrives, without
awaiting anything, so the queue holds messages in the order the server
received them. The writer takes everything queued and stores it in one
transaction: on SQLite, on the event loop itself with a connection of its
own (`chat.message_store.inline`); else, or when that connection would have to
wait, on the writer's database thread. Then, in id order, it sends each new
message to its recipients and acks it to its sender. So a message is stored
before anyone hears of it, the order of ids is the order of delivery, and a
burst from a thousand sockets costs one transaction instead of a thousand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from django.utils.translation import gettext_lazy as _

from . import outbox
from .batching import BatchQueue
from .errors import INTERNAL, OVERLOADED, ChatError
from .events import Event
from .message_store import Draft, Stored, inline, store_batch
from .realtime import connections, emit

log = logging.getLogger(__name__)

# Bounds one transaction; the rest waits for the next round.
MAX_BATCH = 500
# Seconds an idle writer waits before storing delivered marks alone.
FLUSH_DELIVERED_AFTER = 0.25
# Seconds between WAL checkpoints while batches are stored on the loop.
CHECKPOINT_EVERY = 1.0


@dataclass(slots=True)
class Reply:
    """How the writer answers a message event once it is stored or refused."""

    eio_sid: str
    namespace: str
    ack_id: int | None
    stored: Callable[[str, dict], None] | None = None

    async def send(self, sid: str, outcome, encoded: str | None = None) -> None:
        """Ack `outcome`; `encoded` is its message's JSON when already made (emit.encode)."""
        if isinstance(outcome, ChatError):
            if self.ack_id is not None:
                # One refusal may answer many sockets (a batch): each in its own language.
                answer = outcome.as_ack(connections.language(self.namespace, sid))
                await emit.ack(self.eio_sid, self.namespace, self.ack_id, answer)
            return
        if self.stored is not None:
            self.stored(sid, outcome.message)
        if self.ack_id is not None:
            await emit.ack_message(
                self.eio_sid, self.namespace, self.ack_id, encoded or emit.encode(outcome.message)
            )


@dataclass(slots=True)
class _Pending:
    draft: Draft
    sender_sid: str
    reply: Reply


class MessageWriter:
    def __init__(self) -> None:
        self._batches: BatchQueue[_Pending] = BatchQueue(
            self._handle,
            name="message writer",
            max_batch=MAX_BATCH,
            max_items=settings.MESSAGE_WRITER_MAX_QUEUE,
        )
        self._delivered: list[int] = []
        self._flush: asyncio.TimerHandle | None = None
        # A thread of its own: messages never wait behind slower services.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="message-writer")
        # The loop's own SQLite connection; None on another database.
        self._inline: inline.InlineStore | None = inline.open_for_this_database()
        # Checkpoints write and sync the database file: never ahead of a commit.
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-checkpoint")
        self._checkpoint: asyncio.Future | None = None
        self._checkpointed_at = 0.0

    def submit(self, draft: Draft, sender_sid: str, reply: Reply) -> None:
        """Queue a message: the writer sends `reply` once it is stored or refused.

        Not a coroutine, so nothing can overtake a message between its
        receipt and its place in the queue. Raises ChatError `overloaded`,
        with nothing queued, when the queue is full.
        """
        if not self._batches.put(_Pending(draft, sender_sid, reply)):
            raise ChatError(OVERLOADED, _("The server is overloaded; try again in a moment."))

    @property
    def idle(self) -> bool:
        """Every message received so far is stored and answered."""
        return self._batches.idle

    async def _handle(self, batch: list[_Pending]) -> None:
        """Store one batch (with the delivered marks gathered so far), then send it."""
        loop = asyncio.get_running_loop()
        delivered, self._delivered = self._delivered, []
        if not batch and not delivered:
            return
        drafts = [p.draft for p in batch]
        outcomes = self._store_inline(loop, drafts, delivered)
        if outcomes is not None:
            events = []
        else:
            try:
                outcomes, events = await loop.run_in_executor(self._executor, self._store, drafts, delivered)
            except Exception:
                log.exception("storing a batch of %d messages failed", len(batch))
                outcomes, events = await loop.run_in_executor(self._executor, self._store_one_by_one, drafts)
        # Storing the next batch only after this one is sent lets it grow
        # meanwhile: fewer, larger transactions. (Overlapping the two was
        # measured: more batches, 3-6 points more CPU, no better tail.)
        await self._send(batch, outcomes, events)
        if self._delivered and (self._flush is None or self._flush.when() <= loop.time()):
            # Delivered marks ride along with the next batch; when no batch
            # comes soon they are stored on their own.
            self._flush = loop.call_later(FLUSH_DELIVERED_AFTER, self._batches.kick)

    def _store_inline(self, loop: asyncio.AbstractEventLoop, drafts: list, delivered: list[int]):
        """The batch's outcomes, stored on the loop's own connection; None: use the thread.

        A recipient connected when the batch is written is sent it right after
        the commit, with nothing in between, so it is stored delivered (one
        write, not two). Committing on a worker thread instead was measured:
        the hand-over cost more than the commit (docs/PERFORMANCE.md).
        """
        if self._inline is None:
            return None
        outcomes = self._inline.write(drafts, delivered, emit.recipient_here)
        if outcomes is None:
            return None
        try:
            self._inline.commit()
        except Exception:
            log.exception("committing a batch of %d messages failed", len(drafts))
            return None
        self._checkpoint_soon(loop)
        return outcomes

    def _checkpoint_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start a WAL checkpoint on its own thread, at most one at a time, once a second."""
        now = time.monotonic()
        if now - self._checkpointed_at < CHECKPOINT_EVERY:
            return
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        self._checkpointed_at = now
        self._checkpoint = loop.run_in_executor(self._checkpointer, self._run_checkpoint)

    @staticmethod
    def _run_checkpoint() -> None:
        try:
            close_old_connections()
            inline.checkpoint()
        except Exception:
            log.exception("WAL checkpoint failed")

    @staticmethod
    def _store(drafts: list[Draft], delivered: list[int]) -> tuple[list, list[Event]]:
        close_old_connections()
        with outbox.collecting() as events:
            outcomes = store_batch(drafts=drafts, delivered_ids=delivered)
        return outcomes, list(events)

    @staticmethod
    def _store_one_by_one(drafts: list[Draft]) -> tuple[list, list[Event]]:
        # After a failed batch: isolate the message that failed it.
        outcomes: list = []
        with outbox.collecting() as events:
            for draft in drafts:
                try:
                    outcomes.extend(store_batch(drafts=[draft], delivered_ids=[]))
                except Exception:
                    log.exception("storing a message failed")
                    outcomes.append(ChatError(INTERNAL, _("The message could not be stored.")))
        return outcomes, list(events)

    async def _send(self, batch: list[_Pending], outcomes: list, events: list[Event]) -> None:
        # Conversations opened for this batch are announced before its messages.
        if events:
            try:
                await emit.dispatch(events)
            except Exception:
                log.exception("sending the events of a message batch failed")
        await self._deliver(batch, outcomes)

    async def _deliver(self, batch: list[_Pending], outcomes: list) -> None:
        for pending, outcome in zip(batch, outcomes, strict=True):
            encoded = None
            if isinstance(outcome, Stored) and outcome.new:
                encoded = emit.encode(outcome.message)
                try:
                    delivered = await emit.message_to_recipients(
                        outcome.message, outcome.customer_id, outcome.agent_id, pending.sender_sid, encoded
                    )
                except Exception:
                    log.exception("sending message %s failed", outcome.message["id"])
                    delivered = False
                if delivered and outcome.message["status"] == "sent":
                    # Stored before it was sent: marked with a later batch.
                    outcome.message = {**outcome.message, "status": "delivered"}
                    encoded = None
                    self._delivered.append(outcome.message["id"])
            try:
                await pending.reply.send(pending.sender_sid, outcome, encoded)
            except Exception:
                log.exception("acking a message failed")


_writer: MessageWriter | None = None


def writer() -> MessageWriter:
    global _writer
    if _writer is None:
        _writer = MessageWriter()
    return _writer
