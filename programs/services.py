"""Use cases for enrollments: phase transitions and outcome scores."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assessments import queues
from clinic.publish import publish
from programs.models import Enrollment, OutcomeScore, Phase, PhaseTransition


def enrollment_transition(
    *,
    enrollment: Enrollment,
    to_phase: str,
    by: Any,
    reason: str,
    effective_date: date | None = None,
    irritability_low: bool | None = None,
    neuro_screen_clear: bool | None = None,
    motor_control_ok: bool | None = None,
    readiness: dict[str, Any] | None = None,
) -> PhaseTransition:
    """Move an active enrollment to another phase and record the transition with its readiness snapshot.

    The effective date may lie in the past (transitions are often recorded late), but not before the
    current phase began nor in the future. When the readiness snapshot shows a criterion that did not
    pass, a reason is required: moving too soon is the classic mistake.
    """
    if to_phase not in Phase.values:
        raise ValidationError({"to_phase": f"Unknown phase {to_phase!r}."})
    reason = (reason or "").strip()
    with transaction.atomic():
        # Lock the row so that two therapists moving the same patient at once serialise.
        locked = Enrollment.objects.select_for_update().select_related("patient__clinic").get(pk=enrollment.pk)
        if not locked.active:
            raise ValidationError({"enrollment": "This enrollment has ended; start a new one instead."})
        if locked.phase == to_phase:
            raise ValidationError({"to_phase": f"The patient is already in the {locked.get_phase_display()} phase."})
        today = timezone.localdate(timezone=locked.patient.clinic.tz)
        effective = effective_date or today
        if effective > today:
            raise ValidationError({"effective_date": "The effective date cannot be in the future."})
        if effective < locked.phase_since:
            raise ValidationError(
                {"effective_date": f"The effective date cannot be before the phase began ({locked.phase_since})."}
            )
        snapshot = readiness or {}
        if not snapshot and locked.phase == Phase.TREATMENT and to_phase == Phase.STABILIZATION:
            snapshot = readiness_snapshot(
                patient=locked.patient,
                irritability_low=irritability_low,
                neuro_screen_clear=neuro_screen_clear,
                motor_control_ok=motor_control_ok,
            )
        if to_phase == Phase.TREATMENT and not reason:
            raise ValidationError({"reason": "Say why the patient goes back to treatment (the alerts or findings)."})
        if _has_unmet_criterion(snapshot) and not reason:
            raise ValidationError({"reason": "The readiness check is not fully met: record the reason for moving now."})
        transition = PhaseTransition.objects.create(
            enrollment=locked,
            from_phase=locked.phase,
            to_phase=to_phase,
            effective_date=effective,
            by=by,
            reason=reason,
            irritability_low=irritability_low,
            neuro_screen_clear=neuro_screen_clear,
            motor_control_ok=motor_control_ok,
            readiness=snapshot,
        )
        locked.phase = to_phase
        locked.phase_since = effective
        locked.save(update_fields=["phase", "phase_since"])
    enrollment.refresh_from_db()
    return transition


def readiness_snapshot(
    *, patient: Any, irritability_low: bool | None, neuro_screen_clear: bool | None, motor_control_ok: bool | None
) -> dict[str, Any]:
    """The readiness check treatment -> stabilization (RULES.md), as stored on the transition."""
    from assessments.loader import readiness_context

    report = readiness_context(
        patient=patient,
        ratings={
            "irritability_low": irritability_low,
            "neuro_screen_clear": neuro_screen_clear,
            "motor_control_ok": motor_control_ok,
        },
    )
    return report.to_dict()


def _has_unmet_criterion(snapshot: dict[str, Any]) -> bool:
    criteria = snapshot.get("criteria", [])
    return any(c.get("status") != "pass" for c in criteria if isinstance(c, dict))


def outcome_score_record(*, score: OutcomeScore, by: Any) -> OutcomeScore:
    """Store a clinician-entered score and judge the rules that read it (R-08) as of its date (RULES.md v2).

    The score is marked unscanned, so a lost message only delays the scan: the sweep finds it.
    """
    if score.entered_by_id is None:
        score.entered_by = by
    score.scanned_at = None
    with transaction.atomic():
        score.save()
        patient_id = score.patient_id
        transaction.on_commit(lambda: publish(queues.SCAN_PATIENT, patient_id), robust=True)
    return score
