"""`agent:assigned` tells a customer its agent for every assignment, joins included.

A client written from the event list alone (it ignores the join's ack
beyond the token) still learns its agent, and hears of it after the ack,
exactly once.
"""

from __future__ import annotations

import asyncio

from cs_project.testing.clients import Client, agent, customer


async def join_recording_the_ack(client: Client, payload: dict) -> dict:
    """Join, with the ack recorded among the client's events where it arrived."""
    done = asyncio.get_running_loop().create_future()

    def acked(answer):
        client.events.append(("<ack>", answer))
        done.set_result(answer)

    await client.sio.emit("customer:join", payload, namespace="/customer", callback=acked)
    return await asyncio.wait_for(done, 10)


def names(client: Client) -> list[str]:
    return [name for name, _ in client.events if name in ("<ack>", "agent:assigned")]


async def test_a_new_customer_placed_at_once_hears_agent_assigned_after_the_ack(chat_server):
    ann, _ = await agent(chat_server, "ann")
    carla = await Client(chat_server, "/customer").connect()
    ack = await join_recording_the_ack(carla, {"name": "Carla"})
    assigned = await carla.wait_for("agent:assigned")
    assert assigned == {
        "conversation_id": ack["conversation"]["id"],
        "agent": {"id": chat_server.agents["ann"]["id"], "name": "Ann"},
        "transferred": False,
    }
    await asyncio.sleep(0.3)
    assert names(carla) == ["<ack>", "agent:assigned"]
    for client in (carla, ann):
        await client.disconnect()


async def test_a_queued_customer_hears_it_once_when_served(chat_server):
    carla = await Client(chat_server, "/customer").connect()
    ack = await join_recording_the_ack(carla, {"name": "Carla"})
    assert ack["conversation"]["status"] == "queued"
    ann, _ = await agent(chat_server, "ann")
    assigned = await carla.wait_for("agent:assigned")
    assert assigned["agent"]["name"] == "Ann" and assigned["transferred"] is False
    await asyncio.sleep(0.3)
    assert names(carla) == ["<ack>", "agent:assigned"]
    for client in (carla, ann):
        await client.disconnect()


async def test_a_returning_customer_placed_during_its_join_hears_it_after_the_ack(chat_server):
    ann, _ = await agent(chat_server, "ann")
    first, join = await customer(chat_server, "Carla")
    token, old_id = join["token"], join["conversation"]["id"]
    await first.wait_for("agent:assigned")
    assert (await first.call("customer:disconnect", {}))["ok"]
    await first.wait_for("session:end")
    # Purged since (operators' `queue purge`): the customer has no conversation left.
    chat_server.query("delete from chat_message where conversation_id = ?", (old_id,))
    chat_server.query("delete from chat_conversation where id = ?", (old_id,))

    # A second tab connected with the token joins: a new conversation, placed
    # during that join. That tab hears of it after its ack, once; the first
    # tab, not joining, hears of it as it happens.
    second = await Client(chat_server, "/customer").connect(auth={"token": token})
    ack = await join_recording_the_ack(second, {"token": token})
    new_id = ack["conversation"]["id"]
    assert new_id != old_id and ack["conversation"]["agent"]["name"] == "Ann"
    await second.wait_for("agent:assigned")
    await first.wait_for("agent:assigned", lambda a: a["conversation_id"] == new_id)
    await asyncio.sleep(0.3)
    assert names(second) == ["<ack>", "agent:assigned"]
    assert [a["conversation_id"] for a in first.of("agent:assigned")] == [old_id, new_id]
    for client in (first, second, ann):
        await client.disconnect()
