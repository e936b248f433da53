"""Patient endpoints for self-assessments: submit, history, what is due, trends."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.fields import get_error_detail
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments.models import Entry
from assessments.selectors import due_items, trend_series
from assessments.serializers import (
    DueItemSerializer,
    EntryCreatedSerializer,
    EntryInputSerializer,
    EntryOutputSerializer,
    RefusedEntrySerializer,
    TrendsSerializer,
)
from assessments.services import (
    IdempotencyKeyReused,
    Submitted,
    assessment_replay,
    assessment_submit,
    red_flag_report_store,
    submission_fingerprint,
)
from patients.models import patient_of
from patients.permissions import IsPatient, ObjectScopeFirst
from patients.reads import record_reads
from programs.models import active_enrollment


class UtcRangeIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time that has a UTC equivalent: ``0001-01-01T00:00+14:00`` is a 400, not a database error.

    Handed on in UTC: PostgreSQL refuses offsets that Python and ISO 8601 allow (``-16:51``).
    """

    def to_python(self, value: Any) -> datetime | None:
        parsed: datetime | None = super().to_python(value)
        if parsed is not None:
            try:
                parsed = parsed.astimezone(UTC)
            except OverflowError:
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return parsed


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcRangeIsoDateTimeField


class EntryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Entry.Kind.choices, label="Only entries of this questionnaire.")
    since = IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        label="Only entries that occurred at or after this time (ISO 8601 with a time zone offset).",
    )
    until = IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lte",
        label="Only entries that occurred at or before this time (ISO 8601 with a time zone offset).",
    )

    class Meta:
        model = Entry
        fields = ["kind", "since", "until"]


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,100}")
IDEMPOTENCY_KEY_HELP = (
    "Optional: 1 to 100 characters of `A-Z a-z 0-9 _ -` (a UUID), one per submission. Sending the same submission "
    "again with the same key stores nothing new and answers with the entry stored the first time (200, "
    "`Idempotent-Replayed: true`); the same key with another body is a 409 (`idempotency_key`, `reused`)."
)


class KeyReused(serializers.ValidationError):
    """A 409 in the one error shape, naming ``idempotency_key``."""

    status_code = status.HTTP_409_CONFLICT


