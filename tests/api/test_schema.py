"""The OpenAPI contract: served, warning-free, and pinned by a snapshot so a change of contract is deliberate."""

from __future__ import annotations

import difflib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

SNAPSHOT = Path(__file__).with_name("schema_snapshot.yaml")
UPDATE_HINT = "If the change is intended, update the snapshot: UPDATE_SCHEMA_SNAPSHOT=1 make test"

# API.md "Patient endpoints" and "Authentication": the paths and methods the clients are built against.
CONTRACT = {
    "/api/v1/me/": {"get"},
    "/api/v1/me/program/": {"get"},
    "/api/v1/me/trends/": {"get"},
    "/api/v1/assessments/": {"get", "post"},
    "/api/v1/assessments/{id}/": {"get"},
    "/api/v1/assessments/due/": {"get"},
    "/api/v1/auth/login/": {"post"},
    "/api/v1/auth/logout/": {"post"},
    "/api/v1/auth/token/": {"post"},
    "/api/v1/auth/token/logout/": {"post"},
    "/api/v1/auth/token/logout-all/": {"post"},
    "/api/v1/auth/activate/": {"post"},
}


def served_schema(client: APIClient) -> dict[str, Any]:
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return dict(json.loads(response.content))


def as_yaml(schema: dict[str, Any]) -> str:
    return yaml.safe_dump(schema, sort_keys=True, allow_unicode=True, width=120)


def test_schema_is_served_as_openapi_3(api: APIClient, db: None) -> None:
    response = api.get("/api/v1/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Clinic portal API"
    for path, methods in CONTRACT.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_schema_describes_the_questionnaires_of_rules_md(api: APIClient, db: None) -> None:
    components = served_schema(api)["components"]["schemas"]
    post_workout = components["PostWorkoutAnswersRequest"]
    back_pain_now = post_workout["properties"]["back_pain_now"]
    assert (back_pain_now["type"], back_pain_now["minimum"], back_pain_now["maximum"]) == ("integer", 0, 10)
    # Each field is described with the patient's wording (RULES.md).
    assert back_pain_now["description"] == "How bad is your back pain right now? (0 none, 10 worst imaginable)"
    assert post_workout["properties"]["note"]["maxLength"] == 500
    weekly = components["WeeklyAnswersRequest"]
    assert (weekly["properties"]["global_change"]["minimum"], weekly["properties"]["global_change"]["maximum"]) == (
        -3,
        3,
    )
    # v2: the weekly check-in asks the safety screen too; unchanged items are optional.
    assert {"safety_screen", "systemic_flags"} <= set(weekly["required"])
    assert "safety_screen_unchanged" in weekly["properties"]
    assert "safety_screen_unchanged" not in weekly.get("required", [])


def test_schema_lists_the_answer_codes_with_their_labels(api: APIClient, db: None) -> None:
    components = served_schema(api)["components"]["schemas"]
    screen = components["SafetyScreenEnum"]
    assert screen["enum"] == [
        "saddle_numbness",
        "bladder_change",
        "bowel_change",
        "sexual_dysfunction",
        "both_legs_numb_or_weak",
        "foot_drop_or_leg_weakness",
    ]
    # `code` - label, for every code.
    for code in screen["enum"]:
        assert f"* `{code}` - " in screen["description"]
    assert "* `stopped_symptoms` - I stopped because of symptoms" in components["SessionCompletedEnum"]["description"]
    # The unchanged items are the same codes, not a second enum of them.
    unchanged = components["PostWorkoutAnswersRequest"]["properties"]["safety_screen_unchanged"]
    assert unchanged["items"] == {"$ref": "#/components/schemas/SafetyScreenEnum"}


def test_schema_discriminates_the_answers_by_kind(api: APIClient, db: None) -> None:
    schema = served_schema(api)
    components = schema["components"]["schemas"]
    submitted = schema["paths"]["/api/v1/assessments/"]["post"]["requestBody"]["content"]["application/json"]
    assert submitted["schema"] == {"$ref": "#/components/schemas/EntryInputRequest"}
    assert components["EntryInputRequest"]["discriminator"] == {
        "propertyName": "kind",
        "mapping": {
            "post_workout": "#/components/schemas/PostWorkoutEntryRequest",
            "weekly": "#/components/schemas/WeeklyEntryRequest",
        },
    }
    for variant, kind, answers in (
        ("PostWorkoutEntryRequest", "post_workout", "PostWorkoutAnswersRequest"),
        ("WeeklyEntryRequest", "weekly", "WeeklyAnswersRequest"),
    ):
        properties = components[variant]["properties"]
        assert components[properties["kind"]["$ref"].rsplit("/", 1)[1]]["enum"] == [kind]
        assert properties["answers"] == {"$ref": f"#/components/schemas/{answers}"}
        assert sorted(components[variant]["required"]) == ["answers", "kind"]
    # Stored entries: the same variants, and the weekly one carries its scores.
    assert set(components["EntryOutput"]["discriminator"]["mapping"]) == {"post_workout", "weekly"}
    assert "scores" in components["WeeklyEntry"]["properties"]
    assert "scores" not in components["PostWorkoutEntry"]["properties"]
    assert set(components["WeeklyScores"]["properties"]) == {"peg", "psfs"}


def test_schema_generates_without_warnings_and_validates(tmp_path: Path, db: None) -> None:
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "schema.yaml"
    # --fail-on-warn raises on any warning or error; --validate checks the document against the OpenAPI schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=out, stderr=err)
    assert "Warning" not in err.getvalue(), err.getvalue()
    assert "Error" not in err.getvalue(), err.getvalue()
    assert yaml.safe_load(target.read_text())["openapi"].startswith("3.")


def test_schema_matches_the_snapshot(api: APIClient, db: None) -> None:
    current = as_yaml(served_schema(api))
    if os.environ.get("UPDATE_SCHEMA_SNAPSHOT") == "1":
        SNAPSHOT.write_text(current)
        pytest.skip(f"wrote {SNAPSHOT.name}; review and commit it")
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing. {UPDATE_HINT}"
    expected = SNAPSHOT.read_text()
    if current != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile="schema_snapshot.yaml",
                tofile="served schema",
                n=2,
            )
        )
        pytest.fail(f"The API schema differs from {SNAPSHOT.name} (API.md is binding).\n{UPDATE_HINT}\n\n{diff}")


