"""The patient page's clinical picture: trend series, phase bands, alert markers and the timeline.

A fixed number of queries whatever the range (30, 90 or 365 days): one aggregate of the entries per local day
feeds every entry series, one query each reads the outcome scores (ODI), the alerts, the phase transitions and
the newest entries of the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from django.db.models import Avg, Case, F, FloatField, Q, When
from django.db.models.functions import Cast, TruncDate
from django.urls import reverse

from assessments import questionnaires as q
from assessments.admin_entries import key_values
from assessments.models import Alert, Entry
from patients.models import Patient
from programs.models import OutcomeScore, Phase, PhaseTransition

RANGES: Final = (30, 90, 365)
DEFAULT_RANGE: Final = 90
TIMELINE_ENTRIES: Final = 60


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    kind: str  # post_workout, weekly or score


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    y_max: float
    series: tuple[Series, ...]
    rules: tuple[str, ...]  # the alerts marked on this chart
    bar: bool = False


def _thigh(side: str) -> Avg:
    return Avg(Case(When(thigh_symptoms=side, then=Cast(F("thigh_level"), FloatField())), default=None))


# Every series of the charts, computed by the one aggregate query (per local day).
_AGGREGATES: Final[dict[str, Any]] = {
    **{
        name: Avg(Cast(F(name), FloatField()))
        for name in (
            "back_pain_now",
            "back_pain_during_max",
            "back_stiffness_now",
            "neck_level",
            "back_pain_avg_7d",
            "leg_pain_avg_7d",
            "morning_stiffness_level",
            "peg_score",
            "psfs_score",
            "exercise_days_7d",
        )
    },
    "thigh_left": _thigh("left"),
    "thigh_right": _thigh("right"),
    "thigh_both": _thigh("both"),
}
_ALL: Final = ("R-01", "R-02", "R-07")
CHARTS: Final = (
    Chart(
        "pain",
        "Back pain (0-10)",
        10,
        (
            Series("back_pain_now", "After the workout", q.POST_WORKOUT),
            Series("back_pain_during_max", "Worst during the workout", q.POST_WORKOUT),
            Series("back_pain_avg_7d", "Weekly: 7-day average", q.WEEKLY),
        ),
        (*_ALL, "R-06"),
    ),
    Chart(
        "stiffness",
        "Back stiffness (0-10)",
        10,
        (
            Series("back_stiffness_now", "After the workout", q.POST_WORKOUT),
            Series("morning_stiffness_level", "Weekly: morning stiffness", q.WEEKLY),
        ),
        (*_ALL, "R-03", "R-10"),
    ),
    Chart(
        "neck",
        "Neck during core work (0-10)",
        10,
        (Series("neck_level", "Neck level", q.POST_WORKOUT),),
        (*_ALL, "R-05"),
    ),
    Chart(
        "leg",
        "Leg symptoms (0-10)",
        10,
        (
            Series("thigh_left", "Left", q.POST_WORKOUT),
            Series("thigh_right", "Right", q.POST_WORKOUT),
            Series("thigh_both", "Both sides", q.POST_WORKOUT),
            Series("leg_pain_avg_7d", "Weekly: leg pain 7-day average", q.WEEKLY),
        ),
        (*_ALL, "R-04", "R-12"),
    ),
    Chart(
        "function",
        "Function: PEG and PSFS (0-10), ODI (%)",
        10,
        (
            Series("peg_score", "PEG (higher is worse)", q.WEEKLY),
            Series("psfs_score", "PSFS (higher is better)", q.WEEKLY),
            Series("odi", "ODI % / 10 (clinician)", "score"),
        ),
        (*_ALL, "R-08"),
    ),
    Chart(
        "exercise",
        "Exercise days per week",
        7,
        (Series("exercise_days_7d", "Days exercised (weekly)", q.WEEKLY),),
        (*_ALL, "R-11"),
        bar=True,
    ),
)


def range_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        return DEFAULT_RANGE
    return days if days in RANGES else DEFAULT_RANGE


def _ms(day: date) -> int:
    return int(datetime.combine(day, time(12)).timestamp() * 1000)


def clinical_picture(*, patient: Patient, days: int, today: date, enrollment: Any) -> dict[str, Any]:
    """The chart data (JSON-ready) and the timeline of one patient over the last ``days`` local days."""
    tz = patient.clinic.tz
    start_day = today - timedelta(days=days - 1)
    start = datetime.combine(start_day, time.min, tzinfo=tz)
    daily = list(
        Entry.objects.filter(patient=patient, occurred_at__gte=start)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("day")
        .annotate(**_AGGREGATES)
        .order_by("day")
    )
    scores = list(
        OutcomeScore.objects.filter(
            patient=patient, instrument=OutcomeScore.Instrument.ODI, recorded_on__gte=start_day
        ).order_by("recorded_on")
    )
    alerts = list(
        Alert.objects.filter(patient=patient)
        .filter(Q(raised_at__gte=start) | ~Q(status__in=Alert.CLOSED))
        .select_related("resolved_by", "acknowledged_by", "cleared_by_entry")
        .order_by("-raised_at")
    )
    transitions = list(
        PhaseTransition.objects.filter(enrollment__patient=patient).select_related("by").order_by("effective_date")
    )
    entries = list(
        Entry.objects.filter(patient=patient, occurred_at__gte=start).order_by("-occurred_at")[:TIMELINE_ENTRIES]
    )
    points: dict[str, list[dict[str, Any]]] = {key: [] for key in _AGGREGATES}
    for row in daily:
        values: dict[str, Any] = dict(row)
        for key in _AGGREGATES:
            if values[key] is not None:
                points[key].append({"x": _ms(values["day"]), "y": round(values[key], 1)})
    points["odi"] = [
        {"x": _ms(s.recorded_on), "y": round(float(s.score) / 10, 1), "raw": float(s.score)} for s in scores
    ]
    recent = [t for t in transitions if t.effective_date >= start_day]
    data = {
        "range": {"from": _ms(start_day), "to": _ms(today), "days": days},
        "charts": [
            {
                "id": chart.id,
                "title": chart.title,
                "yMax": chart.y_max,
                "bar": chart.bar,
                "series": [{"key": s.key, "label": s.label, "points": points[s.key]} for s in chart.series],
                "alerts": [_marker(a, tz) for a in alerts if a.rule_id in chart.rules and a.raised_at >= start],
            }
            for chart in CHARTS
        ],
        "phases": _bands(transitions, enrollment, start_day, today),
    }
    return {"chart_data": data, "timeline": _timeline(entries, alerts, recent, tz), "days": days}


def _marker(alert: Alert, tz: Any) -> dict[str, Any]:
    return {
        # On the day of its newest evidence (what the chart shows), else the day it was raised.
        "x": _ms((alert.last_evidence_at or alert.raised_at).astimezone(tz).date()),
        "rule": alert.rule_id,
        "title": alert.title,
        "severity": alert.severity,
        "status": alert.status,
        "url": reverse("admin:assessments_alert_change", args=[alert.pk]),
    }


def _bands(transitions: list[PhaseTransition], enrollment: Any, start: date, end: date) -> list[dict[str, Any]]:
    """The phases over the range, from the transitions (the first one's from-phase before it)."""
    if enrollment is None:
        return []
    changes = [(t.effective_date, t.to_phase) for t in transitions if t.enrollment_id == enrollment.pk]
    first = transitions[0].from_phase if changes and transitions[0].enrollment_id == enrollment.pk else enrollment.phase
    spans: list[tuple[date, str]] = [(enrollment.started_on, first), *changes]
    bands = []
    for i, (since, phase) in enumerate(spans):
        until = spans[i + 1][0] if i + 1 < len(spans) else end
        lo, hi = max(since, start), min(until, end)
        if lo <= hi:
            bands.append({"from": _ms(lo), "to": _ms(hi), "phase": phase, "label": Phase(phase).label})
    return bands


def _timeline(
    entries: list[Entry], alerts: list[Alert], transitions: list[PhaseTransition], tz: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for e in entries:
        items.append(
            {
                "at": e.occurred_at,
                "type": "entry",
                "title": e.get_kind_display(),
                "text": key_values(e),
                "red_flag": e.has_red_flag,
                "url": reverse("admin:assessments_entry_change", args=[e.pk]),
            }
        )
    for a in alerts:
        items.append(
            {
                "at": a.raised_at,
                "type": "alert",
                "severity": a.severity,
                "status": a.get_status_display(),
                "title": f"{a.rule_id} {a.title}",
                "text": a.words().summary,
                "note": a.resolution_note,
                "closed_at": a.resolved_at or a.cleared_at,
                "url": reverse("admin:assessments_alert_change", args=[a.pk]),
            }
        )
    for t in transitions:
        items.append(
            {
                "at": datetime.combine(t.effective_date, time.min, tzinfo=tz),
                "type": "phase",
                "title": f"{t.get_from_phase_display()} → {t.get_to_phase_display()}",
                "text": t.reason,
                "by": t.by,
                "url": reverse("admin:programs_phasetransition_change", args=[t.pk]),
            }
        )
    items.sort(key=lambda i: i["at"], reverse=True)
    return items
