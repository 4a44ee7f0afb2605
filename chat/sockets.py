"""The `/customer` namespace: website visitors.

Thin handlers: parse the payload, call one service (or the message writer),
answer the ack. A socket is bound to a customer by `auth: {token}` at connect
or by `customer:join`.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from socketio.exceptions import ConnectionRefusedError

from cs_project import languages

from . import actions, background, join_batcher, selectors, system_notes
from .errors import INVALID_PAYLOAD, INVALID_TOKEN, NOT_JOINED, RATE_LIMITED, ChatError
from .message_store import Draft
from .models import Sender
from .realtime import connections, emit, limits, rooms, validation
from .realtime.rooms import CUSTOMER_NS, customer_room
from .realtime.server import after_ack, answer_unknown_events, on_event, on_message_event, sio
from .services import endings, identity, joins, ratings, receipts

JOIN_FIELDS = frozenset({"name", "email", "topic", "token", "last_message_id", "new_chat"})
MESSAGE_FIELDS = frozenset({"text", "client_id", "attachment_id"})
TYPING_FIELDS = frozenset({"is_typing"})
READ_FIELDS = frozenset({"up_to_id"})
FETCH_FIELDS = frozenset({"after_id", "before_id", "limit"})
RATING_FIELDS = frozenset({"score", "comment"})
NO_FIELDS = frozenset()


@sio.on("connect", namespace=CUSTOMER_NS)
async def connect(sid, environ, auth=None):
    await background.ensure_started()
    auth = auth if isinstance(auth, dict) else {}
    # Read now: the handshake's headers are dropped once connected.
    lang = languages.connection_language(environ, auth.get("lang"))
    state = connections.CustomerSocket(address=limits.address_of(environ), lang=lang)
    token = auth.get("token")
    if token is not None:
        known = (
            await database_sync_to_async(selectors.customer_by_token)(token=token)
            if isinstance(token, str)
            else None
        )
        if known is None:
            refused = ChatError(INVALID_TOKEN, _("Join without a token."))
            raise ConnectionRefusedError(refused.code, refused.as_error(lang))
        state.customer_id, state.name, state.conversation_id = known
        # Seen from now: another process's idle close must leave it alone.
        connections.customer_bound(state.customer_id)
        await rooms.enter(sio, sid, CUSTOMER_NS, customer_room(state.customer_id), lang)
    connections.customers[sid] = state


@sio.on("disconnect", namespace=CUSTOMER_NS)
async def disconnect(sid, reason=None):
    state = connections.customers.pop(sid, None)
    if state is not None and state.customer_id is not None:
        # Out of the room first: python-socketio leaves rooms only after this
        # handler, and a message stored meanwhile would count as delivered.
        await rooms.leave(sio, sid, CUSTOMER_NS, customer_room(state.customer_id), state.lang)
        await actions.run(joins.customer_seen, customer_id=state.customer_id)


def _joined(sid: str) -> connections.CustomerSocket:
    state = connections.customers.get(sid)
    if state is None or state.customer_id is None:
        raise ChatError(NOT_JOINED, _("Send customer:join first."))
    return state


@on_event(CUSTOMER_NS, "customer:join")
async def join(sid, *args):
    data = validation.payload(args, JOIN_FIELDS)
    state = connections.customers[sid]
    token = validation.token(data)
    name = validation.name(data)
    email = validation.email(data)
    topic = validation.topic(data)
    last_message_id = validation.cursor(data, "last_message_id")
    if "new_chat" in data and validation.boolean(data, "new_chat"):
        if name is None:
            raise ChatError(INVALID_PAYLOAD, _("`name` is required to start a chat."))
        await limits.new_customer(state.address)
        result = await _start_over(sid, state, token, name, email, topic)
    elif token is None and state.customer_id is None:
        if name is None:
            raise ChatError(INVALID_PAYLOAD, _("`name` is required to start a chat."))
        await limits.new_customer(state.address)
        # A new visitor: placed together with everyone else starting now.
        result = await join_batcher.submit(joins.Start(name=name, email=email, topic=topic))
    else:
        known = state.customer_id
        entered = None
        if known is None and token is not None:
            # A token in the join, not at connect (a client reconnecting
            # without `auth`): in the room before the service reads the
            # replay, as at connect. A message stored after that read and
            # before the socket entered would reach it neither way.
            found = await database_sync_to_async(selectors.customer_by_token)(token=token)
            if found is not None:
                entered = found[0]
                await rooms.enter(sio, sid, CUSTOMER_NS, customer_room(entered), state.lang)
        joining = known if known is not None else entered
        if joining is not None:
            connections.join_started(joining, sid)
        try:
            result = await actions.run(
                joins.customer_join,
                token=token,
                customer_id=known,
                name=name,
                email=email,
                topic=topic,
                last_message_id=last_message_id,
            )
        except BaseException:
            if entered is not None:
                await rooms.leave(sio, sid, CUSTOMER_NS, customer_room(entered), state.lang)
            raise
        finally:
            if joining is not None:
                connections.join_ended(joining, sid)
        if entered is not None and entered != result.customer_id:
            await rooms.leave(sio, sid, CUSTOMER_NS, customer_room(entered), state.lang)
            entered = None
        if entered is not None:
            state.customer_id = result.customer_id
    if state.customer_id is None:
        await rooms.enter(sio, sid, CUSTOMER_NS, customer_room(result.customer_id), state.lang)
    state.customer_id = result.customer_id
    state.name = result.customer_name
    state.conversation_id = result.conversation_id
    if result.assigned is not None:
        # This join placed the conversation with an agent: `agent:assigned`
        # follows the ack, as for every other assignment.
        assigned = result.assigned
        after_ack(lambda: emit.assigned_to_socket(sid, assigned))
    # System messages worded for this customer (a copy: a new visitor's
    # list is also in the event that told the agent).
    messages = system_notes.localized_all(result.ack["messages"], system_notes.CUSTOMER, state.lang)
    return {**result.ack, "messages": messages}


async def _start_over(sid, state, token, name, email, topic) -> joins.JoinResult:
    """`new_chat`: leave the previous customer (revoked everywhere) for a new one."""
    previous = state.customer_id
    # Unbound while the service runs, so that the revocation it sends spares
    # this socket: it moves to the new customer instead.
    state.customer_id = None
    try:
        result = await actions.run(
            identity.customer_start_over,
            token=token,
            customer_id=previous,
            name=name,
            email=email,
            topic=topic,
        )
    except BaseException:
        state.customer_id = previous
        raise
    if previous is not None:
        await rooms.leave(sio, sid, CUSTOMER_NS, customer_room(previous), state.lang)
    return result


def _stored(sid: str, message: dict) -> None:
    # The writer may have opened a new conversation for it (after an end).
    state = connections.customers.get(sid)
    if state is not None:
        state.conversation_id = message["conversation_id"]


@on_message_event(CUSTOMER_NS, "customer:message", stored=_stored)
def message(sid, *args) -> Draft:
    state = _joined(sid)
    data = validation.payload(args, MESSAGE_FIELDS)
    text, attachment_id = validation.message_body(data)
    client_id = validation.client_id(data)
    # Per customer, so that more sockets or a reconnect do not add to it.
    if not limits.customer_message_allowed(state.customer_id):
        raise ChatError(RATE_LIMITED, _("Too many messages; slow down."))
    # The agent's page stops showing typing with the message.
    limits.typing.forget(("customer", state.customer_id, state.conversation_id))
    # With no conversation yet, or an ended one, the writer opens the next one
    # in queue order, so a burst that straddles an end keeps its order.
    return Draft(
        conversation_id=state.conversation_id,
        sender=Sender.CUSTOMER,
        sender_name=state.name,
        text=text,
        client_id=client_id,
        customer_id=state.customer_id,
        client_address=state.address,
        attachment_id=attachment_id,
    )


@on_event(CUSTOMER_NS, "customer:typing")
async def typing(sid, *args):
    state = _joined(sid)
    data = validation.payload(args, TYPING_FIELDS)
    is_typing = validation.boolean(data, "is_typing")

    async def forward(value: bool) -> None:
        # Read when forwarding (at most once a second), so it follows transfers and ends.
        row = await database_sync_to_async(selectors.customer_typing_target)(customer_id=state.customer_id)
        state.conversation_id = row.id
        await emit.customer_typing(row.id, row.agent_id, value)

    await limits.typing.offer(("customer", state.customer_id, state.conversation_id), is_typing, forward)
    return {"ok": True}


@on_event(CUSTOMER_NS, "customer:disconnect")
async def leave(sid, *args):
    state = _joined(sid)
    validation.payload(args, NO_FIELDS)
    # The next message opens a new conversation: counted as one from here.
    await limits.new_conversation(state.address)
    await actions.run(endings.conversation_end_by_customer, customer_id=state.customer_id)
    return {"ok": True}


@on_event(CUSTOMER_NS, "customer:rating")
async def rate(sid, *args):
    state = _joined(sid)
    data = validation.payload(args, RATING_FIELDS)
    score, comment = validation.rating(data)
    # Once per conversation (`conflict` after): the socket's event bucket bounds the rest.
    result = await actions.run(
        ratings.conversation_rate, customer_id=state.customer_id, score=score, comment=comment
    )
    return {"ok": True, **result}


@on_event(CUSTOMER_NS, "message:read")
async def read(sid, *args):
    state = _joined(sid)
    data = validation.payload(args, READ_FIELDS)
    up_to_id = validation.identifier(data, "up_to_id")
    # One customer reads one conversation at a time, and ids only grow: one key for all.
    if not state.read_is_new(0, up_to_id):
        return {"ok": True}  # read already: nothing to write
    if not state.reads.take():
        raise limits.refusal()
    row = await database_sync_to_async(selectors.current_conversation_row)(customer_id=state.customer_id)
    await actions.run(
        receipts.message_read, conversation_id=row.id, up_to_id=up_to_id, customer_id=state.customer_id
    )
    state.read_stored(0, up_to_id)
    return {"ok": True}


@on_event(CUSTOMER_NS, "messages:fetch")
async def fetch(sid, *args):
    state = _joined(sid)
    data = validation.payload(args, FETCH_FIELDS)
    after_id = validation.cursor(data, "after_id")
    before_id = validation.identifier(data, "before_id", required=False)
    if after_id is not None and before_id is not None:
        raise ChatError(INVALID_PAYLOAD, _("Send `after_id` or `before_id`, not both."))
    limit = validation.limit(data, settings.MESSAGE_PAGE_LIMIT, settings.MESSAGE_PAGE_LIMIT)
    if not state.pages.take():
        raise limits.page_refusal()
    messages, more = await database_sync_to_async(selectors.customer_message_page)(
        customer_id=state.customer_id,
        conversation_id=state.conversation_id,
        after_id=after_id,
        before_id=before_id,
        limit=limit,
    )
    messages = system_notes.localized_all(messages, system_notes.CUSTOMER, state.lang)
    return {"ok": True, "messages": messages, "has_more": more}


answer_unknown_events(CUSTOMER_NS)
