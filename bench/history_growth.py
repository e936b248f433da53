"""Scan cost per patient as the history grows (issue 10: flat beyond what the rules read), on PostgreSQL.

For each phase length, ``--patients`` patients in stabilization for that many days, each with a session a day and a
weekly check-in a week since 40 days before the phase began, the last ``--unscanned`` entries unscanned. Each group
is scanned (``scan_patients``, one batch) and the table gives the milliseconds per patient, the entries each
patient has and those the scan loaded for it; the baseline is the one-query read of the same patients' last 90 days
of entries (what any scan reads at least), in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic .venv/bin/python -m bench.history_growth \\
        [--patients 50] [--days 30,120,300,600] [--unscanned 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any

from bench.common import add_json_option, bench_database_url, create_database, setup_django, wipe, write_json


def _group(days: int, patients: int, unscanned: int, now: datetime) -> list[int]:
    """Patients ``days`` into the stabilization phase, with their whole diary; returns their ids."""
    from django.db.models import F

    from assessments import questionnaires as q
    from assessments.demo import QUIET_SESSION, QUIET_WEEKLY, _entry
    from assessments.models import Entry
    from patients.models import Clinic, Patient, Therapist
    from programs.models import Enrollment, Phase, Program

    clinic = Clinic.objects.get_or_create(name="Growth clinic", defaults={"timezone": "Europe/London"})[0]
    therapist = Therapist.objects.get(clinic=clinic)
    program = Program.objects.get(name="Growth program")
    tz = clinic.tz
    today = now.astimezone(tz).date()
    phase_since = today - timedelta(days=days)
    started = phase_since - timedelta(days=40)
    ids = []
    for i in range(patients):
        patient = Patient.objects.create(
            clinic=clinic, therapist=therapist, first_name="Growth", last_name=f"{days}-{i}",
            caseload_ref=f"CR-G{days:04d}{i:04d}", email=f"g{days}-{i}@growth.test",
        )  # fmt: skip
        enrollment = Enrollment.objects.create(
            patient=patient, program=program, phase=Phase.STABILIZATION, phase_since=phase_since, started_on=started
        )
        rows = []
        for n in range((today - started).days):
            day = started + timedelta(days=n)
            at = datetime.combine(day, clock(18, 0), tzinfo=tz)
            phase = Phase.STABILIZATION if day >= phase_since else Phase.TREATMENT
            rows.append(_entry(patient, enrollment, phase, q.POST_WORKOUT, at, dict(QUIET_SESSION)))
            if day.weekday() == 0:
                rows.append(_entry(patient, enrollment, phase, q.WEEKLY, at - timedelta(hours=8), dict(QUIET_WEEKLY)))
        Entry.objects.bulk_create(rows)
        # Submitted as they happened (``submitted_at`` is set on insert).
        Entry.objects.filter(patient=patient).update(submitted_at=F("occurred_at") + timedelta(minutes=5))
        stored = list(Entry.objects.filter(patient=patient).order_by("occurred_at").values_list("pk", flat=True))
        Entry.objects.filter(pk__in=stored[:-unscanned]).update(scanned_at=now)
        ids.append(patient.pk)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--days", default="30,120,300,600")
    parser.add_argument("--unscanned", type=int, default=5)
    add_json_option(parser)
    args = parser.parse_args()
    url = bench_database_url("clinic_bench_growth")
    create_database(url)
    setup_django(url, CELERY_BROKER_URL="memory://localhost/")

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from assessments.loader import load_windows
    from assessments.models import Entry
    from assessments.scanning import scan_patients
    from patients.models import Clinic, Therapist
    from programs.models import Phase, Program

    wipe()
    clinic = Clinic.objects.create(name="Growth clinic", timezone="Europe/London")
    user = get_user_model().objects.create(username="growth@bench.test", email="growth@bench.test", is_staff=True)
    Therapist.objects.create(user=user, clinic=clinic, display_name="Growth Therapist, PT")
    Program.objects.create(name="Growth program", kind=Phase.STABILIZATION)
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    for days in (int(d) for d in args.days.split(",")):
        ids = _group(days, args.patients, args.unscanned, now)
        # Loading wrote every row three times (insert, submitted_at, scanned_at): clear the dead rows and refresh the
        # planner's statistics, as autovacuum does for a table that grows one entry at a time.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE assessments_entry")
        read = []
        for _ in range(3):
            started = time.perf_counter()
            list(Entry.objects.filter(patient_id__in=ids, occurred_at__gte=now - timedelta(days=90)))
            read.append(time.perf_counter() - started)
        loaded = sum(len(w.entries) for w in load_windows(ids, now=now))
        started = time.perf_counter()
        report = scan_patients(ids, now=now)
        seconds = time.perf_counter() - started
        assert not report.failed
        rows.append(
            {
                "days": days,
                "entries": Entry.objects.filter(patient_id__in=ids).count() // len(ids),
                "loaded": loaded // len(ids),
                "scan_ms": 1000 * seconds / len(ids),
                "read_ms": 1000 * statistics.median(read) / len(ids),
            }
        )
    print(
        f"Scan per patient as the phase grows: {args.patients} patients a row, {args.unscanned} unscanned entries each"
    )
    print()
    print("| days in phase | entries | loaded by the scan | scan ms / patient | read 90 d ms / patient | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        ratio = r["scan_ms"] / r["read_ms"]
        print(
            f"| {r['days']} | {r['entries']} | {r['loaded']} | {r['scan_ms']:.2f} | {r['read_ms']:.3f} | {ratio:.1f}x |"
        )
    write_json(args.json, {"rows": rows})


if __name__ == "__main__":
    main()