def idempotency_key_of(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` header, None when not sent; a malformed one is a 400."""
    key: str | None = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise serializers.ValidationError(
            {
                "idempotency_key": serializers.ErrorDetail(
                    "The Idempotency-Key header must be 1 to 100 characters of A-Z, a-z, 0-9, _ and -.",
                    code="invalid",
                )
            }
        )
    return key


class AssessmentViewSet(
    ObjectScopeFirst,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """The patient's own entries. Immutable: no update, no delete."""

    permission_classes = [IsPatient]
    filterset_class = EntryFilter
    # Any id without a slash reaches the view, whose 404 is JSON (ObjectScopeFirst), not Django's HTML page.
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Entry]:
        return Entry.objects.visible_to(self.request.user).order_by("-occurred_at", "-id")

    def object_scope(self) -> QuerySet[Entry]:
        """A patient's own entries; staff reach no entry through this patient endpoint."""
        patient = patient_of(self.request.user)
        return Entry.objects.filter(patient=patient) if patient is not None else Entry.objects.none()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:  # type: ignore[type-arg]
        return EntryInputSerializer if self.action == "create" else EntryOutputSerializer

    @extend_schema(
        summary="List own entries",
        description="The patient's own entries, newest first (by when they occurred), a page at a time.",
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The patient's own entries, newest first (recorded in the audit of reads)."""
        response = super().list(request, *args, **kwargs)
        if (patient := patient_of(request.user)) is not None:
            record_reads(request, [patient], "entries (portal)")
        return response

    @extend_schema(summary="Get one own entry", description="One of the patient's own entries.")
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One of the patient's own entries (recorded in the audit of reads)."""
        response = super().retrieve(request, *args, **kwargs)
        if (patient := patient_of(request.user)) is not None:
            record_reads(request, [patient], "entry (portal)", object_id=int(kwargs["pk"]))
        return response

    @extend_schema(
        summary="Submit an entry",
        description="Submit one self-assessment: `kind` names the questionnaire that `answers` follow. Entries "
        "are immutable; a correction is a new entry. Red-flag answers get urgent `advice` at once, in the 201 or, "
        "when other answers are refused, in the 400 (the red-flag items are passed on to the therapist then "
        "too).",
        request=EntryInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                pattern="^[A-Za-z0-9_-]{1,100}$",
                description=IDEMPOTENCY_KEY_HELP,
            ),
            OpenApiParameter(
                "Idempotent-Replayed",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                enum=["true"],
                response=[200],
                description="`true`: this answers an earlier submission with the same Idempotency-Key.",
            ),
        ],
        responses={
            201: EntryCreatedSerializer,
            200: OpenApiResponse(
                EntryCreatedSerializer,
                description="A replay: the entry the same Idempotency-Key stored before, and its advice, as the "
                "first answer gave them; nothing new was stored.",
            ),
            400: OpenApiResponse(
                RefusedEntrySerializer,
                description="Refused: one error per problem, each naming its field (`answers.thigh_level`, "
                "`idempotency_key` for a malformed key); with `advice` when the refused answers reported red flags.",
            ),
            409: OpenApiResponse(
                RefusedEntrySerializer,
                description="The Idempotency-Key already stored an entry from a different body "
                "(`idempotency_key`, `reused`); with `advice` when this body reported red flags.",
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Submit one self-assessment. Red-flag answers return urgent advice in this response (a 400 too).

        With an ``Idempotency-Key``, a repeat of the same submission answers the stored entry (200) and creates
        nothing; without it, no query more than before.
        """
        patient = patient_of(request.user)
        assert patient is not None  # IsPatient
        key: str | None = None
        try:
            key = idempotency_key_of(request)
            fingerprint = submission_fingerprint(request.data) if key is not None else ""
            submitted: Submitted | None = None
            if key is not None:
                submitted = assessment_replay(patient=patient, idempotency_key=key, fingerprint=fingerprint)
            if submitted is None:
                data = EntryInputSerializer(data=request.data)
                data.is_valid(raise_exception=True)
                submitted = assessment_submit(
                    patient=patient,
                    kind=data.validated_data["kind"],
                    answers=data.validated_data["answers"],
                    occurred_at=data.validated_data.get("occurred_at"),
                    idempotency_key=key,
                    fingerprint=fingerprint,
                )
        except (serializers.ValidationError, DjangoValidationError) as exc:
            if isinstance(exc, IdempotencyKeyReused):
                exc = KeyReused(get_error_detail(exc))
            response = self.handle_exception(exc)
            # A red flag is never dropped: the refused request's red-flag items are stored and scanned (once
            # per idempotency key).
            refused = red_flag_report_store(
                patient=patient, data=request.data, errors=response.data["errors"], idempotency_key=key
            )
            if refused is not None:
                response.data["advice"] = refused.advice
                response.data["therapist_notified"] = True
            return response
        submitted.entry.advice = submitted.advice  # type: ignore[attr-defined]
        body = EntryCreatedSerializer(submitted.entry).data
        if submitted.replayed:
            return Response(body, status=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})
        return Response(body, status=status.HTTP_201_CREATED)


class DueView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="What is due",
        description="What is due now and next (post-workout reports of the week, the weekly check-in), from the "
        "schedule of the current enrollment; empty when not enrolled.",
        responses=DueItemSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """What is due now and next, from the schedule of the current enrollment."""
        patient = patient_of(request.user)
        assert patient is not None
        enrollment = active_enrollment(patient)
        return Response(DueItemSerializer(due_items(patient=patient, enrollment=enrollment), many=True).data)


class TrendsQuery(serializers.Serializer):  # type: ignore[type-arg]
    days = serializers.IntegerField(
        min_value=1, max_value=365, default=90, help_text="Days back from today, in the clinic's time zone."
    )


class TrendsView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Daily series for charts",
        description="The patient's own series over the last `days` days of the clinic's calendar: one point per "
        "day with entries, oldest first, holding the day's mean of each charted answer (null when none that day) "
        "and the post-workout sessions reported.",
        parameters=[TrendsQuery],
        responses=TrendsSerializer,
    )
    def get(self, request: Request) -> Response:
        """Daily series for the patient's own charts (one aggregate query)."""
        query = TrendsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        patient = patient_of(request.user)
        assert patient is not None
        days = query.validated_data["days"]
        series = trend_series(patient=patient, days=days)
        return Response(TrendsSerializer({"days": days, "timezone": patient.clinic.timezone, "series": series}).data)
