"""Run a service off the event loop, then send the events it recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from . import outbox
from .events import Event
from .realtime import emit

T = TypeVar("T")


def _call(service: Callable[..., T], kwargs: dict) -> tuple[T, list[Event]]:
    with outbox.collecting() as events:
        result = service(**kwargs)
    return result, list(events)


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
    sync views in a thread.
    """
    from .realtime import server  # noqa: F401  (binds emit to the server outside Daphne too)

    result, events = _call(service, kwargs)
    if events:
        async_to_sync(emit.dispatch)(events)
    return result
