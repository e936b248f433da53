"""Hostile query strings and bodies get a 400 with the field named, never a 500.

The table below probes every endpoint that reads a body with a lone UTF-16 surrogate (the JSON escape
``\\ud800``, which Python's json decodes into a string no encoder can write) in a string value, in a key and
nested in a list; and every endpoint with a query parameter that is not UTF-8 or encodes a surrogate. Each is
a 400 in the one error shape naming the field (a dotted path; a bad key is named with U+FFFD in place of
what cannot be written), nothing is stored, and the response never echoes the bad string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from assessments.models import Alert, Entry, RedFlagReport
from tests.api.factories import make_entry, post_workout_answers
from tests.api.helpers import ASSESSMENTS, client_for, errors
from tests.api.test_permissions import ROUTES
from tests.assessments.factories import AlertFactory

# A lone surrogate: json.dumps (ensure_ascii) writes it as the 6-character escape \ud800.
LONE = "\ud800"
# The code DRF's string fields already give a lone surrogate; the API gives it for any string, key and query.
CODE = "surrogate_characters_not_allowed"
# How a key that cannot be written is named in a field path.
BAD_KEY = "\ufffd"


def test_hostile_filters_and_kinds(world: Any) -> None:
    staff = APIClient()
    staff.force_authenticate(world.therapist.user)
    for value in ("99999999999999999999999999", "1.5", "abc", "-3"):
        r = staff.get(f"/api/v1/alerts/?patient={value}")
        assert r.status_code == 400, (value, r.status_code)
        assert r.json()["errors"][0]["field"] == "patient"
    patient = APIClient()
    patient.force_authenticate(world.patient.user)
    for kind in ([], {}, 3, None):
        r = patient.post("/api/v1/assessments/", {"kind": kind, "answers": {}}, format="json")
        assert r.status_code == 400, (kind, r.status_code)


# --- Unencodable strings in a body ------------------------------------------------------------------------------

LOGIN = {"email": "maria@example.test", "password": "secret-password"}
ENTRY = {"kind": "post_workout", "answers": post_workout_answers()}
RESOLVE = {"note": "Called the patient."}
REVIEW = {"item": "bowel_change", "outcome": "stable", "assessed_on": "2026-01-05"}


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


def _answers(**changes: Any) -> dict[str, Any]:
    return _with(ENTRY, answers=post_workout_answers(**changes))


@dataclass(frozen=True)
class BodyProbe:
    persona: str  # "anonymous", or a persona of the `world` fixture
    path: str  # {pk}: an open alert of `patient`
    body: Any  # sent as json.dumps(body)
    field: str | None


BODY_PROBES = {
    # POST /api/v1/auth/login/
    "login-string": BodyProbe("anonymous", "/api/v1/auth/login/", _with(LOGIN, email=LONE), "email"),
    "login-key": BodyProbe("anonymous", "/api/v1/auth/login/", _with(LOGIN, **{LONE: "x"}), BAD_KEY),
    "login-list": BodyProbe("anonymous", "/api/v1/auth/login/", _with(LOGIN, password=["ok", LONE]), "password.1"),
    # POST /api/v1/auth/token/
    "token-string": BodyProbe("anonymous", "/api/v1/auth/token/", _with(LOGIN, password=f"pass{LONE}"), "password"),
    "token-key": BodyProbe("anonymous", "/api/v1/auth/token/", _with(LOGIN, **{f"e{LONE}mail": 1}), f"e{BAD_KEY}mail"),
    "token-list": BodyProbe("anonymous", "/api/v1/auth/token/", _with(LOGIN, email=[[LONE]]), "email.0.0"),
    # POST /api/v1/auth/activate/
    "activate-string": BodyProbe("anonymous", "/api/v1/auth/activate/", {"token": LONE, "password": "x"}, "token"),
    "activate-key": BodyProbe("anonymous", "/api/v1/auth/activate/", {"token": "t", "password": "x", LONE: 1}, BAD_KEY),
    "activate-list": BodyProbe(
        "anonymous", "/api/v1/auth/activate/", {"token": "t", "password": [{"a": LONE}]}, "password.0.a"
    ),
    # POST /api/v1/assessments/
    "entry-string": BodyProbe("patient", ASSESSMENTS, _answers(note=f"sore {LONE} calf"), "answers.note"),
    "entry-kind": BodyProbe("patient", ASSESSMENTS, _with(ENTRY, kind=LONE), "kind"),
    "entry-key": BodyProbe("patient", ASSESSMENTS, _answers(**{LONE: 1}), f"answers.{BAD_KEY}"),
    "entry-top-key": BodyProbe("patient", ASSESSMENTS, _with(ENTRY, **{LONE: 1}), BAD_KEY),
    "entry-list": BodyProbe("patient", ASSESSMENTS, _answers(safety_screen=[LONE]), "answers.safety_screen.0"),
    "entry-nested-list": BodyProbe(
        "patient",
        ASSESSMENTS,
        _answers(thigh_nerve_qualities=["burning", {"x": [LONE]}]),
        "answers.thigh_nerve_qualities.1.x.0",
    ),
    "entry-top-level": BodyProbe("patient", ASSESSMENTS, [LONE], "0"),
    "entry-bare-string": BodyProbe("patient", ASSESSMENTS, LONE, None),
    # POST /api/v1/alerts/{pk}/resolve/
    "resolve-string": BodyProbe("therapist", "/api/v1/alerts/{pk}/resolve/", {"note": f"Called {LONE}"}, "note"),
    "resolve-key": BodyProbe("therapist", "/api/v1/alerts/{pk}/resolve/", _with(RESOLVE, **{LONE: ""}), BAD_KEY),
    "resolve-list": BodyProbe(
        "therapist",
        "/api/v1/alerts/{pk}/resolve/",
        _with(RESOLVE, reviews=[_with(REVIEW, item=LONE)]),
        "reviews.0.item",
    ),
}


def _client(world: Any, persona: str) -> APIClient:
    return APIClient() if persona == "anonymous" else client_for(getattr(world, persona).user)


def _assert_not_echoed(response: Any) -> None:
    """The response is valid UTF-8 (so holds no raw surrogate) and does not echo the surrogate as an escape."""
    text = response.content.decode("utf-8")  # strict
    assert "\\ud800" not in text.lower(), text


@pytest.mark.parametrize("probe", [pytest.param(p, id=name) for name, p in BODY_PROBES.items()])
def test_unencodable_string_in_a_body_is_a_400_naming_the_field(world: Any, probe: BodyProbe) -> None:
    alert = AlertFactory(patient=world.patient)
    client = _client(world, probe.persona)
    client.raise_request_exception = False

    # json.dumps writes the lone surrogate as the escape \ud800: the JSON text itself is plain ASCII.
    response = client.post(probe.path.format(pk=alert.pk), json.dumps(probe.body), content_type="application/json")

    assert response.status_code == 400, response.content
    assert (probe.field, CODE) in errors(response), response.json()
    _assert_not_echoed(response)
    assert not Entry.objects.exists()
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.OPEN
    assert not RedFlagReport.objects.exists()


def test_every_unencodable_string_of_a_body_is_named(world: Any, patient_api: APIClient) -> None:
    body = _answers(note=LONE, safety_screen=["bowel_change", LONE], **{LONE: 1})
    body["occurred_at"] = LONE

    response = patient_api.post(ASSESSMENTS, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert sorted(field or "" for field, code in errors(response) if code == CODE) == sorted(
        ["answers.note", "answers.safety_screen.1", f"answers.{BAD_KEY}", "occurred_at"]
    )
    _assert_not_echoed(response)


def test_an_escaped_surrogate_pair_is_a_character_not_an_error(patient_api: APIClient) -> None:
    # "\ud83d\ude00" is one character (U+1F600), valid Unicode text: the note is stored.
    text = json.dumps(_answers(note="ok \U0001f600"))
    assert "\\ud83d\\ude00" in text

    response = patient_api.post(ASSESSMENTS, text, content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["answers"]["note"] == "ok \U0001f600"
    assert Entry.objects.get().note == "ok \U0001f600"


def test_a_body_in_another_charset_is_checked_after_decoding(patient_api: APIClient) -> None:
    # The check runs on the parsed data, whatever the charset the JSON text came in.
    raw = json.dumps(_answers(note="x"), ensure_ascii=False).replace('"note": "x"', '"note": "\\ud800"')
    response = patient_api.post(ASSESSMENTS, raw.encode("utf-16"), content_type="application/json; charset=utf-16")

    assert response.status_code == 400
    assert ("answers.note", CODE) in errors(response)
    _assert_not_echoed(response)
    assert not Entry.objects.exists()


MULTIPART = b'--XX\r\nContent-Disposition: form-data; name="\xed\xa0\x80"\r\n\r\n\xff\r\n--XX--\r\n'


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/x-www-form-urlencoded", b"email=%ED%A0%80&password=%FF&csrfmiddlewaretoken=%ED%A0%80"),
        ("multipart/form-data; boundary=XX", MULTIPART),
    ],
    ids=["form", "multipart"],
)
def test_form_and_multipart_bodies_are_refused_not_a_500(world: Any, content_type: str, payload: bytes) -> None:
    # The API reads JSON only (DEFAULT_PARSER_CLASSES): any other body is a 415 before it is read; the session
    # login checks its CSRF token first (Django reads a form body for it, decoding with replacement characters).
    with_csrf = APIClient(enforce_csrf_checks=True)
    for client, path, status, code in (
        (_client(world, "anonymous"), "/api/v1/auth/token/", 415, "unsupported_media_type"),
        (_client(world, "patient"), ASSESSMENTS, 415, "unsupported_media_type"),
        (
            _client(world, "therapist"),
            f"/api/v1/alerts/{AlertFactory(patient=world.patient).pk}/resolve/",
            415,
            "unsupported_media_type",
        ),
        (with_csrf, "/api/v1/auth/login/", 403, "permission_denied"),
    ):
        client.raise_request_exception = False
        response = client.generic("POST", path, payload, content_type=content_type)
        assert response.status_code == status, (path, response.content)
        assert [code for _field, code in errors(response)] == [code]
        _assert_not_echoed(response)
    assert not Entry.objects.exists()


# --- A red flag is never dropped, and the surrogate never stored -------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "field", "screen"),
    [
        (
            post_workout_answers(safety_screen=["saddle_numbness"], note=f"numb {LONE}"),
            "answers.note",
            ["saddle_numbness"],
        ),
        (
            post_workout_answers(safety_screen=["saddle_numbness"], **{f"n{LONE}te": "x"}),
            f"answers.n{BAD_KEY}te",
            ["saddle_numbness"],
        ),
        (post_workout_answers(safety_screen=[LONE, "bowel_change"]), "answers.safety_screen.0", ["bowel_change"]),
    ],
    ids=["in-the-note", "in-a-key", "beside-the-red-flag"],
)
def test_post_workout_red_flag_with_a_surrogate_is_a_400_and_keeps_the_red_flag(
    world: Any, patient_api: APIClient, answers: dict[str, Any], field: str, screen: list[str]
) -> None:
    body = {"kind": "post_workout", "answers": answers}

    response = patient_api.post(ASSESSMENTS, json.dumps(body), content_type="application/json")

    assert response.status_code == 400, response.content
    assert (field, CODE) in errors(response)
    data = response.json()
    assert data["therapist_notified"] is True
    assert data["advice"][0]["level"] == "urgent"
    _assert_not_echoed(response)
    assert not Entry.objects.exists()  # nothing half-saved: only the red flag is kept
    report = RedFlagReport.objects.get(patient=world.patient)
    assert report.kind == "post_workout"
    assert report.safety_screen == screen
    assert {"field": field if field.isascii() else "(unrecognised)", "code": CODE} in report.refusal
    stored = json.dumps([report.safety_screen, report.safety_screen_unchanged, report.systemic_flags, report.refusal])
    assert "\\ud800" not in stored.lower()


# --- Undecodable query parameters, on every endpoint ----------------------------------------------------------

# Each value is (raw query string as WSGI passes it, the parameter it must name).
BAD_QUERIES = (
    ("{name}=%ED%A0%80", "{name}"),  # a UTF-8-encoded surrogate: not valid UTF-8
    ("{name}=%FF", "{name}"),  # not UTF-8 at all
    ("ok=1&{name}=a%C3", "{name}"),  # a truncated sequence, after a good parameter
    ("{name}=\xff", "{name}"),  # a raw (unescaped) byte 0xFF
    ("%ED%A0%80=1", "\ufffd\ufffd\ufffd"),  # the name itself is bad: named with U+FFFD
)
# The parameter each endpoint reads (any other name for an endpoint that reads none).
PARAMETER = {
    "/api/v1/assessments/": "kind",
    "/api/v1/alerts/": "status",
    "/api/v1/me/trends/": "days",
}
QUERY_ROUTES = [
    pytest.param(path, method, id=f"{method} {path}")
    for path, route in ROUTES.items()
    if path.startswith("/api/")
    for method in route.methods
]


def _persona_for(route: Any, method: str) -> str:
    """A persona that may call the endpoint, so that only the query is wrong."""
    statuses = route.expected(method)
    return next(p for p in ("patient", "therapist", "anonymous") if statuses[p] < 500 and statuses[p] not in (401, 403))


@pytest.mark.parametrize(("path", "method"), QUERY_ROUTES)
def test_unencodable_query_parameter_is_a_400_naming_it(world: Any, path: str, method: str) -> None:
    route = ROUTES[path]
    persona = _persona_for(route, method)
    alert = AlertFactory(patient=world.patient)
    entry = make_entry(patient=world.patient)
    pk = {"alert": alert.pk, "patient": world.patient.pk, "entry": entry.pk}[route.target]
    name = PARAMETER.get(path, "page")
    for template, expected in BAD_QUERIES:
        client = _client(world, persona)
        if route.auth == "session" and persona != "anonymous":
            client = APIClient()
            client.force_login(getattr(world, persona).user, backend="django.contrib.auth.backends.ModelBackend")
        client.raise_request_exception = False
        body = route.bodies.get(method)
        extra = {"QUERY_STRING": template.format(name=name)}
        if body is None:
            response = client.generic(method, path.replace("{pk}", str(pk)), **extra)
        else:
            response = client.generic(
                method, path.replace("{pk}", str(pk)), json.dumps(body), "application/json", **extra
            )

        assert response.status_code == 400, (template, response.status_code, response.content)
        assert errors(response) == [(expected.format(name=name), CODE)], template
        _assert_not_echoed(response)
        assert Alert.objects.get(pk=alert.pk).status == Alert.Status.OPEN  # nothing done
        assert list(Entry.objects.all()) == [entry]


def test_every_api_route_is_probed_with_a_bad_query() -> None:
    probed = {param.values[0] for param in QUERY_ROUTES}
    assert probed == {path for path in ROUTES if path.startswith("/api/")}


def test_a_percent_encoded_character_in_a_query_is_fine(world: Any) -> None:
    therapist = client_for(world.therapist.user)
    response = therapist.get("/api/v1/alerts/", QUERY_STRING="status=%C3%A9")  # é: valid UTF-8
    assert response.status_code == 400
    assert errors(response) == [("status", "invalid_choice")]
    assert therapist.get("/api/v1/alerts/", QUERY_STRING="status=open&page=1").status_code == 200
