"""A red flag is never lost: a submission refused for another reason still reaches the therapist by email.

Each refusal path goes through the HTTP API, a real Celery worker, a real broker and a real SMTP server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from assessments.models import Alert, Entry, OutgoingEmail, RedFlagReport
from assessments.services import THERAPIST_TOLD
from patients.models import Patient
from programs.models import Enrollment
from tests.integration.conftest import SmtpServer, StartWorker, wait_until
from tests.integration.helpers import RED_FLAG_SESSION, assert_no_patient_identity, enrolled_patient

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SEND = "assessments.send_email"
FOOT_DROP = ["foot_drop_or_leg_weakness"]


def _client(patient: Patient) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=patient.user)[1]}")
    return client


def _bad_answer(patient: Patient) -> dict[str, Any]:
    return {"kind": "post_workout", "answers": {**RED_FLAG_SESSION, "back_pain_now": 99, "safety_screen": FOOT_DROP}}


def _missing_answer(patient: Patient) -> dict[str, Any]:
    answers = {k: v for k, v in RED_FLAG_SESSION.items() if k != "spine_check"}
    return {"kind": "post_workout", "answers": {**answers, "safety_screen": FOOT_DROP}}


def _discharged(patient: Patient) -> dict[str, Any]:
    Patient.objects.filter(pk=patient.pk).update(status=Patient.Status.DISCHARGED)
    return {"kind": "post_workout", "answers": {**RED_FLAG_SESSION, "safety_screen": FOOT_DROP}}


def _not_enrolled(patient: Patient) -> dict[str, Any]:
    Enrollment.objects.filter(patient=patient).delete()
    return {"kind": "post_workout", "answers": {**RED_FLAG_SESSION, "safety_screen": FOOT_DROP}}


@pytest.mark.parametrize(
    ("refusal", "field", "code"),
    [
        (_bad_answer, "answers.back_pain_now", "max_value"),
        (_missing_answer, "answers.spine_check", "required"),
        (_discharged, None, "discharged"),
        (_not_enrolled, None, "not_enrolled"),
    ],
    ids=["bad-answer", "missing-answer", "discharged", "not-enrolled"],
)
def test_refused_submission_with_a_red_flag_still_emails_the_therapist(
    start_worker: StartWorker,
    smtp: SmtpServer,
    refusal: Callable[[Patient], dict[str, Any]],
    field: str | None,
    code: str,
) -> None:
    worker = start_worker()
    patient, _ = enrolled_patient()
    body = refusal(patient)

    response = _client(patient).post("/api/v1/assessments/", body, format="json")

    assert response.status_code == 400, response.content
    data = response.json()
    assert code in {e["code"] for e in data["errors"]}
    if field is not None:
        assert field in {e["field"] for e in data["errors"]}
    assert [a["level"] for a in data["advice"]] == ["urgent", "info"]
    assert "emergency" in data["advice"][0]["message"]
    assert data["advice"][1]["message"] == THERAPIST_TOLD
    assert data["therapist_notified"] is True
    assert not Entry.objects.exists()  # nothing half-saved: only the red flag is kept

    report = RedFlagReport.objects.get(patient=patient)
    assert report.safety_screen == FOOT_DROP
    assert code in {r["code"] for r in report.refusal}
    (mail,) = wait_until(lambda: smtp.received, what="the urgent email", workers=(worker,))
    wait_until(lambda: worker.succeeded(SEND) == 1, what="the send task", workers=(worker,))
    alert = Alert.objects.get(patient=patient)
    assert (alert.rule_id, alert.severity, alert.qualifier) == ("R-01", "urgent", f"report:{report.pk}")
    assert alert.evidence[0]["kind"] == "red_flag_report"
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT
    assert mail.rcpt_tos == (patient.therapist.user.email,)
    assert "URGENT" in mail.subject
    assert_no_patient_identity(mail.subject, patient)
    for text in mail.bodies():
        assert_no_patient_identity(text, patient)
        assert patient.caseload_ref in text
    RedFlagReport.objects.get(pk=report.pk, scanned_at__isnull=False)
    assert worker.errors() == []


def test_refused_submission_without_a_red_flag_stores_nothing() -> None:
    patient, _ = enrolled_patient()
    answers = {**RED_FLAG_SESSION, "back_pain_now": 99, "safety_screen": ["not_an_item"]}

    response = _client(patient).post(
        "/api/v1/assessments/", {"kind": "post_workout", "answers": answers}, format="json"
    )

    assert response.status_code == 400
    assert "advice" not in response.json()
    assert "therapist_notified" not in response.json()
    assert not RedFlagReport.objects.exists()


def test_a_refused_red_flag_keeps_only_our_own_field_names_not_what_the_client_typed() -> None:
    patient, _ = enrolled_patient()
    answers = {**RED_FLAG_SESSION, "safety_screen": FOOT_DROP, "odd\x00name\u00e9": 1}

    response = _client(patient).post(
        "/api/v1/assessments/", {"kind": "post_workout", "answers": answers}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["therapist_notified"] is True
    refusal = RedFlagReport.objects.get(patient=patient).refusal
    assert refusal == [{"field": "(unrecognised)", "code": "unknown_field"}]
