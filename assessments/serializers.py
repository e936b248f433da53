"""Input and output serializers of the portal API. They parse and format; services decide."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from assessments import questionnaires as q
from assessments.models import Entry
from clinic.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializerMixin,
    UniqueChoiceListField,
)

NOT_APPLICABLE = "not_applicable"


def _scale(name: str, scales: dict[str, tuple[int, int]], **kwargs: Any) -> StrictIntegerField:
    low, high = scales[name]
    return StrictIntegerField(min_value=low, max_value=high, **kwargs)


def _optional(**kwargs: Any) -> dict[str, Any]:
    return {"required": False, "allow_null": True, **kwargs}


def _check(
    errors: dict[str, list[serializers.ErrorDetail]], values: Mapping[str, Any], field: str, applies: bool, why: str
) -> None:
    """A conditional field: required when it applies, absent or null otherwise."""
    value = values.get(field)
    if applies and value is None:
        errors[field] = [serializers.ErrorDetail(f"This field is required when {why}.", code="required")]
    elif not applies and value is not None:
        errors[field] = [
            serializers.ErrorDetail(f"This field must be absent or null unless {why}.", code=NOT_APPLICABLE)
        ]


class _ConditionalMixin:
    """Conditional fields, checked on validated answers and, when other fields fail, on the raw ones too,
    so that one 400 lists every error. A rule is judged only when the answer it depends on is valid."""

    def conditional_errors(self, values: Mapping[str, Any]) -> dict[str, list[serializers.ErrorDetail]]:
        raise NotImplementedError

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict) or not isinstance(data, dict):
                raise
            extra = {k: v for k, v in self.conditional_errors(data).items() if k not in exc.detail}
            raise serializers.ValidationError({**exc.detail, **extra}) from None


class PostWorkoutAnswersSerializer(StrictSerializerMixin, _ConditionalMixin, serializers.Serializer):  # type: ignore[type-arg]
    session_completed = StrictChoiceField(choices=q.SESSION_COMPLETED)
    back_pain_now = _scale("back_pain_now", q.POST_WORKOUT_SCALES)
    back_pain_during_max = _scale("back_pain_during_max", q.POST_WORKOUT_SCALES)
    back_stiffness_now = _scale("back_stiffness_now", q.POST_WORKOUT_SCALES)
    stiffness_change = StrictChoiceField(choices=q.STIFFNESS_CHANGE)
    spine_check = StrictChoiceField(choices=q.SPINE_CHECK)
    neck_symptoms = StrictChoiceField(choices=q.NECK_SYMPTOMS)
    neck_level = _scale("neck_level", q.POST_WORKOUT_SCALES, **_optional())
    thigh_symptoms = StrictChoiceField(choices=q.THIGH_SYMPTOMS)
    thigh_level = _scale("thigh_level", q.POST_WORKOUT_SCALES, **_optional())
    thigh_stretch_response = StrictChoiceField(choices=q.THIGH_STRETCH_RESPONSE, **_optional())
    thigh_below_knee = StrictBooleanField(**_optional())
    thigh_nerve_qualities = UniqueChoiceListField(choices=q.NERVE_QUALITIES, **_optional())
    safety_screen = UniqueChoiceListField(choices=q.SAFETY_SCREEN)
    note = StrictCharField(max_length=q.NOTE_MAX_LENGTH, required=False, allow_blank=True, trim_whitespace=True)

    def conditional_errors(self, values: Mapping[str, Any]) -> dict[str, list[serializers.ErrorDetail]]:
        errors: dict[str, list[serializers.ErrorDetail]] = {}
        neck, thigh = values.get("neck_symptoms"), values.get("thigh_symptoms")
        if neck in q.NECK_SYMPTOMS:
            _check(errors, values, "neck_level", neck != "none", "neck_symptoms is not none")
        if thigh in q.THIGH_SYMPTOMS:
            one_side = thigh in ("left", "right")
            _check(errors, values, "thigh_level", thigh != "none", "thigh_symptoms is not none")
            _check(errors, values, "thigh_stretch_response", thigh != "none", "thigh_symptoms is not none")
            _check(errors, values, "thigh_below_knee", one_side, "thigh_symptoms is left or right")
            # Optional for one side (absent = none of them), but never for none/both.
            if not one_side and values.get("thigh_nerve_qualities") is not None:
                errors["thigh_nerve_qualities"] = [
                    serializers.ErrorDetail(
                        "This field must be absent or null unless thigh_symptoms is left or right.",
                        code=NOT_APPLICABLE,
                    )
                ]
        return errors

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = self.conditional_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        for name in ("neck_level", "thigh_level", "thigh_stretch_response", "thigh_below_knee"):
            attrs.setdefault(name, None)
        one_side = attrs["thigh_symptoms"] in ("left", "right")
        if attrs.get("thigh_nerve_qualities") is None:
            attrs["thigh_nerve_qualities"] = [] if one_side else None
        attrs.setdefault("note", "")
        return attrs


class WeeklyAnswersSerializer(StrictSerializerMixin, _ConditionalMixin, serializers.Serializer):  # type: ignore[type-arg]
    back_pain_avg_7d = _scale("back_pain_avg_7d", q.WEEKLY_SCALES)
    leg_pain_avg_7d = _scale("leg_pain_avg_7d", q.WEEKLY_SCALES)
    peg_pain = _scale("peg_pain", q.WEEKLY_SCALES)
    peg_enjoyment = _scale("peg_enjoyment", q.WEEKLY_SCALES)
    peg_activity = _scale("peg_activity", q.WEEKLY_SCALES)
    morning_stiffness_level = _scale("morning_stiffness_level", q.WEEKLY_SCALES)
    morning_stiffness_duration = StrictChoiceField(choices=q.MORNING_STIFFNESS_DURATION)
    stiffness_eases_with_movement = StrictBooleanField(**_optional())
    global_change = _scale("global_change", q.WEEKLY_SCALES)
    flare_7d = StrictBooleanField()
    exercise_days_7d = _scale("exercise_days_7d", q.WEEKLY_SCALES)
    psfs_1 = _scale("psfs_1", q.WEEKLY_SCALES)
    psfs_2 = _scale("psfs_2", q.WEEKLY_SCALES)
    psfs_3 = _scale("psfs_3", q.WEEKLY_SCALES)
    systemic_flags = UniqueChoiceListField(choices=q.SYSTEMIC_FLAGS)

    def conditional_errors(self, values: Mapping[str, Any]) -> dict[str, list[serializers.ErrorDetail]]:
        errors: dict[str, list[serializers.ErrorDetail]] = {}
        duration = values.get("morning_stiffness_duration")
        if duration in q.MORNING_STIFFNESS_DURATION:
            _check(
                errors,
                values,
                "stiffness_eases_with_movement",
                duration in q.LONG_MORNING_STIFFNESS,
                "morning_stiffness_duration is 30_60 or longer",
            )
        return errors

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = self.conditional_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        attrs.setdefault("stiffness_eases_with_movement", None)
        return attrs


ANSWER_SERIALIZERS: dict[str, type[serializers.Serializer]] = {  # type: ignore[type-arg]
    q.POST_WORKOUT: PostWorkoutAnswersSerializer,
    q.WEEKLY: WeeklyAnswersSerializer,
}

ANSWERS_SCHEMA = PolymorphicProxySerializer(
    component_name="Answers",
    serializers=[PostWorkoutAnswersSerializer, WeeklyAnswersSerializer],
    resource_type_field_name=None,
)


@extend_schema_field(ANSWERS_SCHEMA)
class AnswersField(serializers.DictField):
    """The answers object; its shape depends on ``kind`` and is validated by the entry serializer."""


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset: a naive time is ambiguous across the clinic's and the phone's time zones."""

    default_error_messages = {"naive": "Give a time zone offset, e.g. 2026-05-01T18:30:00+01:00."}

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.fail("invalid", format="ISO 8601")
        if parsed.tzinfo is None:
            self.fail("naive")
        return parsed


