"""Daphne, tuned: its Twisted reactor on uvloop, and no log formatting per frame.

    python -m cs_project.daphne_server -b 127.0.0.1 -p 8000 cs_project.asgi:application

Takes Daphne's own command line; `make run`, the live tests and the
benchmark start Daphne this way. Two changes, both measured on the message
path (docs/PERFORMANCE.md, "Daphne, tuned"), and one bound:

- Daphne runs Twisted's asyncio reactor on a loop it makes when
  `daphne.server` is imported. With uvloop's policy set first, that loop is
  uvloop's: Twisted registers and unregisters its socket for writing around
  every write burst, which costs a Python selector update on the standard
  loop and a C call on uvloop.
- autobahn (Daphne's WebSocket protocol) formats the arguments of a debug
  log line for every frame it sends and receives, whatever the log level:
  each names a method and colours text through click, about 4% of the
  process's CPU under load. Those two helpers, in the two modules that
  call them per frame, are swapped for plain ones; only debug text, which
  nobody reads at the default level, changes.
- Flow control for WebSockets. Twisted's `transport.write` never blocks:
  it buffers whatever a client does not read, without bound, so the ASGI
  `send` of a WebSocket frame never waits, and the application cannot
  tell a client that stopped reading. Here each WebSocket's transport gets
  a streaming producer (`WriteGate`): Twisted pauses it once its buffer
  holds more than its `bufferSize` (64 KiB) and resumes it once drained,
  and while it is paused a `websocket.send` waits, as under uvicorn. The
  frames then wait in the Engine.IO socket's own queue, whose caps close
  the socket (chat/realtime/engine_socket.py).
"""

from __future__ import annotations

import asyncio


def _plain_type(obj, *_, **__) -> str:
    return getattr(obj, "__qualname__", type(obj).__qualname__)


def _plain_value(value, *_, **__) -> str:
    return str(value)


def quiet_autobahn() -> None:
    """Plain, cheap stand-ins for autobahn's per-frame log-argument helpers."""
    import autobahn.twisted.websocket as twisted_websocket
    import autobahn.websocket.protocol as websocket_protocol

    for module in (websocket_protocol, twisted_websocket):
        if hasattr(module, "hltype") and hasattr(module, "hlval"):
            module.hltype = _plain_type
            module.hlval = _plain_value


class WriteGate:
    """A streaming producer on one WebSocket's transport: shut while Twisted's buffer is full."""

    __slots__ = ("_paused",)

    def __init__(self) -> None:
        self._paused: asyncio.Future | None = None

    def pauseProducing(self) -> None:
        if self._paused is None:
            self._paused = asyncio.get_event_loop().create_future()

    def resumeProducing(self) -> None:
        paused, self._paused = self._paused, None
        if paused is not None and not paused.done():
            paused.set_result(None)

    def stopProducing(self) -> None:
        self.resumeProducing()

    async def wait(self) -> None:
        """Return once the transport takes writes again (at once when it does)."""
        if self._paused is not None:
            await asyncio.shield(self._paused)


def write_gate(protocol) -> WriteGate | None:
    """The gate of a WebSocket protocol, registered on its transport the first time; None if it has none."""
    if "_write_gate" in protocol.__dict__:  # None once closing
        return protocol.__dict__["_write_gate"]
    from twisted.web.http import HTTPChannel

    transport = getattr(protocol, "transport", None)
    if transport is None:
        return None
    producer = getattr(transport, "producer", None)
    if isinstance(producer, HTTPChannel):
        # The HTTP channel the WebSocket was upgraded from is still the
        # transport's producer (Daphne hands the transport over as it is):
        # it would stop reading the client, pongs and all, while the buffer
        # is full. The WebSocket's gate takes its place.
        transport.unregisterProducer()
    elif producer is not None:
        protocol._write_gate = None
        return None
    gate = protocol._write_gate = WriteGate()
    transport.registerProducer(gate, True)
    return gate


def ungate(protocol) -> None:
    gate = protocol.__dict__.get("_write_gate")
    protocol._write_gate = None
    if gate is None:
        return
    transport = getattr(protocol, "transport", None)
    if transport is not None and getattr(transport, "producer", None) is gate:
        transport.unregisterProducer()
    gate.stopProducing()


def gate_websocket_sends() -> None:
    """Make Daphne's ASGI `send` of a WebSocket frame wait while its transport is paused."""
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol

    reply = Server.handle_reply
    if getattr(reply, "gated", False):
        return

    async def handle_reply(self, protocol, message):
        kind = message.get("type")
        if kind == "websocket.close" and isinstance(protocol, WebSocketProtocol):
            # Twisted closes a transport whose producer is paused only once
            # it is unregistered; nobody waits on a closing socket either.
            ungate(protocol)
        await reply(self, protocol, message)
        if kind == "websocket.send" and isinstance(protocol, WebSocketProtocol):
            gate = write_gate(protocol)
            if gate is not None:
                await gate.wait()

    handle_reply.gated = True
    Server.handle_reply = handle_reply


def prepare() -> None:
    """Set up the process before Daphne starts (uvloop must come before daphne.server)."""
    import uvloop

    # daphne.server makes the loop its reactor runs on when it is imported.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    import daphne.server  # noqa: F401

    quiet_autobahn()
    gate_websocket_sends()


def main() -> None:
    prepare()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
