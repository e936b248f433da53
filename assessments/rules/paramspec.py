"""What every ruleset version's thresholds share: the error, the field kinds and their validation.

A parameter is a dataclass field whose metadata says its kind (`int`, `number`, `choice` or `bool`), its bounds
and, from v2 on, its ``unit`` and a one-sentence ``help``. ``check`` validates one value against that metadata
and raises ``InvalidParams`` naming the key, so an administrator's override is refused with a useful message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import Field, field, fields
from typing import Any


class InvalidParams(ValueError):
    """A parameter override is not valid. ``key`` names the offending parameter."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def int_param(default: int, *, unit: str, help: str, lo: int = 1, hi: int | None = 365) -> int:
    """An integer parameter (counts and windows default to lo=1: never zero or negative; at most a year)."""
    meta = {"kind": "int", "lo": lo, "hi": hi, "unit": unit, "help": help}
    result: int = field(default=default, metadata=meta)
    return result


def number_param(
    default: float,
    *,
    unit: str,
    help: str,
    lo: float = 0,
    hi: float | None = 100,
    lo_open: bool = True,
) -> float:
    """A numeric parameter (deltas: strictly positive by default)."""
    meta = {"kind": "number", "lo": lo, "hi": hi, "lo_open": lo_open, "unit": unit, "help": help}
    result: float = field(default=default, metadata=meta)
    return result


def choice_param(default: str, choices: tuple[str, ...], *, unit: str, help: str) -> str:
    """One of a fixed tuple of answer codes."""
    result: str = field(default=default, metadata={"kind": "choice", "choices": choices, "unit": unit, "help": help})
    return result


def bool_param(default: bool, *, help: str) -> bool:
    """An on/off switch (a rule's ``rNN_enabled``)."""
    result: bool = field(default=default, metadata={"kind": "bool", "unit": "switch", "help": help})
    return result


def check(key: str, value: object, meta: Mapping[str, Any]) -> None:
    """Raise ``InvalidParams`` when ``value`` does not fit the field metadata ``meta``."""
    kind = meta["kind"]
    if kind == "choice":
        if not isinstance(value, str) or value not in meta["choices"]:
            raise InvalidParams(key, f"must be one of {', '.join(meta['choices'])}")
        return
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidParams(key, "must be true or false")
        return
    if isinstance(value, bool):
        raise InvalidParams(key, "must be a number, not a boolean")
    if kind == "int":
        if not isinstance(value, int):
            raise InvalidParams(key, "must be an integer")
    elif not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParams(key, "must be a finite number")
    number: float = value
    lo, hi = meta["lo"], meta["hi"]
    if meta.get("lo_open", False):
        if number <= lo:
            raise InvalidParams(key, f"must be greater than {lo}")
    elif number < lo:
        raise InvalidParams(key, f"must be at least {lo}")
    if hi is not None and number > hi:
        raise InvalidParams(key, f"must be at most {hi}")


def check_overrides(cls: type[Any], data: object) -> dict[str, Any]:
    """Validate a partial override mapping for the params dataclass ``cls``; return it as a plain dict."""
    if not isinstance(data, Mapping):
        raise InvalidParams("(params)", "must be a mapping of parameter names to values")
    by_name: dict[str, Field[Any]] = {f.name: f for f in fields(cls)}
    for key in data:
        if not isinstance(key, str) or key not in by_name:
            raise InvalidParams(str(key), "unknown parameter")
    # Check every given key before construction so the error names it (the constructor re-checks all).
    for name, f in by_name.items():
        if name in data:
            check(name, data[name], f.metadata)
    return dict(data)
