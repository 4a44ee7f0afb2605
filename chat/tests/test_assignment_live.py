"""Assignment, the queue, claims, transfers and presence over real sockets.

PROTOCOL.md, "Assignment" and "What this server decided". Each test runs its
own Daphne on a fresh copy of the template database (agents ann, ben, cat:
capacity 2, no skills; bill: capacity 2, skills ["billing"]). What the
server says is checked against what it stored.
"""

from __future__ import annotations

import asyncio

import pytest

from cs_project.testing.clients import Client, agent, customer
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

# With fewer than 5 finished conversations the handling time is the default.
DEFAULT_HANDLE_SECONDS = 300


# --- helpers -------------------------------------------------------------------------


def agent_id(server: LiveServer, username: str) -> int:
    return server.agents[username]["id"]


def conv_id(ack: dict) -> int:
    return ack["conversation"]["id"]


def check_database(server: LiveServer) -> None:
    """What must hold at every moment: one agent per conversation, none over capacity."""
    loads = server.query(
        "select a.id, a.capacity, count(c.id) from agents_agentprofile a"
        " left join chat_conversation c on c.agent_id = a.id and c.status = 'active' group by a.id"
    )
    assert all(active <= capacity for _, capacity, active in loads), loads
    assert server.query("select id from chat_conversation where status = 'active' and agent_id is null") == []
    assert (
        server.query("select id from chat_conversation where status = 'queued' and agent_id is not null")
        == []
    )
    assert (
        server.query(
            "select customer_id from chat_conversation where status != 'ended'"
            " group by customer_id having count(*) > 1"
        )
        == []
    )


def active_load(server: LiveServer) -> dict[int, int]:
    return dict(
        server.query(
            "select agent_id, count(*) from chat_conversation where status = 'active' group by agent_id"
        )
    )


def queued_ids(server: LiveServer) -> list[int]:
    return [
        row[0]
        for row in server.query(
            "select id from chat_conversation where status = 'queued' order by queue_order, id"
        )
    ]


def conversation_row(server: LiveServer, conversation_id: int) -> tuple:
    return server.query(
        "select status, agent_id, end_reason from chat_conversation where id = ?", (conversation_id,)
    )[0]


def new_ids(client: Client) -> list[int]:
    return [n["conversation"]["id"] for n in client.of("customer:new")]


def positions(client: Client, conversation_id: int) -> list[int]:
    return [p["position"] for p in client.of("queue:position") if p["conversation_id"] == conversation_id]


