"""Latency from an urgent self-assessment submitted through the API to its email accepted by an SMTP server.

A real Celery worker (a subprocess, as in production) on Redis and PostgreSQL, a real SMTP server
(aiosmtpd, on a free loopback port, in this process). Each patient (with three weeks of quiet history)
POSTs one red-flag post-workout entry through the portal API (Django's test client: the whole request
path, middleware to service, without a socket); on commit the scan is published, the worker raises the
urgent R-01 alert, writes its outbox row and sends it. The clock runs from just before the POST to the
moment the SMTP server has the whole message.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        python -m bench.submit_to_email [--submissions 200] [--interval 0.1] [--concurrency 2] [--redis-db 9]

``--interval 0`` submits everything at once (the queue then adds to the latency of the later ones).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.common import add_json_option, bench_database_url, create_database, setup_django, wipe, write_json

ROOT = Path(__file__).resolve().parents[1]
CASELOAD_REF = re.compile(rb"caseload (CR-L\d{5})")


class Inbox:
    """An aiosmtpd handler noting when each message was accepted, by the caseload reference in its body."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: dict[str, float] = {}
        self.duplicates = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        match = CASELOAD_REF.search(envelope.content)
        if match:
            with self.lock:
                ref = match.group(1).decode()
                if ref in self.accepted:
                    self.duplicates += 1
                else:
                    self.accepted[ref] = now
        return "250 2.0.0 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _prepare(submissions: int) -> list[tuple[str, str]]:
    """A clinic, a therapist and the patients (caseload reference, API token), each with quiet history."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from knox.models import AuthToken

    from assessments.demo import history_create
    from patients.models import Clinic, Patient, Therapist
    from programs.models import Enrollment, Phase, Program

    wipe()
    user_model = get_user_model()
    clinic = Clinic.objects.create(name="Latency clinic", timezone="Europe/London")
    staff = user_model.objects.create(username="therapist@bench.test", email="therapist@bench.test", is_staff=True)
    therapist = Therapist.objects.create(user=staff, clinic=clinic, display_name="Bench Therapist, PT")
    program = Program.objects.create(name="Core stabilization (latency bench)", kind=Phase.STABILIZATION)
    today = timezone.localdate()
    patients = []
    for i in range(submissions):
        user = user_model.objects.create(username=f"p{i}@bench.test", email=f"p{i}@bench.test")
        patient = Patient.objects.create(
            clinic=clinic,
            therapist=therapist,
            first_name="Bench",
            last_name=f"Patient {i}",
            email=user.email,
            caseload_ref=f"CR-L{i:05d}",
            user=user,
        )
        enrollment = Enrollment.objects.create(
            patient=patient,
            program=program,
            phase=Phase.STABILIZATION,
            phase_since=today - timedelta(days=2),
            started_on=today - timedelta(days=21),  # the demo history runs from here: three weeks
        )
        history_create(patient=patient, enrollment=enrollment, pattern="quiet")
        patients.append((patient.caseload_ref, AuthToken.objects.create(user=user)[1]))
    # The history is old news: marked scanned, so that each scan judges the new entry against it.
    from assessments.models import Entry

    Entry.objects.update(scanned_at=timezone.now())
    return patients


def _start_worker(env: dict[str, str], log: Path, name: str, queue: str, concurrency: int) -> subprocess.Popen[bytes]:
    """A worker as the Procfile starts it (prefork, ``-Q`` its queue), with the baseline's no-op task loaded."""
    command = [
        sys.executable, "-m", "celery", "-A", "clinic", "worker", "-Q", queue, f"--concurrency={concurrency}",
        "--include=bench.tasks", "-l", "INFO", "--without-gossip", "--without-mingle", "-n", f"{name}@%h",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _submit(patients: list[tuple[str, str]], interval: float, inbox: Inbox, timeout: float) -> tuple[list[float], int]:
    """POST one urgent entry per patient, one every ``interval`` s (0: all at once); wait for the emails.

    Returns the latencies (submit -> email accepted, seconds) and how many emails never came.
    """
    from rest_framework.test import APIClient

    from assessments.demo import QUIET_SESSION

    answers = {**QUIET_SESSION, "back_pain_now": 4, "safety_screen": ["saddle_numbness"]}
    submitted: dict[str, float] = {}
    for ref, token in patients:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        submitted[ref] = time.monotonic()
        response = client.post("/api/v1/assessments/", {"kind": "post_workout", "answers": answers}, format="json")
        if response.status_code != 201:
            sys.exit(f"submit failed: {response.status_code} {response.content[:300]!r}")
        if interval:
            time.sleep(max(0.0, submitted[ref] + interval - time.monotonic()))
    deadline = time.monotonic() + timeout
    while any(ref not in inbox.accepted for ref in submitted) and time.monotonic() < deadline:
        time.sleep(0.02)
    latencies = [inbox.accepted[ref] - at for ref, at in submitted.items() if ref in inbox.accepted]
    return latencies, len(submitted) - len(latencies)


def _noop_round_trips(count: int, interval: float, broker: str, timeout: float) -> list[float]:
    """The baseline: ``count`` no-op tasks (bench.tasks) published to the scan queue, one every ``interval`` s;
    the seconds from each publish to its execution."""
    import redis

    from clinic.celery import app

    client = redis.Redis.from_url(broker)
    key = f"bench:noop:{time.time_ns()}"
    for _ in range(count):
        published = time.time()
        app.send_task("bench.noop", args=(key, published), queue="celery")
        if interval:
            time.sleep(max(0.0, published + interval - time.time()))
    deadline = time.monotonic() + timeout
    while client.llen(key) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    rows = [(row.decode() if isinstance(row, bytes) else row).split() for row in client.lrange(key, 0, -1)]
    client.delete(key)
    return [float(ran) - float(published) for published, ran in rows]


def _ms(values: list[float], share: float) -> str:
    return f"{_percentile(values, share) * 1000:.0f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=200, help="urgent entries per phase (default 200)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between submissions (default 0.1)")
    parser.add_argument("--database", default="clinic_bench_latency", help="database to create/use")
    parser.add_argument("--concurrency", type=int, default=2, help="processes of each worker (default 2, Procfile)")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database of the broker (default 9)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for the last email")
    add_json_option(parser)
    args = parser.parse_args()

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        sys.exit("This benchmark needs CELERY_BROKER_URL=redis://... (a broker its worker subprocess shares).")
    # A Redis database of its own: nothing else feeds these workers, nothing else takes their messages.
    broker = urlunsplit(urlsplit(broker)._replace(path=f"/{args.redis_db}"))
    url = bench_database_url(args.database)
    create_database(url)
    setup_django(url, CELERY_BROKER_URL=broker, CACHE_URL="locmemcache://")

    from aiosmtpd.controller import Controller

    from clinic.celery import app

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    app.control.purge()
    patients = _prepare(2 * args.submissions)  # one urgent alert per patient: the burst needs patients of its own
    steady, burst = patients[: args.submissions], patients[args.submissions :]
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    var_dir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "VAR_DIR": str(var_dir),
        "DEBUG": "false",
        "LOG_LEVEL": "INFO",  # as in production; the worker says " ready." at INFO
    }
    workers = [
        _start_worker(env, var_dir / "scan.log", "scan", "celery", args.concurrency),
        _start_worker(env, var_dir / "email.log", "email", "email", args.concurrency),
    ]
    results: dict[str, tuple[list[float], list[float], int]] = {}
    try:
        for name, group, interval in ((f"{1 / args.interval:g} per second", steady, args.interval),
                                      (f"burst of {args.submissions}", burst, 0.0)):  # fmt: skip
            baseline = _noop_round_trips(len(group), interval, broker, args.timeout)
            latencies, missing = _submit(group, interval, inbox, args.timeout)
            results[name] = (latencies, baseline, missing)
    finally:
        for worker in workers:
            _stop(worker)
        smtp.stop()

    print(f"\nUrgent entry -> email accepted at the SMTP server ({len(steady)} per phase; workers as in the Procfile:")
    print(f"-Q celery and -Q email, prefork {args.concurrency} each; broker {broker}; PostgreSQL {args.database})\n")
    print("| phase | p50 ms | p95 ms | max ms | missing / duplicates | Celery no-op round trip p50 / p95 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (latencies, baseline, missing) in results.items():
        print(
            f"| {name} | {_ms(latencies, 0.5)} | {_ms(latencies, 0.95)} | {_ms(latencies, 1.0)} | "
            f"{missing} / {inbox.duplicates} | {_ms(baseline, 0.5)} / {_ms(baseline, 0.95)} |"
        )
    write_json(
        args.json,
        {
            "phases": {
                name: {"latencies_s": latencies, "noop_s": baseline, "missing": missing}
                for name, (latencies, baseline, missing) in results.items()
            },
            "duplicates": inbox.duplicates,
        },
    )


if __name__ == "__main__":
    main()
