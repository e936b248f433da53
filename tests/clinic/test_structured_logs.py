"""The log chain of clinic/logs.py: what the PHI redaction masks, the two formats, and the ids a task inherits.

The end-to-end check (real gunicorn and worker, every log searched for a patient's name) is
tests/integration/test_logs_phi.py.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from clinic import publish
from clinic.logs import REDACTED, celery_receiver, formatter, redact_path, redact_phi, redact_text
from patients.models import Clinic
from tests.clinic.test_settings import PRODUCTION, SETUP, improperly_configured_message, run

SURNAME = "Zzyzxsentinel"


def redacted(**event: Any) -> dict[str, Any]:
    return dict(redact_phi(None, "info", {"event": "something", **event}))


# --- the processor -----------------------------------------------------------------------------------


def test_request_line_keeps_its_method_and_path_without_the_query_string() -> None:
    event = redacted(request=f"GET /admin/patients/patient/?q={SURNAME}&o=1")

    assert event["request"] == "GET /admin/patients/patient/"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/admin/patients/patient/12/change/", "/admin/patients/patient/12/change/"),
        (f"/admin/patients/patient/{SURNAME}/change/", "/admin/patients/patient/*/change/"),
        (f"/api/v1/{SURNAME}/", "/api/v1/*/"),
        (f"/api/v1/alerts/?search={SURNAME}", "/api/v1/alerts/"),
        (
            "/api/v1/assessments/7b1e2a4c-0d3f-4c59-9a57-0c2f4e5d6a7b/",
            "/api/v1/assessments/7b1e2a4c-0d3f-4c59-9a57-0c2f4e5d6a7b/",
        ),
        ("/static/admin/css/base.css", "/static/admin/css/base.css"),
        (f"https://clinic.example.org/admin/{SURNAME}/?q=1", "https://clinic.example.org/admin/*/"),
    ],
    ids=["object-id", "name-as-object-id", "unknown-url", "query", "uuid", "static-file", "full-url"],
)
def test_path_segments_outside_the_url_configuration_are_masked(path: str, logged: str) -> None:
    assert redact_path(path) == logged
    assert redacted(path=path)["path"] == logged


def test_values_of_identity_and_health_keys_are_masked_at_any_depth() -> None:
    event = redacted(
        first_name="Ann",
        last_name=SURNAME,
        email="ann@example.test",
        birth_date="1985-04-12",
        answers={"back_pain_now": 7, "notes": "worse after gardening"},
        evidence=["pain 7"],
        note="pain at night",
        q=SURNAME,
        body='{"answers": {}}',
        context={"patient": {"last_name": SURNAME, "pk": 4}},
    )

    for key in ("first_name", "last_name", "email", "birth_date", "answers", "evidence", "note", "q", "body"):
        assert event[key] == REDACTED, key
    assert event["context"] == {"patient": {"last_name": REDACTED, "pk": 4}}
    assert SURNAME not in json.dumps(event)


def test_ids_and_code_names_are_kept() -> None:
    event = redacted(
        request_id="r-1", task_id="t-1", task_name="assessments.scan_patient", user_id=4, code=201, duration_ms=12
    )

    assert event == {
        "event": "something",
        "request_id": "r-1",
        "task_id": "t-1",
        "task_name": "assessments.scan_patient",
        "user_id": 4,
        "code": 201,
        "duration_ms": 12,
    }


@pytest.mark.parametrize(
    ("text", "logged"),
    [
        ("could not send to ann.smith@example.test", "could not send to [email]"),
        (
            'AXES: New login failure by {username: "ann", ip_address: "1.2.3.4", path_info: "/api/v1/auth/token/"}.',
            f'AXES: New login failure by {{username: "{REDACTED}", ip_address: "1.2.3.4", '
            'path_info: "/api/v1/auth/token/"}.',
        ),
        (
            f"Patient(first_name='Ann', last_name='{SURNAME}')",
            f"Patient(first_name='{REDACTED}', last_name='{REDACTED}')",
        ),
        (f"rejected last_name={SURNAME} pk=3", f"rejected last_name={REDACTED} pk=3"),
        (
            f"Resolver404: {{'tried': [], 'path': 'api/v1/{SURNAME}/'}}",
            "Resolver404: {'tried': [], 'path': 'api/v1/*/'}",
        ),
        (f"GET /api/v1/{SURNAME}/?q={SURNAME}", "GET /api/v1/*/"),
        (
            f"DETAIL:  Key (caseload_ref)=(CR-{SURNAME}) already exists.",
            f"DETAIL:  Key (caseload_ref)=({REDACTED}) already exists.",
        ),
        (
            f"DETAIL:  Failing row contains (12, Ann, {SURNAME}, 1985-04-12).",
            f"DETAIL:  Failing row contains ({REDACTED}).",
        ),
    ],
    ids=["email", "axes-username", "repr", "bare-pair", "resolver-404", "request-line", "unique-key", "failing-row"],
)
def test_identity_inside_messages_is_masked(text: str, logged: str) -> None:
    assert redact_text(text) == logged
    assert redacted(event=text)["event"] == logged


def test_a_model_instance_is_logged_by_its_label_and_primary_key() -> None:
    clinic = Clinic(pk=3, name=f"{SURNAME} Physio")

    assert redacted(clinic=clinic)["clinic"] == "<patients.Clinic pk=3>"


# --- every logger, both formats --------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """A handler on the root logger with the project's formatter, as LOGGING sets it up (format set per test)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream, handler
    finally:
        root.removeHandler(handler)


