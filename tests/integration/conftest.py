"""Fixtures of the integration tests: a real SMTP server, a database shared with real Celery workers.

The workers are subprocesses (``celery -A clinic worker``), so everything they see must be committed and
reachable from another process:

- the database: the tests are transactional. On PostgreSQL the worker connects to pytest-django's test
  database by name. On SQLite the test database is in memory, which no other process can open: for each
  test, ``shared_db`` copies it to a file and points this process's connection at that file, and back after.
- the broker: Redis (CI) in a database of its own (``INTEGRATION_REDIS_DB``, purged at the start of each
  test), or the embedded filesystem broker in folders of the test's own ``VAR_DIR``; this process's Celery
  app is pointed at the same broker as the worker for the duration of the test.
- email: an aiosmtpd server on a free loopback port, given to the worker as ``EMAIL_URL``.
- queues: a worker started without ``queues`` consumes both Celery queues, the default one (scans) and
  ``email`` (every send), as one process; ``queues="celery"`` and ``queues="email"`` give the production
  layout of two worker pools (Procfile, docker-compose.yml).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from clinic.celery import app as celery_app
from tests.conftest import REQUIRE_SERVICES, skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# Waits are bounded polls, never fixed sleeps: a worker starts in about a second, a task takes milliseconds.
DEADLINE = 30.0
# The Redis database (number) of the integration tests' broker; the configured one is left alone. Under
# pytest-xdist each xdist worker takes its own, counting down (gw0 15, gw1 14 ...).
INTEGRATION_REDIS_DB = int(os.environ.get("INTEGRATION_REDIS_DB", "15")) - int(
    os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0
)
# Short, so that the "SMTP server hangs" test waits seconds, not the production default.
WORKER_EMAIL_TIMEOUT = 2


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 costs tens of milliseconds per user; how passwords are stored is not under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- SMTP --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def bodies(self) -> list[str]:
        """The text of every part (plain and HTML)."""
        return [str(part.get_content()) for part in self.message.walk() if part.get_content_maintype() == "text"]


class SmtpSink:
    """An aiosmtpd handler that records accepted messages and can refuse (451) or hang on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self.attempts = 0
        self.data_message_ids: list[str] = []  # the Message-ID of every message that reached DATA, accepted or not
        self.refuse_next = 0  # answer "451 try again later" to this many DATA commands
        # Sit on DATA this long, then refuse: a server that stopped answering. Setting it back to 0 releases
        # the DATA commands hanging at that moment (they are refused at once).
        self.hang_seconds = 0.0

    def reset(self) -> None:
        with self._lock:
            self._received.clear()
            self.attempts = 0
            self.data_message_ids.clear()
            self.refuse_next = 0
            self.hang_seconds = 0.0

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.attempts += 1
            self.data_message_ids.append(str(message["Message-ID"]))
            hang, refuse = self.hang_seconds, self.refuse_next > 0
            if refuse:
                self.refuse_next -= 1
        if hang:
            until = time.monotonic() + hang
            while time.monotonic() < until and self.hang_seconds:
                await asyncio.sleep(0.05)
            return "451 4.4.2 Timed out"
        if refuse:
            return "451 4.3.0 Try again later"
        with self._lock:
            self._received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 2.0.0 OK"


@dataclass(frozen=True)
class SmtpServer:
    sink: SmtpSink
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.sink.received


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(sink, controller.hostname, controller.port)
    finally:
        controller.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session's SMTP server, emptied and answering normally."""
    smtp_server.sink.reset()
    return smtp_server


# --- waiting -----------------------------------------------------------------------------------------------


def wait_until(
    check: Callable[[], T | None], *, what: str, timeout: float = DEADLINE, workers: tuple[Worker, ...] = ()
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.name} ---\n{w.tail()}" for w in workers)
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}", pytrace=False)
        time.sleep(0.05)


# --- database ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedDb:
    url: str  # DATABASE_URL of the worker: the very database this test reads and writes


def _postgres_url(settings_dict: dict[str, Any]) -> str:
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(str(settings_dict.get("HOST") or "127.0.0.1"), safe="")  # a socket folder is %2F-quoted
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(str(settings_dict['NAME']), safe='')}"


@pytest.fixture
def shared_db(transactional_db: None, tmp_path: Path) -> Iterator[SharedDb]:
    """The test database, committed and reachable by a worker subprocess."""
    if connection.vendor == "postgresql":
        yield SharedDb(_postgres_url(connection.settings_dict))
        return
    if connection.vendor != "sqlite":
        pytest.skip(f"no worker set-up for the {connection.vendor} backend")
    path = tmp_path / "db.sqlite3"
    connection.ensure_connection()
    memory = connection.connection
    target = sqlite3.connect(path)
    try:
        memory.backup(target)  # schema and migration data, as pytest-django created them
    finally:
        target.close()
    name = connection.settings_dict["NAME"]
    # Detach the in-memory database without closing it: it lives only as long as a connection to it does.
    connection.connection = None
    connection.settings_dict["NAME"] = str(path)
    try:
        yield SharedDb(f"sqlite:///{path}")
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
        connection.connection = memory


# --- broker ------------------------------------------------------------------------------------------------


