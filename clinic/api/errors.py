"""One error shape for the whole API: ``{"errors": [{"field", "code", "message"}]}``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clinic.api.parsers import UnencodableInput

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


def _raised_in_parser(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "rest_framework.parsers":
            return True
        tb = tb.tb_next
    return False


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        # get_error_detail keeps each message's code (future, too_old, discharged, invalid_token, ...).
        exc = exceptions.ValidationError(detail=get_error_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RecursionError) and _raised_in_parser(exc):
        # json recurses once per nesting level: a hostile, deeply nested body is a 400, not a 500.
        exc = exceptions.ParseError("JSON parse error - the document is nested too deeply.")
    elif isinstance(exc, UnencodableInput) and context.get("request") is not None:
        # The view may read the refused body again (the entry-submit view keeps its red-flag items):
        # it reads it without the strings that can be neither stored nor echoed.
        exc.restore_data(context["request"])
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = list(flatten(exc.detail))
    else:
        detail = getattr(exc, "detail", str(exc))
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        errors = [{"field": None, "code": str(code), "message": str(detail)}]
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        response["Retry-After"] = str(int(wait) + 1)
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
