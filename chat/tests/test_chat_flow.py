"""A whole chat both ways over real sockets: join, assign, messages, typing, ticks."""

import pytest

from cs_project.testing.clients import agent, customer

pytestmark = pytest.mark.live


async def test_full_chat_both_ways_with_typing_and_read_ticks(chat_server):
    ann, login = await agent(chat_server, "ann")
    assert login["agent"]["status"] == "online"
    assert login["conversations"] == [] and login["queue"] == []

    carla, join = await customer(chat_server, "Carla", email="carla@example.com")
    assert join["conversation"]["status"] == "active"
    assert join["conversation"]["agent"]["name"] == "Ann"
    assert join["queue_position"] is None
    conversation_id = join["conversation"]["id"]

    new = await ann.wait_for("customer:new")
    assert new["conversation"]["id"] == conversation_id
    assert new["conversation"]["customer"]["email"] == "carla@example.com"
    assert new["transferred_from"] is None

    # Customer -> agent, with typing first.
    assert (await carla.call("customer:typing", {"is_typing": True})) == {"ok": True}
    typing = await ann.wait_for("customer:typing")
    assert typing == {"conversation_id": conversation_id, "is_typing": True}
    ack = await carla.call("customer:message", {"text": "  Hello, I need help  ", "client_id": "m-1"})
    assert ack["ok"]
    sent = ack["message"]
    assert sent["text"] == "Hello, I need help"
    assert sent["sender"] == "customer" and sent["client_id"] == "m-1"
    assert sent["status"] == "delivered"  # the agent was connected
    got = await ann.wait_for("customer:message", lambda m: m["sender"] == "customer")
    assert got["id"] == sent["id"] and got["text"] == "Hello, I need help"

    # Agent -> customer.
    assert (await ann.call("agent:typing", {"conversation_id": conversation_id, "is_typing": True}))["ok"]
    agent_typing = await carla.wait_for("agent:typing")
    assert agent_typing["agent"]["name"] == "Ann" and agent_typing["is_typing"] is True
    reply = await ann.call("agent:message", {"conversation_id": conversation_id, "text": "Sure, what's up?"})
    assert reply["ok"] and reply["message"]["sender"] == "agent"
    seen = await carla.wait_for("agent:message", lambda m: m["sender"] == "agent")
    assert seen["text"] == "Sure, what's up?" and seen["sender_name"] == "Ann"
    assert seen["id"] > sent["id"]

    # Read ticks both ways.
    assert (await ann.call("message:read", {"conversation_id": conversation_id, "up_to_id": sent["id"]}))[
        "ok"
    ]
    status = await carla.wait_for("message:status", lambda s: s["status"] == "read")
    assert status == {"conversation_id": conversation_id, "up_to_id": sent["id"], "status": "read"}
    assert (await carla.call("message:read", {"up_to_id": seen["id"]}))["ok"]
    status = await ann.wait_for("message:status", lambda s: s["status"] == "read")
    assert status["up_to_id"] == seen["id"]

    # Stored, with the read state.
    rows = chat_server.query(
        "select sender, text, status from chat_message"
        " where conversation_id=? and sender != 'system' order by id",
        (conversation_id,),
    )
    assert rows == [("customer", "Hello, I need help", 2), ("agent", "Sure, what's up?", 2)]

    # The agent ends it; both sides hear it.
    end = await ann.call("session:end", {"conversation_id": conversation_id})
    assert end["ok"] and end["conversation"]["status"] == "ended"
    assert end["conversation"]["end_reason"] == "agent_ended"
    assert (await carla.wait_for("session:end"))["reason"] == "agent_ended"
    assert (await ann.wait_for("session:end"))["conversation_id"] == conversation_id

    # Writing again opens a new conversation.
    again = await carla.call("customer:message", {"text": "One more thing"})
    assert again["ok"] and again["message"]["conversation_id"] != conversation_id
    await ann.wait_for(
        "customer:new", lambda n: n["conversation"]["id"] == again["message"]["conversation_id"]
    )
    await carla.disconnect()
    await ann.disconnect()
