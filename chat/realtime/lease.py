"""The maintenance lease: which process runs the sweeper's work right now.

Expiring dead processes, absent agents, idle customers and retention are
done by one process at a time, the lease holder: two sweeping together
would fight over the same rows. The lease lives in Redis (a key with this
process's id and an expiry), held by renewing it before each step; a
holder that dies or freezes loses it once it expires, and another process
takes over. Without Redis there is one process, which always holds it.

Every step is a transaction that locks what it changes and re-reads it, so
even a holder that freezes past its lease and wakes mid-step cannot do the
same work twice; the lease is what keeps them from queueing on each other.
"""

from __future__ import annotations

import logging

from django.conf import settings

from . import this_process

log = logging.getLogger(__name__)

# Take the lease if it is free, renew it if it is ours: one round trip.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLease:
    def __init__(self, url: str, key: str, holder: str) -> None:
        import redis.asyncio

        self._redis = redis.asyncio.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._key = key
        self._holder = holder
        self._hold = self._redis.register_script(_HOLD)
        self._release = self._redis.register_script(_RELEASE)
        self._unavailable = False

    async def hold(self, seconds: float) -> bool:
        """Whether this process holds the lease for the next `seconds` (taking or renewing it).

        With Redis unreachable nobody holds it: maintenance waits, which
        is safe, rather than run in every process at once.
        """
        try:
            held = bool(await self._hold(keys=[self._key], args=[self._holder, int(seconds * 1000)]))
        except Exception as error:
            if not self._unavailable:
                log.warning("maintenance lease unavailable (Redis: %s); maintenance waits", error)
            self._unavailable = True
            return False
        if self._unavailable:
            log.info("maintenance lease reachable again")
            self._unavailable = False
        return held

    async def release(self) -> None:
        try:
            await self._release(keys=[self._key], args=[self._holder])
        except Exception:
            log.warning("could not release the maintenance lease; it expires by itself", exc_info=True)


class OnlyProcess:
    """No Redis: this process is the only one, and always holds the lease."""

    async def hold(self, seconds: float) -> bool:
        return True

    async def release(self) -> None:
        return None


_lease: RedisLease | OnlyProcess | None = None


def lease() -> RedisLease | OnlyProcess:
    global _lease
    if _lease is None:
        if settings.REDIS_URL:
            _lease = RedisLease(settings.REDIS_URL, f"{settings.REDIS_PREFIX}:maintenance", this_process.ID)
        else:
            _lease = OnlyProcess()
    return _lease
