"""The one module that sends Socket.IO events.

Every event the server emits is declared here as a `ServerEvent` (its
namespace and name, in `SERVER_EVENTS`, which tests check against
docs/PROTOCOL.md) and sent from here. Services describe what changed
(chat.events); `dispatch` turns each committed event into emits, by its
type. Raw frames and acks go through the server's own methods
(`chat.realtime.server`), the one place that calls python-socketio's
private senders.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from cs_project import languages

from .. import assignment, selectors, system_notes
from ..batching import BatchQueue
from ..events import (
    ALL,
    AgentStateChanged,
    ConversationAssigned,
    ConversationEnded,
    ConversationRated,
    ConversationTakenAway,
    Event,
    InternalMessageCreated,
    MessageCreated,
    QueueChanged,
    ReceiptsChanged,
    SocketsRevoked,
)
from . import connections, revocation, socket_json
from .rooms import AGENT_NS, AGENTS_ROOM, CUSTOMER_NS, agent_room, customer_room, language_room

log = logging.getLogger(__name__)

INTERNAL_GROUP = "chat.internal"


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """An event the server sends: its namespace and its name."""

    namespace: str
    name: str


SERVER_EVENTS: list[ServerEvent] = []


def _declare(namespace: str, name: str) -> ServerEvent:
    event = ServerEvent(namespace, name)
    SERVER_EVENTS.append(event)
    return event


# What a customer receives.
TO_CUSTOMER_ASSIGNED = _declare(CUSTOMER_NS, "agent:assigned")
TO_CUSTOMER_MESSAGE = _declare(CUSTOMER_NS, "agent:message")
TO_CUSTOMER_TYPING = _declare(CUSTOMER_NS, "agent:typing")
TO_CUSTOMER_END = _declare(CUSTOMER_NS, "session:end")
TO_CUSTOMER_QUEUE_POSITION = _declare(CUSTOMER_NS, "queue:position")
TO_CUSTOMER_STATUS = _declare(CUSTOMER_NS, "message:status")
# What an agent receives.
TO_AGENT_NEW = _declare(AGENT_NS, "customer:new")
TO_AGENT_MESSAGE = _declare(AGENT_NS, "customer:message")
TO_AGENT_OWN_MESSAGE = _declare(AGENT_NS, "agent:message")  # the sender's other tabs
TO_AGENT_TYPING = _declare(AGENT_NS, "customer:typing")
TO_AGENT_INTERNAL = _declare(AGENT_NS, "agent:internal")
TO_AGENT_NOTIFICATION = _declare(AGENT_NS, "system:notification")
TO_AGENT_END = _declare(AGENT_NS, "session:end")
TO_AGENT_STATE = _declare(AGENT_NS, "agent:status")
TO_AGENT_QUEUE = _declare(AGENT_NS, "queue:update")
TO_AGENT_STATUS = _declare(AGENT_NS, "message:status")

sio = None  # the ChatSocketServer, bound by chat.realtime.server
# True when the manager is in-process: this process sees every socket.
_single_process = True


def bind(server) -> None:
    global sio, _single_process
    sio = server
    _single_process = server.single_process


async def _emit(event: ServerEvent, data: dict, to: str, skip_sid=None, ignore_queue: bool = False) -> None:
    await sio.emit(
        event.name, data, to=to, skip_sid=skip_sid, namespace=event.namespace, ignore_queue=ignore_queue
    )


# --- messages: the hot path -----------------------------------------------------


def ack(eio_sid: str, namespace: str, id: int, answer: dict) -> Awaitable[None]:
    """Answer the event that asked for ack `id`, sent outside its handler (await it)."""
    return sio.send_ack(eio_sid, namespace, id, answer)


def encode(message: dict) -> str:
    """A message's JSON, made once for every frame that carries it.

    The same text python-socketio would make (`socket_json`); the frames
    below are its packets written out: `2<ns>,[event,data]` and
    `3<ns>,<id>[answer]`. A message goes to its sender as an ack and to
    each recipient socket as an event: encoding it once, not per packet,
    and skipping python-socketio's scan of the data for binary parts, was a
    measured share of each message's cost (docs/PERFORMANCE.md).
    """
    return socket_json.dumps(message)


def ack_message(eio_sid: str, namespace: str, id: int, encoded: str) -> Awaitable[None]:
    """Ack a stored message event with `{ok: true, message}`, `encoded` by `encode` (await it)."""
    return sio.send_frame(eio_sid, f'3{namespace},{id}[{{"ok":true,"message":{encoded}}}]')


def recipient_here(sender: str, customer_id: int, agent_id: int | None) -> bool:
    """Whether the other side of a message from `sender` has a socket in this process."""
    if sender == "customer":
        return agent_id is not None and sio.has_local_sockets(AGENT_NS, agent_room(agent_id))
    return sio.has_local_sockets(CUSTOMER_NS, customer_room(customer_id))


async def _message_to_room(
    event: ServerEvent, message: dict, encoded: str, room: str, skip_sid: str | None = None
) -> None:
    if not _single_process:  # the room may have sockets in other processes
        await _emit(event, message, room, skip_sid)
    elif sio.others_here(event.namespace, room, skip_sid):
        frame = f'2{event.namespace},["{event.name}",{encoded}]'
        await sio.send_frame_to_room(frame, event.namespace, room, skip_sid)


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
    # The customer's other tabs see their own message too.
    customer_skip = sender_sid if sender == "customer" else None
    await _message_to_room(TO_CUSTOMER_MESSAGE, message, encoded, customer_room(customer_id), customer_skip)
    if agent_id is not None:
        agents = agent_room(agent_id)
        if sender == "agent":
            await _message_to_room(TO_AGENT_OWN_MESSAGE, message, encoded, agents, skip_sid=sender_sid)
        else:
            await _message_to_room(TO_AGENT_MESSAGE, message, encoded, agents)
    return delivered


async def customer_typing(conversation_id: int, agent_id: int | None, is_typing: bool) -> None:
    if agent_id is not None:
        payload = {"conversation_id": conversation_id, "is_typing": is_typing}
        await _emit(TO_AGENT_TYPING, payload, agent_room(agent_id))


async def agent_typing(conversation_id: int, customer_id: int, agent: dict, is_typing: bool) -> None:
    payload = {"conversation_id": conversation_id, "is_typing": is_typing, "agent": agent}
    await _emit(TO_CUSTOMER_TYPING, payload, customer_room(customer_id))


async def assigned_to_socket(sid: str, payload: dict) -> None:
    """`agent:assigned` for one customer socket: the one whose join made the assignment."""
    await _emit(TO_CUSTOMER_ASSIGNED, payload, sid)


# --- worded for each reader: once per language ----------------------------------------


async def _per_language(
    event: ServerEvent, room: str, payload_in: Callable[[str], dict], skip_sid=None
) -> None:
    """Send `payload_in(lang)` to the sockets of identity room `room` that read `lang`, for each language.

    Worded inside `translation.override(lang)`. A language no socket here
    reads is skipped, unless other processes may hold some. Only for what is
    worded per reader (system messages, notifications): never messages.
    """
    for lang in languages.CODES:
        target = language_room(room, lang)
        if _single_process and not sio.has_local_sockets(event.namespace, target):
            continue
        with translation.override(lang):
            payload = payload_in(lang)
        await _emit(event, payload, target, skip_sid)


async def system_message_to_recipients(message: dict, customer_id: int, agent_id: int | None) -> None:
    """A stored system message, to the customer and to the agent (if any), each worded for its reader."""
    await _per_language(
        TO_CUSTOMER_MESSAGE,
        customer_room(customer_id),
        lambda lang: system_notes.localized(message, system_notes.CUSTOMER, lang),
    )
    if agent_id is not None:
        await _per_language(
            TO_AGENT_MESSAGE,
            agent_room(agent_id),
            lambda lang: system_notes.localized(message, system_notes.AGENT, lang),
        )


# --- events recorded by services ---------------------------------------------------


async def _message(event: MessageCreated) -> None:
    if event.message.get("system") is not None:
        await system_message_to_recipients(event.message, event.customer_id, event.agent_id)
    else:
        await message_to_recipients(event.message, event.customer_id, event.agent_id, None)


async def _assigned(event: ConversationAssigned) -> None:
    conversation = event.conversation
    forget_queue_position(conversation["id"])
    payload = {
        "conversation_id": conversation["id"],
        "agent": conversation["agent"],
        "transferred": event.transferred_from is not None,
    }
    # A socket whose join made this assignment is told after its ack (chat.sockets).
    joining = connections.joining_sids(event.customer_id)
    await _emit(TO_CUSTOMER_ASSIGNED, payload, customer_room(event.customer_id), skip_sid=joining or None)

    def new(lang: str) -> dict:
        return {
            "conversation": conversation,
            "messages": system_notes.localized_all(event.messages, system_notes.AGENT, lang),
            "has_more": event.has_more,
            "transferred_from": event.transferred_from,
        }

    await _per_language(TO_AGENT_NEW, agent_room(event.agent_id), new)


async def _ended(event: ConversationEnded) -> None:
    forget_queue_position(event.conversation_id)
    payload = {"conversation_id": event.conversation_id, "reason": event.reason}
    await _emit(TO_CUSTOMER_END, payload, customer_room(event.customer_id))
    if event.agent_id is not None:
        await _emit(TO_AGENT_END, payload, agent_room(event.agent_id))


async def _agent_state(event: AgentStateChanged) -> None:
    await _emit(TO_AGENT_STATE, event.agent, AGENTS_ROOM)


async def _receipts(event: ReceiptsChanged) -> None:
    payload = {"conversation_id": event.conversation_id, "up_to_id": event.up_to_id, "status": event.status}
    if event.to == "customer":
        await _emit(TO_CUSTOMER_STATUS, payload, customer_room(event.customer_id))
    elif event.agent_id is not None:
        await _emit(TO_AGENT_STATUS, payload, agent_room(event.agent_id))


async def _taken_away(event: ConversationTakenAway) -> None:
    await notify_agent(
        event.agent_id,
        code="conversation_reassigned",
        text=_("Conversation #%(id)s is no longer yours."),
        params={"id": event.conversation_id},
        conversation_id=event.conversation_id,
    )


async def _rated(event: ConversationRated) -> None:
    if event.agent_id is None:
        return  # nobody served it: nobody to tell
    await notify_agent(
        event.agent_id,
        code="rated",
        text=_("%(customer)s rated conversation #%(id)s %(score)s out of 5."),
        params={"customer": event.customer["name"], "id": event.conversation_id, "score": event.score},
        conversation_id=event.conversation_id,
        extra={"score": event.score, "comment": event.comment, "customer": event.customer},
    )


async def notify_agent(
    agent_id: int,
    *,
    code: str,
    text,
    params: dict | None = None,
    conversation_id: int | None = None,
    level: str = "info",
    extra: dict | None = None,
) -> None:
    """`system:notification` to the agent's sockets; `text` (a lazy translation,
    `%(name)s` filled from `params`) is worded in each socket's language.
    `extra` adds the code's own fields (the same in every language)."""

    def payload_in(lang: str) -> dict:
        worded = str(text)
        payload = {"code": code, "text": worded % params if params else worded, "level": level}
        if conversation_id is not None:
            payload["conversation_id"] = conversation_id
        if extra:
            payload.update(extra)
        return payload

    await _per_language(TO_AGENT_NOTIFICATION, agent_room(agent_id), payload_in)


