"""Waiting for something that happens on its own time: one polling loop.

Events a client receives are waited for with `Client.wait_for`; what can only
be polled (a row of the server's database, a client's transport) with
`eventually`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from cs_project.testing.server import LiveServer

T = TypeVar("T")


async def eventually(
    condition: Callable[[], T], *, timeout: float = 10, interval: float = 0.02, what: str = ""
) -> T:
    """Call `condition()` every `interval` seconds until it is truthy; return that value.

    Coroutine. Raises AssertionError, naming `what` and the last value, after
    `timeout` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what or 'condition'} still false after {timeout}s: {value!r}")
        await asyncio.sleep(interval)


async def wait_until_server_saw_disconnect(server: LiveServer, customer_id: int, before) -> None:
    """The /customer disconnect handler stamps last_seen_at: wait until it differs from `before`."""
    await eventually(
        lambda: (
            server.scalar("select last_seen_at from customers_customer where id=?", (customer_id,)) != before
        ),
        timeout=5,
        what="the server noticing the customer's disconnect",
    )
