"""Admin for program templates, enrollments (schedules), phase history and outcome scores."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from patients.access import staff_clinic_id
from patients.admin_scoping import ClinicScopedAdmin, ReadOnlyAdmin
from programs.models import Enrollment, Exercise, OutcomeScore, Phase, PhaseTransition, PrescribedExercise, Program
from programs.services import (
    check_program,
    default_program,
    enrollment_start,
    outcome_score_record,
    phase_programs,
    program_copy,
)


def _editable(request: HttpRequest, program: Program | None) -> bool:
    """A clinic edits its own programs; the built-in ones only a superuser (they are every clinic's)."""
    return program is None or program.clinic_id is not None or bool(request.user.is_superuser)


class ExerciseInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Exercise
    extra = 0
    fields = ["position", "name", "region", "sets", "reps", "hold_seconds", "instructions"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(request, obj) and super().has_delete_permission(request, obj)


class ProgramForm(forms.ModelForm):  # type: ignore[type-arg]
    """Checks a clinic's own names and default per phase itself: the clinic is set by the admin, not the form,
    so the model's constraints on it are not validated by the form."""

    clinic_id: int | None = None  # the staff user's clinic (None: a superuser, who picks the clinic)

    class Meta:
        model = Program
        fields = [
            "clinic",
            "name",
            "kind",
            "description",
            "post_workouts_per_week",
            "weekly_checkin_weekday",
            "is_default",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.clinic_id is None:
            return data
        others = Program.objects.filter(clinic_id=self.clinic_id).exclude(pk=self.instance.pk)
        if data.get("name") and others.filter(name=data["name"]).exists():
            self.add_error("name", "Your clinic has a program of this name already.")
        if data.get("is_default") and data.get("kind") and others.filter(kind=data["kind"], is_default=True).exists():
            self.add_error("is_default", "Another of your clinic's programs is this phase's default: untick it first.")
        return data


@admin.register(Program)
class ProgramAdmin(ClinicScopedAdmin):
    """The built-in programs (shared, read-only) and the clinic's own; "Copy for my clinic" makes an own copy."""

    list_display = ["name", "kind", "owner", "is_default", "post_workouts_per_week", "weekly_checkin_weekday"]
    list_filter = ["kind", "is_default"]
    search_fields = ["name"]
    inlines = [ExerciseInline]
    actions = ["copy_for_my_clinic"]

    @admin.display(description="Owner", ordering="clinic__name")
    def owner(self, obj: Program) -> str:
        return obj.clinic.name if obj.clinic is not None else "Built in"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("clinic")

    form = ProgramForm

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if request.user.is_superuser else ["clinic"]  # staff: always their own clinic

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.clinic_id = None if request.user.is_superuser else staff_clinic_id(request.user)  # type: ignore[attr-defined]
        return form

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(request, obj) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Program, form: Any, change: bool) -> None:
        if not request.user.is_superuser:
            obj.clinic_id = staff_clinic_id(request.user)
        super().save_model(request, obj, form, change)

    @admin.action(description="Copy for my clinic (to edit the copy)", permissions=["add"])
    def copy_for_my_clinic(self, request: HttpRequest, queryset: QuerySet[Program]) -> None:
        clinic_id = staff_clinic_id(request.user)
        if clinic_id is None:
            self.message_user(request, "Only a clinic's staff can copy a program for their clinic.", messages.ERROR)
            return
        for program in queryset:
            try:
                copy = program_copy(program=program, clinic_id=clinic_id)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, f"Copied as {copy.name}; edit it under Programs.", messages.SUCCESS)


ENROLLMENT_FIELDS = [
    "patient",
    "program",
    "phase",
    "phase_since",
    "started_on",
    "ended_on",
    "active",
    "post_workouts_per_week",
    "weekly_checkin_weekday",
]


class EnrollmentForm(forms.ModelForm):  # type: ignore[type-arg]
    """New enrollments take their schedule from the program unless the therapist sets one."""

    class Meta:
        model = Enrollment
        fields = ENROLLMENT_FIELDS
        help_texts = {
            "post_workouts_per_week": "Leave empty to use the program's default.",
            "weekly_checkin_weekday": "0 = Monday ... 6 = Sunday. Leave empty to use the program's default.",
            "phase_since": "Leave empty to use the start date.",
        }

    clinic_id: int | None = None  # the staff user's clinic: its own programs and the built-in ones are offered

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and "phase" in self.fields:
            # An episode starts in treatment; moving on goes through "Move to another phase", which runs the
            # readiness check and records the transition (moving too soon is the classic mistake).
            phase = self.fields["phase"]
            assert isinstance(phase, forms.ChoiceField)
            phase.choices = [(Phase.TREATMENT.value, Phase.TREATMENT.label)]
            phase.help_text = "New enrollments start in treatment; use 'Move to another phase' afterwards."
            # The program of the phase the enrollment starts in, its default preselected.
            program = self.fields.get("program")
            if isinstance(program, forms.ModelChoiceField):
                program.queryset = phase_programs(Phase.TREATMENT, self.clinic_id)
                program.initial = default_program(Phase.TREATMENT, self.clinic_id)
                program.help_text = "The patient gets their own copy of its exercises, to adjust on the next page."
        if self.instance.pk is None:
            for name in ("post_workouts_per_week", "weekly_checkin_weekday", "phase_since"):
                if name in self.fields:
                    self.fields[name].required = False
                    self.fields[name].initial = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        program = data.get("program")
        if self.instance.pk is None and program is not None:
            for name in ("post_workouts_per_week", "weekly_checkin_weekday"):
                if name in self.fields and data.get(name) is None:
                    data[name] = getattr(program, name)
                    setattr(self.instance, name, data[name])
            if "phase_since" in self.fields and data.get("phase_since") is None and data.get("started_on"):
                data["phase_since"] = data["started_on"]
                self.instance.phase_since = data["started_on"]
            phase, patient = data.get("phase"), data.get("patient")
            if phase and patient is not None:
                # The check enrollment_start makes when the admin saves: what it refuses is a form error, not a 500.
                try:
                    check_program(program, phase, patient.clinic_id)
                except ValidationError as error:
                    self.add_error(None, error)
        return data


class PrescriptionInline(admin.TabularInline):  # type: ignore[type-arg]
    """The patient's own exercises: adjust sets, reps and hold, add or drop exercises; the template stays."""

    model = PrescribedExercise
    extra = 0
    fields = ["position", "name", "region", "sets", "reps", "hold_seconds", "instructions"]
    verbose_name = "prescribed exercise"
    verbose_name_plural = "Prescription (this patient's exercises; the program's template is not changed)"


@admin.register(Enrollment)
class EnrollmentAdmin(ClinicScopedAdmin):
    form = EnrollmentForm
    list_display = [
        "patient",
        "program",
        "phase",
        "phase_since",
        "active",
        "post_workouts_per_week",
        "weekly_checkin_weekday",
    ]
    list_filter = ["phase", "active", ("program", admin.RelatedOnlyFieldListFilter)]  # the programs listed only
    list_select_related = ["patient", "program"]
    search_fields = ["patient__caseload_ref", "patient__last_name"]
    fields = tuple(ENROLLMENT_FIELDS)
    inlines = [PrescriptionInline]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.clinic_id = staff_clinic_id(request.user)  # type: ignore[attr-defined]
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The phase, and with it the program, changes only through "Move to another phase", which records the
        # transition and prescribes the new phase's program.
        return ["patient", "program", "phase", "phase_since"] if obj is not None else []

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return list(self.inlines) if obj is not None else []  # the prescription exists once the enrollment does

    def save_model(self, request: HttpRequest, obj: Enrollment, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            enrollment_start(obj)


@admin.register(PhaseTransition)
class PhaseTransitionAdmin(ReadOnlyAdmin, ClinicScopedAdmin):
    list_display = ["enrollment", "from_phase", "to_phase", "effective_date", "by"]
    list_filter = ["to_phase"]
    list_select_related = ["enrollment__program", "by"]
    readonly_fields = [
        "enrollment",
        "from_phase",
        "to_phase",
        "effective_date",
        "by",
        "reason",
        "irritability_low",
        "neuro_screen_clear",
        "motor_control_ok",
        "readiness",
        "created_at",
    ]


@admin.register(OutcomeScore)
class OutcomeScoreAdmin(ClinicScopedAdmin):
    list_display = ["patient", "instrument", "score", "recorded_on", "entered_by"]
    list_filter = ["instrument"]
    list_select_related = ["patient", "entered_by"]
    search_fields = ["patient__caseload_ref", "patient__last_name"]
    fields = ["patient", "instrument", "score", "recorded_on", "entered_by"]
    readonly_fields = ["entered_by"]

    def save_model(self, request: HttpRequest, obj: OutcomeScore, form: Any, change: bool) -> None:
        outcome_score_record(score=obj, by=request.user)
