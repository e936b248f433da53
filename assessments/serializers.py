"""Input and output serializers of the portal API. They parse and format; services decide.

The answer serializers are built from the questionnaires' declaration (assessments/questionnaires.py): each
field's type, range, labelled choices, wording and conditions come from there, never written out again.
An entry's ``answers`` follow the questionnaire its ``kind`` names: the schema documents the envelope as
one variant per questionnaire (``PostWorkoutEntry``, ``WeeklyEntry``), discriminated by ``kind``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_serializer
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
from clinic.api.schema import ErrorSerializer

# Answer fields -----------------------------------------------------------------------------------------------


class ChoiceListField(UniqueChoiceListField):
    """A list of labelled choices without duplicates (empty = none of them)."""

    def __init__(self, *, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(choices=tuple(code for code, _ in choices), **kwargs)
        # The labels reach the schema's enum description; validation is the same.
        self.child = StrictChoiceField(choices=choices)
        self.child.bind(field_name="", parent=self)  # type: ignore[arg-type]  # as ListField does


class SubsetListField(ChoiceListField):
    """A list whose items must also be in another list of the same answers (checked with the conditions)."""

    def __init__(self, *, choices: list[tuple[str, str]], subset_of: str, **kwargs: Any) -> None:
        self.subset_of = subset_of
        super().__init__(choices=choices, **kwargs)


def _enum_component(name: str) -> str:
    """The enum component drf-spectacular names after a field: ``safety_screen`` -> ``SafetyScreenEnum``."""
    return "".join(part.capitalize() for part in name.split("_")) + "Enum"


def _description(f: q.Field, *, output: bool) -> str:
    """The patient's wording, then when the answer is asked for (input) or null (output)."""
    parts = [f.wording]
    if output:
        if f.applies_when is not None:
            parts.append(f"Null unless {f.applies_when.text}.")
        if f.since > 1:
            parts.append(f"New in questionnaire version {f.since}: null on entries of earlier versions.")
    else:
        if f.applies_when is not None:
            parts.append(f"Required when {f.applies_when.text}; absent or null otherwise.")
        elif not f.required:
            parts.append("Optional (default empty)." if not f.default else f"Optional (default {f.default!r}).")
        if f.subset_of is not None:
            parts.append(f"Every item must also be listed in {f.subset_of}.")
    return " ".join(parts)


def _answer_field(f: q.Field, *, output: bool) -> serializers.Field:  # type: ignore[type-arg]
    """The serializer field of one declared answer.

    Input: strict JSON types; conditional and optional answers may be absent or null. Output: every field is
    present, null where a conditional answer did not apply or the entry's questionnaire version lacked it.
    """
    kwargs: dict[str, Any] = {"help_text": _description(f, output=output)}
    if output:
        kwargs |= {"read_only": True, "allow_null": f.conditional or f.since > 1}
    elif f.optional:
        kwargs |= {"required": False, "allow_null": True}
    field: serializers.Field  # type: ignore[type-arg]
    if f.type == q.INT:
        field = StrictIntegerField(min_value=f.min_value, max_value=f.max_value, **kwargs)
    elif f.type == q.CHOICE:
        field = StrictChoiceField(choices=f.choice_pairs, **kwargs)
    elif f.type == q.BOOL:
        field = StrictBooleanField(**kwargs)
    elif f.type == q.LIST:
        if f.subset_of is not None:
            field = SubsetListField(choices=f.choice_pairs, subset_of=f.subset_of, **kwargs)
        else:
            field = ChoiceListField(choices=f.choice_pairs, **kwargs)
    else:
        field = StrictCharField(max_length=f.max_length, allow_blank=True, trim_whitespace=True, **kwargs)
    return field


def _schema_ref(name: str) -> str:
    return f"#/components/schemas/{_enum_component(name)}"


