"""python-engineio's socket, without a task, a queue or a timer for every frame.

python-engineio (4.15) waits for each frame it reads and each batch it
writes with `asyncio.wait_for`, which on Python 3.11 wraps the wait in a new
task, and every frame it sends goes through the socket's queue to a writer
task that wakes up to write it. A chat message is three frames (the
sender's event, its ack, the recipient's event), so a message cost several
tasks and wake-ups before any of our code ran (docs/PERFORMANCE.md).

Here, on a WebSocket:

- a frame is written at once by whoever sends it, when nothing is waiting
  to be written before it (`send`); the queue and the writer task only
  carry what must wait its turn: frames sent during the upgrade, and
  frames behind a write that had to wait for the client (a slow reader
  never holds up the sender, who goes on to its other recipients);
- reads and the writer's waits have no per-frame deadline: a client that
  stops answering pings is closed by python-engineio's service task, and
  closing the socket now also ends its WebSocket (`close`), which is what
  the deadlines were for.

Bounded: what waits in the queue for one socket is capped in frames and in
bytes (`SOCKET_SEND_BUFFER_FRAMES`, `SOCKET_SEND_BUFFER_BYTES`, counting a
text frame's characters). A client that stops reading fills its transport's
buffer first (uvicorn then makes `ws.send` wait; Daphne does the same
through `cs_project.daphne_server`), then its queue; past either cap the
queue is dropped and the socket closed without a close packet, so its
client reconnects and resumes from its last message id (the messages are
stored): the server holds at most the caps per socket, never more.

The methods below are python-engineio 4.15's own, changed only there; the
rest of the socket (upgrade rules, pings, polling) is unchanged. Sockets get
this class when Engine.IO reports them connected (`adopt`), before their
WebSocket loop starts.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from engineio import async_socket, exceptions, packet

log = logging.getLogger(__name__)


async def _finish(write, waiting_on) -> None:
    """Run a write coroutine to its end from where `_start` left it.

    What a task does: wait for the future the coroutine yielded, then resume
    it with send(None), until it returns.
    """
    while True:
        if waiting_on is None:  # a bare yield: give the loop one turn
            await asyncio.sleep(0)
        else:
            await asyncio.wait([waiting_on])
        try:
            waiting_on = write.send(None)
        except StopIteration:
            return
        except Exception:
            # The connection went away meanwhile: its reader sees it and ends.
            log.debug("a WebSocket write failed", exc_info=True)
            return


def _start(write):
    """Run a write coroutine until it would wait: None when it is done, else a task finishing it.

    An ASGI server's send writes to the transport and returns without
    waiting, unless the client is not reading (write buffer full): only then
    is a task made.
    """
    try:
        waiting_on = write.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_finish(write, waiting_on))


def _size(pkt) -> int:
    """What a queued packet holds: its text's characters or its bytes (a few for the rest)."""
    data = pkt.data
    return len(data) if isinstance(data, str | bytes) else 16


