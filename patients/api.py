"""Patient endpoints: the patient's own record and current program."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.adherence import Week, weekly_adherence
from clinic.api.schema import error_response
from patients.models import Patient
from patients.permissions import IsPatient
from programs.models import Enrollment, Phase, PrescribedExercise

ADHERENCE_WEEKS = 4


class ClinicOut(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    timezone = serializers.CharField()


class TherapistOut(serializers.Serializer):  # type: ignore[type-arg]
    display_name = serializers.CharField()


class ProgramBriefOut(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Phase.choices, help_text="The phase the program is for.")


class EnrollmentOut(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    program = ProgramBriefOut()
    phase = serializers.ChoiceField(choices=Phase.choices, help_text="The patient's current phase.")
    phase_since = serializers.DateField(help_text="The day the current phase began.")


class AdherenceWeekOut(serializers.Serializer):  # type: ignore[type-arg]
    """One calendar week (Monday to Sunday, in the clinic's time zone) of the patient's own reporting."""

    week_start = serializers.DateField(help_text="The Monday of the week.")
    sessions_reported = serializers.IntegerField(help_text="Post-workout reports made for that week.")
    sessions_prescribed = serializers.IntegerField(help_text="Sessions prescribed for the days of the week enrolled.")
    checkins_done = serializers.IntegerField(help_text="Weekly check-ins made for that week.")
    checkins_due = serializers.IntegerField(help_text="1 when the week's check-in day has come, else 0.")
    exercise_days = serializers.IntegerField(
        allow_null=True, help_text="Exercise days reported in the week's check-in (0-7), null without one."
    )
    in_progress = serializers.BooleanField(help_text="The current week.")


class MeOut(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    email = serializers.EmailField()
    clinic = ClinicOut()
    therapist = TherapistOut()
    enrollment = EnrollmentOut(allow_null=True)
    adherence = AdherenceWeekOut(many=True, help_text=f"The last {ADHERENCE_WEEKS} weeks, oldest first.")


class ExerciseOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    """One exercise as prescribed to this patient (their therapist may have adjusted the program's)."""

    class Meta:
        model = PrescribedExercise
        fields = ["name", "instructions", "region", "sets", "reps", "hold_seconds"]


class ProgramOut(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Phase.choices, help_text="The phase the program is for.")
    description = serializers.CharField()
    phase = serializers.ChoiceField(choices=Phase.choices, help_text="The patient's current phase.")
    phase_since = serializers.DateField(help_text="The day the current phase began.")
    exercises = ExerciseOut(many=True)


def _own_patient(request: Request) -> Patient:
    patient = Patient.objects.visible_to(request.user).select_related("clinic", "therapist").first()
    if patient is None:  # IsPatient ran first: not reachable, kept as a guard
        raise NotFound()
    return patient


def _active_enrollment(patient: Patient) -> Enrollment | None:
    return Enrollment.objects.filter(patient=patient, active=True).select_related("program").first()


class MeView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="The patient",
        description="The signed-in patient: their clinic, therapist, current enrollment (null when not enrolled) "
        f"and their reporting over the last {ADHERENCE_WEEKS} weeks.",
        responses=MeOut,
    )
    def get(self, request: Request) -> Response:
        """The patient, their clinic, therapist and current enrollment."""
        patient = _own_patient(request)
        enrollment = _active_enrollment(patient)
        weeks: list[Week] = []
        if enrollment is not None:
            enrollment.patient = patient  # with its clinic, for the clinic's weeks
            weeks = weekly_adherence([enrollment], weeks=ADHERENCE_WEEKS)[enrollment.pk]
        body: dict[str, Any] = {
            "id": patient.pk,
            "first_name": patient.first_name,
            "email": patient.email,
            "clinic": patient.clinic,
            "therapist": patient.therapist,
            "enrollment": enrollment,
            "adherence": [week.as_dict() for week in weeks],
        }
        return Response(MeOut(body).data)


class MyProgramView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="The current program",
        description="The program of the patient's current phase, with the exercises as prescribed to them.",
        responses={200: ProgramOut, 404: error_response("Not enrolled in a program (code `not_found`).")},
    )
    def get(self, request: Request) -> Response:
        """The program of the current phase, with the exercises as prescribed to the patient; 404 if not enrolled."""
        patient = _own_patient(request)
        enrollment = _active_enrollment(patient)
        if enrollment is None:
            raise NotFound("You are not enrolled in a program.")
        program = enrollment.program
        body = {
            "name": program.name,
            "kind": program.kind,
            "description": program.description,
            "phase": enrollment.phase,
            "phase_since": enrollment.phase_since,
            "exercises": list(enrollment.prescription.all()),
        }
        return Response(ProgramOut(body).data)
