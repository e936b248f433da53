"""Gunicorn settings of the web process (`gunicorn -c python:clinic.gunicorn_conf clinic.wsgi`).

Gunicorn's own loggers (``gunicorn.error``, ``gunicorn.access``) write through Django's LOGGING, like every
other logger (clinic/logs.py): the same JSON or console lines, at LOG_LEVEL (``--log-level`` is not used).
The access line is one structured event per request: method, path, status, bytes, duration and the request's
id. Its path is redacted like every other (no query string, no referrer, segments outside the URL
configuration masked): an admin search (``?q=<surname>``) or a mistyped URL would otherwise put health
information into the logs.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import structlog
from gunicorn.glogging import Logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")


class StructuredLogger(Logger):
    """Gunicorn's logger, routed to the root handler of LOGGING, with a structured access line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from django.conf import settings
        from django.utils.log import configure_logging

        # The master process never sets Django up: apply LOGGING here, for its start-up and worker lines too.
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True
        self.error_log.setLevel(logging.NOTSET)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: dt.timedelta) -> None:
        if not self.access_log_enabled:
            return
        from clinic.logs import redact_path

        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        structlog.get_logger("gunicorn.access").info(
            "request_served",
            method=environ.get("REQUEST_METHOD"),
            path=redact_path(str(environ.get("PATH_INFO", ""))),
            status=int(status),
            bytes=getattr(resp, "sent", None),
            duration_ms=round(request_time.total_seconds() * 1000, 1),
            request_id=environ.get("clinic.request_id"),
            remote_addr=environ.get("REMOTE_ADDR"),
        )


logger_class = StructuredLogger
accesslog = "-"  # on; where it goes is LOGGING's root handler (stderr)
