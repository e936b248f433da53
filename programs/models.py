"""Program templates, enrollments (episodes of care), phase transitions and outcome scores."""

from __future__ import annotations

from typing import Any

from auditlog.registry import auditlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patients import access
from patients.access import ClinicScopedQuerySet
from patients.models import Clinic, Patient


class Phase(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    STABILIZATION = "stabilization", "Core stabilization"
    MAINTENANCE = "maintenance", "Maintenance"


class ProgramQuerySet(models.QuerySet["Program"]):
    def visible_to(self, user: Any) -> ProgramQuerySet:
        """The built-in programs, shared by every clinic, and the user's clinic's own (``patients.access``)."""
        return access.shared_or_own(self, user, clinic="clinic_id")

    def for_clinic(self, clinic_id: int | None) -> ProgramQuerySet:
        return self.filter(Q(clinic__isnull=True) | Q(clinic_id=clinic_id))


class Program(models.Model):
    """A template program of one phase: built in (no clinic; shared and read-only) or a clinic's own.

    A patient entering a phase is prescribed the clinic's default program of that phase (``is_default``; the
    built-in default when the clinic has none of its own), or another program of that phase that the therapist
    picks; the prescription is the patient's own copy (``PrescribedExercise``). A clinic changes a built-in
    program by copying it and editing the copy.
    """

    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="programs",
        help_text="The clinic that owns this program; empty for a built-in program, shared by every clinic.",
    )  # fmt: skip
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Phase.choices)
    description = models.TextField(blank=True)
    post_workouts_per_week = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(0), MaxValueValidator(14)],
        help_text="Default number of post-workout check-ins expected each week.",
    )
    weekly_checkin_weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(6)], help_text="Default weekday of the weekly check-in (0 = Monday)."
    )
    is_default = models.BooleanField(
        default=False, help_text="Prescribed to a patient entering this phase, unless the therapist picks another."
    )

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(is_default=True, clinic__isnull=True),
                name="one_built_in_default_per_phase",
            ),
            models.UniqueConstraint(
                fields=["clinic", "kind"], condition=Q(is_default=True), name="one_clinic_default_per_phase"
            ),
            models.UniqueConstraint(fields=["name"], condition=Q(clinic__isnull=True), name="built_in_program_name"),
            models.UniqueConstraint(fields=["clinic", "name"], name="program_name_unique_per_clinic"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Exercise(models.Model):
    class Region(models.TextChoices):
        CORE = "core", "Core"
        HIPS = "hips", "Hips"
        GLUTES = "glutes", "Glutes"
        HAMSTRINGS = "hamstrings", "Hamstrings"
        NECK = "neck", "Neck"
        OTHER = "other", "Other"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="exercises")
    name = models.CharField(max_length=120)
    instructions = models.TextField()
    region = models.CharField(max_length=12, choices=Region.choices)
    sets = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(20)])
    reps = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(100)])
    hold_seconds = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(600)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["program", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="exercise_name_unique_per_program"),
            models.CheckConstraint(condition=Q(sets__gte=1) & Q(reps__gte=1), name="exercise_sets_reps_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class EnrollmentQuerySet(ClinicScopedQuerySet["Enrollment"]):
    def active(self) -> EnrollmentQuerySet:
        return self.filter(active=True)


class Enrollment(models.Model):
    """A patient's episode of care in one program, with its current phase."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="enrollments")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrollments")
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.TREATMENT)
    phase_since = models.DateField(help_text="The date the current phase began; may be in the past.")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    post_workouts_per_week = models.PositiveSmallIntegerField(
        default=3, validators=[MaxValueValidator(14)], help_text="Post-workout check-ins expected each week."
    )
    weekly_checkin_weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(6)], help_text="Weekday of the weekly check-in (0 = Monday)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(active=True), name="one_active_enrollment_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="enrollment_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(weekly_checkin_weekday__lte=6), name="enrollment_weekday_0_6"),
        ]

    def __str__(self) -> str:
        return f"{self.program.name}: {self.get_phase_display()} since {self.phase_since:%Y-%m-%d}"

    def clean(self) -> None:
        super().clean()
        if self.phase_since and self.started_on and self.phase_since < self.started_on:
            raise ValidationError({"phase_since": "The phase cannot begin before the enrollment started."})


# Where the API's token authentication (patients/tokens.py) leaves the active enrollment it read with the
# patient: among the patient's prefetched objects, which ``refresh_from_db()`` forgets.
_PRELOADED = "active_enrollment (as authenticated)"


def preload_active_enrollment(patient: Patient, enrollment: Enrollment | None) -> None:
    """Remember ``enrollment`` as the patient's active one, read with the patient in the same query.

    It holds for the request that read it (a patient's state as of its authentication), not beyond.
    """
    cache = patient.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[_PRELOADED] = enrollment


def active_enrollment(patient: Patient) -> Enrollment | None:
    """The patient's active enrollment (there is at most one), or None.

    For a patient of an API request this asks the database nothing: the token authentication read the
    enrollment with the patient, at the start of the request.
    """
    cache = patient.__dict__.get("_prefetched_objects_cache") or {}
    if _PRELOADED in cache:
        return cache[_PRELOADED]  # type: ignore[no-any-return]
    return Enrollment.objects.filter(patient=patient, active=True).first()


class PhaseTransitionQuerySet(ClinicScopedQuerySet["PhaseTransition"]):
    patient_path = "enrollment__patient"


class PhaseTransition(models.Model):
    """One recorded move between phases, with the readiness snapshot the therapist saw."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="transitions")
    from_phase = models.CharField(max_length=16, choices=Phase.choices)
    to_phase = models.CharField(max_length=16, choices=Phase.choices)
    effective_date = models.DateField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    irritability_low = models.BooleanField(
        null=True, blank=True, help_text="Exercise symptoms settle within 24 h (therapist-rated)."
    )
    neuro_screen_clear = models.BooleanField(null=True, blank=True, help_text="Neurological screen is clear.")
    motor_control_ok = models.BooleanField(
        null=True,
        blank=True,
        help_text="Drawing-in and craniocervical flexion without superficial substitution.",
    )
    readiness = models.JSONField(default=dict, blank=True, help_text="Snapshot of the readiness check.")
    # The program that applied before and from the move (empty on moves recorded before programs followed phases).
    from_program = models.ForeignKey(Program, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_program = models.ForeignKey(Program, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PhaseTransitionQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(from_phase=models.F("to_phase")), name="transition_changes_phase"),
        ]

    def __str__(self) -> str:
        return f"{self.from_phase} -> {self.to_phase} on {self.effective_date:%Y-%m-%d}"


class PrescribedExerciseQuerySet(ClinicScopedQuerySet["PrescribedExercise"]):
    patient_path = "enrollment__patient"


class PrescribedExercise(models.Model):
    """One exercise as prescribed to one patient: a copy of the program's, adjusted for them.

    The rows are copied from the enrollment's program when the enrollment starts and whenever a phase move
    changes the program; the therapist then adjusts sets, reps and hold, adds or drops exercises, without
    touching the template. The portal serves these rows (``/api/v1/me/program/``).
    """

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="prescription")
    source = models.ForeignKey(
        Exercise, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
        help_text="The program's exercise this was copied from; empty for one added for this patient.",
    )  # fmt: skip
    name = models.CharField(max_length=120)
    instructions = models.TextField()
    region = models.CharField(max_length=12, choices=Exercise.Region.choices)
    sets = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(20)])
    reps = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(100)])
    hold_seconds = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(600)])
    position = models.PositiveSmallIntegerField(default=0)

    objects = PrescribedExerciseQuerySet.as_manager()

    class Meta:
        ordering = ["enrollment", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "name"], name="prescribed_exercise_unique_per_enrollment"),
            models.CheckConstraint(
                condition=Q(sets__gte=1) & Q(reps__gte=1), name="prescribed_exercise_sets_reps_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ManagementTimeQuerySet(ClinicScopedQuerySet["ManagementTime"]):
    pass


class ManagementTime(models.Model):
    """Minutes a clinician spent managing one patient's remote monitoring, logged explicitly.

    Logged with a minutes field when resolving an alert, or with "Log review time" on the patient page; never
    inferred from page views. Summed per calendar month in the remote-monitoring report.
    """

    class Source(models.TextChoices):
        TRIAGE = "triage", "Alert triage"
        REVIEW = "review", "Review of the patient's data"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="management_time")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(240)])
    on = models.DateField(help_text="The day of the work, in the clinic's time zone.")
    source = models.CharField(max_length=8, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ManagementTimeQuerySet.as_manager()

    class Meta:
        ordering = ["-on", "-id"]
        indexes = [models.Index(fields=["patient", "on"], name="management_time_patient_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1) & Q(minutes__lte=240), name="management_minutes_1_240")
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.on:%Y-%m-%d} ({self.get_source_display()})"


class OutcomeScoreQuerySet(ClinicScopedQuerySet["OutcomeScore"]):
    pass


class OutcomeScore(models.Model):
    """A clinician-entered outcome measure (licensed instruments are recorded as scores only)."""

    class Instrument(models.TextChoices):
        ODI = "ODI", "Oswestry Disability Index (0-100)"
        PSFS = "PSFS", "Patient-Specific Functional Scale (mean 0-10)"
        OTHER = "other", "Other"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="outcome_scores")
    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    score = models.DecimalField(max_digits=5, decimal_places=1, validators=[MinValueValidator(0)])
    recorded_on = models.DateField()
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Storing a score runs the rules that read it as of its date, like a new entry (RULES.md v2).
    scanned_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OutcomeScoreQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_on", "-id"]
        indexes = [
            # The unscanned sweep (assessments.tasks.sweep_unscanned): scores whose R-08 is still to judge.
            models.Index(fields=["created_at"], condition=Q(scanned_at__isnull=True), name="outcome_unscanned_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(instrument="ODI") | Q(score__lte=100), name="outcome_odi_0_100"),
            models.CheckConstraint(condition=~Q(instrument="PSFS") | Q(score__lte=10), name="outcome_psfs_0_10"),
            models.CheckConstraint(condition=Q(score__gte=0), name="outcome_score_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.score} on {self.recorded_on:%Y-%m-%d}"

    def clean(self) -> None:
        super().clean()
        if self.recorded_on and self.patient_id is not None:
            clinic_tz = Patient.objects.select_related("clinic").get(pk=self.patient_id).clinic.tz
            if self.recorded_on > timezone.localdate(timezone=clinic_tz):
                raise ValidationError({"recorded_on": "The date cannot be in the future."})


auditlog.register(Enrollment, exclude_fields=["created_at"])
auditlog.register(PhaseTransition, exclude_fields=["created_at"])
auditlog.register(OutcomeScore, exclude_fields=["created_at"])
auditlog.register(PrescribedExercise)
auditlog.register(ManagementTime, exclude_fields=["created_at"])
