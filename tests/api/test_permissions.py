"""Every route x method x persona, and the status each must get (API.md "Errors", STYLE.md 6).

Patients' endpoints are for patients only: staff get 403, anonymous 401. Own-scope routes give every
patient their own data; an object of another patient is a 404 (never a 403, so existence is not
revealed). Therapist endpoints are for staff: patients get 403, and another clinic's object is a 404.
A guard test fails when a route under /api/v1/ or /health/ has no row here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from knox.models import AuthToken
from rest_framework.test import APIClient

from assessments.models import Alert, Entry
from tests.api.factories import make_entry, post_workout_answers
from tests.api.helpers import client_for, errors
from tests.assessments.factories import AlertFactory

PATIENTS = ("patient", "other_patient", "colleague_patient", "foreign_patient")
STAFF = ("therapist", "colleague", "outsider", "clinic_admin")
ANONYMOUS = "anonymous"
PERSONAS = (*PATIENTS, *STAFF, ANONYMOUS)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

ERROR_CODES = {
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, status)


def signed_in(status: int) -> dict[str, int]:
    """Any authenticated user; anonymous 401."""
    return {**dict.fromkeys((*PATIENTS, *STAFF), status), ANONYMOUS: 401}


def patients_only(status: int) -> dict[str, int]:
    """Every patient on their own data; staff 403; anonymous 401."""
    return {**dict.fromkeys(PATIENTS, status), **dict.fromkeys(STAFF, 403), ANONYMOUS: 401}


def own_object(status: int) -> dict[str, int]:
    """An object of `patient`: any other patient gets 404, as for an id that does not exist."""
    return {**patients_only(404), "patient": status}


def staff_only(status: int) -> dict[str, int]:
    """Every member of staff (their own clinic's data); patients 403; anonymous 401."""
    return {**dict.fromkeys(PATIENTS, 403), **dict.fromkeys(STAFF, status), ANONYMOUS: 401}


def clinic_object(status: int) -> dict[str, int]:
    """An object of `patient`'s clinic: its staff get ``status``; patients and the other clinic's therapist, for
    whom it is out of scope, a 404 whatever the method (issue 11: out of scope looks like missing)."""
    return {**staff_only(status), **dict.fromkeys(PATIENTS, 404), "outsider": 404}


def own_object_only(status: int) -> dict[str, int]:
    """`patient`'s own object on a patient endpoint: every other caller, staff included, a 404."""
    return {**dict.fromkeys((*PATIENTS, *STAFF), 404), ANONYMOUS: 401, "patient": status}


@dataclass(frozen=True)
class Route:
    """The statuses of the supported methods; every other method gets ``other`` (a 405 behind the access check)."""

    methods: dict[str, dict[str, int]]
    other: dict[str, int]
    # "token": each persona sends its own knox token; "session": each persona is logged in with a session.
    auth: str = "token"
    bodies: dict[str, Any] = field(default_factory=dict)
    # JSON error bodies in the one shape of API.md (not the schema and docs pages, nor the operations endpoint).
    api_errors: bool = True
    # What {pk} is: `patient`'s entry, `patient` themselves, or a fresh open alert of `patient` per persona
    # (acknowledging and resolving change it).
    target: str = "entry"

    def expected(self, method: str) -> dict[str, int]:
        return self.methods.get(method, self.other)


VALID_ENTRY = {"kind": "post_workout", "answers": post_workout_answers()}

ROUTES: dict[str, Route] = {
    "/api/v1/auth/csrf/": Route({"GET": everyone(200)}, other=everyone(405)),
    "/api/v1/auth/login/": Route({"POST": everyone(400)}, other=everyone(405), bodies={"POST": {}}),
    "/api/v1/auth/logout/": Route({"POST": signed_in(200)}, other=signed_in(405), auth="session"),
    "/api/v1/auth/token/": Route({"POST": everyone(400)}, other=everyone(405), bodies={"POST": {}}),
    "/api/v1/auth/token/logout/": Route({"POST": signed_in(204)}, other=signed_in(405)),
    "/api/v1/auth/token/logout-all/": Route({"POST": signed_in(204)}, other=signed_in(405)),
    "/api/v1/auth/activate/": Route({"POST": everyone(400)}, other=everyone(405), bodies={"POST": {}}),
    "/api/v1/auth/password/forgot/": Route({"POST": everyone(400)}, other=everyone(405), bodies={"POST": {}}),
    "/api/v1/auth/password/reset/": Route({"POST": everyone(400)}, other=everyone(405), bodies={"POST": {}}),
    "/api/v1/me/": Route({"GET": patients_only(200)}, other=patients_only(405)),
    "/api/v1/me/program/": Route({"GET": patients_only(200)}, other=patients_only(405)),
    "/api/v1/me/trends/": Route({"GET": patients_only(200)}, other=patients_only(405)),
    "/api/v1/assessments/due/": Route({"GET": patients_only(200)}, other=patients_only(405)),
    "/api/v1/assessments/": Route(
        {"GET": patients_only(200), "POST": patients_only(201)},
        other=patients_only(405),
        bodies={"POST": VALID_ENTRY},
    ),
    # Entries are immutable: no PUT, PATCH or DELETE (405 for the owner); out of scope is a 404 whatever the method.
    "/api/v1/assessments/{pk}/": Route({"GET": own_object_only(200)}, other=own_object_only(405)),
    # The questionnaires' definition (no patient data): the portal reads it before login, for offline use.
    "/api/v1/questionnaires/": Route({"GET": everyone(200)}, other=everyone(405)),
    # Therapist endpoints (API.md): alerts and the FHIR export, scoped to the caller's clinic.
    "/api/v1/alerts/": Route({"GET": staff_only(200)}, other=staff_only(405), target="alert"),
    "/api/v1/alerts/{pk}/": Route({"GET": clinic_object(200)}, other=clinic_object(405), target="alert"),
    "/api/v1/alerts/{pk}/acknowledge/": Route({"POST": clinic_object(200)}, other=clinic_object(405), target="alert"),
    "/api/v1/alerts/{pk}/resolve/": Route(
        {"POST": clinic_object(200)}, other=clinic_object(405), target="alert", bodies={"POST": {"note": "Called."}}
    ),
    "/api/v1/patients/{pk}/fhir/": Route({"GET": clinic_object(200)}, other=clinic_object(405), target="patient"),
    # A questionnaire's definition (no patient data): its canonical URL answers anyone ({name}: post_workout-v2).
    "/api/v1/fhir/Questionnaire/{name}": Route({"GET": everyone(200)}, other=everyone(405)),
    # The schema view renders its errors in the negotiated format (YAML by default), so no JSON check there.
    "/api/v1/schema/": Route({"GET": everyone(200)}, other=everyone(405), api_errors=False),
    "/api/v1/docs/": Route({"GET": everyone(200)}, other=everyone(405), api_errors=False),
    "/api/v1/redoc/": Route({"GET": everyone(200)}, other=everyone(405), api_errors=False),
    "/health/": Route({"GET": everyone(200)}, other=everyone(405), api_errors=False),
}


# --- What a successful response must contain: each persona sees only their own data. ----------------------


def _persona(world: Any, persona: str) -> Any:
    return getattr(world, persona)


def _check_me(world: Any, persona: str, target: Any, response: Any) -> None:
    patient = _persona(world, persona)
    body = response.json()
    assert (body["id"], body["email"]) == (patient.pk, patient.email)


def _check_program(world: Any, persona: str, target: Any, response: Any) -> None:
    enrollment = _persona(world, persona).enrollments.get(active=True)
    assert response.json()["name"] == enrollment.program.name


def _check_trends(world: Any, persona: str, target: Any, response: Any) -> None:
    # Only `patient` has an entry (today): nobody else's series may show it.
    sessions = sum(point["sessions"] for point in response.json()["series"])
    assert sessions == (1 if persona == "patient" else 0)


def _check_due(world: Any, persona: str, target: Any, response: Any) -> None:
    # Three post-workout entries a week are expected; `patient` has one this week, nobody else has any.
    remaining = {item["kind"]: item["remaining"] for item in response.json()}["post_workout"]
    assert remaining == (2 if persona == "patient" else 3)


def _check_list(world: Any, persona: str, target: Any, response: Any) -> None:
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == ([target.pk] if persona == "patient" else [])


def _check_created(world: Any, persona: str, target: Any, response: Any) -> None:
    created = Entry.objects.get(pk=response.json()["id"])
    assert created.patient == _persona(world, persona)


def _check_detail(world: Any, persona: str, target: Any, response: Any) -> None:
    assert response.json()["id"] == target.pk


def _check_alerts(world: Any, persona: str, target: Any, response: Any) -> None:
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == ([] if persona == "outsider" else [target.pk])


def _check_acknowledged(world: Any, persona: str, target: Any, response: Any) -> None:
    assert (response.json()["id"], response.json()["status"]) == (target.pk, "acknowledged")


def _check_resolved(world: Any, persona: str, target: Any, response: Any) -> None:
    body = response.json()
    assert (body["id"], body["status"], body["resolution_note"]) == (target.pk, "resolved", "Called.")


def _check_bundle(world: Any, persona: str, target: Any, response: Any) -> None:
    body = response.json()
    assert body["resourceType"] == "Bundle"
    patients = [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert len(patients) == 1


def _check_token_revoked(world: Any, persona: str, target: Any, response: Any) -> None:
    assert response.content == b""
    assert not AuthToken.objects.filter(user=_persona(world, persona).user).exists()


def _check_logged_out(world: Any, persona: str, target: Any, response: Any) -> None:
    assert response.json() == {"detail": "Logged out."}


def _check_csrf(world: Any, persona: str, target: Any, response: Any) -> None:
    # The token is masked per response; the cookie holds the secret it unmasks to.
    assert len(response.json()["csrf_token"]) == 64
    assert response.cookies["csrftoken"].value


def _check_credentials_required(world: Any, persona: str, target: Any, response: Any) -> None:
    assert ("password", "required") in errors(response)


def _check_email_required(world: Any, persona: str, target: Any, response: Any) -> None:
    assert ("email", "required") in errors(response)


def _check_questionnaires(world: Any, persona: str, target: Any, response: Any) -> None:
    assert [x["kind"] for x in response.json()["questionnaires"]] == ["post_workout", "weekly"]


def _check_schema(world: Any, persona: str, target: Any, response: Any) -> None:
    assert response.content.startswith(b"openapi: 3.")


def _check_docs(world: Any, persona: str, target: Any, response: Any) -> None:
    assert response["Content-Type"].startswith("text/html")


def _check_health(world: Any, persona: str, target: Any, response: Any) -> None:
    assert response.json()["status"] == "ok"


Check = Callable[[Any, str, Any, Any], None]
CHECKS: dict[tuple[str, str], Check] = {
    ("/api/v1/auth/csrf/", "GET"): _check_csrf,
    ("/api/v1/auth/login/", "POST"): _check_credentials_required,
    ("/api/v1/auth/token/", "POST"): _check_credentials_required,
    ("/api/v1/auth/activate/", "POST"): _check_credentials_required,
    ("/api/v1/auth/password/forgot/", "POST"): _check_email_required,
    ("/api/v1/auth/password/reset/", "POST"): _check_credentials_required,
    ("/api/v1/auth/logout/", "POST"): _check_logged_out,
    ("/api/v1/auth/token/logout/", "POST"): _check_token_revoked,
    ("/api/v1/auth/token/logout-all/", "POST"): _check_token_revoked,
    ("/api/v1/me/", "GET"): _check_me,
    ("/api/v1/me/program/", "GET"): _check_program,
    ("/api/v1/me/trends/", "GET"): _check_trends,
    ("/api/v1/assessments/due/", "GET"): _check_due,
    ("/api/v1/assessments/", "GET"): _check_list,
    ("/api/v1/assessments/", "POST"): _check_created,
    ("/api/v1/assessments/{pk}/", "GET"): _check_detail,
    ("/api/v1/alerts/", "GET"): _check_alerts,
    ("/api/v1/alerts/{pk}/", "GET"): _check_detail,
    ("/api/v1/alerts/{pk}/acknowledge/", "POST"): _check_acknowledged,
    ("/api/v1/alerts/{pk}/resolve/", "POST"): _check_resolved,
    ("/api/v1/patients/{pk}/fhir/", "GET"): _check_bundle,
    ("/api/v1/questionnaires/", "GET"): _check_questionnaires,
    ("/api/v1/schema/", "GET"): _check_schema,
    ("/api/v1/docs/", "GET"): _check_docs,
    ("/api/v1/redoc/", "GET"): _check_docs,
    ("/health/", "GET"): _check_health,
}


# --- The table test ---------------------------------------------------------------------------------------


def _client(world: Any, persona: str, auth: str) -> APIClient:
    if persona == ANONYMOUS:
        return APIClient()
    user = getattr(world, persona).user
    if auth == "session":
        client = APIClient()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client
    return client_for(user)


@pytest.mark.parametrize(
    ("path", "method"),
    [pytest.param(path, method, id=f"{method} {path}") for path in ROUTES for method in METHODS],
)
def test_route_method_persona_status(world: Any, path: str, method: str) -> None:
    route = ROUTES[path]
    entry = make_entry(patient=world.patient)
    body = route.bodies.get(method)
    check = CHECKS.get((path, method))

    got: dict[str, int] = {}
    for persona in PERSONAS:
        target = _target(world, route.target, entry)
        client = _client(world, persona, route.auth)
        url = path.replace("{pk}", str(target.pk)).replace("{name}", "post_workout-v2")
        response = client.generic(method, url, *_json(body))
        got[persona] = response.status_code
        if response.status_code >= 400 and route.api_errors:
            codes = [code for _field, code in errors(response)]
            assert response.status_code == 400 or codes == [ERROR_CODES[response.status_code]], (persona, codes)
        # The body of a success (and of the public endpoints' 400 for an empty body) shows whose data it is.
        if check is not None and response.status_code in (200, 201, 204, 400):
            check(world, persona, target, response)

    assert got == route.expected(method)


def _target(world: Any, kind: str, entry: Entry) -> Any:
    if kind == "patient":
        return world.patient
    if kind == "alert":
        Alert.objects.all().delete()
        return AlertFactory(patient=world.patient)
    return entry


def _json(body: Any) -> tuple[str, str] | tuple[()]:
    return () if body is None else (json.dumps(body), "application/json")


# --- The guard: a route without a row fails ------------------------------------------------------------------

_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_ROUTE_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            yield text


def _normalise(raw: str) -> str:
    """``api/v1/^assessments/(?P<pk>[^/.]+)/$`` and ``api/v1/x/<int:pk>/`` -> ``/api/v1/assessments/{pk}/``."""
    text = _REGEX_GROUP.sub(r"{\1}", raw)
    text = _ROUTE_CONVERTER.sub(r"{\1}", text)
    return "/" + text.replace("^", "").replace("$", "").replace("\\", "")


def served_routes() -> set[str]:
    paths = {_normalise(raw) for raw in _walk(get_resolver().url_patterns)}
    return {path for path in paths if path.startswith(("/api/v1/", "/health/"))}


def test_every_route_has_a_row_in_the_permission_table() -> None:
    missing = served_routes() - set(ROUTES)
    assert not missing, (
        f"Routes without a row in tests/api/test_permissions.py ROUTES: {sorted(missing)}. "
        "Add a row with the status every persona must get for every method."
    )


def test_every_row_of_the_permission_table_is_a_served_route() -> None:
    assert set(ROUTES) - served_routes() == set()


def test_guard_normalises_regex_and_path_converters() -> None:
    assert _normalise("api/v1/^assessments/(?P<pk>[^/.]+)/$") == "/api/v1/assessments/{pk}/"
    assert _normalise("api/v1/alerts/<int:pk>/acknowledge/") == "/api/v1/alerts/{pk}/acknowledge/"
    assert _normalise("health/") == "/health/"


@pytest.mark.parametrize("key", ["²", "٣", "1²", "9" * 40])
def test_an_object_id_that_is_not_a_plain_number_is_a_404_not_a_500(world: Any, key: str) -> None:
    therapist = client_for(world.therapist.user)
    patient = client_for(world.patient.user)

    for client, path in ((therapist, f"/api/v1/alerts/{key}/"), (patient, f"/api/v1/assessments/{key}/")):
        response = client.get(path)
        assert response.status_code == 404, (path, response.content)
        assert errors(response) == [(None, "not_found")]
    # The FHIR route takes digits only: any other key matches no URL at all.
    assert therapist.get(f"/api/v1/patients/{key}/fhir/").status_code == 404
