"""Namespaces and rooms.

`customer:<id>` (/customer): every socket of one customer; `agent:<id>`
(/agent): every logged-in socket of one agent; `agents` (/agent): every
logged-in agent socket.
"""

from __future__ import annotations

CUSTOMER_NS = "/customer"
AGENT_NS = "/agent"
AGENTS_ROOM = "agents"


def customer_room(customer_id: int) -> str:
    return f"customer:{customer_id}"


def agent_room(agent_id: int) -> str:
    return f"agent:{agent_id}"
