"""Internal chat from the channel layer to this process's agent sockets."""

from __future__ import annotations

import asyncio
import logging

from channels.layers import get_channel_layer

from . import emit
from .layer_groups import RETRY_SECONDS, join_until_done, new_channel

log = logging.getLogger(__name__)


async def run_internal_bridge() -> None:
    """Forward the internal-chat group to this process's agent sockets.

    Runs for the life of the process. Each process joins the group once, and
    emits only to its own sockets (`ignore_queue`), so a message reaches every
    agent exactly once however many processes there are.
    """
    layer = get_channel_layer()
    channel = await new_channel(layer)
    while True:
        await join_until_done(layer, emit.INTERNAL_GROUP, channel)  # renewed: groups expire
        try:
            event = await asyncio.wait_for(layer.receive(channel), timeout=3600)
        except TimeoutError:
            continue
        except Exception as error:
            # The channel layer is down (Redis stopped, restarting): this task
            # must outlive it, or internal chat never crosses processes again.
            log.warning("internal message bridge: receiving failed (%r)", error)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        try:
            await emit.internal_to_local_agents(event["message"], event["sender_id"], event["to_agent_id"])
        except Exception:
            log.exception("internal message bridge failed")
