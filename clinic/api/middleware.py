"""Query strings of the API: a parameter that is not UTF-8 text is a 400 naming it, before any view runs.

Django decodes ``?status=%ED%A0%80`` (a UTF-8-encoded surrogate) or ``?status=%FF`` with replacement
characters (U+FFFD), so a view could not tell them from what the client sent. The raw query
string is checked instead, parameter by parameter, on every DRF view (the whole API).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.core.handlers.wsgi import WSGIRequest, get_bytes_from_wsgi
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.views import APIView

from clinic.api.errors import error_body
from clinic.api.parsers import UNENCODABLE

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
