"""Replays and lists are paged, and a conversation holds a bounded number of messages.

A long conversation's join brings one page and says there is more; the
rest comes page by page (`messages:fetch`), every message once, in order,
whether the client resumes after an id or reads backwards from the latest.
`agent:login` lists the head of the queue and `queue:list` the rest. A
conversation at CONVERSATION_MAX_MESSAGES refuses the next message with a
clear error and stores nothing. Real server, real clients.
"""

from __future__ import annotations

import asyncio

import pytest

from cs_project.testing.checks import acked_in_order
from cs_project.testing.clients import Client, agent, burst, customer, resume

pytestmark = pytest.mark.live

PAGE = 20


async def _long_conversation(chat_server, count: int):
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new")
    payloads = [
        {"conversation_id": conversation_id, "text": f"m{i}", "client_id": f"p-{i}"} for i in range(count)
    ]
    ids = acked_in_order(await burst(ann, "agent:message", payloads))
    return ann, carla, join, ids


async def test_a_long_conversation_resumes_page_by_page_and_reads_backwards(start_chat_server):
    chat_server = start_chat_server(MESSAGE_PAGE_LIMIT=PAGE)
    ann, carla, join, ids = await _long_conversation(chat_server, 3 * PAGE + 5)
    all_ids = [
        r[0]
        for r in chat_server.query(
            "select id from chat_message where conversation_id=? order by id", (join["conversation"]["id"],)
        )
    ]

    # Without last_message_id: the latest page, and older ones exist.
    tab = await Client(chat_server, "/customer").connect(auth={"token": join["token"]})
    latest = await tab.call("customer:join", {"token": join["token"]})
    assert latest["ok"] and latest["has_more"] is True
    assert [m["id"] for m in latest["messages"]] == all_ids[-PAGE:]
    # "Show earlier messages", until there are none.
    seen = [m["id"] for m in latest["messages"]]
    more = True
    while more:
        page = await tab.call("messages:fetch", {"before_id": seen[0]})
        assert page["ok"], page
        assert len(page["messages"]) <= PAGE
        seen = [m["id"] for m in page["messages"]] + seen
        more = page["has_more"]
    assert seen == all_ids

    # With last_message_id: the first page after it, then the rest, once, in order.
    middle = ids[7]
    _, resumed = await resume(chat_server, join["token"], middle)
    assert [m["id"] for m in resumed] == [i for i in all_ids if i > middle]
    first = await tab.call("customer:join", {"token": join["token"], "last_message_id": middle})
    assert len(first["messages"]) == PAGE and first["has_more"] is True
    # Up to date: nothing after the last one.
    done = await tab.call("messages:fetch", {"after_id": all_ids[-1]})
    assert done == {"ok": True, "messages": [], "has_more": False}
    for c in (ann, carla, tab):
        await c.disconnect()


async def test_fetch_bounds_and_errors(start_chat_server):
    chat_server = start_chat_server(MESSAGE_PAGE_LIMIT=PAGE, PAGE_RATE_BURST=5, PAGE_RATE_PER_SECOND=0.01)
    stranger = await Client(chat_server, "/customer").connect()
    assert (await stranger.call("messages:fetch", {}))["error"]["code"] == "not_joined"
    carla, _ = await customer(chat_server, "Carla")
    for bad in (
        {"limit": PAGE + 1},
        {"limit": 0},
        {"after_id": 1, "before_id": 2},
        {"before_id": 0},
        {"x": 1},
    ):
        answer = await carla.call("messages:fetch", bad)
        assert answer["error"]["code"] == "invalid_payload", (bad, answer)
    # The bucket: 5 pages at once, then rate_limited (invalid payloads took none).
    answers = [await carla.call("messages:fetch", {"limit": 1}) for _ in range(6)]
    assert [a["ok"] for a in answers] == [True] * 5 + [False]
    assert answers[-1]["error"]["code"] == "rate_limited"
    for c in (stranger, carla):
        await c.disconnect()


async def test_the_login_lists_the_head_of_the_queue_and_queue_list_the_rest(start_chat_server):
    chat_server = start_chat_server(QUEUE_LIST_LIMIT=3)
    visitors = [await customer(chat_server, f"V{i}") for i in range(7)]  # no agent online: all wait
    ann, login = await agent(chat_server, "ann", status="busy")  # logging in may take some first
    queued = [
        r[0]
        for r in chat_server.query(
            "select id from chat_conversation where status='queued' order by queue_order, id"
        )
    ]
    assert len(queued) >= 4
    assert [c["id"] for c in login["queue"]] == queued[:3]
    assert login["queue_length"] == len(queued)
    listed, offset, more = [], 0, True
    while more:
        page = await ann.call("queue:list", {"offset": offset})
        assert page["ok"] and page["length"] == len(queued), page
        listed += [c["id"] for c in page["conversations"]]
        offset += len(page["conversations"])
        more = page["has_more"]
    assert listed == queued
    assert (await ann.call("queue:list", {"limit": 4}))["error"]["code"] == "invalid_payload"
    assert (await ann.call("queue:list", {"offset": -1}))["error"]["code"] == "invalid_payload"
    for c in [ann] + [v[0] for v in visitors]:
        await c.disconnect()


async def test_customer_new_brings_the_latest_page(start_chat_server):
    chat_server = start_chat_server(MESSAGE_PAGE_LIMIT=PAGE)
    carla, _ = await customer(chat_server, "Carla")  # queued: nobody is online
    acks = await burst(
        carla, "customer:message", [{"text": f"c{i}", "client_id": f"c-{i}"} for i in range(PAGE + 5)]
    )
    ids = acked_in_order(acks)
    ann, _ = await agent(chat_server, "ann")
    new = await ann.wait_for("customer:new")
    assert len(new["messages"]) == PAGE and new["has_more"] is True
    assert new["messages"][-1]["sender"] == "system"  # the join note, the latest
    assert [m["id"] for m in new["messages"] if m["sender"] == "customer"] == ids[-(PAGE - 1) :]
    for c in (ann, carla):
        await c.disconnect()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_full_conversation_refuses_the_next_message_and_stores_nothing(start_chat_server, server):
    chat_server = start_chat_server(server=server, CONVERSATION_MAX_MESSAGES=5)
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new")
    acks = await burst(
        carla, "customer:message", [{"text": f"c{i}", "client_id": f"c-{i}"} for i in range(4)]
    )
    assert all(a["ok"] for a in acks)
    # One more fits; in one batch, the two after it do not.
    mixed = await asyncio.gather(
        ann.call("agent:message", {"conversation_id": conversation_id, "text": "a0", "client_id": "a-0"}),
        carla.call("customer:message", {"text": "c4", "client_id": "c-4"}),
        carla.call("customer:message", {"text": "c5", "client_id": "c-5"}),
    )
    assert [a["ok"] for a in mixed] == [True, False, False]
    for refused in mixed[1:]:
        assert refused["error"]["code"] == "conflict"
        assert "limit of 5 messages" in refused["error"]["message"]
    counted = chat_server.query(
        "select count(*) from chat_message where conversation_id=? and sender<>'system'", (conversation_id,)
    )[0][0]
    assert counted == 5
    assert (
        chat_server.scalar("select message_count from chat_conversation where id=?", (conversation_id,)) == 5
    )
    # A resend of a stored message still gets it back.
    again = await carla.call("customer:message", {"text": "c0", "client_id": "c-0"})
    assert again["ok"] and again["message"]["id"] == acks[0]["message"]["id"]
    for c in (ann, carla):
        await c.disconnect()