async def _internal(event: InternalMessageCreated) -> None:
    # Through the channel layer: every process forwards it to its own agents
    # (chat.realtime.internal_bridge).
    try:
        await get_channel_layer().group_send(
            INTERNAL_GROUP,
            {
                "type": "internal.message",
                "message": event.message,
                "sender_id": event.sender_id,
                "to_agent_id": event.to_agent_id,
            },
        )
    except Exception:
        # Redis is down. The message is stored (its sender is told so):
        # this process's agents get it now, the others' find it in the
        # console's history. Raising here would answer an error for a
        # message that was stored.
        log.warning("internal message %s reached this process only", event.message["id"], exc_info=True)
        await internal_to_local_agents(event.message, event.sender_id, event.to_agent_id)


async def _queue_changed(event: QueueChanged) -> None:
    request_queue_refresh()


async def _revoked(event: SocketsRevoked) -> None:
    # Through the channel layer: every process drops its own sockets
    # (chat.realtime.revocation).
    try:
        await revocation.publish(event.kind, event.id, event.credential)
    except Exception:
        # Redis is down. The revocation is stored, and every new socket is
        # checked against it; of the sockets already open, this process
        # drops its own at least (docs/DEPLOY.md, "When Redis or PostgreSQL
        # restarts").
        log.warning("revocation of %s %s applied in this process only", event.kind, event.id, exc_info=True)
        await revocation.disconnect_local(sio, event.kind, event.id, event.credential)


