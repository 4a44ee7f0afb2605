"""A client that stops reading must not hold up anyone else, nor make the
server hold its frames without bound; one that stops answering is
disconnected.

Frames are written to a WebSocket directly by whoever sends them
(`chat.realtime.engine_socket`); once a client's buffers are full, its
frames wait in its own queue, capped (`SOCKET_SEND_BUFFER_BYTES`,
`SOCKET_SEND_BUFFER_FRAMES`). Here a customer's other tabs are bare
WebSockets with a tiny receive buffer that read nothing while the agent
sends them megabytes: the first tab and the agent's acks must all arrive
meanwhile, each stalled tab is closed once over its cap while the server's
memory stays flat, and a resume from the last message a stalled tab got
brings every message after it, once, in order.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cs_project.testing.checks import acked_in_order
from cs_project.testing.clients import agent, burst, customer, resume
from cs_project.testing.server import LiveServer
from cs_project.testing.waits import wait_until_server_saw_disconnect

pytestmark = pytest.mark.live

MESSAGES = 2500
TEXT = 4000  # characters: 10 MB in all, more than the cap and any buffer on the way
ROUND = 100  # messages the agent sends at once before waiting for their acks
CAP = 1024 * 1024  # bytes each stalled tab's queue may hold
STALLED = 4  # tabs: 24 MB held for them past the kernel's buffers, were their frames not capped


def rss_kib(pid: int) -> int:
    """The process's resident set (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


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

    def messages_until_closed(self) -> list[dict]:
        """Read every agent:message until the server ends the WebSocket; return them."""
        got = []
        try:
            while True:
                opcode, payload = self._frame()
                if opcode == 0x8:
                    return got
                text = payload.decode() if opcode == 0x1 else ""
                if text.startswith('42/customer,["agent:message",'):
                    got.append(json.loads(text[len("42/customer,") :])[1])
        except ConnectionError:
            return got
        except TimeoutError:
            raise AssertionError(
                f"the server did not close the WebSocket; {len(got)} messages read"
            ) from None

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
async def test_a_tab_that_stops_reading_is_closed_past_its_cap_and_resumes_with_everything(
    start_chat_server, server
):
    # A cap below the default, so that a few megabytes (past the kernel's own
    # buffers, which grow to 4 MB on loopback) reach it. The agent sends
    # 2,000 messages in a few seconds: about the send buffers, not the
    # per-socket event limit (test_limits_live.py), which is raised here.
    chat_server = start_chat_server(
        server=server, SOCKET_SEND_BUFFER_BYTES=CAP, LIMIT_AGENT_EVENTS_BURST="100000"
    )
    pid = chat_server.process.pid
    ann, _ = await agent(chat_server, "ann")
    carla, join = await customer(chat_server, "Carla")
    conversation_id = join["conversation"]["id"]
    await ann.wait_for("customer:new")

    def payloads(prefix: str, count: int) -> list[dict]:
        return [
            {
                "conversation_id": conversation_id,
                "text": f"{i:05d}" + "x" * (TEXT - 5),
                "client_id": f"{prefix}-{i}",
            }
            for i in range(count)
        ]

    async def send_all(sent: list[dict]) -> list[int]:
        """The agent sends in rounds, each once the last is acked: a pace its readers keep up with."""
        acks = []
        for at in range(0, len(sent), ROUND):
            acks += await burst(ann, "agent:message", sent[at : at + ROUND], timeout=60)
        return acked_in_order(acks)

    # The same messages once with every tab reading: what the path itself costs.
    await send_all(payloads("w", MESSAGES))
    await carla.wait_for("agent:message", lambda m: m["sender"] == "agent", count=MESSAGES, timeout=60)
    before = rss_kib(pid)

    stalled = [BareTab(chat_server, join["token"]) for _ in range(STALLED)]
    for tab in stalled:
        await asyncio.to_thread(tab.open)
    try:
        sent = payloads("s", MESSAGES)
        # The stalled tabs read nothing while all of this happens.
        ids = await send_all(sent)
        await carla.wait_for(
            "agent:message", lambda m: m["sender"] == "agent", count=2 * MESSAGES, timeout=60
        )
        assert [m["id"] for m in carla.of("agent:message")][MESSAGES:] == ids
        after = rss_kib(pid)
        # Capped, each stalled tab holds at most CAP; uncapped, about 6 MB
        # each (what the kernel's buffers do not hold). Allowed: twice the
        # caps and 5% more.
        allowed = 2 * STALLED * CAP // 1024 + before // 20
        assert after - before < allowed, f"VmRSS {before} KiB before, {after} KiB after"

        # Each stalled tab was closed: reading now brings what its buffers
        # held, then the end of its WebSocket, well before the last message.
        got = [await asyncio.to_thread(tab.messages_until_closed) for tab in stalled]
    finally:
        for tab in stalled:
            tab.close()
    for received in got:
        assert len(received) < MESSAGES, "a stalled tab got everything: no cap was reached"
        assert [m["id"] for m in received] == sorted(m["id"] for m in received)

    # A tab that reconnects resumes from the last message it got: the rest, once, in order.
    last_id = got[0][-1]["id"] if got[0] else None
    tab, resumed = await resume(chat_server, join["token"], last_id)
    expected = [i for i in ids if last_id is None or i > last_id]
    assert [m["id"] for m in resumed if m["sender"] == "agent" and m["id"] in set(ids)] == expected
    assert len(resumed) == len({m["id"] for m in resumed})

    # The other tab and the agent were never held up, and still are not.
    echo = await carla.call("customer:message", {"text": "still here", "client_id": "after-1"})
    assert echo["ok"], echo
    await ann.wait_for("customer:message", lambda m: m["client_id"] == "after-1")
    for c in (ann, carla, tab):
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
