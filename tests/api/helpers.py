"""Helpers of the portal API tests: authenticated clients and the one error shape."""

from __future__ import annotations

from typing import Any

from knox.models import AuthToken
from rest_framework.test import APIClient

ASSESSMENTS = "/api/v1/assessments/"


def token_for(user: Any) -> str:
    """A fresh knox token of the user, as ``POST /api/v1/auth/token/`` would issue it."""
    return str(AuthToken.objects.create(user=user)[1])


def client_for(user: Any | None) -> APIClient:
    """An API client authenticated with a real knox token (anonymous for None)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def errors(response: Any) -> list[tuple[str | None, str]]:
    """The (field, code) pairs of an error response, after checking the one error shape of API.md."""
    body = response.json()
    # `advice` (and `therapist_notified`, the refused red-flag items being stored) accompany the errors only
    # when the refused answers hold a red flag.
    assert set(body) - {"advice", "therapist_notified"} == {"errors"}, body
    assert isinstance(body["errors"], list), body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"}, error
        assert isinstance(error["code"], str), error
        assert isinstance(error["message"], str), error
        assert error["message"], error
    return [(error["field"], error["code"]) for error in body["errors"]]
