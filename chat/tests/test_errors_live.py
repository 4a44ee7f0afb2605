"""Every error code of PROTOCOL.md over real sockets.

Each refusal must be answered with exactly `{ok: false, error: {code,
message}}`, must leave the database as it was (every row of every table),
and must leave the socket connected and working.
"""

from __future__ import annotations

import asyncio

import pytest
import socketio

from cs_project.testing.checks import short
from cs_project.testing.clients import Client, agent, customer
from cs_project.testing.database import describe_change, snapshot
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import eventually

pytestmark = pytest.mark.live


@pytest.fixture
def chat_server(unlimited_chat_server):
    # About the answer to each payload, not the limits (the fixture says why).
    return unlimited_chat_server


INVALID = "invalid_payload"
TOO_LARGE = "too_large"
NOT_JOINED = "not_joined"
NOT_LOGGED_IN = "not_logged_in"
FORBIDDEN = "forbidden"
INVALID_TOKEN = "invalid_token"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
RATE_LIMITED = "rate_limited"
UNKNOWN_EVENT = "unknown_event"

UNKNOWN_ID = 999_999

# Payloads that are not a JSON object, each sent as the event's one argument.
NON_OBJECTS = [[], ["hi"], [{"text": "hi"}], "hello", "", 42, 0, -1.5, True, False]

CUSTOMER_EVENTS = (
    "customer:join",
    "customer:message",
    "customer:typing",
    "customer:disconnect",
    "message:read",
    "customer:rating",
)
AGENT_EVENTS = (
    "agent:login",
    "agent:status",
    "agent:message",
    "agent:internal",
    "agent:typing",
    "session:end",
    "session:transfer",
    "queue:claim",
    "conversation:history",
    "message:read",
)


# --- helpers -----------------------------------------------------------------


def error_ack_problem(ack, code: str) -> str | None:
    """None when `ack` is exactly {ok: false, error: {code, message: non-empty str}}."""
    if not isinstance(ack, dict) or ack.get("ok") is not False or set(ack) != {"ok", "error"}:
        return f"expected {{ok: false, error: {{code: {code!r}, message}}}}, got {ack!r}"
    error = ack["error"]
    if not isinstance(error, dict) or set(error) != {"code", "message"}:
        return f"error must be exactly {{code, message}}, got {error!r}"
    if error["code"] != code:
        return f"expected code {code!r}, got {error!r}"
    if not isinstance(error["message"], str) or not error["message"].strip():
        return f"message must be a non-empty string, got {error!r}"
    return None


def case(code: str, event: str, *args) -> tuple[str, tuple, str]:
    """A refusal to check: `event` sent with `args` must be answered with `code`."""
    return (event, args, code)


async def refusals(server: LiveServer, client: Client, cases: list) -> list[str]:
    """Send each case; return every way an answer broke the contract."""
    problems = []
    for event, args, code in cases:
        label = f"{client.namespace} {event} {short(args)}"
        before = snapshot(server)
        try:
            ack = await client.emit_raw(event, *args, timeout=5)
        except TimeoutError:
            problems.append(f"{label}: no ack within 5 s (expected {code})")
        else:
            problem = error_ack_problem(ack, code)
            if problem:
                problems.append(f"{label}: {problem}")
        change = describe_change(before, snapshot(server))
        if change:
            problems.append(f"{label}: wrote to the database: {change}")
        if not client.connected:
            problems.append(f"{label}: the socket was disconnected")
            break
    if server.process.poll() is not None:
        problems.append("the server process died")
    elif "Traceback" in server.log():
        problems.append("the server logged a traceback:\n" + server.log()[-3000:])
    return problems


