"""Internal chat from the channel layer to this process's agent sockets."""

from __future__ import annotations

import asyncio
import logging

from channels.layers import get_channel_layer

from . import emit

log = logging.getLogger(__name__)


async def run_internal_bridge() -> None:
    """Forward the internal-chat group to this process's agent sockets.

    Runs for the life of the process. Each process joins the group once, and
    emits only to its own sockets (`ignore_queue`), so a message reaches every
    agent exactly once however many processes there are.
    """
    layer = get_channel_layer()
    channel = await layer.new_channel("internal-bridge.")
    while True:
        await layer.group_add(emit.INTERNAL_GROUP, channel)  # renewed: groups expire
        try:
            event = await asyncio.wait_for(layer.receive(channel), timeout=3600)
        except TimeoutError:
            continue
        try:
            await emit.internal_to_local_agents(event["message"], event["sender_id"], event["to_agent_id"])
        except Exception:
            log.exception("internal message bridge failed")
