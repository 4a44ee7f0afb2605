"""Assignment and the queue over real sockets (PROTOCOL.md, "Assignment")."""

import asyncio

import pytest

from .live import Client, agent, customer

pytestmark = pytest.mark.live


def no_agent_over_capacity(server) -> None:
    rows = server.query(
        "select a.capacity, count(c.id) from agents_agentprofile a"
        " left join chat_conversation c on c.agent_id = a.id and c.status = 'active' group by a.id"
    )
    assert all(active <= capacity for capacity, active in rows), rows


async def test_least_loaded_then_longest_idle(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    names = []
    clients = []
    for i in range(4):
        client, ack = await customer(chat_server, f"C{i}")
        clients.append(client)
        names.append(ack["conversation"]["agent"]["name"])
    # Never-assigned agents first (by id), then alternate by load and idle time.
    assert names == ["Ann", "Ben", "Ann", "Ben"]
    assert (await ann.wait_for("agent:status", lambda s: s["name"] == "Ben" and s["active"] == 2))[
        "capacity"
    ] == 2
    no_agent_over_capacity(chat_server)
    for c in [*clients, ann, ben]:
        await c.disconnect()


async def test_topic_naming_a_skill_goes_to_that_skill_only(chat_server):
    ann, _ = await agent(chat_server, "ann")
    bill, _ = await agent(chat_server, "bill")
    _, first = await customer(chat_server, "Payer", topic="billing")
    _, second = await customer(chat_server, "Payer2", topic="billing")
    assert first["conversation"]["agent"]["name"] == "Bill"
    assert second["conversation"]["agent"]["name"] == "Bill"
    # bill is full: the next billing customer waits though ann is free.
    _, third = await customer(chat_server, "Payer3", topic="billing")
    assert third["conversation"]["status"] == "queued" and third["queue_position"] == 1
    # A topic that names no skill goes to anyone.
    _, other = await customer(chat_server, "Other", topic="weather")
    assert other["conversation"]["agent"]["name"] == "Ann"
    await ann.disconnect()
    await bill.disconnect()


async def test_busy_and_offline_agents_get_nothing_and_online_drains_the_queue(chat_server):
    ann, _ = await agent(chat_server, "ann", status="busy")
    waiting = [await customer(chat_server, f"W{i}") for i in range(3)]
    assert [ack["queue_position"] for _, ack in waiting] == [1, 2, 3]
    assert all(ack["conversation"]["status"] == "queued" for _, ack in waiting)
    update = await ann.wait_for("queue:update", lambda u: u["length"] == 3)
    assert [c["customer"]["name"] for c in update["conversations"]] == ["W0", "W1", "W2"]

    changed = await ann.call("agent:status", {"status": "online"})
    assert changed["ok"] and changed["agent"]["status"] == "online"
    # Capacity 2: the first two in line, in order; the third moves up to 1.
    first = await waiting[0][0].wait_for("agent:assigned")
    second = await waiting[1][0].wait_for("agent:assigned")
    assert first["agent"]["name"] == second["agent"]["name"] == "Ann"
    assert first["transferred"] is False
    moved = await waiting[2][0].wait_for("queue:position", lambda p: p["position"] == 1)
    assert moved["conversation_id"] == waiting[2][1]["conversation"]["id"]
    new = await ann.wait_for("customer:new", count=2)
    assert new["conversation"]["status"] == "active"
    await ann.wait_for("queue:update", lambda u: u["length"] == 1)
    no_agent_over_capacity(chat_server)

    # Ending one frees a place: the last customer gets it.
    ended = await ann.call("session:end", {"conversation_id": first["conversation_id"]})
    assert ended["ok"]
    third = await waiting[2][0].wait_for("agent:assigned")
    assert third["agent"]["name"] == "Ann"
    for c, _ in waiting:
        await c.disconnect()
    await ann.disconnect()


async def test_queue_positions_follow_the_line_and_login_drains_it(chat_server):
    waiting = [await customer(chat_server, f"Q{i}") for i in range(3)]
    assert [ack["queue_position"] for _, ack in waiting] == [1, 2, 3]
    for client, ack in waiting:
        told = await client.wait_for("queue:position")
        assert told["position"] == ack["queue_position"]
        assert told["estimated_wait_s"] is None  # nobody is online to estimate with
    # The second leaves: the third moves up.
    assert (await waiting[1][0].call("customer:disconnect", {}))["ok"]
    assert (await waiting[1][0].wait_for("session:end"))["reason"] == "customer_left"
    await waiting[2][0].wait_for("queue:position", lambda p: p["position"] == 2)
    # An agent logs in: the queue drains in order.
    ben, _login = await agent(chat_server, "ben")
    got = [await c.wait_for("agent:assigned") for c, _ in (waiting[0], waiting[2])]
    assert {g["agent"]["name"] for g in got} == {"Ben"}
    ids = [n["conversation"]["id"] for n in ben.of("customer:new")] + [
        c["id"] for c in (await ben.call("agent:login", {}))["conversations"]
    ]
    assert waiting[0][1]["conversation"]["id"] in ids and waiting[2][1]["conversation"]["id"] in ids
    for c, _ in waiting:
        await c.disconnect()
    await ben.disconnect()


async def test_claim_from_the_queue(chat_server):
    cat, _ = await agent(chat_server, "cat", status="busy")
    waiting = [await customer(chat_server, f"K{i}") for i in range(3)]
    # A named one, out of order.
    claimed = await cat.call("queue:claim", {"conversation_id": waiting[2][1]["conversation"]["id"]})
    assert claimed["ok"] and claimed["conversation"]["agent"]["name"] == "Cat"
    assert (await waiting[2][0].wait_for("agent:assigned"))["agent"]["name"] == "Cat"
    # The next one: the head of the queue.
    nxt = await cat.call("queue:claim", {})
    assert nxt["ok"] and nxt["conversation"]["id"] == waiting[0][1]["conversation"]["id"]
    # At capacity now.
    full = await cat.call("queue:claim", {})
    assert full == {"ok": False, "error": {"code": "conflict", "message": "You are at capacity."}}
    # Already taken / unknown.
    again = await cat.call("queue:claim", {"conversation_id": waiting[0][1]["conversation"]["id"]})
    assert again["error"]["code"] == "conflict"
    unknown = await cat.call("queue:claim", {"conversation_id": 999999})
    assert unknown["error"]["code"] in {"not_found", "conflict"}
    no_agent_over_capacity(chat_server)
    for c, _ in waiting:
        await c.disconnect()
    await cat.disconnect()


async def test_claim_needs_an_agent_who_is_not_offline(chat_server):
    cat, _ = await agent(chat_server, "cat", status="offline")
    waiting, _ = await customer(chat_server, "L")
    refused = await cat.call("queue:claim", {})
    assert refused["error"]["code"] == "conflict"
    empty_cat, _ = await agent(chat_server, "ben", status="busy")
    await waiting.call("customer:disconnect", {})
    nothing = await empty_cat.call("queue:claim", {})
    assert nothing["error"]["code"] == "conflict" and "empty" in nothing["error"]["message"]
    for c in (cat, waiting, empty_cat):
        await c.disconnect()


async def test_transfer_to_another_agent(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben", status="busy")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    assert join["conversation"]["agent"]["name"] == "Ann"
    await carla.call("customer:message", {"text": "before the transfer"})
    ben_id = chat_server.agents["ben"]["id"]

    moved = await ann.call("session:transfer", {"conversation_id": conversation_id, "to_agent_id": ben_id})
    assert moved["ok"] and moved["conversation"]["agent"]["name"] == "Ben"
    told = await carla.wait_for("agent:assigned", lambda a: a["transferred"])
    assert told == {
        "conversation_id": conversation_id,
        "agent": {"id": ben_id, "name": "Ben"},
        "transferred": True,
    }
    new = await ben.wait_for("customer:new")
    assert new["transferred_from"]["name"] == "Ann"
    assert [m["text"] for m in new["messages"] if m["sender"] == "customer"] == ["before the transfer"]
    note = await ann.wait_for("system:notification")
    assert note["code"] == "conversation_reassigned" and note["conversation_id"] == conversation_id

    # The old agent may no longer act on it.
    for event, payload in (
        ("agent:message", {"conversation_id": conversation_id, "text": "still here?"}),
        ("agent:typing", {"conversation_id": conversation_id, "is_typing": True}),
        ("session:end", {"conversation_id": conversation_id}),
        ("session:transfer", {"conversation_id": conversation_id, "to_agent_id": ben_id}),
    ):
        answer = await ann.call(event, payload)
        assert answer["error"]["code"] == "forbidden", (event, answer)
    reply = await ben.call("agent:message", {"conversation_id": conversation_id, "text": "Ben here"})
    assert reply["ok"]
    assert (await carla.wait_for("agent:message", lambda m: m["sender"] == "agent"))["sender_name"] == "Ben"
    for c in (ann, ben, carla):
        await c.disconnect()


async def test_transfer_refused_to_absent_full_unknown_or_self(chat_server):
    ann, _ = await agent(chat_server, "ann")
    cat, _ = await agent(chat_server, "cat", status="offline")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    ids = {name: chat_server.agents[name]["id"] for name in ("ann", "ben", "cat")}
    cases = {
        ids["ben"]: "conflict",  # not connected
        ids["cat"]: "conflict",  # offline
        999999: "not_found",
        ids["ann"]: "invalid_payload",  # yourself
    }
    for target, code in cases.items():
        answer = await ann.call(
            "session:transfer", {"conversation_id": conversation_id, "to_agent_id": target}
        )
        assert answer["error"]["code"] == code, (target, answer)
    # Full: ben busy with two chats of his own.
    ben, _ = await agent(chat_server, "ben")
    await ann.call("agent:status", {"status": "busy"})
    others = [await customer(chat_server, f"B{i}") for i in range(2)]
    assert all(ack["conversation"]["agent"]["name"] == "Ben" for _, ack in others)
    full = await ann.call("session:transfer", {"conversation_id": conversation_id, "to_agent_id": ids["ben"]})
    assert full["error"]["code"] == "conflict"
    assert (
        chat_server.scalar("select agent_id from chat_conversation where id=?", (conversation_id,))
        == ids["ann"]
    )
    for c in (ann, ben, cat, carla, *(c for c, _ in others)):
        await c.disconnect()


async def test_agent_gone_past_grace_goes_offline_and_chats_return_to_the_head(start_chat_server):
    server = start_chat_server(AGENT_GRACE_SECONDS=1)
    ann, _ = await agent(server, "ann")
    ben, _ = await agent(server, "ben", status="busy")
    held = [await customer(server, f"H{i}") for i in range(2)]
    assert all(ack["conversation"]["agent"]["name"] == "Ann" for _, ack in held)
    early, early_ack = await customer(server, "Early")  # waits: ann is full, ben busy
    assert early_ack["queue_position"] == 1

    await ann.disconnect()
    went = await ben.wait_for(
        "agent:status", lambda s: s["name"] == "Ann" and s["status"] == "offline", timeout=10
    )
    assert went["connected"] is False
    # Ann's two go to the head of the queue, ahead of the customer who waited.
    for client, _ack in held:
        note = await client.wait_for("agent:message", lambda m: "no longer available" in m["text"])
        assert note["sender"] == "system"
        pos = await client.wait_for("queue:position")
        assert pos["position"] in (1, 2)
    assert (await early.wait_for("queue:position", lambda p: p["position"] == 3))["conversation_id"] == (
        early_ack["conversation"]["id"]
    )
    # Ben comes online: he takes the two requeued first.
    await ben.call("agent:status", {"status": "online"})
    for client, _ in held:
        assert (await client.wait_for("agent:assigned"))["agent"]["name"] == "Ben"
    await early.wait_for("queue:position", lambda p: p["position"] == 1)
    assert (
        server.scalar("select status from agents_agentprofile where id=?", (server.agents["ann"]["id"],))
        == "offline"
    )
    for c in (ben, early, *(c for c, _ in held)):
        await c.disconnect()


async def test_reconnect_within_grace_keeps_everything(start_chat_server):
    server = start_chat_server(AGENT_GRACE_SECONDS=3)
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    await ann.disconnect()
    await asyncio.sleep(1)
    ann, login = await agent(server, "ann")
    assert login["agent"]["status"] == "online"
    assert [c["id"] for c in login["conversations"]] == [join["conversation"]["id"]]
    await asyncio.sleep(3)  # past the grace period measured from the first disconnect
    assert (
        server.scalar("select status from chat_conversation where id=?", (join["conversation"]["id"],))
        == "active"
    )
    assert carla.of("session:end") == [] and carla.of("queue:position") == []
    await ann.disconnect()
    await carla.disconnect()


async def test_last_agent_gone_ends_chats_with_agent_offline(start_chat_server):
    server = start_chat_server(AGENT_GRACE_SECONDS=1)
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    await ann.disconnect()
    end = await carla.wait_for("session:end", timeout=10)
    assert end == {"conversation_id": join["conversation"]["id"], "reason": "agent_offline"}
    # Logging back in: the server's offline is undone.
    ann, login = await agent(server, "ann")
    assert login["agent"]["status"] == "online" and login["conversations"] == []
    await ann.disconnect()
    await carla.disconnect()


async def test_choosing_offline_releases_chats_to_a_colleague(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben", status="busy")
    carla, join = await customer(chat_server, "Carla")
    assert (await ann.call("agent:status", {"status": "offline"}))["agent"]["status"] == "offline"
    await carla.wait_for("queue:position", lambda p: p["position"] == 1)
    claimed = await ben.call("queue:claim", {})
    assert claimed["ok"] and claimed["conversation"]["id"] == join["conversation"]["id"]
    # A chosen offline stays offline on the next login.
    ann2, login = await agent(chat_server, "ann")
    assert login["agent"]["status"] == "offline"
    for c in (ann, ann2, ben, carla):
        await c.disconnect()


async def test_idle_customer_is_closed(start_chat_server):
    server = start_chat_server(CUSTOMER_IDLE_SECONDS=1)
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    await carla.disconnect()
    end = await ann.wait_for("session:end", timeout=10)
    assert end == {"conversation_id": join["conversation"]["id"], "reason": "customer_idle"}
    row = server.query(
        "select status, end_reason from chat_conversation where id=?", (join["conversation"]["id"],)
    )
    assert row == [("ended", "customer_idle")]
    await ann.disconnect()


async def test_connected_customer_is_not_closed_as_idle(start_chat_server):
    server = start_chat_server(CUSTOMER_IDLE_SECONDS=1)
    carla, join = await customer(server, "Carla")
    await asyncio.sleep(2)
    assert (
        server.scalar("select status from chat_conversation where id=?", (join["conversation"]["id"],))
        == "queued"
    )
    await carla.disconnect()


async def test_concurrent_joins_never_overfill_an_agent(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")

    async def join(i):
        client = await Client(chat_server, "/customer").connect()
        return client, await client.call("customer:join", {"name": f"R{i}"})

    joined = await asyncio.gather(*(join(i) for i in range(12)))
    statuses = sorted(ack["conversation"]["status"] for _, ack in joined)
    assert statuses.count("active") == 4
    assert sorted(ack["queue_position"] for _, ack in joined if ack["queue_position"]) == list(range(1, 9))
    no_agent_over_capacity(chat_server)
    for c, _ in joined:
        await c.disconnect()
    await ann.disconnect()
    await ben.disconnect()
