"""Rate limits against a real server and real clients (docs/SECURITY.md, "Rate limits").

Floods come from one loopback address, in a process of their own
(cs_project.testing.flood); an honest conversation from another address
measures its customer-to-agent pace without the flood and with it, in the
same run, and the two are compared as a ratio (no absolute timings).
"""

from __future__ import annotations

import asyncio
import statistics

import pytest

from cs_project.testing import flood as flood_process
from cs_project.testing.clients import Client, agent, customer, loopback
from cs_project.testing.database import prepare_database
from cs_project.testing.server import LiveServer, base_env, launch
from cs_project.testing.services import REDIS_URL, fresh_postgres_database, require_redis
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live

HONEST, ATTACKER, OTHER = loopback(0), loopback(1), loopback(2)


# --- helpers ------------------------------------------------------------------------------


async def pace(carla: Client, ann: Client, label: str, rounds: int = 40) -> float:
    """p99 seconds from carla's send to ann's receipt, one message at a time."""
    loop = asyncio.get_running_loop()
    took = []
    for i in range(rounds):
        tag = f"{label}-{i}"
        sent = loop.time()
        ack = await carla.call("customer:message", {"text": tag, "client_id": tag}, timeout=60)
        assert ack["ok"], ack
        await ann.wait_for("customer:message", lambda m, tag=tag: m["text"] == tag, timeout=60)
        took.append(loop.time() - sent)
        # Below the 20 events a second a customer socket may keep up (its
        # burst of 60 is gone after a few dozen rounds at full speed): the
        # honest chat stays within its own limits however fast the machine.
        await asyncio.sleep(0.05)
    return statistics.quantiles(took, n=100)[98]


async def start_flood(server: LiveServer, mode: str, sockets: int, address: str = ATTACKER):
    return await asyncio.to_thread(flood_process.start, server.url, address, mode, sockets)


async def end_flood(process) -> dict:
    return await asyncio.to_thread(flood_process.stop, process)


async def honest_conversation(server: LiveServer) -> tuple[Client, Client]:
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla", address=HONEST)
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == join["conversation"]["id"])
    await pace(carla, ann, "warm-up", rounds=10)
    return carla, ann


def keeps_pace(baseline: float, flooded: float) -> bool:
    return flooded < 5 * baseline + 0.25


async def join_time(server: LiveServer, address: str) -> float:
    loop = asyncio.get_running_loop()
    client = await Client(server, "/customer", address=address).connect()
    started = loop.time()
    ack = await client.call("customer:join", {"name": "Newcomer"}, timeout=120)
    took = loop.time() - started
    assert ack["ok"], ack
    await client.disconnect()
    return took


# --- floods ---------------------------------------------------------------------------------


async def test_typing_flood_is_coalesced_and_limited_while_another_chat_keeps_its_pace(start_chat_server):
    # uvicorn, as deploy/serve runs it in production (see docs/SECURITY.md on Daphne).
    chat_server = start_chat_server(server="uvicorn")
    carla, ann = await honest_conversation(chat_server)
    ben, _ = await agent(chat_server, "ben")
    baseline = await pace(carla, ann, "before")
    join_before = await join_time(chat_server, OTHER)

    loop = asyncio.get_running_loop()
    flood = await start_flood(chat_server, "typing", sockets=5)
    started = loop.time()
    flooded = await pace(carla, ann, "during")
    counts = await end_flood(flood)
    seconds = loop.time() - started

    assert counts.get("rate_limited", 0) > 0, counts
    assert keeps_pace(baseline, flooded), (
        f"p99 {baseline * 1000:.0f} ms before, {flooded * 1000:.0f} ms during"
    )
    # Coalesced: each flooding conversation's agent heard at most one change a
    # second (plus the first), not the thousands sent.
    heard = len(ann.of("customer:typing")) + len(ben.of("customer:typing"))
    assert heard <= 3 * (seconds + 2), (heard, seconds)
    # A new visitor right after the flood is answered as one before it was.
    join_after = await join_time(chat_server, OTHER)
    assert keeps_pace(join_before, join_after), (join_before, join_after)


async def test_join_flood_from_one_address_is_refused_while_another_chat_keeps_its_pace(chat_server):
    carla, ann = await honest_conversation(chat_server)
    baseline = await pace(carla, ann, "before")

    flood = await start_flood(chat_server, "join", sockets=4)
    flooded = await pace(carla, ann, "during")
    await eventually(lambda: chat_server.scalar("select count(*) from customers_customer") >= 61, timeout=60)
    await asyncio.sleep(0.5)
    counts = await end_flood(flood)

    assert counts.get("rate_limited", 0) > 0, counts
    # 60 new customers per address per 10 minutes (the default), plus Carla.
    assert counts.get("ok", 0) == 60, counts
    assert chat_server.scalar("select count(*) from customers_customer") == 61
    assert keeps_pace(baseline, flooded), (
        f"p99 {baseline * 1000:.0f} ms before, {flooded * 1000:.0f} ms during"
    )
    # Another address still starts chats.
    other, _ = await customer(chat_server, "Other", address=OTHER)
    await other.disconnect()


