"""Scan throughput over a backlog on PostgreSQL: 10,000 patients x 30 unscanned entries by default.

Creates (or reuses) its own database, ``clinic_bench`` on the server of DATABASE_URL, migrates it and loads
the backlog with COPY: five clinics in different time zones, 50 therapists, enrolled patients with five
weeks of self-assessments each (25 sessions, 5 weeklies), most of them quiet, some ending in a warning
pattern or a red flag. Then it scans every patient once, in batches of 200 through ``scan_patients`` (what
one sweep or evaluate task runs), in this process or in several, and prints patients/s, entries/s, the
total time and the queries per batch.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic python -m bench.scan_backlog \\
        [--patients 10000] [--processes 1] [--batch 200] [--rebuild] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any

from bench.common import add_json_option, bench_database_url, create_database, setup_django, wipe, write_json

ENTRIES_PER_PATIENT = 30
WEEKLIES_PER_PATIENT = 5
CLINICS = ("Europe/London", "America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Los_Angeles")
THERAPISTS_PER_CLINIC = 10
# Share of patients per demo pattern (assessments/demo.py): most are quiet, as in a real caseload.
MIX = {
    "quiet": 60,
    "soreness": 15,
    "stiffening": 5,
    "thigh_neural": 5,
    "neck_strain": 5,
    "pain_returning": 5,
    "red_flag": 5,
}


# --- loading -----------------------------------------------------------------------------------------------


def _entry_rows(
    rng: random.Random, patient_id: int, enrollment_id: int, tz: Any, pattern: str, now: datetime
) -> list[dict[str, Any]]:
    """One patient's history, oldest first, ending an hour ago: weeklies every 7 days, sessions in between."""
    from assessments import demo
    from assessments import questionnaires as q

    sessions = ENTRIES_PER_PATIENT - WEEKLIES_PER_PATIENT
    days = 7 * WEEKLIES_PER_PATIENT
    today = now.astimezone(tz).date()
    tail = demo.PATTERNS[pattern]
    rows = []
    for index in range(sessions):
        day = today - timedelta(days=round((sessions - 1 - index) * days / sessions))
        at = min(datetime.combine(day, clock(18, 30), tzinfo=tz), now - timedelta(hours=1))
        answers = dict(demo.QUIET_SESSION)
        answers["back_pain_now"] = rng.randint(0, 2)
        answers["back_stiffness_now"] = rng.randint(1, 3)
        from_end = sessions - index
        if from_end <= len(tail):
            answers.update(tail[len(tail) - from_end])
        rows.append({"kind": q.POST_WORKOUT, "occurred_at": at, **answers})
    for week in range(WEEKLIES_PER_PATIENT):
        day = today - timedelta(days=7 * (WEEKLIES_PER_PATIENT - 1 - week) + 1)
        answers = dict(demo.QUIET_WEEKLY)
        if week == WEEKLIES_PER_PATIENT - 1:
            answers.update(demo.WEEKLY_PATTERNS.get(pattern, {}))
        rows.append({"kind": q.WEEKLY, "occurred_at": datetime.combine(day, clock(9), tzinfo=tz), **answers})
    for row in rows:
        row.update(patient_id=patient_id, enrollment_id=enrollment_id)
    return rows


