"""Redis and PostgreSQL restarting under two live server processes.

A customer on one process chats with an agent on the other. The test's own
Redis (or PostgreSQL) is stopped mid-chat and started again; meanwhile both
sides go on sending. Whatever the servers acknowledged as stored must be
stored, once, and in the history; whatever they could not store they must
refuse (an error ack); and once the service is back, messages cross the
processes live again without restarting either server (docs/DEPLOY.md,
"When Redis or PostgreSQL restarts").
"""

import asyncio
import itertools
from contextlib import contextmanager

import psycopg
import pytest
import socketio

from cs_project.testing.clients import Client, agent, burst, customer
from cs_project.testing.database import prepare_database
from cs_project.testing.server import base_env, launch
from cs_project.testing.services import (
    REDIS_URL,
    fresh_postgres_database,
    private_postgres,
    private_redis,
    require_redis,
)
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

# How many messages each side sends while the service is down.
DURING_OUTAGE = 5
# Probes sent, one at a time, while waiting for messages to cross processes
# again (the processes reconnect to Redis on their own schedule).
PROBES = 120
# Messages sent at once as the service goes down.
BURST = 20

_ids = itertools.count()


@contextmanager
def two_servers(tmp_path, database_url: str, redis_url: str, prefix: str, **extra_env: str):
    env = base_env(tmp_path / "unused.sqlite3")
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, REDIS_PREFIX=prefix, **extra_env)
    agents = prepare_database(env)
    servers = []
    try:
        servers = [launch(env, agents, tmp_path) for _ in range(2)]
        yield servers
    finally:
        for server in servers:
            server.stop()


async def chatting(one, two, *, cross: bool = True):
    """Ann on process two, Carla on process one, in one conversation; a message each way (`cross`)."""
    ann, _ = await agent(two, "ann")
    carla, join = await customer(one, "Carla")
    assert join["conversation"]["agent"]["name"] == "Ann", join
    if cross:
        await crossing(carla, ann, join["conversation"]["id"], attempts=1)
    return ann, carla, join


def customer_says(client_id: str, conversation_id: int):
    return "customer:message", {"text": f"customer {client_id}", "client_id": client_id}


def agent_says(client_id: str, conversation_id: int):
    return "agent:message", {
        "conversation_id": conversation_id,
        "text": f"agent {client_id}",
        "client_id": client_id,
    }


async def send(sender: Client, say, conversation_id: int, tag: str) -> tuple[str, dict | None]:
    """One message; its client_id and its ack (None: no ack came)."""
    client_id = f"{tag}-{next(_ids)}"
    event, payload = say(client_id, conversation_id)
    try:
        return client_id, await sender.call(event, payload, timeout=15)
    except socketio.exceptions.TimeoutError:
        return client_id, None


async def crossing(
    carla: Client, ann: Client, conversation_id: int, attempts: int = PROBES
) -> dict[str, dict]:
    """Send probes each way, one at a time, until one reaches the other process live.

    Returns every ack (client_id -> ack) of the probes sent meanwhile.
    """
    acks: dict[str, dict | None] = {}
    for sender, say, receiver, event in (
        (carla, customer_says, ann, "customer:message"),
        (ann, agent_says, carla, "agent:message"),
    ):
        for _ in range(attempts):
            client_id, ack = await send(sender, say, conversation_id, "probe")
            acks[client_id] = ack
            if ack is not None and ack["ok"]:
                try:
                    await receiver.wait_for(
                        event, lambda m, sent=client_id: m["client_id"] == sent, timeout=1
                    )
                    break
                except AssertionError:
                    pass  # stored, but not relayed yet
            else:
                await asyncio.sleep(0.5)  # refused: the service is not back yet
        else:
            raise AssertionError(f"no {event} crossed processes after {attempts} probes: {acks!r}")
    return acks


