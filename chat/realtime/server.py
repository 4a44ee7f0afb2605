"""The Socket.IO server object, configured from settings.

Handlers are registered by `chat.sockets` (customers) and `agents.sockets`
(agents); `cs_project.asgi` mounts the server in front of Django. Every
call of python-socketio's private senders (`_send_packet`,
`_send_eio_packet`) and every override of its private methods is in the
`ChatSocketServer` below; `patches.py` fingerprints what they rely on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from urllib.parse import urlsplit

import socketio
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from engineio import packet as eio_packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from ..errors import INTERNAL, UNKNOWN_EVENT, ChatError
from ..message_writer import Reply, writer
from . import connections, drain, emit, engine_socket, limits, socket_json

log = logging.getLogger(__name__)


def origin_allowed(origin: str | None, environ: dict) -> bool:
    """Same-origin pages, and the origins listed in settings, may connect.

    Clients that send no Origin (bots, servers) are not browsers and pass.
    """
    if origin is None:
        return True
    if origin in settings.SOCKETIO_CORS_ALLOWED_ORIGINS or "*" in settings.SOCKETIO_CORS_ALLOWED_ORIGINS:
        return True
    return urlsplit(origin).netloc == environ.get("HTTP_HOST")


class InProcessManager(socketio.AsyncManager):
    """python-socketio's in-process manager, sending to each recipient in turn.

    Its emit makes a task per recipient and waits for them all. A send only
    puts the packet on the socket's queue (Engine.IO's writer task per
    socket does the I/O), so awaiting each in turn does the same work
    without a task and a wait per recipient per event, which was a good part
    of what a message cost at thousands a second (docs/PERFORMANCE.md).
    """

    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if callback is not None:
            raise NotImplementedError("this server never asks a client for an ack")
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            socketio.packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        for p in encoded if isinstance(encoded, list) else [encoded]:
            await self.send_to_room(eio_packet.Packet(eio_packet.MESSAGE, p), namespace, to or room, skip_sid)

    async def send_to_room(self, frame: eio_packet.Packet, namespace: str, room, skip_sid=None) -> None:
        """Send one Engine.IO packet, already encoded, to every socket in `room` but `skip_sid`."""
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        # Listed first: a send may drop a timed-out socket from the room.
        recipients = [eio_sid for sid, eio_sid in self.get_participants(namespace, room) if sid not in skip]
        for eio_sid in recipients:
            try:
                await self.server.send_packet(eio_sid, frame)
            except Exception:  # that socket closed meanwhile; the others still get theirs
                log.debug("send to %s failed", eio_sid, exc_info=True)


class RedisManager(socketio.AsyncRedisManager):
    """python-socketio's Redis manager, listening again soon after Redis is back.

    Upstream's listener retries with a sleep that doubles up to a minute and
    is reset only by a successful subscribe: after a Redis outage of a minute,
    events from the other processes stayed lost for up to a minute more
    (docs/DEPLOY.md, "When Redis or PostgreSQL restarts"). Here the sleep
    never grows past LISTEN_RETRY_MAX_SECONDS; a reconnect is one cheap TCP
    connect, and every second counts while the processes cannot hear each other.
    """

    LISTEN_RETRY_MAX_SECONDS = 2.0

    async def _redis_listen_with_retries(self):
        retry_sleep = 0.25
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                retry_sleep = 0.25
                async for message in self.pubsub.listen():
                    yield message
            except Exception as error:
                log.warning(
                    "Socket.IO manager: receiving from Redis failed (%r); again in %s s", error, retry_sleep
                )
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, self.LISTEN_RETRY_MAX_SECONDS)


def _client_manager() -> socketio.AsyncManager:
    if settings.REDIS_URL:
        return RedisManager(
            settings.REDIS_URL,
            channel=f"{settings.REDIS_PREFIX}-socketio",
            # Publishing is awaited on the message path (two attempts, each
            # connecting again): a Redis that is gone must not hold each
            # message up for redis-py's default 5 s twice. Answers keep that
            # default: a loop busy for a moment must not lose events to a
            # timeout. Listening blocks without one whatever these say.
            # redis-py's pool refuses a command past `max_connections` (100
            # by default) instead of waiting: a storm of sends from many
            # tasks at once (disconnects, joins) had its publishes retried
            # or dropped.
            redis_options={"socket_connect_timeout": 1, "max_connections": 1000},
        )
    return InProcessManager()


# Request headers a later namespace connect on the same connection reads
# (agent session cookie, origin check, the language cookie and
# Accept-Language: cs_project.languages); the rest is dropped once connected.
KEPT_HEADERS = frozenset({"HTTP_COOKIE", "HTTP_HOST", "HTTP_ORIGIN", "HTTP_ACCEPT_LANGUAGE"})

# Coroutines to run once the current event's ack has been sent (`after_ack`).
_after_ack: ContextVar[list[Callable[[], Awaitable[None]]] | None] = ContextVar("after_ack", default=None)


def after_ack(send: Callable[[], Awaitable[None]]) -> None:
    """From inside an `on_event` handler: run `send()` right after its ack is sent."""
    pending = _after_ack.get()
    if pending is None:
        raise RuntimeError("after_ack() outside an event handler")
    pending.append(send)


class ChatSocketServer(socketio.AsyncServer):
    """python-socketio's server, minus one trap and some weight.

    A client may send an ordinary event named `connect` or `disconnect`;
    python-socketio would hand it to the real connect/disconnect handlers
    and tear down the socket's state. Here such an event is unknown, like
    any other name a namespace does not define.

    The handshake's environ lives as long as the connection. Its request
    body reader (a class object made per request) and most headers are
    never read again: about 1.5 KB per socket, dropped here.

    Engine.IO's sockets are `engine_socket.LeanSocket`s: no task per frame.

    Message events (`on_message_event`) are queued for the message writer
    as their frame arrives, without the task python-socketio starts for
    every event; the writer sends their ack once the message is stored.
    """

    # (namespace, event) -> (prepare, stored)
    message_events: dict[tuple[str, str], tuple[Callable, Callable | None]] = {}

    # --- sending: the only callers of python-socketio's private senders ---------------

    # These return the coroutine for the caller to await instead of awaiting
    # it themselves: they run for every frame of every message, and a
    # coroutine layer each is not free.

    def send_ack(self, eio_sid: str, namespace: str, id: int, answer: dict) -> Awaitable[None]:
        """Answer the event that asked for ack `id`, from outside its handler (await it)."""
        return self._send_packet(
            eio_sid, self.packet_class(socketio.packet.ACK, namespace=namespace, id=id, data=[answer])
        )

    def send_packet(self, eio_sid: str, frame: eio_packet.Packet) -> Awaitable[None]:
        """Send one Engine.IO packet as it is (await it)."""
        return self._send_eio_packet(eio_sid, frame)

    def send_frame(self, eio_sid: str, text: str) -> Awaitable[None]:
        """Send a Socket.IO packet already written out, as `emit.ack_message` does (await it)."""
        return self._send_eio_packet(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, text))

    def send_frame_to_room(self, text: str, namespace: str, room: str, skip_sid=None) -> Awaitable[None]:
        """A packet already written out, to every socket of `room` in this process (await it)."""
        frame = eio_packet.Packet(eio_packet.MESSAGE, text)
        return self.manager.send_to_room(frame, namespace, room, skip_sid)

    @property
    def single_process(self) -> bool:
        """True when the manager is in-process: this process sees every socket."""
        return not isinstance(self.manager, AsyncPubSubManager)

    def has_local_sockets(self, namespace: str, room: str) -> bool:
        return bool(self.manager.rooms.get(namespace, {}).get(room))

    def others_here(self, namespace: str, room: str, skip_sid: str | None) -> bool:
        """Whether `room` has a socket in this process other than `skip_sid`."""
        members = self.manager.rooms.get(namespace, {}).get(room)
        return bool(members) and (skip_sid is None or len(members) > 1 or skip_sid not in members)

    # --- receiving -----------------------------------------------------------------------

    async def _handle_event(self, eio_sid, namespace, id, data):
        if drain.draining:
            # Not handled, not answered: the client sends it again elsewhere.
            return
        namespace = namespace or "/"
        # Every event, known or not, before it costs a task or a query.
        if not limits.frame_allowed(eio_sid, namespace):
            verdict = limits.refused(eio_sid)
            if verdict == limits.ANSWER and id is not None:
                lang = connections.language(namespace, self.manager.sid_from_eio_sid(eio_sid, namespace))
                await self.send_ack(eio_sid, namespace, id, limits.refusal().as_ack(lang))
            elif verdict == limits.CLOSE:
                log.info("closing %s: too many events refused", eio_sid)
                await self.eio.disconnect(eio_sid)
            return
        entry = self.message_events.get((namespace, data[0])) if data and isinstance(data[0], str) else None
        if entry is None:
            return await super()._handle_event(eio_sid, namespace, id, data)
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if not self.manager.is_connected(sid, namespace):
            return
        prepare, stored = entry
        try:
            draft = prepare(sid, *data[1:])
            writer().submit(draft, sid, Reply(eio_sid, namespace, id, stored))
            return
        except ChatError as error:
            answer = error.as_ack(connections.language(namespace, sid))
        except Exception:
            log.exception("%s %s failed", namespace, data[0])
            answer = _internal_error().as_ack(connections.language(namespace, sid))
        if id is not None:
            await self.send_ack(eio_sid, namespace, id, answer)

    async def _handle_eio_connect(self, eio_sid, environ):
        # Refused (Engine.IO answers 401) past the sockets allowed per address.
        if not await limits.connection_opened(eio_sid, environ):
            return False
        # The handshake is a GET: its body is never read.
        environ.pop("wsgi.input", None)
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:
            engine_socket.adopt(socket)
        await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid, reason):
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            await limits.connection_closed(eio_sid)

    async def _handle_connect(self, eio_sid, namespace, data):
        await super()._handle_connect(eio_sid, namespace, data)
        # Engine.IO has read the upgrade headers by now (a WebSocket is open,
        # or polling, whose later requests bring their own environ).
        environ = self.environ.get(eio_sid)
        if environ is not None:
            for key in [k for k in environ if k.startswith("HTTP_") and k not in KEPT_HEADERS]:
                del environ[key]

    async def _handle_event_internal(self, server, sid, eio_sid, data, namespace, id):
        if data and data[0] in self.reserved_events:
            if id is not None:
                lang = connections.language(namespace, sid)
                await self.send_ack(eio_sid, namespace, id, _unknown_event(namespace, data[0]).as_ack(lang))
            return
        # The handler runs in this task: what it leaves for after its ack runs
        # once python-socketio has sent the ack.
        pending: list[Callable[[], Awaitable[None]]] = []
        token = _after_ack.set(pending)
        drain.handler_started()
        try:
            await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
            for send in pending:
                try:
                    await send()
                except Exception:
                    log.exception("%s %s: sending after the ack failed", namespace, data[0])
        finally:
            drain.handler_ended()
            _after_ack.reset(token)


def _unknown_event(namespace: str, event) -> ChatError:
    return ChatError(
        UNKNOWN_EVENT, _("%(namespace)s has no event %(event)r."), namespace=namespace, event=event
    )


def _internal_error() -> ChatError:
    return ChatError(INTERNAL, _("Something went wrong on the server."))


sio = ChatSocketServer(
    async_mode="asgi",
    client_manager=_client_manager(),
    cors_allowed_origins=origin_allowed,
    json=socket_json,
    # Bigger frames than this are not chat; the 16 KiB payload limit is
    # checked per event (an answer, not a disconnect).
    max_http_buffer_size=1_000_000,
    ping_interval=settings.SOCKETIO_PING_INTERVAL,
    ping_timeout=settings.SOCKETIO_PING_TIMEOUT,
    logger=False,
    engineio_logger=False,
)
emit.bind(sio)


def on_event(namespace: str, name: str):
    """Register an ack-answering handler: ChatError and crashes become error acks."""

    def register(handler):
        async def answer(sid, *args):
            try:
                return await handler(sid, *args)
            except ChatError as error:
                return error.as_ack(connections.language(namespace, sid))
            except Exception:
                log.exception("%s %s failed", namespace, name)
                return _internal_error().as_ack(connections.language(namespace, sid))

        answer.__name__ = handler.__name__
        sio.on(name, namespace=namespace, handler=answer)
        return handler

    return register


def on_message_event(namespace: str, name: str, stored: Callable[[str, dict], None] | None = None):
    """Register a message event: `prepare(sid, *args)` returns the message_store.Draft.

    `prepare` runs as the frame arrives and must not wait for anything; a
    ChatError it raises is the ack. The writer stores the draft, sends it on,
    calls `stored(sid, message)` and acks `{"ok": true, "message": ...}`.
    """

    def register(prepare):
        ChatSocketServer.message_events[(namespace, name)] = (prepare, stored)
        return prepare

    return register


def answer_unknown_events(namespace: str) -> None:
    async def unknown(event, sid, *args):
        return _unknown_event(namespace, event).as_ack(connections.language(namespace, sid))

    sio.on("*", namespace=namespace, handler=unknown)