def load_backlog(patients: int, seed: int) -> float:
    """Write the clinics, therapists, patients, enrollments and their unscanned entries; return the seconds."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from assessments.models import Entry
    from patients.models import Clinic, Patient, Therapist
    from programs.models import Enrollment, Phase, Program

    started = time.perf_counter()
    rng = random.Random(seed)
    now = timezone.now()
    wipe()
    with transaction.atomic():
        program = Program.objects.create(name="Core stabilization (bench)", kind=Phase.STABILIZATION)
        clinics = Clinic.objects.bulk_create(
            [Clinic(name=f"Bench clinic {i}", timezone=tz) for i, tz in enumerate(CLINICS)]
        )
        users = get_user_model().objects.bulk_create(
            [
                get_user_model()(username=f"t{c.pk}-{i}@bench.test", email=f"t{c.pk}-{i}@bench.test", is_staff=True)
                for c in clinics
                for i in range(THERAPISTS_PER_CLINIC)
            ]
        )
        therapists = Therapist.objects.bulk_create(
            [
                Therapist(user=user, clinic=clinics[i // THERAPISTS_PER_CLINIC], display_name=f"Therapist {i}, PT")
                for i, user in enumerate(users)
            ]
        )
        rows = []
        for i in range(patients):
            therapist = therapists[i % len(therapists)]
            rows.append(
                Patient(
                    clinic_id=therapist.clinic_id,
                    therapist=therapist,
                    first_name="Bench",
                    last_name=f"Patient {i}",
                    email=f"p{i}@bench.test",
                    caseload_ref=f"CR-B{i:06d}",
                )
            )
        created = Patient.objects.bulk_create(rows, batch_size=2000)
        today = now.date()
        enrollments = Enrollment.objects.bulk_create(
            [
                Enrollment(
                    patient=p,
                    program=program,
                    phase=Phase.STABILIZATION if i % 4 else Phase.TREATMENT,
                    phase_since=today - timedelta(days=rng.randint(10, 60)),
                    started_on=today - timedelta(days=90),
                )
                for i, p in enumerate(created)
            ],
            batch_size=2000,
        )
        zones = {c.pk: c.tz for c in clinics}
        patterns = rng.choices(list(MIX), weights=list(MIX.values()), k=patients)
        fields = [f for f in Entry._meta.concrete_fields if not f.primary_key]
        json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
        defaults = {"note": "", "questionnaire_version": 1, "scan_failures": 0, "scanned_at": None}
        columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY assessments_entry ({columns}) FROM STDIN") as copy,
        ):
            for patient, enrollment, pattern in zip(created, enrollments, patterns, strict=True):
                for row in _entry_rows(rng, patient.pk, enrollment.pk, zones[patient.clinic_id], pattern, now):
                    row.setdefault("submitted_at", row["occurred_at"])
                    row.setdefault("phase", enrollment.phase)
                    values = []
                    for f in fields:
                        fallback = f.get_default() if f.has_default() else None
                        value = row.get(f.attname, defaults.get(f.attname, fallback))
                        if f.attname in json_fields and value is not None:
                            value = json.dumps(list(value))
                        values.append(value)
                    copy.write_row(values)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def reset_scans() -> None:
    """Forget every scan (alerts, emails, scanned marks) so that the same backlog can be timed again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE assessments_outgoingemail, assessments_alert RESTART IDENTITY CASCADE")
        cursor.execute("UPDATE assessments_entry SET scanned_at = NULL, scan_failures = 0")
        cursor.execute("VACUUM ANALYZE assessments_entry")


def backlog_is_loaded(patients: int) -> bool:
    """True when the database holds this backlog, written less than six hours ago (windows count in days)."""
    from django.db.models import Max
    from django.utils import timezone

    from assessments.models import Entry
    from patients.models import Patient

    if Patient.objects.count() != patients or Entry.objects.count() != patients * ENTRIES_PER_PATIENT:
        return False
    newest = Entry.objects.aggregate(newest=Max("submitted_at"))["newest"]
    return newest is not None and timezone.now() - newest < timedelta(hours=6)


# --- scanning ----------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    patients: int
    findings: int
    created: int
    failed: int
    queries: int
    reads: int
    transaction_control: int
    seconds: float


