"""Helpers of the integration tests: enrolled patients and their self-assessments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from django.utils import timezone

from assessments import questionnaires as q
from assessments.demo import QUIET_SESSION
from assessments.models import Entry
from patients.models import Clinic, Patient
from programs.models import Enrollment
from tests.factories import ClinicFactory, EnrollmentFactory, PortalPatientFactory, TherapistFactory, blank_answers

# Names that no email template could contain by chance: the tests look for them in every email.
FIRST_NAME = "Zebedee"
LAST_NAME = "Quarrington"

# new safety-screen symptoms, an urgent alert emailed at once.
RED_FLAG_SESSION: dict[str, Any] = {
    **blank_answers(q.POST_WORKOUT),
    **QUIET_SESSION,
    "back_pain_now": 4,
    "safety_screen": ["saddle_numbness"],
}
RED_FLAG_SUBJECT = "URGENT: Red flag: safety-screen symptoms"


def enrolled_patient(*, clinic: Clinic | None = None, number: int = 0) -> tuple[Patient, Enrollment]:
    """An active portal patient, two days into the stabilization phase (too early for R-11), with a therapist."""
    if clinic is None:
        clinic = cast(Clinic, ClinicFactory(name=f"Integration Clinic {number}"))
    therapist = TherapistFactory(clinic=clinic)
    patient = cast(
        Patient,
        PortalPatientFactory(
            therapist=therapist,
            first_name=FIRST_NAME,
            last_name=f"{LAST_NAME}{number or ''}",
            caseload_ref=f"CR-INT-{number:03d}",
        ),
    )
    enrollment = EnrollmentFactory(patient=patient, phase_since=timezone.localdate() - timedelta(days=2))
    return patient, cast(Enrollment, enrollment)


def write_entry(
    patient: Patient, enrollment: Enrollment, answers: dict[str, Any], *, at: datetime | None = None
) -> Entry:
    """Store an entry as the submit service would, but without enqueueing its scan: the test decides that."""
    values = q.column_values(q.POST_WORKOUT, answers)
    return Entry.objects.create(
        patient=patient,
        enrollment=enrollment,
        phase=enrollment.phase,
        kind=q.POST_WORKOUT,
        occurred_at=at or timezone.now() - timedelta(minutes=5),
        **values,
    )


def assert_no_patient_identity(text: str, patient: Patient) -> None:
    for secret in (patient.first_name, patient.last_name, patient.email, str(patient.birth_date)):
        assert secret not in text, f"{secret!r} appears in an email"
