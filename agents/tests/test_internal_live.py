"""`agent:internal` over real sockets: who hears it, its shape, storage, idempotency."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from cs_project.testing.clients import Client, agent, customer
from cs_project.testing.server import LiveServer

pytestmark = pytest.mark.live

INTERNAL_KEYS = {"id", "from", "to_agent_id", "conversation_id", "text", "created_at"}
# docs/PROTOCOL.md (the project's copy) adds the sender's idempotency key.
EXTRA_KEYS = {"client_id"}
# Nothing to wait for when checking that an event did *not* come.
QUIET = 0.4


def internal_rows(server: LiveServer) -> list[tuple]:
    return server.query(
        "select id, sender_id, to_agent_id, conversation_id, text, client_id"
        " from chat_internalmessage order by id"
    )


def assert_internal_shape(message: dict, server: LiveServer, sender: str) -> None:
    assert INTERNAL_KEYS <= set(message), message
    assert set(message) - INTERNAL_KEYS <= EXTRA_KEYS, message
    assert isinstance(message["id"], int)
    assert message["from"] == {"id": server.agents[sender]["id"], "name": sender.title()}
    created = datetime.fromisoformat(message["created_at"].replace("Z", "+00:00"))
    assert created.utcoffset().total_seconds() == 0, message["created_at"]


def internal_events(client: Client) -> list[dict]:
    return client.of("agent:internal")


async def barrier_dm(server: LiveServer, sender: Client, to: Client, to_username: str, text: str) -> None:
    """A direct message `to` must see; earlier internal events to it come first."""
    ack = await sender.call("agent:internal", {"text": text, "to_agent_id": server.agents[to_username]["id"]})
    assert ack["ok"], ack
    await to.wait_for("agent:internal", lambda m: m["id"] == ack["message"]["id"])


async def test_team_message_reaches_every_other_logged_in_agent_only(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    cat, _ = await agent(chat_server, "cat", status="busy")  # busy is still logged in
    bill, _ = await agent(chat_server, "bill")
    # Bill's second socket is connected but never logged in: not an agent console yet.
    bill_lurking = await Client(chat_server, "/agent").connect(
        auth={"token": chat_server.agents["bill"]["token"]}
    )
    # Customers of every kind: joined and assigned, joined and queued, connected only.
    carla, join = await customer(chat_server, "Carla")
    dave, _ = await customer(chat_server, "Dave")
    erin, _ = await customer(chat_server, "Erin")
    frank, _ = await customer(chat_server, "Frank")  # capacity of ann+ben+bill is 6: still assigned
    idle = await Client(chat_server, "/customer").connect()
    customers = [carla, dave, erin, frank, idle]
    conversation_id = join["conversation"]["id"]

    sent = await ann.call(
        "agent:internal",
        {"text": "Who knows the refund policy?", "conversation_id": conversation_id, "client_id": "team-1"},
    )
    assert sent["ok"], sent
    message = sent["message"]
    assert_internal_shape(message, chat_server, "ann")
    assert message["to_agent_id"] is None
    assert message["conversation_id"] == conversation_id
    assert message["text"] == "Who knows the refund policy?"

    for other in (ben, cat, bill):
        got = await other.wait_for("agent:internal", lambda m: m["id"] == message["id"])
        assert got == message

    # The sender's own socket hears nothing (ben -> ann is the barrier).
    await barrier_dm(chat_server, ben, ann, "ann", "barrier for ann")
    assert [m["text"] for m in internal_events(ann)] == ["barrier for ann"]
    await asyncio.sleep(QUIET)
    # Each other agent got it exactly once; the not-logged-in socket and customers nothing.
    for other in (ben, cat, bill):
        assert [m["id"] for m in internal_events(other)].count(message["id"]) == 1
    assert bill_lurking.events == []
    for c in customers:
        assert c.of("agent:internal") == [], c.events
        assert all("refund policy" not in repr(data) for _, data in c.events)

    assert internal_rows(chat_server)[0] == (
        message["id"],
        chat_server.agents["ann"]["id"],
        None,
        conversation_id,
        "Who knows the refund policy?",
        "team-1",
    )
    for c in (ann, ben, cat, bill, bill_lurking, *customers):
        await c.disconnect()


async def test_direct_message_reaches_all_sockets_of_that_agent_only(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben1, _ = await agent(chat_server, "ben")
    ben2, _ = await agent(chat_server, "ben")
    cat, _ = await agent(chat_server, "cat")
    bill, _ = await agent(chat_server, "bill")
    carla, _ = await customer(chat_server, "Carla")
    ben_id = chat_server.agents["ben"]["id"]

    sent = await ann.call("agent:internal", {"text": "psst, ben", "to_agent_id": ben_id, "client_id": "dm-1"})
    assert sent["ok"], sent
    message = sent["message"]
    assert_internal_shape(message, chat_server, "ann")
    assert message["to_agent_id"] == ben_id and message["conversation_id"] is None
    assert message["text"] == "psst, ben"
    for tab in (ben1, ben2):
        got = await tab.wait_for("agent:internal", lambda m: m["id"] == message["id"])
        assert got == message

    # Nobody else: barriers for the agents, a quiet wait for the customer.
    await barrier_dm(chat_server, ben1, ann, "ann", "barrier for ann")
    await barrier_dm(chat_server, ben1, cat, "cat", "barrier for cat")
    await barrier_dm(chat_server, ben1, bill, "bill", "barrier for bill")
    for other in (ann, cat, bill):
        assert message["id"] not in [m["id"] for m in internal_events(other)]
    await asyncio.sleep(QUIET)
    for tab in (ben1, ben2):
        assert [m["id"] for m in internal_events(tab)].count(message["id"]) == 1
    assert carla.of("agent:internal") == []
    assert all("psst" not in repr(data) for _, data in carla.events)

    rows = internal_rows(chat_server)
    assert rows[0] == (message["id"], chat_server.agents["ann"]["id"], ben_id, None, "psst, ben", "dm-1")
    assert [r[4] for r in rows[1:]] == ["barrier for ann", "barrier for cat", "barrier for bill"]
    for c in (ann, ben1, ben2, cat, bill, carla):
        await c.disconnect()


async def test_resend_with_the_same_client_id_is_stored_and_sent_once(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ann_tab2, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    cat, _ = await agent(chat_server, "cat")
    ben_id = chat_server.agents["ben"]["id"]

    # Direct.
    first = await ann.call("agent:internal", {"text": "once", "to_agent_id": ben_id, "client_id": "x-1"})
    assert first["ok"], first
    await ben.wait_for("agent:internal", lambda m: m["id"] == first["message"]["id"])
    again = await ann.call("agent:internal", {"text": "once", "to_agent_id": ben_id, "client_id": "x-1"})
    assert again["ok"], again
    assert again["message"] == first["message"]
    # Team-wide.
    team = await ann.call("agent:internal", {"text": "all of you", "client_id": "x-2"})
    assert team["ok"], team
    for other in (ben, cat):
        await other.wait_for("agent:internal", lambda m: m["id"] == team["message"]["id"])
    team_again = await ann.call("agent:internal", {"text": "all of you", "client_id": "x-2"})
    assert team_again["ok"] and team_again["message"] == team["message"]

    assert chat_server.query(
        "select client_id, count(*) from chat_internalmessage group by client_id order by client_id"
    ) == [("x-1", 1), ("x-2", 1)]

    # A resend stores nothing and sends nothing to anyone: each socket saw each message once.
    await barrier_dm(chat_server, cat, ben, "ben", "barrier for ben")
    await barrier_dm(chat_server, ben, cat, "cat", "barrier for cat")
    await barrier_dm(chat_server, ben, ann_tab2, "ann", "barrier for ann")
    await asyncio.sleep(QUIET)
    for client in (ben, cat, ann_tab2):
        ids = [m["id"] for m in internal_events(client)]
        assert len(ids) == len(set(ids)), (client.namespace, internal_events(client))
    for c in (ann, ann_tab2, ben, cat):
        await c.disconnect()


async def test_unknown_recipient_is_not_found_and_stores_nothing(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    unknown = max(a["id"] for a in chat_server.agents.values()) + 1000
    answer = await ann.call(
        "agent:internal", {"text": "anyone there?", "to_agent_id": unknown, "client_id": "u-1"}
    )
    assert answer["ok"] is False and answer["error"]["code"] == "not_found", answer
    assert set(answer) == {"ok", "error"} and isinstance(answer["error"].get("message"), str)
    assert chat_server.scalar("select count(*) from chat_internalmessage") == 0
    await asyncio.sleep(QUIET)
    assert ben.of("agent:internal") == []
    # The failed client_id is not burnt: the same key works for a real send.
    ok = await ann.call(
        "agent:internal",
        {"text": "anyone there?", "to_agent_id": chat_server.agents["ben"]["id"], "client_id": "u-1"},
    )
    assert ok["ok"], ok
    assert chat_server.scalar("select count(*) from chat_internalmessage") == 1
    for c in (ann, ben):
        await c.disconnect()


async def test_agent_not_logged_in_gets_not_logged_in(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben = await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["ben"]["token"]})
    for payload in (
        {"text": "hi team"},
        {"text": "hi ann", "to_agent_id": chat_server.agents["ann"]["id"], "client_id": "nl-1"},
    ):
        answer = await ben.call("agent:internal", payload)
        assert answer["ok"] is False and answer["error"]["code"] == "not_logged_in", answer
    assert chat_server.scalar("select count(*) from chat_internalmessage") == 0
    await asyncio.sleep(QUIET)
    assert ann.of("agent:internal") == []
    # After logging in the same socket may send.
    assert (await ben.call("agent:login", {}))["ok"]
    sent = await ben.call("agent:internal", {"text": "hi team"})
    assert sent["ok"], sent
    await ann.wait_for("agent:internal", lambda m: m["id"] == sent["message"]["id"])
    for c in (ann, ben):
        await c.disconnect()


async def test_customers_never_receive_internal_events(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    carla, join = await customer(chat_server, "Carla")
    tab2 = await Client(chat_server, "/customer").connect(auth={"token": join["token"]})
    poller = await Client(chat_server, "/customer", transports=["polling"]).connect()
    assert (await poller.call("customer:join", {"name": "Polly"}))["ok"]
    conversation_id = join["conversation"]["id"]
    sends = [
        {"text": "team note", "conversation_id": conversation_id},
        {
            "text": "dm note",
            "to_agent_id": chat_server.agents["ben"]["id"],
            "conversation_id": conversation_id,
        },
        {"text": "plain team"},
    ]
    for payload in sends:
        assert (await ann.call("agent:internal", payload))["ok"]
    await ben.wait_for("agent:internal", count=3)
    # A real customer event afterwards, then a quiet wait: still nothing internal.
    reply = await ann.call("agent:message", {"conversation_id": conversation_id, "text": "public reply"})
    for tab in (carla, tab2):
        await tab.wait_for("agent:message", lambda m: m["id"] == reply["message"]["id"])
    await asyncio.sleep(QUIET)
    for c in (carla, tab2, poller):
        assert c.of("agent:internal") == []
        assert all("note" not in repr(data) and "plain team" not in repr(data) for _, data in c.events), (
            c.events
        )
    for c in (ann, ben, carla, tab2, poller):
        await c.disconnect()
