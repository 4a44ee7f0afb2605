"""The message writer's own SQLite connection, on a real database file.

Each test works on a fresh copy of the migrated template database, writes
the conversations it needs with plain SQL and checks the rows themselves.
"""

from __future__ import annotations

import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from chat.message_store import Draft, Stored
from chat.message_store.inline import InlineStore

NOW = "2026-11-25 10:00:00"


@pytest.fixture
def db(server_template, tmp_path):
    template, agents = server_template
    path = tmp_path / "db.sqlite3"
    shutil.copy(template, path)
    conn = sqlite3.connect(path, isolation_level=None)
    store = InlineStore(str(path))
    yield conn, store, agents
    store.close()
    conn.close()


def _store(store: InlineStore, *args, **kwargs):
    """Write, then commit (the writer commits on the loop; any thread may)."""
    outcomes = store.write(*args, **kwargs)
    if outcomes is not None:
        with ThreadPoolExecutor(1) as thread:
            thread.submit(store.commit).result()
    return outcomes


def _customer_with_conversation(conn, status: str, agent_id: int | None = None) -> tuple[int, int]:
    customer = conn.execute(
        "INSERT INTO customers_customer (name, email, created_at, token_key) VALUES ('Vi', '', ?, 'k')",
        (NOW,),
    ).lastrowid
    conversation = conn.execute(
        "INSERT INTO chat_conversation (status, created_at, agent_id, customer_id) VALUES (?, ?, ?, ?)",
        (status, NOW, agent_id, customer),
    ).lastrowid
    return customer, conversation


def _draft(conversation: int, customer: int, text: str, client_id: str | None = None) -> Draft:
    return Draft(conversation, "customer", "Vi", text, client_id, customer_id=customer)


def _rows(conn) -> list[tuple]:
    return conn.execute(
        "SELECT id, conversation_id, sender, text, client_id, status FROM chat_message ORDER BY id"
    ).fetchall()


def test_the_usual_batch_is_stored_in_order_with_delivered_marks(db):
    conn, store, agents = db
    ann = agents["ann"]["id"]
    customer, conversation = _customer_with_conversation(conn, "active", ann)
    first = _store(store, [_draft(conversation, customer, "one", "c-1")], [])
    assert [type(o) for o in first] == [Stored]
    assert first[0].message["status"] == "sent" and first[0].new

    agent_draft = Draft(conversation, "agent", "Ann", "two", "a-1", agent_id=ann)
    outcomes = _store(
        store,
        [
            _draft(conversation, customer, "three", None),
            agent_draft,
            _draft(conversation, customer, "three", "c-3"),
            _draft(conversation, customer, "three", "c-3"),  # a resend within the batch
        ],
        [first[0].message["id"]],
        # The customer is connected; the agent is not.
        reaches=lambda sender, customer_id, agent_id: sender == "agent" and customer_id == customer,
    )
    ids = [o.message["id"] for o in outcomes]
    assert ids[0] < ids[1] < ids[2] == ids[3]  # the resend returns the one stored
    assert [o.new for o in outcomes] == [True, True, True, False]
    assert [o.message["status"] for o in outcomes] == ["sent", "delivered", "sent", "sent"]
    assert (outcomes[0].customer_id, outcomes[0].agent_id) == (customer, ann)
    assert _rows(conn) == [
        (first[0].message["id"], conversation, "customer", "one", "c-1", 1),  # marked delivered
        (ids[0], conversation, "customer", "three", None, 0),
        (ids[1], conversation, "agent", "two", "a-1", 1),  # stored delivered
        (ids[2], conversation, "customer", "three", "c-3", 0),
    ]
    stamp = conn.execute("SELECT created_at FROM chat_message WHERE id = ?", (ids[0],)).fetchone()[0]
    # Naive UTC text, as Django's SQLite backend stores an aware datetime.
    written = datetime.fromisoformat(stamp)
    assert written.tzinfo is None
    assert abs(written - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=5)


def test_refusals_are_answered_without_the_thread(db):
    conn, store, _ = db
    customer, conversation = _customer_with_conversation(conn, "queued")
    other, _ = _customer_with_conversation(conn, "queued")
    outcomes = _store(
        store, [_draft(conversation, other, "not mine"), _draft(999_999, customer, "nowhere")], []
    )
    assert [o.code for o in outcomes] == ["forbidden", "not_found"]
    assert _rows(conn) == []


@pytest.mark.parametrize("case", ["client_id stored before", "customer writes after the end"])
def test_a_batch_beyond_the_usual_is_handed_over_and_nothing_is_written(db, case):
    conn, store, _ = db
    customer, conversation = _customer_with_conversation(conn, "queued")
    stored = _store(store, [_draft(conversation, customer, "one", "c-1")], [])[0].message["id"]
    if case == "client_id stored before":
        # A resend arriving in a later batch: the stored message must be read back.
        batch = [_draft(conversation, customer, "two", "c-2"), _draft(conversation, customer, "one", "c-1")]
    else:
        conn.execute("UPDATE chat_conversation SET status = 'ended' WHERE id = ?", (conversation,))
        batch = [_draft(conversation, customer, "two", "c-2")]
    assert _store(store, batch, [stored]) is None
    assert _rows(conn) == [(stored, conversation, "customer", "one", "c-1", 0)]  # not even the mark


