"""The fault suite's machinery (tests/integration/test_faults.py): a Redis of the test's own, real beat, a ledger.

- ``RedisServer``: a ``redis-server`` on a free port, without persistence, that a test may stop, freeze
  (SIGSTOP), thaw and start again empty on the same port. The shared Redis of the machine is never touched.
- ``Rig``: the production layout around it: a scan worker (``-Q celery``), an email worker (``-Q email``) and
  ``celery beat`` with the database scheduler, all real subprocesses on the test's database, Redis and SMTP
  server; red-flag entries submitted through the HTTP API of this process.
- ``Ledger``: what must come out of it (one R-01 alert per red-flag patient, its email, the digests asked
  for) against what did: lost and duplicated alerts, emails received by the SMTP server, repeated Message-IDs.

Beat ticks faster here than in production: the sweeps are added as database rows (``fast_sweeps``), as an
administrator would add a periodic task, every second instead of every 15 s (outbox) and 30 s (unscanned).
The rows of ``CELERY_BEAT_SCHEDULE`` stay as they are: beat rewrites those from the settings when it starts.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from assessments.models import Alert, Entry, OutgoingEmail
from assessments.tasks import SWEEP_DELAY
from clinic import publish
from patients.models import Patient, Therapist
from programs.models import Enrollment
from tests.api.helpers import ASSESSMENTS, client_for
from tests.conftest import skip_or_fail
from tests.integration.conftest import ROOT, SmtpServer, StartWorker, Worker, free_port, succeeded, wait_until
from tests.integration.helpers import RED_FLAG_SESSION, enrolled_patient, write_entry

SWEEPS = ("assessments.sweep_unscanned", "assessments.sweep_outbox")
FAULT = "fault"  # the user property that carries a test's tally to the terminal summary


def settings_for(**variables: str) -> ModuleType:
    """clinic/settings.py as a process started with these environment variables reads it (nothing is applied)."""
    spec = importlib.util.find_spec("clinic.settings")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as env:
        for name, value in variables.items():
            env.setenv(name, value)
        spec.loader.exec_module(module)
    return module


# --- Redis -------------------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own: no persistence, so a restart is a Redis that lost every message."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            skip_or_fail("redis-server is not installed (the fault suite starts a Redis of its own)")
        self.binary = str(binary)
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        """Start (again, on the same port, empty) and wait until it answers."""
        assert self.process is None or self.process.poll() is not None, "already running"
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.folder)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

        def answers() -> bool:
            try:
                return bool(self.client().ping())
            except redis.RedisError:
                return False

        wait_until(answers, what=f"redis-server on port {self.port}", timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, and nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def queued(self) -> Counter[str]:
        """The tasks of the messages waiting in the two Celery queues, by name."""
        names: Counter[str] = Counter()
        client = self.client()
        for queue in ("celery", "email"):
            for raw in client.lrange(queue, 0, -1):
                names[json.loads(raw)["headers"]["task"]] += 1
        return names


def publishing_idle(timeout: float = 15.0) -> None:
    """Wait until no publish from this process is still in progress (clinic/publish.py's threads).

    A publish started while the broker was frozen holds its thread until its socket times out; the next test
    must not start with its publishing slots taken.
    """
    assert publish.wait_idle(timeout), "a publish to the test's Redis is still hanging"


# --- beat --------------------------------------------------------------------------------------------------


def fast_sweeps(*names: str, every: int = 1) -> None:
    """Periodic-task rows that run these entries of CELERY_BEAT_SCHEDULE every ``every`` seconds, next to them.

    Same task and options; an expiry there (the outbox sweep's, one interval) stays one interval.
    """
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
    for name in names:
        entry = settings.CELERY_BEAT_SCHEDULE[name]
        expires = every if "expire_seconds" in entry.get("options", {}) else None
        PeriodicTask.objects.create(
            name=f"fault: {name}", task=entry["task"], interval=interval, expire_seconds=expires
        )


def beat_command(schedule_file: Path) -> list[str]:
    """``celery beat`` as the Procfile runs it (database scheduler, no pidfile, so two can run at once)."""
    return [
        sys.executable, "-m", "celery", "-A", "clinic", "beat", "-l", "INFO",
        "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile=", "-s", str(schedule_file),
    ]  # fmt: skip


def start_process(name: str, command: list[str], env: dict[str, str], log: Path) -> Worker:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Worker(name, process, log)


def beat_sent(beat: Worker, task: str) -> int:
    """How many times this beat has published the task (its periodic-task row names ``fault: ...``)."""
    return beat.text().count(f"Sending due task fault: {task}")


# --- the ledger --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    fault: str
    alerts_expected: int
    alerts: int
    alerts_dup: int
    emails_expected: int
    emails: int
    emails_dup: int
    recovery: float | None  # None: the last expected email never came
    since: str  # what the recovery time is counted from
    note: str = ""

    @property
    def alerts_lost(self) -> int:
        return self.alerts_expected - self.alerts

    @property
    def emails_lost(self) -> int:
        return self.emails_expected - self.emails

    def line(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return (
            f"FAULT {self.fault}: alerts {self.alerts}/{self.alerts_expected} lost {self.alerts_lost} "
            f"dup {self.alerts_dup}; emails {self.emails}/{self.emails_expected} lost {self.emails_lost} "
            f"dup {self.emails_dup}; "
            + (f"recovered {self.recovery:.1f} s after {self.since}" if self.recovery is not None else "not recovered")
            + note
        )

    def as_row(self) -> dict[str, Any]:
        """Plain values (a user property travels from a pytest-xdist worker to the summary)."""
        return {**asdict(self), "alerts_lost": self.alerts_lost, "emails_lost": self.emails_lost}


def _recovered(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


def fault_table(rows: list[dict[str, Any]]) -> list[str]:
    """The terminal summary's table, one line per fault."""
    header = ("fault", "alerts", "lost", "dup", "emails", "lost", "dup", "recovered", "after")
    lines = [
        (
            r["fault"], f"{r['alerts']}/{r['alerts_expected']}", str(r["alerts_lost"]), str(r["alerts_dup"]),
            f"{r['emails']}/{r['emails_expected']}", str(r["emails_lost"]), str(r["emails_dup"]),
            _recovered(r["recovery"]), r["since"] + (f" ({r['note']})" if r["note"] else ""),
        )
        for r in rows
    ]  # fmt: skip
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header) - 1)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=False)) + "  " + cells[-1]
            for cells in [header, *lines]]  # fmt: skip


