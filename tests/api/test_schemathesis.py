"""schemathesis against the served schema, through WSGI, as a patient with a token.

Stateless checks on every patient endpoint: no input makes a server error, and every documented response
conforms to the schema (body and content type). Bounded (25 examples per operation) so that it runs in
``make test``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic.wsgi import application
from tests.api.factories import make_entry, post_workout_answers, weekly_answers
from tests.api.helpers import token_for

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": 25, "mode": "all", "database": "none", "deterministic": True},
        # The coverage phase enumerates every boundary of every parameter: far beyond the time budget here.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
PATIENT_ENDPOINTS = r"^/api/v1/(me|assessments)/"


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Calls go through the real WSGI handler, whose request signals close a connection that is inside a
    transaction: the test's own, on PostgreSQL. Django's test client detaches the same handler."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def patient_token(world: Any) -> str:
    # A history to page through and look up, in both questionnaires.
    make_entry(patient=world.patient)
    make_entry(patient=world.patient, weekly=True)
    return token_for(world.patient.user)


# Loaded once, at collection, from the application itself (the schema view needs no database). The lazy
# `schemathesis.pytest.from_fixture` loader would fit better, but it sets `Node._nodeid`, which pytest 9 lacks.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=CONFIG).include(
    path_regex=PATIENT_ENDPOINTS
)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_patient_endpoints_conform_to_the_schema(case: Any, patient_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Token {patient_token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


def test_stored_entries_conform_to_the_schema(world: Any, patient_token: str) -> None:
    """Generated bodies seldom pass the conditional rules, so the 201 and the detail are checked explicitly."""
    headers = {"Authorization": f"Token {patient_token}"}
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
    submit = schema["/api/v1/assessments/"]["POST"]
    bodies: list[dict[str, Any]] = [
        {"kind": "post_workout", "answers": post_workout_answers()},
        {
            "kind": "post_workout",
            "answers": post_workout_answers(
                neck_symptoms="pain_into_arm",
                neck_level=7,
                thigh_symptoms="right",
                thigh_level=5,
                thigh_stretch_response="worse",
                thigh_below_knee=True,
                thigh_nerve_qualities=["burning", "shooting"],
                safety_screen=["saddle_numbness"],
                note="Tingling down to the foot.",
            ),
        },
        {"kind": "weekly", "answers": weekly_answers(systemic_flags=["fever_or_unwell"])},
    ]
    for body in bodies:
        response = submit.Case(body=body, media_type="application/json").call_and_validate(
            headers=headers, checks=checks
        )
        assert response.status_code == 201, response.text
        entry_id = response.json()["id"]
        detail = schema["/api/v1/assessments/{id}/"]["GET"].Case(path_parameters={"id": entry_id})
        assert detail.call_and_validate(headers=headers, checks=checks).json()["id"] == entry_id
    listed = schema["/api/v1/assessments/"]["GET"].Case(query={"kind": "weekly", "page_size": 100})
    assert listed.call_and_validate(headers=headers, checks=checks).json()["count"] == 2


# --- How much of what the schema allows the server accepts -------------------------------------------------------

# Measured: 184 of 280 schema-valid requests accepted (65.7 %). The rest are refusals the schema cannot state:
# pages past the last and ids of no own entry (404), occurred_at outside [now - 30 days, now], answers required or
# not applicable by another answer, unchanged items not among the reported ones (400).
ACCEPTED_FLOOR = 0.60
POSITIVE_EXAMPLES = 40


def _outcomes(operation: Any, headers: dict[str, str]) -> Counter[str]:
    """Call ``operation`` with POSITIVE_EXAMPLES requests valid by the schema: how many got a 2xx, and the refusals
    by status and error codes."""
    seen: Counter[str] = Counter()

    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    @settings(
        max_examples=POSITIVE_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.generate],
    )
    def call(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, response.text
        if response.status_code < 300:
            seen["2xx"] += 1
            return
        errors = response.json()["errors"]
        codes = sorted({e["code"] + (f" ({e['field']})" if e["field"] else "") for e in errors})
        seen[f"{response.status_code}: {', '.join(codes)}"] += 1

    call()
    return seen


def test_requests_valid_by_the_schema_are_accepted(world: Any, patient_token: str, capsys: Any) -> None:
    """Positive generation only: every request is valid by the schema, so each refusal is a rule the schema does
    not state. Prints the share accepted (2xx) per operation and overall, and holds the overall share to a floor."""
    headers = {"Authorization": f"Token {patient_token}"}
    outcomes = {result.ok().label: _outcomes(result.ok(), headers) for result in schema.get_all_operations()}
    total = sum(sum(c.values()) for c in outcomes.values())
    accepted = sum(c["2xx"] for c in outcomes.values())
    share = accepted / total
    with capsys.disabled():
        print(f"\nschema-valid requests accepted (2xx): {accepted}/{total} = {share:.1%}")
        for label, seen in outcomes.items():
            print(f"  {label}: {seen['2xx']}/{sum(seen.values())} accepted")
            for outcome, count in seen.most_common():
                if outcome != "2xx":
                    print(f"    {count} x {outcome}")
    assert share >= ACCEPTED_FLOOR, f"only {share:.1%} of schema-valid requests were accepted"
