"""Internal agent chat: team-wide and direct, stored, never seen by customers."""

import asyncio

import pytest

from chat.tests.live import Client, agent, customer

pytestmark = pytest.mark.live


async def test_team_message_reaches_every_other_agent_and_no_customer(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    cat, _ = await agent(chat_server, "cat")
    carla, join = await customer(chat_server, "Carla")
    sent = await ann.call(
        "agent:internal", {"text": "Stand-up in 5", "conversation_id": join["conversation"]["id"]}
    )
    assert sent["ok"]
    message = sent["message"]
    assert message["from"] == {"id": chat_server.agents["ann"]["id"], "name": "Ann"}
    assert message["to_agent_id"] is None and message["conversation_id"] == join["conversation"]["id"]
    assert message["text"] == "Stand-up in 5" and message["created_at"].endswith("Z")
    for other in (ben, cat):
        got = await other.wait_for("agent:internal")
        assert got["id"] == message["id"] and got["text"] == "Stand-up in 5"
    await asyncio.sleep(0.3)
    assert ann.of("agent:internal") == []
    assert carla.of("agent:internal") == [] and all("Stand-up" not in str(e) for e in carla.events)
    assert chat_server.query("select text, to_agent_id from chat_internalmessage") == [
        ("Stand-up in 5", None)
    ]
    for c in (ann, ben, cat, carla):
        await c.disconnect()


async def test_direct_message_reaches_every_socket_of_that_agent_only(chat_server):
    ann, _ = await agent(chat_server, "ann")
    ben1, _ = await agent(chat_server, "ben")
    ben2, _ = await agent(chat_server, "ben")
    cat, _ = await agent(chat_server, "cat")
    ann_tab2, _ = await agent(chat_server, "ann")
    ben_id = chat_server.agents["ben"]["id"]
    sent = await ann.call("agent:internal", {"text": "psst", "to_agent_id": ben_id, "client_id": "dm-1"})
    assert sent["ok"] and sent["message"]["to_agent_id"] == ben_id
    for tab in (ben1, ben2):
        assert (await tab.wait_for("agent:internal"))["id"] == sent["message"]["id"]
    # The sender's other tab stays in step; the sending socket has its ack.
    assert (await ann_tab2.wait_for("agent:internal"))["id"] == sent["message"]["id"]
    await asyncio.sleep(0.3)
    assert cat.of("agent:internal") == [] and ann.of("agent:internal") == []

    # A resend with the same client_id is the same message, stored once.
    again = await ann.call("agent:internal", {"text": "psst", "to_agent_id": ben_id, "client_id": "dm-1"})
    assert again["message"]["id"] == sent["message"]["id"]
    assert chat_server.scalar("select count(*) from chat_internalmessage") == 1
    for c in (ann, ann_tab2, ben1, ben2, cat):
        await c.disconnect()


async def test_bad_internal_messages_store_nothing(chat_server):
    ann, _ = await agent(chat_server, "ann")
    cases = [
        ({"text": "hi", "to_agent_id": 999999}, "not_found"),
        ({"text": "hi", "conversation_id": 999999}, "not_found"),
        ({"text": "hi", "to_agent_id": chat_server.agents["ann"]["id"]}, "invalid_payload"),
        ({"text": ""}, "invalid_payload"),
        ({"text": "x" * 4001}, "too_large"),
        ({"text": "hi", "to_agent_id": "2"}, "invalid_payload"),
    ]
    for payload, code in cases:
        answer = await ann.call("agent:internal", payload)
        assert answer["ok"] is False and answer["error"]["code"] == code, (payload, answer)
    not_yet = await Client(chat_server, "/agent").connect(auth={"token": chat_server.agents["ben"]["token"]})
    assert (await not_yet.call("agent:internal", {"text": "hi"}))["error"]["code"] == "not_logged_in"
    assert chat_server.scalar("select count(*) from chat_internalmessage") == 0
    for c in (ann, not_yet):
        await c.disconnect()