async def test_connection_flood_from_one_address_is_refused_while_another_chat_keeps_its_pace(chat_server):
    carla, ann = await honest_conversation(chat_server)
    baseline = await pace(carla, ann, "before")

    flood = await start_flood(chat_server, "connect", sockets=260)
    flooded = await pace(carla, ann, "during")
    # The address is full: a further socket from it is refused, one from elsewhere is not.
    with pytest.raises(Exception):  # noqa: B017 - python-socketio raises ConnectionError subclasses
        await Client(chat_server, "/customer", address=ATTACKER).connect()
    other = await Client(chat_server, "/customer", address=OTHER).connect()
    counts = await end_flood(flood)

    assert counts == {"accepted": 200, "refused": 60}, counts
    assert keeps_pace(baseline, flooded), (
        f"p99 {baseline * 1000:.0f} ms before, {flooded * 1000:.0f} ms during"
    )
    # Closed sockets are counted out: the address may connect again.
    attacker = await _connect_eventually(chat_server, ATTACKER)
    await attacker.disconnect()
    await other.disconnect()


async def _connect_eventually(server: LiveServer, address: str) -> Client:
    for _ in range(100):
        try:
            return await Client(server, "/customer", address=address).connect()
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError(f"{address} could not connect again after its sockets closed")


# --- per-event limits -----------------------------------------------------------------------


async def test_reads_not_past_the_last_one_write_nothing_and_new_reads_are_limited(start_chat_server):
    # Next to no refill, so the count below does not depend on this machine's speed.
    chat_server = start_chat_server(LIMIT_READS_PER_SECOND="0.001")
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla", address=HONEST)
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new", lambda n: n["conversation"]["id"] == conversation_id)
    ids = []
    for i in range(30):
        sent = await ann.call("agent:message", {"conversation_id": conversation_id, "text": f"a{i}"})
        assert sent["ok"], sent
        ids.append(sent["message"]["id"])

    first = await carla.call("message:read", {"up_to_id": ids[-1]})
    assert first["ok"], first
    await ann.wait_for("message:status", lambda s: s["status"] == "read" and s["up_to_id"] == ids[-1])
    # Reads of what was read already: answered, never written, never limited.
    again = [await carla.call("message:read", {"up_to_id": i}) for i in [ids[-1]] * 20 + ids[:10]]
    assert all(a["ok"] for a in again), again
    await asyncio.sleep(0.3)
    assert len([s for s in ann.of("message:status") if s["status"] == "read"]) == 1, ann.events

    # New reads, one a message: the bucket (20) runs out.
    news = []
    for i in range(30):
        sent = await ann.call("agent:message", {"conversation_id": conversation_id, "text": f"b{i}"})
        news.append(await carla.call("message:read", {"up_to_id": sent["message"]["id"]}))
    codes = [a["ok"] or a["error"]["code"] for a in news]
    # The first read above took one of the 20.
    assert codes == [True] * 19 + ["rate_limited"] * 11, codes


async def test_internal_messages_are_limited_per_agent_across_its_sockets(start_chat_server):
    # Next to no refill, so what the test sees does not depend on how fast
    # this machine is (a bucket refilled during the new tab's login would
    # let it send); the mechanism is the same at 5 a second.
    chat_server = start_chat_server(LIMIT_INTERNAL_PER_SECOND="0.001")
    ann, _ = await agent(chat_server, "ann")
    await agent(chat_server, "ben")
    to_ben = ben_id = chat_server.agents["ben"]["id"]
    acks = [await ann.call("agent:internal", {"text": f"n{i}", "to_agent_id": to_ben}) for i in range(40)]
    codes = [a["ok"] or a["error"]["code"] for a in acks]
    assert codes == [True] * 30 + ["rate_limited"] * 10, codes
    # Another socket of the same agent does not start afresh.
    again, _ = await agent(chat_server, "ann")
    refused = await again.call("agent:internal", {"text": "from a new tab", "to_agent_id": ben_id})
    assert not refused["ok"] and refused["error"]["code"] == "rate_limited", refused
    stored = chat_server.scalar("select count(*) from chat_internalmessage")
    assert stored == codes.count(True), (stored, codes)


