"""FHIR endpoints: one patient as a FHIR R4 Bundle (therapists), and the Questionnaires its answers name."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.fhir import FHIR_JSON, parse_questionnaire_name, patient_bundle, questionnaire_resource
from patients.access import is_staff_member
from patients.models import Patient
from patients.permissions import IsTherapist, ObjectScopeFirst
from patients.reads import record_reads

# Far enough from the ends of the calendar that a clinic-local day always has a UTC equivalent.
_FIRST_DAY = dt.date(1900, 1, 1)
_LAST_DAY = dt.date(9998, 12, 31)


class FhirJsonRenderer(JSONRenderer):
    """JSON as ``application/fhir+json``, for clients that ask for it in ``Accept``."""

    media_type = FHIR_JSON
    format = "json"  # the same format as JSON's: no `?format=` choice to document, Accept picks the media type


class ExportRangeSerializer(serializers.Serializer[Any]):
    """The days of the export, both optional and inclusive, in the clinic's time zone."""

    since = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD), clinic-local.")
    until = serializers.DateField(required=False, help_text="Last day (YYYY-MM-DD), clinic-local, inclusive.")

    def _in_calendar(self, value: dt.date) -> dt.date:
        if not _FIRST_DAY <= value <= _LAST_DAY:
            raise serializers.ValidationError(
                f"Give a day from {_FIRST_DAY.isoformat()} to {_LAST_DAY.isoformat()}.", code="out_of_range"
            )
        return value

    def validate_since(self, value: dt.date) -> dt.date:
        return self._in_calendar(value)

    def validate_until(self, value: dt.date) -> dt.date:
        return self._in_calendar(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since > until:
            raise serializers.ValidationError(
                {"until": serializers.ErrorDetail("The last day cannot be before `since`.", code="before_since")}
            )
        return attrs


_RANGE_PARAMETERS = [
    OpenApiParameter(
        "since",
        OpenApiTypes.DATE,
        OpenApiParameter.QUERY,
        description="Only data from this clinic-local day on (YYYY-MM-DD): entries by the day they occurred, "
        "outcome scores by the day recorded, alerts open on or after it.",
    ),
    OpenApiParameter(
        "until",
        OpenApiTypes.DATE,
        OpenApiParameter.QUERY,
        description="Only data up to this clinic-local day, inclusive (YYYY-MM-DD); not before `since`.",
    ),
]


class PatientFhirView(ObjectScopeFirst, APIView):
    permission_classes = [IsTherapist]
    renderer_classes = [JSONRenderer, FhirJsonRenderer]

    def object_scope(self) -> QuerySet[Patient]:
        user = self.request.user
        if not is_staff_member(user):
            return Patient.objects.none()
        return Patient.objects.visible_to(user).select_related("clinic")  # the clinic's time zone, for the days

    @extend_schema(
        summary="FHIR R4 Bundle of one patient",
        description="A `collection` Bundle: the Patient, a QuestionnaireResponse per entry, an Observation per "
        "scored answer, per PEG and PSFS score and per clinician-entered outcome score, and a Flag per alert "
        "(open and acknowledged: `active`; resolved or cleared: `inactive`, with `period.end`). Every reference "
        "is a `urn:uuid:` fullUrl of the Bundle, stable across exports.",
        parameters=_RANGE_PARAMETERS,
        responses={(200, FHIR_JSON): OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4 Bundle.")},
    )
    def get(self, request: Request, pk: Any) -> Response:
        """Patient, a QuestionnaireResponse per entry, Observations per score, a Flag per alert."""
        patient = self.scoped_object or get_object_or_404(
            Patient.objects.visible_to(request.user).select_related("clinic"), pk=pk
        )
        days = ExportRangeSerializer(data=request.query_params)
        days.is_valid(raise_exception=True)
        bundle = patient_bundle(patient=patient, **days.validated_data)
        record_reads(request, [patient], "FHIR export")
        return Response(bundle, content_type=FHIR_JSON)


class QuestionnaireView(APIView):
    """A Questionnaire's canonical URL. Open to anyone: it is the questionnaire's definition (the questions,
    their answers and conditions, the same for every clinic), no patient's or clinic's data, and the EHR
    that imports a Bundle must be able to resolve it without an account here."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, FhirJsonRenderer]

    @extend_schema(
        summary="FHIR R4 Questionnaire",
        description="The questionnaire a QuestionnaireResponse of the FHIR export names, by kind and version "
        "(`post_workout-v2`, `weekly-v2`, and earlier versions): items with types, ranges, coded answer "
        "options, `enableWhen` conditions and `required`. No patient data; no authentication needed.",
        parameters=[
            OpenApiParameter(
                "name",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="`<kind>-v<version>`, e.g. `post_workout-v2`; an unknown kind or version is a 404.",
            )
        ],
        responses={(200, FHIR_JSON): OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4 Questionnaire.")},
    )
    def get(self, request: Request, name: str) -> Response:
        parsed = parse_questionnaire_name(name)
        if parsed is None:
            raise NotFound("No such questionnaire or version.")
        kind, version = parsed
        return Response(questionnaire_resource(kind, version), content_type=FHIR_JSON)