class Ledger:
    """Expected alerts and emails of a fault test, and the count of what came out of the system."""

    def __init__(self, smtp: SmtpServer) -> None:
        self.smtp = smtp
        self.patients: list[Patient] = []
        self.digests_for: list[Therapist] = []

    def _alerts(self) -> dict[int, list[Alert]]:
        by_patient: dict[int, list[Alert]] = {p.pk: [] for p in self.patients}
        for alert in Alert.objects.filter(patient__in=self.patients, rule_id="R-01").order_by("pk"):
            by_patient[alert.patient_id].append(alert)
        return by_patient

    def _expected_emails(self) -> list[OutgoingEmail | None]:
        """One row per email that must arrive: each patient's first R-01 alert email, each digest asked for."""
        keys = [f"alert:{alerts[0].pk}:immediate" for alerts in self._alerts().values() if alerts]
        rows: dict[str, OutgoingEmail] = {e.key: e for e in OutgoingEmail.objects.filter(key__in=keys)}
        expected: list[OutgoingEmail | None] = [rows.get(key) for key in keys]
        expected += [None] * (len(self.patients) - len(keys))  # no alert, so no email either
        for therapist in self.digests_for:
            expected.append(OutgoingEmail.objects.filter(key__startswith=f"digest:{therapist.pk}:").first())
        return expected

    def delivered(self) -> bool:
        received = {m.message_id for m in self.smtp.received}
        return all(row is not None and row.message_id in received for row in self._expected_emails())

    def tally(self, fault: str, *, recovery: float | None, since: str, note: str = "") -> Tally:
        alerts = self._alerts()
        open_keys = Counter(
            (a.patient_id, a.rule_id, a.qualifier)
            for found in alerts.values()
            for a in found
            if a.status not in Alert.CLOSED
        )
        received = Counter(m.message_id for m in self.smtp.received)
        expected = self._expected_emails()
        expected_ids = {row.message_id for row in expected if row is not None}
        # Received emails about these patients' alerts or these digests that no expectation accounts for: a
        # second alert's email, a second digest.
        ours = [f"alert:{a.pk}:" for found in alerts.values() for a in found]
        ours += [f"digest:{t.pk}:" for t in self.digests_for]
        extra = [
            row.key
            for row in OutgoingEmail.objects.all()  # the Message-ID is derived from the key, not stored
            if row.message_id in received and row.message_id not in expected_ids and row.key.startswith(tuple(ours))
        ]
        return Tally(
            fault=fault,
            alerts_expected=len(self.patients),
            alerts=sum(1 for found in alerts.values() if found),
            alerts_dup=sum(n - 1 for n in open_keys.values()),
            emails_expected=len(expected),
            emails=sum(1 for row in expected if row is not None and row.message_id in received),
            emails_dup=sum(n - 1 for n in received.values()) + len(extra),
            recovery=recovery,
            since=since,
            note=note,
        )


# --- the rig -----------------------------------------------------------------------------------------------


