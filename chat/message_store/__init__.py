"""The message store: chat messages written in batches (group commits).

The message writer (`chat.message_writer`) hands each batch of `Draft`s to
one of two functions and gets back one outcome per draft, in order: a
`Stored` message (new, or the one stored earlier under the same client_id)
or the `ChatError` that refused it.

- `store_usual_batch(cursor, ...)` (`batch.py`): the usual batch in four
  statements on a cursor the caller holds, in the caller's transaction. On
  SQLite it runs on the event loop itself, on the writer's own connection
  (`inline.py`). It returns None, having maybe written part of the batch
  (the caller rolls back), when the batch needs more than the usual: a
  customer writing after the end, a client_id stored before, or an
  attachment (`attachments.py`).
- `store_batch(...)` (`batch.py`): every batch, in its own transaction on
  Django's connection, on the writer's worker thread.

Invariants of the loop path (`store_usual_batch` and everything it calls,
`sql.py` and `inline.py`), which keep the event loop from ever waiting:

1. No ORM and no Django database connection: plain SQL (`sql.py`) on the
   cursor it is given. A query through a model would open Django's
   connection on the loop's thread and block the loop on it.
2. No `outbox.record()`: nothing it does is announced as an outbox event;
   the writer itself sends each stored message after the commit. (Opening
   a conversation, which is announced, is left to `store_batch`.)
3. No waiting for a lock: the inline connection has `busy_timeout` 0 and
   hands a locked batch to the worker thread.
4. Access is decided by `chat.access` on the rows read in the same
   transaction, so a message is refused or stored against the truth.

Stored before acknowledged: the writer acks and sends only what committed.
"""

from .batch import store_batch, store_usual_batch
from .drafts import Draft, Stored

__all__ = ["Draft", "Stored", "store_batch", "store_usual_batch"]
