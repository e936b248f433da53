"""The client address used by lockouts and throttles trusts X-Forwarded-For only behind declared proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from clinic.client_ip import client_ip


def _request(forwarded: str | None = None) -> Any:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **extra)


def test_without_proxies_the_forwarded_header_is_ignored(settings: Any) -> None:
    settings.PROXY_COUNT = 0
    assert client_ip(_request("203.0.113.9")) == "10.0.0.1"


def test_behind_one_proxy_the_address_it_saw_is_used(settings: Any) -> None:
    settings.PROXY_COUNT = 1
    assert client_ip(_request("198.51.100.7, 203.0.113.9")) == "203.0.113.9"
    assert client_ip(_request()) == "10.0.0.1"


def test_behind_two_proxies_a_spoofed_left_part_is_skipped(settings: Any) -> None:
    settings.PROXY_COUNT = 2
    assert client_ip(_request("6.6.6.6, 198.51.100.7, 203.0.113.9")) == "198.51.100.7"


@pytest.mark.django_db
def test_changing_the_forwarded_header_does_not_escape_a_lockout(world: Any, settings: Any) -> None:
    settings.PROXY_COUNT = 0
    client = APIClient()
    body = {"email": world.patient.email, "password": "wrong-password-123"}
    statuses = [
        client.post("/api/v1/auth/token/", body, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    # The failure that reaches the limit is already answered with the lockout.
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses == [400] * (limit - 1) + [429, 429]
