"""Messages over real sockets: resume after a reconnect, idempotent resends,
second tabs, ordered bursts, both transports, one open conversation."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from cs_project.testing.checks import acked_in_order
from cs_project.testing.clients import Client, agent, burst, customer
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually, wait_until_server_saw_disconnect

pytestmark = pytest.mark.live

DELIVERED = 1  # chat_message.status: 0 sent, 1 delivered, 2 read


def stored(server: LiveServer, conversation_id: int, sender: str) -> list[tuple]:
    return server.query(
        "select id, text, client_id from chat_message where conversation_id=? and sender=? order by id",
        (conversation_id, sender),
    )


def conversations_of(server: LiveServer, customer_id: int) -> list[tuple]:
    return server.query(
        "select id, status from chat_conversation where customer_id=? order by id", (customer_id,)
    )


# --- reconnect and resume -------------------------------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_reconnect_resumes_with_exactly_the_missed_messages(chat_server, transport):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    token = join["token"]
    customer_id, conversation_id = join["customer"]["id"], join["conversation"]["id"]
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conversation_id)

    # A little chat both ways; the customer keeps the ids it saw.
    seen_ids = {m["id"] for m in join["messages"]}
    for i in range(2):
        sent = await carla.call("customer:message", {"text": f"question {i}", "client_id": f"q-{i}"})
        assert sent["ok"], sent
        seen_ids.add(sent["message"]["id"])
        await ann.wait_for("customer:message", lambda m, i=sent["message"]["id"]: m["id"] == i)
        reply = await ann.call("agent:message", {"conversation_id": conversation_id, "text": f"answer {i}"})
        assert reply["ok"] and reply["message"]["status"] == "delivered", reply
        got = await carla.wait_for("agent:message", lambda m, i=reply["message"]["id"]: m["id"] == i)
        seen_ids.add(got["id"])
    # The last message of the customer: pretend its ack is lost in the drop.
    lost = await carla.call("customer:message", {"text": "did you get this?", "client_id": "lost-ack"})
    assert lost["ok"], lost
    seen_ids.add(lost["message"]["id"])
    await ann.wait_for("customer:message", lambda m: m["id"] == lost["message"]["id"])
    for m in carla.of("agent:message"):
        seen_ids.add(m["id"])
    last_seen = max(seen_ids)

    joined_seen = chat_server.scalar("select last_seen_at from customers_customer where id=?", (customer_id,))
    await carla.disconnect()
    await wait_until_server_saw_disconnect(chat_server, customer_id, joined_seen)

    # While the customer is away, the agent writes three times: stored, not delivered.
    missed = []
    for i in range(3):
        ack = await ann.call(
            "agent:message",
            {"conversation_id": conversation_id, "text": f"while away {i}", "client_id": f"w{i}"},
        )
        assert ack["ok"], ack
        assert ack["message"]["status"] == "sent", ack
        missed.append(ack["message"])
    assert [m["id"] for m in missed] == sorted(m["id"] for m in missed)
    assert all(m["id"] > last_seen for m in missed)

    back = await Client(chat_server, "/customer", transports=[transport]).connect(auth={"token": token})
    resumed = await back.call("customer:join", {"token": token, "last_message_id": last_seen})
    assert resumed["ok"], resumed
    assert back.sio.transport() == transport
    assert resumed["customer"]["id"] == customer_id
    assert resumed["conversation"]["id"] == conversation_id
    assert resumed["conversation"]["status"] == "active"
    # Exactly the missed ones: nothing lost, nothing doubled, in id order.
    assert [m["id"] for m in resumed["messages"]] == [m["id"] for m in missed]
    assert [m["text"] for m in resumed["messages"]] == [m["text"] for m in missed]
    assert all(m["sender"] == "agent" and m["sender_name"] == "Ann" for m in resumed["messages"])
    assert all(m["status"] == "delivered" for m in resumed["messages"]), resumed["messages"]

    # The agent hears they are delivered now.
    status = await ann.wait_for(
        "message:status", lambda s: s["status"] == "delivered" and s["up_to_id"] == missed[-1]["id"]
    )
    assert status == {"conversation_id": conversation_id, "up_to_id": missed[-1]["id"], "status": "delivered"}
    assert chat_server.query(
        "select id, status from chat_message where id in (?, ?, ?) order by id",
        tuple(m["id"] for m in missed),
    ) == [(m["id"], DELIVERED) for m in missed]

    # The resend of the message whose ack was lost: the first one back, stored once.
    again = await back.call("customer:message", {"text": "did you get this?", "client_id": "lost-ack"})
    assert again["ok"], again
    assert again["message"]["id"] == lost["message"]["id"]
    assert again["message"]["conversation_id"] == conversation_id
    assert again["message"]["text"] == "did you get this?" and again["message"]["client_id"] == "lost-ack"
    assert (
        chat_server.scalar(
            "select count(*) from chat_message where conversation_id=? and client_id='lost-ack'",
            (conversation_id,),
        )
        == 1
    )
    # A fresh message after it is the barrier: the agent got no second copy.
    fresh = await back.call("customer:message", {"text": "back online", "client_id": "after"})
    assert fresh["ok"] and fresh["message"]["id"] > missed[-1]["id"]
    await ann.wait_for("customer:message", lambda m: m["id"] == fresh["message"]["id"])
    assert [m["id"] for m in ann.of("customer:message") if m["client_id"] == "lost-ack"] == [
        lost["message"]["id"]
    ]
    received = [
        (m["id"], m["text"], m["client_id"]) for m in ann.of("customer:message") if m["sender"] == "customer"
    ]
    assert stored(chat_server, conversation_id, "customer") == received
    assert [r[2] for r in stored(chat_server, conversation_id, "customer")] == [
        "q-0",
        "q-1",
        "lost-ack",
        "after",
    ]
    assert len(conversations_of(chat_server, customer_id)) == 1
    for c in (ann, back):
        await c.disconnect()


async def test_resume_without_last_message_id_replays_everything_once(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    for i in range(3):
        assert (await carla.call("customer:message", {"text": f"c{i}"}))["ok"]
        assert (await ann.call("agent:message", {"conversation_id": conversation_id, "text": f"a{i}"}))["ok"]
    await carla.disconnect()
    back = await Client(chat_server, "/customer").connect()  # no auth: the token in the payload
    resumed = await back.call("customer:join", {"token": join["token"]})
    assert resumed["ok"] and resumed["conversation"]["id"] == conversation_id
    every = chat_server.query(
        "select id, sender, text from chat_message where conversation_id=? order by id", (conversation_id,)
    )
    assert [(m["id"], m["sender"], m["text"]) for m in resumed["messages"]] == every
    # A cursor at the last id: nothing to replay.
    tail = await back.call("customer:join", {"token": join["token"], "last_message_id": every[-1][0]})
    assert tail["ok"] and tail["messages"] == []
    for c in (ann, back):
        await c.disconnect()


# --- second tab ---------------------------------------------------------------------------


async def test_second_tab_sees_the_same_conversation_and_the_other_tabs_messages(chat_server):
    ann, _ = await agent(chat_server, "ann")
    tab1, join = await customer(chat_server, "Carla")
    token, conversation_id = join["token"], join["conversation"]["id"]
    customer_id = join["customer"]["id"]
    first = await tab1.call("customer:message", {"text": "before the second tab", "client_id": "t1-0"})
    assert first["ok"]

    tab2 = await Client(chat_server, "/customer").connect(auth={"token": token})
    second = await tab2.call("customer:join", {"token": token})
    assert second["ok"], second
    assert second["customer"]["id"] == customer_id
    assert second["conversation"]["id"] == conversation_id
    assert first["message"]["id"] in [m["id"] for m in second["messages"]]

    # Tab 1 -> agent, mirrored to tab 2.
    sent1 = await tab1.call("customer:message", {"text": "from tab one", "client_id": "t1-1"})
    assert sent1["ok"]
    mirrored = await tab2.wait_for("agent:message", lambda m: m["id"] == sent1["message"]["id"])
    assert mirrored["sender"] == "customer" and mirrored["text"] == "from tab one"
    await ann.wait_for("customer:message", lambda m: m["id"] == sent1["message"]["id"])

    # Tab 2 -> agent, mirrored to tab 1.
    sent2 = await tab2.call("customer:message", {"text": "from tab two", "client_id": "t2-1"})
    assert sent2["ok"] and sent2["message"]["conversation_id"] == conversation_id
    assert sent2["message"]["id"] > sent1["message"]["id"]
    mirrored = await tab1.wait_for("agent:message", lambda m: m["id"] == sent2["message"]["id"])
    assert mirrored["sender"] == "customer" and mirrored["text"] == "from tab two"
    await ann.wait_for("customer:message", lambda m: m["id"] == sent2["message"]["id"])

    # Agent -> both tabs.
    reply = await ann.call("agent:message", {"conversation_id": conversation_id, "text": "hello both"})
    assert reply["ok"]
    for tab in (tab1, tab2):
        got = await tab.wait_for("agent:message", lambda m: m["id"] == reply["message"]["id"])
        assert got["text"] == "hello both"

    # Each tab has each message once; the sender tab got no echo of its own.
    for tab, own in ((tab1, sent1), (tab2, sent2)):
        ids = [m["id"] for m in tab.of("agent:message")]
        assert len(ids) == len(set(ids)), ids
        assert own["message"]["id"] not in ids
    # One customer, one conversation.
    assert conversations_of(chat_server, customer_id) == [(conversation_id, "active")]
    assert chat_server.scalar("select count(*) from customers_customer") == 1
    for c in (ann, tab1, tab2):
        await c.disconnect()


# --- bursts ---------------------------------------------------------------------------------


async def test_burst_of_200_from_a_customer_arrives_in_order_stored_once(start_chat_server):
    # About the writer's order under a burst, not about limits: one socket
    # may send 60 events at once by default (LIMIT_CUSTOMER_EVENTS_BURST).
    chat_server = start_chat_server(LIMIT_CUSTOMER_EVENTS_BURST="400")
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new")
    payloads = [{"text": f"burst {i}", "client_id": f"b-{i}"} for i in range(200)]

    acks = await burst(carla, "customer:message", payloads)

    ids = acked_in_order(acks)
    assert [a["message"]["text"] for a in acks] == [p["text"] for p in payloads]
    assert [a["message"]["client_id"] for a in acks] == [p["client_id"] for p in payloads]
    assert {a["message"]["conversation_id"] for a in acks} == {conversation_id}

    await ann.wait_for("customer:message", lambda m: m["sender"] == "customer", count=200, timeout=20)
    received = [m for m in ann.of("customer:message") if m["sender"] == "customer"]
    assert len(received) == 200
    assert [m["id"] for m in received] == ids
    assert [m["text"] for m in received] == [p["text"] for p in payloads]

    assert stored(chat_server, conversation_id, "customer") == [
        (i, p["text"], p["client_id"]) for i, p in zip(ids, payloads, strict=True)
    ]
    for c in (ann, carla):
        await c.disconnect()


async def test_burst_of_200_from_an_agent_arrives_in_order_stored_once(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new")
    payloads = [
        {"conversation_id": conversation_id, "text": f"agent {i}", "client_id": f"a-{i}"} for i in range(200)
    ]

    acks = await burst(ann, "agent:message", payloads)

    ids = acked_in_order(acks)
    assert [a["message"]["text"] for a in acks] == [p["text"] for p in payloads]
    assert all(a["message"]["status"] == "delivered" for a in acks)

    await carla.wait_for("agent:message", lambda m: m["sender"] == "agent", count=200, timeout=20)
    received = [m for m in carla.of("agent:message") if m["sender"] == "agent"]
    assert len(received) == 200
    assert [m["id"] for m in received] == ids
    assert [m["text"] for m in received] == [p["text"] for p in payloads]

    assert stored(chat_server, conversation_id, "agent") == [
        (i, p["text"], p["client_id"]) for i, p in zip(ids, payloads, strict=True)
    ]
    for c in (ann, carla):
        await c.disconnect()


async def test_burst_resent_whole_after_a_reconnect_is_stored_once(chat_server):
    """A client that lost every ack resends the whole burst: nothing new is stored."""
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    payloads = [{"text": f"again {i}", "client_id": f"r-{i}"} for i in range(50)]
    first = await burst(carla, "customer:message", payloads)
    assert all(a["ok"] for a in first)
    await carla.disconnect()
    back = await Client(chat_server, "/customer").connect(auth={"token": join["token"]})
    assert (await back.call("customer:join", {"token": join["token"]}))["ok"]
    second = await burst(back, "customer:message", payloads)
    assert [a["message"]["id"] for a in second] == [a["message"]["id"] for a in first]
    barrier = await back.call("customer:message", {"text": "done", "client_id": "r-done"})
    await ann.wait_for("customer:message", lambda m: m["id"] == barrier["message"]["id"])
    received = [m["id"] for m in ann.of("customer:message") if m["sender"] == "customer"]
    assert received == [a["message"]["id"] for a in first] + [barrier["message"]["id"]]
    assert len(stored(chat_server, conversation_id, "customer")) == 51
    for c in (ann, back):
        await c.disconnect()


# --- transports ------------------------------------------------------------------------------


async def test_polling_customer_and_websocket_agent_chat_both_ways(chat_server):
    ann = await Client(chat_server, "/agent", transports=["websocket"]).connect(
        auth={"token": chat_server.agents["ann"]["token"]}
    )
    login = await ann.call("agent:login", {})
    assert login["ok"], login
    carla = await Client(chat_server, "/customer", transports=["polling"]).connect()
    join = await carla.call("customer:join", {"name": "Polly"})
    assert join["ok"], join
    conversation_id = join["conversation"]["id"]
    assert ann.sio.transport() == "websocket" and carla.sio.transport() == "polling"
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conversation_id)
    assert join["conversation"]["status"] == "active" and join["conversation"]["agent"]["name"] == "Ann"

    for i in range(3):
        sent = await carla.call("customer:message", {"text": f"polling {i}", "client_id": f"p-{i}"})
        assert sent["ok"], sent
        got = await ann.wait_for("customer:message", lambda m, i=sent["message"]["id"]: m["id"] == i)
        assert got["text"] == f"polling {i}"
        reply = await ann.call("agent:message", {"conversation_id": conversation_id, "text": f"ws {i}"})
        assert reply["ok"], reply
        got = await carla.wait_for("agent:message", lambda m, i=reply["message"]["id"]: m["id"] == i)
        assert got["text"] == f"ws {i}"
    # Still on the transports they were given.
    assert ann.sio.transport() == "websocket" and carla.sio.transport() == "polling"
    rows = chat_server.query(
        "select sender, text from chat_message where conversation_id=? and sender != 'system' order by id",
        (conversation_id,),
    )
    assert rows == [(s, t) for i in range(3) for s, t in (("customer", f"polling {i}"), ("agent", f"ws {i}"))]
    for c in (ann, carla):
        await c.disconnect()


async def test_a_client_that_upgrades_from_polling_to_websocket_chats_on(chat_server):
    """Browsers start on polling and upgrade: the server's WebSocket loop takes over the socket."""
    ann, _ = await agent(chat_server, "ann")
    carla = await Client(chat_server, "/customer", transports=["polling", "websocket"]).connect()
    join = await carla.call("customer:join", {"name": "Upgrader"})
    conversation_id = join["conversation"]["id"]
    await eventually(lambda: carla.sio.transport() == "websocket", timeout=5, what="the upgrade")
    sent = await carla.call("customer:message", {"text": "after the upgrade", "client_id": "u-1"})
    assert sent["ok"] and sent["message"]["status"] == "delivered", sent
    await ann.wait_for("customer:message", lambda m: m.get("client_id") == "u-1")
    reply = await ann.call("agent:message", {"conversation_id": conversation_id, "text": "seen"})
    got = await carla.wait_for("agent:message", lambda m: m["id"] == reply["message"]["id"])
    assert got["text"] == "seen"
    for c in (ann, carla):
        await c.disconnect()


