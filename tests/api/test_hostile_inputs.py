"""Hostile query strings and bodies get a 400 with the field named, never a 500."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def test_hostile_filters_and_kinds(world: Any) -> None:
    staff = APIClient()
    staff.force_authenticate(world.therapist.user)
    for value in ("99999999999999999999999999", "1.5", "abc", "-3"):
        r = staff.get(f"/api/v1/alerts/?patient={value}")
        assert r.status_code == 400, (value, r.status_code)
        assert r.json()["errors"][0]["field"] == "patient"
    patient = APIClient()
    patient.force_authenticate(world.patient.user)
    for kind in ([], {}, 3, None):
        r = patient.post("/api/v1/assessments/", {"kind": kind, "answers": {}}, format="json")
        assert r.status_code == 400, (kind, r.status_code)
