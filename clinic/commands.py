"""Helpers shared by the operator commands: one-line errors and strict argument parsing."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def one_line(exc: ValidationError) -> str:
    """Flatten a ValidationError to one line that names each field: 'email: already exists; ...'."""
    if hasattr(exc, "error_dict"):
        parts = [f"{field}: {' '.join(str(m) for m in messages)}" for field, messages in exc.message_dict.items()]
        return "; ".join(parts)
    return " ".join(str(m) for m in exc.messages)


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}") from None