# --- one open conversation --------------------------------------------------------------------


async def test_join_with_token_keeps_the_customer_and_the_conversation(chat_server):
    # No agent yet: the conversation waits in the queue.
    carla, join = await customer(chat_server, "Carla", email="carla@example.com")
    token, customer_id = join["token"], join["customer"]["id"]
    conversation_id = join["conversation"]["id"]
    assert join["conversation"]["status"] == "queued" and join["queue_position"] == 1

    # The same socket joins again; a new socket joins with the token in auth and
    # in the payload; another with the token in the payload only (and another name).
    again = await carla.call("customer:join", {"token": token})
    tab = await Client(chat_server, "/customer").connect(auth={"token": token})
    via_auth = await tab.call("customer:join", {"token": token})
    other = await Client(chat_server, "/customer").connect()
    via_payload = await other.call(
        "customer:join", {"token": token, "name": "Someone Else", "topic": "billing"}
    )
    for ack in (again, via_auth, via_payload):
        assert ack["ok"], ack
        assert ack["customer"]["id"] == customer_id
        assert ack["conversation"]["id"] == conversation_id
        assert ack["conversation"]["status"] == "queued"
        assert ack["queue_position"] == 1
    assert conversations_of(chat_server, customer_id) == [(conversation_id, "queued")]

    # An agent arrives: the same conversation is assigned; joining still opens nothing.
    ann, _ = await agent(chat_server, "ann")
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conversation_id)
    later = await other.call("customer:join", {"token": token})
    assert later["ok"] and later["conversation"]["id"] == conversation_id
    assert later["conversation"]["status"] == "active"
    assert later["conversation"]["agent"]["name"] == "Ann"
    assert later["queue_position"] is None
    assert conversations_of(chat_server, customer_id) == [(conversation_id, "active")]
    assert chat_server.scalar("select count(*) from customers_customer") == 1
    assert len(ann.of("customer:new")) == 1
    for c in (ann, carla, tab, other):
        await c.disconnect()