HANDLERS: dict[type[Event], Callable[[Event], Awaitable[None]]] = {
    MessageCreated: _message,
    ConversationAssigned: _assigned,
    ConversationEnded: _ended,
    AgentStateChanged: _agent_state,
    ReceiptsChanged: _receipts,
    ConversationTakenAway: _taken_away,
    ConversationRated: _rated,
    InternalMessageCreated: _internal,
    QueueChanged: _queue_changed,
    SocketsRevoked: _revoked,
}
# An event type without a handler fails here, at import, not after a commit.
if set(HANDLERS) != set(ALL):
    raise ImportError(f"chat.events without a handler: {set(ALL) - set(HANDLERS)}")


async def dispatch(events: Iterable[Event]) -> None:
    """Send what committed services recorded, in the order they recorded it.

    An agent's state may be recorded several times in one transaction (say,
    once per conversation it lost); only the last, committed one is sent.
    """
    events = list(events)
    last_state = {e.agent["id"]: i for i, e in enumerate(events) if isinstance(e, AgentStateChanged)}
    for i, event in enumerate(events):
        if isinstance(event, AgentStateChanged) and last_state[event.agent["id"]] != i:
            continue
        await HANDLERS[type(event)](event)


# --- internal chat -------------------------------------------------------------------


async def internal_to_own_tabs(message: dict, agent_id: int, sender_sid: str) -> None:
    """The sender's other sockets (tabs) see what it sent, to stay in step."""
    await _emit(TO_AGENT_INTERNAL, message, agent_room(agent_id), skip_sid=sender_sid)