def test_a_locked_database_hands_the_batch_over_at_once(db):
    conn, store, _ = db
    customer, conversation = _customer_with_conversation(conn, "queued")
    conn.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        assert _store(store, [_draft(conversation, customer, "one")], []) is None
    finally:
        conn.execute("ROLLBACK")
    assert [o.message["text"] for o in _store(store, [_draft(conversation, customer, "one")], [])] == ["one"]


# --- what the reports read: counts and the first agent message ---------------------------

# The definitions (docs/REPORTS.md), read from the messages themselves.
DEFINED = """
SELECT
    (SELECT COUNT(*) FROM chat_message m WHERE m.conversation_id = c.id AND m.sender <> 'system'),
    (SELECT m.created_at FROM chat_message m WHERE m.conversation_id = c.id AND m.sender = 'agent'
     ORDER BY m.id LIMIT 1),
    (SELECT m.sender_agent_id FROM chat_message m WHERE m.conversation_id = c.id AND m.sender = 'agent'
     ORDER BY m.id LIMIT 1)
FROM chat_conversation c WHERE c.id = ?
"""
KEPT = (
    "SELECT message_count, first_agent_message_at, first_agent_message_agent_id"
    " FROM chat_conversation WHERE id = ?"
)


def _kept(conn, conversation: int) -> tuple:
    """What the writer keeps on the conversation, checked against the messages."""
    kept = conn.execute(KEPT, (conversation,)).fetchone()
    assert kept == conn.execute(DEFINED, (conversation,)).fetchone()
    return kept


def _agent_draft(conversation: int, agent: int, text: str, client_id: str | None = None) -> Draft:
    return Draft(conversation, "agent", "Ann", text, client_id, agent_id=agent)


def test_the_writer_keeps_the_counts_and_the_first_agent_message(db):
    conn, store, agents = db
    ann, ben = agents["ann"]["id"], agents["ben"]["id"]
    carla, one = _customer_with_conversation(conn, "active", ann)
    dan, two = _customer_with_conversation(conn, "active", ann)
    eve, three = _customer_with_conversation(conn, "active", ann)

    # One conversation, customers only: the plain count.
    _store(store, [_draft(one, carla, "hello", "c-1"), _draft(one, carla, "anyone?", "c-2")], [])
    assert _kept(conn, one) == (2, None, None)

    # One conversation, its first agent messages (two in the batch: the first counts).
    batch = [_agent_draft(one, ann, "hi", "a-1"), _agent_draft(one, ann, "how can I help?")]
    first = _store(store, batch, [])[0].message["id"]
    (at,) = conn.execute("SELECT created_at FROM chat_message WHERE id = ?", (first,)).fetchone()
    assert _kept(conn, one) == (4, at, ann)

    # A resend of the first agent message in a later batch is the worker
    # thread's (the stored one is read back): nothing is written here.
    assert _store(store, [_agent_draft(one, ann, "again"), _agent_draft(one, ann, "hi", "a-1")], []) is None
    assert _kept(conn, one) == (4, at, ann)

    # Several conversations in one batch: one gets its first agent message, one
    # more agent messages (its first stays), one customer messages only.
    conn.execute("UPDATE chat_conversation SET agent_id = ? WHERE id = ?", (ben, one))  # a transfer
    _store(
        store,
        [
            _draft(two, dan, "hello"),
            _agent_draft(one, ben, "Ben here", "b-1"),
            _agent_draft(two, ann, "hi Dan"),
            _draft(three, eve, "hello"),
            _agent_draft(two, ann, "one moment"),
            _draft(one, carla, "thanks", "c-3"),
            _agent_draft(one, ben, "Ben here", "b-1"),  # a resend within the batch
        ],
        [],
    )
    assert _kept(conn, one) == (6, at, ann)  # still Ann's, who answered first
    assert _kept(conn, two)[0] == 3 and _kept(conn, two)[2] == ann
    assert _kept(conn, three) == (1, None, None)


def test_a_batch_of_many_conversations_keeps_each_ones_first_agent_message(db):
    """More conversations than one UPDATE takes (its parameters are bounded)."""
    conn, store, agents = db
    ann = agents["ann"]["id"]
    pairs = [_customer_with_conversation(conn, "active", ann) for _ in range(250)]
    drafts = []
    for n, (customer, conversation) in enumerate(pairs):
        drafts.append(_draft(conversation, customer, "hello"))
        if n % 3:
            drafts.append(_agent_draft(conversation, ann, "hi"))
    _store(store, drafts, [])
    for n, (_customer, conversation) in enumerate(pairs):
        kept = _kept(conn, conversation)
        assert kept[0] == (2 if n % 3 else 1)
        assert (kept[2] == ann) == bool(n % 3)
