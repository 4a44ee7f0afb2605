"""What the reports read from a conversation, kept by the running server as
messages arrive (SQLite and PostgreSQL): the customer's and agents' message
counts, the first agent message (when, and whose) and the transfers, each
checked against the messages stored."""

from __future__ import annotations

import asyncio

import pytest

from chat.tests.test_attachments_live import png_bytes, upload
from cs_project.testing.clients import agent, customer
from cs_project.testing.database import prepare_database
from cs_project.testing.server import base_env, launch
from cs_project.testing.services import fresh_postgres_database

pytestmark = pytest.mark.live

KEPT = (
    "SELECT message_count, first_agent_message_at, first_agent_message_agent_id,"
    " transfer_count FROM chat_conversation WHERE id = {p}"
)
# The definitions (docs/REPORTS.md), from the messages themselves.
DEFINED = """
SELECT
    (SELECT COUNT(*) FROM chat_message m WHERE m.conversation_id = c.id AND m.sender <> 'system'),
    (SELECT m.created_at FROM chat_message m WHERE m.conversation_id = c.id AND m.sender = 'agent'
     ORDER BY m.id LIMIT 1),
    (SELECT m.sender_agent_id FROM chat_message m WHERE m.conversation_id = c.id AND m.sender = 'agent'
     ORDER BY m.id LIMIT 1),
    (SELECT COUNT(*) FROM chat_message m WHERE m.conversation_id = c.id AND m.system_code = 'transferred')
FROM chat_conversation c WHERE c.id = {p}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, start_chat_server, tmp_path):
    """(server, read(sql with {p}, *params)): a server on either database, and its rows."""
    if request.param == "sqlite":
        server = start_chat_server()
        yield server, lambda sql, *params: server.query(sql.format(p="?"), params)
        return
    psycopg = pytest.importorskip("psycopg")
    with fresh_postgres_database() as (url, _name):
        server = None
        try:
            env = {**base_env(tmp_path / "unused.sqlite3"), "DATABASE_URL": url}
            server = launch(env, prepare_database(env), tmp_path)

            def read(sql, *params):
                with psycopg.connect(url) as db:
                    return db.execute(sql.format(p="%s"), params).fetchall()

            yield server, read
        finally:
            if server is not None:
                server.stop()


def kept(read, conversation_id: int) -> tuple:
    """The conversation's kept figures, which must be those its messages define."""
    (row,) = read(KEPT, conversation_id)
    assert row == read(DEFINED, conversation_id)[0], (row, read(DEFINED, conversation_id))
    return row


async def test_the_server_keeps_what_the_reports_read(served):
    server, read = served
    ann, _ = await agent(server, "ann")
    ben, _ = await agent(server, "ben", status="busy")  # takes transfers only
    ann_id, ben_id = server.agents["ann"]["id"], server.agents["ben"]["id"]
    carla, join = await customer(server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conversation_id)
    assert kept(read, conversation_id) == (0, None, None, 0)  # the joined note is not counted

    assert (await carla.call("customer:message", {"text": "hello", "client_id": "c-1"}))["ok"]
    _, body = await upload(server, "screen.png", png_bytes(), token=join["token"])
    sent = await carla.call(
        "customer:message", {"text": "", "client_id": "c-2", "attachment_id": body["attachment"]["id"]}
    )
    assert sent["ok"], sent
    assert kept(read, conversation_id) == (2, None, None, 0)

    say = {"conversation_id": conversation_id, "text": "hi, I'm Ann", "client_id": "a-1"}
    first = await ann.call("agent:message", say)
    assert first["ok"], first
    first_at = kept(read, conversation_id)[1]
    assert kept(read, conversation_id) == (3, first_at, ann_id, 0) and first_at is not None

    # A resend of the first agent message is the same message: nothing changes.
    again = await ann.call("agent:message", say)
    assert again["message"]["id"] == first["message"]["id"]
    assert kept(read, conversation_id) == (3, first_at, ann_id, 0)

    # Both sides at once (batches that mix them), resends among them.
    calls = [
        *(ann.call("agent:message", {**say, "text": f"a{i}", "client_id": f"a-{i % 4}"}) for i in range(8)),
        *(carla.call("customer:message", {"text": f"c{i}", "client_id": f"c-{i % 5}"}) for i in range(8)),
    ]
    acks = await asyncio.gather(*calls)
    assert all(a["ok"] for a in acks), acks
    # New keys: a-0, a-2, a-3 and c-0, c-3, c-4; the others are resends.
    assert kept(read, conversation_id) == (9, first_at, ann_id, 0)

    moved = await ann.call("session:transfer", {"conversation_id": conversation_id, "to_agent_id": ben_id})
    assert moved["ok"], moved
    reply = await ben.call("agent:message", {"conversation_id": conversation_id, "text": "Ben here"})
    assert reply["ok"], reply
    # Still Ann's first response; Ben's message is counted, the transfer too.
    assert kept(read, conversation_id) == (10, first_at, ann_id, 1)
    for client in (ann, ben, carla):
        await client.disconnect()
