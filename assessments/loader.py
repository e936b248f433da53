"""Load patients' windows from the database into the rules engine's plain values, a batch at a time.

Every read is one query per batch, whatever the number of patients or entries in it: patients,
enrollments, progressions, entries, outcome scores and alerts. The scan, the readiness check and the
replay command all build their contexts here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Max, Q
from django.utils import timezone

from assessments import questionnaires as q
from assessments import rules
from assessments.models import Alert, Entry, RuleSet
from patients.models import Patient
from programs.models import Enrollment, OutcomeScore, Phase, PhaseTransition

# How far before the phase (or before today) entries are loaded: the baseline fallback uses the last
# entries before the transition, R-10 the last 4 weeklies, R-11 two weekly cadences.
LOOKBACK = timedelta(days=42)
# The phase-best of R-08 reads the whole phase; a very long phase is capped.
MAX_WINDOW = timedelta(days=365)
R07_INPUT_RULES = ("R-03", "R-04", "R-05", "R-06")


def active_params() -> tuple[int, rules.Params]:
    """The active ruleset version and its thresholds (the RULES.md defaults when none is configured)."""
    ruleset = RuleSet.objects.filter(name=rules.RULESET, is_active=True).first()
    if ruleset is None:
        return rules.RULESET_VERSION, rules.DEFAULT_PARAMS
    return ruleset.version, rules.Params.from_dict(ruleset.params)


@dataclass
class PatientWindow:
    """One patient's loaded rows, before and after conversion to plain values."""

    patient: Patient
    enrollment: Enrollment | None
    tz: ZoneInfo
    today: date
    since: datetime
    entries: list[Entry] = field(default_factory=list)
    scores: list[OutcomeScore] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    last_progression: date | None = None

    @property
    def unscanned_ids(self) -> list[int]:
        return [e.pk for e in self.entries if e.scanned_at is None]

    def unresolved_alerts(self) -> dict[tuple[str, str], Alert]:
        return {(a.rule_id, a.qualifier): a for a in self.alerts if a.status != Alert.Status.RESOLVED}

    def context(self, *, today: date | None = None) -> rules.PatientContext:
        today = today or self.today
        enrollment = self.enrollment
        post_workouts, weeklies = [], []
        for entry in self.entries:
            local = entry.occurred_at.astimezone(self.tz).date()
            if entry.kind == q.POST_WORKOUT:
                post_workouts.append(_post_workout(entry, local))
            else:
                weeklies.append(_weekly(entry, local))
        suppress: dict[tuple[str, str], datetime] = {}
        firings = []
        for alert in self.alerts:
            if alert.status == Alert.Status.RESOLVED and alert.resolved_at is not None:
                key = (alert.rule_id, alert.qualifier)
                resolved = alert.resolved_at.astimezone(self.tz)
                if key not in suppress or suppress[key] < resolved:
                    suppress[key] = resolved
            if alert.rule_id in R07_INPUT_RULES:
                at = alert.last_evidence_at or alert.raised_at
                firings.append(rules.Firing(alert.rule_id, at.astimezone(self.tz).date(), at))
        return rules.PatientContext(
            phase=enrollment.phase if enrollment else Phase.TREATMENT,
            phase_since=enrollment.phase_since if enrollment else today,
            today=today,
            enrolled=enrollment is not None and self.patient.status == Patient.Status.ACTIVE,
            post_workouts=post_workouts,
            weeklies=weeklies,
            outcome_scores=[
                rules.OutcomeScore(instrument=s.instrument, score=float(s.score), local_date=s.recorded_on, id=s.pk)
                for s in self.scores
            ],
            recent_firings=firings,
            suppress_before=suppress,
            last_progression_date=self.last_progression,
        )


def _post_workout(entry: Entry, local: date) -> rules.PostWorkout:
    return rules.PostWorkout(
        id=entry.pk,
        occurred_at=entry.occurred_at,
        local_date=local,
        session_completed=entry.session_completed or "full",
        back_pain_now=entry.back_pain_now or 0,
        back_pain_during_max=entry.back_pain_during_max or 0,
        back_stiffness_now=entry.back_stiffness_now or 0,
        stiffness_change=entry.stiffness_change or "same",
        spine_check=entry.spine_check or "not_done",
        neck_symptoms=entry.neck_symptoms or "none",
        thigh_symptoms=entry.thigh_symptoms or "none",
        neck_level=entry.neck_level,
        thigh_level=entry.thigh_level,
        thigh_stretch_response=entry.thigh_stretch_response,
        thigh_below_knee=entry.thigh_below_knee,
        thigh_nerve_qualities=tuple(entry.thigh_nerve_qualities or ()),
        safety_screen=tuple(entry.safety_screen or ()),
    )


