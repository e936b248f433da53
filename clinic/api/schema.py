# mypy: disable-error-code="no-untyped-call"
# (drf-spectacular's AutoSchema, whose methods this module extends, has no type hints.)
"""The OpenAPI schema of the portal API: what drf-spectacular generates, made to tell the truth in one place.

- Every operation documents the errors it can answer with (API.md "Errors"), all in the one ``ErrorResponse``
  shape: 400 where there is input to refuse, 401 and 403 where a caller must be signed in or of the right kind,
  404 for object URLs and pages past the last, 415 for a body that is not JSON, 429 everywhere (throttles).
  A view adds others (a 400 of a service, a 404 of its own) with ``extend_schema(responses=...)``.
- Operation descriptions come from ``extend_schema(summary=..., description=...)`` only: view docstrings are
  written for the maintainers and stay out of the contract. Likewise a serializer's description is its own
  docstring, never one inherited from a mixin.
- Strict request bodies (``StrictSerializerMixin``: unknown fields are a 400) say
  ``additionalProperties: false``; ``page`` and ``page_size`` carry the paginator's bounds.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BigIntegerField, IntegerField
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import get_view_model
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from clinic.api.fields import StrictSerializerMixin, UniqueChoiceListField


class ErrorSerializer(serializers.Serializer[Any]):
    """One problem with the request."""

    field = serializers.CharField(
        allow_null=True,
        help_text="The dotted path of the input at fault (`answers.thigh_level`, `reviews.0.item`, a query "
        "parameter's name), or null when the problem is the request as a whole.",
    )
    code = serializers.CharField(help_text="A stable, machine-readable code: `required`, `invalid`, `not_found` ...")
    message = serializers.CharField(help_text="The problem in words, for a person.")


@extend_schema_serializer(component_name="ErrorResponse")
class ErrorResponseSerializer(serializers.Serializer[Any]):
    """Every error of the API, whatever its status: the list of problems, at least one."""

    # A declared field, not the `errors` property of a bound serializer (DRF's metaclass moves it to `fields`).
    errors = ErrorSerializer(many=True)  # type: ignore[assignment]


def error_response(description: str) -> OpenApiResponse:
    """An error response in the ``ErrorResponse`` shape, for ``extend_schema(responses={...})``."""
    return OpenApiResponse(ErrorResponseSerializer, description=description)


# The error responses, by status: components/responses, referred to by every operation that can answer with one.
ERRORS: dict[str, tuple[str, str]] = {
    "400": (
        "BadRequest",
        "Invalid input: one error per problem, each naming its field (API.md, Errors). Unknown fields are errors too.",
    ),
    "401": (
        "Unauthenticated",
        "Not authenticated: no credentials, or a token or session that is invalid, expired or revoked.",
    ),
    "403": (
        "Forbidden",
        "Authenticated, but not the kind of user this endpoint serves (a patient on a therapist endpoint, staff on "
        "a patient endpoint), or a session request without its CSRF token.",
    ),
    "404": (
        "NotFound",
        "Not found: missing, outside the caller's scope (the same answer, so existence is not revealed), or a page "
        "past the last.",
    ),
    "415": ("UnsupportedMediaType", "The body is not JSON: send `Content-Type: application/json`."),
    "429": (
        "Throttled",
        "Too many requests, or too many failed logins for this account from this address: retry after the number "
        "of seconds in `Retry-After`.",
    ),
}
ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/ErrorResponse"}
RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before retrying."}
}


def error_responses_component(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the shared error responses the operations refer to."""
    responses = result.setdefault("components", {}).setdefault("responses", {})
    for code, (name, description) in ERRORS.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": ERROR_SCHEMA_REF}},
        }
        if code == "429":
            response["headers"] = RETRY_AFTER
        responses[name] = response
    return result


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's inspector with the error responses, bounds and descriptions of the module docstring."""

    def get_description(self) -> str:  # type: ignore[override]
        # Only what extend_schema(description=...) gives (it overrides this method); never a docstring.
        return ""

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        if "description" in schema and not cls.__dict__.get("__doc__"):
            # An inherited docstring (StrictSerializerMixin's) says how the class works, not what the data is.
            del schema["description"]
        if direction == "request" and issubclass(cls, StrictSerializerMixin):
            schema["additionalProperties"] = False
        return schema

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._resolve_path_parameters(variables)
        model = get_view_model(self.view, emit_warnings=False)
        if model is None or not getattr(self.view, "lookup_value_regex", None):
            return parameters
        pk = model._meta.pk
        for parameter in parameters:
            if parameter["name"] in {"id", "pk"} and isinstance(pk, IntegerField):
                # The viewset routes any id without a slash to its view (so that a malformed one is a JSON 404,
                # not Django's HTML page); the ids themselves are positive whole numbers.
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": BigIntegerField.MAX_BIGINT}
                parameter["description"] = f"The {model._meta.verbose_name}'s id."
        return parameters

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, UniqueChoiceListField) and schema.get("type") == "array":
            schema["uniqueItems"] = True  # a repeated item is a 400 (`duplicate`)
        return schema

    def _get_request_body(self, direction: Any = "request") -> dict[str, Any] | None:
        body: dict[str, Any] | None = super()._get_request_body(direction)
        if body is not None:
            # Every body of this API has required fields, the entry variants (oneOf) included: none may be left out.
            body["required"] = True
        return body

    def _get_pagination_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_pagination_parameters()
        paginator = self._get_paginator()
        for parameter in parameters:
            schema = parameter.setdefault("schema", {})
            if parameter["name"] == getattr(paginator, "page_query_param", None):
                schema["minimum"] = 1
                parameter["description"] = "The page, from 1; a page past the last is a 404."
            elif parameter["name"] == getattr(paginator, "page_size_query_param", None):
                schema |= {"minimum": 1, "maximum": paginator.max_page_size, "default": paginator.page_size}
                parameter["description"] = f"Results per page, at most {paginator.max_page_size}."
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes = [code for code in self._error_codes() if code not in responses]
        if codes:
            self.resolve_serializer(ErrorResponseSerializer, "response")  # the component the responses refer to
        for code in codes:
            responses[code] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
        return responses

    def _error_codes(self) -> list[str]:
        """The error statuses this operation can answer with (API.md "Errors")."""
        permissions = self.view.get_permissions()
        open_to_all = any(isinstance(p, AllowAny) for p in permissions)
        role_checked = any(not isinstance(p, (AllowAny, IsAuthenticated)) for p in permissions)
        session = any(isinstance(a, SessionAuthentication) for a in self.view.get_authenticators())
        has_body = self.method not in SAFE_METHODS and self.get_request_serializer() is not None
        has_query = bool(self._get_filter_parameters() or self._get_pagination_parameters())
        has_query = has_query or any(p["in"] == "query" for p in self._process_override_parameters().values())
        codes = []
        if has_body or has_query:
            codes.append("400")
        if not open_to_all:
            codes.append("401")
            if role_checked or (session and self.method not in SAFE_METHODS):
                codes.append("403")
        if "{" in self.path or self._get_pagination_parameters():
            codes.append("404")
        if has_body:
            codes.append("415")
        codes.append("429")  # every API request is throttled (clinic.api.throttling, the anonymous middleware)
        return codes
