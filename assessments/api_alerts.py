"""Therapist endpoints: the alerts visible to the caller, acknowledge and resolve."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import questionnaires as q
from assessments.alerts import alert_acknowledge, alert_resolve
from assessments.models import Alert, SafetyScreenReview, Severity
from clinic.api.fields import StrictCharField, StrictSerializerMixin
from clinic.api.schema import ErrorResponseSerializer
from patients.access import is_staff_member
from patients.permissions import IsTherapist, ObjectScopeFirst
from patients.reads import record_reads
from programs.services import MAX_MINUTES


class CriterionOut(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    text = serializers.CharField()


class CriterionWordsOut(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    text = serializers.CharField(help_text="The criterion, from the rule catalog.")
    facts = serializers.CharField(help_text="What met it, with the thresholds, in words.")


class EvidenceWordsOut(serializers.Serializer):  # type: ignore[type-arg]
    summary = serializers.CharField(help_text="The evidence in one line.")
    criteria = CriterionWordsOut(many=True)
    entries = serializers.ListField(child=serializers.CharField(), help_text="Each evidence entry in words.")
    notes = serializers.ListField(child=serializers.CharField(), help_text="Flags and what the patient was told.")


class AlertOut(serializers.ModelSerializer):  # type: ignore[type-arg]
    patient = serializers.IntegerField(source="patient_id")
    caseload_ref = serializers.CharField(source="patient.caseload_ref")
    therapist = serializers.CharField(source="therapist.display_name")
    criteria_described = CriterionOut(
        many=True, read_only=True, help_text="The criteria met, in words (from the rule catalog)."
    )
    evidence_words = EvidenceWordsOut(
        source="words", read_only=True, help_text="The evidence in plain language (the same words as the emails)."
    )

    class Meta:
        model = Alert
        fields = [
            "id", "patient", "caseload_ref", "therapist", "rule_id", "rule_slug", "title", "qualifier", "severity",
            "status", "criteria", "criteria_described", "evidence_words", "values", "evidence", "rationale",
            "ruleset_version", "thresholds", "raised_at", "last_evidence_at", "acknowledged_at", "resolved_at",
            "resolution_note", "cleared_at", "cleared_by_entry", "reported_late", "escalations",
        ]  # fmt: skip
        read_only_fields = fields


class SafetyReviewIn(StrictSerializerMixin, serializers.Serializer):  # type: ignore[type-arg]
    item = serializers.ChoiceField(choices=q.SAFETY_SCREEN_CHOICES)
    outcome = serializers.ChoiceField(choices=SafetyScreenReview.Outcome.choices)
    assessed_on = serializers.DateField()


class ResolveIn(StrictSerializerMixin, serializers.Serializer):  # type: ignore[type-arg]
    note = StrictCharField(max_length=2000)
    reviews = SafetyReviewIn(
        many=True,
        required=False,
        help_text="R-01 only: per reported safety-screen item, when it was assessed and the outcome. An item "
        "assessed as stable lowers a later unchanged report of it to high for 90 days.",
    )
    minutes = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MINUTES,
        help_text="Minutes spent on the patient's remote monitoring for this alert (the monthly report counts them).",
    )


class IdFilter(django_filters.NumberFilter):
    """A whole-number id within the database's range (a huge value is a 400, not an overflow)."""

    field_class = forms.IntegerField


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Alert.Status.choices, label="Only alerts in this state.")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, label="Only alerts of this severity.")
    patient = IdFilter(
        field_name="patient_id", min_value=1, max_value=2**63 - 1, label="Only the alerts of this patient (id)."
    )

    class Meta:
        model = Alert
        fields = ["status", "severity", "patient"]


@extend_schema_view(
    list=extend_schema(
        summary="List alerts",
        description="The alerts of the caller's clinic, most severe first, then newest first, a page at a time.",
    ),
    retrieve=extend_schema(summary="Get one alert", description="One alert of the caller's clinic."),
)
class AlertViewSet(ObjectScopeFirst, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Alerts of the caller's clinic, most severe first. Another clinic's alert is a 404."""

    permission_classes = [IsTherapist]
    serializer_class = AlertOut
    # Any id without a slash reaches the view, whose 404 is JSON (ObjectScopeFirst), not Django's HTML page.
    lookup_value_regex = "[^/]+"
    filterset_class = AlertFilter

    def object_scope(self) -> QuerySet[Alert]:
        user = self.request.user
        return Alert.objects.visible_to(user) if is_staff_member(user) else Alert.objects.none()

    def get_queryset(self) -> QuerySet[Alert]:
        return (
            Alert.objects.visible_to(self.request.user)
            .select_related("patient", "therapist")
            .order_by("severity_rank", "-raised_at", "-id")
        )

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        page = super().paginate_queryset(queryset)
        if page is not None:  # the alerts shown: their patients' reads are recorded (patients.reads)
            record_reads(self.request, (alert.patient for alert in page), "alert list")
        return page

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One alert of the caller's clinic (recorded in the audit of reads)."""
        response = super().retrieve(request, *args, **kwargs)
        alert = self.scoped_object
        if alert is not None:
            record_reads(request, [alert.patient], "alert", object_id=alert.pk)
        return response

    @extend_schema(
        summary="Acknowledge an alert",
        description="Open -> acknowledged. Acknowledging an acknowledged alert again changes nothing.",
        request=None,
        responses={
            200: AlertOut,
            400: OpenApiResponse(
                ErrorResponseSerializer,
                description="The alert is closed (resolved or cleared): code `resolved` or `cleared`.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: Any = None) -> Response:
        """open -> acknowledged."""
        alert = alert_acknowledge(alert=self.get_object(), by=request.user)
        return Response(AlertOut(alert).data)

    @extend_schema(
        summary="Resolve an alert",
        description="Open or acknowledged -> resolved, with a note saying how (and, for R-01, the review of each "
        "reported safety-screen item).",
        request=ResolveIn,
        responses=AlertOut,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: Any = None) -> Response:
        """-> resolved, with a note saying how."""
        data = ResolveIn(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alert_resolve(
            alert=self.get_object(),
            by=request.user,
            note=data.validated_data["note"],
            reviews=data.validated_data.get("reviews"),
            minutes=data.validated_data.get("minutes"),
        )
        return Response(AlertOut(alert).data)
