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
    """Take socket `sid`, one of this process's, out of `room` and its language room.

    Done on this process's manager directly: in a disconnect handler the
    socket already counts as gone, and the Redis manager's `leave_room` then
    publishes the leave to the other processes instead, leaving the socket in
    the room here until the handler returns; a storm of disconnects made two
    Redis publishes each, past the manager's pool of connections.
    """
    leave_here(sio, sid, namespace, room, language_room(room, lang))


def leave_here(sio, sid: str, namespace: str, *rooms: str) -> None:
    """Take socket `sid`, one of this process's, out of `rooms` (see `leave`)."""
    for name in rooms:
        sio.manager.basic_leave_room(sid, namespace, name)
