"""Logging filters: request lines are logged with their path only (no query string, where PHI can hide)."""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?[^\s\"]*")


class StripQueryStrings(logging.Filter):
    """Drops the query string from request lines (Django's development server logs ``"GET /path?q=... HTTP"``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_QUERY.sub("", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = _QUERY.sub("", record.msg)
        return True
