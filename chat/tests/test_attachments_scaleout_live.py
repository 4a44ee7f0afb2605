"""Attachments on PostgreSQL with two processes: one upload sent from two tabs
on different processes at the same moment is stored once (the row lock), and
the other process delivers it and serves its file."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from chat.tests.test_attachments_live import download, png_bytes, upload
from chat.tests.test_scaleout_live import two_servers  # noqa: F401  (the fixture)
from cs_project.testing.clients import Client, agent, customer

pytestmark = pytest.mark.live


async def test_one_upload_sent_from_two_processes_at_once_is_stored_once(two_servers):  # noqa: F811
    (one, two), database_url = two_servers
    ben, _ = await agent(two, "ben")
    carla, join = await customer(one, "Carla")
    conversation_id = join["conversation"]["id"]
    await ben.wait_for("customer:new", lambda n: n["conversation"]["id"] == conversation_id)
    other_tab = await Client(two, "/customer").connect(auth={"token": join["token"]})
    assert (await other_tab.call("customer:join", {"token": join["token"]}))["ok"]

    status, body = await upload(one, "shot.png", png_bytes(), token=join["token"])
    assert status == 201, body
    attachment_id = body["attachment"]["id"]
    sends = [{"text": "", "client_id": f"tab-{i}", "attachment_id": attachment_id} for i in range(2)]
    answers = await asyncio.gather(
        *(tab.call("customer:message", send) for tab, send in zip((carla, other_tab), sends, strict=True))
    )
    assert sorted(a["ok"] for a in answers) == [False, True], answers
    (refused,) = [a for a in answers if not a["ok"]]
    assert refused["error"]["code"] == "forbidden"
    (stored,) = [a["message"] for a in answers if a["ok"]]

    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "select m.id from chat_message m join chat_attachment a on a.message_id = m.id where a.id = %s",
            (attachment_id,),
        ).fetchall()
        customer_messages = db.execute(
            "select count(*) from chat_message where conversation_id = %s and sender = 'customer'",
            (conversation_id,),
        ).fetchone()[0]
    assert rows == [(stored["id"],)] and customer_messages == 1

    got = await ben.wait_for("customer:message", lambda m: m["id"] == stored["id"])
    assert (await download(two, got["attachment"]["url"]))[0] == 200
