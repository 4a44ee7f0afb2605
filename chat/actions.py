"""Run a service off the event loop, then send the events it recorded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import OperationalError, transaction

from . import outbox
from .events import Event
from .realtime import emit

T = TypeVar("T")
log = logging.getLogger(__name__)


# Times a service is run again when PostgreSQL ends its transaction as a
# deadlock: two processes updating the same rows in different orders (a
# join marking messages delivered, the other process's writer doing the
# same). The transaction was rolled back whole, so running it again is safe.
DEADLOCK_RETRIES = 3


def _deadlocked(error: OperationalError) -> bool:
    return type(error.__cause__).__name__ == "DeadlockDetected"


def _call(service: Callable[..., T], kwargs: dict) -> tuple[T, list[Event]]:
    """The service's result and its outbox: the events its commit released
    (or, inside a caller's transaction, will release when that commits)."""
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with outbox.collecting() as events:
                result = service(**kwargs)
            return result, events
        except OperationalError as error:
            if (
                attempt == DEADLOCK_RETRIES
                or not _deadlocked(error)
                or transaction.get_connection().in_atomic_block
            ):
                raise
            log.warning("%s deadlocked; running it again", getattr(service, "__name__", service))
    raise AssertionError("unreachable")


async def run(service: Callable[..., T], /, **kwargs) -> T:
    """Coroutine: `service(**kwargs)` in the database thread, then its events.

    The events were released by the transaction's commit, so what is sent
    has happened; a ChatError from the service propagates and sends nothing.
    """
    result, events = await database_sync_to_async(_call)(service, kwargs)
    if events:
        await emit.dispatch(events)
    return result


def run_from_sync(service: Callable[..., T], /, **kwargs) -> T:
    """`run` for synchronous callers (admin views, management commands).

    The events are sent on the server's event loop, from which Django runs
    sync views in a thread. Called inside a transaction of the caller's
    (admin's change form saves in one), the service's events are released
    only when that transaction commits: they are sent then, or never if it
    rolls back.
    """
    from .realtime import server  # noqa: F401  (binds emit to the server outside Daphne too)

    result, events = _call(service, kwargs)
    if transaction.get_connection().in_atomic_block:
        # Registered after the service's own callbacks, so it runs after they
        # have filled `events`.
        transaction.on_commit(lambda: events and async_to_sync(emit.dispatch)(list(events)))
    elif events:
        async_to_sync(emit.dispatch)(list(events))
    return result


def send_after_commit(*events: Event) -> None:
    """From synchronous code (signal handlers, admin): send `events` once the
    current transaction commits (at once outside one).

    For what is not a service run by `run` or `run_from_sync`: a user saved by
    Django admin, a logout. A failure to send is logged: the change stands.
    """
    from .realtime import server  # noqa: F401  (binds emit to the server outside Daphne too)

    def send() -> None:
        try:
            async_to_sync(emit.dispatch)(list(events))
        except Exception:
            log.exception("sending %r after the commit failed", events)

    transaction.on_commit(send)
