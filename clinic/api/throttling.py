"""The API's default throttles (DRF's anonymous and per-user rates), counted in one Redis round trip.

DRF's ``SimpleRateThrottle`` reads a client's history from the cache and writes it back: two round trips per
request, and two requests at once can both read the same history. On the project's Redis cache
(``clinic.cache.ResilientRedisCache``) the history is judged and recorded by one Lua script instead, with
the same rule (at most ``num_requests`` within ``duration``, refused requests not counted) and the same
``Retry-After``. On any other cache, or while Redis is skipped after a failure, DRF's own way runs (on the
per-process memory cache of ``ResilientRedisCache`` in the second case).

On the Redis path DRF's ``throttle_success`` and ``throttle_failure`` hooks are not called (the script does
their work): a subclass that needs them must override ``allow_request`` itself.
"""

from __future__ import annotations

from typing import Any

from rest_framework import throttling


class AtomicRateMixin:
    """``allow_request`` in one step on a cache that offers ``sliding_window``; DRF's way otherwise."""

    _window: tuple[int, float] | None = None  # (requests in the window, the oldest one's time) after a refusal

    def allow_request(self, request: Any, view: Any) -> bool:
        throttle: Any = self
        sliding_window = getattr(throttle.cache, "sliding_window", None)
        if throttle.rate is None or sliding_window is None:
            return super().allow_request(request, view)  # type: ignore[misc,no-any-return]
        throttle.key = throttle.get_cache_key(request, view)
        if throttle.key is None:
            return True
        throttle.now = throttle.timer()
        judged = sliding_window(throttle.key, now=throttle.now, duration=throttle.duration, limit=throttle.num_requests)
        if judged is None:  # Redis is being skipped: count in the fallback, as DRF does
            return super().allow_request(request, view)  # type: ignore[misc,no-any-return]
        allowed, count, oldest = judged
        throttle.history = []
        self._window = None if allowed else (count, oldest)
        return bool(allowed)

    def wait(self) -> float | None:
        if self._window is None:
            return super().wait()  # type: ignore[misc,no-any-return]
        throttle: Any = self
        count, oldest = self._window
        remaining = throttle.duration - (throttle.now - oldest)
        available = throttle.num_requests - count + 1
        if available <= 0:
            return None
        return float(remaining / available)


class AnonRateThrottle(AtomicRateMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(AtomicRateMixin, throttling.UserRateThrottle):
    pass
