"""Use cases for enrollments: the program of each phase and its prescription, phase transitions, outcome scores."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from assessments import queues
from clinic.publish import publish
from programs.models import (
    Enrollment,
    Exercise,
    ManagementTime,
    OutcomeScore,
    Phase,
    PhaseTransition,
    PrescribedExercise,
    Program,
)


def phase_programs(phase: str, clinic_id: int | None) -> QuerySet[Program]:
    """The programs a patient of the clinic entering ``phase`` may be given: the clinic's own and the built-in
    ones, the default first (the clinic's own default before the built-in one)."""
    rank = Case(
        When(is_default=True, clinic_id=clinic_id, then=Value(0)),
        When(is_default=True, clinic__isnull=True, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return Program.objects.for_clinic(clinic_id).filter(kind=phase).order_by(rank, "name")


def default_program(phase: str, clinic_id: int | None) -> Program | None:
    """The clinic's default program of the phase, or the built-in default when the clinic has none."""
    return phase_programs(phase, clinic_id).first()


def check_program(program: Program, phase: str, clinic_id: int) -> None:
    """A ``ValidationError`` on ``program`` unless it is a program of ``phase`` offered to the clinic."""
    if program.clinic_id not in (None, clinic_id):
        raise ValidationError({"program": "This program belongs to another clinic."})
    if program.kind != phase:
        raise ValidationError({"program": f"{program.name} is not a program of the {Phase(phase).label} phase."})


EXERCISE_FIELDS = ("name", "instructions", "region", "sets", "reps", "hold_seconds", "position")


def _exercise_values(exercise: Exercise) -> dict[str, Any]:
    """What a copy of an exercise takes from it (a clinic's program copy, a patient's prescription)."""
    return {name: getattr(exercise, name) for name in EXERCISE_FIELDS}


def program_copy(*, program: Program, clinic_id: int) -> Program:
    """The clinic's own copy of a program, with its exercises, to edit without touching the original.

    Named "<name> (copy)" (then "(copy 2)" ...); never the clinic's default until the clinic makes it so.
    """
    names = set(Program.objects.filter(clinic_id=clinic_id).values_list("name", flat=True))
    limit = Program._meta.get_field("name").max_length or 120

    def named(n: int) -> str:  # the suffix always fits: the original's name is shortened instead
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        return program.name[: limit - len(suffix)] + suffix

    name = next((candidate for n in range(1, 1000) if (candidate := named(n)) not in names), None)
    if name is None:
        raise ValidationError("This clinic has too many copies of this program; rename some first.")
    exercises = list(program.exercises.all())
    with transaction.atomic():
        copy = Program.objects.create(
            clinic_id=clinic_id,
            name=name,
            kind=program.kind,
            description=program.description,
            post_workouts_per_week=program.post_workouts_per_week,
            weekly_checkin_weekday=program.weekly_checkin_weekday,
        )
        Exercise.objects.bulk_create(Exercise(program=copy, **_exercise_values(e)) for e in exercises)
    return copy


def prescription_reset(enrollment: Enrollment) -> list[PrescribedExercise]:
    """Prescribe the enrollment's program afresh: the patient's own copy of its exercises, replacing the old one."""
    PrescribedExercise.objects.filter(enrollment=enrollment).delete()
    return PrescribedExercise.objects.bulk_create(
        PrescribedExercise(enrollment=enrollment, source=exercise, **_exercise_values(exercise))
        for exercise in enrollment.program.exercises.order_by("position", "id")
    )


def enrollment_start(enrollment: Enrollment) -> Enrollment:
    """Save a new enrollment and prescribe its program. The program must be one of its phase."""
    check_program(enrollment.program, enrollment.phase, enrollment.patient.clinic_id)
    with transaction.atomic():
        enrollment.save()
        prescription_reset(enrollment)
    return enrollment


def enrollment_transition(
    *,
    enrollment: Enrollment,
    to_phase: str,
    by: Any,
    reason: str,
    program: Program | None = None,
    effective_date: date | None = None,
    irritability_low: bool | None = None,
    neuro_screen_clear: bool | None = None,
    motor_control_ok: bool | None = None,
    readiness: dict[str, Any] | None = None,
) -> PhaseTransition:
    """Move an active enrollment to another phase and record the transition with its readiness snapshot.

    The patient is given the new phase's program (``program``, by default the phase's default program) and a
    fresh prescription of it; the transition records which program applied before and from the move.

    The effective date may lie in the past (transitions are often recorded late), but not before the
    current phase began nor in the future. When the readiness snapshot shows a criterion that did not
    pass, a reason is required: moving too soon is the classic mistake.
    """
    if to_phase not in Phase.values:
        raise ValidationError({"to_phase": f"Unknown phase {to_phase!r}."})
    clinic_id = Enrollment.objects.filter(pk=enrollment.pk).values_list("patient__clinic_id", flat=True).get()
    program = program or default_program(to_phase, clinic_id)
    if program is None:
        raise ValidationError({"program": f"No program is set up for the {Phase(to_phase).label} phase yet."})
    check_program(program, to_phase, clinic_id)
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
            from_program_id=locked.program_id,
            to_program=program,
        )
        locked.phase = to_phase
        locked.phase_since = effective
        locked.program = program
        locked.save(update_fields=["phase", "phase_since", "program"])
        prescription_reset(locked)
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


MAX_MINUTES = 240


def management_time_log(*, patient: Any, by: Any, minutes: int, source: str, on: date | None = None) -> ManagementTime:
    """Log minutes spent managing a patient's remote monitoring (a review, or the triage of an alert)."""
    today = timezone.localdate(timezone=patient.clinic.tz)
    on = on or today
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationError({"minutes": f"Give the minutes as a whole number from 1 to {MAX_MINUTES}."})
    if on > today:
        raise ValidationError({"on": "The day cannot be in the future."})
    if source not in ManagementTime.Source.values:
        raise ValidationError({"source": f"Unknown source {source!r}."})
    return ManagementTime.objects.create(patient=patient, by=by, minutes=minutes, on=on, source=source)
