"""``GET /health/``: database, broker and cache of the configured services, the backlog ages; 503 on failure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.models import Entry, OutgoingEmail
from clinic.celery import app as celery_app
from tests.api.factories import make_entry

# Nothing listens on port 1: a refused connection, at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
START = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)


def health(client: APIClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/health/")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, dict(response.json())


def test_healthy_services_report_ok(api: APIClient, db: None) -> None:
    status, body = health(api)

    assert status == 200
    assert body["status"] == "ok"
    for name in ("database", "broker", "cache", "backlog"):
        assert body[name]["ok"] is True, (name, body[name])
        assert body[name]["ms"] >= 0
    assert body["backlog"]["oldest_unscanned_entry_age_s"] is None
    assert body["backlog"]["oldest_unsent_email_age_s"] is None


def test_backlog_reports_the_oldest_unscanned_entry_and_unsent_email(world: Any, api: APIClient) -> None:
    with time_machine.travel(START, tick=False):
        make_entry(patient=world.patient, occurred_at=START - dt.timedelta(days=3))
        OutgoingEmail.objects.create(
            key="alert:1:immediate", clinic=world.clinic, to="t@example.test", subject="s", body_text="b"
        )
    with time_machine.travel(START + dt.timedelta(seconds=30), tick=False):
        make_entry(patient=world.other_patient)
        # Scanned entries and sent emails are not a backlog, however old.
        Entry.objects.filter(pk=make_entry(patient=world.patient).pk).update(
            scanned_at=timezone.now(), submitted_at=START - dt.timedelta(days=1)
        )
        OutgoingEmail.objects.create(
            key="alert:2:immediate",
            clinic=world.clinic,
            to="t@example.test",
            subject="s",
            body_text="b",
            status=OutgoingEmail.Status.SENT,
        )
    with time_machine.travel(START + dt.timedelta(seconds=90), tick=False):
        status, body = health(api)

    assert status == 200
    # Ages run from submission (what the worker is behind on), not from occurred_at.
    assert body["backlog"]["oldest_unscanned_entry_age_s"] == 90.0
    assert body["backlog"]["oldest_unsent_email_age_s"] == 90.0
    assert body["backlog"]["oldest_unscanned_red_flag_report_age_s"] is None


def test_backlog_reports_red_flag_reports_left_unscanned_and_given_up(world: Any, api: APIClient) -> None:
    from assessments.models import RedFlagReport
    from assessments.scanning import MAX_SCAN_FAILURES

    with time_machine.travel(START, tick=False):
        for failures in (0, MAX_SCAN_FAILURES):
            RedFlagReport.objects.create(
                patient=world.patient,
                kind="post_workout",
                occurred_at=START,
                safety_screen=["saddle_numbness"],
                scan_failures=failures,
            )
    with time_machine.travel(START + dt.timedelta(seconds=45), tick=False):
        status, body = health(api)

    assert status == 200
    assert body["backlog"]["oldest_unscanned_red_flag_report_age_s"] == 45.0
    assert body["backlog"]["red_flag_reports_failing_scan"] == 1


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The Celery app read its broker URL at start: point the app itself at a broker that refuses connections.

    Celery prefers the CELERY_BROKER_URL environment variable over its configuration, so that is replaced too.
    """
    previous = celery_app.conf.get("broker_url")  # the configured value, not the environment's
    monkeypatch.setenv("CELERY_BROKER_URL", UNREACHABLE_REDIS)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    celery_app.conf.broker_url = UNREACHABLE_REDIS
    try:
        yield
    finally:
        celery_app.conf.broker_url = previous


def test_unreachable_broker_is_503(api: APIClient, db: None, broker_down: None) -> None:
    status, body = health(api)

    assert status == 503
    assert body["status"] == "failing"
    assert body["broker"]["ok"] is False
    assert body["broker"]["error"]
    assert body["broker"]["ms"] < 5000
    assert (body["database"]["ok"], body["cache"]["ok"], body["backlog"]["ok"]) == (True, True, True)


def test_unreachable_cache_is_503(api: APIClient, db: None, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/1",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    status, body = health(api)

    assert status == 503
    assert body["status"] == "failing"
    assert body["cache"]["ok"] is False
    assert body["cache"]["error"]
    assert body["broker"]["ok"] is True


def test_health_answers_get_and_head_only(api: APIClient, db: None) -> None:
    assert api.post("/health/").status_code == 405
    assert api.head("/health/").status_code == 200  # load balancers probe with HEAD
