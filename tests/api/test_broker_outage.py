"""The broker frozen (issue 11, finding 1): publishing is bounded, the entry is answered, the sweep scans it.

The broker is a redis-server of this test's own, frozen with SIGSTOP. Times are printed, not asserted.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.models import Entry
from assessments.scanning import unscanned_patient_ids
from clinic.celery import app as celery_app
from tests.api.factories import post_workout_answers


@pytest.fixture
def frozen_broker(own_redis: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    previous = celery_app.conf.get("broker_url")
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    celery_app.conf.broker_url = url
    _fresh_connections()
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)
        celery_app.conf.broker_url = previous
        _fresh_connections()


def _fresh_connections() -> None:
    """Drop the app's pooled broker connections, so the next publish connects to the broker now configured."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_an_entry_is_answered_while_the_broker_is_frozen_and_the_sweep_finds_it(
    world: Any,
    patient_api: APIClient,
    frozen_broker: None,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    durations = []
    for _ in range(5):
        body = {"kind": "post_workout", "occurred_at": timezone.now().isoformat(), "answers": post_workout_answers()}
        started = time.perf_counter()
        with django_capture_on_commit_callbacks(execute=True):
            response = patient_api.post("/api/v1/assessments/", body, format="json")
        durations.append(time.perf_counter() - started)
        assert response.status_code == 201, response.content

    ordered = sorted(durations)
    print(f"\nbroker frozen: POST median {ordered[2] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")
    assert Entry.objects.filter(patient=world.patient, scanned_at__isnull=True).count() == 5
    bounded = [r.getMessage() for r in caplog.records if r.name == "clinic.publish"]
    assert any("the request goes on" in m for m in bounded)  # the request did not wait for the frozen broker
    assert any("skipped" in m for m in bounded)  # and once the publishing slots were taken, none waited at all
    later = timezone.now() + dt.timedelta(minutes=5)
    assert world.patient.pk in unscanned_patient_ids(older_than=later, limit=100)  # the sweep picks them up