def log_everything() -> None:
    """A structlog event (as django-structlog logs them), a foreign record of Django, one of our code, an error."""
    structlog.get_logger("django_structlog.middlewares.request").info(
        "request_started", request=f"GET /admin/patients/patient/?q={SURNAME}", last_name=SURNAME
    )
    logging.getLogger("django.request").warning("Not Found: %s", f"/api/v1/{SURNAME}/")
    logging.getLogger("assessments.outbox").warning("email to %s failed", "ann@example.test")
    try:
        raise ValueError(f"bad value for last_name='{SURNAME}'")
    except ValueError:
        logging.getLogger("assessments.scanning").exception("scan failed for patient id=%s", 4)


def test_json_lines_from_structlog_and_plain_loggers_alike_carry_no_health_information(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    stream, handler = captured
    handler.setFormatter(formatter("json"))
    structlog.contextvars.bind_contextvars(request_id="r-42")
    try:
        log_everything()
    finally:
        structlog.contextvars.clear_contextvars()

    output = stream.getvalue()
    assert SURNAME not in output
    assert "ann@example.test" not in output
    events = [json.loads(line) for line in output.splitlines()]
    assert [(e["logger"], e["level"]) for e in events] == [
        ("django_structlog.middlewares.request", "info"),
        ("django.request", "warning"),
        ("assessments.outbox", "warning"),
        ("assessments.scanning", "error"),
    ]
    assert all(e["request_id"] == "r-42" and e["timestamp"].endswith("Z") for e in events)
    assert events[0]["request"] == "GET /admin/patients/patient/"
    assert events[1]["event"] == "Not Found: /api/v1/*/"
    assert events[3]["event"] == "scan failed for patient id=4"
    assert "Traceback" in events[3]["exception"]
    assert f"last_name='{REDACTED}'" in events[3]["exception"]


def test_console_lines_are_readable_key_value_text(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, handler = captured
    handler.setFormatter(formatter("console"))
    log_everything()

    lines = stream.getvalue().splitlines()
    assert SURNAME not in stream.getvalue()
    assert lines[0].endswith(
        " INFO     django_structlog.middlewares.request request_started "
        f"last_name={REDACTED} request='GET /admin/patients/patient/'"
    )
    assert lines[1].endswith(" WARNING  django.request Not Found: /api/v1/*/")
    # The level in capitals between spaces: what an operator (and tests/integration's helpers) grep for.
    assert " ERROR    assessments.scanning scan failed for patient id=4" in lines[3]
    assert lines[4] == "Traceback (most recent call last):"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        formatter("xml")


# --- settings ----------------------------------------------------------------------------------------


PRINT_FORMAT = "import django; django.setup(); from django.conf import settings; print(settings.LOG_FORMAT)"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "console"),
        (PRODUCTION, "json"),
        ({"LOG_FORMAT": "JSON"}, "json"),
        ({**PRODUCTION, "LOG_FORMAT": "console"}, "console"),
    ],
    ids=["development", "production", "chosen", "production-chooses-console"],
)
def test_log_format_is_json_in_production_and_console_in_development(
    tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    result = run(tmp_path, ["-c", PRINT_FORMAT], **variables)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_unknown_log_format_stops_start_up(tmp_path: Path) -> None:
    result = run(tmp_path, ["-c", SETUP], LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT" in improperly_configured_message(result.stderr)


# --- ids that travel -------------------------------------------------------------------------------


def test_a_publish_from_a_request_runs_in_the_requests_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """clinic/publish.py sends from a thread pool; the request id must reach the task's headers from there."""
    seen: list[dict[str, Any]] = []

    def send(task: str, *args: Any, countdown: int | None = None) -> bool:
        seen.append(structlog.contextvars.get_contextvars())
        return True

    monkeypatch.setattr(publish, "publish_now", send)
    structlog.contextvars.bind_contextvars(request_id="r-7", user_id=3)
    try:
        assert publish.publish("assessments.scan_patient", 1)
    finally:
        structlog.contextvars.clear_contextvars()

    assert seen == [{"request_id": "r-7", "user_id": 3}]


def test_a_task_carries_the_ids_of_its_publisher_and_no_address() -> None:
    headers: dict[str, Any] = {}
    structlog.contextvars.bind_contextvars(request_id="r-8", user_id=3, ip="203.0.113.9", task_id="t-1")
    try:
        celery_receiver().receiver_before_task_publish(headers=headers, properties={}, routing_key="celery")
    finally:
        structlog.contextvars.clear_contextvars()

    assert headers["__django_structlog__"] == {"request_id": "r-8", "user_id": 3, "parent_task_id": "t-1"}
