"""Tasks that run for the life of a server process, started on first use.

Daphne has no ASGI lifespan, so the first socket to connect starts them:

- the heartbeat: with Redis, this process's row (chat.models.ServerProcess)
  every PROCESS_HEARTBEAT_SECONDS, and always its connected customers
  marked seen, so that the other processes (and `queue close-idle`) know
  what is alive (chat.services.processes);
- the sweeper, in the one process that holds the maintenance lease
  (chat.realtime.lease): processes silent too long have their agents'
  sockets taken back, agents past the grace period go offline, idle
  customers are closed, old history is deleted;
- the bridges that carry internal chat and revocations between processes.
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
from socketio.async_pubsub_manager import AsyncPubSubManager

from . import actions
from .realtime import connections, drain, emit, engine_socket, lease, revocation, rooms, this_process
from .realtime.internal_bridge import run_internal_bridge
from .services import endings, presence, processes, retention, uploads

log = logging.getLogger(__name__)

_started: asyncio.Future | None = None
_tasks: list[asyncio.Task] = []
# Retention has a thread (and so a database connection) of its own: its
# reads never hold up the services' thread, and its writes are short
# batches. Customers marked seen use it too.
_retention_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retention")
# time.monotonic() when the next retention pass is due (the first sweep).
_retention_due = 0.0


async def ensure_started() -> None:
    """Coroutine: start the background tasks once per process (safe to race).

    If registering this process fails (PostgreSQL down), nothing is started
    and the next connection tries again.
    """
    global _started
    if _started is None:
        started = _started = asyncio.get_running_loop().create_future()
        try:
            identity = {"process_id": this_process.ID, "host": this_process.HOST, "pid": this_process.PID}
            await actions.run(processes.process_register, **identity)
            if not settings.REDIS_URL:
                # One process owns every socket: what earlier runs counted is stale.
                await actions.run(processes.processes_forget_all_but, process_id=this_process.ID)
        except Exception:
            log.exception("could not register this process; the next connection tries again")
            _started = None
        else:
            _heartbeat_ok()
            await _until_subscribed()
            loop = asyncio.get_running_loop()
            _tasks.append(loop.create_task(run_internal_bridge()))
            channel = await revocation.subscribe()
            _tasks.append(loop.create_task(revocation.run_revocation_bridge(emit.sio, channel)))
            _tasks.append(loop.create_task(heartbeat_forever()))
            _tasks.append(loop.create_task(sweep_forever()))
        finally:
            started.set_result(None)
        return
    await _started


# time.monotonic() since when this process's heartbeats have all succeeded;
# None after one failed (the database unreachable).
_beating_since: float | None = None


def _heartbeat_ok() -> None:
    global _beating_since
    if _beating_since is None:
        _beating_since = time.monotonic()


def _heartbeat_failed() -> None:
    global _beating_since
    _beating_since = None


def may_expire_others() -> bool:
    """Whether this process has heartbeated for a whole PROCESS_TIMEOUT_SECONDS.

    After a database outage every heartbeat is old: the first process back
    would take all the others for dead before they had a chance to write
    theirs. Only a process that has itself been heartbeating for a full
    timeout may judge the others' silence.
    """
    return (
        _beating_since is not None
        and time.monotonic() - _beating_since >= settings.CHAT["PROCESS_TIMEOUT_SECONDS"]
    )


async def _until_subscribed(timeout: float = 5.0) -> None:
    """With Redis, wait until this process listens for the others' events.

    python-socketio's Redis manager subscribes in a task of its own, started
    with the first connection; Redis keeps nothing for a subscriber that is
    not there yet, so a message another process stored for a customer who
    has just joined here was lost when it came first (seen in a rolling
    restart: the restarted process's first customers).
    """
    manager = emit.sio.manager
    if not isinstance(manager, AsyncPubSubManager):
        return

    def subscribed() -> bool:
        # Polled: the manager's task sets no event to wait on (chat/realtime/patches.py).
        return getattr(manager, "pubsub", None) is not None and manager.pubsub.subscribed

    if not await drain.until(subscribed, asyncio.get_running_loop().time() + timeout):
        log.warning("not subscribed to the other processes' events after %.0f s; serving anyway", timeout)


def stop() -> None:
    """The process is exiting (chat.realtime.drain): no more heartbeats or sweeps."""
    for task in _tasks:
        task.cancel()
    _tasks.clear()


def lease_seconds() -> float:
    """How long a sweeper holds the lease between renewals: three sweeps, at least 2 s."""
    return max(3 * settings.CHAT["SWEEP_INTERVAL_SECONDS"], 2.0)


async def sweep_once() -> bool:
    """One round of maintenance, if this process holds the lease; whether it did."""
    held = lease.lease()
    seconds = lease_seconds()
    if not await held.hold(seconds):
        return False
    if settings.REDIS_URL and may_expire_others():
        await actions.run(
            processes.processes_expire_silent, timeout_seconds=settings.CHAT["PROCESS_TIMEOUT_SECONDS"]
        )
    await actions.run(presence.agents_expire_absent, grace_seconds=settings.CHAT["AGENT_GRACE_SECONDS"])
    if not await held.hold(seconds):
        return True
    await actions.run(
        endings.conversations_close_idle,
        idle_seconds=settings.CHAT["CUSTOMER_IDLE_SECONDS"],
        # This process's own, up to this moment; the other processes' have
        # been marked seen by their heartbeats.
        connected_customer_ids=connections.connected_customer_ids(),
    )
    if await held.hold(seconds):
        await retain_once()
    return True


def seen_interval() -> float:
    """How often connected customers are marked seen: well inside the idle period."""
    return min(60.0, settings.CHAT["CUSTOMER_IDLE_SECONDS"] / 4)


async def heartbeat_forever() -> None:
    """Every second: customers newly connected here are marked seen; when due,
    the heartbeat and every connected customer."""
    beat_every = settings.CHAT["PROCESS_HEARTBEAT_SECONDS"]
    next_beat = time.monotonic() + beat_every
    next_seen = time.monotonic() + seen_interval()
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(min(1.0, beat_every))
        now = time.monotonic()
        try:
            # One process alone (no Redis) has nobody to tell it is alive,
            # and on SQLite every write from another thread makes the
            # message writer's next commit wait.
            if settings.REDIS_URL and now >= next_beat:
                next_beat = now + beat_every
                await heartbeat_once()
            await count_out_closed()
            if now >= next_seen:
                next_seen = now + seen_interval()
                connections.take_newly_bound()
                seen = sorted(connections.connected_customer_ids())
            else:
                seen = sorted(connections.take_newly_bound())
            if seen:
                await loop.run_in_executor(_retention_thread, _mark_seen, seen)
        except Exception:
            log.exception("heartbeat failed")


async def heartbeat_once() -> None:
    try:
        alive = await actions.run(
            processes.process_heartbeat,
            process_id=this_process.ID,
            host=this_process.HOST,
            pid=this_process.PID,
        )
    except Exception:
        _heartbeat_failed()
        raise
    _heartbeat_ok()
    if not alive:
        # Taken for dead (frozen past PROCESS_TIMEOUT_SECONDS): its agents'
        # sockets were taken back. They reconnect and are counted again.
        log.warning("this process was taken for dead; its agents' sockets reconnect")
        for state_sid in list(connections.agents):
            eio_sid = emit.sio.manager.eio_sid_from_sid(state_sid, rooms.AGENT_NS)
            socket = emit.sio.eio.sockets.get(eio_sid) if eio_sid else None
            if isinstance(socket, engine_socket.LeanSocket) and not socket.closed:
                socket.close_for_reconnect()


async def count_out_closed() -> None:
    """Agent sockets whose close could not be counted (the database down) are counted now."""
    for agent_id in connections.take_uncounted_closes():
        try:
            await actions.run(presence.agent_socket_closed, agent_id=agent_id, process_id=this_process.ID)
        except Exception:
            connections.uncounted_close(agent_id)
            raise


def _mark_seen(customer_ids: list[int]) -> int:
    close_old_connections()
    try:
        return processes.customers_seen(customer_ids=customer_ids)
    finally:
        close_old_connections()


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
    """The sweeper, every SWEEP_INTERVAL_SECONDS (see `sweep_once`)."""
    while True:
        await asyncio.sleep(settings.CHAT["SWEEP_INTERVAL_SECONDS"])
        try:
            await sweep_once()
        except Exception:
            log.exception("sweep failed")
