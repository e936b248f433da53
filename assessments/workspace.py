"""Reads of the therapist's workspace: the attention view (what needs acting on now) and its counts.

Every read is scoped through ``visible_to`` (a therapist sees their clinic) and costs a fixed number of queries
whatever the caseload size: one for the open alerts, one for the counts per severity, one each for the patients
without reports, with low adherence and due for a phase review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When

from assessments.adherence import weekly_adherence
from assessments.models import Alert
from assessments.wording import AlertWords
from patients.access import staff_profile
from patients.models import Patient
from programs.models import Enrollment, Phase

QUIET_DAYS: Final = 7  # no report for this long: listed (R-11 raises an alert on the same span)
REVIEW_AFTER_DAYS: Final = 42  # in treatment this long: the readiness check for stabilization is due
PHASE_REVIEW_RULE: Final = "R-07"
ATTENTION_LIMIT: Final = 200


@dataclass(frozen=True, slots=True)
class AttentionRow:
    alert: Alert
    words: AlertWords
    mine: bool
    age: timedelta


@dataclass(frozen=True, slots=True)
class PatientRow:
    patient: Patient
    detail: str


def open_alerts(user: Any) -> QuerySet[Alert]:
    """The open and acknowledged alerts the user may see: most severe first, own caseload first, oldest first."""
    profile = staff_profile(user)
    mine = (
        Case(When(therapist=profile, then=Value(0)), default=Value(1), output_field=IntegerField())
        if profile is not None
        else Value(1, output_field=IntegerField())
    )
    return (
        Alert.objects.visible_to(user)
        .exclude(status__in=Alert.CLOSED)
        .select_related("patient", "therapist")
        .annotate(caseload_rank=mine)
        .order_by("severity_rank", "caseload_rank", "raised_at", "pk")
    )


def attention_rows(user: Any, now: datetime) -> list[AttentionRow]:
    profile = staff_profile(user)
    rows = open_alerts(user)[:ATTENTION_LIMIT]
    return [
        AttentionRow(
            alert=a, words=a.words(), mine=profile is not None and a.therapist_id == profile.pk, age=now - a.raised_at
        )
        for a in rows
    ]


def severity_counts(user: Any) -> dict[str, dict[str, int]]:
    """Open alerts per severity: ``{"urgent": {"all": 2, "mine": 1}, ...}`` in one query."""
    profile = staff_profile(user)
    mine = Q(therapist=profile) if profile is not None else Q(pk__in=[])
    counts: dict[str, dict[str, int]] = {s: {"all": 0, "mine": 0} for s in ("urgent", "high", "routine")}
    rows = (
        Alert.objects.visible_to(user)
        .exclude(status__in=Alert.CLOSED)
        .values("severity")
        .annotate(all=Count("pk"), mine=Count("pk", filter=mine))
    )
    for row in rows:
        counts[row["severity"]] = {"all": row["all"], "mine": row["mine"]}
    return counts


def caseload(user: Any) -> QuerySet[Patient]:
    """Active patients with an active enrollment: a therapist's own caseload, the whole clinic for others."""
    patients = Patient.objects.visible_to(user).filter(status=Patient.Status.ACTIVE, enrollments__active=True)
    profile = staff_profile(user)
    if profile is not None and not profile.is_clinic_admin:
        patients = patients.filter(therapist_id=profile.pk)
    return patients


def quiet_patients(user: Any, now: datetime) -> list[PatientRow]:
    """Enrolled patients with no report (of either kind) for ``QUIET_DAYS`` days, longest silence first."""
    since = now - timedelta(days=QUIET_DAYS)
    rows = (
        caseload(user)
        .annotate(last_report=Max("entries__occurred_at"))
        .filter(Q(last_report__lt=since) | Q(last_report__isnull=True))
        .order_by("last_report", "last_name")
    )
    return [
        PatientRow(p, f"last report {(now - p.last_report).days} days ago" if p.last_report else "no report yet")
        for p in rows
    ]


def low_adherence(user: Any, now: datetime) -> list[PatientRow]:
    """Patients who reported under half of the sessions prescribed last week (Monday to Sunday, clinic time)."""
    enrollments = list(
        Enrollment.objects.filter(active=True, patient__in=caseload(user))
        .select_related("patient__clinic")
        .order_by("patient__last_name", "patient_id")
    )
    weeks = weekly_adherence(enrollments, weeks=2, now=now)
    out = []
    for enrollment in enrollments:
        last = weeks[enrollment.pk][0]
        if last.low:
            missed = ", weekly check-in missed" if last.checkins_due and not last.checkins else ""
            detail = f"last week: {last.sessions} of {last.prescribed} sessions reported{missed}"
            out.append(PatientRow(enrollment.patient, detail))
    return out


def phase_review_due(user: Any, today: Any) -> list[PatientRow]:
    """Stabilization patients with an open phase-review alert (R-07), and patients in treatment for
    ``REVIEW_AFTER_DAYS`` days or more (the readiness check for stabilization is due)."""
    rows = (
        caseload(user)
        .annotate(
            phase=Max("enrollments__phase", filter=Q(enrollments__active=True)),
            phase_since=Max("enrollments__phase_since", filter=Q(enrollments__active=True)),
            reviews=Count(
                "alerts",
                filter=Q(alerts__rule_id=PHASE_REVIEW_RULE) & ~Q(alerts__status__in=Alert.CLOSED),
                distinct=True,
            ),
        )
        .order_by("last_name", "pk")
    )
    out = []
    for p in rows:
        if p.reviews:
            out.append(PatientRow(p, "several warning signs during stabilization: consider returning to treatment"))
        elif p.phase == Phase.TREATMENT and p.phase_since and (today - p.phase_since).days >= REVIEW_AFTER_DAYS:
            out.append(PatientRow(p, f"in treatment for {(today - p.phase_since).days} days: readiness check due"))
    return out