async def internal_crossing(ann: Client, ben: Client, attempts: int = PROBES) -> None:
    """Internal notes from Ann, one at a time, until one reaches Ben on the other process."""
    for _ in range(attempts):
        client_id = f"note-{next(_ids)}"
        try:
            ack = await ann.call("agent:internal", {"text": "note", "client_id": client_id}, timeout=15)
        except socketio.exceptions.TimeoutError:
            continue
        if ack["ok"]:
            try:
                await ben.wait_for(
                    "agent:internal",
                    lambda m, sent=ack["message"]["id"]: m["id"] == sent,
                    timeout=1,
                )
                return
            except AssertionError:
                pass
        else:
            await asyncio.sleep(1)
    raise AssertionError(f"no agent:internal crossed processes after {attempts} notes")


async def both_in_revocations_group(redis_url: str, prefix: str) -> None:
    """Wait until both processes' revocation bridges are in their group (a restarted Redis forgets it)."""
    import redis

    with redis.Redis.from_url(redis_url) as members:
        await eventually(
            lambda: members.zcard(f"{prefix}:group:chat.revocations") == 2,
            timeout=30,
            what="both processes in the revocations group",
        )


async def during_outage(carla: Client, ann: Client, conversation_id: int) -> dict[str, dict | None]:
    """Both sides send while the service is down: each message acked stored, refused, or unanswered."""
    acks: dict[str, dict | None] = {}
    for _ in range(DURING_OUTAGE):
        for sender, say in ((carla, customer_says), (ann, agent_says)):
            client_id, ack = await send(sender, say, conversation_id, "outage")
            acks[client_id] = ack
    for client_id, ack in acks.items():
        # Answered, either way: a client is never left waiting.
        assert ack is not None and (ack["ok"] or ack["error"]["code"]), (client_id, ack)
    return acks


async def in_flight(tab: Client, stop) -> dict[str, dict]:
    """A burst from `tab` with `stop()` (the service going down) in the middle of it."""
    payloads = [{"text": f"burst {i}", "client_id": f"burst-{next(_ids)}"} for i in range(BURST)]
    acks, _ = await asyncio.gather(
        burst(tab, "customer:message", payloads), asyncio.get_running_loop().run_in_executor(None, stop)
    )
    for ack in acks:
        assert ack["ok"] or ack["error"]["code"], ack
    return {payload["client_id"]: ack for payload, ack in zip(payloads, acks, strict=True)}


async def tab_of(server, join: dict) -> Client:
    """Another tab of the customer who joined with `join`, joined on `server`."""
    tab = await Client(server, "/customer").connect(auth={"token": join["token"]})
    ack = await tab.call("customer:join", {"token": join["token"]})
    assert ack["ok"], ack
    return tab


async def customer_history(carla: Client) -> list[dict]:
    """Every message of Carla's conversation, paged with messages:fetch."""
    messages, more = [], True
    while more:
        page = await carla.call("messages:fetch", {"after_id": messages[-1]["id"] if messages else 0})
        assert page["ok"], page
        messages += page["messages"]
        more = page["has_more"]
    return messages


async def agent_history(ann: Client, customer_id: int) -> list[dict]:
    result = await ann.call("conversation:history", {"customer_id": customer_id, "limit": 200})
    assert result["ok"], result
    return result["messages"]


async def check_after_restart(database_url, carla, ann, join, acks: dict[str, dict | None]) -> None:
    """Every message acked stored is stored once and in both histories; new ones cross live, once."""
    conversation_id = join["conversation"]["id"]
    stored = {client_id: ack["message"] for client_id, ack in acks.items() if ack and ack["ok"]}
    with psycopg.connect(database_url) as db:
        for client_id, message in stored.items():
            rows = db.execute("select id from chat_message where client_id=%s", (client_id,)).fetchall()
            assert rows == [(message["id"],)], (client_id, rows)

    for history in (await customer_history(carla), await agent_history(ann, join["customer"]["id"])):
        ids = [m["id"] for m in history]
        assert len(ids) == len(set(ids)), ids
        assert {m["id"] for m in stored.values()} <= set(ids)
        client_ids = [m["client_id"] for m in history if m["client_id"]]
        assert len(client_ids) == len(set(client_ids)), client_ids

    # After the restart: live both ways, and once.
    client_id, ack = await send(carla, customer_says, conversation_id, "after")
    assert ack["ok"], ack
    got = await ann.wait_for("customer:message", lambda m: m["client_id"] == client_id)
    assert got["id"] == ack["message"]["id"]
    client_id, ack = await send(ann, agent_says, conversation_id, "after")
    assert ack["ok"], ack
    got = await carla.wait_for("agent:message", lambda m: m["client_id"] == client_id)
    assert got["id"] == ack["message"]["id"]
    await asyncio.sleep(0.3)  # anything sent twice would have come by now
    for client, event in ((ann, "customer:message"), (carla, "agent:message")):
        ids = [m["id"] for m in client.of(event)]
        assert len(ids) == len(set(ids)), (event, ids)


