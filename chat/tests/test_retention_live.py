"""A server's sweeper deletes what is older than RETENTION_DAYS, by itself.

The old rows are written straight into the server's database, as a year's
history would have left them; the server is started with a retention of
half a day and a short pass interval.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cs_project.testing.clients import customer
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live


def stamp(hours_ago: float) -> str:
    """A time as Django's SQLite backend stores it (naive UTC text)."""
    return str((datetime.now(UTC) - timedelta(hours=hours_ago)).replace(tzinfo=None))


def add_customer(server: LiveServer, hours_ago: float) -> int:
    server.query(
        "insert into customers_customer (name, email, created_at, last_seen_at, token_key)"
        " values ('Old', '', ?, ?, 'k')",
        (stamp(hours_ago), stamp(hours_ago)),
    )
    return server.scalar("select max(id) from customers_customer")


def add_conversation(server: LiveServer, customer_id: int, status: str, ended_hours_ago=None) -> int:
    server.query(
        "insert into chat_conversation (customer_id, status, created_at, queue_order, ended_at)"
        " values (?, ?, ?, ?, ?)",
        (
            customer_id,
            status,
            stamp(48),
            customer_id if status == "queued" else None,
            None if ended_hours_ago is None else stamp(ended_hours_ago),
        ),
    )
    conversation_id = server.scalar("select max(id) from chat_conversation")
    server.query(
        "insert into chat_message (conversation_id, sender, sender_name, text, created_at, status)"
        " values (?, 'customer', 'Old', 'hello', ?, 0)",
        (conversation_id, stamp(48)),
    )
    return conversation_id


def exists(server: LiveServer, table: str, row_id: int) -> bool:
    return bool(server.query(f"select 1 from {table} where id = ?", (row_id,)))


def messages_of(server: LiveServer, conversation_id: int) -> int:
    return server.scalar("select count(*) from chat_message where conversation_id = ?", (conversation_id,))


async def test_the_sweeper_deletes_old_ended_conversations_and_keeps_the_rest(start_chat_server):
    # Idle customers are never closed here: the old queued conversation stays queued.
    server = start_chat_server(
        RETENTION_DAYS="0.5", RETENTION_INTERVAL_SECONDS="0.2", CUSTOMER_IDLE_SECONDS="1e9"
    )
    gone_customer = add_customer(server, 48)
    gone = add_conversation(server, gone_customer, "ended", ended_hours_ago=24)
    recent_customer = add_customer(server, 48)
    recent = add_conversation(server, recent_customer, "ended", ended_hours_ago=1)
    waiting_customer = add_customer(server, 48)
    waiting = add_conversation(server, waiting_customer, "queued")

    # The first socket starts the server's background tasks, the sweeper among them.
    client, ack = await customer(server, "Here")
    try:
        await eventually(
            lambda: not exists(server, "chat_conversation", gone),
            what="the old ended conversation deleted",
        )
        assert messages_of(server, gone) == 0
        assert not exists(server, "customers_customer", gone_customer)
        for kept in (recent, waiting):
            assert exists(server, "chat_conversation", kept) and messages_of(server, kept) == 1
        assert server.scalar("select status from chat_conversation where id = ?", (waiting,)) == "queued"
        for kept in (recent_customer, waiting_customer):
            assert exists(server, "customers_customer", kept)

        # A connected customer keeps its row, even with nothing left and old:
        # its conversation is made old and ended behind the server's back.
        mine, me = ack["conversation"]["id"], ack["customer"]["id"]
        server.query(
            "update chat_conversation set status = 'ended', queue_order = null, ended_at = ? where id = ?",
            (stamp(24), mine),
        )
        server.query(
            "update customers_customer set created_at = ?, last_seen_at = ? where id = ?",
            (stamp(48), stamp(48), me),
        )
        await eventually(
            lambda: not exists(server, "chat_conversation", mine),
            what="the connected customer's old conversation deleted",
        )
        assert exists(server, "customers_customer", me)
    finally:
        await client.disconnect()
