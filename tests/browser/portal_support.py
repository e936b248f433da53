"""The whole stack behind the patient portal, for its browser tests: live server, Celery worker, SMTP sink.

``portal_stack`` (function scope; registered in tests/browser/conftest.py) gives a ``PortalStack``:

- ``url``: the live server (pytest-django's ``live_server``), also Django's ``SITE_URL``, so the links of every
  email point at it. Django here and in the worker sends email over SMTP to an aiosmtpd sink on a free
  loopback port (``smtp``: ``smtp.messages``, ``smtp.received``).
- a real Celery worker (a subprocess, ``--pool=solo``) consuming both queues, ``celery`` (scans) and ``email``
  (every send), on the test database and a Redis database of its own (``PORTAL_REDIS_DB``); this process
  publishes there for the duration of the test. A report POSTed through the live server is scanned by it and
  its urgent email delivered to the sink, as in production.
- a clinic (``clinic``, "Harbour Physio") with one therapist (``therapist``, ``therapist_email``,
  ``therapist_password``); ``invite_patient(first_name, email)`` makes and invites a patient of theirs.

The worker and the sink are module-scoped (``portal_worker``: started once per test module, about two seconds);
each test starts with an empty sink and an empty broker. The database is the test database, emptied after
every test as for every live-server test; the worker reads it by name, so it needs PostgreSQL, and the broker
needs Redis: on a machine without them the tests skip, and fail when REQUIRE_SERVICES=1.

Tests that use ``portal_stack`` start a worker: mark them ``pytest.mark.worker`` as tests/integration does.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from clinic import publish
from clinic.celery import app as celery_app
from patients.models import Clinic, Patient, Therapist
from patients.services import clinic_create, patient_invite, therapist_create
from programs.builtin import ensure_built_in_programs
from programs.models import Exercise, Phase, Program
from programs.services import default_program
from tests.conftest import skip_or_fail
from tests.integration.conftest import (
    ROOT,
    WORKER_EMAIL_TIMEOUT,
    SmtpServer,
    SmtpSink,
    Worker,
    _postgres_url,
    free_port,
    publishing_to,
    stop_all,
    wait_until,
)

if TYPE_CHECKING:
    from pytest_django.live_server_helper import LiveServer

# The Redis database of the portal tests' broker (the configured one and the integration tests' are left alone);
# under pytest-xdist each xdist worker takes its own, counting down (gw0 9, gw1 8 ...).
PORTAL_REDIS_DB = int(os.environ.get("PORTAL_REDIS_DB", "9")) - int(
    os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0
)
EMAIL_WAIT = 30.0

CLINIC_NAME = "Harbour Physio"
CLINIC_TIMEZONE = "Europe/London"
THERAPIST_EMAIL = "tess.tide@harbour.example"
THERAPIST_NAME = "Tess Tide, PT"
THERAPIST_PASSWORD = "harbour-lighthouse-and-tides-2026"

URL = re.compile(r"https?://[^\s<>\"')]+")


# --- emails ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSinkServer(SmtpServer):
    """The integration tests' SMTP server (``received``: envelope and message), with the messages alone."""

    @property
    def messages(self) -> list[EmailMessage]:
        """Every accepted message, oldest first."""
        return [received.message for received in self.received]