async def test_new_conversations_per_address_count_disconnects_and_reopenings(start_chat_server):
    # A small limit, to reach it in a few steps: the mechanism is the same at 60.
    server = start_chat_server(LIMIT_NEW_CONVERSATIONS_PER_IP="3")
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla", address=ATTACKER)
    customer_id = join["customer"]["id"]

    async def write(tag: str) -> dict:
        return await carla.call("customer:message", {"text": tag, "client_id": tag})

    # customer:disconnect counts one (1); the message after it opens a conversation (2).
    assert (await carla.call("customer:disconnect", {}))["ok"]
    reopened = await write("after-leaving")
    assert reopened["ok"], reopened
    # Ended by the agent: the writer's reopening counts too (3).
    ended = await ann.call("session:end", {"conversation_id": reopened["message"]["conversation_id"]})
    assert ended["ok"], ended
    again = await write("after-the-end")
    assert again["ok"], again
    ended = await ann.call("session:end", {"conversation_id": again["message"]["conversation_id"]})
    assert ended["ok"], ended
    # The fourth, whichever way, is refused and opens nothing.
    refused = await write("one-too-many")
    assert not refused["ok"] and refused["error"]["code"] == "rate_limited", refused
    left = await carla.call("customer:disconnect", {})
    assert not left["ok"] and left["error"]["code"] == "rate_limited", left
    assert server.scalar("select count(*) from chat_conversation where customer_id=?", (customer_id,)) == 3
    # Another address is not held back.
    other, _ = await customer(server, "Other", address=OTHER)
    left = await other.call("customer:disconnect", {})
    assert left["ok"], left


async def test_forwarded_for_is_honoured_only_from_a_trusted_proxy(start_chat_server):
    proxy, stranger = loopback(10), loopback(11)
    server = start_chat_server(TRUSTED_PROXIES=f"{proxy}/32", LIMIT_SOCKETS_PER_IP="2")

    async def connect(address: str, forwarded: str) -> Client | None:
        client = Client(server, "/customer", address=address)
        try:
            return await client.connect(headers={"X-Forwarded-For": forwarded})
        except Exception:
            await client.disconnect()
            return None

    # Behind the trusted proxy, each forwarded client has its own allowance.
    behind = [await connect(proxy, "203.0.113.7") for _ in range(3)]
    assert [c is not None for c in behind] == [True, True, False]
    assert await connect(proxy, "198.51.100.1, 203.0.113.8") is not None
    # A peer that is not trusted is counted as itself, whatever it claims.
    claims = [await connect(stranger, f"192.0.2.{i}") for i in range(3)]
    assert [c is not None for c in claims] == [True, True, False]


# --- shared across processes ------------------------------------------------------------------


@pytest.fixture
def two_servers_on_redis(tmp_path):
    """Two processes on one PostgreSQL database and one Redis, with small per-address limits."""
    require_redis()
    with fresh_postgres_database() as (database_url, name):
        env = base_env(tmp_path / "unused.sqlite3")
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=REDIS_URL,
            REDIS_PREFIX=f"cs-test-{name}",
            LIMIT_NEW_CUSTOMERS_PER_IP="3",
            LIMIT_SOCKETS_PER_IP="5",
        )
        servers = []
        try:
            agents = prepare_database(env)
            servers = [launch(env, agents, tmp_path) for _ in range(2)]
            yield servers
        finally:
            for server in servers:
                server.stop()


async def test_two_processes_share_the_counters_of_an_address(two_servers_on_redis):
    one, two = two_servers_on_redis
    await agent(one, "ann")
    # New customers: 3 per address, counted by both processes together.
    sockets = [await Client((one, two)[i % 2], "/customer", address=ATTACKER).connect() for i in range(4)]
    acks = [await s.call("customer:join", {"name": f"V{i}"}) for i, s in enumerate(sockets)]
    codes = [a["ok"] or a["error"]["code"] for a in acks]
    assert codes == [True, True, True, "rate_limited"], codes
    elsewhere, _ = await customer(two, "Elsewhere", address=OTHER)

    # Sockets: 5 per address across both; ATTACKER holds 4 (2 on each).
    fifth = await Client(one, "/customer", address=ATTACKER).connect()
    with pytest.raises(Exception):  # noqa: B017 - a refused handshake, whichever error class
        await Client(two, "/customer", address=ATTACKER).connect()
    # One closed on one process frees a place on the other.
    await fifth.disconnect()
    again = await _connect_eventually(two, ATTACKER)
    for client in [*sockets, elsewhere, again]:
        await client.disconnect()
