"""Socket.IO clients for the live tests: python-socketio's AsyncClient, the
official Python client, on one namespace of a `LiveServer`.

`Client` records every event it receives; `customer()` and `agent()` give a
joined customer and a logged-in agent; `burst()` sends many events at once.

A client connects from 127.0.0.1 unless given `address`: visitors come from
many addresses, and the server limits each one (docs/SECURITY.md, "Rate
limits"). `loopback(i)` is the i-th of 127.0.0.0/8's addresses after
127.0.0.1: a client binds it as its own, on this machine, without set-up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
import socketio

from cs_project.testing.server import LiveServer


def loopback(i: int) -> str:
    """A loopback address other than 127.0.0.1, distinct for each `i` below 62,500."""
    return f"127.0.{i // 250}.{2 + i % 250}"


@dataclass
class Client:
    """An AsyncClient on one namespace that remembers every event it got.

    With `address`, its connections (polling and WebSocket) leave from that
    local address.
    """

    server: LiveServer
    namespace: str
    transports: list[str] | None = None
    events: list[tuple[str, object]] = field(default_factory=list)
    sio: socketio.AsyncClient | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        self._changed = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None
        if self.sio is None:
            if self.address is not None:
                connector = aiohttp.TCPConnector(local_addr=(self.address, 0))
                self._http = aiohttp.ClientSession(connector=connector)
            self.sio = socketio.AsyncClient(reconnection=False, http_session=self._http)

        async def record(event, *args):
            self.events.append((event, args[0] if len(args) == 1 else list(args)))
            self._changed.set()

        self.sio.on("*", record, namespace=self.namespace)

    @property
    def connected(self) -> bool:
        """The socket is connected and its namespace still open."""
        return self.sio.connected and self.namespace in self.sio.namespaces

    async def connect(self, auth: dict | None = None, headers: dict | None = None) -> Client:
        await self.sio.connect(
            self.server.url,
            namespaces=[self.namespace],
            auth=auth,
            headers=headers or {},
            transports=self.transports,
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, *args, timeout: float = 10) -> dict:
        return await self.sio.call(
            event,
            args[0] if len(args) == 1 else tuple(args) if args else None,
            namespace=self.namespace,
            timeout=timeout,
        )

    async def emit_raw(self, event: str, *args, timeout: float = 10):
        """Emit with any number of arguments (or none) and wait for the ack."""
        done = asyncio.get_running_loop().create_future()
        data = tuple(args) if len(args) != 1 else args[0]
        if not args:
            await self.sio.emit(event, namespace=self.namespace, callback=lambda *a: done.set_result(a))
        else:
            await self.sio.emit(event, data, namespace=self.namespace, callback=lambda *a: done.set_result(a))
        result = await asyncio.wait_for(done, timeout)
        return result[0] if len(result) == 1 else result

    def of(self, name: str) -> list:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, predicate=lambda data: True, timeout: float = 10, count: int = 1):
        """Wait until `count` events `name` matching `predicate` have arrived; return the last."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            matching = [d for d in self.of(name) if predicate(d)]
            if len(matching) >= count:
                return matching[count - 1]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {name} on {self.namespace} after {timeout}s; got {self.events!r}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def disconnect(self) -> None:
        try:
            if not self.sio.connected:
                return
            if self.sio.transport() == "polling":
                # python-engineio's client otherwise waits for its pending
                # long-poll to time out (30 s); the server sees the close either way.
                await self.sio.eio.disconnect(abort=True)
            else:
                await self.sio.disconnect()
        finally:
            if self._http is not None:
                await self._http.close()


async def customer(
    server: LiveServer, name: str = "Carla", *, address: str | None = None, **join
) -> tuple[Client, dict]:
    """A connected, joined customer (from `address`, if given) and its join ack."""
    client = await Client(server, "/customer", address=address).connect()
    ack = await client.call("customer:join", {"name": name, **join})
    assert ack["ok"], ack
    return client, ack


async def agent(server: LiveServer, username: str, status: str | None = None) -> tuple[Client, dict]:
    """A connected, logged-in agent (by API token) and its login ack."""
    client = await Client(server, "/agent").connect(auth={"token": server.agents[username]["token"]})
    ack = await client.call("agent:login", {})
    assert ack["ok"], ack
    if status is not None:
        result = await client.call("agent:status", {"status": status})
        assert result["ok"], result
    return client, ack


async def burst(sender: Client, event: str, payloads: list[dict], timeout: float = 30) -> list[dict]:
    """Fire every emit concurrently (one gather), collect every ack."""
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in payloads]

    def resolver(future):
        def done(*args):
            if not future.done():
                future.set_result(args[0] if len(args) == 1 else list(args))

        return done

    await asyncio.gather(
        *(
            sender.sio.emit(event, payload, namespace=sender.namespace, callback=resolver(future))
            for payload, future in zip(payloads, futures, strict=True)
        )
    )
    return await asyncio.wait_for(asyncio.gather(*futures), timeout)


async def resume(server: LiveServer, token: str, last_message_id: int | None) -> tuple[Client, list[dict]]:
    """A tab that reconnects with `token` and catches up from `last_message_id`, page by page.

    Returns the connected client and every message after that id, as the
    join's replay and each `messages:fetch` page brought them, in order.
    """
    client = await Client(server, "/customer").connect(auth={"token": token})
    join = (
        {"token": token} if last_message_id is None else {"token": token, "last_message_id": last_message_id}
    )
    ack = await client.call("customer:join", join)
    assert ack["ok"], ack
    messages = list(ack["messages"])
    more = ack.get("has_more", False)
    while more:
        page = await client.call("messages:fetch", {"after_id": messages[-1]["id"]})
        assert page["ok"], page
        assert page["messages"], page
        messages += page["messages"]
        more = page["has_more"]
    return client, messages
