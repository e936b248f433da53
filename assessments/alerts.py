"""Alert triage: acknowledge and resolve, by compare-and-swap on the status.

Closed alerts are either resolved by a therapist or cleared by the scan (R-11 whose condition stopped
holding when later entries arrived): neither can be acknowledged or resolved again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assessments import questionnaires as q
from assessments.models import Alert, SafetyScreenReview
from programs.models import ManagementTime
from programs.services import management_time_log

RESOLUTION_NOTE_MAX = 2000
_CLOSED_MESSAGE = {
    Alert.Status.RESOLVED: "This alert is already resolved.",
    Alert.Status.CLEARED: "This alert was cleared automatically: later entries showed its condition no longer holds.",
}


def _closed_error(alert: Alert) -> ValidationError:
    return ValidationError(ValidationError(_CLOSED_MESSAGE[Alert.Status(alert.status)], code=alert.status))


def alert_acknowledge(*, alert: Alert, by: Any) -> Alert:
    """open -> acknowledged. Acknowledging twice is harmless; a closed alert cannot be acknowledged."""
    now = timezone.now()
    changed = Alert.objects.filter(pk=alert.pk, status=Alert.Status.OPEN).update(
        status=Alert.Status.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by, updated_at=now
    )
    alert.refresh_from_db()
    if not changed and alert.status in Alert.CLOSED:
        raise _closed_error(alert)
    return alert


def alert_resolve(
    *,
    alert: Alert,
    by: Any,
    note: str,
    reviews: Iterable[Mapping[str, Any]] | None = None,
    minutes: int | None = None,
) -> Alert:
    """open or acknowledged -> resolved, with a note. Later entries may open a new alert of the same key.

    For an R-01 alert the therapist may record, per reported safety-screen item, when it was assessed and
    the outcome (RULES.md R-01, v2): an item assessed as stable lowers a later unchanged report to high.
    ``minutes``: the time spent on it, logged as remote-monitoring management time in the same transaction.
    """
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ValidationError("Say how the alert was resolved.", code="required")})
    if len(note) > RESOLUTION_NOTE_MAX:
        raise ValidationError({"note": ValidationError("At most 2000 characters.", code="max_length")})
    checked = _checked_reviews(alert, list(reviews or ()))
    now = timezone.now()
    with transaction.atomic():
        changed = (
            Alert.objects.filter(pk=alert.pk)
            .exclude(status__in=Alert.CLOSED)
            .update(
                status=Alert.Status.RESOLVED,
                resolved_at=now,
                resolved_by=by,
                resolution_note=note,
                acknowledged_at=alert.acknowledged_at or now,
                acknowledged_by=alert.acknowledged_by or by,
                updated_at=now,
            )
        )
        if changed:
            SafetyScreenReview.objects.bulk_create(
                SafetyScreenReview(patient_id=alert.patient_id, alert=alert, recorded_by=by, **review)
                for review in checked
            )
            if minutes:
                management_time_log(patient=alert.patient, by=by, minutes=minutes, source=ManagementTime.Source.TRIAGE)
    alert.refresh_from_db()
    if not changed:
        raise _closed_error(alert)
    return alert


def reportable_items(alert: Alert) -> list[str]:
    """The safety-screen items an R-01 alert reported, in questionnaire order (what a review may cover)."""
    if alert.rule_id != "R-01":
        return []
    items = (alert.values or {}).get("items") or []
    return [i for i in q.SAFETY_SCREEN if i in items]


def _checked_reviews(alert: Alert, reviews: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not reviews:
        return []
    allowed = reportable_items(alert)
    if not allowed:
        raise ValidationError(
            {"reviews": ValidationError("Only an R-01 alert's safety-screen items can be reviewed.", code="invalid")}
        )
    outcomes = {c.value for c in SafetyScreenReview.Outcome}
    today = timezone.localdate()
    checked: dict[str, dict[str, Any]] = {}
    for review in reviews:
        item, outcome, assessed_on = review.get("item"), review.get("outcome"), review.get("assessed_on")
        if item not in allowed:
            raise ValidationError({"reviews": ValidationError(f"{item!s:.40} was not reported.", code="invalid")})
        if outcome not in outcomes:
            raise ValidationError({"reviews": ValidationError("Choose an outcome.", code="invalid_choice")})
        if not isinstance(assessed_on, date) or assessed_on > today:
            raise ValidationError({"reviews": ValidationError("Give the date it was assessed.", code="invalid")})
        checked[item] = {"item": item, "outcome": outcome, "assessed_on": assessed_on}
    return list(checked.values())
