"""Every error code of PROTOCOL.md: the exact answer, nothing written, socket kept."""

import pytest

from .live import Client, agent, customer

pytestmark = pytest.mark.live

CODES = {
    "invalid_payload",
    "too_large",
    "not_joined",
    "not_logged_in",
    "forbidden",
    "not_found",
    "conflict",
    "rate_limited",
    "unknown_event",
    "internal",
}


def snapshot(server) -> tuple:
    """Everything a refused event must leave as it was."""
    return (
        server.query("select count(*), coalesce(max(id), 0) from chat_message"),
        server.query("select id, status, agent_id, queue_order from chat_conversation order by id"),
        server.query("select count(*) from chat_internalmessage"),
        server.query("select count(*) from customers_customer"),
        server.query("select id, status, capacity from agents_agentprofile order by id"),
    )


async def refused(server, client: Client, event: str, *args, code: str) -> dict:
    before = snapshot(server)
    answer = await client.emit_raw(event, *args)
    assert answer["ok"] is False, (event, args, answer)
    assert set(answer) == {"ok", "error"} and set(answer["error"]) == {"code", "message"}
    assert answer["error"]["code"] == code, (event, args, answer)
    assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
    assert snapshot(server) == before, (event, args)
    assert client.sio.connected
    return answer


@pytest.fixture
async def scene(chat_server):
    """ann holds carla's chat; dora waits in the queue; ben is logged in and free."""
    ann, _ = await agent(chat_server, "ann")
    carla, carla_join = await customer(chat_server, "Carla")
    ben, _ = await agent(chat_server, "ben", status="busy")
    await ann.call("agent:status", {"status": "busy"})
    dora, dora_join = await customer(chat_server, "Dora")
    yield {
        "ann": ann,
        "ben": ben,
        "carla": carla,
        "dora": dora,
        "carla_conversation": carla_join["conversation"]["id"],
        "dora_conversation": dora_join["conversation"]["id"],
        "carla_token": carla_join["token"],
    }
    for client in (ann, ben, carla, dora):
        await client.disconnect()


CUSTOMER_INVALID = [
    ("customer:message", ({"text": 5},)),
    ("customer:message", ({},)),
    ("customer:message", ({"text": "   "},)),
    ("customer:message", (["text"],)),
    ("customer:message", ("just a string",)),
    ("customer:message", (42,)),
    ("customer:message", ({"text": "hi", "html": "<b>"},)),
    ("customer:message", ({"text": "hi", "client_id": "has space"},)),
    ("customer:message", ({"text": "hi", "client_id": "x" * 65},)),
    ("customer:message", ({"text": "hi"}, {"text": "again"})),
    ("customer:typing", ({"is_typing": "yes"},)),
    ("customer:typing", ({},)),
    ("message:read", ({"up_to_id": "5"},)),
    ("message:read", ({"up_to_id": True},)),
    ("message:read", ({"up_to_id": -1},)),
    ("customer:join", ({"name": "x" * 81},)),
    ("customer:join", ({"email": "not an address"},)),
    ("customer:join", ({"last_message_id": "a"},)),
    ("customer:disconnect", ({"now": True},)),
]


@pytest.mark.parametrize(("event", "args"), CUSTOMER_INVALID)
async def test_customer_invalid_payloads(chat_server, scene, event, args):
    await refused(chat_server, scene["carla"], event, *args, code="invalid_payload")
    assert (await scene["carla"].call("customer:typing", {"is_typing": False}))["ok"]


AGENT_INVALID = [
    ("agent:message", ({"conversation_id": "1", "text": "hi"},)),
    ("agent:message", ({"conversation_id": 1},)),
    ("agent:message", ({"text": "hi"},)),
    ("agent:message", ({"conversation_id": True, "text": "hi"},)),
    ("agent:status", ({"status": "away"},)),
    ("agent:status", ({},)),
    ("agent:typing", ({"conversation_id": 1, "is_typing": 1},)),
    ("session:end", ({},)),
    ("session:transfer", ({"conversation_id": 1},)),
    ("queue:claim", ({"conversation_id": 0},)),
    ("conversation:history", ({},)),
    ("conversation:history", ({"customer_id": 1, "limit": 1000},)),
    ("message:read", ({"conversation_id": 1},)),
    ("agent:internal", ({"text": ["a"]},)),
    ("agent:login", ({"extra": 1},)),
    ("agent:login", ([1, 2],)),
]


@pytest.mark.parametrize(("event", "args"), AGENT_INVALID)
async def test_agent_invalid_payloads(chat_server, scene, event, args):
    await refused(chat_server, scene["ann"], event, *args, code="invalid_payload")
    assert (await scene["ann"].call("agent:login", {}))["ok"]


async def test_too_large(chat_server, scene):
    await refused(chat_server, scene["carla"], "customer:message", {"text": "x" * 4001}, code="too_large")
    await refused(chat_server, scene["carla"], "customer:message", {"text": "é" * 9000}, code="too_large")
    await refused(
        chat_server,
        scene["ann"],
        "agent:message",
        {"conversation_id": scene["carla_conversation"], "text": " " + "y" * 4001 + " "},
        code="too_large",
    )
    # Exactly at the limit is fine (after trimming).
    ok = await scene["carla"].call("customer:message", {"text": "  " + "z" * 4000 + "  "})
    assert ok["ok"] and len(ok["message"]["text"]) == 4000


