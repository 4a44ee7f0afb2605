"""A client that stops reading must not hold up anyone else, and loses nothing;
one that stops answering is disconnected.

Frames are written to a WebSocket directly by whoever sends them
(`chat.engine_socket`); once a client's buffers are full, its frames wait in
its own queue. Here a customer's second tab is a bare WebSocket with a tiny
receive buffer that reads nothing while the agent sends it megabytes: the
first tab and the agent's acks must all arrive meanwhile, and the stalled
tab, once it reads, must get every message once, in order.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from urllib.parse import urlsplit

import pytest

from cs_project.testing.checks import acked_in_order
from cs_project.testing.clients import agent, burst, customer
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import wait_until_server_saw_disconnect

pytestmark = pytest.mark.live

MESSAGES = 1000
TEXT = 4000  # characters: about 4 MB in all, more than any buffer on the way holds


class BareTab:
    """A /customer socket spoken by hand over a blocking TCP socket that reads only when asked."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.address = urlsplit(server.url)
        self.token = token
        self.sock: socket.socket | None = None
        self.buffer = b""

    def open(self) -> None:
        sock = socket.socket()
        # Set before connecting, so the window the server sees stays small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(15)
        sock.connect((self.address.hostname, self.address.port))
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {self.address.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        assert self.text().startswith("0{")  # Engine.IO open
        self.send("40/customer," + json.dumps({"token": self.token}))
        while not (frame := self.text()).startswith("40/customer,"):
            assert not frame.startswith("44/customer,"), frame  # connect error

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])  # final text frame
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def text(self) -> str:
        """The next text frame (WebSocket pings are answered by nobody: tests are short)."""
        while True:
            opcode, payload = self._frame()
            if opcode == 0x1:
                return payload.decode()
            assert opcode in (0x9, 0xA), f"unexpected opcode {opcode}"

    def messages(self, count: int) -> list[dict]:
        """Read until `count` agent:message events have arrived; return them."""
        got = []
        while len(got) < count:
            frame = self.text()
            if frame.startswith('42/customer,["agent:message",'):
                got.append(json.loads(frame[len("42/customer,") :])[1])
        return got

    def closed_by_server(self) -> bool:
        """Read (answering nothing) until the server closes the WebSocket: True, or a timeout error."""
        try:
            while True:
                opcode, _ = self._frame()
                if opcode == 0x8:
                    return True
        except ConnectionError:
            return True

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()

    def _frame(self) -> tuple[int, bytes]:
        self._need(2)
        first, second = self.buffer[0], self.buffer[1]
        length, at = second & 0x7F, 2
        if length == 126:
            self._need(4)
            length, at = struct.unpack("!H", self.buffer[2:4])[0], 4
        elif length == 127:
            self._need(10)
            length, at = struct.unpack("!Q", self.buffer[2:10])[0], 10
        self._need(at + length)
        payload, self.buffer = self.buffer[at : at + length], self.buffer[at + length :]
        return first & 0x0F, payload

    def _need(self, size: int) -> None:
        while len(self.buffer) < size:
            self._fill()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_tab_that_stops_reading_holds_up_nobody_and_gets_everything_after(start_chat_server, server):
    chat_server = start_chat_server(server=server)
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new")
    stalled = BareTab(chat_server, join["token"])
    await asyncio.to_thread(stalled.open)
    try:
        payloads = [
            {"conversation_id": conversation_id, "text": f"{i:05d}" + "x" * (TEXT - 5), "client_id": f"s-{i}"}
            for i in range(MESSAGES)
        ]

        # The stalled tab reads nothing while all of this happens.
        acks = await burst(ann, "agent:message", payloads, timeout=60)
        ids = acked_in_order(acks)
        await carla.wait_for("agent:message", lambda m: m["sender"] == "agent", count=MESSAGES, timeout=60)
        assert [m["id"] for m in carla.of("agent:message")] == ids

        # And the tab that read nothing gets it all once it reads.
        received = await asyncio.to_thread(stalled.messages, MESSAGES)
        assert [m["id"] for m in received] == ids
        assert [m["text"] for m in received] == [p["text"] for p in payloads]
    finally:
        stalled.close()
    for c in (ann, carla):
        await c.disconnect()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_client_that_stops_answering_pings_is_disconnected_and_its_websocket_closed(
    start_chat_server, server
):
    chat_server = start_chat_server(server=server, SOCKETIO_PING_INTERVAL=0.5, SOCKETIO_PING_TIMEOUT=1)
    carla, join = await customer(chat_server, "Carla")
    customer_id = join["customer"]["id"]
    seen = chat_server.scalar("select last_seen_at from customers_customer where id=?", (customer_id,))
    gone = BareTab(chat_server, join["token"])
    await asyncio.to_thread(gone.open)
    try:
        # It never answers the server's pings: the server must close its WebSocket.
        assert await asyncio.to_thread(gone.closed_by_server) is True
        await wait_until_server_saw_disconnect(chat_server, customer_id, seen)
    finally:
        gone.close()
    # The tab that answers its pings is still connected and served.
    assert carla.sio.connected
    echo = await carla.call("customer:message", {"text": "still here", "client_id": "p-1"})
    assert echo["ok"], echo
    await carla.disconnect()
