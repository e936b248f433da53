"""The cache (throttle counters) on Redis, degrading to a per-process memory cache while Redis is down or frozen.

The cache holds only throttle counters and the health ping: nothing a patient's request must wait for. When
Redis fails (refused, timed out, frozen), the request goes on with a local memory cache, so an entry is still
stored and answered 201 with its advice. For ``RETRY_AFTER`` seconds (10) the process does not try Redis again
(a circuit breaker), so a frozen Redis costs one short socket timeout per process per period, not one per
request. Throttles then count per process (a limit that still holds, only per process: with 2 workers a client
gets at most twice its rate); login lockouts live in the database (django-axes) and do not depend on the cache.
``/health/`` reports the cache as failing while it is degraded.

"Per process" holds for the production web server (gunicorn's sync workers, one thread each). Django keeps
a cache object per thread, so under a threaded server (``runserver``, gunicorn's gthread) the breaker and the
fallback counters are per thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError, ResponseError

logger = logging.getLogger(__name__)

_WRAPPED = (
    "add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "decr", "set_many", "delete_many",
    "clear",
)  # fmt: skip


# A throttle's history as DRF keeps it (SimpleRateThrottle: request times, newest first, those older than the
# duration dropped), as a Redis list, judged and recorded in one step: one round trip instead of a GET and a SET,
# and two processes can no longer both read the same history and each let one more request through.
# KEYS[1] the history; ARGV: now (seconds), duration (seconds), limit. Returns {allowed, count, oldest time}.
SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
while true do
  local last = redis.call('LINDEX', KEYS[1], -1)
  if not last or tonumber(last) > now - duration then break end
  redis.call('RPOP', KEYS[1])
end
local count = redis.call('LLEN', KEYS[1])
if count >= limit then
  return {0, count, redis.call('LINDEX', KEYS[1], -1) or ARGV[1]}
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], duration)
return {1, count + 1, redis.call('LINDEX', KEYS[1], -1)}
"""


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one ``redis.Redis`` per connection pool instead of building one per
    call: building it (redis-py's argument checks) and closing it again cost as much as the round trip to Redis,
    twice per throttled request. The pools are Django's (one per server, refreshed in a forked process by
    redis-py); a ``redis.Redis`` takes a connection from its pool for each command, so sharing it is safe."""

    def __init__(self, servers: Any, **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 10))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusingRedisCacheClient
        self._fallback = LocMemCache(f"fallback-{id(self)}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._down_until = 0.0
        self._scripts: dict[int, Any] = {}
        for name in _WRAPPED:
            setattr(self, name, self._guarded(name))

    @property
    def degraded(self) -> bool:
        """True while Redis is skipped after a failure."""
        return time.monotonic() < self._down_until

    def _guarded(self, name: str) -> Callable[..., Any]:
        primary = getattr(super(), name)
        fallback = getattr(self._fallback, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.degraded:
                return fallback(*args, **kwargs)
            try:
                return primary(*args, **kwargs)
            except (RedisError, OSError) as exc:
                self._down_until = time.monotonic() + self.retry_after
                logger.warning(
                    "cache unavailable (%s); using a per-process memory cache for %.0f s",
                    type(exc).__name__,
                    self.retry_after,
                )
                return fallback(*args, **kwargs)

        call.__name__ = name
        return call

    def sliding_window(self, key: str, *, now: float, duration: int, limit: int) -> tuple[bool, int, float] | None:
        """DRF's throttle history, read and written in one atomic round trip (``SLIDING_WINDOW``).

        Returns (allowed, requests in the window counting this one when allowed, the oldest request's time), or
        None while Redis is skipped or failing: the caller then counts in the per-process memory cache.
        """
        if self.degraded:
            return None
        try:
            client = self._cache.get_client(key, write=True)
            script = self._scripts.get(id(client))
            if script is None:
                script = self._scripts[id(client)] = client.register_script(SLIDING_WINDOW)
            # A key of its own: DRF's way (the fallback, an earlier release) keeps a pickled list at ``key``.
            history = self.make_and_validate_key(key) + ":window"
            allowed, count, oldest = script(keys=[history], args=[repr(now), duration, limit])
        except ResponseError as exc:  # Redis answered (e.g. a wrong type at the key): not an outage
            logger.warning("throttle script refused (%s); counting this request in memory", type(exc).__name__)
            return None
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + self.retry_after
            logger.warning(
                "cache unavailable (%s); throttling per process for %.0f s", type(exc).__name__, self.retry_after
            )
            return None
        return bool(allowed), int(count), float(oldest)
