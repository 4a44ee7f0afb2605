"""A server process shutting down without losing or doubling anything.

On SIGTERM (cs_project.uvicorn_server calls `drain` before the server's own
shutdown, once it has stopped accepting connections):

1. Events that arrive from now on are not handled: they get no ack, and the
   clients send them again, with the same `client_id`, after reconnecting.
   New Engine.IO sessions are refused with 503, which the proxy takes as
   "try the next process" (chat.realtime.routing).
2. What was received before is finished: the event handlers in flight, the
   start batcher behind them and the message writer's queue; each gets its
   ack, and the acks are written to the sockets.
3. Every socket is closed as a lost transport: the official clients take
   that as a reason to reconnect (a close packet, they take as final),
   through the proxy to another process, where they resume.
4. This process's agent sockets are taken back at once (their disconnect
   handlers have run by then; the rest, e.g. long-polls, here) rather than
   after PROCESS_TIMEOUT_SECONDS, and the maintenance lease is let go.

Each wait is bounded by SHUTDOWN_DRAIN_SECONDS in all; what is not finished
by then is left to the clients' resend, which the `client_id` makes safe.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from .. import actions
from ..message_writer import writer
from ..services import processes
from . import connections, engine_socket, lease, this_process

log = logging.getLogger(__name__)

draining = False
# Ordinary event handlers running now (message events are the writer's).
_in_flight = 0


def handler_started() -> None:
    global _in_flight
    _in_flight += 1


def handler_ended() -> None:
    global _in_flight
    _in_flight -= 1


async def until(done, deadline: float) -> bool:
    """Coroutine: poll `done()` until it is true (True) or the loop's clock passes `deadline` (False)."""
    loop = asyncio.get_running_loop()
    while not done():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def drain(sio) -> None:
    """Coroutine: finish what was received, send every client elsewhere, leave (see above)."""
    global draining
    if draining:
        return
    draining = True
    from .. import background

    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.CHAT["SHUTDOWN_DRAIN_SECONDS"]
    received = await until(lambda: _in_flight == 0 and writer().idle, deadline)
    sockets = [s for s in sio.eio.sockets.values() if isinstance(s, engine_socket.LeanSocket)]
    written = await until(lambda: all(s.flushed() or s.closed for s in sockets), deadline)
    log.info(
        "draining: events answered: %s, sockets flushed: %s; closing %d sockets",
        received,
        written,
        len(sockets),
    )
    closing = [s.close_for_reconnect() for s in sockets if not s.closed]
    if closing:
        await asyncio.wait(closing, timeout=max(0.1, deadline - loop.time()))
    # The disconnect handlers count agent sockets down; wait for them, then
    # take back whatever this process still counts.
    await until(lambda: not connections.agents, deadline)
    background.stop()
    try:
        await actions.run(processes.process_unregister, process_id=this_process.ID)
    except Exception:
        log.exception("could not unregister this process; the others expire it")
    await lease.lease().release()