async def test_sending_after_the_end_opens_a_new_conversation(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    customer_id, old = join["customer"]["id"], join["conversation"]["id"]
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == old)
    before = await carla.call("customer:message", {"text": "before the end", "client_id": "pre-end"})
    assert before["ok"] and before["message"]["conversation_id"] == old

    # The agent ends it.
    end = await ann.call("session:end", {"conversation_id": old})
    assert end["ok"] and end["conversation"]["status"] == "ended"
    assert (await carla.wait_for("session:end"))["conversation_id"] == old
    # A resend of what was stored before the end is that message, and opens nothing.
    resent = await carla.call("customer:message", {"text": "before the end", "client_id": "pre-end"})
    assert resent == before, resent
    assert [s for _, s in conversations_of(chat_server, customer_id)] == ["ended"]
    sent = await carla.call("customer:message", {"text": "one more thing", "client_id": "after-end"})
    assert sent["ok"], sent
    new = sent["message"]["conversation_id"]
    assert new != old
    rows = dict(conversations_of(chat_server, customer_id))
    assert rows[old] == "ended" and rows[new] in ("queued", "active")
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == new)
    got = await ann.wait_for("customer:message", lambda m: m["id"] == sent["message"]["id"])
    assert got["conversation_id"] == new
    assert stored(chat_server, new, "customer") == [(sent["message"]["id"], "one more thing", "after-end")]

    # The customer ends the next one itself, then reconnects and writes: a third one.
    assert (await carla.call("customer:disconnect", {})) == {"ok": True}
    await carla.wait_for("session:end", lambda e: e["conversation_id"] == new)
    await carla.disconnect()
    back = await Client(chat_server, "/customer").connect(auth={"token": join["token"]})
    third = await back.call("customer:message", {"text": "hello again"})
    assert third["ok"], third
    assert third["message"]["conversation_id"] not in (old, new)
    rows = dict(conversations_of(chat_server, customer_id))
    assert rows[new] == "ended" and rows[third["message"]["conversation_id"]] in ("queued", "active")
    open_count = chat_server.scalar(
        "select count(*) from chat_conversation where customer_id=? and status != 'ended'", (customer_id,)
    )
    assert open_count == 1
    for c in (ann, back):
        await c.disconnect()


