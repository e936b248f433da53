"""Admin pages show times in the staff member's clinic time zone; the API keeps UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from rest_framework.test import APIClient

from tests.assessments.factories import AlertFactory

RAISED = dt.datetime(2026, 6, 17, 12, 0, tzinfo=dt.UTC)  # 13:00 in London (BST), 08:00 in New York (EDT)


def test_the_alert_queue_shows_local_times_of_each_clinic(client: Any, world: Any) -> None:
    with time_machine.travel(RAISED, tick=False):
        AlertFactory(patient=world.patient)
        AlertFactory(patient=world.foreign_patient)

    client.force_login(world.therapist.user)
    assert "June 17, 2026, 1 p.m." in client.get("/admin/assessments/alert/").content.decode()

    client.force_login(world.outsider.user)
    assert "June 17, 2026, 8 a.m." in client.get("/admin/assessments/alert/").content.decode()


def test_the_api_keeps_utc(world: Any) -> None:
    with time_machine.travel(RAISED, tick=False):
        AlertFactory(patient=world.patient)
    api = APIClient()
    api.force_authenticate(world.therapist.user)
    [alert] = api.get("/api/v1/alerts/").json()["results"]
    assert alert["raised_at"] == "2026-06-17T12:00:00Z"