class AnswersSerializer(StrictSerializerMixin, serializers.Serializer[Any]):
    """The answers to one questionnaire; the concrete serializers are built from its declaration below.

    Conditional rules are checked on the validated answers and, when other answers fail, on the raw ones
    too, so that one 400 lists every error; a rule is judged only when the answer it depends on is valid.
    """

    questionnaire: ClassVar[str]

    def _problems(self, values: Mapping[str, Any], invalid: set[str]) -> dict[str, list[serializers.ErrorDetail]]:
        problems = q.conditional_problems(self.questionnaire, values, invalid=invalid)
        return {name: [serializers.ErrorDetail(p.message, code=p.code)] for name, p in problems.items()}

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict) or not isinstance(data, dict):
                raise
            invalid = set(exc.detail)
            extra = {k: v for k, v in self._problems(data, invalid).items() if k not in invalid}
            raise serializers.ValidationError({**exc.detail, **extra}) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Every answer of the questionnaire: conditional ones that do not apply as None, optional ones left
        out at their default (``safety_screen_unchanged`` [], ``note`` "")."""
        problems = self._problems(attrs, set())
        if problems:
            raise serializers.ValidationError(problems)
        answers: dict[str, Any] = {}
        for f in q.fields_of(self.questionnaire):
            value = attrs.get(f.name)
            answers[f.name] = f.empty if value is None and not f.conditional else value
        return answers


class ReadByAttribute:
    """Write an object out reading each field straight from its attribute (or the object, for ``source="*"``).

    The same output as DRF's ``Serializer.to_representation`` (each field's own ``to_representation``, None for a
    null) without its generic attribute resolution, which was most of the time of listing 50 entries. For
    read-only serializers whose fields' sources are an attribute name or ``*``; any other falls back to DRF.
    """

    _plan: list[tuple[str, str | None, Any]] | None = None

    def to_representation(self, instance: Any) -> dict[str, Any]:
        plan = self._plan
        if plan is None:
            fields = self.fields.values()  # type: ignore[attr-defined]
            if any(field.source != "*" and "." in field.source for field in fields):
                return dict(super().to_representation(instance))  # type: ignore[misc]
            plan = self._plan = [
                (f.field_name, None if f.source == "*" else f.source, f.to_representation) for f in fields
            ]
        out: dict[str, Any] = {}
        for name, source, write in plan:
            value = instance if source is None else getattr(instance, source)
            out[name] = None if value is None else write(value)
        return out


class AnswersOutputSerializer(ReadByAttribute, serializers.Serializer[Any]):
    """Answers written out (see ``ReadByAttribute``)."""


def _answers_serializers(kind: str) -> tuple[type[AnswersSerializer], type[serializers.Serializer[Any]]]:
    """The input and output serializers of a questionnaire's answers, built from its declaration."""
    title = q.questionnaire(kind).title
    name = "".join(part.capitalize() for part in kind.split("_")) + "Answers"
    inputs = {f.name: _answer_field(f, output=False) for f in q.fields_of(kind)}
    outputs = {f.name: _answer_field(f, output=True) for f in q.fields_of(kind)}
    doc = f"The answers to the {title.lower()} questionnaire (version {q.QUESTIONNAIRE_VERSION})."
    answers_in = extend_schema_serializer(component_name=name)(
        type(f"{name}Serializer", (AnswersSerializer,), {"__doc__": doc, "questionnaire": kind, **inputs})
    )
    answers_out = extend_schema_serializer(component_name=name)(
        type(f"{name}OutputSerializer", (AnswersOutputSerializer,), {"__doc__": doc, **outputs})
    )
    return answers_in, answers_out


PostWorkoutAnswersSerializer, PostWorkoutAnswersOutput = _answers_serializers(q.POST_WORKOUT)
WeeklyAnswersSerializer, WeeklyAnswersOutput = _answers_serializers(q.WEEKLY)

