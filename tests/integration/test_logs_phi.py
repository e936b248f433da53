"""No health information in any log, and one request id from the web request to the tasks it causes (issue 11,
item 6).

Everything runs for real: gunicorn with the production config (clinic/gunicorn_conf.py) and a Celery worker as
subprocesses, at LOG_LEVEL=DEBUG with JSON lines, on the test's database, broker and SMTP server. A patient
whose surname is a sentinel is searched for in the admin, submits a red-flag self-assessment through the API
(the worker scans it, raises the alert and emails the therapist), fails a login and a validation with the
sentinel in the body, and asks for a URL with the sentinel in its path. Then every log is searched for the
sentinel and the patient's email address.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import logging
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.utils import timezone

from assessments.models import Alert, Entry, OutgoingEmail
from patients.models import Patient
from tests.factories import PASSWORD, EnrollmentFactory, PortalPatientFactory, TherapistFactory
from tests.integration.conftest import (
    ROOT,
    Broker,
    SharedDb,
    SmtpServer,
    StartWorker,
    free_port,
    stop_all,
    wait_until,
)
from tests.integration.helpers import RED_FLAG_SESSION

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SENTINEL = "Zzyzxsentinel"  # the patient's surname; their first name starts with it too
SCAN = "assessments.scan_patient"
SEND = "assessments.send_email"
LOGGED_KEYS = {"event", "level", "logger", "timestamp"}


# --- the web server ------------------------------------------------------------------------------------


@dataclass
class WebServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def web(shared_db: SharedDb, broker: Broker, smtp: SmtpServer, tmp_path: Path) -> Iterator[WebServer]:
    """gunicorn as in production (its config, JSON lines), at DEBUG, on this test's database and broker."""
    port = free_port()
    log = tmp_path / "web.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DATABASE_URL": shared_db.url,
        "CELERY_BROKER_URL": broker.url,
        "EMAIL_URL": smtp.url,
        "VAR_DIR": str(broker.var_dir),
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:clinic.gunicorn_conf", "clinic.wsgi:application"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = WebServer(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until(lambda: _answers(server), what="gunicorn to answer")
        yield server
    finally:
        stop_all([process])


def _answers(server: WebServer) -> bool:
    if server.process.poll() is not None:
        pytest.fail(f"gunicorn exited with {server.process.returncode}\n{server.text()}", pytrace=False)
    try:
        with urllib.request.urlopen(f"{server.url}/health/", timeout=5):  # noqa: S310 (loopback only)
            return True
    except urllib.error.HTTPError:
        return True  # 503 while the broker or cache is warming up: the server answers
    except OSError:
        return False


class Browser:
    """An HTTP client with cookies (the admin's session and CSRF token), against the real server."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(
        self, method: str, path: str, *, form: dict[str, str] | None = None, body: Any = None, token: str = ""
    ) -> tuple[int, str]:
        headers = {"Referer": f"{self.base}{path}"}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Token {token}"
        url = f"{self.base}{path}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (loopback)
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.cookies if c.name == name and c.value is not None)

    def admin_login(self, email: str) -> None:
        status, page = self.request("GET", "/admin/login/")
        assert status == 200, page
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        form = {"csrfmiddlewaretoken": token.group(1), "username": email, "password": PASSWORD, "next": "/admin/"}
        status, page = self.request("POST", "/admin/login/?next=/admin/", form=form)
        assert status == 200, page
        assert "sessionid" in {c.name for c in self.cookies}, "the admin login failed"


# --- the logs ------------------------------------------------------------------------------------------


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every log line of the output, parsed; any other line must be the worker's start-up banner."""
    events = []
    for line in text.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            assert isinstance(event, dict), line
            assert set(event) >= LOGGED_KEYS, line
            events.append(event)
        else:
            assert _banner(line), f"not a JSON log line: {line!r}"
    return events


def _banner(line: str) -> bool:
    """What Celery prints, not logs: the worker's banner (art, configuration, queues, tasks) and its goodbye."""
    return bool(re.match(r"^(\s|-|\[|$|worker: Warm shutdown)", line))


@pytest.fixture
def sentinel_patient(shared_db: SharedDb) -> Patient:
    therapist = TherapistFactory()
    patient = cast(
        Patient,
        PortalPatientFactory(
            therapist=therapist,
            first_name=f"{SENTINEL}given",
            last_name=SENTINEL,
            email=f"zz.{SENTINEL.lower()}@example.test",
            caseload_ref="CR-LOGS-001",
        ),
    )
    EnrollmentFactory(patient=patient, phase_since=timezone.localdate() - dt.timedelta(days=2))
    # Hashed as the web server checks passwords: the tests' fast hasher is not in its list.
    argon2 = Argon2PasswordHasher()
    for user in (patient.user, therapist.user):
        user.password = argon2.encode(PASSWORD, argon2.salt())
        user.save(update_fields=["password"])
    return patient