async def test_not_joined_and_not_logged_in(chat_server):
    stranger = await Client(chat_server, "/customer").connect()
    for event, payload in (
        ("customer:message", {"text": "hi"}),
        ("customer:typing", {"is_typing": True}),
        ("customer:disconnect", {}),
        ("message:read", {"up_to_id": 1}),
    ):
        await refused(chat_server, stranger, event, payload, code="not_joined")
    silent = await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["cat"]["token"]})
    for event, payload in (
        ("agent:status", {"status": "busy"}),
        ("agent:message", {"conversation_id": 1, "text": "hi"}),
        ("agent:internal", {"text": "hi"}),
        ("agent:typing", {"conversation_id": 1, "is_typing": True}),
        ("session:end", {"conversation_id": 1}),
        ("session:transfer", {"conversation_id": 1, "to_agent_id": 2}),
        ("queue:claim", {}),
        ("conversation:history", {"customer_id": 1}),
        ("message:read", {"conversation_id": 1, "up_to_id": 1}),
    ):
        await refused(chat_server, silent, event, payload, code="not_logged_in")
    # Both still work once joined / logged in.
    assert (await stranger.call("customer:join", {"name": "Late"}))["ok"]
    assert (await silent.call("agent:login", {}))["ok"]
    await stranger.disconnect()
    await silent.disconnect()


async def test_forbidden(chat_server, scene):
    conversation = scene["carla_conversation"]
    for event, payload in (
        ("agent:message", {"conversation_id": conversation, "text": "not mine"}),
        ("agent:typing", {"conversation_id": conversation, "is_typing": True}),
        ("session:end", {"conversation_id": conversation}),
        ("session:transfer", {"conversation_id": conversation, "to_agent_id": 1}),
        ("message:read", {"conversation_id": conversation, "up_to_id": 1}),
    ):
        await refused(chat_server, scene["ben"], event, payload, code="forbidden")
    # A customer with another customer's token on its socket.
    await refused(
        chat_server, scene["dora"], "customer:join", {"token": scene["carla_token"]}, code="forbidden"
    )
    await refused(chat_server, scene["dora"], "customer:join", {"token": "forged"}, code="forbidden")


async def test_not_found(chat_server, scene):
    for event, payload in (
        ("agent:message", {"conversation_id": 999999, "text": "hi"}),
        ("agent:typing", {"conversation_id": 999999, "is_typing": True}),
        ("session:end", {"conversation_id": 999999}),
        ("session:transfer", {"conversation_id": 999999, "to_agent_id": 1}),
        ("queue:claim", {"conversation_id": 999999}),
        ("conversation:history", {"customer_id": 999999}),
        ("message:read", {"conversation_id": 999999, "up_to_id": 1}),
        ("agent:internal", {"text": "hi", "to_agent_id": 999999}),
    ):
        await refused(chat_server, scene["ann"], event, payload, code="not_found")
    await refused(
        chat_server,
        scene["ann"],
        "session:transfer",
        {"conversation_id": scene["carla_conversation"], "to_agent_id": 999999},
        code="not_found",
    )


async def test_conflict(chat_server, scene):
    conversation = scene["carla_conversation"]
    # ben (busy, free) claims dora; claiming again finds the queue empty.
    assert (await scene["ben"].call("queue:claim", {}))["ok"]
    await refused(chat_server, scene["ben"], "queue:claim", {}, code="conflict")
    assert (await scene["ann"].call("session:end", {"conversation_id": conversation}))["ok"]
    await refused(
        chat_server, scene["ann"], "session:end", {"conversation_id": conversation}, code="conflict"
    )
    await refused(
        chat_server,
        scene["ann"],
        "agent:message",
        {"conversation_id": conversation, "text": "late"},
        code="conflict",
    )
    await refused(chat_server, scene["carla"], "customer:disconnect", {}, code="conflict")


async def test_rate_limited(start_chat_server):
    server = start_chat_server(CUSTOMER_RATE_BURST=5, CUSTOMER_RATE_PER_SECOND=0.1)
    carla, _ = await customer(server, "Carla")
    for i in range(5):
        assert (await carla.call("customer:message", {"text": f"m{i}"}))["ok"]
    await refused(server, carla, "customer:message", {"text": "one too many"}, code="rate_limited")
    assert (await carla.call("customer:typing", {"is_typing": False}))["ok"]
    await carla.disconnect()


async def test_unknown_events_on_both_namespaces(chat_server, scene):
    for client, event in (
        (scene["carla"], "agent:message"),
        (scene["carla"], "nonsense"),
        (scene["ann"], "customer:join"),
        (scene["ann"], "customer:message"),
        (scene["ann"], "nonsense"),
    ):
        await refused(chat_server, client, event, {"text": "hi"}, code="unknown_event")


def test_error_codes_are_the_protocols():
    from chat import errors

    defined = {value for name, value in vars(errors).items() if name.isupper() and isinstance(value, str)}
    assert defined == CODES
