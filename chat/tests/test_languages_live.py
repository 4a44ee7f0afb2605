"""Each socket in its own language, over real sockets (PROTOCOL.md, "Languages").

Error messages follow the connection's language (`Accept-Language`, or
`auth.lang`) with the same code in every language, whichever path refused
(validation, a handler, the message writer's batch, the per-socket limit,
the connection itself). One conversation's system messages reach a customer
who reads Chinese in Chinese and an agent who reads English in English, as
they happen and when read again, with the same `system.code` for both.

Chinese wording comes from the zh_Hans catalog: a text is asserted to equal
the catalog's translation of its msgid, and to be Chinese.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3

import pytest
import socketio
from django.utils import translation
from django.utils.translation import gettext

from cs_project.testing.clients import Client, agent

pytestmark = pytest.mark.live

CJK = re.compile(r"[\u3400-\u9fff]")
ZH_HEADERS = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
EN_HEADERS = {"Accept-Language": "en-US,en;q=0.9"}


def worded(lang: str, msgid: str, **params) -> str:
    """`msgid` as the server words it in `lang`."""
    with translation.override(lang):
        text = gettext(msgid)
    return text % params if params else text


def assert_worded(lang: str, message: str, msgid: str, **params) -> None:
    assert message == worded(lang, msgid, **params), (lang, message, msgid)
    if lang == "zh-hans":
        assert CJK.search(message), f"not Chinese: {message!r}"
    else:
        assert not CJK.search(message), f"not English: {message!r}"


async def customers_in_each_language(server) -> dict[str, tuple[Client, str]]:
    """Customer sockets by how they chose their language: name -> (client, language)."""
    by_header = await Client(server, "/customer").connect(headers=ZH_HEADERS)
    # auth.lang comes before the handshake's headers.
    by_auth = await Client(server, "/customer").connect(auth={"lang": "zh-hans"}, headers=EN_HEADERS)
    english = await Client(server, "/customer").connect(headers=EN_HEADERS)
    return {"zh header": (by_header, "zh-hans"), "zh auth": (by_auth, "zh-hans"), "en": (english, "en")}


def error_of(ack) -> dict:
    assert isinstance(ack, dict) and ack.get("ok") is False, ack
    return ack["error"]


# --- (a) error messages ---------------------------------------------------------------


async def test_customer_errors_are_worded_in_the_connections_language(chat_server):
    sockets = await customers_in_each_language(chat_server)
    # (event, payload, code, msgid, params): a message event refused before the
    # writer (not joined), validation in a handler, an unknown event.
    cases = [
        ("customer:message", {"text": "hi"}, "not_joined", "Send customer:join first.", {}),
        ("customer:join", {"name": 5}, "invalid_payload", "`%(field)s` must be a string.", {"field": "name"}),
        (
            "customer:join",
            {"name": "Carla", "colour": "red"},
            "invalid_payload",
            "Unknown field(s): %(fields)s.",
            {"fields": "colour"},
        ),
        ("messages:fetch", {"limit": 0}, "not_joined", "Send customer:join first.", {}),
        (
            "customer:dance",
            {},
            "unknown_event",
            "%(namespace)s has no event %(event)r.",
            {"namespace": "/customer", "event": "customer:dance"},
        ),
    ]
    for event, payload, code, msgid, params in cases:
        for name, (client, lang) in sockets.items():
            error = error_of(await client.call(event, payload))
            assert error["code"] == code, (name, event, error)
            assert_worded(lang, error["message"], msgid, **params)
    for client, _lang in sockets.values():
        assert client.connected
        await client.disconnect()


async def test_one_batch_of_the_writer_refuses_each_socket_in_its_language(chat_server):
    # Three sockets of one agent: Chinese by auth.lang, Chinese by header, English.
    token = chat_server.agents["ann"]["token"]
    zh_auth = await Client(chat_server, "/agent").connect(auth={"token": token, "lang": "zh-hans"})
    zh_header = await Client(chat_server, "/agent").connect(auth={"token": token}, headers=ZH_HEADERS)
    english = await Client(chat_server, "/agent").connect(auth={"token": token}, headers=EN_HEADERS)
    sockets = [(zh_auth, "zh-hans"), (zh_header, "zh-hans"), (english, "en")]
    for client, _lang in sockets:
        assert (await client.call("agent:login", {}))["ok"]
    carla = await Client(chat_server, "/customer").connect(headers=ZH_HEADERS)
    join = await carla.call("customer:join", {"name": "Carla"})
    conversation_id = join["conversation"]["id"]
    assert join["conversation"]["agent"]["name"] == "Ann", join
    ended = await english.call("session:end", {"conversation_id": conversation_id})
    assert ended["ok"], ended

    # Sent together, they are refused together, usually in one batch of the
    # message writer: one refusal, answered to each socket in its language.
    acks = await asyncio.gather(
        *(c.call("agent:message", {"conversation_id": conversation_id, "text": "late"}) for c, _ in sockets)
    )
    for ack, (_client, lang) in zip(acks, sockets, strict=True):
        error = error_of(ack)
        assert error["code"] == "conflict", ack
        assert_worded(lang, error["message"], "The conversation has ended.")
    # Not logged in on a fresh socket; a validation error in a message event.
    fresh = await Client(chat_server, "/agent").connect(auth={"token": token, "lang": "zh-hans"})
    error = error_of(await fresh.call("agent:message", {"conversation_id": conversation_id, "text": "x"}))
    assert error["code"] == "not_logged_in"
    assert_worded("zh-hans", error["message"], "Send agent:login first.")
    for client, lang in sockets:
        error = error_of(await client.call("agent:message", {"conversation_id": "one", "text": "x"}))
        assert error["code"] == "invalid_payload"
        assert_worded(
            lang, error["message"], "`%(field)s` must be a positive integer.", field="conversation_id"
        )
    for client in (*(c for c, _ in sockets), fresh, carla):
        await client.disconnect()


async def test_the_agents_own_choice_comes_before_the_browsers(chat_server):
    ben = chat_server.agents["ben"]
    with sqlite3.connect(chat_server.db_path, timeout=10) as db:  # as the console's switcher stores it
        db.execute("update agents_agentprofile set language='zh-hans' where id=?", (ben["id"],))
    chosen = await Client(chat_server, "/agent").connect(auth={"token": ben["token"]}, headers=EN_HEADERS)
    error = error_of(await chosen.call("agent:status", {"status": "away"}))
    assert error["code"] == "not_logged_in"
    assert_worded("zh-hans", error["message"], "Send agent:login first.")
    # auth.lang still comes first.
    asked = await Client(chat_server, "/agent").connect(auth={"token": ben["token"], "lang": "en"})
    assert_worded("en", error_of(await asked.call("agent:status", {}))["message"], "Send agent:login first.")
    await chosen.disconnect()
    await asked.disconnect()


async def test_refused_connections_are_worded_in_their_language(chat_server):
    async def refusal(namespace: str, **connect) -> dict:
        client = Client(chat_server, namespace)
        errors = []
        client.sio.on("connect_error", errors.append, namespace=namespace)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(**connect)
        assert errors, "refused without a connect_error"
        return errors[-1]["data"]

    for headers, lang in ((ZH_HEADERS, "zh-hans"), (EN_HEADERS, "en")):
        data = await refusal("/customer", auth={"token": "not-a-token"}, headers=headers)
        assert data["code"] == "invalid_token"
        assert_worded(lang, data["message"], "Join without a token.")
        data = await refusal("/agent", auth={"token": "not-a-token"}, headers=headers)
        assert data["code"] == "unauthorized"
        assert_worded(lang, data["message"], "Log in, or connect with auth: {token}.")
    data = await refusal("/agent", auth={"token": "not-a-token", "lang": "zh-hans"}, headers=EN_HEADERS)
    assert_worded("zh-hans", data["message"], "Log in, or connect with auth: {token}.")


async def test_rate_limited_is_worded_per_socket(start_chat_server):
    # This test is about the per-socket event limit's answer: three events,
    # then refusals (nearly no refill), instead of the default 60.
    server = start_chat_server(LIMIT_CUSTOMER_EVENTS_BURST="3", LIMIT_CUSTOMER_EVENTS_PER_SECOND="0.01")
    sockets = await customers_in_each_language(server)
    for name, (client, lang) in sockets.items():
        answers = [await client.call("customer:typing", {"is_typing": True}) for _ in range(4)]
        assert [error_of(a)["code"] for a in answers] == ["not_joined"] * 3 + ["rate_limited"], (
            name,
            answers,
        )
        assert_worded(
            lang, answers[-1]["error"]["message"], "Too many requests; slow down and try again later."
        )
        await client.disconnect()


# --- (b) system messages ------------------------------------------------------------------

JOINED = "%(agent)s joined the conversation."
TRANSFERRED_CUSTOMER = "You were transferred to %(agent)s."
TRANSFERRED_AGENT = "%(from_agent)s transferred the conversation to %(agent)s."
ENDED_BY_AGENT = "%(agent)s ended the conversation."


def code_of(message: dict) -> str | None:
    return None if message["system"] is None else message["system"]["code"]


def system_texts(messages: list[dict]) -> list[tuple[str, str]]:
    return [(m["system"]["code"], m["text"]) for m in messages if m["sender"] == "system"]


async def test_one_conversations_system_messages_in_each_readers_language(chat_server):
    ann_en = await Client(chat_server, "/agent").connect(
        auth={"token": chat_server.agents["ann"]["token"]}, headers=EN_HEADERS
    )
    # A second console of Ann's, in Chinese: each socket reads its own language.
    ann_zh = await Client(chat_server, "/agent").connect(
        auth={"token": chat_server.agents["ann"]["token"], "lang": "zh-hans"}
    )
    for client in (ann_en, ann_zh):
        assert (await client.call("agent:login", {}))["ok"]
    ben, _ = await agent(chat_server, "ben", status="busy")  # English (no language asked for)
    carla = await Client(chat_server, "/customer").connect(headers=ZH_HEADERS)

    join = await carla.call("customer:join", {"name": "Carla"})
    assert join["ok"] and join["conversation"]["agent"]["name"] == "Ann", join
    cid, customer_id = join["conversation"]["id"], join["customer"]["id"]
    assert system_texts(join["messages"]) == [("joined", worded("zh-hans", JOINED, agent="Ann"))]
    assert CJK.search(join["messages"][0]["text"]) and join["messages"][0]["system"]["params"] == {
        "agent": "Ann"
    }
    new_en = await ann_en.wait_for("customer:new")
    new_zh = await ann_zh.wait_for("customer:new")
    assert system_texts(new_en["messages"]) == [("joined", "Ann joined the conversation.")]
    assert system_texts(new_zh["messages"]) == [("joined", worded("zh-hans", JOINED, agent="Ann"))]

    # What people write is never translated, and carries no `system`.
    said = await carla.call("customer:message", {"text": "你好, I need help"})
    assert said["ok"] and said["message"]["system"] is None, said
    for client in (ann_en, ann_zh):
        heard = await client.wait_for("customer:message", lambda m: m["sender"] == "customer")
        assert heard["text"] == "你好, I need help" and heard["system"] is None

    moved = await ann_en.call(
        "session:transfer", {"conversation_id": cid, "to_agent_id": chat_server.agents["ben"]["id"]}
    )
    assert moved["ok"], moved
    to_carla = await carla.wait_for("agent:message", lambda m: m["sender"] == "system")
    assert (to_carla["system"]["code"], to_carla["text"]) == (
        "transferred",
        worded("zh-hans", TRANSFERRED_CUSTOMER, agent="Ben"),
    )
    assert CJK.search(to_carla["text"]) and to_carla["system"]["params"] == {
        "agent": "Ben",
        "from_agent": "Ann",
    }
    with translation.override("zh-hans"):
        assert to_carla["sender_name"] == translation.pgettext("message sender", "System")
    new_ben = await ben.wait_for("customer:new")
    assert new_ben["messages"][-1]["sender_name"] == "System"
    assert system_texts(new_ben["messages"])[-1] == (
        "transferred",
        "Ann transferred the conversation to Ben.",
    )
    gone_en = await ann_en.wait_for("system:notification")
    gone_zh = await ann_zh.wait_for("system:notification")
    assert gone_en["code"] == gone_zh["code"] == "conversation_reassigned"
    assert gone_en["text"] == f"Conversation #{cid} is no longer yours."
    assert_worded("zh-hans", gone_zh["text"], "Conversation #%(id)s is no longer yours.", id=cid)

    ended = await ben.call("session:end", {"conversation_id": cid})
    assert ended["ok"], ended
    end_note = await carla.wait_for("agent:message", lambda m: code_of(m) == "ended_by_agent")
    assert (end_note["system"]["code"], end_note["text"]) == (
        "ended_by_agent",
        worded("zh-hans", ENDED_BY_AGENT, agent="Ben"),
    )
    end_for_ben = await ben.wait_for("customer:message", lambda m: code_of(m) == "ended_by_agent")
    assert (end_for_ben["system"]["code"], end_for_ben["text"]) == (
        "ended_by_agent",
        "Ben ended the conversation.",
    )
    assert end_for_ben["id"] == end_note["id"]

    # Read again: the customer's replay, a page, and the agents' history.
    codes = ["joined", "transferred", "ended_by_agent"]
    chinese = [
        worded("zh-hans", JOINED, agent="Ann"),
        worded("zh-hans", TRANSFERRED_CUSTOMER, agent="Ben"),
        worded("zh-hans", ENDED_BY_AGENT, agent="Ben"),
    ]
    again = await Client(chat_server, "/customer").connect(auth={"token": join["token"]}, headers=ZH_HEADERS)
    replay = await again.call("customer:join", {"token": join["token"]})
    assert system_texts(replay["messages"]) == list(zip(codes, chinese, strict=True)), replay["messages"]
    page = await again.call("messages:fetch", {"after_id": 0})
    assert system_texts(page["messages"]) == list(zip(codes, chinese, strict=True))
    same_in_english = await Client(chat_server, "/customer").connect(
        auth={"token": join["token"], "lang": "en"}
    )
    replay_en = await same_in_english.call("customer:join", {"token": join["token"]})
    assert system_texts(replay_en["messages"]) == [
        ("joined", "Ann joined the conversation."),
        ("transferred", "You were transferred to Ben."),
        ("ended_by_agent", "Ben ended the conversation."),
    ]
    history_en = await ben.call("conversation:history", {"customer_id": customer_id})
    assert system_texts(history_en["messages"]) == [
        ("joined", "Ann joined the conversation."),
        ("transferred", "Ann transferred the conversation to Ben."),
        ("ended_by_agent", "Ben ended the conversation."),
    ]
    history_zh = await ann_zh.call("conversation:history", {"customer_id": customer_id})
    assert [code for code, _ in system_texts(history_zh["messages"])] == codes
    assert system_texts(history_zh["messages"])[1][1] == worded(
        "zh-hans", TRANSFERRED_AGENT, agent="Ben", from_agent="Ann"
    )
    assert all(CJK.search(text) for _, text in system_texts(history_zh["messages"]))
    # Stored once, in English, with its code and parameters.
    stored = chat_server.query(
        "select system_code, system_params, text from chat_message"
        " where conversation_id=? and sender='system' order by id",
        (cid,),
    )
    assert [row[0] for row in stored] == codes
    assert stored[1][2] == "You were transferred to Ben."
    for client in (ann_en, ann_zh, ben, carla, again, same_in_english):
        await client.disconnect()
