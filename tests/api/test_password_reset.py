"""Forgotten passwords (patients): a single-use, expiring link through the outbox; no answer reveals an account."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from assessments.models import OutgoingEmail
from tests.api.helpers import client_for

FORGOT = "/api/v1/auth/password/forgot/"
RESET = "/api/v1/auth/password/reset/"
NEW = "Quiet-River-Stone-91"
SAID = "If a portal account uses this address, we have sent it a link to choose a new password."


def link_of(email: OutgoingEmail) -> dict[str, str]:
    found = re.search(r"/portal/reset-password/\?uid=([^&\s]+)&token=(\S+)", email.body_text)
    assert found, email.body_text
    return {"uid": found.group(1), "token": found.group(2)}


def ask(api: APIClient, address: str) -> Any:
    response = api.post(FORGOT, {"email": address}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"detail": SAID}
    return response


def test_a_patient_gets_a_link_through_the_outbox_and_chooses_a_new_password(world: Any, api: APIClient) -> None:
    user = world.patient.user
    old_device = client_for(user)
    ask(api, user.email.upper())

    email = OutgoingEmail.objects.get(key__startswith=f"password-reset:{user.pk}:")
    assert email.to == user.email
    assert email.subject == "[Riverside] Reset your portal password"
    assert world.patient.last_name not in email.subject + email.body_text  # the link, no health information

    response = api.post(RESET, {**link_of(email), "password": NEW}, format="json")

    assert response.status_code == 200, response.content
    assert old_device.get("/api/v1/me/").status_code == 401  # every token of the account ends
    assert AuthToken.objects.filter(user=user).count() == 0
    login = api.post("/api/v1/auth/token/", {"email": user.email, "password": NEW}, format="json")
    assert login.status_code == 200
    again = api.post(RESET, {**link_of(email), "password": "Another-Long-Pass-77"}, format="json")
    assert again.status_code == 400  # single use: the token changes with the password
    assert again.json()["errors"][0]["code"] == "invalid_token"


def test_unknown_addresses_and_staff_get_the_same_answer_and_no_email(world: Any, api: APIClient) -> None:
    ask(api, "nobody@example.test")
    ask(api, world.therapist.user.email)

    assert not OutgoingEmail.objects.filter(key__startswith="password-reset:").exists()


def test_a_link_expires_after_two_hours(world: Any, api: APIClient, time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2026, 6, 17, 12, 0, tzinfo=dt.UTC), tick=False)
    ask(api, world.patient.user.email)
    link = link_of(OutgoingEmail.objects.get(key__startswith="password-reset:"))

    time_machine.move_to(dt.datetime(2026, 6, 17, 14, 1, tzinfo=dt.UTC), tick=False)
    response = api.post(RESET, {**link, "password": NEW}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "token"


@pytest.mark.parametrize(
    "body", [{"uid": "zzz", "token": "abc"}, {"uid": "MQ", "token": "1-abc"}, {"uid": "!!", "token": ""}]
)
def test_forged_links_are_a_400(world: Any, api: APIClient, body: dict[str, str]) -> None:
    response = api.post(RESET, {**body, "password": NEW}, format="json")

    assert response.status_code == 400


def test_a_weak_password_is_a_400_naming_it_and_the_link_stays_usable(world: Any, api: APIClient) -> None:
    ask(api, world.patient.user.email)
    link = link_of(OutgoingEmail.objects.get(key__startswith="password-reset:"))

    weak = api.post(RESET, {**link, "password": "123"}, format="json")

    assert weak.status_code == 400
    assert {e["field"] for e in weak.json()["errors"]} == {"password"}
    assert api.post(RESET, {**link, "password": NEW}, format="json").status_code == 200


def test_reset_emails_are_throttled_per_account_address_whoever_asks(world: Any) -> None:
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "password_reset": "100/hour", "password_reset_email": "2/hour"}
    with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", rates):
        _ask_three_times(world.patient.user.email)


def _ask_three_times(address: str) -> None:
    cache.clear()
    for n in range(2):
        ask(APIClient(REMOTE_ADDR=f"10.0.0.{n + 1}"), address)

    refused = APIClient(REMOTE_ADDR="10.0.0.9").post(FORGOT, {"email": address}, format="json")

    assert refused.status_code == 429
    assert APIClient(REMOTE_ADDR="10.0.0.9").post(FORGOT, {"email": "other@example.test"}).status_code == 202
