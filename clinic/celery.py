"""The Celery application. Settings live in clinic/settings.py under the CELERY_ prefix.

Workers and beat log through Django's LOGGING (clinic/logs.py), not Celery's own handlers: the same
structured lines and redaction as the web process, at LOG_LEVEL (``--loglevel`` is not used). A task runs with
the ids its publisher had bound (django-structlog's Celery receiver): the request id of the request that
published it, and ``parent_task_id`` when a task published it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kombu.transport.virtual
import structlog
from celery import Celery, bootsteps
from celery.signals import setup_logging, task_postrun, worker_init
from redis.exceptions import RedisError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
logger = logging.getLogger(__name__)

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _log_through_django(**kwargs: Any) -> None:
    """Connected, this receiver stops Celery from installing handlers of its own (plain text, unredacted)."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def _bind_task_context(**kwargs: Any) -> None:
    """In a worker: bind the publisher's ids (request id ...) to every line a task logs, and log its start and end."""
    from clinic.logs import celery_receiver

    celery_receiver().connect_worker_signals()


def warm_up(**kwargs: Any) -> None:
    """Load what the first task would otherwise load while someone waits: the URLconf (every email's admin link).

    Connected to worker_init, which runs in the main process before the pool forks: each child starts with it.
    Loading the URLconf imports the admin of every app, about 0.4 s, once per process.
    """
    from django.urls import reverse

    reverse("admin:index")


def _forget_task_context(**kwargs: Any) -> None:
    """The ids of a finished task must not label what the worker logs next (the next message's "received")."""
    structlog.contextvars.clear_contextvars()


setup_logging.connect(_log_through_django)
worker_init.connect(_bind_task_context)
worker_init.connect(warm_up)
task_postrun.connect(_forget_task_context)


# --- Losing Redis: a work-around reproduced by tests/integration/test_faults.py (redis-frozen) -----------------


class FreeSlotOnFailedAck(bootsteps.StartStopStep):  # type: ignore[misc]
    """A task whose acknowledgement Redis did not answer still frees its place in the worker's prefetch.

    kombu forgets a delivered message only once Redis confirmed its ack. An ack that times out (Redis frozen
    or restarting just as a task ends) keeps the place taken for good, and a worker whose places are all
    taken never fetches again while looking healthy: one such ack for a worker with --concurrency=1, two for
    --concurrency=2. The message itself stays unacknowledged in Redis and is delivered again after the
    visibility timeout; the tasks are safe to run twice. Celery itself patches this object the same way
    (worker_disable_prefetch). Test: redis-frozen.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c: Any) -> None:
        if c.connection.transport.driver_type != "redis":
            return
        qos = c.task_consumer.channel.qos
        ack = qos.ack

        def ack_or_forget(delivery_tag: str) -> None:
            try:
                ack(delivery_tag)
            except (RedisError, OSError):
                kombu.transport.virtual.QoS.ack(qos, delivery_tag)  # type: ignore[no-untyped-call]  # forget it here
                raise

        qos.ack = ack_or_forget


app.steps["consumer"].add(FreeSlotOnFailedAck)


def _prepare_filesystem_broker() -> None:
    """The embedded broker keeps messages in folders under var/, which must exist before the first publish."""
    options = app.conf.broker_transport_options or {}
    if str(app.conf.broker_url).startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            if options.get(key):
                os.makedirs(options[key], exist_ok=True)


_prepare_filesystem_broker()
