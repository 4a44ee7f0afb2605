"""Events recorded by services, released only when their transaction commits.

A service calls `record(kind, **data)` while it changes state. The event joins
the caller's outbox through `transaction.on_commit`, so a rolled-back change is
never announced; `chat.actions.run` hands the outbox to `chat.realtime`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction

_local = threading.local()


@dataclass
class Event:
    kind: str
    data: dict = field(default_factory=dict)


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


def record(kind: str, **data) -> None:
    events = getattr(_local, "events", None)
    if events is None:
        raise RuntimeError("record() outside outbox.collecting(): the event would be lost.")
    event = Event(kind, data)
    transaction.on_commit(lambda: events.append(event))
