"""Admin for program templates, enrollments (schedules), phase history and outcome scores."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from clinic.admin_scoping import ClinicScopedAdmin
from programs.models import Enrollment, Exercise, OutcomeScore, PhaseTransition, Program


class ExerciseInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Exercise
    extra = 0
    fields = ["position", "name", "region", "sets", "reps", "hold_seconds", "instructions"]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "kind", "post_workouts_per_week", "weekly_checkin_weekday"]
    list_filter = ["kind"]
    search_fields = ["name"]
    inlines = [ExerciseInline]


@admin.register(Enrollment)
class EnrollmentAdmin(ClinicScopedAdmin):
    list_display = [
        "patient",
        "program",
        "phase",
        "phase_since",
        "active",
        "post_workouts_per_week",
        "weekly_checkin_weekday",
    ]
    list_filter = ["phase", "active", "program"]
    list_select_related = ["patient", "program"]
    search_fields = ["patient__caseload_ref", "patient__last_name"]
    fields = [
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

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The phase changes only through "Move to another phase", which records the transition.
        return ["patient", "phase", "phase_since"] if obj is not None else []


@admin.register(PhaseTransition)
class PhaseTransitionAdmin(ClinicScopedAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutcomeScore)
class OutcomeScoreAdmin(ClinicScopedAdmin):
    list_display = ["patient", "instrument", "score", "recorded_on", "entered_by"]
    list_filter = ["instrument"]
    list_select_related = ["patient", "entered_by"]
    search_fields = ["patient__caseload_ref", "patient__last_name"]
    fields = ["patient", "instrument", "score", "recorded_on", "entered_by"]
    readonly_fields = ["entered_by"]

    def save_model(self, request: HttpRequest, obj: OutcomeScore, form: Any, change: bool) -> None:
        if obj.entered_by_id is None:
            obj.entered_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
