"""The message writer's and the join batcher's queues are bounded: past them
an event is answered `overloaded`, and nothing is stored for it.

The servers here run with a queue of one: whatever arrives while a batch is
being stored and one item already waits is refused. A flood from real
clients then gets some `overloaded` answers, and the database holds exactly
the accepted messages and customers, each once.
"""

from __future__ import annotations

import asyncio

import pytest

from cs_project.testing.clients import Client, agent, burst, customer

pytestmark = pytest.mark.live

FLOOD = 300


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_message_flood_past_the_writer_queue_is_answered_overloaded(start_chat_server, server):
    # A burst from one socket past the writer's queue: about that queue, not
    # about the per-socket event limit (test_limits_live.py), raised here.
    chat_server = start_chat_server(
        server=server,
        MESSAGE_WRITER_MAX_QUEUE=1,
        LIMIT_CUSTOMER_EVENTS_BURST="1000",
        CUSTOMER_RATE_BURST="1000",
    )
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new")

    payloads = [{"text": f"m{i}", "client_id": f"f-{i}"} for i in range(FLOOD)]
    acks = await burst(carla, "customer:message", payloads)

    accepted = [p["client_id"] for p, a in zip(payloads, acks, strict=True) if a["ok"]]
    refused = [a for a in acks if not a["ok"]]
    assert refused, "no message was refused: the queue was never full"
    assert accepted, "every message was refused"
    assert {a["error"]["code"] for a in refused} == {"overloaded"}
    assert all(a["error"]["message"] for a in refused)
    stored = chat_server.query(
        "select client_id from chat_message where conversation_id=? and sender='customer' order by id",
        (conversation_id,),
    )
    # Exactly the accepted ones, once each, in the order they were sent.
    assert [row[0] for row in stored] == accepted
    await ann.wait_for("customer:message", count=len(accepted))

    # Once the flood is over, the next message is stored as usual.
    again = await carla.call("customer:message", {"text": "after", "client_id": "after-1"})
    assert again["ok"], again
    for c in (ann, carla):
        await c.disconnect()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_join_flood_past_the_join_batcher_queue_is_answered_overloaded(start_chat_server, server):
    chat_server = start_chat_server(server=server, JOIN_BATCHER_MAX_QUEUE=1)
    before = chat_server.scalar("select count(*) from customers_customer")
    visitors = await asyncio.gather(*(Client(chat_server, "/customer").connect() for _ in range(40)))
    acks = await asyncio.gather(*(v.call("customer:join", {"name": f"V{i}"}) for i, v in enumerate(visitors)))

    accepted = [a for a in acks if a["ok"]]
    refused = [a for a in acks if not a["ok"]]
    assert refused, "no join was refused: the queue was never full"
    assert accepted, "every join was refused"
    assert {a["error"]["code"] for a in refused} == {"overloaded"}
    # A customer and a conversation for each accepted join, none for the others.
    assert chat_server.scalar("select count(*) from customers_customer") - before == len(accepted)
    ids = sorted(a["customer"]["id"] for a in accepted)
    rows = chat_server.query("select customer_id from chat_conversation order by customer_id")
    assert sorted(r[0] for r in rows if r[0] in set(ids)) == ids

    # A refused visitor joins once the flood is over.
    retry = visitors[next(i for i, a in enumerate(acks) if not a["ok"])]
    again = await retry.call("customer:join", {"name": "Again"})
    assert again["ok"], again
    for v in visitors:
        await v.disconnect()
