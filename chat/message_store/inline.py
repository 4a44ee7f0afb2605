"""The message writer's own SQLite connection, used on the event loop.

On SQLite the usual batch (mark delivered, look up the conversations, one
insert, commit) takes a few hundred microseconds of which the database's
own work is a fraction. Run on a worker thread, that batch waits for the
interpreter lock after every statement while the event loop holds it,
which made the tail of message latency (docs/PERFORMANCE.md). Here it runs
on the loop, on a connection of its own that never waits:

- `busy_timeout` is 0: if another connection holds the write lock, the
  batch is handed to the worker thread (Django's connection, which waits
  its turn) instead of blocking the loop;
- anything beyond the usual batch (a customer writing after the end, a
  client_id stored before) is rolled back and handed over the same way;
- a message whose recipient is connected is stored `delivered` at once
  (the writer sends it before anything else runs), so it is written once;
- the WAL is checkpointed by a thread of its own (`checkpoint`), never by a
  commit on the loop, since a checkpoint writes and syncs the database file.

Only for a file database: PostgreSQL keeps the worker thread (every
statement is a network round trip), and an in-memory test database is not
shared with a second connection.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection

from .batch import Outcome, Reaches, store_usual_batch
from .drafts import Draft

log = logging.getLogger(__name__)


def _stamp(value: datetime) -> str:
    # What Django's SQLite backend stores for an aware datetime: naive UTC text.
    return str(value.astimezone(UTC).replace(tzinfo=None))


class _QmarkCursor:
    """A sqlite3 cursor that takes `sql.py`'s `%s` placeholders."""

    __slots__ = ("_cursor", "_sql")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self._sql: dict[str, str] = {}

    def execute(self, sql: str, params) -> None:
        # sql.py's statements hold no other `%`: placeholders only.
        translated = self._sql.get(sql)
        if translated is None:
            translated = self._sql[sql] = sql.replace("%s", "?")
        self._cursor.execute(translated, params)

    def fetchall(self) -> list:
        return self._cursor.fetchall()


class InlineStore:
    def __init__(self, path: str) -> None:
        # Autocommit mode: the transaction is begun and ended explicitly.
        self._db = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        # Django's init_command PRAGMAs (cs_project/settings.py); WAL is the file's own.
        self._db.execute(f"PRAGMA synchronous={settings.SQLITE_SYNCHRONOUS}")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._cursor = _QmarkCursor(self._db.cursor())

    def write(
        self, drafts: list[Draft], delivered_ids: list[int], reaches: Reaches | None = None
    ) -> list[Outcome] | None:
        """Write the batch and return its outcomes, leaving the transaction to `commit`.

        None (nothing written, no transaction): the worker thread must store
        the batch. `reaches(sender, customer_id, agent_id)` says whether the
        recipient is connected: the caller sends the batch once committed.
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # locked by another writer
            return None
        try:
            outcomes = store_usual_batch(
                self._cursor, drafts=drafts, delivered_ids=delivered_ids, stamp=_stamp, reaches=reaches
            )
        except Exception:
            log.exception("writing a batch of %d messages on the loop failed", len(drafts))
            outcomes = None
        if outcomes is None:
            self.rollback()
        return outcomes

    def commit(self) -> None:
        """End the transaction `write` left open."""
        try:
            self._db.execute("COMMIT")
        except Exception:
            self.rollback()
            raise

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()


def open_for_this_database() -> InlineStore | None:
    """An InlineStore when the database is a SQLite file, else None."""
    # No connection is opened here: these only read the settings.
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return None
    return InlineStore(str(connection.settings_dict["NAME"]))


def checkpoint() -> None:
    """Copy the WAL into the database file without waiting for anyone (a worker thread's job)."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
