"""Events recorded by services, released only when their transaction commits.

A service calls `record(SomeEvent(...))` (chat.events) while it changes
state. The event joins the caller's outbox through `transaction.on_commit`,
so a rolled-back change is never announced; `chat.actions.run` hands the
outbox to `chat.realtime.emit`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from .events import Event

_local = threading.local()


@contextmanager
def collecting() -> Iterator[list[Event]]:
    """Collect the events recorded (and committed) in this thread."""
    previous = getattr(_local, "events", None)
    events: list[Event] = []
    _local.events = events
    try:
        yield events
    finally:
        _local.events = previous


def record(event: Event) -> None:
    if not isinstance(event, Event):
        raise TypeError(f"record() takes a chat.events.Event, not {event!r}.")
    events = getattr(_local, "events", None)
    if events is None:
        raise RuntimeError("record() outside outbox.collecting(): the event would be lost.")
    transaction.on_commit(lambda: events.append(event))