def _weekly(entry: Entry, local: date) -> rules.Weekly:
    return rules.Weekly(
        id=entry.pk,
        occurred_at=entry.occurred_at,
        local_date=local,
        back_pain_avg_7d=entry.back_pain_avg_7d or 0,
        leg_pain_avg_7d=entry.leg_pain_avg_7d or 0,
        peg_pain=entry.peg_pain or 0,
        peg_enjoyment=entry.peg_enjoyment or 0,
        peg_activity=entry.peg_activity or 0,
        morning_stiffness_level=entry.morning_stiffness_level or 0,
        morning_stiffness_duration=entry.morning_stiffness_duration or "none",
        global_change=entry.global_change or 0,
        flare_7d=bool(entry.flare_7d),
        exercise_days_7d=entry.exercise_days_7d or 0,
        psfs_1=entry.psfs_1 or 0,
        psfs_2=entry.psfs_2 or 0,
        psfs_3=entry.psfs_3 or 0,
        stiffness_eases_with_movement=entry.stiffness_eases_with_movement,
        systemic_flags=tuple(entry.systemic_flags or ()),
    )


ENTRY_COLUMNS = (
    "id", "patient_id", "kind", "occurred_at", "scanned_at",
    *(f for f in q.POST_WORKOUT_FIELDS if f != "note"), *q.WEEKLY_FIELDS,
)  # fmt: skip


def load_windows(
    patient_ids: list[int], *, now: datetime | None = None, since: date | None = None
) -> list[PatientWindow]:
    """Load the windows of a batch of patients: six queries, whatever the batch size.

    ``since`` widens every window back to that day (the replay reads the whole period it judges).
    """
    now = now or timezone.now()
    patients = list(Patient.objects.filter(pk__in=patient_ids).select_related("clinic", "therapist__user"))
    if not patients:
        return []
    ids = [p.pk for p in patients]
    enrollments = {e.patient_id: e for e in Enrollment.objects.filter(patient_id__in=ids, active=True)}
    progressions = dict(
        PhaseTransition.objects.filter(
            enrollment__patient_id__in=ids, from_phase=Phase.TREATMENT, to_phase=Phase.STABILIZATION
        )
        .values_list("enrollment__patient_id")
        .annotate(last=Max("effective_date"))
    )
    windows: dict[int, PatientWindow] = {}
    for patient in patients:
        tz = patient.clinic.tz
        today = now.astimezone(tz).date()
        enrollment = enrollments.get(patient.pk)
        start = today - LOOKBACK
        if enrollment is not None:
            start = min(start, enrollment.phase_since - LOOKBACK)
        start = max(start, today - MAX_WINDOW)
        if since is not None:
            start = min(start, since)
        windows[patient.pk] = PatientWindow(
            patient=patient,
            enrollment=enrollment,
            tz=tz,
            today=today,
            since=datetime.combine(start, datetime.min.time(), tzinfo=tz),
            last_progression=progressions.get(patient.pk),
        )
    # One query for every patient's entries, each patient with its own window start.
    window_filter = reduce(or_, (Q(patient_id=pid, occurred_at__gte=w.since) for pid, w in windows.items()))
    for entry in Entry.objects.filter(window_filter).only(*ENTRY_COLUMNS).order_by("occurred_at", "id"):
        windows[entry.patient_id].entries.append(entry)
    oldest = min(w.since for w in windows.values()).date()
    for score in OutcomeScore.objects.filter(patient_id__in=ids, recorded_on__gte=oldest):
        windows[score.patient_id].scores.append(score)
    recent = now - timedelta(days=60)
    alert_filter = ~Q(status=Alert.Status.RESOLVED) | Q(
        resolved_at__gte=min(recent, min(w.since for w in windows.values()))
    )
    for alert in Alert.objects.filter(alert_filter, patient_id__in=ids):
        windows[alert.patient_id].alerts.append(alert)
    return [windows[p.pk] for p in patients]


def readiness_context(*, patient: Patient, ratings: dict[str, Any] | None = None) -> rules.ReadinessReport:
    """The readiness check treatment -> stabilization for one patient, as of today."""
    window = load_windows([patient.pk])[0]
    _, params = active_params()
    ratings = ratings or {}
    return rules.check_readiness(
        window.context(),
        params,
        unresolved_alerts=[
            rules.AlertSummary(rule_id=a.rule_id, severity=a.severity, qualifier=a.qualifier)
            for a in window.unresolved_alerts().values()
        ],
        ratings=rules.TherapistRatings(
            low_irritability=ratings.get("irritability_low"),
            neuro_screen_clear=ratings.get("neuro_screen_clear"),
            motor_control_clear=ratings.get("motor_control_ok"),
        ),
    )