@dataclass
class Rig:
    """One fault test's system: workers and beat in the production layout, the ledger, the report."""

    redis: RedisServer
    smtp: SmtpServer
    start_worker: StartWorker
    process_env: dict[str, str]
    folder: Path
    item: pytest.Item
    processes: list[Worker] = field(default_factory=list)
    ledger: Ledger = field(init=False)
    _numbers: Iterator[int] = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.smtp)
        self._numbers = iter(range(1, 1000))

    # processes

    def start(self, *names: str, environment: dict[str, str] | None = None) -> list[Worker]:
        """Start processes by role, wait until all are up: ``scans*`` (-Q celery), ``mail*`` (-Q email), ``beat*``."""
        started = []
        for name in names:
            if name.startswith("beat"):
                log = self.folder / f"{name}.log"
                started.append(
                    start_process(name, beat_command(self.folder / f"{name}-schedule"), self.process_env, log)
                )
                continue
            queues = "email" if name.startswith("mail") else "celery"
            env = {"CACHE_URL": self.redis.url(1), **(environment or {})}
            started.append(self.start_worker(name, ready=False, queues=queues, environment=env))
        self.processes += started
        marks = {w.name: "beat: Starting..." if w.name.startswith("beat") else " ready." for w in started}
        wait_until(
            lambda: all(marks[w.name] in w.text() or w.process.poll() is not None for w in started),
            what=f"{', '.join(names)} to start",
            workers=tuple(started),
        )
        for w in started:
            if w.process.poll() is not None:
                pytest.fail(f"{w.name} exited with {w.process.returncode}\n{w.tail()}", pytrace=False)
        return started

    def get(self, name: str) -> Worker:
        return next(w for w in reversed(self.processes) if w.name == name)

    def workers(self) -> tuple[Worker, ...]:
        return tuple(w for w in self.processes if not w.name.startswith("beat"))

    def wait(self, check: Any, *, what: str, timeout: float = 30.0) -> Any:
        return wait_until(check, what=what, timeout=timeout, workers=tuple(self.processes))

    def logged(self, text: str) -> dict[str, int]:
        """How many lines of each process's log hold the text so far."""
        return {w.name: w.text().count(text) for w in self.processes}

    def wait_logged(self, text: str, *names: str, since: dict[str, int]) -> None:
        """Wait until each named process logged the text again (the fault reached it)."""
        self.wait(
            lambda: all(self.get(n).text().count(text) > since.get(n, 0) for n in names),
            what=f"{', '.join(names)} to log {text!r}",
        )

    # patients and entries

    def patients(self, count: int) -> list[Patient]:
        """Enrolled patients, each with a therapist of their own; each must end with one R-01 alert and its email."""
        made = [enrolled_patient(number=next(self._numbers))[0] for _ in range(count)]
        self.ledger.patients += made
        return made

    def write(self, patient: Patient) -> None:
        """Store a red-flag entry without publishing its scan: only a sweep will find it."""
        write_entry(patient, Enrollment.objects.get(patient=patient, active=True), RED_FLAG_SESSION)

    def submit(self, patient: Patient) -> float:
        """POST a red-flag entry as the patient, through the API of this process; the seconds it took."""
        client = client_for(patient.user)
        started = time.monotonic()
        response = client.post(ASSESSMENTS, {"kind": "post_workout", "answers": RED_FLAG_SESSION}, format="json")
        took = time.monotonic() - started
        assert response.status_code == 201, response.content
        return took

    def past_sweep_grace(self, patients: list[Patient]) -> None:
        """Move the entries' submission back by the unscanned sweep's grace (30 s): the fault lasted that long.

        The sweep leaves entries younger than that to the scan their commit published; without this the test
        would wait 30 s for nothing.
        """
        Entry.objects.filter(patient__in=patients).update(submitted_at=F("submitted_at") - SWEEP_DELAY)

    # outcome

    def recover(self, *, since: float, timeout: float = 30.0) -> float | None:
        """Wait until every expected email reached the SMTP server; the seconds from ``since`` to the last one.

        Then each sweep runs twice more, so that a late duplicate would still be counted. None: it never came.
        """
        deadline = time.monotonic() + timeout
        while not self.ledger.delivered():
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        recovery = time.monotonic() - since
        workers = self.workers()
        done = {task: succeeded(workers, task) for task in SWEEPS}
        self.wait(
            lambda: all(succeeded(workers, task) >= done[task] + 2 for task in SWEEPS),
            what="two more runs of each sweep",
        )
        return recovery

    def report(self, fault: str, *, recovery: float | None, since: str, note: str = "") -> Tally:
        """Count, print the line, hand it to the terminal summary, and require nothing lost and nothing twice."""
        tally = self.ledger.tally(fault, recovery=recovery, since=since, note=note)
        print(f"\n{tally.line()}")
        self.item.user_properties.append((FAULT, tally.as_row()))
        logs = "\n".join(f"--- {w.name} ---\n{w.tail()}" for w in self.processes)
        assert (tally.alerts_lost, tally.alerts_dup, tally.emails_lost, tally.emails_dup) == (0, 0, 0, 0), (
            f"{tally.line()}\n{logs}"
        )
        assert recovery is not None
        assert Entry.objects.filter(patient__in=self.ledger.patients, scanned_at__isnull=True).count() == 0
        for worker in self.workers():  # losing the broker is logged as an error; a task that failed is a bug
            assert "raised unexpected" not in worker.text(), f"{worker.name}:\n{worker.tail()}"
        return tally


def backoff_elapsed() -> int:
    """The clock moves past the outbox's retry backoff (30 s after a first failure): those emails are due now."""
    return OutgoingEmail.objects.filter(status=OutgoingEmail.Status.RETRY).update(next_attempt_at=timezone.now())
