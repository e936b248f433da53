"""Use cases of self-assessments: submitting an entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assessments import questionnaires as q
from assessments import rules
from assessments.models import Entry
from patients.models import Patient
from programs.models import Enrollment

MAX_BACKDATE = timedelta(days=30)
# Phones' clocks drift: a few minutes "in the future" is the same moment.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Submitted:
    entry: Entry
    advice: list[dict[str, str]]


def assessment_submit(
    *, patient: Patient, kind: str, answers: dict[str, Any], occurred_at: datetime | None = None
) -> Submitted:
    """Store one validated self-assessment and schedule its scan once the transaction commits.

    The red-flag advice is computed from the answers alone, so the patient is told at once, whatever
    happens to the scan, the broker or the email afterwards.
    """
    now = timezone.now()
    occurred = occurred_at or now
    if occurred > now + CLOCK_SKEW:
        raise ValidationError({"occurred_at": ValidationError("This time is in the future.", code="future")})
    if occurred < now - MAX_BACKDATE:
        raise ValidationError(
            {"occurred_at": ValidationError("Entries may be at most 30 days in the past.", code="too_old")}
        )
    if patient.status != Patient.Status.ACTIVE:
        raise ValidationError(ValidationError("You have been discharged; contact your clinic.", code="discharged"))
    enrollment = Enrollment.objects.filter(patient=patient, active=True).only("id", "phase").first()
    if enrollment is None:
        raise ValidationError(
            ValidationError("You are not enrolled in a program yet; contact your clinic.", code="not_enrolled")
        )
    fields = q.POST_WORKOUT_FIELDS if kind == q.POST_WORKOUT else q.WEEKLY_FIELDS
    with transaction.atomic():
        entry = Entry.objects.create(
            patient=patient,
            enrollment=enrollment,
            phase=enrollment.phase,
            kind=kind,
            occurred_at=min(occurred, now),
            **{name: answers.get(name) for name in fields if name != "note"},
            note=answers.get("note") or "",
        )
        transaction.on_commit(lambda: _enqueue_scan(patient.pk), robust=True)
    advice = [
        {"level": a.level, "message": a.message}
        for a in rules.red_flag_advice(answers.get("safety_screen") or (), answers.get("systemic_flags") or ())
    ]
    return Submitted(entry=entry, advice=advice)


def red_flag_advice_for_raw(data: Any) -> list[dict[str, str]]:
    """The urgent advice for the red-flag answers of a request that could not be stored.

    A patient reporting saddle numbness must be told to seek care even when another answer is invalid,
    the entry is too old, or they are no longer enrolled: only recognised red-flag items count.
    """
    answers = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(answers, dict):
        return []

    def known(name: str, choices: tuple[str, ...]) -> list[str]:
        items = answers.get(name)
        return [i for i in items if isinstance(i, str) and i in choices] if isinstance(items, list) else []

    found = rules.red_flag_advice(known("safety_screen", q.SAFETY_SCREEN), known("systemic_flags", q.SYSTEMIC_FLAGS))
    return [{"level": a.level, "message": a.message} for a in found]


def _enqueue_scan(patient_id: int) -> None:
    """Ask a worker to scan the patient now. A broker that is down only delays it: the sweep finds the entry."""
    from assessments.tasks import scan_patient

    scan_patient.delay(patient_id)
