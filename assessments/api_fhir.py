"""Therapist endpoint: one patient as a FHIR R4 Bundle."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.fhir import patient_bundle
from patients.access import is_staff_member
from patients.models import Patient
from patients.permissions import IsTherapist, ObjectScopeFirst
from patients.reads import record_reads


class PatientFhirView(ObjectScopeFirst, APIView):
    permission_classes = [IsTherapist]

    def object_scope(self) -> QuerySet[Patient]:
        user = self.request.user
        return Patient.objects.visible_to(user) if is_staff_member(user) else Patient.objects.none()

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="FHIR R4 Bundle of one patient")
    def get(self, request: Request, pk: Any) -> Response:
        """Patient, a QuestionnaireResponse per entry, an Observation per scored value, a Flag per open alert."""
        patient = self.scoped_object or get_object_or_404(Patient.objects.visible_to(request.user), pk=pk)
        record_reads(request, [patient], "FHIR export")
        return Response(patient_bundle(patient=patient), content_type="application/fhir+json")
