"""Messages: order under bursts, resume after reconnect, idempotency, transports."""

import asyncio

import pytest

from .live import Client, agent, customer

pytestmark = pytest.mark.live


def stored(server, conversation_id: int, sender: str) -> list[tuple]:
    return server.query(
        "select id, text, client_id from chat_message where conversation_id=? and sender=? order by id",
        (conversation_id, sender),
    )


async def test_reconnect_resumes_with_nothing_lost_and_nothing_doubled(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    token, conversation_id = join["token"], join["conversation"]["id"]
    first = await carla.call("customer:message", {"text": "one", "client_id": "c-1"})
    reply = await ann.call("agent:message", {"conversation_id": conversation_id, "text": "reply one"})
    seen = await carla.wait_for("agent:message", lambda m: m["id"] == reply["message"]["id"])
    joined_seen = chat_server.scalar("select last_seen_at from customers_customer")
    await carla.disconnect()
    # The server has noticed once it records when the customer was last seen.
    for _ in range(100):
        if chat_server.scalar("select last_seen_at from customers_customer") != joined_seen:
            break
        await asyncio.sleep(0.05)

    # While the customer is away the agent writes twice; those stay "sent".
    missed = []
    for text in ("while away 1", "while away 2"):
        ack = await ann.call("agent:message", {"conversation_id": conversation_id, "text": text})
        assert ack["ok"] and ack["message"]["status"] == "sent"
        missed.append(ack["message"])

    back = await Client(chat_server, "/customer").connect(auth={"token": token})
    resumed = await back.call("customer:join", {"token": token, "last_message_id": seen["id"]})
    assert resumed["ok"]
    assert resumed["customer"]["id"] == join["customer"]["id"]
    assert resumed["conversation"]["id"] == conversation_id
    assert [m["id"] for m in resumed["messages"]] == [m["id"] for m in missed]
    status = await ann.wait_for("message:status", lambda s: s["status"] == "delivered")
    assert status == {"conversation_id": conversation_id, "up_to_id": missed[-1]["id"], "status": "delivered"}

    # The customer never saw its first ack (say): it resends with the same client_id.
    again = await back.call("customer:message", {"text": "one", "client_id": "c-1"})
    assert again["ok"] and again["message"]["id"] == first["message"]["id"]
    await asyncio.sleep(0.2)
    assert len([m for m in ann.of("customer:message") if m.get("client_id") == "c-1"]) == 1
    assert stored(chat_server, conversation_id, "customer") == [(first["message"]["id"], "one", "c-1")]

    # Without last_message_id: the whole conversation, in id order.
    full = await back.call("customer:join", {"token": token})
    ids = [m["id"] for m in full["messages"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert chat_server.scalar(
        "select count(*) from chat_message where conversation_id=?", (conversation_id,)
    ) == len(ids)
    assert chat_server.scalar("select count(*) from chat_conversation") == 1
    for c in (ann, back):
        await c.disconnect()


async def test_messages_sent_before_join_on_a_token_socket_are_accepted(chat_server):
    """socket.io-client flushes buffered emits on reconnect before any join."""
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    await carla.disconnect()
    back = await Client(chat_server, "/customer").connect(auth={"token": join["token"]})
    sent = await back.call("customer:message", {"text": "buffered while offline", "client_id": "buf-1"})
    assert sent["ok"] and sent["message"]["conversation_id"] == join["conversation"]["id"]
    await ann.wait_for("customer:message", lambda m: m.get("client_id") == "buf-1")
    await ann.disconnect()
    await back.disconnect()


async def test_second_tab_shares_the_conversation(chat_server):
    ann, _ = await agent(chat_server, "ann")
    tab1, join = await customer(chat_server, "Carla")
    tab2 = await Client(chat_server, "/customer").connect(auth={"token": join["token"]})
    second = await tab2.call("customer:join", {"token": join["token"]})
    assert second["conversation"]["id"] == join["conversation"]["id"]
    sent = await tab1.call("customer:message", {"text": "from tab one"})
    mirrored = await tab2.wait_for("agent:message", lambda m: m["sender"] == "customer")
    assert mirrored["id"] == sent["message"]["id"]
    reply = await ann.call(
        "agent:message", {"conversation_id": join["conversation"]["id"], "text": "hello both"}
    )
    for tab in (tab1, tab2):
        got = await tab.wait_for("agent:message", lambda m: m["sender"] == "agent")
        assert got["id"] == reply["message"]["id"]
    await asyncio.sleep(0.2)
    assert [
        m for m in tab1.of("agent:message") if m["sender"] == "customer"
    ] == []  # not echoed to the sender
    assert chat_server.scalar("select count(*) from chat_conversation") == 1
    for c in (ann, tab1, tab2):
        await c.disconnect()


async def _burst(sender: Client, event: str, payloads: list[dict]) -> list[dict]:
    """Fire every emit at once (acks come back whenever), like a client under load."""
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in payloads]
    for payload, future in zip(payloads, futures, strict=True):
        await sender.sio.emit(
            event, payload, namespace=sender.namespace, callback=lambda ack, f=future: f.set_result(ack)
        )
    return await asyncio.wait_for(asyncio.gather(*futures), 30)


async def test_burst_of_200_from_a_customer_arrives_in_order(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    payloads = [{"text": f"burst {i}", "client_id": f"b-{i}"} for i in range(200)]
    acks = await _burst(carla, "customer:message", payloads)
    assert all(a["ok"] for a in acks)
    ids = [a["message"]["id"] for a in acks]
    assert ids == sorted(ids) and len(set(ids)) == 200
    assert [a["message"]["text"] for a in acks] == [p["text"] for p in payloads]
    await ann.wait_for("customer:message", lambda m: m["text"] == "burst 199")
    received = [m for m in ann.of("customer:message") if m["sender"] == "customer"]
    assert [m["text"] for m in received] == [p["text"] for p in payloads]
    assert [m["id"] for m in received] == ids
    rows = stored(chat_server, join["conversation"]["id"], "customer")
    assert [r[1] for r in rows] == [p["text"] for p in payloads]
    for c in (ann, carla):
        await c.disconnect()


async def test_burst_of_200_from_an_agent_arrives_in_order(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    payloads = [
        {"conversation_id": conversation_id, "text": f"agent {i}", "client_id": f"a-{i}"} for i in range(200)
    ]
    acks = await _burst(ann, "agent:message", payloads)
    assert all(a["ok"] for a in acks)
    await carla.wait_for("agent:message", lambda m: m["text"] == "agent 199")
    received = [m for m in carla.of("agent:message") if m["sender"] == "agent"]
    assert [m["text"] for m in received] == [p["text"] for p in payloads]
    assert [m["id"] for m in received] == sorted(m["id"] for m in received)
    assert len(stored(chat_server, conversation_id, "agent")) == 200
    for c in (ann, carla):
        await c.disconnect()


async def test_duplicates_inside_one_burst_are_stored_once(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    acks = await _burst(carla, "customer:message", [{"text": "same", "client_id": "dup"}] * 5)
    assert len({a["message"]["id"] for a in acks}) == 1
    await asyncio.sleep(0.3)
    assert len([m for m in ann.of("customer:message") if m.get("client_id") == "dup"]) == 1
    assert len(stored(chat_server, join["conversation"]["id"], "customer")) == 1
    for c in (ann, carla):
        await c.disconnect()


@pytest.mark.parametrize(
    ("customer_transport", "agent_transport"), [("polling", "websocket"), ("websocket", "polling")]
)
async def test_both_transports(chat_server, customer_transport, agent_transport):
    ann = await Client(chat_server, "/agent", transports=[agent_transport]).connect(
        auth={"token": chat_server.agents["ann"]["token"]}
    )
    assert (await ann.call("agent:login", {}))["ok"]
    carla = await Client(chat_server, "/customer", transports=[customer_transport]).connect()
    join = await carla.call("customer:join", {"name": "Carla"})
    assert ann.sio.transport() == agent_transport and carla.sio.transport() == customer_transport
    sent = await carla.call("customer:message", {"text": f"over {customer_transport}"})
    got = await ann.wait_for("customer:message", lambda m: m["sender"] == "customer")
    assert got["id"] == sent["message"]["id"]
    reply = await ann.call("agent:message", {"conversation_id": join["conversation"]["id"], "text": "back"})
    assert (await carla.wait_for("agent:message", lambda m: m["sender"] == "agent"))["id"] == reply[
        "message"
    ]["id"]
    for c in (ann, carla):
        await c.disconnect()


async def test_writing_after_the_end_opens_a_new_conversation(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla", topic="returns")
    old = join["conversation"]["id"]
    await ann.call("session:end", {"conversation_id": old})
    await carla.wait_for("session:end")
    # A join with the token still shows the ended one; it opens nothing.
    again = await carla.call("customer:join", {"token": join["token"]})
    assert again["conversation"]["id"] == old and again["conversation"]["status"] == "ended"
    sent = await carla.call("customer:message", {"text": "me again"})
    assert sent["ok"] and sent["message"]["conversation_id"] != old
    new = await ann.wait_for(
        "customer:new", lambda n: n["conversation"]["id"] == sent["message"]["conversation_id"]
    )
    assert new["conversation"]["topic"] == "returns"
    open_count = chat_server.scalar(
        "select count(*) from chat_conversation where customer_id=? and status != 'ended'",
        (join["customer"]["id"],),
    )
    assert open_count == 1
    for c in (ann, carla):
        await c.disconnect()
