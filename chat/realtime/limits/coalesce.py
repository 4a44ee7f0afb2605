"""Typing signals coalesced: at most one change per key per interval.

A typing indicator is a state (typing or not), so a client that sends it
a hundred times a second says nothing more than one that sends it once. Per
key (a conversation as one customer or one agent sees it), `Coalescer.offer`
forwards a new state at once if the last forward is an interval old, later
(the latest state wins) if not, and a state equal to the last one forwarded
only once that is `refresh` old (the pages drop a typing indicator that is
not refreshed). A message from the sender ends its typing on the other
side: after `forget` the next state is forwarded even if repeated. In this
process's memory: the key is one sender's, whose sockets on other
processes are coalesced there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Forward = Callable[[bool], Awaitable[None]]

# Keys kept before the oldest idle ones are dropped.
MAX_KEYS = 10_000


@dataclass(slots=True)
class _State:
    sent: bool | None = None
    at: float = 0.0
    wanted: bool | None = None
    forward: Forward | None = None
    timer: asyncio.TimerHandle | None = None


class Coalescer:
    def __init__(self, interval: Callable[[], float], refresh: Callable[[], float]) -> None:
        self._interval = interval
        self._refresh = refresh
        self._states: dict[Hashable, _State] = {}

    async def offer(self, key: Hashable, value: bool, forward: Forward) -> None:
        """Forward `value` for `key` now, later or not at all (see the module).

        A forward made now raises what `forward` raises, and then nothing is
        recorded; a deferred one only logs.
        """
        state = self._states.get(key)
        if state is None:
            if len(self._states) >= MAX_KEYS:
                self._prune()
            state = self._states[key] = _State()
        state.wanted, state.forward = value, forward
        if state.timer is not None:
            return  # the pending forward sends the latest state
        now = time.monotonic()
        if value == state.sent and now - state.at < self._refresh():
            return
        wait = state.at + self._interval() - now
        if wait > 0:
            loop = asyncio.get_running_loop()
            state.timer = loop.call_later(wait, lambda: loop.create_task(self._flush(key, state)))
            return
        # Recorded before the forward is awaited, so that the offers arriving
        # meanwhile are coalesced with it; taken back if it fails.
        before = state.sent, state.at
        state.sent, state.at = value, now
        try:
            await forward(value)
        except BaseException:
            if (state.sent, state.at) == (value, now):
                state.sent, state.at = before
            raise

    def forget(self, key: Hashable) -> None:
        """The other side shows no typing now: the next state goes out even if repeated.

        Not a coroutine (the message path calls it). A change already
        waiting for its turn still goes out.
        """
        state = self._states.get(key)
        if state is not None:
            state.sent = None

    async def _flush(self, key: Hashable, state: _State) -> None:
        state.timer = None
        if state.wanted == state.sent or state.forward is None:
            return
        value = state.wanted
        state.sent, state.at = value, time.monotonic()
        try:
            await state.forward(value)
        except Exception:
            # Refused now (the conversation ended or moved): nothing to say.
            log.debug("deferred typing signal for %s dropped", key, exc_info=True)

    def _prune(self) -> None:
        horizon = time.monotonic() - 60
        self._states = {k: s for k, s in self._states.items() if s.timer is not None or s.at > horizon}