async def test_a_redis_restart_mid_chat_loses_nothing_acknowledged(tmp_path):
    with private_redis() as redis, fresh_postgres_database() as (database_url, name):
        prefix = f"cs-test-{name}"
        with two_servers(tmp_path, database_url, redis.url, prefix) as (one, two):
            ann, carla, join = await chatting(one, two)
            conversation_id = join["conversation"]["id"]
            ben, _ = await agent(one, "ben")  # after Carla's join: she is Ann's
            await internal_crossing(ann, ben, attempts=1)

            acks = await in_flight(await tab_of(one, join), redis.stop)
            acks |= await during_outage(carla, ann, conversation_id)
            # Internal chat and a new visitor during the outage: both served.
            note = await ann.call("agent:internal", {"text": "during", "client_id": "note-during"})
            assert note["ok"], note
            dora, _ = await customer(two, "Dora")
            redis.start()
            acks |= await crossing(carla, ann, conversation_id)
            await internal_crossing(ann, ben)

            assert carla.connected and ann.connected and ben.connected
            await check_after_restart(database_url, carla, ann, join, acks)
            with psycopg.connect(database_url) as db:
                rows = db.execute("select id from chat_internalmessage where client_id='note-during'")
                assert rows.fetchall() == [(note["message"]["id"],)]

            # Revocations cross again: Carla starting over closes her tab on
            # the other process. The restarted Redis has forgotten the group:
            # both processes must have joined it again.
            tab = await Client(two, "/customer").connect(auth={"token": join["token"]})
            await both_in_revocations_group(redis.url, prefix)
            again = await carla.call(
                "customer:join", {"token": join["token"], "new_chat": True, "name": "Dora"}
            )
            assert again["ok"], again
            await eventually(lambda: not tab.connected, what="the revoked tab on the other process closed")
            for client in (carla, ann, ben, dora):
                await client.disconnect()


async def test_a_postgres_restart_refuses_or_stores_and_service_resumes(tmp_path):
    require_redis()
    with private_postgres() as postgres:
        # No sweeps: their queries would find the dead connections first.
        servers = two_servers(
            tmp_path, postgres.url, REDIS_URL, f"cs-test-pg-{postgres.port}", SWEEP_INTERVAL_SECONDS="3600"
        )
        with servers as (one, two):
            ann, carla, join = await chatting(one, two)
            conversation_id = join["conversation"]["id"]

            # Restarted while nobody sends: the connections the servers keep
            # are dead, yet the first message each way is stored (not refused).
            postgres.stop()
            postgres.start()
            first = {}
            for sender, say in ((carla, customer_says), (ann, agent_says)):
                client_id, first[client_id] = await send(sender, say, conversation_id, "first")
                assert first[client_id] is not None and first[client_id]["ok"], first
            dora, _ = await customer(two, "Dora")

            acks = await in_flight(await tab_of(one, join), lambda: postgres.stop("immediate"))
            outage = await during_outage(carla, ann, conversation_id)
            # Nothing can be stored without the database: none acked as stored.
            assert not [ack for ack in outage.values() if ack["ok"]], outage
            postgres.start()
            acks |= first | outage
            acks |= await crossing(carla, ann, conversation_id)

            assert carla.connected and ann.connected
            await check_after_restart(postgres.url, carla, ann, join, acks)
            # A tab reconnecting with its token resumes too.
            again = await tab_of(two, join)
            assert (await again.call("customer:message", {"text": "from a new tab"}))["ok"]
            for client in (carla, ann, dora, again):
                await client.disconnect()


