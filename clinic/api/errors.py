"""One error shape for the whole API: ``{"errors": [{"field", "code", "message"}]}``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

LOCKOUT_SECONDS = 15 * 60


def flatten(detail: Any, path: str = "") -> Iterator[dict[str, str | None]]:
    """Walk DRF's nested error detail and yield one error per message with a dotted field path."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            key = str(key)
            if key in ("non_field_errors", "__all__"):
                yield from flatten(value, path)
            else:
                yield from flatten(value, f"{path}.{key}" if path else key)
    elif isinstance(detail, list):
        if detail and all(isinstance(item, dict | list) for item in detail):
            for index, item in enumerate(detail):
                yield from flatten(item, f"{path}.{index}" if path else str(index))
        else:
            for item in detail:
                yield from flatten(item, path)
    else:
        code = getattr(detail, "code", None) or "invalid"
        yield {"field": path or None, "code": str(code), "message": str(detail)}


def error_body(errors: list[dict[str, str | None]]) -> dict[str, Any]:
    return {"errors": errors}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = list(flatten(exc.detail))
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        errors = [{"field": None, "code": str(code), "message": str(detail)}]
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait) + 1)
    response.data = error_body(errors)
    return response


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """django-axes: too many failed logins for this account from this address (cool-off, not permanent)."""
    body = error_body(
        [
            {
                "field": None,
                "code": "locked_out",
                "message": "Too many failed login attempts. Try again in 15 minutes.",
            }
        ]
    )
    response = JsonResponse(body, status=status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(LOCKOUT_SECONDS)
    return response
