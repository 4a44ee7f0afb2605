"""Counters per client address: sockets open now, and events per window.

`MemoryCounters` keeps them in this process; `RedisCounters` in Redis, so
that every process counts together. Windows are sliding, estimated from two
fixed windows (the previous one weighted by how much of it still overlaps),
so a burst at a window's edge gets no second allowance.

An address whose socket was closed for flooding is refused new sockets for
a while (`ban`).

Both have the same coroutines (`hit`, `open_socket`, `close_socket`, `ban`) and a
synchronous `hit_sync` for the message writer's database thread. Redis
being unreachable lets everything through (logged): the limits protect the
service, they must not be what takes it down.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.conf import settings

log = logging.getLogger(__name__)


def _windows(window: float, now: float) -> tuple[int, float]:
    """The current window's index, and the weight of the previous one."""
    index = int(now // window)
    return index, 1.0 - (now - index * window) / window


class MemoryCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # hit_sync runs on the writer's thread
        self._windows: dict[tuple[str, str], list] = {}  # -> [index, current, previous]
        self._sockets: dict[str, int] = {}
        self._banned: dict[str, float] = {}  # address -> until (monotonic)

    def hit_sync(self, name: str, key: str, limit: int, window: float) -> bool:
        index, weight = _windows(window, time.time())
        with self._lock:
            entry = self._windows.get((name, key))
            if entry is None or entry[0] < index - 1:
                entry = self._windows[(name, key)] = [index, 0, 0]
            elif entry[0] == index - 1:
                entry[:] = [index, 0, entry[1]]
            if entry[1] + entry[2] * weight >= limit:
                return False
            entry[1] += 1
            if len(self._windows) > 50_000:
                self._windows = {k: e for k, e in self._windows.items() if e[0] >= index - 1}
            return True

    async def hit(self, name: str, key: str, limit: int, window: float) -> bool:
        return self.hit_sync(name, key, limit, window)

    async def ban(self, key: str, seconds: float) -> None:
        self._banned[key] = time.monotonic() + seconds
        if len(self._banned) > 10_000:
            now = time.monotonic()
            self._banned = {k: until for k, until in self._banned.items() if until > now}

    async def open_socket(self, key: str, limit: int) -> bool:
        until = self._banned.get(key)
        if until is not None:
            if until > time.monotonic():
                return False
            del self._banned[key]
        count = self._sockets.get(key, 0)
        if count >= limit:
            return False
        self._sockets[key] = count + 1
        return True

    async def close_socket(self, key: str) -> None:
        count = self._sockets.get(key, 0) - 1
        if count > 0:
            self._sockets[key] = count
        else:
            self._sockets.pop(key, None)


_HIT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if current + previous * tonumber(ARGV[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# One hash per address, a field per process: a process's sockets are its own
# field, so the sum is every process's count.
_OPEN = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local total = 0
for _, n in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(n) end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

_CLOSE = """
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""

# An address's socket counts outlive a process that died holding sockets
# until nothing opens or closes a socket from that address for this long.
SOCKETS_KEY_TTL = 3600

# Commands in flight to Redis at once per process; past them a hit waits for
# a connection, up to the wait, then counts as Redis unavailable.
REDIS_POOL_SIZE = 100
REDIS_POOL_WAIT_SECONDS = 5.0


class RedisCounters:
    def __init__(self, url: str, prefix: str) -> None:
        import redis
        import redis.asyncio

        self._prefix = f"{prefix}:limits"
        self._process = uuid.uuid4().hex
        # A pool that waits for a free connection: redis-py's default one
        # refuses the 101st concurrent command (MaxConnectionsError), and a
        # storm of joins then found the counters "unavailable" and let every
        # visitor through, the limits off just when they are needed.
        # Connecting waits a second at most: a Redis that is gone lets the
        # events through at once rather than after redis-py's default 5 s.
        # Answers keep that default on the loop (a busy loop must not make a
        # storm's answers look late), and get a second on the message
        # writer's thread, which `hit_sync` holds up.
        self._async = redis.asyncio.Redis.from_pool(
            redis.asyncio.BlockingConnectionPool.from_url(
                url,
                max_connections=REDIS_POOL_SIZE,
                timeout=REDIS_POOL_WAIT_SECONDS,
                socket_connect_timeout=1,
            )
        )
        self._sync = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        self._hit = self._async.register_script(_HIT)
        self._hit_sync = self._sync.register_script(_HIT)
        self._open = self._async.register_script(_OPEN)
        self._close = self._async.register_script(_CLOSE)

    def _hit_args(self, name: str, key: str, limit: int, window: float) -> tuple[list, list]:
        index, weight = _windows(window, time.time())
        base = f"{self._prefix}:{name}:{key}"
        return [f"{base}:{index}", f"{base}:{index - 1}"], [weight, limit, int(window * 2) + 1]

    async def hit(self, name: str, key: str, limit: int, window: float) -> bool:
        keys, args = self._hit_args(name, key, limit, window)
        try:
            return bool(await self._hit(keys=keys, args=args))
        except Exception:
            log.warning(
                "rate limit counter unavailable; letting %s from %s through", name, key, exc_info=True
            )
            return True

    def hit_sync(self, name: str, key: str, limit: int, window: float) -> bool:
        keys, args = self._hit_args(name, key, limit, window)
        try:
            return bool(self._hit_sync(keys=keys, args=args))
        except Exception:
            log.warning(
                "rate limit counter unavailable; letting %s from %s through", name, key, exc_info=True
            )
            return True

    async def open_socket(self, key: str, limit: int) -> bool:
        try:
            return bool(
                await self._open(
                    keys=[f"{self._prefix}:sockets:{key}", f"{self._prefix}:banned:{key}"],
                    args=[self._process, limit, SOCKETS_KEY_TTL],
                )
            )
        except Exception:
            log.warning("socket counter unavailable; letting a socket from %s in", key, exc_info=True)
            return True

    async def ban(self, key: str, seconds: float) -> None:
        try:
            await self._async.set(f"{self._prefix}:banned:{key}", 1, px=max(1, int(seconds * 1000)))
        except Exception:
            log.warning("socket counter unavailable; %s is not held back", key, exc_info=True)

    async def close_socket(self, key: str) -> None:
        try:
            await self._close(keys=[f"{self._prefix}:sockets:{key}"], args=[self._process])
        except Exception:
            log.warning("socket counter unavailable; a close from %s is not counted", key, exc_info=True)


_counters: MemoryCounters | RedisCounters | None = None


def counters() -> MemoryCounters | RedisCounters:
    global _counters
    if _counters is None:
        if settings.REDIS_URL:
            _counters = RedisCounters(settings.REDIS_URL, settings.REDIS_PREFIX)
        else:
            _counters = MemoryCounters()
    return _counters