async def internal_to_local_agents(message: dict, sender_id: int, to_agent_id: int | None) -> None:
    """An internal message to this process's sockets only (each process forwards its own)."""
    if to_agent_id is None:
        sender_sids = [sid for sid, _eio in sio.manager.get_participants(AGENT_NS, agent_room(sender_id))]
        await _emit(TO_AGENT_INTERNAL, message, AGENTS_ROOM, skip_sid=sender_sids, ignore_queue=True)
    else:
        await _emit(TO_AGENT_INTERNAL, message, agent_room(to_agent_id), ignore_queue=True)


# --- the queue ---------------------------------------------------------------------

# Position last told to each waiting conversation, so that only changes are sent.
_told_positions: dict[int, int] = {}
_refreshes: BatchQueue[None] | None = None


def forget_queue_position(conversation_id: int) -> None:
    _told_positions.pop(conversation_id, None)


def request_queue_refresh() -> None:
    """Tell waiting customers and agents about the queue, soon.

    Requests coalesce: under a join storm one refresh serves many changes.
    """
    global _refreshes
    if _refreshes is None:
        _refreshes = BatchQueue(_refresh_queue, name="queue refresh")
    _refreshes.put(None)


def _queue_snapshot() -> tuple[list[tuple[int, int]], dict, float, int]:
    order = list(selectors.queued_conversations().values_list("id", "customer_id"))
    listing = selectors.queue_listing(settings.CHAT["QUEUE_LIST_LIMIT"])
    return order, listing, selectors.mean_handle_seconds(), selectors.online_capacity()


async def _refresh_queue(_requests: list[None]) -> None:
    order, listing, handle_s, capacity = await database_sync_to_async(_queue_snapshot)()
    waiting = set()
    for position, (conversation_id, customer_id) in enumerate(order, start=1):
        waiting.add(conversation_id)
        if _told_positions.get(conversation_id) == position:
            continue
        _told_positions[conversation_id] = position
        payload = {
            "conversation_id": conversation_id,
            "position": position,
            "estimated_wait_s": assignment.estimate_wait_seconds(position, handle_s, capacity),
        }
        await _emit(TO_CUSTOMER_QUEUE_POSITION, payload, customer_room(customer_id))
    for gone in set(_told_positions) - waiting:
        del _told_positions[gone]
    await _emit(TO_AGENT_QUEUE, listing, AGENTS_ROOM)