def no_problems(problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{len(problems)} contract violation(s):\n" + "\n".join(problems))


def non_object_cases(events) -> list:
    cases = [case(INVALID, event, payload) for event in events for payload in NON_OBJECTS]
    # Two arguments where one object is expected.
    cases += [case(INVALID, event, {}, {}) for event in events]
    return cases


async def all_delivered(server: LiveServer) -> None:
    """Wait for the message writer's deferred `delivered` marks to be stored."""
    await eventually(
        lambda: (
            server.scalar("select count(*) from chat_message where sender != 'system' and status = 0") == 0
        ),
        timeout=5,
        what="every message stored as delivered",
    )


async def ann_with_carla(server: LiveServer) -> tuple[Client, Client, int]:
    """Ann logged in, Carla joined and assigned to Ann."""
    ann, _ = await agent(server, "ann")
    carla, join = await customer(server, "Carla")
    assert join["conversation"]["status"] == "active", join
    assert join["conversation"]["agent"]["name"] == "Ann", join
    await ann.wait_for("customer:new")
    return ann, carla, join["conversation"]["id"]


# --- invalid_payload -----------------------------------------------------------


async def test_customer_invalid_payloads_are_refused_and_change_nothing(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    cases = [
        # customer:message
        case(INVALID, "customer:message", {}),
        case(INVALID, "customer:message"),
        case(INVALID, "customer:message", {"text": None}),
        case(INVALID, "customer:message", {"text": 5}),
        case(INVALID, "customer:message", {"text": True}),
        case(INVALID, "customer:message", {"text": ["hi"]}),
        case(INVALID, "customer:message", {"text": {"body": "hi"}}),
        case(INVALID, "customer:message", {"text": ""}),
        case(INVALID, "customer:message", {"text": "  \n\t  "}),
        case(INVALID, "customer:message", {"client_id": "m-1"}),
        case(INVALID, "customer:message", {"text": "hi", "client_id": ""}),
        case(INVALID, "customer:message", {"text": "hi", "client_id": "has space"}),
        case(INVALID, "customer:message", {"text": "hi", "client_id": "x" * 65}),
        case(INVALID, "customer:message", {"text": "hi", "client_id": "ünïcödé"}),
        case(INVALID, "customer:message", {"text": "hi", "client_id": "a/b"}),
        case(INVALID, "customer:message", {"text": "hi", "client_id": 12}),
        case(INVALID, "customer:message", {"text": "hi", "client_id": ["m-1"]}),
        case(INVALID, "customer:message", {"text": "hi", "html": "<b>hi</b>"}),
        case(INVALID, "customer:message", {"text": "hi", "conversation_id": cid}),
        # customer:typing
        case(INVALID, "customer:typing", {}),
        case(INVALID, "customer:typing"),
        case(INVALID, "customer:typing", {"is_typing": None}),
        case(INVALID, "customer:typing", {"is_typing": "true"}),
        case(INVALID, "customer:typing", {"is_typing": 1}),
        case(INVALID, "customer:typing", {"is_typing": 0}),
        case(INVALID, "customer:typing", {"is_typing": [True]}),
        case(INVALID, "customer:typing", {"is_typing": True, "conversation_id": cid}),
        # message:read
        case(INVALID, "message:read", {}),
        case(INVALID, "message:read", {"up_to_id": None}),
        case(INVALID, "message:read", {"up_to_id": "1"}),
        case(INVALID, "message:read", {"up_to_id": 1.5}),
        case(INVALID, "message:read", {"up_to_id": True}),
        case(INVALID, "message:read", {"up_to_id": False}),
        case(INVALID, "message:read", {"up_to_id": [1]}),
        case(INVALID, "message:read", {"up_to_id": {"id": 1}}),
        case(INVALID, "message:read", {"up_to_id": 1, "conversation_id": cid}),
        # customer:disconnect
        case(INVALID, "customer:disconnect", {"reason": "bye"}),
        # customer:join on a joined socket
        case(INVALID, "customer:join", {"name": "Carla", "email": "not-an-address"}),
        case(INVALID, "customer:join", {"name": "x" * 81}),
        case(INVALID, "customer:join", {"name": 7}),
        case(INVALID, "customer:join", {"last_message_id": "0"}),
        case(INVALID, "customer:join", {"last_message_id": True}),
        case(INVALID, "customer:join", {"name": "Carla", "vip": True}),
        *non_object_cases(CUSTOMER_EVENTS),
    ]
    problems = await refusals(chat_server, carla, cases)
    no_problems(problems)

    # Still joined, still chatting.
    assert await carla.call("customer:typing", {"is_typing": False}) == {"ok": True}
    sent = await carla.call("customer:message", {"text": "still here", "client_id": "ok-1"})
    assert sent["ok"] and sent["message"]["conversation_id"] == cid, sent
    assert chat_server.query("select text from chat_message where sender = 'customer'") == [("still here",)]
    await carla.disconnect()
    await ann.disconnect()


async def test_customer_join_with_invalid_fields_creates_nothing(chat_server):
    ann, _ = await agent(chat_server, "ann")
    fresh = await Client(chat_server, "/customer").connect()
    cases = [
        case(INVALID, "customer:join", {}),  # neither a name nor a token
        case(INVALID, "customer:join"),
        case(INVALID, "customer:join", {"name": None}),
        case(INVALID, "customer:join", {"name": ""}),
        case(INVALID, "customer:join", {"name": "   "}),
        case(INVALID, "customer:join", {"name": "x" * 81}),
        case(INVALID, "customer:join", {"name": "  " + "é" * 81 + "  "}),
        case(INVALID, "customer:join", {"name": 42}),
        case(INVALID, "customer:join", {"name": ["Carla"]}),
        case(INVALID, "customer:join", {"name": {"first": "Carla"}}),
        case(INVALID, "customer:join", {"name": "Carla", "email": "carla"}),
        case(INVALID, "customer:join", {"name": "Carla", "email": "carla@"}),
        case(INVALID, "customer:join", {"name": "Carla", "email": "@example.com"}),
        case(INVALID, "customer:join", {"name": "Carla", "email": "carla@@example.com"}),
        case(INVALID, "customer:join", {"name": "Carla", "email": "carla @example.com"}),
        case(INVALID, "customer:join", {"name": "Carla", "email": 5}),
        case(INVALID, "customer:join", {"name": "Carla", "email": ["carla@example.com"]}),
        case(INVALID, "customer:join", {"name": "Carla", "topic": 7}),
        case(INVALID, "customer:join", {"name": "Carla", "token": 12345}),
        case(INVALID, "customer:join", {"name": "Carla", "last_message_id": "3"}),
        case(INVALID, "customer:join", {"name": "Carla", "last_message_id": 1.5}),
        case(INVALID, "customer:join", {"name": "Carla", "last_message_id": True}),
        case(INVALID, "customer:join", {"name": "Carla", "phone": "555-0100"}),
        case(INVALID, "customer:join", {"name": "Carla"}, {"name": "Carla"}),
        *[case(INVALID, "customer:join", payload) for payload in NON_OBJECTS],
    ]
    problems = await refusals(chat_server, fresh, cases)
    no_problems(problems)
    assert chat_server.scalar("select count(*) from customers_customer") == 0
    assert chat_server.scalar("select count(*) from chat_conversation") == 0

    # The same socket can still join; a name of exactly 80 after trimming is fine.
    join = await fresh.call("customer:join", {"name": "  " + "N" * 80 + "  ", "email": "carla@example.com"})
    assert join["ok"], join
    assert join["customer"]["name"] == "N" * 80
    assert chat_server.query("select name, email from customers_customer") == [
        ("N" * 80, "carla@example.com")
    ]
    await fresh.disconnect()
    await ann.disconnect()


async def test_agent_invalid_payloads_are_refused_and_change_nothing(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    ben, _ = await agent(chat_server, "ben")
    ann_id = chat_server.agents["ann"]["id"]
    ben_id = chat_server.agents["ben"]["id"]
    customer_id = chat_server.scalar("select id from customers_customer")
    cases = [
        # agent:login takes no fields
        case(INVALID, "agent:login", {"username": "ann"}),
        # agent:status
        case(INVALID, "agent:status", {}),
        case(INVALID, "agent:status"),
        case(INVALID, "agent:status", {"status": None}),
        case(INVALID, "agent:status", {"status": "away"}),
        case(INVALID, "agent:status", {"status": "ONLINE"}),
        case(INVALID, "agent:status", {"status": " online"}),
        case(INVALID, "agent:status", {"status": ""}),
        case(INVALID, "agent:status", {"status": 1}),
        case(INVALID, "agent:status", {"status": True}),
        case(INVALID, "agent:status", {"status": ["online"]}),
        case(INVALID, "agent:status", {"status": "online", "capacity": 9}),
        # agent:message
        case(INVALID, "agent:message", {"conversation_id": cid}),
        case(INVALID, "agent:message", {"text": "hi"}),
        case(INVALID, "agent:message", {"conversation_id": str(cid), "text": "hi"}),
        case(INVALID, "agent:message", {"conversation_id": cid + 0.5, "text": "hi"}),
        case(INVALID, "agent:message", {"conversation_id": True, "text": "hi"}),
        case(INVALID, "agent:message", {"conversation_id": [cid], "text": "hi"}),
        case(INVALID, "agent:message", {"conversation_id": cid, "text": 5}),
        case(INVALID, "agent:message", {"conversation_id": cid, "text": "   "}),
        case(INVALID, "agent:message", {"conversation_id": cid, "text": "hi", "client_id": "bad id"}),
        case(INVALID, "agent:message", {"conversation_id": cid, "text": "hi", "client_id": "x" * 65}),
        case(INVALID, "agent:message", {"conversation_id": cid, "text": "hi", "client_id": 3}),
        case(INVALID, "agent:message", {"conversation_id": cid, "text": "hi", "internal": True}),
        # agent:internal
        case(INVALID, "agent:internal", {}),
        case(INVALID, "agent:internal", {"text": 5}),
        case(INVALID, "agent:internal", {"text": ""}),
        case(INVALID, "agent:internal", {"text": "hi", "to_agent_id": str(ben_id)}),
        case(INVALID, "agent:internal", {"text": "hi", "to_agent_id": True}),
        case(INVALID, "agent:internal", {"text": "hi", "conversation_id": "1"}),
        case(INVALID, "agent:internal", {"text": "hi", "client_id": "no spaces please"}),
        case(INVALID, "agent:internal", {"text": "hi", "to_agent_id": ann_id}),  # to oneself
        case(INVALID, "agent:internal", {"text": "hi", "to": "ben"}),
        # agent:typing
        case(INVALID, "agent:typing", {"conversation_id": cid}),
        case(INVALID, "agent:typing", {"is_typing": True}),
        case(INVALID, "agent:typing", {"conversation_id": cid, "is_typing": "true"}),
        case(INVALID, "agent:typing", {"conversation_id": cid, "is_typing": 1}),
        case(INVALID, "agent:typing", {"conversation_id": cid, "is_typing": None}),
        case(INVALID, "agent:typing", {"conversation_id": "x", "is_typing": True}),
        case(INVALID, "agent:typing", {"conversation_id": cid, "is_typing": True, "x": 1}),
        # session:end
        case(INVALID, "session:end", {}),
        case(INVALID, "session:end"),
        case(INVALID, "session:end", {"conversation_id": str(cid)}),
        case(INVALID, "session:end", {"conversation_id": True}),
        case(INVALID, "session:end", {"conversation_id": cid, "reason": "agent_ended"}),
        # session:transfer
        case(INVALID, "session:transfer", {"conversation_id": cid}),
        case(INVALID, "session:transfer", {"to_agent_id": ben_id}),
        case(INVALID, "session:transfer", {"conversation_id": cid, "to_agent_id": str(ben_id)}),
        case(INVALID, "session:transfer", {"conversation_id": cid, "to_agent_id": False}),
        case(INVALID, "session:transfer", {"conversation_id": cid, "to_agent_id": ann_id}),  # to oneself
        case(INVALID, "session:transfer", {"conversation_id": cid, "to_agent_id": ben_id, "note": "x"}),
        # queue:claim
        case(INVALID, "queue:claim", {"conversation_id": "next"}),
        case(INVALID, "queue:claim", {"conversation_id": 1.5}),
        case(INVALID, "queue:claim", {"conversation_id": True}),
        case(INVALID, "queue:claim", {"topic": "billing"}),
        # conversation:history
        case(INVALID, "conversation:history", {}),
        case(INVALID, "conversation:history", {"customer_id": str(customer_id)}),
        case(INVALID, "conversation:history", {"customer_id": True}),
        case(INVALID, "conversation:history", {"customer_id": customer_id, "before_id": "9"}),
        case(INVALID, "conversation:history", {"customer_id": customer_id, "limit": "5"}),
        case(INVALID, "conversation:history", {"customer_id": customer_id, "limit": True}),
        case(INVALID, "conversation:history", {"customer_id": customer_id, "offset": 5}),
        # message:read
        case(INVALID, "message:read", {"conversation_id": cid}),
        case(INVALID, "message:read", {"up_to_id": 1}),
        case(INVALID, "message:read", {"conversation_id": cid, "up_to_id": "1"}),
        case(INVALID, "message:read", {"conversation_id": cid, "up_to_id": 1.5}),
        case(INVALID, "message:read", {"conversation_id": cid, "up_to_id": True}),
        case(INVALID, "message:read", {"conversation_id": cid, "up_to_id": False}),
        case(INVALID, "message:read", {"conversation_id": cid, "up_to_id": [1]}),
        case(INVALID, "message:read", {"conversation_id": cid, "up_to_id": 1, "status": "read"}),
        *non_object_cases(AGENT_EVENTS),
    ]
    problems = await refusals(chat_server, ann, cases)
    no_problems(problems)

    # Still logged in and working: same status, same conversation, can reply and transfer.
    state = await ann.call("agent:status", {"status": "online"})
    assert state["ok"] and state["agent"]["status"] == "online" and state["agent"]["active"] == 1, state
    reply = await ann.call("agent:message", {"conversation_id": cid, "text": "still here"})
    assert reply["ok"], reply
    assert (await carla.wait_for("agent:message", lambda m: m["sender"] == "agent"))["text"] == "still here"
    moved = await ann.call("session:transfer", {"conversation_id": cid, "to_agent_id": ben_id})
    assert moved["ok"] and moved["conversation"]["agent"]["id"] == ben_id, moved
    for client in (carla, ann, ben):
        await client.disconnect()


# --- too_large -----------------------------------------------------------------


async def test_text_over_4000_characters_after_trimming_is_too_large(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    problems = await refusals(
        chat_server,
        carla,
        [
            case(TOO_LARGE, "customer:message", {"text": "x" * 4001}),
            case(TOO_LARGE, "customer:message", {"text": "  " + "é" * 4001 + "  "}),
            case(TOO_LARGE, "customer:message", {"text": "a" + " " * 3999 + "b"}),
            case(TOO_LARGE, "customer:message", {"text": "x" * 4001, "client_id": "big-1"}),
        ],
    )
    problems += await refusals(
        chat_server,
        ann,
        [
            case(TOO_LARGE, "agent:message", {"conversation_id": cid, "text": "y" * 4001}),
            case(TOO_LARGE, "agent:internal", {"text": "z" * 4001}),
            case(TOO_LARGE, "agent:internal", {"text": "z" * 4001, "to_agent_id": 999_999}),
        ],
    )
    no_problems(problems)

    # 4000 characters once trimmed is within the limit, on both sides.
    sent = await carla.call("customer:message", {"text": "  \n" + "x" * 4000 + "\t "})
    assert sent["ok"] and sent["message"]["text"] == "x" * 4000, str(sent)[:200]
    reply = await ann.call("agent:message", {"conversation_id": cid, "text": "y" * 4000})
    assert reply["ok"], str(reply)[:200]
    assert chat_server.query(
        "select sender, length(text) from chat_message where sender != 'system' order by id"
    ) == [("customer", 4000), ("agent", 4000)]
    await carla.disconnect()
    await ann.disconnect()


async def test_payload_over_16_kib_is_too_large(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    fresh = await Client(chat_server, "/customer").connect()
    pad = "p" * (17 * 1024)
    problems = await refusals(
        chat_server,
        carla,
        [
            case(TOO_LARGE, "customer:message", {"text": "hi", "padding": pad}),
            case(TOO_LARGE, "customer:message", {"text": "hi", "meta": {"deep": [pad]}}),
            case(TOO_LARGE, "customer:message", {"text": "é" * 9000}),
            case(TOO_LARGE, "customer:typing", {"is_typing": True, "padding": pad}),
            case(TOO_LARGE, "message:read", {"up_to_id": 1, "padding": pad}),
            case(TOO_LARGE, "customer:disconnect", {"padding": pad}),
            case(TOO_LARGE, "customer:join", {"padding": pad}),
        ],
    )
    problems += await refusals(
        chat_server, fresh, [case(TOO_LARGE, "customer:join", {"name": "Dora", "padding": pad})]
    )
    problems += await refusals(
        chat_server,
        ann,
        [
            case(TOO_LARGE, "agent:login", {"padding": pad}),
            case(TOO_LARGE, "agent:status", {"status": "busy", "padding": pad}),
            case(TOO_LARGE, "agent:message", {"conversation_id": cid, "text": "hi", "padding": pad}),
            case(TOO_LARGE, "agent:internal", {"text": "hi", "padding": pad}),
            case(TOO_LARGE, "session:end", {"conversation_id": cid, "padding": pad}),
            case(TOO_LARGE, "conversation:history", {"customer_id": 1, "padding": pad}),
        ],
    )
    no_problems(problems)

    assert (await carla.call("customer:message", {"text": "small again"}))["ok"]
    assert (await ann.call("agent:status", {"status": "online"}))["agent"]["status"] == "online"
    assert (await fresh.call("customer:join", {"name": "Dora"}))["ok"]
    for client in (carla, fresh, ann):
        await client.disconnect()


# --- not_joined / not_logged_in ----------------------------------------------------


async def test_customer_events_before_join_are_not_joined(chat_server):
    ann, carla, _ = await ann_with_carla(chat_server)
    fresh = await Client(chat_server, "/customer").connect()
    problems = await refusals(
        chat_server,
        fresh,
        [
            case(NOT_JOINED, "customer:message", {"text": "hello?"}),
            case(NOT_JOINED, "customer:message", {"text": "hello?", "client_id": "m-1"}),
            case(NOT_JOINED, "customer:typing", {"is_typing": True}),
            case(NOT_JOINED, "customer:disconnect", {}),
            case(NOT_JOINED, "customer:disconnect"),
            case(NOT_JOINED, "message:read", {"up_to_id": 1}),
        ],
    )
    no_problems(problems)
    assert chat_server.scalar("select count(*) from customers_customer") == 1

    join = await fresh.call("customer:join", {"name": "Dora"})
    assert join["ok"], join
    assert (await fresh.call("customer:message", {"text": "now joined"}))["ok"]
    for client in (carla, fresh, ann):
        await client.disconnect()


async def test_agent_events_before_login_are_not_logged_in(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    ben_id = chat_server.agents["ben"]["id"]
    await agent(chat_server, "ben")
    customer_id = chat_server.scalar("select id from customers_customer")
    last_id = chat_server.scalar("select max(id) from chat_message")
    # A second socket of Ann's, connected with her token but not logged in:
    # everything it asks about is hers, only the login is missing.
    tab = await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["ann"]["token"]})
    problems = await refusals(
        chat_server,
        tab,
        [
            case(NOT_LOGGED_IN, "agent:status", {"status": "busy"}),
            case(NOT_LOGGED_IN, "agent:message", {"conversation_id": cid, "text": "hi"}),
            case(NOT_LOGGED_IN, "agent:internal", {"text": "hi"}),
            case(NOT_LOGGED_IN, "agent:typing", {"conversation_id": cid, "is_typing": True}),
            case(NOT_LOGGED_IN, "session:end", {"conversation_id": cid}),
            case(NOT_LOGGED_IN, "session:transfer", {"conversation_id": cid, "to_agent_id": ben_id}),
            case(NOT_LOGGED_IN, "queue:claim", {}),
            case(NOT_LOGGED_IN, "conversation:history", {"customer_id": customer_id}),
            case(NOT_LOGGED_IN, "message:read", {"conversation_id": cid, "up_to_id": last_id}),
        ],
    )
    no_problems(problems)
    assert all(m["sender"] == "system" for m in carla.of("agent:message"))
    assert carla.of("agent:typing") == []

    login = await tab.call("agent:login", {})
    assert login["ok"] and [c["id"] for c in login["conversations"]] == [cid], login
    assert (await tab.call("agent:typing", {"conversation_id": cid, "is_typing": True})) == {"ok": True}
    for client in (carla, tab, ann):
        await client.disconnect()


# --- forbidden -------------------------------------------------------------------


async def test_agents_are_forbidden_from_conversations_not_assigned_to_them(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    ben, _ = await agent(chat_server, "ben")
    cat, _ = await agent(chat_server, "cat")
    cat_id = chat_server.agents["cat"]["id"]
    # A queued conversation, assigned to nobody: billing, and Bill is not here.
    dora, dora_join = await customer(chat_server, "Dora", topic="billing")
    assert dora_join["conversation"]["status"] == "queued", dora_join
    qid = dora_join["conversation"]["id"]
    last_id = chat_server.scalar("select max(id) from chat_message where conversation_id = ?", (cid,))
    problems = await refusals(
        chat_server,
        ben,
        [
            case(FORBIDDEN, "agent:message", {"conversation_id": cid, "text": "let me take over"}),
            case(FORBIDDEN, "agent:message", {"conversation_id": cid, "text": "again", "client_id": "b-1"}),
            case(FORBIDDEN, "agent:typing", {"conversation_id": cid, "is_typing": True}),
            case(FORBIDDEN, "session:end", {"conversation_id": cid}),
            case(FORBIDDEN, "session:transfer", {"conversation_id": cid, "to_agent_id": cat_id}),
            case(FORBIDDEN, "message:read", {"conversation_id": cid, "up_to_id": last_id}),
            case(FORBIDDEN, "agent:message", {"conversation_id": qid, "text": "hello from the queue"}),
            case(FORBIDDEN, "agent:typing", {"conversation_id": qid, "is_typing": True}),
            case(FORBIDDEN, "session:end", {"conversation_id": qid}),
            case(FORBIDDEN, "session:transfer", {"conversation_id": qid, "to_agent_id": cat_id}),
        ],
    )
    no_problems(problems)
    await asyncio.sleep(0.2)
    assert [m for m in carla.of("agent:message") if m["sender"] == "agent"] == []
    assert carla.of("agent:typing") == [] and carla.of("session:end") == []
    assert dora.of("agent:typing") == [] and dora.of("session:end") == []

    # The owner still can; the refused agent still works.
    assert (await ann.call("agent:message", {"conversation_id": cid, "text": "mine"}))["ok"]
    assert (await ben.call("agent:internal", {"text": "sorry, wrong chat"}))["ok"]
    claimed = await ben.call("queue:claim", {"conversation_id": qid})
    assert claimed["ok"] and claimed["conversation"]["agent"]["name"] == "Ben", claimed
    for client in (carla, dora, ann, ben, cat):
        await client.disconnect()


async def test_customer_join_with_another_customers_token_is_forbidden_and_a_forged_one_invalid(chat_server):
    carla, carla_join = await customer(chat_server, "Carla")
    dora, dora_join = await customer(chat_server, "Dora")
    carla_token, dora_token = carla_join["token"], dora_join["token"]
    tampered = carla_token[:-1] + ("A" if carla_token[-1] != "A" else "B")
    fresh = await Client(chat_server, "/customer").connect()
    # A socket that resumed as Carla at connect time.
    resumed = await Client(chat_server, "/customer").connect(auth={"token": carla_token})

    problems = await refusals(
        chat_server,
        dora,
        [
            case(FORBIDDEN, "customer:join", {"token": carla_token}),
            case(FORBIDDEN, "customer:join", {"token": carla_token, "name": "Dora"}),
            case(INVALID_TOKEN, "customer:join", {"token": "garbage"}),
            case(INVALID_TOKEN, "customer:join", {"token": tampered}),
        ],
    )
    problems += await refusals(
        chat_server,
        fresh,
        [
            case(INVALID_TOKEN, "customer:join", {"token": "garbage"}),
            case(INVALID_TOKEN, "customer:join", {"token": "garbage", "name": "Eve"}),
            case(INVALID_TOKEN, "customer:join", {"token": tampered}),
            case(INVALID_TOKEN, "customer:join", {"token": carla_token + "x"}),
            case(INVALID_TOKEN, "customer:join", {"token": "." + carla_token}),
            case(INVALID_TOKEN, "customer:join", {"token": "é:ü:ß"}),
        ],
    )
    problems += await refusals(
        chat_server, resumed, [case(FORBIDDEN, "customer:join", {"token": dora_token})]
    )
    no_problems(problems)
    assert chat_server.scalar("select count(*) from customers_customer") == 2

    # Each socket can still join as who it really is.
    again = await dora.call("customer:join", {"token": dora_token})
    assert again["ok"] and again["customer"]["id"] == dora_join["customer"]["id"], again
    resumed_join = await resumed.call("customer:join", {"token": carla_token})
    assert resumed_join["ok"] and resumed_join["customer"]["id"] == carla_join["customer"]["id"]
    new = await fresh.call("customer:join", {"name": "Eve"})
    assert new["ok"] and new["customer"]["id"] not in (
        carla_join["customer"]["id"],
        dora_join["customer"]["id"],
    )
    for client in (carla, dora, fresh, resumed):
        await client.disconnect()


@pytest.mark.parametrize("token", ["garbage", "", "é:ü:ß", 42, ["x"], {"id": 1}, "tampered"])
async def test_customer_connecting_with_a_bad_token_is_refused(chat_server, token):
    carla, join = await customer(chat_server, "Carla")
    if token == "tampered":
        token = join["token"][:-1] + ("A" if join["token"][-1] != "A" else "B")
    before = snapshot(chat_server)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client(chat_server, "/customer").connect(auth={"token": token})
    assert describe_change(before, snapshot(chat_server)) == ""
    assert chat_server.process.poll() is None and "Traceback" not in chat_server.log()
    # The real token still resumes; the server is fine.
    again = await Client(chat_server, "/customer").connect(auth={"token": join["token"]})
    resumed = await again.call("customer:join", {"token": join["token"]})
    assert resumed["ok"] and resumed["customer"]["id"] == join["customer"]["id"]
    await again.disconnect()
    await carla.disconnect()


# --- not_found -------------------------------------------------------------------


async def test_unknown_conversations_agents_and_customers_are_not_found(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    ben, _ = await agent(chat_server, "ben")
    ben_id = chat_server.agents["ben"]["id"]
    problems = await refusals(
        chat_server,
        ann,
        [
            case(NOT_FOUND, "agent:message", {"conversation_id": UNKNOWN_ID, "text": "hello?"}),
            case(NOT_FOUND, "agent:typing", {"conversation_id": UNKNOWN_ID, "is_typing": True}),
            case(NOT_FOUND, "session:end", {"conversation_id": UNKNOWN_ID}),
            case(NOT_FOUND, "session:transfer", {"conversation_id": UNKNOWN_ID, "to_agent_id": ben_id}),
            case(NOT_FOUND, "message:read", {"conversation_id": UNKNOWN_ID, "up_to_id": 1}),
            case(NOT_FOUND, "queue:claim", {"conversation_id": UNKNOWN_ID}),
            case(NOT_FOUND, "agent:internal", {"text": "about that chat", "conversation_id": UNKNOWN_ID}),
            case(NOT_FOUND, "session:transfer", {"conversation_id": cid, "to_agent_id": UNKNOWN_ID}),
            case(NOT_FOUND, "agent:internal", {"text": "psst", "to_agent_id": UNKNOWN_ID}),
            case(NOT_FOUND, "conversation:history", {"customer_id": UNKNOWN_ID}),
            case(NOT_FOUND, "conversation:history", {"customer_id": UNKNOWN_ID, "limit": 5}),
        ],
    )
    no_problems(problems)
    assert ben.of("agent:internal") == []

    customer_id = chat_server.scalar("select id from customers_customer")
    history = await ann.call("conversation:history", {"customer_id": customer_id})
    assert history["ok"] and [c["id"] for c in history["conversations"]] == [cid], history
    moved = await ann.call("session:transfer", {"conversation_id": cid, "to_agent_id": ben_id})
    assert moved["ok"] and moved["conversation"]["agent"]["id"] == ben_id, moved
    for client in (carla, ann, ben):
        await client.disconnect()


# --- conflict --------------------------------------------------------------------


async def test_acting_on_an_ended_conversation_is_a_conflict(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    await agent(chat_server, "ben")
    ben_id = chat_server.agents["ben"]["id"]
    ended = await ann.call("session:end", {"conversation_id": cid})
    assert ended["ok"] and ended["conversation"]["status"] == "ended", ended
    await carla.wait_for("session:end")
    problems = await refusals(
        chat_server,
        ann,
        [
            case(CONFLICT, "session:end", {"conversation_id": cid}),
            case(CONFLICT, "agent:message", {"conversation_id": cid, "text": "one more thing"}),
            case(CONFLICT, "agent:typing", {"conversation_id": cid, "is_typing": True}),
            case(CONFLICT, "session:transfer", {"conversation_id": cid, "to_agent_id": ben_id}),
        ],
    )
    problems += await refusals(
        chat_server,
        carla,
        [
            case(CONFLICT, "customer:disconnect", {}),
            case(CONFLICT, "customer:typing", {"is_typing": True}),
        ],
    )
    no_problems(problems)
    assert chat_server.query("select status, end_reason from chat_conversation") == [("ended", "agent_ended")]

    # Writing again opens a new conversation (Ben, who waited longer, gets it).
    again = await carla.call("customer:message", {"text": "back again"})
    assert again["ok"] and again["message"]["conversation_id"] != cid, again
    assert chat_server.query(
        "select status, agent_id from chat_conversation where id = ?", (again["message"]["conversation_id"],)
    ) == [("active", ben_id)]
    assert (await ann.call("agent:status", {"status": "busy"}))["ok"]
    await carla.disconnect()
    await ann.disconnect()


async def test_claiming_from_an_empty_queue_is_a_conflict(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    problems = await refusals(
        chat_server,
        ann,
        [
            case(CONFLICT, "queue:claim", {}),
            case(CONFLICT, "queue:claim"),
            # Not waiting any more: Ann already has it.
            case(CONFLICT, "queue:claim", {"conversation_id": cid}),
        ],
    )
    no_problems(problems)

    dora, dora_join = await customer(chat_server, "Dora", topic="billing")
    assert dora_join["conversation"]["status"] == "queued", dora_join
    claimed = await ann.call("queue:claim", {})
    assert claimed["ok"] and claimed["conversation"]["id"] == dora_join["conversation"]["id"], claimed
    for client in (carla, dora, ann):
        await client.disconnect()


async def test_transfer_to_an_agent_at_capacity_is_a_conflict(chat_server):
    ben, _ = await agent(chat_server, "ben")
    first, _ = await customer(chat_server, "First")
    second, _ = await customer(chat_server, "Second")
    ben_id = chat_server.agents["ben"]["id"]
    assert chat_server.scalar("select count(*) from chat_conversation where agent_id = ?", (ben_id,)) == 2
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    cid = join["conversation"]["id"]
    assert join["conversation"]["agent"]["name"] == "Ann", join
    dora, dora_join = await customer(chat_server, "Dora", topic="billing")
    assert dora_join["conversation"]["status"] == "queued", dora_join
    cat_id = chat_server.agents["cat"]["id"]
    problems = await refusals(
        chat_server,
        ann,
        [case(CONFLICT, "session:transfer", {"conversation_id": cid, "to_agent_id": ben_id})],
    )
    # Ben himself may not claim past his capacity either.
    problems += await refusals(
        chat_server,
        ben,
        [
            case(CONFLICT, "queue:claim", {}),
            case(CONFLICT, "queue:claim", {"conversation_id": dora_join["conversation"]["id"]}),
        ],
    )
    no_problems(problems)
    ann_id = chat_server.agents["ann"]["id"]
    assert chat_server.scalar("select agent_id from chat_conversation where id = ?", (cid,)) == ann_id

    cat, _ = await agent(chat_server, "cat")
    moved = await ann.call("session:transfer", {"conversation_id": cid, "to_agent_id": cat_id})
    assert moved["ok"] and moved["conversation"]["agent"]["id"] == cat_id, moved
    for client in (first, second, carla, dora, ann, ben, cat):
        await client.disconnect()


# --- rate_limited ----------------------------------------------------------------


async def test_customer_over_the_message_rate_is_rate_limited(start_chat_server):
    server = start_chat_server(CUSTOMER_RATE_BURST=5, CUSTOMER_RATE_PER_SECOND=0.1)
    ann, carla, cid = await ann_with_carla(server)
    for i in range(5):
        ack = await carla.call("customer:message", {"text": f"message {i}", "client_id": f"m-{i}"})
        assert ack["ok"], ack
    await all_delivered(server)
    problems = await refusals(
        server,
        carla,
        [
            case(RATE_LIMITED, "customer:message", {"text": "message 5", "client_id": "m-5"}),
            case(RATE_LIMITED, "customer:message", {"text": "message 6"}),
        ],
    )
    no_problems(problems)
    assert server.query("select text from chat_message where sender = 'customer' order by id") == [
        (f"message {i}",) for i in range(5)
    ]
    await asyncio.sleep(0.2)
    assert [m["text"] for m in ann.of("customer:message") if m["sender"] == "customer"] == [
        f"message {i}" for i in range(5)
    ]

    # Other events are not limited, nor is the agent.
    assert await carla.call("customer:typing", {"is_typing": True}) == {"ok": True}
    assert (await ann.wait_for("customer:typing"))["is_typing"] is True
    assert (await ann.call("agent:message", {"conversation_id": cid, "text": "take your time"}))["ok"]
    await carla.disconnect()
    await ann.disconnect()


# --- unknown_event ---------------------------------------------------------------

UNKNOWN_ARGS = [({"text": "hi"},), (), (["x"],), ("just a string",), (7,)]


async def test_events_a_namespace_does_not_define_are_unknown_event(chat_server):
    ann, carla, cid = await ann_with_carla(chat_server)
    fresh_customer = await Client(chat_server, "/customer").connect()
    fresh_agent = await Client(chat_server, "/agent").connect(
        auth={"token": chat_server.agents["ben"]["token"]}
    )
    customer_names = [
        "customer:shout",
        "agent:login",
        "agent:message",
        "session:end",
        "queue:claim",
        "CUSTOMER:MESSAGE",
        "customer:message ",
        "agent:assigned",
        "",
    ]
    agent_names = [
        "agent:dance",
        "customer:join",
        "customer:message",
        "customer:typing",
        "AGENT:LOGIN",
        "agent:login ",
        "customer:new",
        "queue:update",
        "",
    ]
    problems = []
    for client, names in (
        (carla, customer_names),
        (fresh_customer, customer_names),
        (ann, agent_names),
        (fresh_agent, agent_names),
    ):
        problems += await refusals(
            chat_server, client, [case(UNKNOWN_EVENT, name, *args) for name in names for args in UNKNOWN_ARGS]
        )
    no_problems(problems)

    assert await carla.call("customer:typing", {"is_typing": False}) == {"ok": True}
    assert (await fresh_customer.call("customer:join", {"name": "Dora"}))["ok"]
    assert (await ann.call("agent:message", {"conversation_id": cid, "text": "hi"}))["ok"]
    assert (await fresh_agent.call("agent:login", {}))["ok"]
    for client in (carla, fresh_customer, ann, fresh_agent):
        await client.disconnect()


@pytest.mark.parametrize("namespace", ["/customer", "/agent"])
@pytest.mark.parametrize("name", ["connect", "disconnect"])
async def test_lifecycle_names_sent_as_events_are_unknown_event(chat_server, namespace, name):
    """`connect` / `disconnect` are not events a client may send: a raw client
    that sends them as an EVENT packet gets the undefined-event answer, and
    nothing changes (neither the database nor the socket's joined / logged-in
    state)."""
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    cid = join["conversation"]["id"]
    client = carla if namespace == "/customer" else ann
    problems = await refusals(
        chat_server,
        client,
        [case(UNKNOWN_EVENT, name, *args) for args in [({"x": 1},), (), ({"token": "garbage"},)]],
    )
    # Still the same joined customer / logged-in agent, and able to join / log in again.
    if namespace == "/customer":
        checks = [("customer:typing", {"is_typing": False}), ("customer:join", {"token": join["token"]})]
    else:
        checks = [("agent:typing", {"conversation_id": cid, "is_typing": False}), ("agent:login", {})]
    for event, payload in checks:
        ack = await client.call(event, payload)
        if not (isinstance(ack, dict) and ack.get("ok") is True):
            problems.append(f"afterwards a valid {event} got {ack!r}")
    no_problems(problems)
    await carla.disconnect()
    await ann.disconnect()