def test_no_health_information_in_any_log_and_the_request_id_reaches_the_tasks(
    web: WebServer,
    start_worker: StartWorker,
    smtp: SmtpServer,
    sentinel_patient: Patient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    patient = sentinel_patient
    worker = start_worker(environment={"LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json"})
    portal = Browser(web.url)

    # A failed login, then a good one, with the patient's email address in the body.
    status, _ = portal.request("POST", "/api/v1/auth/token/", body={"email": patient.email, "password": "wrong"})
    assert status == 400
    status, answer = portal.request("POST", "/api/v1/auth/token/", body={"email": patient.email, "password": PASSWORD})
    assert status == 200, answer
    token = json.loads(answer)["token"]

    # A red flag: stored, scanned by the worker, an urgent alert emailed to the therapist.
    body = {"kind": "post_workout", "answers": RED_FLAG_SESSION}
    status, answer = portal.request("POST", "/api/v1/assessments/", body=body, token=token)
    assert status == 201, answer
    wait_until(lambda: smtp.received, what="the red-flag email", workers=(worker,))
    wait_until(lambda: worker.succeeded(SEND) >= 1, what="the send task", workers=(worker,))

    # Refused answers with the sentinel in them, an unknown field, a query of the API, URLs with it in the path.
    # (No red flag in them: a refused red flag is reported and emailed too, tested elsewhere.)
    answers = {**RED_FLAG_SESSION, "safety_screen": [], "back_pain_now": SENTINEL}
    refused = {"kind": "post_workout", "answers": answers, "notes": SENTINEL}
    status, answer = portal.request("POST", "/api/v1/assessments/", body=refused, token=token)
    assert status == 400, answer
    assert portal.request("GET", f"/api/v1/assessments/?since={SENTINEL}", token=token)[0] in {200, 400}
    assert portal.request("GET", f"/api/v1/{SENTINEL}/", token=token)[0] == 404
    assert portal.request("GET", f"/api/v1/me/?q={SENTINEL}", token=token)[0] == 200

    # The therapist searches the admin for the patient, by surname and by email address.
    admin = Browser(web.url)
    admin.admin_login(patient.therapist.user.email)
    for changelist in ("/admin/patients/patient/", "/admin/assessments/entry/", "/admin/assessments/alert/"):
        for term in (SENTINEL, patient.email):
            status, page = admin.request("GET", f"{changelist}?{urllib.parse.urlencode({'q': term})}")
            assert status == 200, page
    status, page = admin.request("GET", f"/admin/patients/patient/?{urllib.parse.urlencode({'q': SENTINEL})}")
    assert SENTINEL in page  # the search found the patient: the name was there to leak
    assert admin.request("GET", f"/admin/patients/patient/{SENTINEL}/change/")[0] == 404
    assert admin.request("GET", f"/admin/{SENTINEL}/")[0] == 404

    assert Entry.objects.filter(patient=patient).count() == 1
    assert Alert.objects.filter(patient=patient).exists()
    assert OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).exists()
    stop_all([web.process, worker.process])

    logs = {"web (gunicorn)": web.text(), "worker": worker.text(), "this process (caplog)": caplog.text}
    assert logs["web (gunicorn)"]
    assert logs["worker"]
    secrets = {SENTINEL.lower(), patient.email.lower(), patient.first_name.lower()}
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text.lower(), f"{secret!r} is in the {name} log"

    web_events = json_lines(logs["web (gunicorn)"])
    worker_events = json_lines(logs["worker"])
    assert {"request_started", "request_finished", "request_served"} <= {e["event"] for e in web_events}
    searches = [e for e in web_events if e["event"] == "request_started" and "/admin/" in e["request"]]
    assert "GET /admin/patients/patient/" in {e["request"] for e in searches}  # logged, without the search
    assert "GET /api/v1/*/" in {e["request"] for e in web_events if e["event"] == "request_started"}

    # The request id of the submission, in the web log, labels the scan and the email it caused in the worker's.
    (submitted,) = [
        e
        for e in web_events
        if e["event"] == "request_finished" and e["request"] == "POST /api/v1/assessments/" and e["code"] == 201
    ]
    request_id = submitted["request_id"]
    assert request_id
    assert [e["status"] for e in web_events if e["event"] == "request_served" and e["request_id"] == request_id] == [
        201
    ]
    (scan_started,) = [e for e in worker_events if e["event"] == "task_started" and e.get("task") == SCAN]
    scan_id = scan_started["task_id"]
    scan_lines = [e for e in worker_events if e.get("task_id") == scan_id]
    assert {e.get("request_id") for e in scan_lines} == {request_id}
    assert any(f"Task {SCAN}[{scan_id}] succeeded" in e["event"] for e in scan_lines)
    assert {"task_started", "task_enqueued", "task_succeeded"} <= {e["event"] for e in scan_lines}
    (send_started,) = [e for e in worker_events if e["event"] == "task_started" and e.get("task") == SEND]
    assert send_started["request_id"] == request_id
    assert send_started["parent_task_id"] == scan_id
