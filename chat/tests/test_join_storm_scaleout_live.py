"""A storm of new visitors on two server processes sharing PostgreSQL and Redis.

Ten agents of capacity 5, five logged in on each process, and 300 customers
joining at the same moment, half on each process, each from an address of
its own (the per-address limits stay on, and no visitor hits them). Each
process places its joins in batches; the batches of both processes contend
for the same agents and the same queue. Whatever the interleaving: 50
conversations are given out, once each, five to every agent; the other 250
wait with the positions 1 to 250, which are their places in the queue as
the server orders it; and freed places go to the head of the queue first.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from itertools import chain

import pytest

from cs_project.testing.clients import Client, agent, loopback
from cs_project.testing.database import AgentSpec, prepare_database
from cs_project.testing.server import base_env, launch
from cs_project.testing.services import REDIS_URL, fresh_postgres_database, require_redis
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

AGENTS = 10
CAPACITY = 5
CUSTOMERS = 300
PLACES = AGENTS * CAPACITY
WAITING = CUSTOMERS - PLACES
# Sockets opened at once while connecting: connecting is set-up, not the storm.
CONNECTING = 25

# The server's queue order (chat.selectors.queued_conversations).
QUEUE_SQL = "select id from chat_conversation where status='queued' order by queue_order, id"


@pytest.fixture(params=["daphne", "uvicorn"])
def storm_servers(request, tmp_path):
    require_redis()
    psycopg = pytest.importorskip("psycopg")
    with fresh_postgres_database() as (database_url, name):
        env = base_env(tmp_path / "unused.sqlite3")
        env.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL, REDIS_PREFIX=f"cs-test-{name}")
        servers = []
        try:
            agents = prepare_database(
                env, [AgentSpec(f"agent{i:02}", capacity=CAPACITY) for i in range(AGENTS)]
            )
            servers = [launch(env, agents, tmp_path, server=request.param) for _ in range(2)]
            with psycopg.connect(database_url, autocommit=True) as db:
                yield servers, db
        finally:
            for server in servers:
                server.stop()


def _rows(db, sql: str, params: tuple = ()) -> list[tuple]:
    return db.execute(sql, params).fetchall()


def _queue(db) -> list[int]:
    return [row[0] for row in _rows(db, QUEUE_SQL)]


async def _gather_limited(limit: int, coroutines) -> list:
    gate = asyncio.Semaphore(limit)

    async def one(coroutine):
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))


async def _queue_listed(agent_client: Client) -> list[int]:
    """The whole queue as `queue:list` pages it, head first."""
    ids: list[int] = []
    while True:
        page = await agent_client.call("queue:list", {"offset": len(ids)})
        assert page["ok"], page
        ids += [c["id"] for c in page["conversations"]]
        if not page["has_more"]:
            assert page["length"] == len(ids), page
            return ids


def _new_conversations(agents: dict[str, Client]) -> dict[str, list[int]]:
    """The conversation ids each agent was given (`customer:new`), in arrival order."""
    return {name: [e["conversation"]["id"] for e in c.of("customer:new")] for name, c in agents.items()}


async def test_a_join_storm_across_two_processes_fills_every_place_once_and_queues_in_order(storm_servers):
    (one, two), db = storm_servers
    names = sorted(one.agents)
    agent_ids = {name: one.agents[name]["id"] for name in names}
    agent_names = {agent_ids[name]: name for name in names}
    logged_in = await asyncio.gather(*(agent((one, two)[i % 2], name) for i, name in enumerate(names)))
    agents = {name: client for name, (client, _ack) in zip(names, logged_in, strict=True)}

    # Customer i on process i % 2, from an address of its own.
    customers = await _gather_limited(
        CONNECTING,
        (
            Client((one, two)[i % 2], "/customer", transports=["websocket"], address=loopback(i)).connect()
            for i in range(CUSTOMERS)
        ),
    )
    # The storm: every join sent at once.
    acks = await asyncio.gather(
        *(c.call("customer:join", {"name": f"C{i}"}, timeout=60) for i, c in enumerate(customers))
    )
    assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]][:3]

    # --- 50 given out, 250 waiting: in the acks ---
    active = [i for i, a in enumerate(acks) if a["conversation"]["status"] == "active"]
    queued = [i for i, a in enumerate(acks) if a["conversation"]["status"] == "queued"]
    assert (len(active), len(queued)) == (PLACES, WAITING)
    assert all(acks[i]["queue_position"] is None and acks[i]["conversation"]["agent"] for i in active)
    assert Counter(acks[i]["conversation"]["agent"]["id"] for i in active) == {
        agent_id: CAPACITY for agent_id in agent_names
    }
    conversation_of = [a["conversation"]["id"] for a in acks]
    assert len(set(conversation_of)) == CUSTOMERS

    # --- and in the database: one agent per active conversation, five each ---
    by_status = dict(_rows(db, "select status, count(*) from chat_conversation group by status"))
    assert by_status == {"active": PLACES, "queued": WAITING}
    assigned_in_db = dict(_rows(db, "select id, agent_id from chat_conversation where status='active'"))
    assert assigned_in_db == {conversation_of[i]: acks[i]["conversation"]["agent"]["id"] for i in active}
    loads = dict(
        _rows(db, "select agent_id, count(*) from chat_conversation where status='active' group by agent_id")
    )
    assert loads == {agent_id: CAPACITY for agent_id in agent_names}
    assert _rows(
        db, "select count(*) from chat_conversation where status='queued' and agent_id is not null"
    ) == [(0,)]

    # --- every assignment announced once: to its agent, and to its customer ---
    await eventually(
        lambda: sum(map(len, _new_conversations(agents).values())) >= PLACES,
        timeout=20,
        what="customer:new for every assignment",
    )
    given = _new_conversations(agents)
    assert sorted(chain.from_iterable(given.values())) == sorted(assigned_in_db)  # distinct, 50 in all
    for name, conversation_ids in given.items():
        assert {assigned_in_db[c] for c in conversation_ids} == {agent_ids[name]}, name
    for i in active:
        told = await customers[i].wait_for("agent:assigned")
        assert told["conversation_id"] == conversation_of[i]
        assert told["agent"]["id"] == acks[i]["conversation"]["agent"]["id"]

    # --- the 250 waiting hold positions 1..250, which are their places in the queue ---
    position_of = {conversation_of[i]: acks[i]["queue_position"] for i in queued}
    assert sorted(position_of.values()) == list(range(1, WAITING + 1))
    queue = _queue(db)
    assert [position_of[c] for c in queue] == list(range(1, WAITING + 1))
    assert await _queue_listed(agents[names[0]]) == queue
    assert await _queue_listed(agents[names[1]]) == queue  # the other process reads the same

    # --- freed places go to the head of the queue, in order ---
    customer_of = {conversation_of[i]: customers[i] for i in range(CUSTOMERS)}
    # One at a time, alternating processes: the head goes to the agent who freed the place.
    for k, name in enumerate(names[:4]):
        ended = next(c for c in given[name] if c in assigned_in_db)
        assert (await agents[name].call("session:end", {"conversation_id": ended}))["ok"]
        del assigned_in_db[ended]
        told = await customer_of[queue[k]].wait_for("agent:assigned")
        assert told["agent"]["id"] == agent_ids[name], (k, told)
        assert _queue(db) == queue[k + 1 :]
    # Several at once, on both processes: the next heads, whoever serves them.
    freed = names[4:]
    ends = await asyncio.gather(
        *(
            agents[name].call(
                "session:end", {"conversation_id": next(c for c in given[name] if c in assigned_in_db)}
            )
            for name in freed
        )
    )
    assert all(e["ok"] for e in ends), ends
    heads = queue[4 : 4 + len(freed)]
    told = [await customer_of[c].wait_for("agent:assigned") for c in heads]
    assert sorted(t["agent"]["id"] for t in told) == sorted(agent_ids[name] for name in freed)
    rest = queue[4 + len(freed) :]
    assert _queue(db) == rest
    loads = dict(
        _rows(db, "select agent_id, count(*) from chat_conversation where status='active' group by agent_id")
    )
    assert loads == {agent_id: CAPACITY for agent_id in agent_names}
    assert await _queue_listed(agents[names[-1]]) == rest

    # Nobody else was given anything, and no conversation was given twice.
    await eventually(
        lambda: sum(map(len, _new_conversations(agents).values())) >= PLACES + len(names),
        timeout=10,
        what="customer:new for the freed places",
    )
    given = _new_conversations(agents)
    everything = list(chain.from_iterable(given.values()))
    assert len(everything) == len(set(everything)) == PLACES + len(names)
    assert all(len(customer_of[c].of("agent:assigned")) == 1 for c in everything)
    assert not any(customer_of[c].of("agent:assigned") for c in rest)
    # The waiting were told their new places.
    await eventually(
        lambda: all(
            customer_of[c].of("queue:position")
            and customer_of[c].of("queue:position")[-1]["position"] == k + 1
            for k, c in enumerate(rest)
        ),
        timeout=20,
        what="queue:position for everyone still waiting",
    )

    # Everyone leaves at once; each process sees its sockets go (the customer's
    # last_seen_at, the agent's socket count) without a failure of its own.
    (left_after,) = _rows(db, "select now()")[0]
    await asyncio.gather(*(c.disconnect() for c in [*customers, *agents.values()]))
    await eventually(
        lambda: (
            _rows(
                db,
                "select (select count(*) from customers_customer where last_seen_at < %s)"
                " + (select count(*) from agents_agentprofile where sockets > 0)",
                (left_after,),
            )
            == [(0,)]
        ),
        timeout=20,
        what="both processes saw every socket close",
    )
    for server in (one, two):
        log = server.log()
        # "Cannot publish": python-socketio's Redis manager failed to fan an event out.
        assert "Traceback" not in log and "Cannot publish" not in log, log[-3000:]
