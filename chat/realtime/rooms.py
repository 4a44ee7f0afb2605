"""Namespaces and rooms.

`customer:<id>` (/customer): every socket of one customer; `agent:<id>`
(/agent): every logged-in socket of one agent; `agents` (/agent): every
logged-in agent socket.

Each identity room has a room per language, `customer:<id>#<lang>` and
`agent:<id>#<lang>`: a socket in the identity room is also in the one of
its own language (`enter`, `leave`). Socket.IO sends one payload to a whole
room, so what is worded for its reader (system messages, notifications) is
sent once per language to these; everything else, messages above all, to
the identity room as it is. Rooms are kept per process and an emit reaches
every process's members, so this works with several processes too.
"""

from __future__ import annotations

CUSTOMER_NS = "/customer"
AGENT_NS = "/agent"
AGENTS_ROOM = "agents"


def customer_room(customer_id: int) -> str:
    return f"customer:{customer_id}"


def agent_room(agent_id: int) -> str:
    return f"agent:{agent_id}"


def language_room(room: str, lang: str) -> str:
    """The sockets of identity room `room` that read `lang`."""
    return f"{room}#{lang}"


async def enter(sio, sid: str, namespace: str, room: str, lang: str) -> None:
    """Put socket `sid` in identity room `room` and in its language room."""
    await sio.enter_room(sid, room, namespace=namespace)
    await sio.enter_room(sid, language_room(room, lang), namespace=namespace)


async def leave(sio, sid: str, namespace: str, room: str, lang: str) -> None:
    await sio.leave_room(sid, room, namespace=namespace)
    await sio.leave_room(sid, language_room(room, lang), namespace=namespace)