async def test_a_burst_after_the_end_opens_one_conversation_and_keeps_order(start_chat_server):
    # About the writer's order under a burst, not about limits: one socket
    # may send 60 events at once by default (LIMIT_CUSTOMER_EVENTS_BURST).
    chat_server = start_chat_server(LIMIT_CUSTOMER_EVENTS_BURST="400")
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    customer_id, old = join["customer"]["id"], join["conversation"]["id"]
    await ann.wait_for("customer:new")
    assert (await ann.call("session:end", {"conversation_id": old}))["ok"]
    await carla.wait_for("session:end")

    payloads = [{"text": f"after end {i}", "client_id": f"e-{i}"} for i in range(200)]
    acks = await burst(carla, "customer:message", payloads)
    acked_in_order(acks)
    assert len({a["message"]["conversation_id"] for a in acks}) == 1
    new = acks[0]["message"]["conversation_id"]
    assert new != old
    assert [r[1] for r in stored(chat_server, new, "customer")] == [p["text"] for p in payloads]
    open_rows = chat_server.query(
        "select id, status from chat_conversation where customer_id=? and status != 'ended'", (customer_id,)
    )
    assert len(open_rows) == 1 and open_rows[0][0] == new and open_rows[0][1] in ("queued", "active")
    for c in (ann, carla):
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


