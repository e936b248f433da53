"""Query strings of the API: a parameter that is not UTF-8 text is a 400 naming it, before any view runs.

Django decodes ``?status=%ED%A0%80`` (a UTF-8-encoded surrogate) or ``?status=%FF`` with replacement
characters (U+FFFD), so a view could not tell them from what the client sent. The raw query
string is checked instead, parameter by parameter, on every DRF view (the whole API).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest, get_bytes_from_wsgi
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from clinic.api.errors import error_body
from clinic.api.parsers import UNENCODABLE

API_PREFIX = "/api/"
PARAMETER_MESSAGE = "Must be valid UTF-8 text: undecodable bytes and encoded surrogates are not allowed."


def _text(raw: bytes) -> str | None:
    """A percent-encoded name or value (``+`` is a space) as text, or None when it is not valid UTF-8.

    Python's strict UTF-8 decoder also refuses an encoded surrogate (ED A0 80 ...).
    """
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def unencodable_parameters(query: bytes) -> list[str]:
    """The names of the parameters of a raw query string that are not UTF-8 text (name or value), in order.

    A name that is not UTF-8 itself is given with U+FFFD in place of what cannot be decoded.
    """
    names: list[str] = []
    for pair in query.split(b"&"):  # as Django's QueryDict (urllib.parse.parse_qsl) splits them
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = _text(raw_name)
        if name is None:
            name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8", "replace")
        elif _text(raw_value) is not None:
            continue
        if name not in names:
            names.append(name)
    return names


def _raw_query(request: HttpRequest) -> bytes:
    if isinstance(request, WSGIRequest):
        return get_bytes_from_wsgi(request.environ, "QUERY_STRING", "")
    # ASGI has decoded the query string as UTF-8 already.
    return str(request.META.get("QUERY_STRING", "")).encode("utf-8", "surrogatepass")


def _is_api_view(view_func: Any) -> bool:
    cls = getattr(view_func, "cls", None)  # set by APIView.as_view() and ViewSet.as_view()
    return isinstance(cls, type) and issubclass(cls, APIView)


class UnencodableQueryMiddleware:
    """A 400 in the API's error shape for a query parameter that is not UTF-8 text, on every API view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not _is_api_view(view_func):
            return None
        names = unencodable_parameters(_raw_query(request))
        if not names:
            return None
        errors = [{"field": name or None, "code": UNENCODABLE, "message": PARAMETER_MESSAGE} for name in names]
        return JsonResponse(error_body(errors), status=status.HTTP_400_BAD_REQUEST)


class PreAuthThrottle(SimpleRateThrottle):
    """A limit per client address on API requests that authenticate nobody, applied before any view runs.

    DRF checks throttles after authentication and permissions, so an anonymous request to a protected endpoint
    (a 401) was never throttled. Here, at the anonymous rate (``THROTTLE_ANON``), counted apart from the
    views' own throttles: every API request without credentials, and every request whose credentials failed
    (a 401: a wrong, expired or revoked token). Only requests without credentials are refused when the budget is
    used up; signed-in users are never counted nor refused here.
    """

    scope = "anon_preauth"

    def get_rate(self) -> str | None:
        return self.THROTTLE_RATES.get("anon")

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def over_limit(self, request: Any) -> bool:
        """Whether the address has used up its budget (without counting this request)."""
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        limit, duration = self.parse_rate(self.rate)
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - (duration or 0)]
        return len(self.history) >= (limit or 0)

    def record(self, request: Any) -> None:
        if self.rate is not None:
            self.over_limit(request)
            self.throttle_success()


def _has_credentials(request: HttpRequest) -> bool:
    return "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES


class AnonymousThrottleMiddleware:
    """Throttles anonymous requests to the API's protected endpoints by address, before authentication.

    Public endpoints (login, activation, the schema: every permission class ``AllowAny``) keep their own
    scoped throttles. Every 401 of the API counts too, so a client trying tokens is slowed down as well.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX) and response.status_code == status.HTTP_401_UNAUTHORIZED:
            PreAuthThrottle().record(request)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not _is_api_view(view_func) or _has_credentials(request) or _is_public(view_func):
            return None
        throttle = PreAuthThrottle()
        return _throttled(throttle.wait()) if throttle.over_limit(request) else None


def _is_public(view_func: Any) -> bool:
    classes = getattr(view_func.cls, "permission_classes", ())
    return bool(classes) and all(c is AllowAny for c in classes)


def _throttled(wait: float | None) -> HttpResponse:
    body = error_body(
        [{"field": None, "code": "throttled", "message": "Too many requests from this address. Try again later."}]
    )
    response = JsonResponse(body, status=status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(max(1, math.ceil(wait or 1)))
    return response
