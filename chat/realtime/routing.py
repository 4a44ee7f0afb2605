"""Which process answers a Socket.IO request, behind a proxy with several.

nginx sends a browser's Socket.IO requests to one process by the hash of a
cookie (deploy/nginx/chat.conf). That hash moves when a process stops or
comes back, and long-polling is one request after another: a request may
reach a process that does not hold its session. Answered 503 here (rather
than Engine.IO's 400), it is passed on by nginx to the next process
(`proxy_next_upstream http_503`) until the one that holds it answers; if
none does, the client gets a 503 and reconnects, as after a 400.

While this process drains on SIGTERM (chat.realtime.drain), new sessions get
503 too, and so go to a process that stays.

A WebSocket is refused with a 503 as well where the server can send one
(the ASGI `websocket.http.response` extension: uvicorn), else closed.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from . import drain

_UNAVAILABLE = [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", b"1")]


class RouteSessions:
    def __init__(self, app, sio, path: str = "/socket.io/") -> None:
        self._app = app
        self._sockets = sio.eio.sockets  # Engine.IO's sessions, by sid
        self._path = path

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(self._path):
            sid = _sid(scope.get("query_string", b""))
            if (sid is None and drain.draining) or (sid is not None and _gone(self._sockets.get(sid))):
                await _unavailable(scope, send, b"draining" if sid is None else b"unknown session")
                return
        await self._app(scope, receive, send)


def _gone(socket) -> bool:
    # A socket being closed (its disconnect handlers running), or closed,
    # stays listed until Engine.IO answers its next request; a long-poll let
    # through to it would wait for packets that never come.
    return socket is None or socket.closing or socket.closed


def _sid(query: bytes) -> str | None:
    if b"sid=" not in query:
        return None
    values = parse_qs(query.decode("latin-1")).get("sid")
    return values[0] if values else None


async def _unavailable(scope, send, why: bytes) -> None:
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1013})
            return
        kind = "websocket.http.response"
    else:
        kind = "http.response"
    await send({"type": f"{kind}.start", "status": 503, "headers": _UNAVAILABLE})
    await send({"type": f"{kind}.body", "body": why + b"\n"})
