"""python-engineio's socket, without a task for every frame.

python-engineio (5.x/4.x) waits for each frame it reads and each batch it
writes with `asyncio.wait_for`, which on Python 3.11 wraps the wait in a new
task, and it also starts a task per read. A chat message is three frames
(the sender's event, its ack, the recipient's event), so a message cost
about five tasks before any of our code ran (docs/PERFORMANCE.md).
`asyncio.timeout` keeps the same deadlines without a task.

The methods below are python-engineio 4.15's own, changed only there; the
rest of the socket (upgrade rules, close, pings) is unchanged. Sockets get
this class when Engine.IO reports them connected (`adopt`), before their
WebSocket loop starts.
"""

from __future__ import annotations

import asyncio

from engineio import async_socket, exceptions, packet


class LeanSocket(async_socket.AsyncSocket):
    async def poll(self):
        """Wait for packets to send to the client."""
        try:
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
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
                try:
                    for pkt in packets:
                        await ws.send(pkt.encode())
                except Exception:
                    break
            await ws.close()

        writer_task = asyncio.ensure_future(writer())

        self.server.logger.info("%s: Upgrade to websocket successful", self.sid)

        deadline = self.server.ping_interval + self.server.ping_timeout
        while True:
            try:
                async with asyncio.timeout(deadline):
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

        await self.queue.put(None)  # unlock the writer task so it can exit
        await writer_task
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)


def adopt(socket: async_socket.AsyncSocket) -> None:
    """Make a socket python-engineio just created a LeanSocket (same state, same layout)."""
    if type(socket) is async_socket.AsyncSocket:
        socket.__class__ = LeanSocket
