"""Daphne, tuned: its Twisted reactor on uvloop, and no log formatting per frame.

    python -m cs_project.daphne_server -b 127.0.0.1 -p 8000 cs_project.asgi:application

Takes Daphne's own command line; `make run`, the live tests and the
benchmark start Daphne this way. Two changes, both measured on the message
path (docs/PERFORMANCE.md, "Daphne, tuned"):

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


def prepare() -> None:
    """Set up the process before Daphne starts (uvloop must come before daphne.server)."""
    import uvloop

    # daphne.server makes the loop its reactor runs on when it is imported.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    import daphne.server  # noqa: F401

    quiet_autobahn()


def main() -> None:
    prepare()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
