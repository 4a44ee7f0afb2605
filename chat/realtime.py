"""The one module that sends Socket.IO events.

Every event the server emits is built and sent here, so all of them can be
checked against docs/PROTOCOL.md in one place. Services describe what
changed (chat.outbox events); `dispatch` turns each kind into emits. Internal
agent chat goes through a channel-layer group, bridged to each process's
agent sockets by `run_internal_bridge`.

Rooms: `customer:<id>` (/customer: every socket of one customer),
`agent:<id>` (/agent: every logged-in socket of one agent), `agents` (/agent:
every logged-in agent socket).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import socketio
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from engineio import packet as eio_packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from . import assignment, selectors, socket_json
from .outbox import Event

log = logging.getLogger(__name__)

CUSTOMER_NS = "/customer"
AGENT_NS = "/agent"
AGENTS_ROOM = "agents"
INTERNAL_GROUP = "chat.internal"

sio: socketio.AsyncServer | None = None
# True when the Socket.IO manager is in-process (no pub/sub between servers).
_single_process = True


def bind(server: socketio.AsyncServer) -> None:
    global sio, _single_process
    sio = server
    _single_process = not isinstance(server.manager, AsyncPubSubManager)


def customer_room(customer_id: int) -> str:
    return f"customer:{customer_id}"


def agent_room(agent_id: int) -> str:
    return f"agent:{agent_id}"


def has_local_sockets(namespace: str, room: str) -> bool:
    return bool(sio.manager.rooms.get(namespace, {}).get(room))


def _others_here(namespace: str, room: str, skip_sid: str | None) -> bool:
    members = sio.manager.rooms.get(namespace, {}).get(room)
    return bool(members) and (skip_sid is None or len(members) > 1 or skip_sid not in members)


async def _emit_to_room(
    event: str, data: dict, namespace: str, room: str, skip_sid: str | None = None
) -> None:
    """Emit unless it is certain nobody would receive it.

    With the in-process manager this process sees every socket, so an empty
    room is skipped (an emit still encodes the packet and schedules tasks).
    With a pub/sub manager the room may live in another process: always emit.
    """
    if _single_process and not _others_here(namespace, room, skip_sid):
        return
    await sio.emit(event, data, to=room, skip_sid=skip_sid, namespace=namespace)


# --- messages: the hot path -----------------------------------------------------


async def ack(eio_sid: str, namespace: str, id: int, answer: dict) -> None:
    """Answer the event that asked for ack `id` (sent outside its handler)."""
    await sio._send_packet(
        eio_sid, sio.packet_class(socketio.packet.ACK, namespace=namespace, id=id, data=[answer])
    )


def encode(message: dict) -> str:
    """A message's JSON, made once for every frame that carries it.

    The same text python-socketio would make (`chat.socket_json`); the frames
    below are its packets written out: `2<ns>,[event,data]` and
    `3<ns>,<id>[answer]`. A message goes to its sender as an ack and to
    each recipient socket as an event: encoding it once, not per packet,
    and skipping python-socketio's scan of the data for binary parts, was a
    measured share of each message's cost (docs/PERFORMANCE.md).
    """
    return socket_json.dumps(message)


async def ack_message(eio_sid: str, namespace: str, id: int, encoded: str) -> None:
    """Ack a stored message event with `{ok: true, message}`, `encoded` by `encode`."""
    frame = f'3{namespace},{id}[{{"ok":true,"message":{encoded}}}]'
    await sio._send_eio_packet(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, frame))


def recipient_here(sender: str, customer_id: int, agent_id: int | None) -> bool:
    """Whether the other side of a message from `sender` has a socket in this process."""
    if sender == "customer":
        return agent_id is not None and has_local_sockets(AGENT_NS, agent_room(agent_id))
    return has_local_sockets(CUSTOMER_NS, customer_room(customer_id))


async def _message_to_room(
    event: str, message: dict, encoded: str, namespace: str, room: str, skip_sid: str | None = None
) -> None:
    if not _single_process:  # the room may have sockets in other processes
        await sio.emit(event, message, to=room, skip_sid=skip_sid, namespace=namespace)
    elif _others_here(namespace, room, skip_sid):
        frame = eio_packet.Packet(eio_packet.MESSAGE, f'2{namespace},["{event}",{encoded}]')
        await sio.manager.send_to_room(frame, namespace, room, skip_sid)


async def message_to_recipients(
    message: dict, customer_id: int, agent_id: int | None, sender_sid: str | None, encoded: str | None = None
) -> bool:
    """Send a stored message to the other side and the sender's other tabs.

    Returns whether the other side had a socket here (the message is then
    delivered). With several processes the recipient may be connected to
    another one: `delivered` only counts what this process can see.
    """
    if encoded is None:
        encoded = encode(message)
    sender = message["sender"]
    delivered = recipient_here(sender, customer_id, agent_id)
    customers = customer_room(customer_id)
    # The customer's other tabs see their own message too.
    await _message_to_room(
        "agent:message",
        message,
        encoded,
        CUSTOMER_NS,
        customers,
        skip_sid=sender_sid if sender == "customer" else None,
    )
    if agent_id is not None:
        agents = agent_room(agent_id)
        if sender == "agent":
            await _message_to_room("agent:message", message, encoded, AGENT_NS, agents, skip_sid=sender_sid)
        else:
            await _message_to_room("customer:message", message, encoded, AGENT_NS, agents)
    return delivered


async def customer_typing(conversation_id: int, agent_id: int | None, is_typing: bool) -> None:
    if agent_id is not None:
        await sio.emit(
            "customer:typing",
            {"conversation_id": conversation_id, "is_typing": is_typing},
            to=agent_room(agent_id),
            namespace=AGENT_NS,
        )


async def agent_typing(conversation_id: int, customer_id: int, agent: dict, is_typing: bool) -> None:
    await sio.emit(
        "agent:typing",
        {"conversation_id": conversation_id, "is_typing": is_typing, "agent": agent},
        to=customer_room(customer_id),
        namespace=CUSTOMER_NS,
    )


# --- events recorded by services ---------------------------------------------------


async def _message(message: dict, customer_id: int, agent_id: int | None) -> None:
    await message_to_recipients(message, customer_id, agent_id, None)


async def _assigned(
    conversation: dict,
    messages: list,
    customer_id: int,
    agent_id: int,
    transferred_from: dict | None,
) -> None:
    forget_queue_position(conversation["id"])
    await sio.emit(
        "agent:assigned",
        {
            "conversation_id": conversation["id"],
            "agent": conversation["agent"],
            "transferred": transferred_from is not None,
        },
        to=customer_room(customer_id),
        namespace=CUSTOMER_NS,
    )
    await sio.emit(
        "customer:new",
        {"conversation": conversation, "messages": messages, "transferred_from": transferred_from},
        to=agent_room(agent_id),
        namespace=AGENT_NS,
    )


async def _session_end(conversation_id: int, reason: str, customer_id: int, agent_id: int | None) -> None:
    forget_queue_position(conversation_id)
    payload = {"conversation_id": conversation_id, "reason": reason}
    await sio.emit("session:end", payload, to=customer_room(customer_id), namespace=CUSTOMER_NS)
    if agent_id is not None:
        await sio.emit("session:end", payload, to=agent_room(agent_id), namespace=AGENT_NS)


async def _agent_state(agent: dict) -> None:
    await sio.emit("agent:status", agent, to=AGENTS_ROOM, namespace=AGENT_NS)


async def _status(
    conversation_id: int, up_to_id: int, status: str, to: str, customer_id: int, agent_id: int | None
) -> None:
    payload = {"conversation_id": conversation_id, "up_to_id": up_to_id, "status": status}
    if to == "customer":
        await sio.emit("message:status", payload, to=customer_room(customer_id), namespace=CUSTOMER_NS)
    elif agent_id is not None:
        await sio.emit("message:status", payload, to=agent_room(agent_id), namespace=AGENT_NS)


async def _transferred_away(conversation_id: int, agent_id: int) -> None:
    await notify_agent(
        agent_id,
        code="conversation_reassigned",
        text=f"Conversation #{conversation_id} is no longer yours.",
        conversation_id=conversation_id,
        level="info",
    )


async def notify_agent(
    agent_id: int, *, code: str, text: str, conversation_id: int | None = None, level: str = "info"
) -> None:
    payload = {"code": code, "text": text, "level": level}
    if conversation_id is not None:
        payload["conversation_id"] = conversation_id
    await sio.emit("system:notification", payload, to=agent_room(agent_id), namespace=AGENT_NS)


async def _internal(message: dict, sender_id: int, to_agent_id: int | None) -> None:
    await get_channel_layer().group_send(
        INTERNAL_GROUP,
        {"type": "internal.message", "message": message, "sender_id": sender_id, "to_agent_id": to_agent_id},
    )


async def _queue_changed() -> None:
    request_queue_refresh()


HANDLERS = {
    "message": _message,
    "assigned": _assigned,
    "session_end": _session_end,
    "agent_state": _agent_state,
    "status": _status,
    "session_transferred_away": _transferred_away,
    "internal": _internal,
    "queue_changed": _queue_changed,
}


async def dispatch(events: Iterable[Event]) -> None:
    """Send what committed services recorded, in the order they recorded it.

    An agent's state may be recorded several times in one transaction (say,
    once per conversation it lost); only the last, committed one is sent.
    """
    events = list(events)
    last_state = {e.data["agent"]["id"]: i for i, e in enumerate(events) if e.kind == "agent_state"}
    for i, event in enumerate(events):
        if event.kind == "agent_state" and last_state[event.data["agent"]["id"]] != i:
            continue
        await HANDLERS[event.kind](**event.data)


# --- the queue ---------------------------------------------------------------------

# Position last told to each waiting conversation, so that only changes are sent.
_told_positions: dict[int, int] = {}
_refresh_wanted = False
_refresh_task: asyncio.Task | None = None


def forget_queue_position(conversation_id: int) -> None:
    _told_positions.pop(conversation_id, None)


def request_queue_refresh() -> None:
    """Tell waiting customers and agents about the queue, soon.

    Requests coalesce: under a join storm one refresh serves many changes.
    """
    global _refresh_wanted, _refresh_task
    _refresh_wanted = True
    if _refresh_task is None or _refresh_task.done():
        _refresh_task = asyncio.get_running_loop().create_task(_refresh_queue())


def _queue_snapshot() -> tuple[list[tuple[int, int]], dict, float, int]:
    order = list(selectors.queued_conversations().values_list("id", "customer_id"))
    listing = selectors.queue_listing(settings.CHAT["QUEUE_LIST_LIMIT"])
    return order, listing, selectors.mean_handle_seconds(), selectors.online_capacity()


async def _refresh_queue() -> None:
    global _refresh_wanted
    while _refresh_wanted:
        _refresh_wanted = False
        try:
            order, listing, handle_s, capacity = await database_sync_to_async(_queue_snapshot)()
            await _send_queue(order, listing, handle_s, capacity)
        except Exception:
            log.exception("queue refresh failed")


async def _send_queue(order: list[tuple[int, int]], listing: dict, handle_s: float, capacity: int) -> None:
    waiting = set()
    for position, (conversation_id, customer_id) in enumerate(order, start=1):
        waiting.add(conversation_id)
        if _told_positions.get(conversation_id) == position:
            continue
        _told_positions[conversation_id] = position
        await sio.emit(
            "queue:position",
            {
                "conversation_id": conversation_id,
                "position": position,
                "estimated_wait_s": assignment.estimate_wait_seconds(position, handle_s, capacity),
            },
            to=customer_room(customer_id),
            namespace=CUSTOMER_NS,
        )
    for gone in set(_told_positions) - waiting:
        del _told_positions[gone]
    await sio.emit("queue:update", listing, to=AGENTS_ROOM, namespace=AGENT_NS)


# --- internal chat bridge ------------------------------------------------------------


async def run_internal_bridge() -> None:
    """Forward the internal-chat group to this process's agent sockets.

    Runs for the life of the process. Each process joins the group once, and
    emits only to its own sockets (`ignore_queue`), so a message reaches every
    agent exactly once however many processes there are.
    """
    layer = get_channel_layer()
    channel = await layer.new_channel("internal-bridge.")
    while True:
        await layer.group_add(INTERNAL_GROUP, channel)  # renewed: groups expire
        try:
            event = await asyncio.wait_for(layer.receive(channel), timeout=3600)
        except TimeoutError:
            continue
        try:
            await _emit_internal(event["message"], event["sender_id"], event["to_agent_id"])
        except Exception:
            log.exception("internal message bridge failed")


async def internal_to_own_tabs(message: dict, agent_id: int, sender_sid: str) -> None:
    """The sender's other sockets (tabs) see what it sent, to stay in step."""
    await sio.emit(
        "agent:internal", message, to=agent_room(agent_id), skip_sid=sender_sid, namespace=AGENT_NS
    )


async def _emit_internal(message: dict, sender_id: int, to_agent_id: int | None) -> None:
    if to_agent_id is None:
        sender_sids = list(sio.manager.get_participants(AGENT_NS, agent_room(sender_id)))
        await sio.emit(
            "agent:internal",
            message,
            to=AGENTS_ROOM,
            skip_sid=[sid for sid, _ in sender_sids],
            namespace=AGENT_NS,
            ignore_queue=True,
        )
    else:
        await sio.emit(
            "agent:internal", message, to=agent_room(to_agent_id), namespace=AGENT_NS, ignore_queue=True
        )
