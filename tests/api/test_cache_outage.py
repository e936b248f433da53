"""The cache down or frozen (issue 11, finding 1): entries are still stored and answered, with the advice.

A Redis server of this test's own (never the shared one) holds the cache; the test stops it (SIGKILL) or
freezes it (SIGSTOP) and submits entries through the API. The times are printed, not asserted.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.models import Entry
from tests.api.factories import post_workout_answers

ENTRY = "/api/v1/assessments/"


@pytest.fixture
def resilient_cache(settings: Any, own_redis: Any) -> Any:
    settings.CACHES = {
        "default": {
            "BACKEND": "clinic.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{own_redis.port}/0",
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "RETRY_AFTER": 1},
        }
    }
    return own_redis


def submit(api: APIClient, **answers: Any) -> tuple[Any, float]:
    answers_ = post_workout_answers(**answers)
    body = {"kind": "post_workout", "occurred_at": timezone.now().isoformat(), "answers": answers_}
    started = time.perf_counter()
    response = api.post(ENTRY, body, format="json")
    return response, time.perf_counter() - started


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_entries_are_stored_and_answered_with_the_advice_while_the_cache_is_down(
    world: Any, patient_api: APIClient, resilient_cache: Any, fault: str
) -> None:
    assert submit(patient_api)[0].status_code == 201  # the cache up

    os.kill(resilient_cache.pid, signal.SIGKILL if fault == "stopped" else signal.SIGSTOP)
    first, first_s = submit(patient_api, safety_screen=["saddle_numbness"])
    second, second_s = submit(patient_api)
    health = APIClient().get("/health/")

    print(f"\ncache {fault}: first POST {first_s * 1000:.0f} ms, next POST {second_s * 1000:.0f} ms")
    assert first.status_code == 201, first.content
    assert first.json()["advice"][0]["level"] == "urgent"  # the red flag's advice, at once
    assert second.status_code == 201
    assert Entry.objects.filter(patient=world.patient).count() == 3
    assert health.status_code == 503
    assert health.json()["cache"]["ok"] is False


def test_the_cache_is_used_again_once_it_is_back(world: Any, patient_api: APIClient, resilient_cache: Any) -> None:
    os.kill(resilient_cache.pid, signal.SIGSTOP)
    assert submit(patient_api)[0].status_code == 201
    os.kill(resilient_cache.pid, signal.SIGCONT)
    time.sleep(1.1)  # RETRY_AFTER

    assert submit(patient_api)[0].status_code == 201
    assert APIClient().get("/health/").json()["cache"]["ok"] is True


def test_the_throttle_on_redis_is_one_script_and_ignores_what_drf_kept_at_the_key(
    world: Any, patient_api: APIClient, resilient_cache: Any
) -> None:
    """The user throttle (clinic/api/throttling.py) keeps its window at a key of its own: a history DRF's way
    left at the throttle's key (the fallback, an earlier release) neither breaks it nor trips the breaker."""
    from unittest import mock

    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    cache.set(f"throttle_user_{world.patient.user.pk}", [time.time()], 600)  # a pickled list, DRF's format
    with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100/min", "user": "2/min"}):
        assert patient_api.get("/api/v1/me/").status_code == 200
        assert patient_api.get("/api/v1/me/").status_code == 200
        assert patient_api.get("/api/v1/me/").status_code == 429  # counted in Redis: two in the minute
    assert not cache.degraded
    assert APIClient().get("/health/").status_code == 200
