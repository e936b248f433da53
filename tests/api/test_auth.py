"""Authentication: session login with CSRF, per-device tokens, lockout, throttles, and account activation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from assessments.models import Entry
from patients.models import Invitation
from patients.services import invitation_issue, patient_invite
from patients.tasks import purge_expired_tokens
from programs.models import Phase, Program
from tests.api.factories import post_workout_answers
from tests.api.helpers import ASSESSMENTS, client_for, errors
from tests.factories import PASSWORD, ProgramFactory

LOGIN = "/api/v1/auth/login/"
TOKEN = "/api/v1/auth/token/"
ACTIVATE = "/api/v1/auth/activate/"
NEW_PASSWORD = "quiet-river-morning-42"


def token_ttl() -> dt.timedelta:
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    assert isinstance(ttl, dt.timedelta)
    return ttl


def credentials(patient: Any, password: str = PASSWORD) -> dict[str, str]:
    return {"email": patient.email, "password": password}


def token_login(client: APIClient, body: dict[str, str], **extra: Any) -> Any:
    return client.post(TOKEN, body, format="json", **extra)


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# Session login and CSRF --------------------------------------------------------------------------------------


@pytest.fixture
def browser() -> APIClient:
    """A client that, like a browser, must present the CSRF token on unsafe requests."""
    return APIClient(enforce_csrf_checks=True)


def csrf_token(client: APIClient) -> str:
    response = client.get("/api/v1/auth/csrf/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    return str(response.json()["csrf_token"])


def test_session_login_without_csrf_token_is_403(world: Any, browser: APIClient) -> None:
    response = browser.post(LOGIN, credentials(world.patient), format="json")
    assert response.status_code == 403
    assert errors(response) == [(None, "permission_denied")]
    assert "CSRF" in response.json()["errors"][0]["message"]
    assert "sessionid" not in response.cookies


def test_session_login_with_a_wrong_csrf_token_is_403(world: Any, browser: APIClient) -> None:
    csrf_token(browser)
    response = browser.post(LOGIN, credentials(world.patient), format="json", HTTP_X_CSRFTOKEN="x" * 64)
    assert response.status_code == 403
    assert "CSRF" in response.json()["errors"][0]["message"]


def test_session_login_with_csrf_then_the_session_reads_and_writes(world: Any, browser: APIClient) -> None:
    token = csrf_token(browser)
    response = browser.post(LOGIN, credentials(world.patient), format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    assert response.json() == {"detail": "Logged in."}
    assert response.cookies["sessionid"].value

    me = browser.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["id"] == world.patient.pk

    # An unsafe request with the session but without the CSRF token is refused, and stores nothing.
    body = {"kind": "post_workout", "answers": post_workout_answers()}
    refused = browser.post(ASSESSMENTS, body, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["errors"][0]["message"]
    assert not Entry.objects.exists()

    # Login rotated the token: the fresh one from the cookie works.
    fresh = browser.cookies["csrftoken"].value
    created = browser.post(ASSESSMENTS, body, format="json", HTTP_X_CSRFTOKEN=fresh)
    assert created.status_code == 201, created.content
    assert Entry.objects.get().patient == world.patient


def test_session_logout_needs_csrf_and_ends_the_session(world: Any, browser: APIClient) -> None:
    token = csrf_token(browser)
    assert browser.post(LOGIN, credentials(world.patient), format="json", HTTP_X_CSRFTOKEN=token).status_code == 200
    fresh = browser.cookies["csrftoken"].value

    refused = browser.post("/api/v1/auth/logout/")
    assert refused.status_code == 403
    assert browser.get("/api/v1/me/").status_code == 200

    response = browser.post("/api/v1/auth/logout/", HTTP_X_CSRFTOKEN=fresh)
    assert response.status_code == 200
    assert response.json() == {"detail": "Logged out."}
    after = browser.get("/api/v1/me/")
    assert after.status_code == 401
    assert errors(after) == [(None, "not_authenticated")]


def test_session_login_with_wrong_password_is_400(world: Any, browser: APIClient) -> None:
    token = csrf_token(browser)
    response = browser.post(LOGIN, credentials(world.patient, "wrong"), format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert errors(response) == [(None, "invalid_credentials")]
    assert browser.get("/api/v1/me/").status_code == 401


# Tokens ------------------------------------------------------------------------------------------------------


def test_token_login_returns_token_and_expiry(world: Any, api: APIClient) -> None:
    now = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        response = token_login(api, credentials(world.patient))
        assert response.status_code == 200, response.content
        body = response.json()
        me = with_token(body["token"]).get("/api/v1/me/")
    assert set(body) == {"token", "expiry"}
    assert parse_datetime(body["expiry"]) == now + token_ttl()
    assert me.status_code == 200
    assert me.json()["id"] == world.patient.pk
    world.patient.user.refresh_from_db()
    assert world.patient.user.last_login == now


def test_email_is_matched_case_insensitively(world: Any, api: APIClient) -> None:
    response = token_login(api, {"email": world.patient.email.upper(), "password": PASSWORD})
    assert response.status_code == 200, response.content


def test_token_is_stored_hashed(world: Any, api: APIClient) -> None:
    token = token_login(api, credentials(world.patient)).json()["token"]
    stored = AuthToken.objects.get(user=world.patient.user)
    assert stored.digest != token
    assert token not in stored.digest
    assert stored.digest == hash_token(token)
    assert token.startswith(stored.token_key)  # only a short lookup prefix is stored in clear


def test_token_logout_revokes_only_that_token(world: Any, api: APIClient) -> None:
    phone = token_login(api, credentials(world.patient)).json()["token"]
    tablet = token_login(api, credentials(world.patient)).json()["token"]

    response = with_token(phone).post("/api/v1/auth/token/logout/")

    assert response.status_code == 204
    revoked = with_token(phone).get("/api/v1/me/")
    assert revoked.status_code == 401
    assert errors(revoked) == [(None, "authentication_failed")]
    assert with_token(tablet).get("/api/v1/me/").status_code == 200
    assert AuthToken.objects.filter(user=world.patient.user).count() == 1


def test_token_logout_all_revokes_every_token_of_the_user(world: Any, api: APIClient) -> None:
    phone = token_login(api, credentials(world.patient)).json()["token"]
    tablet = token_login(api, credentials(world.patient)).json()["token"]
    someone_else = token_login(api, credentials(world.other_patient)).json()["token"]

    assert with_token(phone).post("/api/v1/auth/token/logout-all/").status_code == 204

    assert with_token(phone).get("/api/v1/me/").status_code == 401
    assert with_token(tablet).get("/api/v1/me/").status_code == 401
    assert with_token(someone_else).get("/api/v1/me/").status_code == 200


def test_expired_token_is_401(world: Any, api: APIClient) -> None:
    start = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        token = token_login(api, credentials(world.patient)).json()["token"]
    ttl = token_ttl()
    with time_machine.travel(start + ttl - dt.timedelta(minutes=1), tick=False):
        assert with_token(token).get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + ttl + dt.timedelta(minutes=1), tick=False):
        response = with_token(token).get("/api/v1/me/")
    assert response.status_code == 401
    assert errors(response) == [(None, "authentication_failed")]
    assert not AuthToken.objects.filter(user=world.patient.user).exists()


@pytest.mark.parametrize("header", ["Token", "Token not-a-token", "Token a b", "Bearer abc"])
def test_malformed_authorization_header_is_401(world: Any, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert errors(response)[0][1] in ("authentication_failed", "not_authenticated")


def test_staff_can_log_in_but_get_403_on_patient_endpoints(world: Any, api: APIClient) -> None:
    body = {"email": world.therapist.user.email, "password": PASSWORD}
    token = token_login(api, body).json()["token"]
    staff = with_token(token)
    for path in ("/api/v1/me/", "/api/v1/me/program/", "/api/v1/me/trends/", ASSESSMENTS, "/api/v1/assessments/due/"):
        response = staff.get(path)
        assert response.status_code == 403, path
        assert errors(response) == [(None, "permission_denied")]
        assert response.json()["errors"][0]["message"] == "This endpoint is for patients."


# Wrong passwords and lockout ---------------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_get_the_same_400(world: Any, api: APIClient) -> None:
    wrong = token_login(api, credentials(world.patient, "not-the-password"))
    unknown = token_login(api, {"email": "nobody@example.test", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert errors(response) == [(None, "invalid_credentials")]
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"email": "not-an-email", "password": "x"}, [("email", "invalid")]),
        ({"email": "a@example.test", "password": 12345678}, [("password", "invalid")]),
        ({"email": "a@example.test"}, [("password", "required")]),
        ({"email": "a@example.test", "password": "x", "remember": True}, [("remember", "unknown_field")]),
    ],
)
def test_malformed_login_is_400(api: APIClient, db: None, body: dict[str, Any], expected: list[Any]) -> None:
    response = token_login(api, body)
    assert response.status_code == 400
    assert errors(response) == expected


def fail_until_locked(client: APIClient, patient: Any, address: str) -> None:
    """AXES_FAILURE_LIMIT wrong passwords: the last one already answers with the lockout."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = token_login(client, credentials(patient, "wrong-password"), REMOTE_ADDR=address)
        assert response.status_code == 400
        assert errors(response) == [(None, "invalid_credentials")]
    assert_locked(token_login(client, credentials(patient, "wrong-password"), REMOTE_ADDR=address))