class EntryInputSerializer(StrictSerializerMixin, serializers.Serializer):  # type: ignore[type-arg]
    kind = StrictChoiceField(choices=Entry.Kind.choices)
    occurred_at = AwareDateTimeField(required=False)
    answers = AnswersField()

    def to_internal_value(self, data: Any) -> Any:
        """Validate the envelope and the answers together, so that one 400 lists every error at once."""
        errors: dict[str, Any] = {}
        value: Any = None
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors.update(exc.detail)
        kind = data.get("kind") if isinstance(data, dict) else None
        raw_answers = data.get("answers") if isinstance(data, dict) else None
        if (
            isinstance(kind, str)
            and kind in ANSWER_SERIALIZERS
            and isinstance(raw_answers, dict)
            and "answers" not in errors
        ):
            answers = ANSWER_SERIALIZERS[kind](data=raw_answers)
            if not answers.is_valid():
                errors["answers"] = answers.errors
            elif value is not None:
                value["answers"] = dict(answers.validated_data)
        if errors:
            raise serializers.ValidationError(errors)
        return value


class AdviceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    level = serializers.ChoiceField(choices=["urgent", "info"])
    message = serializers.CharField()


class EntryOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = ["id", "kind", "occurred_at", "submitted_at", "phase", "questionnaire_version", "answers"]
        read_only_fields = fields

    @extend_schema_field(ANSWERS_SCHEMA)
    def get_answers(self, entry: Entry) -> dict[str, Any]:
        return entry.answers()


class EntryCreatedSerializer(EntryOutputSerializer):
    advice = AdviceSerializer(many=True, read_only=True)

    class Meta(EntryOutputSerializer.Meta):
        fields = [*EntryOutputSerializer.Meta.fields, "advice"]
        read_only_fields = fields


class DueItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=Entry.Kind.choices)
    due_at = serializers.DateTimeField()
    overdue = serializers.BooleanField()
    remaining = serializers.IntegerField(help_text="Entries still expected for this item (post-workout: this week).")


class TrendPointSerializer(serializers.Serializer):  # type: ignore[type-arg]
    date = serializers.DateField()
    back_pain_now = serializers.FloatField(allow_null=True)
    back_stiffness_now = serializers.FloatField(allow_null=True)
    back_pain_during_max = serializers.FloatField(allow_null=True)
    neck_level = serializers.FloatField(allow_null=True)
    thigh_level = serializers.FloatField(allow_null=True)
    back_pain_avg_7d = serializers.FloatField(allow_null=True)
    morning_stiffness_level = serializers.FloatField(allow_null=True)
    psfs_mean = serializers.FloatField(allow_null=True)
    sessions = serializers.IntegerField()


class TrendsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    days = serializers.IntegerField()
    timezone = serializers.CharField()
    series = TrendPointSerializer(many=True)
