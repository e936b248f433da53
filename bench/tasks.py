"""The Celery no-op of the benchmarks' baseline, loaded only by their workers (``--include bench.tasks``).

``bench.noop`` does nothing but note when it ran: it appends "<published> <ran>" (epoch seconds) to a Redis
list of the broker's database, which the benchmark reads. What it measures is Celery's own round trip, publish
to execution, on the same broker, queue and worker setup as the project's tasks.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import redis
from celery import shared_task


@functools.cache
def _redis() -> Any:
    return redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])


@shared_task(name="bench.noop", ignore_result=True)
def noop(key: str, published: float) -> None:
    _redis().rpush(key, f"{published} {time.time()}")