def assert_locked(response: Any) -> None:
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert errors(response) == [(None, "locked_out")]


def test_repeated_failures_lock_the_account_for_that_address(world: Any, api: APIClient) -> None:
    fail_until_locked(api, world.patient, "203.0.113.7")

    # Locked: even the right password is refused, on both kinds of login.
    assert_locked(token_login(api, credentials(world.patient), REMOTE_ADDR="203.0.113.7"))
    browser = APIClient()
    assert_locked(browser.post(LOGIN, credentials(world.patient), format="json", REMOTE_ADDR="203.0.113.7"))
    assert not AuthToken.objects.filter(user=world.patient.user).exists()


def test_lockout_is_per_account_and_address(world: Any, api: APIClient) -> None:
    fail_until_locked(api, world.patient, "203.0.113.7")

    # The same account from another address, and another account from the same address, still log in.
    assert token_login(api, credentials(world.patient), REMOTE_ADDR="198.51.100.9").status_code == 200
    assert token_login(api, credentials(world.other_patient), REMOTE_ADDR="203.0.113.7").status_code == 200


def _login_at(api: APIClient, patient: Any, moment: dt.datetime) -> Any:
    with time_machine.travel(moment, tick=False):
        return token_login(api, credentials(patient), REMOTE_ADDR="203.0.113.7")


