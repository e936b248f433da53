"""Structured logs without health information (issue 11, item 6).

Every process (gunicorn, runserver, Celery workers and beat, management commands) logs through one chain:
Django calls ``configure`` with ``settings.LOGGING`` (``LOGGING_CONFIG``); Celery and gunicorn are pointed at
the same call (clinic/celery.py, clinic/gunicorn_conf.py). The root handler's ``ProcessorFormatter`` renders
both structlog's events (django-structlog's ``request_started``/``request_finished``, its task events) and the
records of plain ``logging.getLogger(__name__)`` loggers (Django, Celery, kombu, gunicorn, our own), so all of
them pass ``redact_phi`` last before rendering, as JSON lines or as readable key=value console lines.

``redact_phi`` masks the values of keys that can carry identity or health information (names, email, birth
date, answers, notes, evidence, values, free text, request bodies, search terms); removes query strings from
every text; masks email addresses, ``key='value'`` pairs of those keys inside messages, and the row values that
PostgreSQL quotes in constraint errors; and logs paths with every segment that is not a word of the URL
configuration, a number or a UUID masked (``/api/v1/*/``), since a mistyped or crafted URL can hold a
surname. It does not understand free prose: a message that interpolates a name is still a leak; log ids.

A request's ``request_id`` (django-structlog's RequestMiddleware) is bound to every line logged while it is
handled, is sent in the headers of the Celery tasks it publishes and bound again in the worker, so the lines
of the scan and of the email a submission causes carry the id of that submission's request.
"""

from __future__ import annotations

import logging
import logging.config
import re
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

import structlog
from structlog.dev import Column, ConsoleRenderer, KeyValueColumnFormatter, plain_traceback
from structlog.typing import EventDict, Processor, WrappedLogger

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django_structlog.celery.receivers import CeleryReceiver

REDACTED: Final = "[redacted]"
MASKED_SEGMENT: Final = "*"
FORMATS: Final = ("json", "console")

# A query string, up to the next space or quote: where search terms (?q=<surname>) hide.
_QUERY = re.compile(r"\?[^\s\"]*")


