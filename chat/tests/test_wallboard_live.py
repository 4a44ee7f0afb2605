"""The wallboard's actions against a real server: a connected customer and two
connected agents (real Socket.IO clients) hear of each one as they would of
the same change made by an agent, and each is in the audit log."""

from __future__ import annotations

import pytest

from cs_project.testing.clients import agent, customer
from cs_project.testing.supervisors import AdminSession, create_supervisor

pytestmark = pytest.mark.live


def audit(server, since_id: int = 0) -> list[tuple]:
    return server.query(
        "select actor_id, actor_name, action, conversation_id, agent_id, previous_agent_id, detail"
        " from agents_supervisoraction where id > ? order by id",
        (since_id,),
    )


def last_audit_id(server) -> int:
    return server.scalar("select coalesce(max(id), 0) from agents_supervisoraction")


async def test_each_action_reaches_the_customer_and_the_agents_and_is_logged(chat_server):
    sue = create_supervisor(chat_server, "sue")
    ann, _ = await agent(chat_server, "ann")
    ben, _ = await agent(chat_server, "ben")
    by_id = {chat_server.agents["ann"]["id"]: ann, chat_server.agents["ben"]["id"]: ben}
    names = {chat_server.agents["ann"]["id"]: "Ann", chat_server.agents["ben"]["id"]: "Ben"}
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    holder_id = join["conversation"]["agent"]["id"]
    other_id = next(i for i in by_id if i != holder_id)
    board = await AdminSession(chat_server).sign_in("sue")
    try:
        # Reassign: the conversation moves to the other agent, as a transfer would.
        status, html = await board.post(
            "/admin/wallboard/reassign/", {"conversation_id": conversation_id, "agent_id": other_id}
        )
        assert status == 200, html
        assert f"is now with {names[other_id]}." in html
        assigned = await carla.wait_for("agent:assigned", lambda e: e["transferred"])
        assert assigned == {
            "conversation_id": conversation_id,
            "agent": {"id": other_id, "name": names[other_id]},
            "transferred": True,
        }
        new = await by_id[other_id].wait_for(
            "customer:new", lambda e: e["conversation"]["id"] == conversation_id
        )
        assert new["transferred_from"] == {"id": holder_id, "name": names[holder_id]}
        await by_id[holder_id].wait_for(
            "system:notification",
            lambda e: e["code"] == "conversation_reassigned" and e["conversation_id"] == conversation_id,
        )
        note = await carla.wait_for(
            "agent:message", lambda m: (m["system"] or {}).get("code") == "transferred"
        )
        assert note["system"]["params"] == {"agent": names[other_id], "from_agent": names[holder_id]}
        assert (
            chat_server.scalar("select agent_id from chat_conversation where id=?", (conversation_id,))
            == other_id
        )
        assert audit(chat_server) == [
            (
                sue["user_id"],
                "sue",
                "reassign",
                conversation_id,
                other_id,
                holder_id,
                f"Carla: {names[holder_id]} → {names[other_id]}",
            )
        ]

        # Back to the queue: the customer is told, the agent loses it, and
        # the queue serves it again at once (both agents have room).
        mark = last_audit_id(chat_server)
        assigned_before = len(carla.of("agent:assigned"))
        status, html = await board.post("/admin/wallboard/requeue/", {"conversation_id": conversation_id})
        assert status == 200 and "is back at the head of the queue." in html, html
        requeued = await carla.wait_for(
            "agent:message", lambda m: (m["system"] or {}).get("code") == "requeued"
        )
        assert requeued["system"]["params"] == {"agent": names[other_id]}
        await by_id[other_id].wait_for(
            "system:notification",
            lambda e: e["code"] == "conversation_reassigned" and e["conversation_id"] == conversation_id,
        )
        served = await carla.wait_for("agent:assigned", count=assigned_before + 1)
        assert served["transferred"] is False
        new_holder = served["agent"]["id"]
        assert audit(chat_server, mark) == [
            (sue["user_id"], "sue", "requeue", conversation_id, None, other_id, f"Carla: {names[other_id]} →")
        ]

        # Close: both sides get session:end.
        mark = last_audit_id(chat_server)
        status, html = await board.post("/admin/wallboard/close/", {"conversation_id": conversation_id})
        assert status == 200 and f"Conversation #{conversation_id} closed." in html, html
        end = {"conversation_id": conversation_id, "reason": "closed_by_supervisor"}
        assert await carla.wait_for("session:end") == end
        assert await by_id[new_holder].wait_for("session:end") == end
        assert chat_server.query(
            "select status, end_reason from chat_conversation where id=?", (conversation_id,)
        ) == [("ended", "closed_by_supervisor")]
        assert audit(chat_server, mark) == [
            (
                sue["user_id"],
                "sue",
                "close",
                conversation_id,
                None,
                new_holder,
                f"Carla ({names[new_holder]})",
            )
        ]
        # An ended conversation cannot be closed again: refused, nothing logged.
        status, html = await board.post("/admin/wallboard/close/", {"conversation_id": conversation_id})
        assert status == 409 and "The conversation has already ended." in html
        assert audit(chat_server, mark + 1) == []

        # Set offline: the agent's conversation goes back to the queue and on to the other agent.
        dora, join = await customer(chat_server, "Dora")
        dora_conversation = join["conversation"]["id"]
        dora_agent = join["conversation"]["agent"]["id"]
        remaining = next(i for i in by_id if i != dora_agent)
        mark = last_audit_id(chat_server)
        status, html = await board.post("/admin/wallboard/set-offline/", {"agent_id": dora_agent})
        assert status == 200 and f"{names[dora_agent]} is now offline." in html, html
        for client in by_id.values():
            await client.wait_for(
                "agent:status", lambda s: s["id"] == dora_agent and s["status"] == "offline"
            )
        moved = await dora.wait_for("agent:assigned", lambda e: e["agent"]["id"] == remaining)
        assert moved["conversation_id"] == dora_conversation
        await dora.wait_for("agent:message", lambda m: (m["system"] or {}).get("code") == "requeued")
        await by_id[remaining].wait_for(
            "customer:new", lambda e: e["conversation"]["id"] == dora_conversation
        )
        assert (
            chat_server.scalar("select status from agents_agentprofile where id=?", (dora_agent,))
            == "offline"
        )
        assert audit(chat_server, mark) == [
            (sue["user_id"], "sue", "set_offline", None, dora_agent, None, f"{names[dora_agent]} (1)")
        ]
        # An offline agent cannot be given a conversation.
        status, html = await board.post(
            "/admin/wallboard/reassign/", {"conversation_id": dora_conversation, "agent_id": dora_agent}
        )
        assert status == 409 and "That agent is offline or not connected." in html
        assert audit(chat_server, mark + 1) == []

        # Assign from the queue: the remaining agent is busy (nothing comes by
        # itself), so a new customer waits until the supervisor gives it.
        assert (await by_id[remaining].call("agent:status", {"status": "busy"}))["ok"]
        eli, join = await customer(chat_server, "Eli")
        eli_conversation = join["conversation"]["id"]
        assert join["conversation"]["status"] == "queued"
        mark = last_audit_id(chat_server)
        status, html = await board.post(
            "/admin/wallboard/reassign/", {"conversation_id": eli_conversation, "agent_id": remaining}
        )
        assert status == 200 and f"is now with {names[remaining]}." in html, html
        given = await eli.wait_for("agent:assigned")
        assert given == {
            "conversation_id": eli_conversation,
            "agent": {"id": remaining, "name": names[remaining]},
            "transferred": False,
        }
        new = await by_id[remaining].wait_for(
            "customer:new", lambda e: e["conversation"]["id"] == eli_conversation
        )
        assert new["transferred_from"] is None
        assert audit(chat_server, mark) == [
            (
                sue["user_id"],
                "sue",
                "reassign",
                eli_conversation,
                remaining,
                None,
                f"Eli: → {names[remaining]}",
            )
        ]
        for client in (dora, eli):
            await client.disconnect()
    finally:
        await board.close()
        for client in (carla, ann, ben):
            await client.disconnect()


async def test_admins_own_actions_are_logged_too(chat_server):
    """Admin's "Close" action on the conversation list goes through the same service."""
    sue = create_supervisor(chat_server, "sue")
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    board = await AdminSession(chat_server).sign_in("sue")
    try:
        status, _html = await board.get("/admin/chat/conversation/")
        assert status == 200
        data = {"action": "close", "_selected_action": str(conversation_id), "index": "0"}
        status, html = await board.post("/admin/chat/conversation/", data)
        assert status == 302, html
        end = {"conversation_id": conversation_id, "reason": "closed_by_supervisor"}
        assert await carla.wait_for("session:end") == end
        assert await ann.wait_for("session:end") == end
        ann_id = chat_server.agents["ann"]["id"]
        assert audit(chat_server) == [
            (sue["user_id"], "sue", "close", conversation_id, None, ann_id, "Carla (Ann)")
        ]
    finally:
        await board.close()
        await carla.disconnect()
        await ann.disconnect()