async def wait_after(client: Client, name: str, seen: int, predicate=lambda data: True, timeout: float = 10):
    """The first event `name` matching `predicate` among those after the first `seen` of them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for data in client.of(name)[seen:]:
            if predicate(data):
                return data
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no new {name} after {timeout}s; got {client.of(name)[seen:]!r}")
        await client.wait_for(name, count=len(client.of(name)) + 1, timeout=remaining)


async def close(*clients) -> None:
    for c in clients:
        if isinstance(c, tuple):
            c = c[0]
        await c.disconnect()


# --- who gets a new customer -----------------------------------------------------------


def joined_with(join: dict) -> dict:
    """The `agent:assigned` a customer placed during its join gets after the ack."""
    conversation = join["conversation"]
    return {"conversation_id": conversation["id"], "agent": conversation["agent"], "transferred": False}


async def test_two_agents_least_loaded_first_then_longest_idle(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    by_name = {"Ann": ann, "Ben": ben}
    c0, a0 = await customer(chat_server, "C0")
    c1, a1 = await customer(chat_server, "C1")
    first, second = a0["conversation"]["agent"], a1["conversation"]["agent"]
    assert {first["name"], second["name"]} == {"Ann", "Ben"}  # one each
    for ack in (a0, a1):
        assert ack["conversation"]["status"] == "active" and ack["queue_position"] is None
        new = await by_name[ack["conversation"]["agent"]["name"]].wait_for(
            "customer:new", lambda n, ack=ack: n["conversation"]["id"] == conv_id(ack)
        )
        assert new["transferred_from"] is None and new["conversation"]["status"] == "active"

    # The second agent ends its chat: it now holds fewer, though it was
    # assigned more recently. Fewest active wins.
    ended = await by_name[second["name"]].call("session:end", {"conversation_id": conv_id(a1)})
    assert ended["ok"]
    c2, a2 = await customer(chat_server, "C2")
    assert a2["conversation"]["agent"] == second
    # Both hold one: the first agent has waited longest since its last assignment.
    c3, a3 = await customer(chat_server, "C3")
    assert a3["conversation"]["agent"] == first
    # The first holds two, the second one.
    c4, a4 = await customer(chat_server, "C4")
    assert a4["conversation"]["agent"] == second
    # Everyone full: the next one waits.
    c5, a5 = await customer(chat_server, "C5")
    assert a5["conversation"]["status"] == "queued" and a5["conversation"]["agent"] is None
    assert a5["queue_position"] == 1

    assert active_load(chat_server) == {first["id"]: 2, second["id"]: 2}
    for ack in (a0, a2, a3, a4):
        assert conversation_row(chat_server, conv_id(ack))[:2] == (
            "active",
            ack["conversation"]["agent"]["id"],
        )
    # Each agent was told about exactly its own customers.
    mine = {
        first["name"]: {conv_id(a0), conv_id(a3)},
        second["name"]: {conv_id(a1), conv_id(a2), conv_id(a4)},
    }
    for name, client in by_name.items():
        await client.wait_for("customer:new", count=len(mine[name]))
        assert set(new_ids(client)) == mine[name]
    # Load changes are broadcast as agent:status.
    for client in (ann, ben):
        for ref in (first, second):
            await client.wait_for(
                "agent:status", lambda s, ref=ref: s["id"] == ref["id"] and s["active"] == 2
            )
    check_database(chat_server)
    await close(ann, ben, c0, c1, c2, c3, c4, c5)


async def test_a_never_assigned_agent_counts_as_idle_longest(chat_server):
    ann, _ = await agent(chat_server, "ann")
    c0, a0 = await customer(chat_server, "C0")
    assert a0["conversation"]["agent"]["name"] == "Ann"
    assert (await ann.call("session:end", {"conversation_id": conv_id(a0)}))["ok"]
    # Ann and Ben both hold nothing; Ann (the lower id) was assigned once, Ben never.
    ben, _ = await agent(chat_server, "ben")
    c1, a1 = await customer(chat_server, "C1")
    assert a1["conversation"]["agent"]["name"] == "Ben"
    # Cat never either: 0 active like Ann, never assigned, so Cat before Ann.
    cat, _ = await agent(chat_server, "cat")
    c2, a2 = await customer(chat_server, "C2")
    assert a2["conversation"]["agent"]["name"] == "Cat"
    # Now Ann is the only one with nothing.
    c3, a3 = await customer(chat_server, "C3")
    assert a3["conversation"]["agent"]["name"] == "Ann"
    check_database(chat_server)
    await close(ann, ben, cat, c0, c1, c2, c3)


async def test_three_agents_take_turns(chat_server):
    agents = [await agent(chat_server, name) for name in ("ann", "ben", "cat")]
    joined = [await customer(chat_server, f"T{i}") for i in range(6)]
    names = [ack["conversation"]["agent"]["name"] for _, ack in joined]
    # Each round of three goes to three different agents, in the same order
    # (the one idle longest first).
    assert sorted(names[:3]) == ["Ann", "Ben", "Cat"]
    assert names[3:] == names[:3]
    assert sorted(active_load(chat_server).values()) == [2, 2, 2]
    _, extra = await customer(chat_server, "T6")
    assert extra["queue_position"] == 1
    check_database(chat_server)
    await close(*agents, *joined)


async def test_topic_naming_a_skill_goes_to_that_skill_only(chat_server):
    bill, _ = await agent(chat_server, "bill")
    _, plain0 = await customer(chat_server, "Plain0")
    assert plain0["conversation"]["agent"]["name"] == "Bill"  # a skill does not limit what else one takes
    ann, _ = await agent(chat_server, "ann")
    # Bill holds one, Ann none: a billing topic still goes to Bill.
    payer1, p1 = await customer(chat_server, "Payer1", topic="billing")
    assert p1["conversation"]["agent"]["name"] == "Bill" and p1["conversation"]["topic"] == "billing"
    # Bill is full: the next billing customer waits though Ann has room.
    payer2, p2 = await customer(chat_server, "Payer2", topic="billing")
    assert p2["conversation"]["status"] == "queued" and p2["queue_position"] == 1
    # A topic that names no skill, or none, goes to anyone.
    _, w = await customer(chat_server, "Weather", topic="weather")
    assert w["conversation"]["agent"]["name"] == "Ann"
    _, n = await customer(chat_server, "NoTopic")
    assert n["conversation"]["agent"]["name"] == "Ann"
    # All full: a plain customer queues behind the billing one.
    late, lt = await customer(chat_server, "Late")
    assert lt["queue_position"] == 2

    # Ann frees a place: the billing head cannot take it, the one behind does.
    assert (await ann.call("session:end", {"conversation_id": conv_id(w)}))["ok"]
    got = await late.wait_for("agent:assigned")
    assert got["agent"]["name"] == "Ann" and got["conversation_id"] == conv_id(lt)
    assert conversation_row(chat_server, conv_id(p2))[0] == "queued"
    await payer2.wait_for("queue:position")
    assert positions(payer2, conv_id(p2)) == [1]
    # Bill frees a place: the billing customer gets Bill.
    assert (await bill.call("session:end", {"conversation_id": conv_id(plain0)}))["ok"]
    got = await payer2.wait_for("agent:assigned")
    assert got["agent"] == {"id": agent_id(chat_server, "bill"), "name": "Bill"}

    billing_agents = chat_server.query(
        "select distinct agent_id from chat_conversation where topic = 'billing' and agent_id is not null"
    )
    assert billing_agents == [(agent_id(chat_server, "bill"),)]
    assert not set(new_ids(ann)) & {conv_id(p1), conv_id(p2)}
    check_database(chat_server)
    await close(bill, ann, payer1, payer2, late)


async def test_busy_agent_gets_nothing_until_online(chat_server):
    ann, _ = await agent(chat_server, "ann", status="busy")
    ben, _ = await agent(chat_server, "ben")
    joined = [await customer(chat_server, f"B{i}") for i in range(2)]
    assert [ack["conversation"]["agent"]["name"] for _, ack in joined] == ["Ben", "Ben"]
    waiting, w = await customer(chat_server, "Waiting")
    assert w["conversation"]["status"] == "queued" and w["queue_position"] == 1
    await ann.wait_for("queue:update", lambda u: u["length"] == 1)
    assert ann.of("customer:new") == []
    assert active_load(chat_server).get(agent_id(chat_server, "ann"), 0) == 0

    changed = await ann.call("agent:status", {"status": "online"})
    assert changed["ok"] and changed["agent"]["status"] == "online"
    got = await waiting.wait_for("agent:assigned")
    assert got == {
        "conversation_id": conv_id(w),
        "agent": {"id": agent_id(chat_server, "ann"), "name": "Ann"},
        "transferred": False,
    }
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conv_id(w))
    # Busy again: Ann keeps what she holds but gets no one new.
    assert (await ann.call("agent:status", {"status": "busy"}))["agent"]["status"] == "busy"
    _, later = await customer(chat_server, "Later")
    assert later["queue_position"] == 1
    assert conversation_row(chat_server, conv_id(w))[:2] == ("active", agent_id(chat_server, "ann"))
    check_database(chat_server)
    await close(ann, ben, waiting, *joined)


# --- the queue -------------------------------------------------------------------------


async def test_full_agents_queue_customers_fifo_and_ending_drains_in_order(chat_server):
    ann, _ = await agent(chat_server, "ann")
    held = [await customer(chat_server, f"H{i}") for i in range(2)]
    assert all(ack["conversation"]["agent"]["name"] == "Ann" for _, ack in held)
    waiting = [await customer(chat_server, f"Q{i}") for i in range(3)]
    assert [ack["queue_position"] for _, ack in waiting] == [1, 2, 3]
    for client, ack in waiting:
        assert ack["conversation"]["status"] == "queued" and ack["conversation"]["agent"] is None
        told = await client.wait_for(
            "queue:position", lambda p, ack=ack: p["position"] == ack["queue_position"]
        )
        assert told["conversation_id"] == conv_id(ack)
        # Ann (capacity 2) is online; 300 s per conversation until there is history.
        assert told["estimated_wait_s"] == ack["queue_position"] * DEFAULT_HANDLE_SECONDS // 2
    update = await ann.wait_for("queue:update", lambda u: u["length"] == 3)
    assert [c["id"] for c in update["conversations"]] == [conv_id(ack) for _, ack in waiting]
    assert all(c["status"] == "queued" for c in update["conversations"])
    assert queued_ids(chat_server) == [conv_id(ack) for _, ack in waiting]

    # Ann ends one: the head of the queue gets her, the others move up.
    seen = len(ann.of("queue:update"))
    assert (await ann.call("session:end", {"conversation_id": conv_id(held[0][1])}))["ok"]
    got = await waiting[0][0].wait_for("agent:assigned")
    assert got == {
        "conversation_id": conv_id(waiting[0][1]),
        "agent": {"id": agent_id(chat_server, "ann"), "name": "Ann"},
        "transferred": False,
    }
    await waiting[1][0].wait_for("queue:position", lambda p: p["position"] == 1)
    await waiting[2][0].wait_for("queue:position", lambda p: p["position"] == 2)
    await wait_after(ann, "queue:update", seen, lambda u: u["length"] == 2)
    new = await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conv_id(waiting[0][1]))
    assert new["conversation"]["status"] == "active" and new["transferred_from"] is None

    # Ben logs in: the rest go to him, head first.
    seen = len(ann.of("queue:update"))
    ben, login = await agent(chat_server, "ben")
    assert [c["id"] for c in login["conversations"]] == [conv_id(ack) for _, ack in waiting[1:]]
    assert login["queue"] == []
    for client, ack in waiting[1:]:
        got = await client.wait_for("agent:assigned")
        assert got["conversation_id"] == conv_id(ack) and got["agent"]["name"] == "Ben"
    await ben.wait_for("customer:new", count=2)
    assert new_ids(ben) == [conv_id(ack) for _, ack in waiting[1:]]
    await wait_after(ann, "queue:update", seen, lambda u: u["length"] == 0)
    assert queued_ids(chat_server) == []
    # Positions only ever went down, never repeated.
    for client, ack in waiting:
        seen = positions(client, conv_id(ack))
        assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)), seen
    check_database(chat_server)
    await close(ann, ben, *held, *waiting)


async def test_agent_going_online_drains_the_queue_in_order(chat_server):
    ann, _ = await agent(chat_server, "ann", status="busy")
    waiting = [await customer(chat_server, f"W{i}") for i in range(3)]
    assert [ack["queue_position"] for _, ack in waiting] == [1, 2, 3]
    await ann.wait_for("queue:update", lambda u: u["length"] == 3)

    seen = len(ann.of("queue:update"))
    assert (await ann.call("agent:status", {"status": "online"}))["agent"]["status"] == "online"
    for client, ack in waiting[:2]:
        got = await client.wait_for("agent:assigned")
        assert got["conversation_id"] == conv_id(ack) and got["agent"]["name"] == "Ann"
    await ann.wait_for("customer:new", count=2)
    assert new_ids(ann) == [conv_id(waiting[0][1]), conv_id(waiting[1][1])]
    order = chat_server.query(
        "select id from chat_conversation where status = 'active' order by assigned_at, id"
    )
    assert [row[0] for row in order] == [conv_id(waiting[0][1]), conv_id(waiting[1][1])]
    moved = await waiting[2][0].wait_for("queue:position", lambda p: p["position"] == 1)
    assert moved["conversation_id"] == conv_id(waiting[2][1])
    update = await wait_after(ann, "queue:update", seen, lambda u: u["length"] == 1)
    assert [c["id"] for c in update["conversations"]] == [conv_id(waiting[2][1])]
    assert waiting[2][0].of("agent:assigned") == []

    # Ending one lets the last in.
    assert (await ann.call("session:end", {"conversation_id": conv_id(waiting[0][1])}))["ok"]
    assert (await waiting[2][0].wait_for("agent:assigned"))["agent"]["name"] == "Ann"
    check_database(chat_server)
    await close(ann, *waiting)


async def test_agent_logging_in_drains_the_queue_in_order(chat_server):
    waiting = [await customer(chat_server, f"L{i}") for i in range(3)]
    assert [ack["queue_position"] for _, ack in waiting] == [1, 2, 3]
    for client, ack in waiting:
        told = await client.wait_for("queue:position")
        assert told["position"] == ack["queue_position"]
        assert told["estimated_wait_s"] is None  # nobody online to estimate with

    ben, login = await agent(chat_server, "ben")
    assert [c["id"] for c in login["conversations"]] == [conv_id(waiting[0][1]), conv_id(waiting[1][1])]
    assert [c["id"] for c in login["queue"]] == [conv_id(waiting[2][1])]
    for client, ack in waiting[:2]:
        got = await client.wait_for("agent:assigned")
        assert got["conversation_id"] == conv_id(ack) and got["agent"]["name"] == "Ben"
    await ben.wait_for("customer:new", count=2)
    assert new_ids(ben) == [conv_id(waiting[0][1]), conv_id(waiting[1][1])]
    moved = await waiting[2][0].wait_for("queue:position", lambda p: p["position"] == 1)
    assert moved["estimated_wait_s"] == DEFAULT_HANDLE_SECONDS // 2  # Ben: capacity 2

    cat, login = await agent(chat_server, "cat")
    assert [c["id"] for c in login["conversations"]] == [conv_id(waiting[2][1])]
    assert login["queue"] == []
    got = await waiting[2][0].wait_for("agent:assigned")
    assert got["agent"] == {"id": agent_id(chat_server, "cat"), "name": "Cat"}
    await ben.wait_for("queue:update", lambda u: u["length"] == 0 and u["conversations"] == [])
    check_database(chat_server)
    await close(ben, cat, *waiting)


# --- queue:claim -----------------------------------------------------------------------


async def test_claim_named_and_next_and_refusals(chat_server):
    cat, _ = await agent(chat_server, "cat", status="busy")
    ben, _ = await agent(chat_server, "ben", status="busy")
    ann, _ = await agent(chat_server, "ann", status="offline")
    waiting = [await customer(chat_server, f"K{i}") for i in range(3)]
    k0, k1, k2 = (conv_id(ack) for _, ack in waiting)
    assert [ack["queue_position"] for _, ack in waiting] == [1, 2, 3]
    await waiting[2][0].wait_for("queue:position", lambda p: p["position"] == 3)

    # An offline agent may not claim.
    for payload in ({}, {"conversation_id": k0}):
        refused = await ann.call("queue:claim", payload)
        assert refused["ok"] is False and refused["error"]["code"] == "conflict", refused
    assert queued_ids(chat_server) == [k0, k1, k2]

    # A busy agent may, out of order by id.
    seen = len(cat.of("queue:update"))
    claimed = await cat.call("queue:claim", {"conversation_id": k1})
    assert claimed["ok"], claimed
    assert claimed["conversation"]["id"] == k1 and claimed["conversation"]["status"] == "active"
    assert claimed["conversation"]["agent"] == {"id": agent_id(chat_server, "cat"), "name": "Cat"}
    got = await waiting[1][0].wait_for("agent:assigned")
    assert got == {"conversation_id": k1, "agent": claimed["conversation"]["agent"], "transferred": False}
    await cat.wait_for("customer:new", lambda n: n["conversation"]["id"] == k1)
    await waiting[2][0].wait_for("queue:position", lambda p: p["position"] == 2)
    update = await wait_after(cat, "queue:update", seen, lambda u: u["length"] == 2)
    assert [c["id"] for c in update["conversations"]] == [k0, k2]

    # Without an id: the head of the queue.
    nxt = await cat.call("queue:claim", {})
    assert nxt["ok"] and nxt["conversation"]["id"] == k0
    assert (await waiting[0][0].wait_for("agent:assigned"))["agent"]["name"] == "Cat"
    await waiting[2][0].wait_for("queue:position", lambda p: p["position"] == 1)

    # At capacity: neither the next nor a named one.
    for payload in ({}, {"conversation_id": k2}):
        full = await cat.call("queue:claim", payload)
        assert full["ok"] is False and full["error"]["code"] == "conflict", full
    assert queued_ids(chat_server) == [k2]

    taken = await ben.call("queue:claim", {"conversation_id": k0})  # no longer waiting
    assert taken["error"]["code"] == "conflict", taken
    unknown = await ben.call("queue:claim", {"conversation_id": 999999})
    assert unknown["error"]["code"] == "not_found", unknown
    last = await ben.call("queue:claim", {})
    assert last["ok"] and last["conversation"]["id"] == k2, last
    empty = await ben.call("queue:claim", {})
    assert empty["error"]["code"] == "conflict", empty
    empty_no_payload = await ben.emit_raw("queue:claim")  # no payload reads as {}
    assert empty_no_payload["error"]["code"] == "conflict", empty_no_payload

    rows = dict(
        chat_server.query("select id, agent_id from chat_conversation where id in (?, ?, ?)", (k0, k1, k2))
    )
    assert rows == {
        k0: agent_id(chat_server, "cat"),
        k1: agent_id(chat_server, "cat"),
        k2: agent_id(chat_server, "ben"),
    }
    check_database(chat_server)
    await close(cat, ann, ben, *waiting)


async def test_concurrent_claims_never_double_assign_or_overfill(chat_server):
    agents = [await agent(chat_server, name, status="busy") for name in ("ann", "ben", "cat")]
    waiting = [await customer(chat_server, f"R{i}") for i in range(6)]
    ids = {conv_id(ack) for _, ack in waiting}
    results = await asyncio.gather(
        *(client.call("queue:claim", {}) for client, _ in agents for _ in range(3))
    )
    ok = [r for r in results if r["ok"]]
    refused = [r for r in results if not r["ok"]]
    assert len(ok) == 6 and len(refused) == 3, results
    assert all(r["error"]["code"] == "conflict" for r in refused)
    claimed = [r["conversation"]["id"] for r in ok]
    assert sorted(claimed) == sorted(ids)  # each exactly once
    assert sorted(active_load(chat_server).values()) == [2, 2, 2]
    for client, ack in waiting:
        got = await client.wait_for("agent:assigned")
        assert got["conversation_id"] == conv_id(ack)
        assert len(client.of("agent:assigned")) == 1
    joined = chat_server.query(
        "select conversation_id, count(*) from chat_message"
        " where sender = 'system' and text like '%joined the conversation%' group by conversation_id"
    )
    assert sorted(cid for cid, _ in joined) == sorted(ids) and all(n == 1 for _, n in joined)
    check_database(chat_server)
    await close(*agents, *waiting)


async def test_concurrent_joins_each_conversation_goes_to_one_agent(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")

    async def join(i):
        client = await Client(chat_server, "/customer").connect()
        return client, await client.call("customer:join", {"name": f"J{i}"})

    joined = await asyncio.gather(*(join(i) for i in range(10)))
    active = [ack for _, ack in joined if ack["conversation"]["status"] == "active"]
    assert len(active) == 4
    assert sorted(ack["queue_position"] for _, ack in joined if ack["queue_position"]) == [1, 2, 3, 4, 5, 6]
    await ann.wait_for("customer:new", count=2)
    await ben.wait_for("customer:new", count=2)
    assert not set(new_ids(ann)) & set(new_ids(ben))
    assert set(new_ids(ann)) | set(new_ids(ben)) == {conv_id(ack) for ack in active}
    check_database(chat_server)
    await close(ann, ben, *joined)


async def test_a_burst_of_new_customers_is_placed_as_one_at_a_time_would(chat_server):
    """New customers joining at once are placed together (one transaction);
    each must still get exactly what joining alone would give."""
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    bill, _ = await agent(chat_server, "bill")
    by_id = {agent_id(chat_server, n): c for n, c in (("ann", ann), ("ben", ben), ("bill", bill))}
    clients = [await Client(chat_server, "/customer").connect() for _ in range(16)]
    topics = ["billing" if i % 2 else None for i in range(16)]
    acks = await asyncio.gather(
        *(
            c.call("customer:join", {"name": f"B{i}", "topic": t})
            for i, (c, t) in enumerate(zip(clients, topics, strict=True))
        )
    )
    assert all(ack["ok"] for ack in acks), acks
    billing = [a for a, t in zip(acks, topics, strict=True) if t == "billing"]
    other = [a for a, t in zip(acks, topics, strict=True) if t is None]
    # Billing needs bill's skill (capacity 2); the rest go to ann and ben (2 each).
    assert [a["conversation"]["agent"]["name"] for a in billing if a["conversation"]["agent"]] == ["Bill"] * 2
    assert sorted(a["conversation"]["agent"]["name"] for a in other if a["conversation"]["agent"]) == [
        "Ann", "Ann", "Ben", "Ben"
    ]  # fmt: skip
    check_database(chat_server)
    # Each waiting customer was told its true place in the stored queue.
    order = queued_ids(chat_server)
    queued = [a for a in acks if a["conversation"]["status"] == "queued"]
    assert len(order) == len(queued) == 10
    assert sorted((a["queue_position"], conv_id(a)) for a in queued) == [
        (i + 1, c) for i, c in enumerate(order)
    ]
    for ack in acks:
        conversation = ack["conversation"]
        assert ack["customer"]["conversations_count"] == 1 and conversation["unread"] == 0
        if conversation["status"] == "active":
            assert ack["queue_position"] is None
            note = f"{conversation['agent']['name']} joined the conversation."
            assert [(m["sender"], m["text"]) for m in ack["messages"]] == [("system", note)]
            new = await by_id[conversation["agent"]["id"]].wait_for(
                "customer:new", lambda n, i=conversation["id"]: n["conversation"]["id"] == i
            )
            assert new["conversation"] == conversation and new["messages"] == ack["messages"]
        else:
            assert ack["messages"] == [] and conversation["agent"] is None
        # The same customer resuming by token sees the same conversation, as stored.
        again = await Client(chat_server, "/customer").connect()
        resumed = await again.call("customer:join", {"token": ack["token"]})
        # (Resuming marks what was waiting for the customer delivered.)
        unmarked = [{**m, "status": "sent"} for m in resumed["messages"]]
        assert resumed["ok"] and unmarked == ack["messages"]
        assert resumed["queue_position"] == ack["queue_position"]
        without_seen = lambda c: {**c, "customer": {**c["customer"], "last_seen_at": None}}  # noqa: E731
        assert without_seen(resumed["conversation"]) == without_seen(conversation)
        await again.disconnect()
    await close(ann, ben, bill, *clients)


# --- session:transfer --------------------------------------------------------------------


async def test_transfer_to_another_agent(chat_server):
    ben, _ = await agent(chat_server, "ben", status="busy")
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    cid = conv_id(join)
    assert join["conversation"]["agent"]["name"] == "Ann"
    assert (await carla.call("customer:message", {"text": "before the transfer"}))["ok"]
    await ann.wait_for("customer:message", lambda m: m["sender"] == "customer")
    ann_ref = {"id": agent_id(chat_server, "ann"), "name": "Ann"}
    ben_ref = {"id": agent_id(chat_server, "ben"), "name": "Ben"}

    # Busy agents may receive a transfer.
    moved = await ann.call("session:transfer", {"conversation_id": cid, "to_agent_id": ben_ref["id"]})
    assert moved["ok"], moved
    assert moved["conversation"]["agent"] == ben_ref and moved["conversation"]["status"] == "active"

    told = await carla.wait_for("agent:assigned", lambda a: a["transferred"])
    assert told == {"conversation_id": cid, "agent": ben_ref, "transferred": True}
    note = await carla.wait_for("agent:message", lambda m: m["sender"] == "system" and "Ben" in m["text"])
    assert note["conversation_id"] == cid
    new = await ben.wait_for("customer:new")
    assert new["transferred_from"] == ann_ref
    assert new["conversation"]["id"] == cid and new["conversation"]["agent"] == ben_ref
    assert "before the transfer" in [m["text"] for m in new["messages"]]
    notice = await ann.wait_for("system:notification", lambda n: n["code"] == "conversation_reassigned")
    assert notice["conversation_id"] == cid
    await ann.wait_for("agent:status", lambda s: s["id"] == ann_ref["id"] and s["active"] == 0)
    await ann.wait_for("agent:status", lambda s: s["id"] == ben_ref["id"] and s["active"] == 1)
    assert conversation_row(chat_server, cid) == ("active", ben_ref["id"], None)

    # The old agent may no longer act on it.
    for event, payload in (
        ("agent:message", {"conversation_id": cid, "text": "still here?"}),
        ("agent:typing", {"conversation_id": cid, "is_typing": True}),
        ("session:end", {"conversation_id": cid}),
        ("session:transfer", {"conversation_id": cid, "to_agent_id": ben_ref["id"]}),
    ):
        answer = await ann.call(event, payload)
        assert answer["ok"] is False and answer["error"]["code"] == "forbidden", (event, answer)
    assert not carla.of("agent:typing")
    assert conversation_row(chat_server, cid) == ("active", ben_ref["id"], None)
    # The new one may.
    assert (await ben.call("agent:message", {"conversation_id": cid, "text": "Ben here"}))["ok"]
    got = await carla.wait_for("agent:message", lambda m: m["sender"] == "agent")
    assert got["sender_name"] == "Ben" and got["text"] == "Ben here"
    stored = chat_server.query(
        "select text from chat_message where conversation_id = ? and sender = 'agent'", (cid,)
    )
    assert stored == [("Ben here",)]
    check_database(chat_server)
    await close(ann, ben, carla)


async def test_transfer_frees_capacity_and_the_queue_drains(chat_server):
    ben, _ = await agent(chat_server, "ben", status="busy")
    ann, _ = await agent(chat_server, "ann")
    held = [await customer(chat_server, f"H{i}") for i in range(2)]
    assert all(ack["conversation"]["agent"]["name"] == "Ann" for _, ack in held)
    waiting, w = await customer(chat_server, "Waiting")
    assert w["queue_position"] == 1
    seen = len(ann.of("queue:update"))
    moved = await ann.call(
        "session:transfer",
        {"conversation_id": conv_id(held[0][1]), "to_agent_id": agent_id(chat_server, "ben")},
    )
    assert moved["ok"], moved
    got = await waiting.wait_for("agent:assigned")
    assert got["agent"]["name"] == "Ann" and got["transferred"] is False
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conv_id(w))
    await wait_after(ann, "queue:update", seen, lambda u: u["length"] == 0)
    assert active_load(chat_server) == {agent_id(chat_server, "ann"): 2, agent_id(chat_server, "ben"): 1}
    check_database(chat_server)
    await close(ann, ben, waiting, *held)


async def test_transfer_refused_to_offline_disconnected_full_unknown_or_self(chat_server):
    ann, _ = await agent(chat_server, "ann")
    cat, _ = await agent(chat_server, "cat", status="offline")  # connected, chose offline
    gone, _ = await agent(chat_server, "bill")  # logs in, then leaves (within the grace period)
    await gone.disconnect()
    ben_id = agent_id(chat_server, "ben")
    await eventually(
        lambda: (
            chat_server.scalar(
                "select sockets from agents_agentprofile where id = ?", (agent_id(chat_server, "bill"),)
            )
            == 0
        )
    )
    carla, join = await customer(chat_server, "Carla")
    cid = conv_id(join)
    assert join["conversation"]["agent"]["name"] == "Ann"

    cases = {
        ben_id: "conflict",  # never connected
        agent_id(chat_server, "cat"): "conflict",  # offline
        agent_id(chat_server, "bill"): "conflict",  # no socket left
        999999: "not_found",
        agent_id(chat_server, "ann"): "invalid_payload",  # yourself
    }
    for target, code in cases.items():
        answer = await ann.call("session:transfer", {"conversation_id": cid, "to_agent_id": target})
        assert answer["ok"] is False and answer["error"]["code"] == code, (target, answer)

    # Full: Ben, busy, claims two of his own.
    ben, _ = await agent(chat_server, "ben", status="busy")
    assert (await ann.call("agent:status", {"status": "busy"}))["ok"]
    others = [await customer(chat_server, f"O{i}") for i in range(2)]
    assert [ack["queue_position"] for _, ack in others] == [1, 2]
    for _ in others:
        assert (await ben.call("queue:claim", {}))["ok"]
    full = await ann.call("session:transfer", {"conversation_id": cid, "to_agent_id": ben_id})
    assert full["ok"] is False and full["error"]["code"] == "conflict", full

    # Nothing changed.
    assert conversation_row(chat_server, cid) == ("active", agent_id(chat_server, "ann"), None)
    assert carla.of("agent:assigned") == [joined_with(join)]  # the join's own, nothing since
    assert all(n["transferred_from"] is None for n in ben.of("customer:new"))
    assert ann.of("system:notification") == []
    check_database(chat_server)
    await close(ann, cat, ben, carla, *others)


# --- an agent who leaves -------------------------------------------------------------------


async def test_agent_gone_past_grace_requeues_at_the_head_then_drains(start_chat_server):
    server = start_chat_server(AGENT_GRACE_SECONDS=1)
    ann, _ = await agent(server, "ann")
    held = [await customer(server, f"H{i}") for i in range(2)]
    assert all(ack["conversation"]["agent"]["name"] == "Ann" for _, ack in held)
    ben, _ = await agent(server, "ben", status="busy")
    early, e = await customer(server, "Early")
    assert e["queue_position"] == 1
    ann_id = agent_id(server, "ann")

    await ann.disconnect()
    # First only the connection is gone (grace period), then Ann is offline.
    await ben.wait_for("agent:status", lambda s: s["id"] == ann_id and s["connected"] is False)
    went = await ben.wait_for("agent:status", lambda s: s["id"] == ann_id and s["status"] == "offline")
    assert went["connected"] is False and went["active"] == 0

    # Ann's conversations are back at the head, in the order she got them,
    # ahead of the customer who was already waiting; their customers are told.
    held_ids = [conv_id(ack) for _, ack in held]
    await eventually(lambda: len(queued_ids(server)) == 3)
    assert queued_ids(server) == [*held_ids, conv_id(e)]
    for (client, ack), position in zip(held, (1, 2), strict=True):
        note = await client.wait_for(
            "agent:message", lambda m: m["sender"] == "system" and "Ann" in m["text"]
        )
        assert note["conversation_id"] == conv_id(ack)
        told = await client.wait_for("queue:position", lambda p, position=position: p["position"] == position)
        assert told["conversation_id"] == conv_id(ack)
        assert client.of("session:end") == []
    await early.wait_for("queue:position", lambda p: p["position"] == 3)
    update = await ben.wait_for("queue:update", lambda u: u["length"] == 3)
    assert [c["id"] for c in update["conversations"]] == [*held_ids, conv_id(e)]

    # Ben comes online: he takes Ann's two first; Early moves back up.
    assert (await ben.call("agent:status", {"status": "online"}))["ok"]
    for client, ack in held:
        # The second assignment of each: the first, to Ann, came with its join.
        got = await client.wait_for("agent:assigned", count=2)
        assert got["conversation_id"] == conv_id(ack) and got["agent"]["name"] == "Ben"
    await ben.wait_for("customer:new", count=2)
    assert new_ids(ben) == held_ids
    await early.wait_for("queue:position", lambda p: p["position"] == 1, count=2)
    assert positions(early, conv_id(e)) == [1, 3, 1]
    assert server.scalar("select status from agents_agentprofile where id = ?", (ann_id,)) == "offline"
    assert active_load(server) == {agent_id(server, "ben"): 2}
    check_database(server)
    await close(ben, early, *held)


async def test_agent_gone_past_grace_hands_chats_to_a_colleague_with_room(start_chat_server):
    server = start_chat_server(AGENT_GRACE_SECONDS=1)
    ben, _ = await agent(server, "ben", status="busy")
    ann, _ = await agent(server, "ann")
    held = [await customer(server, f"H{i}") for i in range(2)]
    assert all(ack["conversation"]["agent"]["name"] == "Ann" for _, ack in held)
    assert (await ben.call("agent:status", {"status": "online"}))["ok"]

    await ann.disconnect()
    for client, ack in held:
        note = await client.wait_for(
            "agent:message", lambda m: m["sender"] == "system" and "Ann" in m["text"]
        )
        assert note["conversation_id"] == conv_id(ack)
        got = await client.wait_for("agent:assigned", count=2)  # the first, to Ann, with the join
        assert got["conversation_id"] == conv_id(ack)
        assert got["agent"] == {"id": agent_id(server, "ben"), "name": "Ben"}
        assert client.of("session:end") == []
    await ben.wait_for("customer:new", count=2)
    assert sorted(new_ids(ben)) == sorted(conv_id(ack) for _, ack in held)
    for _, ack in held:
        assert conversation_row(server, conv_id(ack)) == ("active", agent_id(server, "ben"), None)
    # Ben can talk to them.
    reply = await ben.call("agent:message", {"conversation_id": conv_id(held[0][1]), "text": "Ben here"})
    assert reply["ok"], reply
    check_database(server)
    await close(ben, *held)


async def test_last_agent_gone_ends_chats_with_agent_offline(start_chat_server):
    server = start_chat_server(AGENT_GRACE_SECONDS=1)
    ann, _ = await agent(server, "ann")
    cat, _ = await agent(server, "cat", status="offline")  # logged in, but not there for customers
    held = [await customer(server, f"H{i}") for i in range(2)]
    assert all(ack["conversation"]["agent"]["name"] == "Ann" for _, ack in held)
    ann_id = agent_id(server, "ann")

    await ann.disconnect()
    for client, ack in held:
        end = await client.wait_for("session:end")
        assert end == {"conversation_id": conv_id(ack), "reason": "agent_offline"}
        assert client.of("queue:position") == []
        assert conversation_row(server, conv_id(ack)) == ("ended", ann_id, "agent_offline")
    went = await cat.wait_for(
        "agent:status", lambda s: s["id"] == ann_id and s["status"] == "offline" and s["active"] == 0
    )
    assert went["connected"] is False
    assert queued_ids(server) == []
    # Logging in again undoes the server's offline; the ended chats stay ended.
    ann, login = await agent(server, "ann")
    assert login["agent"]["status"] == "online" and login["conversations"] == []
    check_database(server)
    await close(ann, cat, *held)


async def test_reconnect_within_grace_keeps_everything(start_chat_server):
    grace = 1
    server = start_chat_server(AGENT_GRACE_SECONDS=grace)
    ben, _ = await agent(server, "ben", status="busy")
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    cid = conv_id(join)
    assert join["conversation"]["agent"]["name"] == "Ann"
    ann_id = agent_id(server, "ann")

    await ann.disconnect()
    await ben.wait_for("agent:status", lambda s: s["id"] == ann_id and s["connected"] is False)
    ann, login = await agent(server, "ann")
    assert login["agent"]["status"] == "online" and login["agent"]["connected"] is True
    assert [c["id"] for c in login["conversations"]] == [cid]
    await asyncio.sleep(grace + 0.6)  # past the grace period from the disconnect, several sweeps

    assert conversation_row(server, cid) == ("active", ann_id, None)
    assert server.scalar("select status from agents_agentprofile where id = ?", (ann_id,)) == "online"
    assert carla.of("session:end") == [] and carla.of("queue:position") == []
    assert carla.of("agent:assigned") == [joined_with(join)]  # the join's own, nothing since
    assert [m for m in carla.of("agent:message") if m["sender"] == "system"] == []
    assert [s for s in ben.of("agent:status") if s["id"] == ann_id and s["status"] == "offline"] == []
    # Still hers, both ways.
    assert (await ann.call("agent:message", {"conversation_id": cid, "text": "back"}))["ok"]
    await carla.wait_for("agent:message", lambda m: m["text"] == "back")
    check_database(server)
    await close(ann, ben, carla)


async def test_closing_one_of_two_sockets_is_not_leaving(start_chat_server):
    grace = 1
    server = start_chat_server(AGENT_GRACE_SECONDS=grace)
    tab1, _ = await agent(server, "ann")
    tab2, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    cid = conv_id(join)
    await tab1.disconnect()
    await asyncio.sleep(grace + 0.6)
    assert conversation_row(server, cid) == ("active", agent_id(server, "ann"), None)
    assert carla.of("session:end") == []
    assert (await carla.call("customer:message", {"text": "anyone?"}))["ok"]
    await tab2.wait_for("customer:message", lambda m: m["text"] == "anyone?")
    # The last socket going is leaving.
    await tab2.disconnect()
    end = await carla.wait_for("session:end")
    assert end == {"conversation_id": cid, "reason": "agent_offline"}
    await close(carla)


# --- a customer who leaves ------------------------------------------------------------------


async def test_idle_customer_is_closed_and_frees_capacity(start_chat_server):
    server = start_chat_server(CUSTOMER_IDLE_SECONDS=1)
    ann, _ = await agent(server, "ann")
    held = [await customer(server, f"H{i}") for i in range(2)]
    assert all(ack["conversation"]["agent"]["name"] == "Ann" for _, ack in held)
    waiting, w = await customer(server, "Waiting")
    assert w["queue_position"] == 1

    gone_client, gone = held[0]
    await gone_client.disconnect()
    end = await ann.wait_for("session:end")
    assert end == {"conversation_id": conv_id(gone), "reason": "customer_idle"}
    assert conversation_row(server, conv_id(gone)) == ("ended", agent_id(server, "ann"), "customer_idle")
    # The place it freed goes to the waiting customer (still connected, so not idle).
    got = await waiting.wait_for("agent:assigned")
    assert got["conversation_id"] == conv_id(w) and got["agent"]["name"] == "Ann"
    # The connected customer is not closed.
    assert conversation_row(server, conv_id(held[1][1]))[0] == "active"
    assert held[1][0].of("session:end") == []

    # A queued customer who leaves is closed too, and leaves the queue.
    queued, q = await customer(server, "Queued")
    assert q["queue_position"] == 1
    await ann.wait_for(
        "queue:update", lambda u: u["length"] == 1 and u["conversations"][0]["id"] == conv_id(q)
    )
    seen = len(ann.of("queue:update"))
    await queued.disconnect()
    await wait_after(ann, "queue:update", seen, lambda u: u["length"] == 0)
    assert conversation_row(server, conv_id(q)) == ("ended", None, "customer_idle")
    check_database(server)
    await close(ann, waiting, held[1][0])


async def test_customer_disconnect_event_ends_the_chat(chat_server):
    ann, _ = await agent(chat_server, "ann")
    held = [await customer(chat_server, f"H{i}") for i in range(2)]
    waiting = [await customer(chat_server, f"W{i}") for i in range(2)]
    assert [ack["queue_position"] for _, ack in waiting] == [1, 2]
    leaver, ack = held[0]

    assert (await leaver.call("customer:disconnect", {})) == {"ok": True}
    end = {"conversation_id": conv_id(ack), "reason": "customer_left"}
    assert (await leaver.wait_for("session:end")) == end
    assert (await ann.wait_for("session:end")) == end
    assert conversation_row(chat_server, conv_id(ack)) == (
        "ended",
        agent_id(chat_server, "ann"),
        "customer_left",
    )
    assert leaver.sio.connected  # the socket stays
    again = await leaver.call("customer:disconnect", {})
    assert again["ok"] is False and again["error"]["code"] == "conflict", again

    # The freed place goes to the head of the queue; the other moves up.
    got = await waiting[0][0].wait_for("agent:assigned")
    assert got["agent"]["name"] == "Ann"
    await waiting[1][0].wait_for("queue:position", lambda p: p["position"] == 1)

    # A waiting customer who leaves gives up its place.
    third, t = await customer(chat_server, "Third")
    assert t["queue_position"] == 2
    assert (await waiting[1][0].call("customer:disconnect", {})) == {"ok": True}
    assert (await waiting[1][0].wait_for("session:end"))["reason"] == "customer_left"
    await third.wait_for("queue:position", lambda p: p["position"] == 1)
    await ann.wait_for("queue:update", lambda u: [c["id"] for c in u["conversations"]] == [conv_id(t)])
    check_database(chat_server)
    await close(ann, third, *held, *waiting)


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


async def test_connected_customer_is_not_closed_as_idle(start_chat_server):
    server = start_chat_server(CUSTOMER_IDLE_SECONDS=1)
    carla, join = await customer(server, "Carla")
    await asyncio.sleep(2)
    assert (
        server.scalar("select status from chat_conversation where id=?", (join["conversation"]["id"],))
        == "queued"
    )
    await carla.disconnect()