def test_lockout_cools_off_after_15_minutes(world: Any, api: APIClient) -> None:
    start = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        fail_until_locked(api, world.patient, "203.0.113.7")
    assert_locked(_login_at(api, world.patient, start + dt.timedelta(minutes=14, seconds=59)))
    # That attempt was refused as well: the 15 minutes run from the latest refused attempt.
    renewed = start + dt.timedelta(minutes=15, seconds=1)
    assert_locked(_login_at(api, world.patient, renewed))
    response = _login_at(api, world.patient, renewed + dt.timedelta(minutes=15, seconds=1))
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"token", "expiry"}


def test_lockout_ends_15_minutes_after_the_last_failure(world: Any, api: APIClient) -> None:
    start = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        fail_until_locked(api, world.patient, "203.0.113.7")
    response = _login_at(api, world.patient, start + dt.timedelta(minutes=15, seconds=1))
    assert response.status_code == 200, response.content


def test_a_success_before_the_limit_resets_the_count(world: Any, api: APIClient) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token_login(api, credentials(world.patient, "wrong"), REMOTE_ADDR="203.0.113.7").status_code == 400
    assert token_login(api, credentials(world.patient), REMOTE_ADDR="203.0.113.7").status_code == 200
    assert token_login(api, credentials(world.patient, "wrong"), REMOTE_ADDR="203.0.113.7").status_code == 400
    assert token_login(api, credentials(world.patient), REMOTE_ADDR="203.0.113.7").status_code == 200


