"""The bare baselines of bench/api_ratio.py: DRF at its plainest, on the project's own entry table.

- ``POST /bench/bare/entries/``: a ``CreateAPIView`` with a ``ModelSerializer`` inserting one row, no
  authentication, no throttle, no questionnaire, no scan.
- ``GET /bench/bare/entries/?patient=N``: a ``ListAPIView`` of one patient's 50 newest rows, one query.

Served only by ``bench.settings`` (the benchmark's own URLconf), never by the project.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from assessments.models import Entry
from clinic.urls import urlpatterns as project_urls


class BareEntry(serializers.ModelSerializer):  # type: ignore[type-arg]
    patient = serializers.IntegerField(source="patient_id")
    enrollment = serializers.IntegerField(source="enrollment_id", allow_null=True, required=False)

    class Meta:
        model = Entry
        exclude = ["scanned_at", "scan_failures", "questionnaire_version"]


class BareInsert(generics.CreateAPIView):  # type: ignore[type-arg]
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    serializer_class = BareEntry


class BareList(generics.ListAPIView):  # type: ignore[type-arg]
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    serializer_class = BareEntry
    pagination_class = None

    def get_queryset(self) -> QuerySet[Entry]:
        patient = int(self.request.query_params.get("patient", "0"))
        return Entry.objects.filter(patient_id=patient).order_by("-occurred_at", "-id")[:50]


urlpatterns = [
    path("bench/bare/entries/", BareInsert.as_view()),
    path("bench/bare/entries/list/", BareList.as_view()),
    *project_urls,
]
