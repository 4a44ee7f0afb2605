"""The Socket.IO server object, configured from settings.

Handlers are registered by `chat.sockets` (customers) and `agents.sockets`
(agents); `cs_project.asgi` mounts the server in front of Django.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import socketio
from django.conf import settings

from . import realtime
from .errors import INTERNAL, UNKNOWN_EVENT, ChatError

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


def _client_manager() -> socketio.AsyncManager | None:
    if settings.REDIS_URL:
        return socketio.AsyncRedisManager(settings.REDIS_URL, channel=f"{settings.REDIS_PREFIX}-socketio")
    return None


# Request headers a later namespace connect on the same connection reads
# (agent session cookie, origin check); the rest is dropped once connected.
KEPT_HEADERS = frozenset({"HTTP_COOKIE", "HTTP_HOST", "HTTP_ORIGIN"})


class ChatSocketServer(socketio.AsyncServer):
    """python-socketio's server, minus one trap and some weight.

    A client may send an ordinary event named `connect` or `disconnect`;
    python-socketio would hand it to the real connect/disconnect handlers
    and tear down the socket's state. Here such an event is unknown, like
    any other name a namespace does not define.

    The handshake's environ lives as long as the connection. Its request
    body reader (a class object made per request) and most headers are
    never read again: about 1.5 KB per socket, dropped here.
    """

    async def _handle_eio_connect(self, eio_sid, environ):
        # The handshake is a GET: its body is never read.
        environ.pop("wsgi.input", None)
        await super()._handle_eio_connect(eio_sid, environ)

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
                error = ChatError(UNKNOWN_EVENT, f"{namespace} has no event {data[0]!r}.")
                await server._send_packet(
                    eio_sid,
                    self.packet_class(socketio.packet.ACK, namespace=namespace, id=id, data=[error.as_ack()]),
                )
            return
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)


sio = ChatSocketServer(
    async_mode="asgi",
    client_manager=_client_manager(),
    cors_allowed_origins=origin_allowed,
    # Bigger frames than this are not chat; the 16 KiB payload limit is
    # checked per event (an answer, not a disconnect).
    max_http_buffer_size=1_000_000,
    logger=False,
    engineio_logger=False,
)
realtime.bind(sio)


def on_event(namespace: str, name: str):
    """Register an ack-answering handler: ChatError and crashes become error acks."""

    def register(handler):
        async def answer(sid, *args):
            try:
                return await handler(sid, *args)
            except ChatError as error:
                return error.as_ack()
            except Exception:
                log.exception("%s %s failed", namespace, name)
                return ChatError(INTERNAL, "Something went wrong on the server.").as_ack()

        answer.__name__ = handler.__name__
        sio.on(name, namespace=namespace, handler=answer)
        return handler

    return register


def answer_unknown_events(namespace: str) -> None:
    async def unknown(event, sid, *args):
        return ChatError(UNKNOWN_EVENT, f"{namespace} has no event {event!r}.").as_ack()

    sio.on("*", namespace=namespace, handler=unknown)
