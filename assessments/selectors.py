"""Reads of self-assessments: what is due, and the series of the trend charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import add
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, F, FloatField, Q
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from assessments import questionnaires as q
from assessments.models import Entry
from patients.models import Patient
from programs.models import Enrollment

# A weekly check-in submitted up to this many days before its scheduled day counts for that week.
WEEKLY_EARLY_DAYS = 2
# A weekly check-in is overdue this long after its scheduled day began.
WEEKLY_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class DueItem:
    kind: str
    due_at: datetime
    overdue: bool
    remaining: int


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


local_midnight = _local_midnight


def checkin_week(day: date, weekday: int) -> date:
    """The Monday of the week whose weekly check-in an entry made on the clinic-local ``day`` is.

    The rule of ``due_items``: a week's check-in is due on ``weekday`` (0 = Monday) and one made up to
    ``WEEKLY_EARLY_DAYS`` before it counts, so each week owns the seven days from two days before its
    scheduled day. Adherence counts check-ins by the same weeks.
    """
    shifted = day + timedelta(days=WEEKLY_EARLY_DAYS - weekday)
    return shifted - timedelta(days=shifted.weekday())


def due_items(*, patient: Patient, enrollment: Enrollment | None, now: datetime | None = None) -> list[DueItem]:
    """What is due now and next, in the clinic's time zone, from the enrollment's schedule and the entries.

    - post_workout: ``post_workouts_per_week`` entries per local calendar week (Monday to Sunday); while
      fewer are in, one item due by the end of the week with the number still expected.
    - weekly: one check-in per week on ``weekly_checkin_weekday``; due from that day (an entry up to two days
      early counts), overdue a day later; once in, the next one is listed.
    Two queries at most: the counts come from one aggregate.
    """
    if enrollment is None or patient.status != Patient.Status.ACTIVE:
        return []
    tz = patient.clinic.tz
    now = now or timezone.now()
    today = now.astimezone(tz).date()
    week_start = today - timedelta(days=today.weekday())
    scheduled = today - timedelta(days=(today.weekday() - enrollment.weekly_checkin_weekday) % 7)
    window_start = min(
        _local_midnight(week_start, tz), _local_midnight(scheduled - timedelta(days=WEEKLY_EARLY_DAYS), tz)
    )
    counts = Entry.objects.filter(patient=patient, occurred_at__gte=window_start).aggregate(
        post_workouts=Count("id", filter=Q(kind=q.POST_WORKOUT, occurred_at__gte=_local_midnight(week_start, tz))),
        weeklies=Count(
            "id",
            filter=Q(
                kind=q.WEEKLY,
                occurred_at__gte=_local_midnight(scheduled - timedelta(days=WEEKLY_EARLY_DAYS), tz),
            ),
        ),
    )
    items: list[DueItem] = []
    expected = enrollment.post_workouts_per_week
    remaining = max(0, expected - counts["post_workouts"])
    if remaining:
        end_of_week = _local_midnight(week_start + timedelta(days=7), tz)
        items.append(DueItem(q.POST_WORKOUT, end_of_week, False, remaining))
    if counts["weeklies"]:
        items.append(DueItem(q.WEEKLY, _local_midnight(scheduled + timedelta(days=7), tz), False, 1))
    else:
        due_at = _local_midnight(scheduled, tz)
        items.append(DueItem(q.WEEKLY, due_at, now >= due_at + WEEKLY_GRACE, 1))
    return sorted(items, key=lambda item: (item.due_at, item.kind))


PSFS = next(score for score in q.scores_of(q.WEEKLY) if score.key == "psfs")
TREND_FIELDS = (
    "back_pain_now",
    "back_stiffness_now",
    "back_pain_during_max",
    "neck_level",
    "thigh_level",
    "back_pain_avg_7d",
    "morning_stiffness_level",
)


def trend_series(*, patient: Patient, days: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Daily means of the charted answers over the last ``days`` local days: one aggregate query."""
    tz = patient.clinic.tz
    now = now or timezone.now()
    start = _local_midnight(now.astimezone(tz).date() - timedelta(days=days - 1), tz)
    # The PSFS mean of each weekly check-in, from the items the questionnaire declares for its score.
    psfs_mean = reduce(add, (Cast(F(item), FloatField()) for item in PSFS.items)) / float(len(PSFS.items))
    rows = (
        Entry.objects.filter(patient=patient, occurred_at__gte=start)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("day")
        .annotate(
            **{name: Avg(Cast(F(name), FloatField())) for name in TREND_FIELDS},
            psfs_mean=Avg(psfs_mean),
            sessions=Count("id", filter=Q(kind=q.POST_WORKOUT)),
        )
        .order_by("day")
    )
    series = []
    for row in rows:
        point: dict[str, Any] = {"date": row["day"], **{k: v for k, v in row.items() if k != "day"}}
        for key, value in point.items():
            if isinstance(value, float):
                point[key] = round(value, 2)
        series.append(point)
    return series
