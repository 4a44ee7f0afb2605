"""Hand-written SQL for the message hot path (the writer's group commit).

Building model instances and compiling queries through the ORM cost more
than storing the messages: about 0.7 ms per batch and 50 µs per message,
against the database's own 10 µs (docs/PERFORMANCE.md). These statements
are plain SQL that SQLite and PostgreSQL both run, each bounded to stay
under SQLite's default limit of 999 parameters. Each takes the cursor it
runs on: Django's (`%s` placeholders as written) or the message writer's
own SQLite connection (`chat.message_store.inline`, which turns them into `?`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from ..access import ConversationRow
from ..models import Conversation, DeliveryStatus, Message

_ROWS_PER_INSERT = 120  # 8 parameters each
_KEYS_PER_LOOKUP = 300  # 3 parameters each
_IDS_PER_QUERY = 900
_COUNTS_PER_UPDATE = 300  # 3 parameters each
_COUNTS_WITH_FIRSTS = 160  # 6 parameters each where a first agent message is set
_COLUMNS = "conversation_id, sender, sender_agent_id, sender_name, text, client_id, created_at, status"


class MessageKey(NamedTuple):
    """What makes a resend the same message: at most one stored per key."""

    conversation_id: int
    sender: str
    client_id: str


@dataclass(slots=True)
class NewMessage:
    """A message row being inserted; what selectors.message_shape reads."""

    conversation_id: int
    sender: str
    sender_agent_id: int | None
    sender_name: str
    text: str
    client_id: str | None
    created_at: datetime
    status: int = DeliveryStatus.SENT
    id: int | None = None

    @property
    def key(self) -> MessageKey:
        return MessageKey(self.conversation_id, self.sender, self.client_id)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _table(model) -> str:
    # Double quotes name a table in SQLite and PostgreSQL alike.
    return f'"{model._meta.db_table}"'


def conversation_rows(cursor, ids: Iterable[int]) -> dict[int, ConversationRow]:
    """The access row of each conversation that exists, by id; locked until commit where rows lock.

    With several processes (PostgreSQL), two writers may store messages of
    one conversation at once: the customer's process and the agent's. Were
    the rows not locked before the messages are inserted, the one that
    drew the lower id could commit second, and a client resuming from the
    higher id (`last_message_id`) would never get it; the count read here
    could also let both pass CONVERSATION_MAX_MESSAGES. Locked in id order,
    so that two batches never wait on each other in a circle. SQLite has one
    writer at a time, and no row locks.
    """
    found = {}
    lock = " ORDER BY id FOR UPDATE" if _locks_rows(cursor) else ""
    for chunk in _chunks(sorted(ids), _IDS_PER_QUERY):
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            "SELECT id, status, agent_id, customer_id, message_count, first_agent_message_at IS NOT NULL"
            f" FROM {_table(Conversation)}"
            f" WHERE id IN ({marks}){lock}",
            chunk,
        )
        for row in cursor.fetchall():
            found[row[0]] = ConversationRow(*row)
    return found


def _locks_rows(cursor) -> bool:
    # Django's cursor knows its database; the writer's own SQLite connection
    # (chat.message_store.inline) is a plain sqlite3 cursor.
    database = getattr(cursor, "db", None)
    return database is not None and database.features.has_select_for_update


def message_ids_under(cursor, keys: Iterable[MessageKey]) -> list[int]:
    """Ids of messages stored under these (conversation, sender, client_id) keys.

    An OR of exact keys: each is one probe of the unique index, where
    `conversation_id IN (..) AND client_id IN (..)` would read every keyed
    message of each conversation, more with every message sent.
    """
    ids = []
    for chunk in _chunks(list(keys), _KEYS_PER_LOOKUP):
        where = " OR ".join(["(conversation_id = %s AND sender = %s AND client_id = %s)"] * len(chunk))
        cursor.execute(f"SELECT id FROM {_table(Message)} WHERE {where}", [v for key in chunk for v in key])
        ids += [row[0] for row in cursor.fetchall()]
    return ids


def insert_messages(cursor, rows: list[NewMessage], stamp: Callable[[datetime], object]) -> None:
    """Insert `rows` in their order and set their ids.

    `stamp` turns a timestamp into what the database stores. A row whose
    (conversation, sender, client_id) is already stored is skipped and keeps
    `id = None`: the caller returns the stored one.
    """
    # A batch shares one timestamp: adapt each distinct one once.
    stamps = {t: stamp(t) for t in {m.created_at for m in rows}}
    for chunk in _chunks(rows, _ROWS_PER_INSERT):
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
        params = []
        for m in chunk:
            params += (m.conversation_id, m.sender, m.sender_agent_id, m.sender_name, m.text)
            params += (m.client_id, stamps[m.created_at], m.status)
        cursor.execute(
            f"INSERT INTO {_table(Message)} ({_COLUMNS}) VALUES {values}"
            # The target names the partial unique index on client ids.
            " ON CONFLICT (conversation_id, sender, client_id) WHERE client_id IS NOT NULL DO NOTHING"
            " RETURNING id, conversation_id, sender, client_id",
            params,
        )
        returned = sorted(cursor.fetchall())
        # Plain tuples: a MessageKey is equal to (and hashes as) its tuple.
        stored = {(c, s, k) for _, c, s, k in returned if k is not None}
        # RETURNING may list rows in any order; one statement numbers its
        # rows in the order of VALUES, so the ids sorted are theirs.
        ids = iter(i for i, _, _, _ in returned)
        for m in chunk:
            if m.client_id is None or (m.conversation_id, m.sender, m.client_id) in stored:
                m.id = next(ids)


def count_messages(
    cursor, added: dict[int, int], firsts: dict[int, int] | None = None, at: object = None
) -> None:
    """Add `added[conversation_id]` to each conversation's message_count (one statement, usually).

    `firsts`: the conversations that get their first agent message in this
    batch (they had none: `ConversationRow.answered`), with its sender; it
    was stored at `at` (adapted for the database). Set in the same
    statement, and only where the conversation still has none: in an UPDATE,
    SQLite and PostgreSQL both read the row's old values in every SET
    expression (and PostgreSQL the latest committed row, once it waited for
    another writer's lock). A batch that gives no conversation its first
    agent message, which is nearly every batch, runs the plain count.
    """
    items = list(added.items())
    for chunk in _chunks(items, _COUNTS_WITH_FIRSTS if firsts else _COUNTS_PER_UPDATE):
        mine = {c: firsts[c] for c, _ in chunk if c in firsts} if firsts else None
        if len(chunk) == 1:
            ((conversation_id, count),) = chunk
            if not mine:
                cursor.execute(
                    f"UPDATE {_table(Conversation)} SET message_count = message_count + %s WHERE id = %s",
                    [count, conversation_id],
                )
                continue
            cursor.execute(
                f"UPDATE {_table(Conversation)} SET message_count = message_count + %s,"
                " first_agent_message_agent_id = CASE WHEN first_agent_message_at IS NULL THEN %s"
                " ELSE first_agent_message_agent_id END,"
                " first_agent_message_at = COALESCE(first_agent_message_at, %s)"
                " WHERE id = %s",
                [count, mine[conversation_id], at, conversation_id],
            )
            continue
        cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
        marks = ", ".join(["%s"] * len(chunk))
        params = [v for item in chunk for v in item]
        first_sets = ""
        if mine:
            # The other conversations of the chunk: the inner CASE is NULL,
            # and a conversation without a first agent message keeps none.
            first_sets = (
                ", first_agent_message_agent_id = CASE WHEN first_agent_message_at IS NULL"
                f" THEN CASE id {' '.join(['WHEN %s THEN %s'] * len(mine))} END"
                " ELSE first_agent_message_agent_id END,"
                " first_agent_message_at = COALESCE(first_agent_message_at,"
                f" CASE WHEN id IN ({', '.join(['%s'] * len(mine))}) THEN %s END)"
            )
            params += [v for item in mine.items() for v in item]
            params += [*mine, at]
        cursor.execute(
            f"UPDATE {_table(Conversation)} SET message_count = message_count + CASE id {cases} END"
            f"{first_sets} WHERE id IN ({marks})",
            params + [c for c, _ in chunk],
        )


def mark_delivered(cursor, ids: list[int]) -> None:
    """Messages the other side's socket was sent: `sent` becomes `delivered`."""
    for chunk in _chunks(ids, _IDS_PER_QUERY):
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            f"UPDATE {_table(Message)} SET status = %s WHERE status = %s AND id IN ({marks})",
            [int(DeliveryStatus.DELIVERED), int(DeliveryStatus.SENT), *chunk],
        )