class StripQueryStrings(logging.Filter):
    """Drops the query string from request lines (Django's development server logs ``"GET /path?q=... HTTP"``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_QUERY.sub("", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = _QUERY.sub("", record.msg)
        return True


# --- what is redacted ----------------------------------------------------------------------------

# Keys whose values are identity or health information, or may be (free text, bodies, search terms).
PHI_KEYS: Final = frozenset(
    {
        "name", "first_name", "last_name", "full_name", "surname", "given_name", "display_name", "patient_name",
        "email", "email_address", "username", "to", "cc", "bcc", "recipient", "recipients", "subject",
        "birth_date", "date_of_birth", "dob", "phone", "address",
        "answers", "answer", "value", "values", "evidence", "notes", "note", "free_text", "text", "comment",
        "comments", "reason", "title", "instructions",
        "body", "request_body", "response_body", "data", "payload", "params", "form", "args", "kwargs",
        "q", "query", "query_string", "search", "password", "token", "positional_args",
    }
)  # fmt: skip
_PHI_SUFFIXES: Final = ("_name", "_email", "_notes", "_answers", "_birth_date")
# django-structlog's and Celery's own names ending in _name carry code identifiers, not people.
_NOT_PHI: Final = frozenset({"logger_name", "task_name", "child_task_name", "url_name", "view_name", "hostname"})
# Keys whose values are paths or URLs: logged with the path redacted.
PATH_KEYS: Final = frozenset({"path", "path_info", "full_path", "url", "referer", "referrer", "location", "next"})
# Loggers whose messages quote request paths ("Not Found: /api/v1/<typo>/", runserver's request lines).
_PATH_LOGGERS: Final = ("django.request", "django.server", "django.security", "gunicorn.access", "axes")

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_PAIR_KEYS = sorted({k for k in PHI_KEYS if len(k) > 2} | PATH_KEYS, key=len, reverse=True)
_KEYS_ALTERNATION = "|".join(re.escape(k) for k in _PAIR_KEYS)
# "last_name='Zzyz'", "username: \"a@b\"" (django-axes), "email=a@b", "'path': 'api/v1/Zzyz/'" (a Resolver404 in
# a traceback): the value of a PHI or path key inside a message.
_QUOTED_PAIR = re.compile(rf"(?i)\b({_KEYS_ALTERNATION})(['\"]?\s*[:=]\s*)(['\"])(.*?)\3")
_BARE_PAIR = re.compile(rf"(?i)\b({_KEYS_ALTERNATION})=(?!['\"])([^\s,;)\]}}]+)")
# A request line in any message ("GET /api/v1/Zzyz/": gunicorn's debug lines).
_REQUEST_LINE = re.compile(r"\b(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/[^\s\"']*)")
# PostgreSQL quotes the offending values in constraint errors: "Key (email)=(a@b) already exists",
# "Failing row contains (12, Zzyz, ...)".
_DB_KEY_VALUES = re.compile(r"(Key \([^)]*\)=\()(.*?)(\) )")
_DB_FAILING_ROW = re.compile(r"(Failing row contains \().*(\))")
_PATH_IN_TEXT = re.compile(r"(?<![\w/.:@])/[^\s\"',<>]*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def is_phi_key(key: str) -> bool:
    lowered = key.lower()
    if lowered in _NOT_PHI:
        return False
    return lowered in PHI_KEYS or lowered.endswith(_PHI_SUFFIXES)


def redact_text(text: str) -> str:
    """Remove query strings and mask email addresses, PHI ``key=value`` pairs and quoted database values."""
    if "?" in text:
        text = _QUERY.sub("", text)
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    if "=" in text or ":" in text:
        text = _QUOTED_PAIR.sub(_mask_quoted_pair, text)
        text = _BARE_PAIR.sub(_mask_bare_pair, text)
    if " /" in text:
        text = _REQUEST_LINE.sub(lambda match: f"{match[1]} {redact_path(match[2])}", text)
    if "Key (" in text:
        text = _DB_KEY_VALUES.sub(rf"\1{REDACTED}\3", text)
    if "Failing row contains" in text:
        text = _DB_FAILING_ROW.sub(rf"\1{REDACTED}\2", text)
    return text


def _masked(key: str, value: str) -> str:
    return redact_path(value) if key.lower() in PATH_KEYS else REDACTED


def _mask_quoted_pair(match: re.Match[str]) -> str:
    key, separator, quote, value = match.groups()
    return f"{key}{separator}{quote}{_masked(key, value)}{quote}"


def _mask_bare_pair(match: re.Match[str]) -> str:
    return f"{match[1]}={_masked(match[1], match[2])}"


# --- paths -------------------------------------------------------------------------------------------

_url_words: frozenset[str] | None = None
_url_words_lock = threading.Lock()


def url_words() -> frozenset[str]:
    """The literal words of the URL configuration (``api``, ``v1``, ``patients``, ``change`` ...).

    Empty until Django's apps are loaded (gunicorn's master process, early start-up): then every segment that is
    not a number is masked. Computed once per process.
    """
    global _url_words
    if _url_words is not None:
        return _url_words
    from django.apps import apps

    if not apps.ready or not _url_words_lock.acquire(blocking=False):
        return frozenset()  # not loaded yet, or being computed (a log line written while importing the URLconf)
    try:
        from django.urls import get_resolver

        words: set[str] = set()
        _collect_words(get_resolver().url_patterns, words)
        _url_words = frozenset(words)
        return _url_words
    except Exception:  # a broken URLconf is reported by Django itself; meanwhile mask everything
        return frozenset()
    finally:
        _url_words_lock.release()


def _collect_words(patterns: Iterable[Any], words: set[str]) -> None:
    for entry in patterns:
        pattern = str(entry.pattern)
        # Route converters ("<int:pk>") and regex groups ("(?P<pk>[^/.]+)") name parameters, not path words.
        pattern = re.sub(r"<[^>]*>", "", pattern)
        words.update(re.findall(r"[A-Za-z0-9_.~-]+", pattern))
        if hasattr(entry, "url_patterns"):
            _collect_words(entry.url_patterns, words)


def _static_prefix() -> str | None:
    from django.conf import settings

    if not settings.configured:
        return None
    static = str(getattr(settings, "STATIC_URL", "") or "")
    if not static or "://" in static:
        return None
    return "/" + static.strip("/") + "/"


def _keep(segment: str, words: frozenset[str]) -> bool:
    if not segment or segment in words or (segment.isascii() and segment.isdigit()):
        return True
    return bool(_UUID.fullmatch(segment))


def redact_path(path: str) -> str:
    """The path without its query string, each segment that is not part of the URL configuration masked.

    ``/admin/patients/patient/12/change/?q=Smith`` stays ``/admin/patients/patient/12/change/``;
    ``/api/v1/Smith/`` becomes ``/api/v1/*/``. A full URL keeps its scheme and host. Static files keep their path.
    """
    if "://" in path:
        parts = urlsplit(path)
        return urlunsplit((parts.scheme, parts.netloc, redact_path(parts.path or "/"), "", ""))
    path = path.split("?", 1)[0].split("#", 1)[0]
    static = _static_prefix()
    if static and path.startswith(static) and ".." not in path:
        return path
    words = url_words()
    return "/".join(segment if _keep(segment, words) else MASKED_SEGMENT for segment in path.split("/"))


def redact_request_line(line: str) -> str:
    """django-structlog's ``request`` value, ``"GET /path?query"``: the method and the redacted path."""
    method, _, path = line.partition(" ")
    if not path:
        return redact_path(method) if method.startswith("/") else redact_text(method)
    return f"{method} {redact_path(path)}"


def _redact_paths_in_text(text: str) -> str:
    return _PATH_IN_TEXT.sub(lambda match: redact_path(match.group()), text)


# --- the processor -----------------------------------------------------------------------------------


def _redact(key: str, value: Any, *, depth: int = 0) -> Any:
    if is_phi_key(key):
        return REDACTED  # numbers too: a "value" can be a pain score
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if key == "request":
            return redact_request_line(value)
        if key in PATH_KEYS:
            return redact_path(value)
        return redact_text(value)
    if depth >= 3:
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _redact(str(k), v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact(key, item, depth=depth + 1) for item in value]
    meta = getattr(value, "_meta", None)
    if meta is not None and hasattr(value, "pk"):
        # A model instance: its str() is often a name. Its label and primary key say which row.
        return f"<{meta.label} pk={value.pk}>"
    return redact_text(repr(value))


def redact_phi(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Mask what can carry health information or identity, in structlog's events and foreign records alike.

    Runs in the formatter after the exception is formatted, so a traceback's text is redacted too.
    """
    quotes_paths = str(event_dict.get("logger", "")).startswith(_PATH_LOGGERS)
    for key, value in list(event_dict.items()):
        if key.startswith("_"):
            continue
        if key == "event" and isinstance(value, str):
            event_dict[key] = redact_text(_redact_paths_in_text(value) if quotes_paths else value)
        else:
            event_dict[key] = _redact(key, value)
    return event_dict


# --- rendering ---------------------------------------------------------------------------------------


def _upper_level(key: str, value: object) -> str:
    return f"{str(value).upper():<8}"


def _value(value: object) -> str:
    text = str(value) if isinstance(value, str) else repr(value)
    return repr(text) if isinstance(value, str) and set(text) & {" ", "=", '"', "'", "\n", "\t"} else text


def console_renderer() -> ConsoleRenderer:
    """``2026-01-05T10:00:00.000000Z INFO     logger event key=value ...``, no colours, then the traceback."""
    plain = KeyValueColumnFormatter(key_style=None, value_style="", reset_style="", value_repr=str)
    return ConsoleRenderer(
        exception_formatter=plain_traceback,
        columns=[
            Column("timestamp", plain),
            Column("level", _upper_level),
            Column("logger", plain),
            Column("event", plain),
            Column("", KeyValueColumnFormatter(key_style="", value_style="", reset_style="", value_repr=_value)),
        ],
    )


# Applied to plain logging records before the shared processors: what structlog's own chain adds to events.
_TIMESTAMPER = structlog.processors.TimeStamper(fmt="iso", utc=True)
FOREIGN_PRE_CHAIN: Final[list[Processor]] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    _TIMESTAMPER,
]


def formatter(fmt: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every handler (``LOGGING['formatters']``): redaction last, then JSON or console text."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: expected one of {', '.join(FORMATS)}")
    renderer: Processor = structlog.processors.JSONRenderer() if fmt == "json" else console_renderer()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=FOREIGN_PRE_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_phi,
            renderer,
        ],
    )


# --- configuration -----------------------------------------------------------------------------------


def configure(config: dict[str, Any]) -> None:
    """Django's ``LOGGING_CONFIG``: apply ``LOGGING`` and route structlog's loggers to the same handlers.

    Safe to call again (Celery's worker and gunicorn's master call it before Django's set-up does).
    """
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            _TIMESTAMPER,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(config)
    logging.captureWarnings(True)  # a warning's text goes through the redaction too ("py.warnings")
    _connect_receivers()


_TASK_CONTEXT_KEYS: Final = frozenset({"request_id", "correlation_id", "user_id", "parent_task_id"})


def _bind_request(request: HttpRequest, **kwargs: Any) -> None:
    """At ``request_started``: the client address as the throttles see it (behind trusted proxies only), and
    the request id in the WSGI environ, where gunicorn's access line (clinic/gunicorn_conf.py) finds it."""
    from clinic.client_ip import client_ip

    structlog.contextvars.bind_contextvars(ip=client_ip(request))
    request.META["clinic.request_id"] = structlog.contextvars.get_contextvars().get("request_id")


def _trim_task_context(context: dict[str, Any], **kwargs: Any) -> None:
    """What travels in a task's headers: the ids only, no address."""
    for key in set(context) - _TASK_CONTEXT_KEYS:
        del context[key]


_celery_receiver: CeleryReceiver | None = None


def celery_receiver() -> CeleryReceiver:
    """django-structlog's Celery receiver, one per process: connecting it twice would log every event twice."""
    global _celery_receiver
    if _celery_receiver is None:
        from django_structlog.celery.receivers import CeleryReceiver

        _celery_receiver = CeleryReceiver()
    return _celery_receiver


def _connect_receivers() -> None:
    from django_structlog import signals as request_signals
    from django_structlog.celery import signals as task_signals

    request_signals.bind_extra_request_metadata.connect(_bind_request, dispatch_uid="clinic.logs.bind_request")
    task_signals.modify_context_before_task_publish.connect(
        _trim_task_context, dispatch_uid="clinic.logs.trim_task_context"
    )
    # Publishing side: the request's context goes into the headers of every task it publishes.
    celery_receiver().connect_signals()