# DRF throttles -----------------------------------------------------------------------------------------------


@pytest.fixture
def low_rates() -> Iterator[None]:
    """Small rates for every scope. DRF reads the rates into a class attribute at import, so patch that."""
    rates = {"anon": "2/min", "user": "3/min", "login": "3/min"}
    with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", rates):
        yield


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert errors(response) == [(None, "throttled")]
    assert 1 <= int(response["Retry-After"]) <= 61


def test_login_scope_throttles_by_address(world: Any, api: APIClient, low_rates: None) -> None:
    start = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert token_login(api, {"email": "nobody@example.test", "password": "x"}).status_code == 400
        assert_throttled(token_login(api, credentials(world.patient)))
        # The activation and CSRF endpoints share the login scope.
        assert_throttled(api.post(ACTIVATE, {"token": "x", "password": "y"}, format="json"))
        assert_throttled(api.get("/api/v1/auth/csrf/"))
        # Another address has its own budget.
        assert token_login(api, credentials(world.patient), REMOTE_ADDR="198.51.100.9").status_code == 200
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert token_login(api, credentials(world.patient)).status_code == 200


def test_user_scope_throttles_per_user(world: Any, low_rates: None) -> None:
    tokens = {p: AuthToken.objects.create(user=p.user)[1] for p in (world.patient, world.other_patient)}
    start = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        client = with_token(tokens[world.patient])
        for _ in range(3):
            assert client.get("/api/v1/me/").status_code == 200
        assert_throttled(client.get("/api/v1/me/"))
        assert with_token(tokens[world.other_patient]).get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert client.get("/api/v1/me/").status_code == 200


def test_the_user_throttle_says_when_to_retry_and_does_not_count_refused_requests(world: Any, low_rates: None) -> None:
    """The same rule on Redis (one atomic script, clinic/api/throttling.py) and on any other cache (DRF's)."""
    client = with_token(AuthToken.objects.create(user=world.patient.user)[1])
    start = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
    for seconds in (0, 10, 20):
        with time_machine.travel(start + dt.timedelta(seconds=seconds), tick=False):
            assert client.get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        refused = client.get("/api/v1/me/")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) in (30, 31)  # the oldest leaves the minute at 12:01:00 (rounded up)
        assert client.get("/api/v1/me/").status_code == 429
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert client.get("/api/v1/me/").status_code == 200  # the refused ones were not counted
        assert client.get("/api/v1/me/").status_code == 429  # 10 s and 20 s are still in the window, and 61 s


def test_anon_scope_throttles_anonymous_reads(api: APIClient, db: None, low_rates: None) -> None:
    for _ in range(2):
        assert api.get("/api/v1/schema/").status_code == 200
    assert_throttled(api.get("/api/v1/schema/", HTTP_ACCEPT="application/json"))


# Activation --------------------------------------------------------------------------------------------------


@pytest.fixture
def invited(world: Any) -> tuple[Any, str]:
    """A new patient invited by their therapist (as ``manage.py invite_patient`` does): (patient, token)."""
    patient, issued = patient_invite(
        clinic=world.clinic,
        therapist=world.therapist,
        email="new.patient@example.test",
        first_name="Nora",
        last_name="Quist",
        program=cast(Program, ProgramFactory(name="Core basics", kind=Phase.TREATMENT)),
        by=world.therapist.user,
    )
    return patient, issued.token


