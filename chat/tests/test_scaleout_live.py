"""Two Daphne processes on PostgreSQL and Redis: the scale-out path, for real.

Customers and agents are spread over both processes. Assignment must stay
atomic across them (row locks), messages and internal chat must cross from
one process to the other (Redis manager, channels_redis group).
"""

import asyncio
import os
import secrets

import pytest

from cs_project.testing.clients import Client, agent
from cs_project.testing.database import prepare_database
from cs_project.testing.server import base_env, launch
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _postgres():
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {error}")


def _redis_available() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")


@pytest.fixture
def two_servers(tmp_path):
    _redis_available()
    admin = _postgres()
    name = f"cs_test_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    env = base_env(tmp_path / "unused.sqlite3")
    env.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL, REDIS_PREFIX=f"cs-test-{name}")
    servers = []
    try:
        agents = prepare_database(env)
        servers = [launch(env, agents, tmp_path) for _ in range(2)]
        yield servers, database_url
    finally:
        for server in servers:
            server.stop()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


async def test_assignment_is_atomic_and_messages_cross_processes(two_servers):
    (one, two), database_url = two_servers
    # ann and ben on different processes, capacity 2 each: 4 places for 10 customers.
    ann, _ = await agent(one, "ann")
    ben, _ = await agent(two, "ben")
    agent_clients = {"Ann": (ann, one), "Ben": (ben, two)}

    async def join(i):
        client = await Client((one, two)[i % 2], "/customer").connect()
        ack = await client.call("customer:join", {"name": f"C{i}"})
        assert ack["ok"], ack
        return client, ack

    joined = await asyncio.gather(*(join(i) for i in range(10)))
    statuses = [ack["conversation"]["status"] for _, ack in joined]
    assert statuses.count("active") == 4 and statuses.count("queued") == 6
    positions = sorted(ack["queue_position"] for _, ack in joined if ack["queue_position"])
    assert positions == [1, 2, 3, 4, 5, 6]

    # The database agrees: nobody above capacity, one agent per conversation.
    import psycopg

    with psycopg.connect(database_url) as db:
        loads = db.execute(
            "select agent_id, count(*) from chat_conversation where status='active' group by agent_id"
        ).fetchall()
        assert sorted(n for _, n in loads) == [2, 2]
        assert db.execute("select count(*) from chat_conversation where status='queued'").fetchone()[0] == 6

    # A customer tab on the other process than its agent: messages cross both ways.
    client, ack = next((c, a) for c, a in joined if a["conversation"]["status"] == "active")
    agent_name = ack["conversation"]["agent"]["name"]
    agent_client, agent_server = agent_clients[agent_name]
    other_server = two if agent_server is one else one
    tab = await Client(other_server, "/customer").connect(auth={"token": ack["token"]})
    sent = await tab.call("customer:message", {"text": "across processes", "client_id": "x-1"})
    assert sent["ok"], sent
    got = await agent_client.wait_for("customer:message", lambda m: m.get("client_id") == "x-1")
    assert got["id"] == sent["message"]["id"]
    # On PostgreSQL too: a resend returns the stored message, a burst keeps its order.
    again = await client.call("customer:message", {"text": "across processes", "client_id": "x-1"})
    assert again["message"]["id"] == sent["message"]["id"]
    burst = await asyncio.gather(
        *(tab.call("customer:message", {"text": f"b{i}", "client_id": f"b-{i}"}) for i in range(40))
    )
    assert [b["message"]["text"] for b in sorted(burst, key=lambda b: b["message"]["id"])] == [
        f"b{i}" for i in range(40)
    ]
    await agent_client.wait_for("customer:message", lambda m: m["text"] == "b39")
    relayed = [m["text"] for m in agent_client.of("customer:message") if m["text"].startswith("b")]
    assert relayed == [f"b{i}" for i in range(40)]
    conversation_id = ack["conversation"]["id"]
    reply = await agent_client.call("agent:message", {"conversation_id": conversation_id, "text": "and back"})
    assert reply["ok"]
    for receiver in (tab, client):
        back = await receiver.wait_for("agent:message", lambda m: m["text"] == "and back")
        assert back["id"] == reply["message"]["id"]

    # Internal chat crosses processes once, through the channel layer.
    note = await ann.call("agent:internal", {"text": "team note", "client_id": "n-1"})
    assert note["ok"]
    got = await ben.wait_for("agent:internal")
    assert got["text"] == "team note"
    await asyncio.sleep(0.3)
    assert len(ben.of("agent:internal")) == 1
    assert ann.of("agent:internal") == []

    # Ending a conversation on one process drains the queue's head to that agent.
    end = await agent_client.call("session:end", {"conversation_id": conversation_id})
    assert end["ok"]
    first_waiting = next(c for c, a in joined if a["queue_position"] == 1)
    assigned = await first_waiting.wait_for("agent:assigned")
    assert assigned["agent"]["name"] == agent_name

    for c in [tab, ann, ben, *(c for c, _ in joined)]:
        await c.disconnect()


async def _admin_session(server, username: str, password: str):
    """An HTTP session signed in to admin on `server` through its login form."""
    import aiohttp

    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{server.url}/admin/login/") as page:
        assert page.status == 200
    csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
    async with http.post(
        f"{server.url}/admin/login/?next=/admin/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf, "next": "/admin/"},
        headers={"Referer": f"{server.url}/admin/login/"},
        allow_redirects=False,
    ) as response:
        assert response.status == 302, await response.text()
    return http


async def test_revocations_reach_the_sockets_of_every_process(two_servers):
    (one, two), database_url = two_servers
    import psycopg

    with psycopg.connect(database_url) as db:  # test set-up: bill is a supervisor
        db.execute("update auth_user set is_staff=true, is_superuser=true where username='bill'")
    # Ben and a tab of Carla's on process two; the changes are made through process one.
    ben, _ = await agent(two, "ben")
    carla = await Client(one, "/customer").connect()
    join = await carla.call("customer:join", {"name": "Carla"})
    assert join["ok"], join
    carla_elsewhere = await Client(two, "/customer").connect(auth={"token": join["token"]})

    http = await _admin_session(one, "bill", "bill-pass")
    async with http:
        csrf = next(c.value for c in http.cookie_jar if c.key == "csrftoken")
        async with http.post(
            f"{one.url}/admin/agents/agentprofile/",
            data={
                "action": "deactivate",
                "_selected_action": str(two.agents["ben"]["id"]),
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": f"{one.url}/admin/agents/agentprofile/"},
        ) as response:
            assert response.status == 200
    await eventually(lambda: not ben.connected, what="Ben's socket on the other process closed")
    with psycopg.connect(database_url) as db:
        await eventually(
            lambda: (
                db.execute(
                    "select sockets from agents_agentprofile where id=%s", (two.agents["ben"]["id"],)
                ).fetchone()[0]
                == 0
            ),
            what="Ben's presence down to 0",
        )

    restart = await carla.call("customer:join", {"token": join["token"], "new_chat": True, "name": "Dora"})
    assert restart["ok"], restart
    await eventually(
        lambda: not carla_elsewhere.connected, what="the previous visitor's tab on process two closed"
    )
    assert carla.connected
    for server in (one, two):
        assert "Traceback" not in server.log()
    await carla.disconnect()
