"""Publishing a Celery task from a request without waiting for the broker: a frozen broker never holds a
patient's answer, and a healthy one costs the request nothing.

The work is never lost by giving up: every task published from a request has a sweep (unscanned entries,
unsent emails) that finds what was not published. So a request hands the publish to a small thread pool and
goes on; the publish finishes (or fails, logged) there. At most ``PENDING`` publishes wait or run at once:
a burst of requests queues its publishes behind the threads, but when the broker has been frozen for a while
and the queue is full, a publish is skipped at once and left to the sweep. Nobody needs the broker's answer:
the request has stored the work before it publishes (on commit), and the sweeps are the guarantee.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from clinic.celery import app

logger = logging.getLogger(__name__)

_WORKERS: Final = 4
PENDING: Final = 64  # publishes queued or in progress, per process
_pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="publish")
_slots = threading.BoundedSemaphore(PENDING)


def publish(task: str, *args: Any, countdown: int | None = None) -> bool:
    """Hand the task named ``task`` with ``args`` to the publishing threads; False when it was skipped."""
    slots = _slots
    if not slots.acquire(blocking=False):
        logger.warning("publishing %s skipped: the broker is not answering; the sweep will pick it up", task)
        return False
    # In the request's context: its request id goes into the task's headers (clinic/logs.py).
    _pool.submit(contextvars.copy_context().run, _send_and_release, slots, task, args, countdown)
    return True


def publish_now(task: str, *args: Any, countdown: int | None = None) -> bool:
    """Publish from a worker, where nobody waits on the answer: no deadline. False when the broker refused."""
    try:
        app.send_task(task, args=args, countdown=countdown)
        return True
    except Exception:  # a broker that is down: the sweeps send what was not published
        logger.warning("could not publish %s; the sweep will pick it up", task, exc_info=True)
        return False


def _send_and_release(
    slots: threading.BoundedSemaphore, task: str, args: tuple[Any, ...], countdown: int | None
) -> bool:
    try:
        return publish_now(task, *args, countdown=countdown)
    finally:
        slots.release()


def wait_idle(timeout: float) -> bool:
    """Wait until no publish of this process is in progress; False when one still hangs after ``timeout``.

    For a graceful shutdown, and for tests that change the broker between publishes.
    """
    taken = 0
    deadline = time.monotonic() + timeout
    try:
        while taken < PENDING and _slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            taken += 1
        return taken == PENDING
    finally:
        for _ in range(taken):
            _slots.release()
