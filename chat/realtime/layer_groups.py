"""This process's channels on the channel layer, for the bridges' receive loops,
and joining their groups again and again."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

# Seconds between attempts while the channel layer (Redis) is unreachable.
RETRY_SECONDS = 1.0


async def new_channel(layer) -> str:
    """Coroutine: a new channel of this process's own (a bridge's).

    Every bridge's channel has the same prefix. channels_redis lets one
    receive at a time wait in Redis for all of a process's channels, and it
    only serves them all when they share the part of the name up to "!",
    which the prefix is part of: with a prefix each, whichever bridge waited
    first held the others up until its own message (or its timeout) came.
    """
    return await layer.new_channel("bridge.")


async def join_until_done(layer, group: str, channel: str) -> None:
    """Coroutine: add `channel` to `group`, retrying until the channel layer answers.

    Called before every receive: groups expire, and a Redis that restarted
    without its data has forgotten them, so a bridge that went on receiving
    without joining again would wait on a channel nobody sends to.
    """
    while True:
        try:
            await layer.group_add(group, channel)
            return
        except Exception as error:
            log.warning("joining %s failed (%r); retrying in %s s", group, error, RETRY_SECONDS)
            await asyncio.sleep(RETRY_SECONDS)
