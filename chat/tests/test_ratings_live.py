"""Satisfaction ratings over real sockets (PROTOCOL.md, `customer:rating`).

A customer rates their latest conversation once it has ended, once; the
agent who served it hears of it on every socket, worded in each socket's
language. Refusals store nothing.
"""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

from cs_project.testing.clients import Client, agent, customer

pytestmark = pytest.mark.live

RATED_MSGID = "%(customer)s rated conversation #%(id)s %(score)s out of 5."


def worded(lang: str, msgid: str, **params) -> str:
    """`msgid` as the server words it in `lang` (the catalog's translation)."""
    with translation.override(lang):
        text = gettext(msgid)
    return text % params


def error_code(ack) -> str:
    assert isinstance(ack, dict) and ack.get("ok") is False and set(ack) == {"ok", "error"}, ack
    assert isinstance(ack["error"]["message"], str) and ack["error"]["message"], ack
    return ack["error"]["code"]


def ratings(server) -> list[tuple]:
    return server.query(
        "select id, rating, rating_comment, rated_at is not null from chat_conversation order by id"
    )


async def served_and_ended(server, name: str = "Carla"):
    """Ann (two sockets: English and Chinese) serves a customer, then ends the chat."""
    ann, _ = await agent(server, "ann", status="online")
    ann_zh = await Client(server, "/agent").connect(
        auth={"token": server.agents["ann"]["token"], "lang": "zh-hans"}
    )
    assert (await ann_zh.call("agent:login", {}))["ok"]
    carla, joined = await customer(server, name)
    cid = joined["conversation"]["id"]
    assert joined["conversation"]["rating"] is None
    await ann.wait_for("customer:new")
    ended = await ann.call("session:end", {"conversation_id": cid})
    assert ended["ok"], ended
    assert ended["conversation"]["rating"] is None
    await carla.wait_for("session:end")
    carla.token = joined["token"]
    return ann, ann_zh, carla, cid


async def test_a_rating_is_stored_and_its_agent_told_in_each_sockets_language(chat_server):
    ann, ann_zh, carla, cid = await served_and_ended(chat_server)

    ack = await carla.call("customer:rating", {"score": 4, "comment": "  Quick and kind.  "})
    assert ack == {"ok": True, "conversation_id": cid, "score": 4}
    assert ratings(chat_server) == [(cid, 4, "Quick and kind.", 1)]

    customer_id = chat_server.query("select customer_id from chat_conversation where id = ?", (cid,))[0][0]
    for socket, lang in ((ann, "en"), (ann_zh, "zh-hans")):
        note = await socket.wait_for("system:notification", lambda d: d.get("code") == "rated")
        assert note == {
            "code": "rated",
            "conversation_id": cid,
            "score": 4,
            "comment": "Quick and kind.",
            "customer": {"id": customer_id, "name": "Carla"},
            "level": "info",
            "text": worded(lang, RATED_MSGID, customer="Carla", id=cid, score=4),
        }, lang
    assert ann.of("system:notification")[-1]["text"] == f"Carla rated conversation #{cid} 4 out of 5."

    # Once: a second rating is refused and changes nothing.
    assert error_code(await carla.call("customer:rating", {"score": 1})) == "conflict"
    assert ratings(chat_server) == [(cid, 4, "Quick and kind.", 1)]

    # The rating comes back with the conversation: a reload's join, the agents' history.
    again = await Client(chat_server, "/customer").connect()
    rejoined = await again.call("customer:join", {"token": carla.token})
    assert rejoined["conversation"]["rating"]["score"] == 4
    assert rejoined["conversation"]["rating"]["comment"] == "Quick and kind."
    history = await ann.call("conversation:history", {"customer_id": customer_id})
    assert history["conversations"][0]["rating"]["score"] == 4
    for client in (again, carla, ann, ann_zh):
        await client.disconnect()


async def test_bad_ratings_are_invalid_payload_and_store_nothing(chat_server):
    ann, ann_zh, carla, cid = await served_and_ended(chat_server)
    bad = [
        {"score": 0},
        {"score": 6},
        {"score": "5"},
        {"score": True},
        {"score": 4.5},
        {"score": None},
        {},
        {"score": 3, "comment": "x" * 1001},
        {"score": 3, "comment": "nul\x00"},
        {"score": 3, "comment": 42},
        {"score": 3, "stars": 3},
    ]
    for payload in bad:
        assert error_code(await carla.call("customer:rating", payload)) == "invalid_payload", payload
    assert ratings(chat_server) == [(cid, None, "", 0)]
    assert not [n for n in ann.of("system:notification") if n.get("code") == "rated"]

    # A comment of exactly 1,000 characters (after trimming) is fine.
    ack = await carla.call("customer:rating", {"score": 5, "comment": " " + "y" * 1000 + " "})
    assert ack["ok"], ack
    assert ratings(chat_server) == [(cid, 5, "y" * 1000, 1)]
    for client in (carla, ann, ann_zh):
        await client.disconnect()


async def test_nothing_to_rate_is_not_found(chat_server):
    # Not joined yet.
    stranger = await Client(chat_server, "/customer").connect()
    assert error_code(await stranger.call("customer:rating", {"score": 3})) == "not_joined"
    await stranger.disconnect()

    # A conversation still open (waiting in the queue: nobody is online).
    dora, _ = await customer(chat_server, "Dora")
    assert error_code(await dora.call("customer:rating", {"score": 3})) == "not_found"

    # Ended while queued: rated, and nobody to tell.
    assert (await dora.call("customer:disconnect", {}))["ok"]
    ack = await dora.call("customer:rating", {"score": 2})
    assert ack["ok"], ack
    await dora.disconnect()


async def test_only_the_latest_conversation_counts(chat_server):
    ann, ann_zh, carla, cid = await served_and_ended(chat_server)
    # Writing after the end opens a new conversation: the ended one is no longer rated.
    sent = await carla.call("customer:message", {"text": "one more thing"})
    assert sent["ok"] and sent["message"]["conversation_id"] != cid, sent
    assert error_code(await carla.call("customer:rating", {"score": 5})) == "not_found"
    assert [r[1] for r in ratings(chat_server)] == [None, None]
    for client in (carla, ann, ann_zh):
        await client.disconnect()
