"""Tasks that run for the life of a server process, started on first use.

Daphne has no ASGI lifespan, so the first socket to connect starts them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from . import actions
from .realtime import connections, emit, revocation
from .realtime.internal_bridge import run_internal_bridge
from .services import endings, presence, retention, uploads

log = logging.getLogger(__name__)

_started: asyncio.Future | None = None
# Retention has a thread (and so a database connection) of its own: its
# reads never hold up the services' thread, and its writes are short batches.
_retention_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retention")
# time.monotonic() when the next retention pass is due (the first sweep).
_retention_due = 0.0


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
    await retain_once()


def _purge_one_batch(days: float, connected_customer_ids: set[int]) -> retention.Purged:
    close_old_connections()
    try:
        return retention.conversations_purge(
            older_than=retention.retention_cutoff(days),
            batch=settings.RETENTION_BATCH,
            connected_customer_ids=connected_customer_ids,
            max_batches=1,
        )
    finally:
        close_old_connections()


def _purge_unsent_uploads() -> int:
    close_old_connections()
    try:
        return uploads.attachments_purge_unsent(
            older_than=timezone.now() - timedelta(seconds=settings.UPLOAD_UNSENT_MAX_AGE),
            batch=settings.RETENTION_BATCH,
        )
    finally:
        close_old_connections()


async def retain_once() -> None:
    """Coroutine: one retention batch when a pass is due (settings `RETENTION_*`),
    and one of uploads never sent (UPLOAD_UNSENT_MAX_AGE).

    A pass is due every RETENTION_INTERVAL_SECONDS; while a batch comes back
    full, the next sweep does the next one, so a backlog goes in short
    transactions with the sweep interval between them.
    """
    global _retention_due
    if not settings.RETENTION_SWEEP or time.monotonic() < _retention_due:
        return
    # Not due again until this pass is over, even if it fails.
    _retention_due = time.monotonic() + settings.RETENTION_INTERVAL_SECONDS
    loop = asyncio.get_running_loop()
    unsent = await loop.run_in_executor(_retention_thread, _purge_unsent_uploads)
    if unsent:
        log.info("deleted %d uploads never sent", unsent)
    days = settings.RETENTION_DAYS
    purged = retention.Purged()
    if days > 0:
        purged = await loop.run_in_executor(
            _retention_thread, _purge_one_batch, days, connections.connected_customer_ids()
        )
    if not purged.complete or unsent >= settings.RETENTION_BATCH:
        _retention_due = 0.0
    if purged != retention.Purged():
        log.info("retention deleted %s", purged)


async def sweep_forever() -> None:
    """Agents past the grace period go offline; idle customers are closed;
    what is older than the retention period is deleted."""
    while True:
        await asyncio.sleep(settings.CHAT["SWEEP_INTERVAL_SECONDS"])
        try:
            await sweep_once()
        except Exception:
            log.exception("sweep failed")