def test_docs_page_loads(api: APIClient, db: None) -> None:
    response = api.get("/api/v1/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "/api/v1/schema/" in page


def test_schema_documents_the_errors_of_every_operation(api: APIClient, db: None) -> None:
    schema = served_schema(api)
    error = schema["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["errors"]
    item = schema["components"]["schemas"][error["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(item["required"]) == {"field", "code", "message"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "429" in operation["responses"], (method, path)
            if operation.get("security") and {} not in operation["security"]:
                assert "401" in operation["responses"], (method, path)
    submit = schema["paths"]["/api/v1/assessments/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "415", "429"} <= set(submit)
    assert schema["paths"]["/api/v1/assessments/{id}/"]["get"]["responses"]["404"] == {
        "$ref": "#/components/responses/NotFound"
    }
    assert schema["components"]["responses"]["Throttled"]["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_schema_parameters_have_the_bounds_the_server_enforces(api: APIClient, db: None) -> None:
    paths = served_schema(api)["paths"]
    days = next(p for p in paths["/api/v1/me/trends/"]["get"]["parameters"] if p["name"] == "days")
    assert (days["schema"]["minimum"], days["schema"]["maximum"], days["schema"]["default"]) == (1, 365, 90)
    listed = {p["name"]: p["schema"] for p in paths["/api/v1/assessments/"]["get"]["parameters"]}
    assert (listed["page_size"]["minimum"], listed["page_size"]["maximum"]) == (1, 100)
    assert listed["page"]["minimum"] == 1
    assert listed["since"]["format"] == listed["until"]["format"] == "date-time"
    entry_id = paths["/api/v1/assessments/{id}/"]["get"]["parameters"][0]["schema"]
    assert (entry_id["type"], entry_id["minimum"]) == ("integer", 1)


def test_schema_states_what_the_server_refuses_and_leaks_no_docstrings(api: APIClient, db: None) -> None:
    schema = served_schema(api)
    components = schema["components"]["schemas"]
    # Unknown fields and repeated items are refused: the request bodies say so.
    assert components["LoginRequest"]["additionalProperties"] is False
    assert components["PostWorkoutAnswersRequest"]["additionalProperties"] is False
    assert components["PostWorkoutAnswersRequest"]["properties"]["safety_screen"]["uniqueItems"] is True
    assert "Reject unknown fields" not in json.dumps(schema)  # StrictSerializerMixin's docstring
    assert "* `urgent` - Urgent" in components["LevelEnum"]["description"]
    trends = schema["paths"]["/api/v1/me/trends/"]["get"]
    assert trends["summary"] == "Daily series for charts"
    assert "aggregate query" not in trends["description"]


def test_redoc_page_loads_from_local_files(api: APIClient, db: None) -> None:
    for url, script in (
        ("/api/v1/redoc/", "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
        ("/api/v1/docs/", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
    ):
        page = api.get(url).content.decode()
        assert script in page
        assert "https://" not in page.replace("https://redocly.com/redoc/", "").replace("cdn\\.redoc\\.ly", "")