class LeanSocket(async_socket.AsyncSocket):
    # Set while the socket's WebSocket is open and upgraded: frames may be
    # written to it directly. Class defaults: most sockets never set them.
    _ws = None
    _writing = False  # the writer task is writing queued frames
    _waiting_write: asyncio.Task | None = None  # a direct write waiting for the client
    _queued_bytes = 0  # of the packets in the queue (`_size`)
    _overflowed = False  # over a cap: everything is dropped until the socket is gone
    _closing: asyncio.Future | None = None  # the close `_overflow` started

    async def send(self, pkt):
        """Send a packet: written at once when nothing waits before it, else queued."""
        if self._overflowed or not await self.check_ping_timeout():
            return
        ws = self._ws
        if (
            ws is None
            or self._writing
            or (self._waiting_write is not None and not self._waiting_write.done())
            or not self.queue.empty()
        ):
            size = _size(pkt)
            if (
                self.queue.qsize() >= settings.SOCKET_SEND_BUFFER_FRAMES
                or self._queued_bytes + size > settings.SOCKET_SEND_BUFFER_BYTES
            ):
                self._overflow()
                return
            self._queued_bytes += size
            self.queue.put_nowait(pkt)
            return
        try:
            self._waiting_write = _start(ws.send(pkt.encode()))
        except Exception:
            # The connection is gone: end the writer, as a failed write does.
            self._ws = None
            self.queue.put_nowait(None)

    def _overflow(self) -> None:
        """Over a cap: drop what waits, end the writer, close the socket (in a task of its own).

        Closed as a lost transport (no close packet): the client reconnects
        and resumes. The sender (the message writer, a room's emit) does not
        wait for the disconnect handlers.
        """
        log.info("%s: send buffer over its cap; closing the socket", self.sid)
        while not self.queue.empty():
            self.queue.get_nowait()
            self.queue.task_done()
        self._queued_bytes = 0
        if self._waiting_write is not None:
            self._waiting_write.cancel()
        self._close_as_lost(self.server.reason.TRANSPORT_ERROR)

    def flushed(self) -> bool:
        """Nothing waits to be written to the client."""
        return (
            self.queue.empty()
            and not self._writing
            and (self._waiting_write is None or self._waiting_write.done())
        )

    def close_for_reconnect(self) -> asyncio.Future:
        """Close the socket as a lost transport, so that its client reconnects and resumes.

        A server shutting down does this (chat.realtime.drain): a close packet
        or a Socket.IO disconnect would be taken by the official clients as
        final, and they would not reconnect. Call it once `flushed()`.
        """
        self._close_as_lost(self.server.reason.SERVER_DISCONNECT)
        return self._closing

    def _close_as_lost(self, reason) -> None:
        self._overflowed = True  # nothing more is queued
        self.queue.put_nowait(None)  # ends the writer task, or the pending long-poll
        self._closing = asyncio.ensure_future(self.close(wait=False, abort=True, reason=reason))

    async def close(self, wait=True, abort=False, reason=None):
        await super().close(wait=wait, abort=abort, reason=reason)
        if self._ws is not None:
            # Without per-read deadlines, this is what ends the WebSocket of a
            # socket closed from here (ping timeout, server disconnect).
            self._ws = None
            self.queue.put_nowait(None)

    async def poll(self):
        """Wait for packets to send to the client."""
        if (self.closing or self.closed) and self.queue.empty():
            # Being closed (chat.realtime.drain): nothing more will come.
            raise exceptions.QueueEmpty()
        try:
            if self._ws is None:  # long-polling: the request waits at most this long
                async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                    packets = [await self.queue.get()]
            else:
                packets = [await self.queue.get()]
            self.queue.task_done()
        except (TimeoutError, asyncio.CancelledError):
            raise exceptions.QueueEmpty() from None
        if packets == [None]:
            return []
        while True:
            try:
                pkt = self.queue.get_nowait()
                self.queue.task_done()
                if pkt is None:
                    self.queue.put_nowait(None)
                    break
                packets.append(pkt)
            except asyncio.QueueEmpty:
                break
        # Packets put straight on the queue (upgrade, close) were not counted.
        self._queued_bytes = max(0, self._queued_bytes - sum(_size(p) for p in packets))
        if self.queue.empty():
            self._queued_bytes = 0
        return packets

    async def _websocket_handler(self, ws):
        """Engine.IO handler for websocket transport."""

        async def websocket_wait():
            data = await ws.wait()
            if data and len(data) > self.server.max_http_buffer_size:
                raise ValueError("packet is too large")
            return data

        if self.connected:
            # the socket was already connected, so this is an upgrade
            self.upgrading = True  # hold packet sends during the upgrade

            try:
                pkt = await websocket_wait()
            except OSError:
                return
            decoded_pkt = packet.Packet(encoded_packet=pkt)
            if decoded_pkt.packet_type != packet.PING or decoded_pkt.data != "probe":
                self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                self.upgrading = False
                return
            await ws.send(packet.Packet(packet.PONG, data="probe").encode())
            await self.queue.put(packet.Packet(packet.NOOP))  # end poll

            try:
                pkt = await websocket_wait()
            except OSError:
                self.upgrading = False
                return
            decoded_pkt = packet.Packet(encoded_packet=pkt)
            if decoded_pkt.packet_type != packet.UPGRADE:
                self.upgraded = False
                self.server.logger.info(
                    "%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.",
                    self.sid,
                    pkt,
                )
                self.upgrading = False
                return
            self.upgraded = True
            self.upgrading = False
        else:
            self.connected = True
            self.upgraded = True

        async def writer():
            while True:
                try:
                    packets = await self.poll()
                except exceptions.QueueEmpty:
                    break
                if not packets:
                    # empty packet list returned -> connection closed
                    break
                self._writing = True
                try:
                    if self._waiting_write is not None:  # a direct write goes first
                        # (asyncio.wait: a write cancelled by `_overflow` is not an error here)
                        await asyncio.wait([self._waiting_write])
                    for pkt in packets:
                        if self._overflowed:
                            break
                        await ws.send(pkt.encode())
                except Exception:
                    break
                finally:
                    self._writing = False
            self._ws = None
            await ws.close()

        self._ws = ws
        writer_task = asyncio.ensure_future(writer())

        self.server.logger.info("%s: Upgrade to websocket successful", self.sid)

        while True:
            try:
                p = await websocket_wait()
            except (Exception, asyncio.CancelledError):
                break
            if p is None:
                # connection closed by client
                break
            pkt = packet.Packet(encoded_packet=p)
            try:
                await self.receive(pkt)
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                self.server.logger.info("Receive error -- socket is closed")
                break
            except Exception:
                # if we get an unexpected exception we log the error and exit
                # the connection properly
                self.server.logger.exception("Unknown receive error")
            if self.closed:
                # Closed from here (too many events refused, a server
                # disconnect): what the client sent after it is not read.
                break

        self._ws = None
        await self.queue.put(None)  # unlock the writer task so it can exit
        await writer_task
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)


def adopt(socket: async_socket.AsyncSocket) -> None:
    """Make a socket python-engineio just created a LeanSocket (same state, same layout)."""
    if type(socket) is async_socket.AsyncSocket:
        socket.__class__ = LeanSocket