async def test_processes_whose_first_sockets_come_while_redis_is_down(tmp_path):
    with private_redis() as redis, fresh_postgres_database() as (database_url, name):
        prefix = f"cs-test-{name}"
        with two_servers(tmp_path, database_url, redis.url, prefix, AGENT_GRACE_SECONDS="0.5") as (one, two):
            # Nothing has connected yet: each process starts its background
            # tasks (bridges, sweeper) with its first socket, now.
            redis.stop()
            ann, carla, join = await chatting(one, two, cross=False)
            conversation_id = join["conversation"]["id"]
            ben, _ = await agent(one, "ben")
            redis.start()

            await crossing(carla, ann, conversation_id)
            await internal_crossing(ann, ben)
            await both_in_revocations_group(redis.url, prefix)
            # The sweeper runs too: Ben, gone, goes offline after his grace.
            await ben.disconnect()
            with psycopg.connect(database_url, autocommit=True) as db:
                await eventually(
                    lambda: (
                        db.execute(
                            "select status from agents_agentprofile where id=%s", (one.agents["ben"]["id"],)
                        ).fetchone()[0]
                        == "offline"
                    ),
                    what="Ben offline after his grace period",
                )
            for client in (carla, ann):
                await client.disconnect()


async def test_a_postgres_outage_longer_than_the_process_timeout_takes_nobody_for_dead(tmp_path):
    require_redis()
    timing = {"PROCESS_HEARTBEAT_SECONDS": "1", "PROCESS_TIMEOUT_SECONDS": "2", "AGENT_GRACE_SECONDS": "3"}
    with private_postgres() as postgres:
        servers = two_servers(tmp_path, postgres.url, REDIS_URL, f"cs-test-pg-{postgres.port}", **timing)
        with servers as (one, two):
            ann, carla, join = await chatting(one, two)
            postgres.stop()
            await asyncio.sleep(6)  # three process timeouts without a heartbeat anywhere
            postgres.start()
            await crossing(carla, ann, join["conversation"]["id"])
            await asyncio.sleep(6)  # heartbeats, expiry and the grace period have come round
            assert ann.connected and carla.connected
            with psycopg.connect(postgres.url) as db:
                status = db.execute(
                    "select status from chat_conversation where id=%s", (join["conversation"]["id"],)
                ).fetchone()[0]
            assert status == "active"
            for client in (carla, ann):
                await client.disconnect()


async def test_processes_whose_first_sockets_come_while_postgres_is_down(tmp_path):
    require_redis()
    with private_postgres() as postgres:
        servers = two_servers(
            tmp_path, postgres.url, REDIS_URL, f"cs-test-pg-{postgres.port}", AGENT_GRACE_SECONDS="0.5"
        )
        with servers as (one, two):
            postgres.stop()
            for server in (one, two):
                with pytest.raises(socketio.exceptions.ConnectionError):
                    await Client(server, "/agent").connect(auth={"token": server.agents["ann"]["token"]})
            postgres.start()
            ann, carla, join = await chatting(one, two, cross=False)
            ben, _ = await agent(one, "ben")
            await crossing(carla, ann, join["conversation"]["id"])
            await internal_crossing(ann, ben, attempts=10)
            await ben.disconnect()
            with psycopg.connect(postgres.url, autocommit=True) as db:
                await eventually(
                    lambda: (
                        db.execute(
                            "select status from agents_agentprofile where id=%s", (one.agents["ben"]["id"],)
                        ).fetchone()[0]
                        == "offline"
                    ),
                    what="Ben offline after his grace period (the sweeper runs)",
                )
            for client in (carla, ann):
                await client.disconnect()