def email_text(message: EmailMessage) -> str:
    """The text of every text part (plain and HTML, entities decoded), one after the other."""
    parts = [str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join(html.unescape(part) for part in parts)


def email_links(message: EmailMessage) -> list[str]:
    """The URLs of the message, in order of appearance, without repeats."""
    return list(dict.fromkeys(URL.findall(email_text(message))))


def addressed_to(message: EmailMessage, address: str) -> bool:
    return address.lower() in str(message.get("To", "")).lower()


# --- the worker (one per test module) -------------------------------------------------------------------------


@dataclass(frozen=True)
class PortalWorker:
    """The module's worker, its broker and its SMTP sink."""

    url: str  # the live server
    broker_url: str
    transport_options: dict[str, Any]
    smtp: SmtpSinkServer
    worker: Worker


def _require_services() -> str:
    """The Redis broker URL of the portal tests, after checking that PostgreSQL and Redis are there."""
    if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip_or_fail("DATABASE_URL does not point at PostgreSQL (a worker subprocess reads the test database)")
    configured = str(celery_app.conf.broker_url)
    if not configured.startswith("redis"):
        skip_or_fail("CELERY_BROKER_URL does not point at Redis (the portal stack's worker needs a broker)")
    import redis

    broker_url = urlunsplit(urlsplit(configured)._replace(path=f"/{PORTAL_REDIS_DB}"))
    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {broker_url} is not reachable: {exc}")
    return broker_url


@pytest.fixture(scope="module")
def portal_worker(
    live_server: LiveServer, django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalWorker]:
    """A Celery worker subprocess on both queues, its own Redis database and an SMTP sink, for one module."""
    broker_url = _require_services()
    options: dict[str, Any] = dict(celery_app.conf.broker_transport_options or {})
    folder = tmp_path_factory.mktemp("portal-worker")
    controller = Controller(SmtpSink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    smtp = SmtpSinkServer(controller.handler, controller.hostname, controller.port)
    with publishing_to(broker_url, options):
        celery_app.control.purge()  # leftovers of an earlier run
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": _postgres_url(connection.settings_dict),  # the test database, by name
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_URL": smtp.url,
        "EMAIL_TIMEOUT": str(WORKER_EMAIL_TIMEOUT),
        "SITE_URL": live_server.url,  # the admin links of the alert emails
        "VAR_DIR": str(folder / "var"),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    log = folder / "worker-portal.log"
    command = [
        sys.executable, "-m", "celery", "-A", "clinic", "worker", "--pool=solo", "--concurrency=1",
        "-Q", "celery,email", "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-n", "portal@%h",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    worker = Worker("portal", process, log)
    try:
        wait_until(
            lambda: " ready." in worker.text() or process.poll() is not None,
            what="the portal worker to start",
            workers=(worker,),
        )
        if process.poll() is not None:
            pytest.fail(f"the portal worker exited with {process.returncode}\n{worker.tail()}", pytrace=False)
        yield PortalWorker(live_server.url, broker_url, options, smtp, worker)
    finally:
        stop_all([process])
        controller.stop()


# --- the stack (one per test) ---------------------------------------------------------------------------------


@dataclass
class PortalStack:
    url: str  # the live server and SITE_URL, e.g. http://localhost:41234 (no trailing slash)
    smtp: SmtpSinkServer
    worker: Worker
    clinic: Clinic
    therapist: Therapist
    therapist_email: str
    therapist_password: str
    log_start: int  # the length of the worker's log when the test began

    def wait_for_email(self, predicate: Callable[[EmailMessage], bool], timeout: float = EMAIL_WAIT) -> EmailMessage:
        """The first message at the sink for which ``predicate`` is true, waiting up to ``timeout`` seconds;
        the test fails (with the worker's log) when none arrives."""
        return wait_until(
            lambda: next((m for m in self.smtp.messages if predicate(m)), None),
            what="an email matching the predicate",
            timeout=timeout,
            workers=(self.worker,),
        )

    def wait_for_urgent_email(self, timeout: float = EMAIL_WAIT) -> EmailMessage:
        """The therapist's urgent alert email: ``[Harbour Physio] URGENT: ...``."""
        prefix = f"[{self.clinic.name}] URGENT:"
        return self.wait_for_email(
            lambda m: addressed_to(m, self.therapist_email) and str(m["Subject"]).startswith(prefix), timeout
        )

    def invite_patient(
        self, first_name: str, email: str, *, last_name: str = "Harbour", phase_since: date | None = None
    ) -> tuple[Patient, str]:
        """A new patient of the therapist, in the stabilization phase with the clinic's default program of that
        phase prescribed (exercises included), invited through the invitation service.

        Waits for the invitation email at the sink and returns the patient and the link it holds (the first
        URL of the email on the live server, whatever its path). ``phase_since`` defaults to two days ago (the
        enrollment starts then; too early for the phase rules).
        """
        ensure_built_in_programs(Program, Exercise)  # a data migration's rows, emptied by the last flush
        program = default_program(Phase.STABILIZATION, self.clinic.pk)
        assert program is not None, "no stabilization program"
        assert program.exercises.exists(), f"the program {program.name} has no exercises"
        since = phase_since or timezone.localdate(timezone=self.clinic.tz) - timedelta(days=2)
        patient, _ = patient_invite(
            clinic=self.clinic,
            therapist=self.therapist,
            email=email,
            first_name=first_name,
            last_name=last_name,
            program=program,
            phase=Phase.STABILIZATION,
            phase_since=since,
        )
        invitation = self.wait_for_email(lambda m: addressed_to(m, patient.email))
        links = [link for link in email_links(invitation) if link.startswith(f"{self.url}/")]
        assert links, f"no link to {self.url} in the invitation email:\n{email_text(invitation)}"
        return patient, links[0]

    def worker_errors(self) -> list[str]:
        """The worker's error lines logged since the test began."""
        text = self.worker.text()[self.log_start :]
        return [line for line in text.splitlines() if " ERROR " in line or "raised unexpected" in line]


@pytest.fixture
def portal_stack(portal_worker: PortalWorker, transactional_db: None, settings: Any) -> Iterator[PortalStack]:
    """The live server, the worker and the SMTP sink, with a clinic and its therapist; see the module's doc."""
    smtp = portal_worker.smtp
    settings.SITE_URL = portal_worker.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp.host
    settings.EMAIL_PORT = smtp.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = WORKER_EMAIL_TIMEOUT
    smtp.sink.reset()
    # Over the browser conftest's in-memory broker (an autouse fixture, set up before this one).
    with publishing_to(portal_worker.broker_url, dict(portal_worker.transport_options)):
        celery_app.control.purge()  # what an earlier test of the module left unconsumed
        clinic = clinic_create(name=CLINIC_NAME, timezone_name=CLINIC_TIMEZONE)
        therapist = therapist_create(
            clinic=clinic, email=THERAPIST_EMAIL, display_name=THERAPIST_NAME, password=THERAPIST_PASSWORD
        )
        try:
            yield PortalStack(
                url=portal_worker.url,
                smtp=smtp,
                worker=portal_worker.worker,
                clinic=clinic,
                therapist=therapist,
                therapist_email=therapist.user.email,
                therapist_password=THERAPIST_PASSWORD,
                log_start=len(portal_worker.worker.text()),
            )
        finally:
            # Publishes still on their way (the live server's, this thread's) go to this broker, not the next.
            publish.wait_idle(5.0)
