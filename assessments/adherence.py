"""Adherence per patient and week: sessions reported against prescribed, weekly check-ins done against due,
and the exercise days the patient reported.

Weeks are calendar weeks, Monday to Sunday, in the clinic's time zone: an entry counts in the week of its
``occurred_at`` as the clinic's clock read it (a report sent late counts for the day it describes; a week with
a daylight-saving change has 167 or 169 hours and still seven days). Only the days of the week that the
enrollment covers are prescribed: the week it starts in and the week it ends in are prorated, and the current
week is "in progress" (its target is the whole week's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from django.utils import timezone

from assessments import questionnaires as q
from assessments.models import Entry
from assessments.selectors import WEEKLY_EARLY_DAYS, checkin_week, local_midnight
from programs.models import Enrollment

WEEKS_SHOWN: Final = 8  # on the patient page
LOW_ADHERENCE: Final = 0.5  # under half of the prescribed sessions is low


@dataclass(frozen=True, slots=True)
class Week:
    start: date  # the Monday, in the clinic's time zone
    sessions: int  # post-workout reports that week
    prescribed: int  # post-workout sessions prescribed for the days of the week the enrollment covered
    checkins: int  # weekly check-ins reported that week
    checkins_due: int  # 1 when the week's check-in day was within the enrollment and has come
    exercise_days: int | None  # "exercise days, last 7 days" of the week's last check-in
    in_progress: bool  # the current week

    @property
    def low(self) -> bool:
        return self.prescribed > 0 and self.sessions < self.prescribed * LOW_ADHERENCE

    def as_dict(self) -> dict[str, object]:
        return {
            "week_start": self.start,
            "sessions_reported": self.sessions,
            "sessions_prescribed": self.prescribed,
            "checkins_done": self.checkins,
            "checkins_due": self.checkins_due,
            "exercise_days": self.exercise_days,
            "in_progress": self.in_progress,
        }


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_adherence(
    enrollments: Iterable[Enrollment], *, weeks: int, now: datetime | None = None
) -> dict[int, list[Week]]:
    """The last ``weeks`` weeks (oldest first, the current one last) of each enrollment, keyed by enrollment id.

    The enrollments need their patient's clinic (``select_related("patient__clinic")``). One query for all.
    """
    now = now or timezone.now()
    enrollments = list(enrollments)
    if not enrollments:
        return {}
    spans: dict[int, tuple[ZoneInfo, date, date]] = {}
    for enrollment in enrollments:
        tz = enrollment.patient.clinic.tz
        today = now.astimezone(tz).date()
        spans[enrollment.pk] = (tz, today, _monday(today) - timedelta(weeks=weeks - 1))
    # From the first week's Monday, less the days a check-in may come early (selectors.checkin_week).
    earliest = min(local_midnight(first - timedelta(days=WEEKLY_EARLY_DAYS), tz) for tz, _, first in spans.values())
    rows = (  # the entries made under these enrollments (a patient enrolled again starts afresh)
        Entry.objects.filter(enrollment_id__in=spans, occurred_at__gte=earliest, occurred_at__lte=now)
        .order_by("occurred_at")
        .values_list("enrollment_id", "kind", "occurred_at", "exercise_days_7d")
    )
    by_enrollment: dict[int, list[tuple[str, datetime, int | None]]] = defaultdict(list)
    for enrollment_id, kind, occurred_at, exercise_days in rows:
        by_enrollment[enrollment_id].append((kind, occurred_at, exercise_days))
    return {
        enrollment.pk: _weeks(enrollment, by_enrollment[enrollment.pk], *spans[enrollment.pk], weeks=weeks)
        for enrollment in enrollments
    }


def _weeks(
    enrollment: Enrollment,
    entries: list[tuple[str, datetime, int | None]],
    tz: ZoneInfo,
    today: date,
    first: date,
    *,
    weeks: int,
) -> list[Week]:
    sessions: dict[date, int] = defaultdict(int)
    checkins: dict[date, int] = defaultdict(int)
    exercise_days: dict[date, int | None] = {}
    for kind, occurred_at, days in entries:
        day = occurred_at.astimezone(tz).date()
        if kind == q.POST_WORKOUT:
            sessions[_monday(day)] += 1
        elif kind == q.WEEKLY:
            week = checkin_week(day, enrollment.weekly_checkin_weekday)  # as the due check-ins count it
            checkins[week] += 1
            exercise_days[week] = days  # ordered by occurred_at: the week's last check-in wins
    last_day = min(today, enrollment.ended_on or today)
    out = []
    for n in range(weeks):
        start = first + timedelta(weeks=n)
        end = start + timedelta(days=6)
        covered_from, covered_to = max(start, enrollment.started_on), min(end, enrollment.ended_on or end)
        covered = max(0, (covered_to - covered_from).days + 1)
        prescribed = round(enrollment.post_workouts_per_week * covered / 7)
        checkin_day = start + timedelta(days=enrollment.weekly_checkin_weekday)
        due = int(covered_from <= checkin_day <= min(covered_to, last_day))
        out.append(
            Week(
                start=start,
                sessions=sessions.get(start, 0),
                prescribed=prescribed,
                checkins=checkins.get(start, 0),
                checkins_due=due,
                exercise_days=exercise_days.get(start),
                in_progress=start <= today <= end,
            )
        )
    return out