def scan_batch(patient_ids: list[int]) -> BatchResult:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assessments.scanning import scan_patients

    connection.queries_log.clear()  # a bounded deque: once full, the context would count nothing
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        report = scan_patients(patient_ids)
    seconds = time.perf_counter() - started
    verbs = Counter(q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries)
    return BatchResult(
        patients=report.patients,
        findings=report.findings,
        created=report.created,
        failed=len(report.failed),
        queries=len(captured),
        reads=verbs["SELECT"],
        transaction_control=sum(verbs[v] for v in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")),
        seconds=seconds,
    )


def run(batches: list[list[int]], processes: int) -> list[BatchResult]:
    if processes == 1:
        return [scan_batch(batch) for batch in batches]
    import multiprocessing

    from django.db import connections

    connections.close_all()  # each child opens its own connection
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return pool.map(scan_batch, batches, chunksize=1)


def read_batch(patient_ids: list[int]) -> int:
    """The bare baseline: one SELECT of the batch's entries, as model instances, without judging anything."""
    from assessments.models import Entry

    return len(list(Entry.objects.filter(patient_id__in=patient_ids)))


def read_all(batches: list[list[int]], processes: int) -> float:
    """Seconds to read every batch with ``read_batch``, in this process or in ``processes`` forked ones."""
    started = time.perf_counter()
    if processes == 1:
        for batch in batches:
            read_batch(batch)
    else:
        import multiprocessing

        from django.db import connections

        connections.close_all()
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            pool.map(read_batch, batches, chunksize=1)
    return time.perf_counter() - started


def _spread(values: list[int]) -> str:
    return f"min {min(values)}, median {statistics.median(values):.0f}, max {max(values)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=10_000, help="patients in the backlog (default 10000)")
    parser.add_argument("--batch", type=int, default=200, help="patients per scan_patients call (default 200)")
    parser.add_argument("--processes", type=int, default=1, help="scanning processes, as workers (default 1)")
    parser.add_argument("--database", default="clinic_bench", help="database to create/use (default clinic_bench)")
    parser.add_argument("--rebuild", action="store_true", help="reload the backlog even if it is there")
    parser.add_argument("--profile", action="store_true", help="cProfile the scan (one process) and print the top")
    parser.add_argument("--seed", type=int, default=1)
    add_json_option(parser)
    args = parser.parse_args()

    url = bench_database_url(args.database)
    create_database(url)
    # The scan publishes a send task for each urgent email: to an in-process broker, not a shared queue.
    setup_django(url, CELERY_BROKER_URL="memory://localhost/")

    from django.db.models import Count

    from assessments.models import Alert, Entry, OutgoingEmail
    from patients.models import Patient

    if args.rebuild or not backlog_is_loaded(args.patients):
        print(f"loading {args.patients} patients x {ENTRIES_PER_PATIENT} entries ...", flush=True)
        print(f"loaded in {load_backlog(args.patients, args.seed):.1f} s")
    else:
        reset_scans()
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    batches = [ids[i : i + args.batch] for i in range(0, len(ids), args.batch)]
    entries = Entry.objects.count()
    # As a worker process is before its first task (clinic.celery.warm_up, run at worker_init): the URLconf loaded.
    from clinic.celery import warm_up

    warm_up()

    processes = 1 if args.profile else args.processes
    # The baseline is measured around the scan (twice before, once after), so both meet the same machine.
    baseline = [read_all(batches, processes), read_all(batches, processes)]
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
        results = run(batches, 1)
        profiler.disable()
    else:
        results = run(batches, args.processes)
    total = time.perf_counter() - started
    baseline.append(read_all(batches, processes))
    bare = statistics.median(baseline)

    scanned = Entry.objects.filter(scanned_at__isnull=False).count()
    queries = [r.queries for r in results]
    reads = [r.reads for r in results]
    control = [r.transaction_control for r in results]
    writes = [r.queries - r.reads - r.transaction_control for r in results]
    seconds = [r.seconds for r in results]
    print(f"database: {args.database}; processes: {1 if profiler else args.processes}; batch: {args.batch}")
    print(f"backlog: {len(ids)} patients, {entries} entries ({entries / max(1, len(ids)):.0f} per patient)")
    print(f"scanned: {sum(r.patients for r in results)} patients, {scanned} entries marked scanned")
    print(f"failed patients: {sum(r.failed for r in results)}")
    print(f"total: {total:.1f} s")
    print(f"one-query read of the same rows (baseline, median of 3): {bare:.2f} s; scan / read: {total / bare:.1f}x")
    print(f"patients/s: {len(ids) / total:,.0f}")
    print(f"entries/s: {scanned / total:,.0f}")
    print(f"per batch of {args.batch}: {statistics.median(seconds):.3f} s median, {max(seconds):.3f} s max")
    print(f"queries per batch: {_spread(queries)}")
    print(f"  reads (SELECT): {_spread(reads)}")
    print(f"  transaction control (BEGIN/COMMIT per patient, savepoints): {_spread(control)}")
    print(f"  writes (alerts, outbox emails, scanned marks): {_spread(writes)}")
    by_rule = dict(Alert.objects.values_list("rule_id").annotate(n=Count("id")).order_by("rule_id"))
    print(f"alerts: {sum(by_rule.values())} {by_rule}; outbox emails: {OutgoingEmail.objects.count()}")
    write_json(
        args.json,
        {"processes": processes, "patients": len(ids), "entries": entries, "scan_s": total, "read_s": bare,
         "reads_s": baseline, "failed": sum(r.failed for r in results), "alerts": sum(by_rule.values())},
    )  # fmt: skip
    if profiler is not None:
        out = io.StringIO()
        profiler.dump_stats(os.environ.get("SCAN_PSTATS", "/dev/null"))
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
