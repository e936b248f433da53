"""Alert triage: acknowledge and resolve, by compare-and-swap on the status."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from assessments.models import Alert

RESOLUTION_NOTE_MAX = 2000


def alert_acknowledge(*, alert: Alert, by: Any) -> Alert:
    """open -> acknowledged. Acknowledging twice is harmless; a resolved alert cannot be acknowledged."""
    now = timezone.now()
    changed = Alert.objects.filter(pk=alert.pk, status=Alert.Status.OPEN).update(
        status=Alert.Status.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by, updated_at=now
    )
    alert.refresh_from_db()
    if not changed and alert.status == Alert.Status.RESOLVED:
        raise ValidationError(ValidationError("This alert is already resolved.", code="resolved"))
    return alert


def alert_resolve(*, alert: Alert, by: Any, note: str) -> Alert:
    """open or acknowledged -> resolved, with a note. Later entries may open a new alert of the same key."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ValidationError("Say how the alert was resolved.", code="required")})
    if len(note) > RESOLUTION_NOTE_MAX:
        raise ValidationError({"note": ValidationError("At most 2000 characters.", code="max_length")})
    now = timezone.now()
    changed = (
        Alert.objects.filter(pk=alert.pk)
        .exclude(status=Alert.Status.RESOLVED)
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
    alert.refresh_from_db()
    if not changed:
        raise ValidationError(ValidationError("This alert is already resolved.", code="resolved"))
    return alert
