"""Helpers of the alerts-engine tests: enrolled patients and self-assessments submitted through the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from assessments import questionnaires as q
from assessments.demo import QUIET_WEEKLY
from assessments.models import Alert, Entry, OutgoingEmail
from assessments.outbox import outbox_send
from assessments.scanning import ScanReport, scan_patients
from assessments.services import assessment_submit
from patients.models import Patient, Therapist
from programs.models import Phase
from tests.factories import EnrollmentFactory, PatientFactory, blank_answers

# A Wednesday; 13:00 in London (BST), 08:00 in New York (EDT): every clinic is on 17 June.
NOW = dt.datetime(2026, 6, 17, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 17)


def quiet_session(**overrides: Any) -> dict[str, Any]:
    """A complete post-workout questionnaire with nothing of note (no neck or leg symptoms, no red flag)."""
    return {
        **blank_answers(q.POST_WORKOUT),
        "session_completed": "full",
        "back_pain_now": 2,
        "back_pain_during_max": 3,
        "back_stiffness_now": 2,
        "stiffness_change": "looser",
        "spine_check": "free",
        "neck_symptoms": "none",
        "thigh_symptoms": "none",
        **overrides,
    }


def quiet_weekly(**overrides: Any) -> dict[str, Any]:
    """A complete weekly check-in with nothing of note: the demo's quiet weekly (low pain, short stiffness),
    with every answer of the current questionnaire (an empty safety screen)."""
    return {**blank_answers(q.WEEKLY), **QUIET_WEEKLY, **overrides}


def enrolled_patient(
    therapist: Therapist, *, phase: str = Phase.STABILIZATION, days_in_phase: int = 10, **fields: Any
) -> Patient:
    """A patient of ``therapist`` enrolled in ``phase`` since ``days_in_phase`` days ago (clinic-local)."""
    patient: Patient = PatientFactory(therapist=therapist, **fields)
    since = timezone.localdate(timezone=patient.clinic.tz) - dt.timedelta(days=days_in_phase)
    EnrollmentFactory(patient=patient, phase=phase, phase_since=since, started_on=since - dt.timedelta(days=30))
    return patient


def submit_session(patient: Patient, days_ago: float = 0, **answers: Any) -> Entry:
    """A post-workout entry submitted through ``assessment_submit``, dated ``days_ago`` days before now."""
    occurred = timezone.now() - dt.timedelta(days=days_ago)
    return assessment_submit(
        patient=patient, kind=q.POST_WORKOUT, answers=quiet_session(**answers), occurred_at=occurred
    ).entry


def submit_weekly(patient: Patient, days_ago: float = 0, **answers: Any) -> Entry:
    """A weekly check-in submitted through ``assessment_submit``, dated ``days_ago`` days before now."""
    occurred = timezone.now() - dt.timedelta(days=days_ago)
    return assessment_submit(
        patient=patient, kind=q.WEEKLY, answers=quiet_weekly(**answers), occurred_at=occurred
    ).entry


def scan(*patients: Patient) -> ScanReport:
    return scan_patients([p.pk for p in patients])


def evidence_ids(alert: Alert) -> list[int]:
    return [e["entry_id"] for e in alert.evidence]


def rules_raised(patient: Patient) -> list[str]:
    return sorted(Alert.objects.filter(patient=patient).values_list("rule_id", flat=True))


def sent(email: OutgoingEmail) -> OutgoingEmail:
    """The outbox row once sent: an alert's email is written from its alert when first sent."""
    assert outbox_send(email_id=email.pk) == OutgoingEmail.Status.SENT
    email.refresh_from_db()
    return email
