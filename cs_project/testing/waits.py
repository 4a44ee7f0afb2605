"""Waiting for what the server does on its own time."""

from __future__ import annotations

import asyncio

from cs_project.testing.server import LiveServer


async def wait_until_server_saw_disconnect(server: LiveServer, customer_id: int, before) -> None:
    """The /customer disconnect handler stamps last_seen_at: that is the sign."""
    sql = "select last_seen_at from customers_customer where id=?"
    for _ in range(200):
        if server.scalar(sql, (customer_id,)) != before:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the server never noticed the customer's disconnect")