ANSWER_SERIALIZERS: dict[str, type[AnswersSerializer]] = {
    q.POST_WORKOUT: PostWorkoutAnswersSerializer,
    q.WEEKLY: WeeklyAnswersSerializer,
}
ANSWER_OUTPUT_SERIALIZERS: dict[str, type[serializers.Serializer[Any]]] = {
    q.POST_WORKOUT: PostWorkoutAnswersOutput,
    q.WEEKLY: WeeklyAnswersOutput,
}


# The entry envelope ------------------------------------------------------------------------------------------


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset: a naive time is ambiguous across the clinic's and the phone's time zones.

    Handed on in UTC: PostgreSQL refuses offsets that Python and ISO 8601 allow (``-16:51``).
    """

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
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+14:00: far outside the window, judged too old (or future) as is
            return parsed


OCCURRED_AT_HELP = (
    "When the workout ended, or the day a weekly check-in covers: now when left out, at most 30 days back, "
    "never in the future."
)


def _kind_field(kind: str, **kwargs: Any) -> StrictChoiceField:
    """The discriminator of a variant: one questionnaire only."""
    return StrictChoiceField(choices=[(kind, q.questionnaire(kind).title)], **kwargs)


def _entry_input_serializer(kind: str) -> type[serializers.Serializer[Any]]:
    name = "".join(part.capitalize() for part in kind.split("_")) + "Entry"
    attrs = {
        "__doc__": f"An entry to submit: the {q.questionnaire(kind).title.lower()} questionnaire.",
        "kind": _kind_field(kind),
        "occurred_at": AwareDateTimeField(required=False, help_text=OCCURRED_AT_HELP),
        "answers": ANSWER_SERIALIZERS[kind](),
    }
    cls = type(f"{name}InputSerializer", (StrictSerializerMixin, serializers.Serializer[Any]), attrs)
    return extend_schema_serializer(component_name=name)(cls)


ENTRY_INPUT_SERIALIZERS: dict[str, type[serializers.Serializer[Any]]] = {
    kind: _entry_input_serializer(kind) for kind in q.KINDS
}


class EntryInputSerializer(StrictSerializerMixin, serializers.Serializer[Any]):
    """An entry to submit; ``kind`` names the questionnaire its ``answers`` follow.

    With a known ``kind`` and an ``answers`` object, the entry is validated by that questionnaire's variant,
    envelope and answers together, so that one 400 lists every error at once; otherwise only the envelope
    is (the answers of an unknown questionnaire cannot be judged).
    """

    kind = StrictChoiceField(choices=Entry.Kind.choices)
    occurred_at = AwareDateTimeField(required=False, help_text=OCCURRED_AT_HELP)
    answers = serializers.DictField()

    def to_internal_value(self, data: Any) -> Any:
        kind = data.get("kind") if isinstance(data, dict) else None
        if isinstance(kind, str) and kind in ENTRY_INPUT_SERIALIZERS and isinstance(data.get("answers"), dict):
            return _entry_reader(kind).run_validation(data)
        return super().to_internal_value(data)


@functools.cache
def _entry_reader(kind: str) -> serializers.Serializer[Any]:
    """The input variant of a kind, built and bound once per process, shared by every request.

    Building one per request (deep copies of some 30 declared fields) cost as much as validating. Sharing is
    safe: ``run_validation`` returns the values or raises, keeping no state on the serializer or its fields,
    and none of these fields reads the context.
    """
    return ENTRY_INPUT_SERIALIZERS[kind]()


ADVICE_LEVELS = [("urgent", "Urgent: act on it now, as the message says"), ("info", "For information")]


class AdviceSerializer(serializers.Serializer[Any]):
    """A message for the patient about the answers just given."""

    level = serializers.ChoiceField(choices=ADVICE_LEVELS)
    message = serializers.CharField(help_text="What to do, in words for the patient.")


class RefusedEntrySerializer(serializers.Serializer[Any]):
    """A refused entry: the problems and, when its answers reported red flags, the advice for them."""

    errors = ErrorSerializer(many=True)  # type: ignore[assignment]  # a declared field, not Serializer.errors
    advice = AdviceSerializer(
        many=True,
        required=False,
        help_text="Present when the refused answers reported red flags: they were passed on to the therapist all "
        "the same.",
    )
    therapist_notified = serializers.BooleanField(
        required=False, help_text="Present (true) with `advice`: the therapist has been told of the red flags."
    )


class ScoreField(serializers.FloatField):
    """A derived score of the entry (one decimal), as stored; computed from its items for an older row."""

    def __init__(self, score: q.Score) -> None:
        self.score = score
        super().__init__(
            source="*",
            read_only=True,
            allow_null=True,
            min_value=score.min_value,
            max_value=score.max_value,
            help_text=f"{score.label}: the mean of {', '.join(score.items)}, one decimal.",
        )

    def to_representation(self, entry: Any) -> Any:
        value = getattr(entry, self.score.name)
        if value is None:
            value = self.score.of({name: getattr(entry, name) for name in self.score.items})
        return None if value is None else float(value)


def _scores_serializer(kind: str) -> type[serializers.Serializer[Any]] | None:
    scores = q.scores_of(kind)
    if not scores:
        return None
    name = "".join(part.capitalize() for part in kind.split("_")) + "Scores"
    attrs: dict[str, Any] = {"__doc__": "Scores derived from the answers at submission."}
    attrs |= {score.key: ScoreField(score) for score in scores}
    return extend_schema_serializer(component_name=name)(
        type(f"{name}Serializer", (ReadByAttribute, serializers.Serializer[Any]), attrs)
    )


ENTRY_FIELDS = ["id", "kind", "occurred_at", "submitted_at", "phase", "questionnaire_version", "answers"]


def _entry_output_serializer(kind: str) -> type[serializers.ModelSerializer[Entry]]:
    name = "".join(part.capitalize() for part in kind.split("_")) + "Entry"
    scores = _scores_serializer(kind)
    fields = [*ENTRY_FIELDS, *(["scores"] if scores else [])]
    attrs: dict[str, Any] = {
        "__doc__": f"A stored entry of the {q.questionnaire(kind).title.lower()} questionnaire.",
        "kind": _kind_field(kind, read_only=True),
        "answers": ANSWER_OUTPUT_SERIALIZERS[kind](source="*", read_only=True),
        "Meta": type("Meta", (), {"model": Entry, "fields": fields, "read_only_fields": fields}),
    }
    if scores is not None:
        attrs["scores"] = scores(source="*", read_only=True)
    cls = type(f"{name}Serializer", (ReadByAttribute, serializers.ModelSerializer), attrs)
    return extend_schema_serializer(component_name=name)(cls)


ENTRY_OUTPUT_SERIALIZERS: dict[str, type[serializers.ModelSerializer[Entry]]] = {
    kind: _entry_output_serializer(kind) for kind in q.KINDS
}


@functools.cache
def _entry_writer(kind: str) -> serializers.ModelSerializer[Entry]:
    """The output serializer of a kind, built and bound once per process, shared by every request.

    Building one (a ModelSerializer reading the model, then deep copies of some 30 declared fields) cost about
    as much as the rest of a POST's Python. Sharing is safe: writing an entry out reads the fields only (no
    context, no state kept on the serializer or its fields between calls).
    """
    return ENTRY_OUTPUT_SERIALIZERS[kind]()


class EntryOutputSerializer(serializers.BaseSerializer[Entry]):
    """A stored entry: the envelope and the answers of its questionnaire (for weekly, its scores too)."""

    def to_representation(self, instance: Entry) -> dict[str, Any]:
        return dict(_entry_writer(instance.kind).to_representation(instance))


class EntryCreatedSerializer(EntryOutputSerializer):
    """The stored entry and the advice for the patient (an urgent safety message for red-flag answers)."""

    def to_representation(self, instance: Entry) -> dict[str, Any]:
        advice = AdviceSerializer(getattr(instance, "advice", []), many=True).data
        return {**super().to_representation(instance), "advice": advice}


# Schema: the envelopes, discriminated by kind ----------------------------------------------------------------


def _discriminated(
    auto_schema: Any, direction: Any, variants: Mapping[str, type[serializers.BaseSerializer[Any]]]
) -> dict[str, Any]:
    refs = {kind: auto_schema.resolve_serializer(variant, direction).ref for kind, variant in variants.items()}
    return {
        "oneOf": list(refs.values()),
        "discriminator": {"propertyName": "kind", "mapping": {kind: ref["$ref"] for kind, ref in refs.items()}},
    }


class SubsetListFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """The items of the list it is a subset of: one enum component, not a second one of the same codes."""

    target_class = SubsetListField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "array", "items": {"$ref": _schema_ref(self.target.subset_of)}}


class EntryInputSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """``EntryInput``: one of ``PostWorkoutEntry`` / ``WeeklyEntry``, by ``kind``."""

    target_class = EntryInputSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return _discriminated(auto_schema, direction, ENTRY_INPUT_SERIALIZERS)


class EntryOutputSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """``EntryOutput``: one of ``PostWorkoutEntry`` / ``WeeklyEntry``, by ``kind``."""

    target_class = EntryOutputSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return _discriminated(auto_schema, direction, ENTRY_OUTPUT_SERIALIZERS)


class EntryCreatedSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """``EntryCreated``: the stored entry (``EntryOutput``) and the advice."""

    target_class = EntryCreatedSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        entry = auto_schema.resolve_serializer(EntryOutputSerializer, direction).ref
        advice = auto_schema.resolve_serializer(AdviceSerializer, direction).ref
        return {
            "allOf": [
                entry,
                {
                    "type": "object",
                    "properties": {"advice": {"type": "array", "items": advice, "readOnly": True}},
                    "required": ["advice"],
                },
            ]
        }


# Other reads -------------------------------------------------------------------------------------------------


class DueItemSerializer(serializers.Serializer[Any]):
    """A questionnaire that is due."""

    kind = serializers.ChoiceField(choices=Entry.Kind.choices)
    due_at = serializers.DateTimeField(help_text="When it is due.")
    overdue = serializers.BooleanField(help_text="Past its due time and not submitted yet.")
    remaining = serializers.IntegerField(help_text="Entries still expected for this item (post-workout: this week).")


def _daily_mean(kind: str, name: str) -> serializers.FloatField:
    f = q.field_of(kind, name)
    return serializers.FloatField(
        allow_null=True,
        min_value=f.min_value,
        max_value=f.max_value,
        help_text=f"{f.label}: the day's mean (two decimals), null when not answered that day.",
    )


class TrendPointSerializer(serializers.Serializer[Any]):
    """One day of the patient's series."""

    date = serializers.DateField(help_text="The day, in the clinic's time zone.")
    back_pain_now = _daily_mean(q.POST_WORKOUT, "back_pain_now")
    back_stiffness_now = _daily_mean(q.POST_WORKOUT, "back_stiffness_now")
    back_pain_during_max = _daily_mean(q.POST_WORKOUT, "back_pain_during_max")
    neck_level = _daily_mean(q.POST_WORKOUT, "neck_level")
    thigh_level = _daily_mean(q.POST_WORKOUT, "thigh_level")
    back_pain_avg_7d = _daily_mean(q.WEEKLY, "back_pain_avg_7d")
    morning_stiffness_level = _daily_mean(q.WEEKLY, "morning_stiffness_level")
    psfs_mean = serializers.FloatField(
        allow_null=True, min_value=0, max_value=10, help_text="PSFS: the day's mean of the weekly check-ins' scores."
    )
    sessions = serializers.IntegerField(min_value=0, help_text="Post-workout reports of the day.")