async def test_duplicates_inside_one_burst_are_stored_once(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    acks = await burst(carla, "customer:message", [{"text": "same", "client_id": "dup"}] * 5)
    assert len({a["message"]["id"] for a in acks}) == 1
    await asyncio.sleep(0.3)
    assert len([m for m in ann.of("customer:message") if m.get("client_id") == "dup"]) == 1
    assert len(stored(chat_server, join["conversation"]["id"], "customer")) == 1
    for c in (ann, carla):
        await c.disconnect()


@pytest.mark.parametrize(
    ("customer_transport", "agent_transport"), [("polling", "websocket"), ("websocket", "polling")]
)
async def test_both_transports_both_ways(chat_server, customer_transport, agent_transport):
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


async def test_a_burst_while_another_writer_holds_the_database_is_stored_in_order(chat_server):
    """The writer's loop connection never waits for a lock: the worker thread does."""
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    before = await carla.call("customer:message", {"text": "before", "client_id": "l-0"})
    holder = sqlite3.connect(chat_server.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        sending = asyncio.ensure_future(
            burst(
                carla,
                "customer:message",
                [{"text": f"held {i}", "client_id": f"l-{i + 1}"} for i in range(20)],
            )
        )
        await asyncio.sleep(0.5)
        assert not sending.done()  # nothing is acked before it is stored
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    acks = await sending
    ids = acked_in_order([before, *acks])
    assert [row[0] for row in stored(chat_server, conversation_id, "customer")] == ids
    await ann.wait_for("customer:message", lambda m: m.get("client_id") == "l-20")
    after = await carla.call("customer:message", {"text": "after", "client_id": "l-21"})
    assert after["ok"] and after["message"]["id"] > ids[-1]
    for c in (ann, carla):
        await c.disconnect()
