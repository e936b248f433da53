"""Strict JSON fields: every input is hostile, so nothing is coerced from strings or floats."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: ``"5"``, ``5.0`` and ``true`` are rejected."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class UniqueChoiceListField(serializers.ListField):
    """A list of choices without duplicates (empty = none)."""

    default_error_messages = {"duplicate": "Each item may appear only once: {item!r} is repeated."}

    def __init__(self, *, choices: tuple[str, ...], **kwargs: Any) -> None:
        kwargs.setdefault("max_length", len(choices))
        super().__init__(child=StrictChoiceField(choices=choices), **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, list):
            seen: set[Any] = set()
            for item in data:
                if isinstance(item, str) and item in seen:
                    self.fail("duplicate", item=item)
                if isinstance(item, str):
                    seen.add(item)
        return list(super().to_internal_value(data))


class StrictSerializerMixin:
    """Reject unknown fields by name instead of silently dropping them (mass assignment included)."""

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, Any] = {}
        if isinstance(data, dict):
            known = set(self.fields)  # type: ignore[attr-defined]
            errors = {
                str(key): [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                for key in sorted(map(str, data))
                if key not in known
            }
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors.update(exc.detail)
        if errors:
            raise serializers.ValidationError(errors)
        return value
