"""Tasks that run for the life of a server process, started on first use.

Daphne has no ASGI lifespan, so the first socket to connect starts them.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from . import actions
from .realtime import connections, emit, revocation
from .realtime.internal_bridge import run_internal_bridge
from .services import endings, presence

log = logging.getLogger(__name__)

_started: asyncio.Future | None = None


async def ensure_started() -> None:
    """Coroutine: start the background tasks once per process (safe to race)."""
    global _started
    if _started is None:
        _started = asyncio.get_running_loop().create_future()
        try:
            if not settings.REDIS_URL:
                # One process owns every socket: counts left by a previous run
                # are stale.
                await actions.run(presence.presence_reset)
            asyncio.get_running_loop().create_task(run_internal_bridge())
            channel = await revocation.subscribe()
            asyncio.get_running_loop().create_task(revocation.run_revocation_bridge(emit.sio, channel))
            asyncio.get_running_loop().create_task(sweep_forever())
        finally:
            _started.set_result(None)
    await _started


async def sweep_once() -> None:
    await actions.run(presence.agents_expire_absent, grace_seconds=settings.CHAT["AGENT_GRACE_SECONDS"])
    await actions.run(
        endings.conversations_close_idle,
        idle_seconds=settings.CHAT["CUSTOMER_IDLE_SECONDS"],
        connected_customer_ids=connections.connected_customer_ids(),
    )


async def sweep_forever() -> None:
    """Agents past the grace period go offline; idle customers are closed."""
    while True:
        await asyncio.sleep(settings.CHAT["SWEEP_INTERVAL_SECONDS"])
        try:
            await sweep_once()
        except Exception:
            log.exception("sweep failed")