def activate(client: APIClient, token: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(ACTIVATE, {"token": token, "password": password}, format="json")


def test_activation_sets_the_password_then_login_works(api: APIClient, invited: tuple[Any, str]) -> None:
    patient, token = invited
    assert token_login(api, credentials(patient, NEW_PASSWORD)).status_code == 400

    response = activate(api, token)

    assert response.status_code == 200, response.content
    assert "log in" in response.json()["detail"]
    patient.refresh_from_db()
    assert patient.user is not None
    assert patient.user.email == "new.patient@example.test"
    assert not patient.user.is_staff
    login = token_login(api, credentials(patient, NEW_PASSWORD))
    assert login.status_code == 200
    assert with_token(login.json()["token"]).get("/api/v1/me/").json()["first_name"] == "Nora"


def test_activation_token_works_once(api: APIClient, invited: tuple[Any, str]) -> None:
    _, token = invited
    assert activate(api, token).status_code == 200
    again = activate(api, token, "another-long-passphrase-7")
    assert again.status_code == 400
    assert errors(again) == [("token", "invalid_token")]
    assert "already used" in again.json()["errors"][0]["message"]


def test_expired_activation_token_is_400(api: APIClient, invited: tuple[Any, str]) -> None:
    patient, token = invited
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=8)):
        response = activate(api, token)
    assert response.status_code == 400
    assert errors(response) == [("token", "invalid_token")]
    patient.refresh_from_db()
    assert patient.user is None


@pytest.mark.parametrize("forged", ["forged-token", "", "x" * 200])
def test_forged_activation_token_is_400(api: APIClient, invited: tuple[Any, str], forged: str) -> None:
    response = activate(api, forged)
    assert response.status_code == 400
    assert errors(response)[0][0] == "token"
    assert Invitation.objects.get().used_at is None


def test_a_newer_invitation_revokes_the_older_link(world: Any, api: APIClient, invited: tuple[Any, str]) -> None:
    patient, old = invited
    new = invitation_issue(patient=patient, by=world.therapist.user).token
    assert errors(activate(api, old)) == [("token", "invalid_token")]
    assert activate(api, new).status_code == 200


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short-1", "password_too_short"),
        ("123456789012345", "password_entirely_numeric"),
        ("password1234", "password_too_common"),
        ("new.patient@example.test", "password_too_similar"),
    ],
)
def test_weak_password_is_400_and_keeps_the_link_usable(
    api: APIClient, invited: tuple[Any, str], password: str, code: str
) -> None:
    _, token = invited
    response = activate(api, token, password)
    assert response.status_code == 400
    found = errors(response)
    assert {field for field, _ in found} == {"password"}
    assert ("password", code) in found
    assert activate(api, token).status_code == 200


def test_activation_rejects_unknown_fields(api: APIClient, invited: tuple[Any, str]) -> None:
    _, token = invited
    response = api.post(ACTIVATE, {"token": token, "password": NEW_PASSWORD, "email": "x@example.test"}, format="json")
    assert response.status_code == 400
    assert errors(response) == [("email", "unknown_field")]


def test_a_new_device_beyond_the_token_limit_revokes_the_oldest_token(world: Any, settings: Any) -> None:
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    client = APIClient()
    body = {"email": world.patient.email, "password": PASSWORD}
    tokens = [client.post("/api/v1/auth/token/", body, format="json").json()["token"] for _ in range(3)]
    assert AuthToken.objects.filter(user=world.patient.user).count() == 2
    me = [APIClient(HTTP_AUTHORIZATION=f"Token {t}").get("/api/v1/me/").status_code for t in tokens]
    assert me == [401, 200, 200]


def test_anonymous_requests_to_protected_endpoints_are_throttled_before_authentication(
    world: Any, api: APIClient, low_rates: None
) -> None:
    signed_in = client_for(world.patient.user)
    for _ in range(2):
        assert api.get("/api/v1/me/").status_code == 401

    assert_throttled(api.get("/api/v1/me/"))
    assert_throttled(api.get("/api/v1/alerts/1/"))
    assert signed_in.get("/api/v1/me/").status_code == 200  # signed-in callers are not counted nor refused


def test_failed_authentications_count_towards_the_anonymous_budget(world: Any, low_rates: None) -> None:
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
    for _ in range(2):
        assert forged.get("/api/v1/me/").status_code == 401

    assert_throttled(APIClient().get("/api/v1/me/"))


