"""The `/agent` namespace: logged-in agents, their consoles and bots.

Thin handlers: parse the payload, call one service (or the message writer),
answer the ack. Whether the agent may act on a conversation is decided by
chat.access against the database, every time.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from socketio.exceptions import ConnectionRefusedError

from chat import actions, background, selectors, system_notes
from chat.errors import FORBIDDEN, NOT_LOGGED_IN, UNAUTHORIZED, ChatError
from chat.message_store import Draft
from chat.models import Sender
from chat.realtime import connections, emit, limits, rooms, this_process, validation
from chat.realtime.rooms import AGENT_NS, AGENTS_ROOM, agent_room
from chat.realtime.server import answer_unknown_events, on_event, on_message_event, sio
from chat.services import endings, internal, presence, queue, receipts
from cs_project import languages

from . import identity


@sio.on("connect", namespace=AGENT_NS)
async def connect(sid, environ, auth=None):
    await background.ensure_started()
    auth = auth if isinstance(auth, dict) else {}
    token = auth.get("token")
    if token is not None and not isinstance(token, str):
        token = None
    known = await database_sync_to_async(identity.agent_from_credentials)(
        token=token, cookie_header=None if token else environ.get("HTTP_COOKIE")
    )
    # Read now: the handshake's headers are dropped once connected.
    lang = languages.connection_language(environ, auth.get("lang"), known[3] if known else "")
    if known is None:
        refused = ChatError(UNAUTHORIZED, _("Log in, or connect with auth: {token}."))
        raise ConnectionRefusedError(refused.code, refused.as_error(lang))
    connections.agents[sid] = connections.AgentSocket(
        agent_id=known[0], name=known[1], credential=known[2], address=limits.address_of(environ), lang=lang
    )


@sio.on("disconnect", namespace=AGENT_NS)
async def disconnect(sid, reason=None):
    state = connections.agents.pop(sid, None)
    if state is not None and state.logged_in:
        # Out of the rooms first: python-socketio leaves them only after this
        # handler, and a message stored meanwhile would count as delivered.
        await rooms.leave(sio, sid, AGENT_NS, agent_room(state.agent_id), state.lang)
        rooms.leave_here(sio, sid, AGENT_NS, AGENTS_ROOM)
        try:
            await actions.run(
                presence.agent_socket_closed, agent_id=state.agent_id, process_id=this_process.ID
            )
        except Exception:
            # The database is down: counted out later (chat.background), or
            # the agent would stay online with no socket.
            connections.uncounted_close(state.agent_id)
            raise


def _logged_in(sid: str) -> connections.AgentSocket:
    state = connections.agents.get(sid)
    if state is None or not state.logged_in:
        raise ChatError(NOT_LOGGED_IN, _("Send agent:login first."))
    return state


@on_event(AGENT_NS, "agent:login")
async def login(sid, *args):
    validation.payload(args, frozenset())
    state = connections.agents[sid]
    new_socket = not state.logged_in
    if new_socket:
        # In the rooms before the service runs, so nothing it announces is missed.
        await rooms.enter(sio, sid, AGENT_NS, agent_room(state.agent_id), state.lang)
        await sio.enter_room(sid, AGENTS_ROOM, namespace=AGENT_NS)
        state.logged_in = True
    try:
        return await actions.run(
            presence.agent_login, agent_id=state.agent_id, new_socket=new_socket, process_id=this_process.ID
        )
    except Exception:
        if new_socket:
            state.logged_in = False
            await rooms.leave(sio, sid, AGENT_NS, agent_room(state.agent_id), state.lang)
            rooms.leave_here(sio, sid, AGENT_NS, AGENTS_ROOM)
        raise


@on_event(AGENT_NS, "agent:status")
async def status(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"status"}))
    agent = await actions.run(
        presence.agent_set_status, agent_id=state.agent_id, status=validation.agent_status(data)
    )
    return {"ok": True, "agent": agent}


@on_message_event(AGENT_NS, "agent:message")
def message(sid, *args) -> Draft:
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"conversation_id", "text", "client_id", "attachment_id"}))
    conversation_id = validation.identifier(data, "conversation_id")
    text, attachment_id = validation.message_body(data)
    # The customer's page stops showing typing with the message.
    limits.typing.forget(("agent", state.agent_id, conversation_id))
    return Draft(
        conversation_id=conversation_id,
        sender=Sender.AGENT,
        sender_name=state.name,
        text=text,
        client_id=validation.client_id(data),
        agent_id=state.agent_id,
        attachment_id=attachment_id,
    )


@on_event(AGENT_NS, "agent:internal")
async def internal_message(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"text", "to_agent_id", "conversation_id", "client_id"}))
    text = validation.text(data)
    to_agent_id = validation.identifier(data, "to_agent_id", required=False)
    conversation_id = validation.identifier(data, "conversation_id", required=False)
    client_id = validation.client_id(data)
    if not limits.internal_allowed(state.agent_id):
        raise limits.refusal(_("Too many internal messages; slow down."))
    shape, new = await actions.run(
        internal.internal_message_create,
        sender_id=state.agent_id,
        text=text,
        to_agent_id=to_agent_id,
        conversation_id=conversation_id,
        client_id=client_id,
    )
    if new:
        await emit.internal_to_own_tabs(shape, state.agent_id, sid)
    return {"ok": True, "message": shape}


@on_event(AGENT_NS, "agent:typing")
async def typing(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"conversation_id", "is_typing"}))
    conversation_id = validation.identifier(data, "conversation_id")
    is_typing = validation.boolean(data, "is_typing")

    async def forward(value: bool) -> None:
        # Checked when forwarding (at most once a second), so it follows transfers and ends.
        customer_id = await database_sync_to_async(selectors.agent_typing_target)(
            conversation_id=conversation_id, agent_id=state.agent_id
        )
        await emit.agent_typing(
            conversation_id, customer_id, {"id": state.agent_id, "name": state.name}, value
        )

    await limits.typing.offer(("agent", state.agent_id, conversation_id), is_typing, forward)
    return {"ok": True}


@on_event(AGENT_NS, "session:end")
async def end(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"conversation_id"}))
    conversation = await actions.run(
        endings.conversation_end_by_agent,
        agent_id=state.agent_id,
        conversation_id=validation.identifier(data, "conversation_id"),
    )
    return {"ok": True, "conversation": conversation}


@on_event(AGENT_NS, "session:transfer")
async def transfer(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"conversation_id", "to_agent_id"}))
    conversation = await actions.run(
        queue.conversation_transfer,
        agent_id=state.agent_id,
        conversation_id=validation.identifier(data, "conversation_id"),
        to_agent_id=validation.identifier(data, "to_agent_id"),
    )
    return {"ok": True, "conversation": conversation}


@on_event(AGENT_NS, "queue:claim")
async def claim(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"conversation_id"}))
    conversation = await actions.run(
        queue.queue_claim,
        agent_id=state.agent_id,
        conversation_id=validation.identifier(data, "conversation_id", required=False),
    )
    return {"ok": True, "conversation": conversation}


@on_event(AGENT_NS, "conversation:history")
async def history(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"customer_id", "before_id", "limit"}))
    # Transcripts are read by an agent who is still active, not just by a
    # socket opened before the deactivation reached it.
    if not await database_sync_to_async(identity.agent_is_active)(state.agent_id):
        raise ChatError(FORBIDDEN, _("This agent account is no longer active."))
    result = await database_sync_to_async(selectors.customer_history)(
        customer_id=validation.identifier(data, "customer_id"),
        before_id=validation.identifier(data, "before_id", required=False),
        limit=validation.limit(data),
    )
    messages = system_notes.localized_all(result["messages"], system_notes.AGENT, state.lang)
    return {"ok": True, **result, "messages": messages}


@on_event(AGENT_NS, "message:read")
async def read(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"conversation_id", "up_to_id"}))
    conversation_id = validation.identifier(data, "conversation_id")
    up_to_id = validation.identifier(data, "up_to_id")
    if not state.read_is_new(conversation_id, up_to_id):
        return {"ok": True}  # read already: nothing to write
    if not state.reads.take():
        raise limits.refusal()
    await actions.run(
        receipts.message_read, conversation_id=conversation_id, up_to_id=up_to_id, agent_id=state.agent_id
    )
    state.read_stored(conversation_id, up_to_id)
    return {"ok": True}


@on_event(AGENT_NS, "queue:list")
async def queue_list(sid, *args):
    state = _logged_in(sid)
    data = validation.payload(args, frozenset({"offset", "limit"}))
    offset = validation.offset(data)
    most = settings.CHAT["QUEUE_LIST_LIMIT"]
    limit = validation.limit(data, most, most)
    if not state.pages.take():
        raise limits.page_refusal()
    listing = await database_sync_to_async(selectors.queue_listing)(limit, offset)
    more = offset + len(listing["conversations"]) < listing["length"]
    return {"ok": True, **listing, "has_more": more}


answer_unknown_events(AGENT_NS)
