"""Audit of reads (issue 9, item 5): every view of a patient's page, entries, alerts and FHIR export, in the admin
and the API, is recorded (who, what, when, from which address); the clinic's administrators read the records,
which nobody can change.
"""

from __future__ import annotations

from typing import Any

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import PatientRead
from tests.api.helpers import client_for
from tests.assessments.factories import AlertFactory
from tests.patients.helpers import listed

READS = "/admin/patients/patientread/"


def reads_of(patient: Any) -> list[tuple[str, str, int | None, str]]:
    """(actor email, what, id, address) of each recorded read of the patient, oldest first."""
    rows = PatientRead.objects.filter(object_id=patient.pk).select_related("actor").order_by("timestamp", "pk")
    return [(r.actor.email, r.additional_data["read"], r.additional_data.get("id"), r.remote_addr) for r in rows]


@pytest.fixture
def alert(world: Any) -> Any:
    return AlertFactory(patient=world.patient, rule_id="R-03")


def test_admin_pages_record_who_read_what_and_from_where(client: Any, world: Any, alert: Any) -> None:
    client.force_login(world.therapist.user)
    me = world.therapist.user.email

    client.get(f"/admin/patients/patient/{world.patient.pk}/change/")
    client.get(f"/admin/assessments/alert/{alert.pk}/change/")
    client.get("/admin/assessments/alert/")
    client.get("/admin/")

    assert reads_of(world.patient) == [
        (me, "patient page", None, "127.0.0.1"),
        (me, "alert", alert.pk, "127.0.0.1"),
        (me, "alert list", None, "127.0.0.1"),
        (me, "attention view", None, "127.0.0.1"),
    ]
    record = PatientRead.objects.filter(object_id=world.patient.pk).order_by("timestamp", "pk").first()
    assert record is not None
    assert record.object_repr == world.patient.caseload_ref  # the reference, not the name
    assert record.additional_data["path"] == f"/admin/patients/patient/{world.patient.pk}/change/"


def test_api_reads_are_recorded_for_staff_and_for_the_patient_themselves(world: Any, alert: Any) -> None:
    staff = client_for(world.therapist.user)
    assert staff.get(f"/api/v1/patients/{world.patient.pk}/fhir/").status_code == 200
    assert staff.get("/api/v1/alerts/").status_code == 200
    assert staff.get(f"/api/v1/alerts/{alert.pk}/").status_code == 200
    assert client_for(world.patient.user).get("/api/v1/assessments/").status_code == 200

    me, patient = world.therapist.user.email, world.patient.user.email
    assert [(who, what, object_id) for who, what, object_id, _ in reads_of(world.patient)] == [
        (me, "FHIR export", None),
        (me, "alert list", None),
        (me, "alert", alert.pk),
        (patient, "entries (portal)", None),
    ]


def test_refused_reads_record_nothing(client: Any, world: Any, alert: Any) -> None:
    client.force_login(world.outsider.user)  # another clinic's therapist: 404s
    assert client.get(f"/admin/patients/patient/{world.patient.pk}/change/").status_code == 404
    assert client_for(world.outsider.user).get(f"/api/v1/alerts/{alert.pk}/").status_code == 404
    assert client_for(world.outsider.user).get(f"/api/v1/patients/{world.patient.pk}/fhir/").status_code == 404

    assert reads_of(world.patient) == []


def test_the_clinics_administrators_read_the_records_of_their_clinic_only(client: Any, world: Any) -> None:
    for user, patient in ((world.therapist.user, world.patient), (world.outsider.user, world.foreign_patient)):
        client.force_login(user)
        client.get(f"/admin/patients/patient/{patient.pk}/change/")

    client.force_login(world.clinic_admin.user)
    response = client.get(READS)

    assert response.status_code == 200
    assert [r.object_id for r in listed(response)] == [world.patient.pk]
    foreign = PatientRead.objects.get(object_id=world.foreign_patient.pk)
    assert client.get(f"{READS}{foreign.pk}/change/").status_code == 404


def test_a_therapist_cannot_open_the_records(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)
    client.get(f"/admin/patients/patient/{world.patient.pk}/change/")

    assert client.get(READS).status_code == 403


def test_nobody_changes_or_deletes_a_record(client: Any, world: Any) -> None:
    client.force_login(world.clinic_admin.user)
    client.get(f"/admin/patients/patient/{world.patient.pk}/change/")
    record = PatientRead.objects.get(object_id=world.patient.pk)

    page = client.get(f"{READS}{record.pk}/change/")
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    client.post(f"{READS}{record.pk}/change/", {"remote_addr": "10.0.0.1"})
    assert client.post(f"{READS}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{READS}add/").status_code == 403
    record.refresh_from_db()
    assert record.remote_addr == "127.0.0.1"
    assert LogEntry.objects.filter(pk=record.pk).exists()


def test_the_records_page_costs_the_same_queries_for_5_and_40_records(client: Any, world: Any) -> None:
    therapist = client_for(world.therapist.user)
    client.force_login(world.clinic_admin.user)
    client.get(READS)  # the first request of a session warms its caches
    counts = []
    for n in (5, 35):
        for _ in range(n):
            therapist.get(f"/api/v1/patients/{world.patient.pk}/fhir/")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(READS)
        assert response.status_code == 200
        counts.append(len(queries))
    assert len(listed(response)) == 40
    assert counts[0] == counts[1]


def test_the_patients_change_history_shows_changes_not_reads(client: Any, world: Any) -> None:
    client.force_login(world.therapist.user)
    client.get(f"/admin/patients/patient/{world.patient.pk}/change/")

    history = client.get(f"/admin/patients/patient/{world.patient.pk}/auditlog/")

    assert history.status_code == 200
    assert all(entry.action != LogEntry.Action.ACCESS for entry in history.context["log_entries"])
    assert reads_of(world.patient)  # recorded, and listed under Patient reads instead