class TrendsSerializer(serializers.Serializer[Any]):
    """The patient's daily series for charts."""

    days = serializers.IntegerField(min_value=1, max_value=365, help_text="The days covered, back from today.")
    timezone = serializers.CharField(help_text="The clinic's time zone, whose days the series counts.")
    series = TrendPointSerializer(many=True, help_text="Days with entries, oldest first.")


# The questionnaires' definition, for clients ------------------------------------------------------------------


class QuestionnaireChoiceSerializer(serializers.Serializer[Any]):
    """One answer code and the words the patient sees for it."""

    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label


class AppliesWhenSerializer(serializers.Serializer[Any]):
    """A conditional field applies (and is then required) when the answer to ``field`` is one of ``values``."""

    field = serializers.CharField(help_text="The field whose answer decides.")
    values = serializers.ListField(child=serializers.CharField(), help_text="Its codes for which this field applies.")
    text = serializers.CharField(help_text="The condition in words.")


class QuestionnaireFieldSerializer(serializers.Serializer[Any]):
    """One question: what to ask, how to answer it, and when."""

    name = serializers.CharField(help_text="The key of the answer in `answers`.")
    type = serializers.ChoiceField(
        choices=[
            (q.INT, "A whole number in [min, max]"),
            (q.CHOICE, "One code of `choices`"),
            (q.BOOL, "true or false"),
            (q.LIST, "Several codes of `choices`, each at most once; empty = none of them"),
            (q.TEXT, "Free text of at most `max_length` characters"),
        ]
    )
    label = serializers.CharField(help_text="A short title.")  # type: ignore[assignment]  # declared, as above
    wording = serializers.CharField(help_text="The question as the patient reads it.")
    group = serializers.ChoiceField(choices=list(q.GROUPS.items()), help_text="The section it belongs to.")
    min = serializers.IntegerField(allow_null=True, help_text="The lowest answer (`int` only).")
    max = serializers.IntegerField(allow_null=True, help_text="The highest answer (`int` only).")
    max_length = serializers.IntegerField(allow_null=True, help_text="The longest answer (`text` only).")
    choices = QuestionnaireChoiceSerializer(many=True, help_text="The answer codes (`choice` and `list`).")
    required = serializers.BooleanField(  # type: ignore[assignment]  # a declared field, not Field.required
        help_text="Must be answered (a conditional field: whenever it applies); else it may be left out."
    )
    applies_when = AppliesWhenSerializer(
        allow_null=True, help_text="Null: always asked. Otherwise asked only then, and absent or null otherwise."
    )
    subset_of = serializers.CharField(
        allow_null=True, help_text="A list whose items must all be listed in that other field's answer too."
    )
    red_flag = serializers.BooleanField(
        help_text="Any item answered here is a red flag: urgent advice (`red_flag_advice`) and the therapist told."
    )


class QuestionnaireDefinitionSerializer(serializers.Serializer[Any]):
    """A questionnaire: its fields in the order the patient answers them."""

    kind = serializers.ChoiceField(choices=Entry.Kind.choices)
    title = serializers.CharField()
    version = serializers.IntegerField(help_text="The version the API validates submissions against.")
    fields = QuestionnaireFieldSerializer(many=True)  # type: ignore[assignment]  # declared, not Serializer.fields


class RedFlagAdviceDefinitionSerializer(serializers.Serializer[Any]):
    """The advice the submit response gives for any item of a red-flag field."""

    field = serializers.CharField(help_text="The red-flag field.")
    level = serializers.ChoiceField(choices=ADVICE_LEVELS)
    message = serializers.CharField(help_text="The same words as the submit response's `advice`.")


class QuestionnairesSerializer(serializers.Serializer[Any]):
    """Every questionnaire of the portal and the advice for red-flag answers."""

    questionnaires = QuestionnaireDefinitionSerializer(many=True)
    red_flag_advice = RedFlagAdviceDefinitionSerializer(many=True)
