"""Two Daphne processes on PostgreSQL and Redis: the scale-out path, for real.

Customers and agents are spread over both processes. Assignment must stay
atomic across them (row locks), messages and internal chat must cross from
one process to the other (Redis manager, channels_redis group).
"""

import asyncio
import re

import pytest
from django.utils import translation
from django.utils.translation import gettext

from cs_project.testing.clients import Client, agent
from cs_project.testing.database import prepare_database
from cs_project.testing.server import base_env, launch
from cs_project.testing.services import REDIS_URL, fresh_postgres_database, require_redis
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def two_servers(tmp_path):
    require_redis()
    with fresh_postgres_database() as (database_url, name):
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


async def test_system_messages_reach_each_language_on_every_process(two_servers):
    (one, two), _database_url = two_servers
    token = one.agents["ann"]["token"]
    # Ann reads English on process two and Chinese on process one; Carla
    # reads Chinese on process one and English in a tab on process two.
    ann_en = await Client(two, "/agent").connect(auth={"token": token, "lang": "en"})
    ann_zh = await Client(one, "/agent").connect(auth={"token": token, "lang": "zh-hans"})
    for client in (ann_en, ann_zh):
        assert (await client.call("agent:login", {}))["ok"]
    carla = await Client(one, "/customer").connect(headers={"Accept-Language": "zh-CN"})
    join = await carla.call("customer:join", {"name": "Carla"})
    assert join["ok"] and join["conversation"]["agent"]["name"] == "Ann", join
    tab_en = await Client(two, "/customer").connect(auth={"token": join["token"], "lang": "en"})
    cid = join["conversation"]["id"]
    with translation.override("zh-hans"):
        joined_zh = gettext("%(agent)s joined the conversation.") % {"agent": "Ann"}
        ended_zh = gettext("%(agent)s ended the conversation.") % {"agent": "Ann"}
    assert CJK.search(joined_zh) and CJK.search(ended_zh)
    assert [m["text"] for m in (await ann_zh.wait_for("customer:new"))["messages"]] == [joined_zh]
    assert [m["text"] for m in (await ann_en.wait_for("customer:new"))["messages"]] == [
        "Ann joined the conversation."
    ]

    # Ended through the English socket on process two.
    assert (await ann_en.call("session:end", {"conversation_id": cid}))["ok"]

    def ended(m):
        return m["system"] is not None and m["system"]["code"] == "ended_by_agent"

    assert (await carla.wait_for("agent:message", ended))["text"] == ended_zh
    assert (await tab_en.wait_for("agent:message", ended))["text"] == "Ann ended the conversation."
    assert (await ann_zh.wait_for("customer:message", ended))["text"] == ended_zh
    assert (await ann_en.wait_for("customer:message", ended))["text"] == "Ann ended the conversation."
    await asyncio.sleep(0.3)  # each socket got it once, in its own language only
    for client, event in ((carla, "agent:message"), (tab_en, "agent:message"), (ann_zh, "customer:message")):
        assert len([m for m in client.of(event) if ended(m)]) == 1, client.of(event)

    # A transfer made on process one: the notification is worded on each process.
    carla_two = await Client(two, "/customer").connect(headers={"Accept-Language": "zh-CN"})
    again = await carla_two.call("customer:join", {"name": "Carla Two"})
    assert again["conversation"]["agent"]["name"] == "Ann", again
    second = again["conversation"]["id"]
    ben, _ = await agent(one, "ben")
    moved = await ann_zh.call(
        "session:transfer", {"conversation_id": second, "to_agent_id": one.agents["ben"]["id"]}
    )
    assert moved["ok"], moved
    with translation.override("zh-hans"):
        taken_zh = gettext("Conversation #%(id)s is no longer yours.") % {"id": second}
    assert (await ann_zh.wait_for("system:notification"))["text"] == taken_zh
    assert (await ann_en.wait_for("system:notification"))[
        "text"
    ] == f"Conversation #{second} is no longer yours."
    with translation.override("zh-hans"):
        to_ben_zh = gettext("You were transferred to %(agent)s.") % {"agent": "Ben"}
    transferred = await carla_two.wait_for("agent:message", lambda m: m["system"] is not None)
    assert transferred["system"]["code"] == "transferred" and transferred["text"] == to_ben_zh
    for client in (ann_en, ann_zh, carla, tab_en, carla_two, ben):
        await client.disconnect()
