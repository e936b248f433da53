"""Submit -> scan -> alert -> email, with a real Celery worker, a real broker and a real SMTP server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from assessments.models import Alert, Entry, OutgoingEmail
from assessments.tasks import scan_patient, sweep_unscanned
from tests.integration.conftest import Broker, SmtpServer, StartWorker, succeeded, wait_until
from tests.integration.helpers import (
    RED_FLAG_SESSION,
    RED_FLAG_SUBJECT,
    assert_no_patient_identity,
    enrolled_patient,
    write_entry,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SCAN = "assessments.scan_patient"
SEND = "assessments.send_email"


def _patient_client(user: object) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


def test_urgent_red_flag_submitted_through_the_api_is_emailed_once(start_worker: StartWorker, smtp: SmtpServer) -> None:
    worker = start_worker()
    patient, _ = enrolled_patient()
    client = _patient_client(patient.user)

    response = client.post("/api/v1/assessments/", {"kind": "post_workout", "answers": RED_FLAG_SESSION})

    assert response.status_code == 201, response.content
    assert [a["level"] for a in response.json()["advice"]] == ["urgent", "info"]  # and "your therapist has been told"
    (mail,) = wait_until(lambda: smtp.received, what="the urgent email", workers=(worker,))
    wait_until(lambda: worker.succeeded(SEND) == 1, what="the send task to finish", workers=(worker,))
    assert len(smtp.received) == 1
    assert worker.succeeded(SCAN) == 1
    alert = Alert.objects.get(patient=patient)
    assert (alert.rule_id, alert.severity, alert.status) == ("R-01", "urgent", "open")
    row = OutgoingEmail.objects.get()
    assert (row.key, row.status, row.attempts) == (f"alert:{alert.pk}:immediate", OutgoingEmail.Status.SENT, 1)
    assert mail.rcpt_tos == (patient.therapist.user.email,)
    assert mail.subject == f"[{patient.clinic.name}] {RED_FLAG_SUBJECT}"
    assert mail.message_id == row.message_id
    assert_no_patient_identity(mail.subject, patient)
    bodies = mail.bodies()
    assert len(bodies) == 2  # plain text and HTML
    for body in bodies:
        assert_no_patient_identity(body, patient)
        assert patient.caseload_ref in body
        assert f"/admin/assessments/alert/{alert.pk}/change/" in body
    assert Entry.objects.get().scanned_at is not None
    assert worker.errors() == []


def test_scanning_a_patient_twice_raises_one_alert_and_sends_one_email(
    start_worker: StartWorker, smtp: SmtpServer
) -> None:
    worker = start_worker()
    patient, enrollment = enrolled_patient()
    write_entry(patient, enrollment, RED_FLAG_SESSION)

    scan_patient.delay(patient.pk)
    scan_patient.delay(patient.pk)

    wait_until(lambda: worker.succeeded(SCAN) == 2, what="both scans", workers=(worker,))
    wait_until(lambda: worker.succeeded(SEND) >= 1, what="the send task", workers=(worker,))
    assert worker.succeeded(SEND) == 1
    assert Alert.objects.filter(patient=patient).count() == 1
    assert OutgoingEmail.objects.count() == 1
    assert [m.subject for m in smtp.received] == [f"[{patient.clinic.name}] {RED_FLAG_SUBJECT}"]
    assert worker.errors() == []


def test_two_workers_racing_on_the_same_patients_raise_no_duplicate(
    start_worker: StartWorker, smtp: SmtpServer
) -> None:
    patients = []
    for number in range(1, 7):
        patient, enrollment = enrolled_patient(number=number)
        write_entry(patient, enrollment, RED_FLAG_SESSION)
        patients.append(patient)
    rounds = 20
    # Each patient's scans back to back, queued before the workers start: both take from the same
    # patient's run at once, from their first message on.
    for patient in patients:
        for _ in range(rounds):
            scan_patient.delay(patient.pk)

    workers = (start_worker("w1", ready=False), start_worker("w2", ready=False))

    tasks = rounds * len(patients)
    wait_until(lambda: succeeded(workers, SCAN) == tasks, what=f"{tasks} scans", timeout=60, workers=workers)
    wait_until(
        lambda: succeeded(workers, SEND) >= len(patients), what="one send per alert", timeout=60, workers=workers
    )
    assert all(w.succeeded(SCAN) > 0 for w in workers), "both workers should have scanned"
    assert succeeded(workers, SEND) == len(patients)
    alerts = list(Alert.objects.order_by("patient_id").values_list("patient_id", "rule_id"))
    assert alerts == [(p.pk, "R-01") for p in patients]
    assert not Entry.objects.filter(scanned_at__isnull=True).exists()
    assert not Entry.objects.filter(scan_failures__gt=0).exists()
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {OutgoingEmail.Status.SENT}
    message_ids = sorted(m.message_id for m in smtp.received)
    assert message_ids == sorted(e.message_id for e in OutgoingEmail.objects.all())
    assert len(message_ids) == len(patients)
    assert [e for w in workers for e in w.errors()] == []


def test_entry_submitted_while_the_broker_is_down_is_alerted_by_the_sweep(
    start_worker: StartWorker, smtp: SmtpServer, broker: Broker, tmp_path: Path
) -> None:
    worker = start_worker()
    patient, _ = enrolled_patient()
    client = _patient_client(patient.user)

    with broker.unreachable(tmp_path):
        response = client.post("/api/v1/assessments/", {"kind": "post_workout", "answers": RED_FLAG_SESSION})

    assert response.status_code == 201, response.content
    assert [a["level"] for a in response.json()["advice"]] == ["urgent", "info"]  # and "your therapist has been told"
    entry = Entry.objects.get()
    assert entry.scanned_at is None
    assert not Alert.objects.exists()
    # The sweep leaves entries younger than SWEEP_DELAY to their own task; this one is older by now.
    Entry.objects.filter(pk=entry.pk).update(submitted_at=timezone.now() - timedelta(minutes=1))

    sweep_unscanned.delay()

    (mail,) = wait_until(lambda: smtp.received, what="the urgent email after the sweep", workers=(worker,))
    wait_until(lambda: worker.succeeded(SEND) == 1, what="the send task to finish", workers=(worker,))
    assert mail.subject == f"[{patient.clinic.name}] {RED_FLAG_SUBJECT}"
    assert len(smtp.received) == 1
    assert worker.succeeded("assessments.sweep_unscanned") == 1
    assert worker.succeeded(SCAN) == 0  # the publish that failed never reached the worker
    assert Alert.objects.get(patient=patient).rule_id == "R-01"
    entry.refresh_from_db()
    assert entry.scanned_at is not None
    assert worker.errors() == []
