"""A server process that dies or freezes, and the processes that go on.

Two Daphne processes on PostgreSQL and Redis, with the heartbeat, the
timeout and the grace period shortened by settings. What a dead process
held is taken back by the other one (chat.services.processes): its agents
go offline after the grace period and their customers are reassigned to
agents on the live process; its customers are no longer kept seen. Idle
close, on whichever process holds the lease or from `queue close-idle`,
leaves alone a customer connected to any process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest

from cs_project.testing.clients import agent, customer
from cs_project.testing.scaleout import scaled_out
from cs_project.testing.server import PYTHON, ROOT
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

FAST = {
    "PROCESS_HEARTBEAT_SECONDS": "0.3",
    "PROCESS_TIMEOUT_SECONDS": "1.5",
    "AGENT_GRACE_SECONDS": "2",
    "SWEEP_INTERVAL_SECONDS": "0.2",
}


def _agent_row(db, username: str) -> tuple:
    return db.query(
        "select p.status, p.sockets from agents_agentprofile p join auth_user u on u.id = p.user_id"
        " where u.username = %s",
        (username,),
    )[0]


def _agent_of(db, conversation_id: int) -> tuple:
    return db.query(
        "select c.status, u.username from chat_conversation c"
        " left join agents_agentprofile p on p.id = c.agent_id left join auth_user u on u.id = p.user_id"
        " where c.id = %s",
        (conversation_id,),
    )[0]


async def test_kill_9_of_the_agents_process_reassigns_its_customers_on_the_other(tmp_path):
    with scaled_out(tmp_path, env=FAST) as deployment:
        one, two = deployment.servers
        db = deployment.database
        ann, _ = await agent(one, "ann")
        ben, _ = await agent(two, "ben", status="busy")
        cat, _ = await agent(two, "cat", status="busy")
        carla, carla_ack = await customer(two, "Carla")
        dora, dora_ack = await customer(two, "Dora")
        conversations = [carla_ack["conversation"]["id"], dora_ack["conversation"]["id"]]
        assert [_agent_of(db, c) for c in conversations] == [("active", "ann")] * 2
        for client in (ben, cat):
            assert (await client.call("agent:status", {"status": "online"}))["ok"]
        assert db.scalar("select count(*) from chat_serverprocess") == 2

        one.process.kill()  # SIGKILL: nothing of it runs again
        one.process.wait()

        # Taken back once the process is silent past the timeout: Ann has
        # no socket left, so a new customer is not given to her...
        await eventually(lambda: _agent_row(db, "ann")[1] == 0, what="Ann's sockets taken back")
        assert db.scalar("select count(*) from chat_serverprocess") == 1
        _, erin_ack = await customer(two, "Erin")
        assert erin_ack["conversation"]["agent"]["name"] in ("Ben", "Cat"), erin_ack
        # ...and once her grace period is over she is offline, and her
        # customers are with the agents of the live process.
        await eventually(lambda: _agent_row(db, "ann") == ("offline", 0), timeout=15, what="Ann offline")
        await eventually(
            lambda: all(
                _agent_of(db, c)[0] == "active" and _agent_of(db, c)[1] in ("ben", "cat")
                for c in conversations
            ),
            timeout=15,
            what="Ann's customers reassigned",
        )
        for client in (carla, dora):
            told = await client.wait_for("agent:assigned", lambda a: a["agent"]["name"] in ("Ben", "Cat"))
            assert told
        # Each given once, to Ben or Cat (the events follow the commit).
        given = sorted([*conversations, erin_ack["conversation"]["id"]])
        await eventually(
            lambda: (
                sorted(e["conversation"]["id"] for n, e in ben.events + cat.events if n == "customer:new")
                == given
            ),
            what="customer:new for each, once",
        )
        # Nobody over capacity, nothing given twice.
        loads = db.query(
            "select agent_id, count(*) from chat_conversation where status = 'active' group by agent_id"
        )
        assert sorted(n for _, n in loads) == [1, 2]
        for client in (ann, ben, cat, carla, dora):
            await client.disconnect()


async def test_a_frozen_process_is_taken_for_dead_and_counts_again_once_it_wakes(tmp_path):
    with scaled_out(tmp_path, env=FAST) as deployment:
        one, two = deployment.servers
        db = deployment.database
        ann, _ = await agent(one, "ann")
        ben, _ = await agent(two, "ben")
        assert _agent_row(db, "ann") == ("online", 1)

        os.kill(one.process.pid, signal.SIGSTOP)
        try:
            await eventually(lambda: _agent_row(db, "ann")[1] == 0, what="Ann's socket taken back")
        finally:
            os.kill(one.process.pid, signal.SIGCONT)
        # Awake, the process finds itself taken for dead: it registers again
        # and sends its agents' sockets to reconnect, counting nothing twice.
        await eventually(lambda: not ann.connected, what="Ann's socket closed for reconnect")
        await eventually(
            lambda: db.scalar("select count(*) from chat_serverprocess") == 2, what="registered again"
        )
        assert _agent_row(db, "ann")[1] == 0
        again, _ = await agent(one, "ann")
        assert _agent_row(db, "ann") == ("online", 1)
        assert _agent_row(db, "ben") == ("online", 1)
        for client in (again, ben):
            await client.disconnect()


async def test_idle_close_leaves_alone_a_customer_connected_to_the_other_process(tmp_path):
    env = {**FAST, "CUSTOMER_IDLE_SECONDS": "2"}
    with scaled_out(tmp_path, env=env) as deployment:
        one, two = deployment.servers
        db = deployment.database
        # Silent, connected: one on each process, so that whichever holds
        # the lease, one of them is on the other process.
        _xavier, xavier_ack = await customer(one, "Xavier")
        zoe, zoe_ack = await customer(two, "Zoe")
        yann, yann_ack = await customer(two, "Yann")
        await yann.disconnect()  # gone and silent: closed once idle
        gone = yann_ack["conversation"]["id"]
        await eventually(
            lambda: (
                db.scalar("select end_reason from chat_conversation where id = %s", (gone,))
                == "customer_idle"
            ),
            timeout=15,
            what="Yann's conversation closed as idle",
        )
        # Several idle periods later, the connected ones are still open:
        # their processes keep them seen.
        connected = (xavier_ack["customer"]["id"], zoe_ack["customer"]["id"])
        await eventually(
            lambda: db.scalar(
                "select min(last_seen_at) > now() - interval '1 second' from customers_customer"
                " where id in (%s, %s)",
                connected,
            ),
            what="the connected customers kept seen",
        )
        await asyncio.sleep(3 * 2)
        kept = [xavier_ack["conversation"]["id"], zoe_ack["conversation"]["id"]]
        assert (
            db.query("select status from chat_conversation where id in (%s, %s)", tuple(kept))
            == [("queued",)] * 2
        )
        # The operator's command, outside every process, agrees.
        ran = await asyncio.to_thread(
            subprocess.run,
            [PYTHON, "manage.py", "queue", "close-idle"],
            cwd=ROOT,
            env=deployment.env | {"CUSTOMER_IDLE_SECONDS": "2"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == "closed 0", ran.stdout
        assert (
            db.query("select status from chat_conversation where id in (%s, %s)", tuple(kept))
            == [("queued",)] * 2
        )
        # Once a customer's process dies, nothing keeps it seen: it is closed as idle.
        one.process.kill()
        one.process.wait()
        await eventually(
            lambda: (
                db.scalar("select end_reason from chat_conversation where id = %s", (kept[0],))
                == "customer_idle"
            ),
            timeout=20,
            what="Xavier closed once his process died",
        )
        assert db.scalar("select status from chat_conversation where id = %s", (kept[1],)) == "queued"
        await zoe.disconnect()


async def test_one_process_holds_the_maintenance_lease_and_another_takes_it_when_it_dies(tmp_path):
    import redis

    with scaled_out(tmp_path, env=FAST) as deployment:
        one, two = deployment.servers
        db = deployment.database
        store = redis.Redis.from_url(deployment.env["REDIS_URL"])
        key = f"{deployment.env['REDIS_PREFIX']}:maintenance"
        # Both started (registered), so both sweep for the lease.
        clients = [(await agent(server, name))[0] for server, name in ((one, "ann"), (two, "ben"))]
        pids = {one.process.pid: one, two.process.pid: two}

        def holder() -> int | None:
            value = store.get(key)
            return None if value is None else int(value.decode().split(":")[1])

        first = await eventually(holder, what="a lease holder")
        assert first in pids
        # It keeps it: the same holder over many sweeps, never both at once.
        for _ in range(10):
            await asyncio.sleep(0.2)
            assert holder() == first
        pids[first].process.kill()
        pids[first].process.wait()
        survivor = next(pid for pid in pids if pid != first)
        await eventually(lambda: holder() == survivor, timeout=15, what="the survivor holding the lease")
        # And it does the dead one's maintenance: its agent's socket taken back.
        gone = "ann" if pids[first] is one else "ben"
        await eventually(
            lambda: _agent_row(db, gone)[1] == 0, timeout=15, what="the dead process's agent taken back"
        )
        for client in clients:
            await client.disconnect()
