"""Publishing a Celery task from a request, bounded in time: a frozen broker never holds a patient's answer.

The work is never lost by giving up: every task published from a request has a sweep (unscanned entries,
unsent emails) that finds what was not published. So a publish gets ``PUBLISH_DEADLINE`` seconds; past it
the request goes on, and the publish finishes (or fails, logged) on a small thread pool. When that pool is
full, because the broker has been frozen for a while, the publish is skipped at once and left to the sweep.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Final

from clinic.celery import app

logger = logging.getLogger(__name__)

PUBLISH_DEADLINE: Final = 0.25  # seconds a request waits for the broker
_WORKERS: Final = 4
_pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="publish")
_slots = threading.BoundedSemaphore(_WORKERS)


def publish(task: str, *args: Any, countdown: int | None = None, deadline: float = PUBLISH_DEADLINE) -> bool:
    """Publish the task named ``task`` with ``args``; True when the broker took it within the deadline."""
    if not _slots.acquire(blocking=False):
        logger.warning("publishing %s skipped: the broker is not answering; the sweep will pick it up", task)
        return False
    # In the request's context: its request id goes into the task's headers (clinic/logs.py).
    future = _pool.submit(contextvars.copy_context().run, _send_and_release, task, args, countdown)
    try:
        return bool(future.result(timeout=deadline))
    except FutureTimeout:
        logger.warning("publishing %s is slow (> %.2f s); the request goes on", task, deadline)
        return False


def publish_now(task: str, *args: Any, countdown: int | None = None) -> bool:
    """Publish from a worker, where nobody waits on the answer: no deadline. False when the broker refused."""
    try:
        app.send_task(task, args=args, countdown=countdown)
        return True
    except Exception:  # a broker that is down: the sweeps send what was not published
        logger.warning("could not publish %s; the sweep will pick it up", task, exc_info=True)
        return False


def _send_and_release(task: str, args: tuple[Any, ...], countdown: int | None) -> bool:
    try:
        return publish_now(task, *args, countdown=countdown)
    finally:
        _slots.release()


def wait_idle(timeout: float) -> bool:
    """Wait until no publish of this process is in progress; False when one still hangs after ``timeout``.

    For a graceful shutdown, and for tests that change the broker between publishes.
    """
    taken = 0
    deadline = time.monotonic() + timeout
    try:
        while taken < _WORKERS and _slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            taken += 1
        return taken == _WORKERS
    finally:
        for _ in range(taken):
            _slots.release()
