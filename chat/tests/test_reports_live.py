"""A scripted day over real sockets; `manage.py report` on the server's database
gives the figures the test computed from the times it saw the events."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from chat.reports.percentiles import percentile
from cs_project.testing.clients import agent, customer
from cs_project.testing.server import PYTHON, ROOT, base_env

pytestmark = pytest.mark.live

TOLERANCE = 0.4  # seconds between the test's clock and the server's timestamps


def spread(values: list[float]) -> dict:
    return {"median": percentile(values, Fraction(1, 2)), "p90": percentile(values, Fraction(9, 10))}


def close_to(got: dict, want: dict) -> bool:
    return all(abs(got[k] - want[k]) <= TOLERANCE for k in want)


async def test_a_scripted_day_gives_the_figures_of_its_event_times(chat_server):
    ann, _ = await agent(chat_server, "ann")  # capacity 2
    ben, _ = await agent(chat_server, "ben", status="busy")  # takes transfers only
    ben_id = chat_server.agents["ben"]["id"]

    def now() -> float:
        return time.monotonic()

    c1, j1 = await customer(chat_server, "One")
    t1 = now()
    c2, j2 = await customer(chat_server, "Two", topic="orders")
    t2 = now()
    assert j1["conversation"]["agent"]["name"] == "Ann" and j2["conversation"]["agent"]["name"] == "Ann"
    c3, j3 = await customer(chat_server, "Three")  # ann is full: queued
    t3 = now()
    assert j3["conversation"]["status"] == "queued"
    c4, _ = await customer(chat_server, "Four")
    for client in (c1, c2, c3):
        assert (await client.call("customer:message", {"text": "hello"}))["ok"]
    await asyncio.sleep(0.5)
    assert (await c4.call("customer:disconnect", {}))["ok"]  # gave up waiting: abandoned

    await asyncio.sleep(1.0)  # a slow first reply
    id1, id2, id3 = (j["conversation"]["id"] for j in (j1, j2, j3))
    assert (await ann.call("agent:message", {"conversation_id": id1, "text": "sorry for the wait"}))["ok"]
    r1 = now()
    assert (await ann.call("agent:message", {"conversation_id": id2, "text": "one moment"}))["ok"]
    r2 = now()
    moved = await ann.call("session:transfer", {"conversation_id": id2, "to_agent_id": ben_id})
    assert moved["ok"], moved
    a3 = now()  # ann has room again: the queued customer is hers now
    await c3.wait_for("agent:assigned")
    assert (await ben.call("agent:message", {"conversation_id": id2, "text": "ben here"}))["ok"]
    await asyncio.sleep(0.3)
    assert (await ann.call("agent:message", {"conversation_id": id3, "text": "hi three"}))["ok"]
    r3 = now()
    await asyncio.sleep(0.5)
    assert (await ann.call("session:end", {"conversation_id": id1}))["ok"]
    e1 = now()
    assert (await ben.call("session:end", {"conversation_id": id2}))["ok"]
    e2 = now()
    assert (await ann.call("session:end", {"conversation_id": id3}))["ok"]
    e3 = now()
    for cid, rating in ((id1, 5), (id2, 2)):
        chat_server.query(
            "update chat_conversation set rating = ?, rated_at = ended_at where id = ?", (rating, cid)
        )
    for client in (ann, ben, c1, c2, c3, c4):
        await client.disconnect()

    today = datetime.now(UTC).date()
    env = base_env(chat_server.db_path)
    out = await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "manage.py", "report", "--since", str(today), "--until", str(today + timedelta(days=1)),
         "--format", "json"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    figures = json.loads(out.stdout)
    totals = figures["totals"]
    assert {k: totals[k] for k in ("conversations", "answered", "abandoned", "transfers")} == {
        "conversations": 4,
        "answered": 3,
        "abandoned": 1,
        "transfers": 1,
    }
    assert totals["messages"] == {"customer": 3, "agent": 4}
    # Waits and durations run from the first assignment: c2's transfer moves neither.
    waits = [0.0, 0.0, a3 - t3]
    assert close_to(totals["wait_s"], spread(waits)), (totals["wait_s"], waits)
    firsts = [r1 - t1, r2 - t2, r3 - t3]
    assert close_to(totals["first_response_s"], spread(firsts)), (totals["first_response_s"], firsts)
    durations = [e1 - t1, e2 - t2, e3 - a3]
    assert close_to(totals["duration_s"], spread(durations)), (totals["duration_s"], durations)
    assert totals["csat"] == {"count": 2, "average": 3.5}

    agents = {row["name"]: row for row in figures["agents"]}
    assert agents["Ann"]["conversations"] == 2 and agents["Ben"]["conversations"] == 1
    assert agents["Ann"]["messages"] == 3 and agents["Ben"]["messages"] == 1
    assert agents["Ann"]["csat"] == {"count": 1, "average": 5.0}
    assert close_to(agents["Ann"]["first_response_s"], spread([r1 - t1, r2 - t2, r3 - t3]))
    assert close_to(agents["Ben"]["duration_s"], spread([e2 - t2]))  # the whole conversation, his at the end
    orders = next(row for row in figures["topics"] if row["topic"] == "orders")
    assert orders["conversations"] == 1 and orders["transfers"] == 1
