"""Remote-monitoring records: the days with self-reports per 30-day period, the management minutes per month.

- Monitoring starts on the day the patient's enrollment started. From there, 30-day periods follow one
  another (days 1-30, 31-60 ...); a patient enrolled again starts new periods, and an ended enrollment's
  periods count its days up to its end. A day counts when at least one self-report was sent on it: the day the
  report reached the clinic (``submitted_at``), in the clinic's time zone, whatever day it describes.
- Management minutes are those logged explicitly (``ManagementTime``: on triage, or "Log review time" on the
  patient page), summed per calendar month by the day of the work.
- The monthly report lists, per patient monitored during the month, each 30-day period that ends in the month
  with its day count and tier (2-15 days, 16 days or more), and the month's minutes with their tier (10 or
  more, 20 or more). A patient without a period ending in the month gets one row with the minutes only. The
  report names no billing code: the clinic's biller maps the tiers to codes.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from django.db.models import Q, Sum

from assessments.models import Entry
from patients.models import Clinic, Patient
from programs.models import Enrollment, ManagementTime

PERIOD_DAYS: Final = 30
DAY_TIERS: Final = ((16, "16 or more"), (2, "2-15"))
MINUTE_TIERS: Final = ((20, "20 or more"), (10, "10 or more"))
CSV_COLUMNS: Final = (
    "caseload_ref", "last_name", "first_name", "monitoring_start", "period_start", "period_end",
    "days_with_reports", "days_tier", "month", "minutes", "minutes_tier",
)  # fmt: skip


def _tier(value: int | None, tiers: tuple[tuple[int, str], ...]) -> str:
    if value is None:
        return ""
    return next((label for floor, label in tiers if value >= floor), "below")


@dataclass(frozen=True, slots=True)
class MonitoringRow:
    patient: Patient
    monitoring_start: date
    period_start: date | None
    period_end: date | None
    days: int | None  # days with at least one self-report in the period
    month: date  # the first day of the report's month
    minutes: int  # management minutes logged in the month

    @property
    def days_tier(self) -> str:
        return _tier(self.days, DAY_TIERS)

    @property
    def minutes_tier(self) -> str:
        return _tier(self.minutes, MINUTE_TIERS)

    def csv_values(self) -> list[str]:
        return [
            self.patient.caseload_ref,
            self.patient.last_name,
            self.patient.first_name,
            self.monitoring_start.isoformat(),
            self.period_start.isoformat() if self.period_start else "",
            self.period_end.isoformat() if self.period_end else "",
            "" if self.days is None else str(self.days),
            self.days_tier,
            f"{self.month:%Y-%m}",
            str(self.minutes),
            self.minutes_tier,
        ]


def month_bounds(month: str) -> tuple[date, date]:
    """``YYYY-MM`` from 2000-01 to 2999-12 -> (first day, last day). ValueError for anything else."""
    first = datetime.strptime(month, "%Y-%m").date()
    if not 2000 <= first.year <= 2999:
        raise ValueError(f"{month}: the year must be from 2000 to 2999")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def _periods_ending_in(start: date, first: date, last: date) -> list[tuple[date, date]]:
    periods = []
    k = max(0, -(-((first - start).days - (PERIOD_DAYS - 1)) // PERIOD_DAYS))  # the first period ending >= first
    while (end := start + timedelta(days=PERIOD_DAYS * k + PERIOD_DAYS - 1)) <= last:
        if end >= first:
            periods.append((end - timedelta(days=PERIOD_DAYS - 1), end))
        k += 1
    return periods


def monitoring_report(*, clinic: Clinic, month: str) -> list[MonitoringRow]:
    """The report of one clinic and calendar month (``YYYY-MM``). Three queries, whatever the size."""
    first, last = month_bounds(month)
    tz = clinic.tz
    enrollments = list(
        Enrollment.objects.filter(patient__clinic=clinic, started_on__lte=last)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=first))
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "patient_id", "-started_on")
    )
    spans: dict[int, tuple[Patient, list[tuple[date, date | None]]]] = {}
    for enrollment in enrollments:  # every enrollment of the patient during the month, the latest first
        spans.setdefault(enrollment.patient_id, (enrollment.patient, []))[1].append(
            (enrollment.started_on, enrollment.ended_on)
        )
    if not spans:
        return []
    earliest = min(start for _, enrolled in spans.values() for start, _ in enrolled)
    # Only periods ending in the month are counted: none began more than a period before its first day.
    since = datetime.combine(max(earliest, first - timedelta(days=PERIOD_DAYS - 1)), time.min, tzinfo=tz)
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    days: dict[int, set[date]] = defaultdict(set)
    for patient_id, submitted_at in Entry.objects.filter(
        patient_id__in=spans, submitted_at__gte=since, submitted_at__lt=until
    ).values_list("patient_id", "submitted_at"):
        days[patient_id].add(submitted_at.astimezone(tz).date())
    minutes = dict(
        ManagementTime.objects.filter(patient_id__in=spans, on__gte=first, on__lte=last)
        .values_list("patient_id")
        .annotate(total=Sum("minutes"))
        .values_list("patient_id", "total")
    )
    rows: list[MonitoringRow] = []
    for patient_id, (patient, enrolled) in spans.items():
        spent = int(minutes.get(patient_id) or 0)
        before = len(rows)
        for start, ended in sorted(enrolled):  # each enrollment's own periods, counted up to its end
            for period_start, period_end in _periods_ending_in(start, first, last):
                if ended is not None and period_start > ended:
                    continue
                counted_to = min(period_end, ended) if ended is not None else period_end
                count = sum(1 for day in days[patient_id] if period_start <= day <= counted_to)
                rows.append(MonitoringRow(patient, start, period_start, period_end, count, first, spent))
        if len(rows) == before:  # no period ends in the month: the minutes, under the latest enrollment
            rows.append(MonitoringRow(patient, enrolled[0][0], None, None, None, first, spent))
    return rows


def monitoring_csv(rows: list[MonitoringRow]) -> str:
    """The report as CSV, with a header row; a UTF-8 byte-order mark is added by the writers (spreadsheets)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(row.csv_values() for row in rows)
    return out.getvalue()