@contextmanager
def publishing_to(url: str, transport_options: dict[str, Any]) -> Iterator[None]:
    """Make this process's Celery app publish to another broker, and back afterwards.

    ``broker_write_url``, because Celery reads ``broker_url`` from the environment first (CELERY_BROKER_URL).
    The app keeps its connection and producer pools once created; kombu keys its pools by URL and transport
    options, so dropping the app's references is enough for the next publish to use the new broker.
    """
    conf = celery_app.conf
    # The settings' CELERY_BROKER_TRANSPORT_OPTIONS (the app reads Django's settings with the CELERY namespace)
    # wins over the plain key: both are set, or the filesystem broker keeps the folders of the settings' VAR_DIR.
    keys = ("broker_write_url", "broker_transport_options", "CELERY_BROKER_TRANSPORT_OPTIONS")
    saved = {key: conf.get(key) for key in keys}

    def _reset() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.update(
        {
            "broker_write_url": url,
            "broker_transport_options": transport_options,
            "CELERY_BROKER_TRANSPORT_OPTIONS": transport_options,
        }
    )
    _reset()
    try:
        yield
    finally:
        conf.update(saved)
        _reset()


@dataclass(frozen=True)
class Broker:
    url: str
    var_dir: Path  # the worker's VAR_DIR (its embedded broker's folders, its outbox folder)
    transport_options: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def unreachable(self, tmp_path: Path) -> Iterator[None]:
        """The broker is down, as this process sees it: every publish fails."""
        if self.url.startswith("redis"):
            with publishing_to("redis://127.0.0.1:1/0", dict(self.transport_options)):
                yield
            return
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("the broker's folder cannot be created under a file")
        folder = str(blocker / "queue")
        options = {**self.transport_options, "data_folder_in": folder, "data_folder_out": folder}
        with publishing_to(self.url, options):
            yield


@pytest.fixture
def broker(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Iterator[Broker]:
    """The broker this process and its workers share, empty at the start of the test."""
    if REQUIRE_SERVICES:
        request.getfixturevalue("require_postgres")
    url = str(celery_app.conf.broker_url)
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    if url.startswith("redis"):
        request.getfixturevalue("require_redis")
        # A Redis database of their own: other processes publishing to the configured one (a suite run in
        # parallel, a development worker) neither feed these workers nor take their messages.
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(path=f"/{INTEGRATION_REDIS_DB}"))
        options: dict[str, Any] = dict(celery_app.conf.broker_transport_options or {})
        with publishing_to(url, options):
            celery_app.control.purge()  # leftovers of an earlier test or run
            yield Broker(url, var_dir, options)
        return
    if REQUIRE_SERVICES:
        skip_or_fail("CELERY_BROKER_URL does not point at Redis")
    if not url.startswith("filesystem://"):
        pytest.skip(f"a worker subprocess cannot share the broker {url}")
    # The worker derives these folders from its VAR_DIR (clinic/settings.py); this process must use the same.
    folders = var_dir / "broker"
    options = {
        "data_folder_in": str(folders / "queue"),
        "data_folder_out": str(folders / "queue"),
        "control_folder": str(folders / "control"),
        "store_processed": False,
    }
    for key in ("data_folder_in", "control_folder"):
        Path(options[key]).mkdir(parents=True, exist_ok=True)
    with publishing_to(url, options):
        yield Broker(url, var_dir, options)


# --- workers -----------------------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def succeeded(self, task: str) -> int:
        """How many runs of the task (its registered name) this worker has finished without error."""
        return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", self.text()))

    def errors(self) -> list[str]:
        return [line for line in self.text().splitlines() if " ERROR " in line or "raised unexpected" in line]

    def kill(self) -> None:
        """SIGKILL: the worker dies wherever it is (with --pool=solo the task runs in this very process)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def succeeded(workers: tuple[Worker, ...], task: str) -> int:
    return sum(w.succeeded(task) for w in workers)


def stop_all(processes: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """Terminate (warm shutdown: a task in hand finishes), wait, then kill whatever is left."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


StartWorker = Callable[..., Worker]


@pytest.fixture
def start_worker(shared_db: SharedDb, broker: Broker, smtp: SmtpServer, tmp_path: Path) -> Iterator[StartWorker]:
    """Start real Celery workers (subprocesses) on this test's database, broker and SMTP server.

    ``queues`` (``-Q``): both queues when not given; ``environment`` adds to or overrides the worker's
    variables (e.g. ``EMAIL_TIMEOUT``). Every worker is stopped when the test ends (terminate, wait, kill),
    before the database is flushed.
    """
    started: list[Worker] = []
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": shared_db.url,
        "CELERY_BROKER_URL": broker.url,
        "EMAIL_URL": smtp.url,
        "EMAIL_TIMEOUT": str(WORKER_EMAIL_TIMEOUT),
        "VAR_DIR": str(broker.var_dir),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }

    def start(
        name: str = "w1", *, ready: bool = True, queues: str | None = None, environment: dict[str, str] | None = None
    ) -> Worker:
        log = tmp_path / f"worker-{name}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "clinic", "worker", "--pool=solo", "--concurrency=1",
            "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
        ]  # fmt: skip
        if queues is not None:
            command += ["-Q", queues]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env={**env, **(environment or {})}, stdout=out, stderr=subprocess.STDOUT
            )
        worker = Worker(name, process, log)
        started.append(worker)
        if ready:
            wait_until(
                lambda: " ready." in worker.text() or process.poll() is not None,
                what=f"worker {name} to start",
                workers=(worker,),
            )
            if process.poll() is not None:
                pytest.fail(f"worker {name} exited with {process.returncode}\n{worker.tail()}", pytrace=False)
        return worker

    try:
        yield start
    finally:
        stop_all([worker.process for worker in started])


# --- the fault suite's table -------------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the table of tests/integration/test_faults.py after the run: per fault, lost, doubled, recovery.

    Each fault test hands its tally over as a user property, which also travels from pytest-xdist workers.
    """
    from tests.integration.faults import FAULT, fault_table

    rows = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == FAULT
    ]
    if rows:
        terminalreporter.write_sep("=", "faults: alerts and emails lost or sent twice, and the time to recover")
        for line in fault_table(rows):
            terminalreporter.write_line(line)
