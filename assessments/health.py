"""``GET /health/``: database, broker and cache, plus the age of the oldest pending work."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from assessments.models import Entry, OutgoingEmail, RedFlagReport
from assessments.scanning import MAX_SCAN_FAILURES


def _timed(check: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = check()
    except Exception as exc:  # any failure of a dependency is reported, never raised
        return {"ok": False, "error": type(exc).__name__, "ms": round((time.monotonic() - started) * 1000, 1)}
    result = {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    if isinstance(detail, dict):
        result.update(detail)
    return result


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    from clinic.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _cache() -> None:
    cache.set("health:ping", "1", timeout=10)
    if cache.get("health:ping") != "1":
        raise RuntimeError("cache did not return the value just set")
    if getattr(cache, "degraded", False):
        raise RuntimeError("cache unavailable: throttles count per process until it is back")


def _age_seconds(value: Any) -> float | None:
    return None if value is None else round((timezone.now() - value).total_seconds(), 1)


def _backlog() -> dict[str, Any]:
    unscanned = Entry.objects.unscanned().aggregate(
        oldest=Min("submitted_at"), given_up=Count("id", filter=Q(scan_failures__gte=MAX_SCAN_FAILURES))
    )
    reports = RedFlagReport.objects.unscanned().aggregate(
        oldest=Min("submitted_at"), given_up=Count("id", filter=Q(scan_failures__gte=MAX_SCAN_FAILURES))
    )
    return {
        "oldest_unscanned_entry_age_s": _age_seconds(unscanned["oldest"]),
        # Entries whose patient failed MAX_SCAN_FAILURES scans: left for a person to look at.
        "entries_failing_scan": unscanned["given_up"],
        # Red flags of refused submissions, scanned like entries.
        "oldest_unscanned_red_flag_report_age_s": _age_seconds(reports["oldest"]),
        "red_flag_reports_failing_scan": reports["given_up"],
        **_email_backlog(),
    }


def _email_backlog() -> dict[str, Any]:
    oldest = OutgoingEmail.objects.unsent().aggregate(oldest=Min("created_at"))["oldest"]
    failed = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED).count()
    return {"oldest_unsent_email_age_s": _age_seconds(oldest), "emails_failed": failed}


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "broker": _timed(_broker), "cache": _timed(_cache)}
    backlog = _timed(_backlog) if checks["database"]["ok"] else {"ok": False, "error": "database unavailable"}
    healthy = all(c["ok"] for c in checks.values()) and backlog["ok"]
    body = {"status": "ok" if healthy else "failing", **checks, "backlog": backlog}
    return JsonResponse(body, status=200 if healthy else 503)
