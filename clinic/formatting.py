"""Plain-text renderings of the values the rules judged, for emails and admin pages."""

from __future__ import annotations

import json
from typing import Any


def value_lines(values: dict[str, Any]) -> list[str]:
    """The values judged, one line per criterion (or item): ``B: mean=5.3, baseline=..., threshold=4``."""
    lines = []
    for key, value in values.items():
        if isinstance(value, dict):
            parts = ", ".join(f"{k}={json.dumps(v, separators=(',', ':'), default=str)}" for k, v in value.items())
            lines.append(f"{key}: {parts}")
        else:
            lines.append(f"{key}: {json.dumps(value, separators=(',', ':'), default=str)}")
    return lines
