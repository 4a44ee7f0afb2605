"""Every piece of python-socketio and python-engineio this project overrides,
copies or calls although it is private, fenced by a fingerprint.

Upstream may change a private method in any release without notice. Each
entry below names one such method (or attribute layout), what the project
does with it and where, and a fingerprint of its upstream source at the
pinned version. chat/tests/test_patches.py fails when an upgrade changes
any of them, or the versions installed are not the ones pinned here and in
requirements.txt: read the upstream change, adapt the project's code, then
update the fingerprint.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from dataclasses import dataclass

PINNED = {"python-socketio": "5.18.1", "python-engineio": "4.15.1", "daphne": "4.2.3"}


@dataclass(frozen=True)
class Fence:
    target: str  # module:qualified.name
    use: str  # what the project does with it, and where
    fingerprint: str


def resolve(target: str):
    module_name, _, qualname = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def fingerprint(target: str) -> str:
    """The first 16 hex digits of the SHA-256 of the target's source."""
    source = inspect.getsource(resolve(target))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


_SERVER = "chat/realtime/server.py, ChatSocketServer"

FENCES = (
    # python-socketio: the server.
    Fence(
        "socketio.async_server:AsyncServer._handle_event",
        f"overridden ({_SERVER}): every event checked against its socket's bucket; message events"
        " go to the writer without a task",
        "65178105ef8b593d",
    ),
    Fence(
        "socketio.async_server:AsyncServer._handle_event_internal",
        f"overridden ({_SERVER}): reserved names are unknown events; after_ack() relies on it acking",
        "472e8b723a12d507",
    ),
    Fence(
        "socketio.async_server:AsyncServer._handle_eio_connect",
        f"overridden ({_SERVER}): sockets per address refused, the request body reader is dropped,"
        " sockets become LeanSockets",
        "76704886d944a7e6",
    ),
    Fence(
        "socketio.async_server:AsyncServer._handle_eio_disconnect",
        f"overridden ({_SERVER}): the connection's address counted out (chat/realtime/limits)",
        "9344593148b66fd9",
    ),
    Fence(
        "socketio.async_server:AsyncServer._handle_connect",
        f"overridden ({_SERVER}): unused request headers are dropped once connected",
        "c97c480cf777de36",
    ),
    Fence(
        "socketio.async_server:AsyncServer._send_packet",
        f"called ({_SERVER}.send_ack): acks sent outside their handler",
        "a00022b42c1c29e9",
    ),
    Fence(
        "socketio.async_server:AsyncServer._send_eio_packet",
        f"called ({_SERVER}.send_frame, send_packet): frames written out once",
        "64cf72a2ab7d75b1",
    ),
    # python-socketio: the in-process manager.
    Fence(
        "socketio.async_manager:AsyncManager.emit",
        "replaced (chat/realtime/server.py, InProcessManager.emit): each recipient in turn, no task each",
        "01ccd5b82b4f955e",
    ),
    Fence(
        "socketio.base_manager:BaseManager.basic_enter_room",
        f"relied on ({_SERVER}.has_local_sockets, others_here): the layout of manager.rooms",
        "3f509586d2d7f47e",
    ),
    # python-socketio: the Redis manager.
    Fence(
        "socketio.async_redis_manager:AsyncRedisManager._redis_listen_with_retries",
        "replaced (chat/realtime/server.py, RedisManager): retries within 2 s once Redis is back;"
        " chat/background.py's _until_subscribed reads the `pubsub` it subscribes",
        "ad347f253fd3423a",
    ),
    # python-engineio: the socket (chat/realtime/engine_socket.py, LeanSocket).
    Fence(
        "engineio.async_socket:AsyncSocket.send",
        "overridden (engine_socket.py, LeanSocket.send): written at once when nothing waits",
        "0437276ccba7ab09",
    ),
    Fence(
        "engineio.async_socket:AsyncSocket.close",
        "overridden (engine_socket.py, LeanSocket.close): also ends the WebSocket",
        "faa2e93902543244",
    ),
    Fence(
        "engineio.async_socket:AsyncSocket.poll",
        "copied and changed (engine_socket.py, LeanSocket.poll): no per-frame deadline",
        "826f58a9f3606db2",
    ),
    Fence(
        "engineio.async_socket:AsyncSocket._websocket_handler",
        "copied and changed (engine_socket.py, LeanSocket._websocket_handler): direct writes",
        "27f120df4d717a24",
    ),
    # python-socketio's Redis manager: when a new process listens to the others.
    Fence(
        "socketio.async_redis_manager:AsyncRedisManager._redis_connect",
        "relied on (chat/background.py, _until_subscribed): it sets the manager's `pubsub`",
        "da4530c936323c25",
    ),
    # Daphne: flow control for WebSockets (cs_project/daphne_server.py, gate_websocket_sends).
    Fence(
        "daphne.server:Server.handle_reply",
        "wrapped (cs_project/daphne_server.py): a websocket.send waits while its transport is paused",
        "9d9dbaea6de0657a",
    ),
    Fence(
        "daphne.http_protocol:WebRequest.process",
        "relied on (cs_project/daphne_server.py, write_gate): an upgraded WebSocket keeps the "
        "transport, with the HTTP channel still its producer",
        "e9babd1c97ce710b",
    ),
)