def test_an_expired_token_is_refused_and_deleted_and_the_daily_purge_removes_the_others(world: Any) -> None:
    user = world.patient.user
    presented_instance, presented = AuthToken.objects.create(user=user)
    other_instance, _ = AuthToken.objects.create(user=user)
    live_instance, live = AuthToken.objects.create(user=user)
    past = timezone.now() - dt.timedelta(minutes=1)
    AuthToken.objects.filter(pk__in=[presented_instance.pk, other_instance.pk]).update(expiry=past)

    expired = client_for(None)
    expired.credentials(HTTP_AUTHORIZATION=f"Token {presented}")
    assert expired.get("/api/v1/me/").status_code == 401
    assert not AuthToken.objects.filter(pk=presented_instance.pk).exists()
    # A request with another token no longer reads (nor deletes) the user's other expired tokens...
    ok = client_for(None)
    ok.credentials(HTTP_AUTHORIZATION=f"Token {live}")
    assert ok.get("/api/v1/me/").status_code == 200
    assert AuthToken.objects.filter(pk=other_instance.pk).exists()
    # ... the daily purge does.
    assert purge_expired_tokens() == 1
    assert list(AuthToken.objects.filter(user=user).values_list("pk", flat=True)) == [live_instance.pk]


# One query says who the token's user is (patients/tokens.py) -------------------------------------------------


def _token_of(user: Any) -> str:
    return AuthToken.objects.create(user=user)[1]


@pytest.mark.parametrize("role", ["patient", "therapist", "superuser without a profile"])
def test_the_token_query_reads_who_the_user_is_once(
    world: Any, superuser: Any, role: str, django_assert_num_queries: Any
) -> None:
    from patients.access import staff_profile
    from patients.models import patient_of
    from patients.tokens import tokens_with_user
    from programs.models import active_enrollment

    user = {"patient": world.patient.user, "therapist": world.therapist.user}.get(role, superuser)
    token = _token_of(user)
    with django_assert_num_queries(1):
        (found,) = tokens_with_user(token[:15])
        patient, profile = patient_of(found.user), staff_profile(found.user)
        clinic = patient.clinic.timezone if patient is not None else None
        enrollment = active_enrollment(patient) if patient is not None else None
    assert found.user == user
    assert found.digest == hash_token(token)
    assert found.expiry == AuthToken.objects.get(digest=found.digest).expiry  # an aware datetime, as stored
    assert patient == (world.patient if role == "patient" else None)
    assert clinic == (world.clinic.timezone if role == "patient" else None)
    assert profile == (world.therapist if role == "therapist" else None)
    assert enrollment == (world.patient.enrollments.get(active=True) if role == "patient" else None)


def test_a_patient_without_an_active_enrollment_is_read_as_such(world: Any, django_assert_num_queries: Any) -> None:
    from patients.tokens import tokens_with_user
    from programs.models import active_enrollment

    world.patient.enrollments.update(active=False)
    token = _token_of(world.patient.user)
    with django_assert_num_queries(1):
        (found,) = tokens_with_user(token[:15])
        assert active_enrollment(found.user.patient) is None


def test_the_enrollment_read_with_the_token_is_forgotten_on_refresh(world: Any) -> None:
    from patients.tokens import tokens_with_user
    from programs.models import active_enrollment

    (found,) = tokens_with_user(_token_of(world.patient.user)[:15])
    patient = found.user.patient
    assert active_enrollment(patient) is not None
    world.patient.enrollments.update(active=False)
    patient.refresh_from_db()
    assert active_enrollment(patient) is None


def test_an_inactive_users_token_is_401(world: Any) -> None:
    client = with_token(_token_of(world.patient.user))
    assert client.get("/api/v1/me/").status_code == 200
    type(world.patient.user).objects.filter(pk=world.patient.user.pk).update(is_active=False)
    assert client.get("/api/v1/me/").status_code == 401


def test_a_token_with_the_right_key_but_a_wrong_secret_is_401(world: Any) -> None:
    token = _token_of(world.patient.user)
    forged = token[:15] + ("0" if token[15] != "0" else "1") + token[16:]
    assert with_token(forged).get("/api/v1/me/").status_code == 401
    assert with_token(token).get("/api/v1/me/").status_code == 200
