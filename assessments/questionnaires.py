"""The questionnaires of RULES.md, declared once: every field of `post_workout` and `weekly` as data.

Each field says its name, type, range or labelled choices, when it applies, whether it is required, the
patient's wording, the rules engine's attribute and default, and its FHIR codes. The model's columns and
constraints, the API's validation and schema, the admin's entry page, the loader, the seed data, the FHIR
export and the test builders all read this declaration; adding a field means one column and one
declaration here (tests/assessments/test_questionnaire_definition.py checks the two agree).

Pure Python, no Django: it is shared by the model, the API, the rules loader and the seed data.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal, NamedTuple

QUESTIONNAIRE_VERSION: Final = 2

POST_WORKOUT: Final = "post_workout"
WEEKLY: Final = "weekly"
KINDS: Final = (POST_WORKOUT, WEEKLY)

# Field types.
FieldType = Literal["int", "choice", "bool", "list", "text"]
INT: Final = "int"  # a whole number in [min_value, max_value]
CHOICE: Final = "choice"  # one code of `choices`
BOOL: Final = "bool"
LIST: Final = "list"  # several codes of `choices`, each at most once; empty = none of them
TEXT: Final = "text"  # free text of at most `max_length` characters

LOINC: Final = "http://loinc.org"

# Groups of fields on the therapist's entry page, in display order.
GROUPS: Final[Mapping[str, str]] = {
    "session": "Workout",
    "pain": "Pain",
    "stiffness": "Stiffness",
    "neck": "Neck",
    "leg": "Leg",
    "function": "Function and activity",
    "safety": "Safety screen",
    "systemic": "Red flags",
    "note": "Note",
}


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer code and the words the patient sees for it."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class AppliesWhen:
    """A conditional field applies when the answer to ``field`` is one of ``values``.

    It is then required; otherwise it must be absent or null. ``text`` says the condition to a person.
    """

    field: str
    values: tuple[str, ...]
    text: str
    domain: tuple[str, ...]  # every code of ``field``

    def holds(self, answers: Mapping[str, Any]) -> bool | None:
        """Whether it applies; None when the answer it depends on is missing or not a known code."""
        value = answers.get(self.field)
        if not isinstance(value, str) or value not in self.domain:
            return None
        return value in self.values


@dataclass(frozen=True, slots=True)
class Coding:
    """A code of a standard terminology (LOINC) for a field or a score."""

    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """One question of a questionnaire.

    - ``required``: must be answered (a conditional field: when it applies); an optional field may be
      absent or null and is stored as ``default``.
    - ``applies_when``: a conditional field, required when it applies and absent or null otherwise.
    - ``subset_of``: a list whose items must all be in that other list of the same answers.
    - ``engine``: the attribute of the rules engine's PostWorkout / Weekly it fills (None: the engine does
      not read it, e.g. free text); ``engine_default`` is its value there when the column is null (an
      older questionnaire version, or a conditional field that did not apply).
    - ``fhir_code``: its code in the questionnaire's own code system (also the item's linkId);
      ``loinc``: a standard code where one exists.
    - ``since``: the questionnaire version that introduced the field on this questionnaire (entries of
      earlier versions hold null there).
    """

    name: str
    type: FieldType
    label: str
    wording: str
    group: str
    min_value: int | None = None
    max_value: int | None = None
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    required: bool = True
    applies_when: AppliesWhen | None = None
    subset_of: str | None = None
    default: Any = None
    engine: str | None = None
    engine_default: Any = None
    loinc: Coding | None = None
    since: int = 1

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.choices)

    @property
    def choice_pairs(self) -> list[tuple[str, str]]:
        """``[(code, label), ...]``, as Django and DRF take choices."""
        return [(c.code, c.label) for c in self.choices]

    @property
    def conditional(self) -> bool:
        return self.applies_when is not None

    @property
    def optional(self) -> bool:
        """May be left out: optional, or conditional (when it does not apply)."""
        return not self.required or self.applies_when is not None

    @property
    def fhir_code(self) -> str:
        return self.name

    def label_of(self, code: str) -> str:
        """The patient's words for an answer code (the code itself when unknown)."""
        return next((c.label for c in self.choices if c.code == code), code)

    @property
    def empty(self) -> Any:
        """The stored value of an optional answer left out: its default, as a fresh list for lists."""
        return list(self.default) if self.type == LIST and self.default is not None else self.default


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """A score derived from three items at submission (v2): their mean, one decimal, rounded half up."""

    name: str  # the Entry column
    key: str  # its key in the API's `scores`
    label: str
    items: tuple[str, ...]
    min_value: int = 0
    max_value: int = 10
    loinc: Coding | None = None

    def of(self, values: Mapping[str, Any]) -> Decimal | None:
        """The score of these answers (or columns); None when an item is missing."""
        items = [values.get(name) for name in self.items]
        numbers = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
        if len(numbers) != len(items):
            return None
        return (Decimal(sum(numbers)) / len(numbers)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True, kw_only=True)
class Questionnaire:
    kind: str
    title: str
    version: int
    fields: tuple[Field, ...]
    scores: tuple[Score, ...] = ()


class Problem(NamedTuple):
    """A rule of the questionnaire that the answers break: an error ``code`` and a message for the patient."""

    code: str
    message: str


REQUIRED: Final = "required"
NOT_APPLICABLE: Final = "not_applicable"
NOT_SUBSET: Final = "not_subset"


def _choices(*pairs: tuple[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(code, label) for code, label in pairs)


def _scale(name: str, label: str, wording: str, group: str, low: int = 0, high: int = 10, **kwargs: Any) -> Field:
    kwargs.setdefault("engine_default", None if "applies_when" in kwargs else 0)
    return Field(
        name=name,
        type=INT,
        label=label,
        wording=wording,
        group=group,
        min_value=low,
        max_value=high,
        engine=name,
        **kwargs,
    )


def _when(field: str, choices: tuple[Choice, ...], *values: str, text: str) -> AppliesWhen:
    """Applies when ``field`` (answered from ``choices``) is one of ``values``."""
    return AppliesWhen(field, values, text, tuple(c.code for c in choices))


def _unless(field: str, choices: tuple[Choice, ...], excluded: str) -> AppliesWhen:
    """Applies unless ``field`` is ``excluded``."""
    values = tuple(c.code for c in choices if c.code != excluded)
    return _when(field, choices, *values, text=f"{field} is not {excluded}")


# Answer choices with the patient's words ---------------------------------------------------------------------

_SESSION_COMPLETED = _choices(
    ("full", "Yes, all of it"),
    ("partial", "Part of it"),
    ("stopped_symptoms", "I stopped because of symptoms"),
)
_STIFFNESS_CHANGE = _choices(("looser", "Looser"), ("same", "About the same"), ("stiffer", "Stiffer"))
_SPINE_CHECK = _choices(
    ("free", "Freely"),
    ("slightly_restricted", "A little restricted"),
    ("clearly_restricted", "Clearly restricted"),
    ("not_done", "I did not do the check"),
)
_NECK_SYMPTOMS = _choices(
    ("none", "Fine, nothing unusual"),
    ("tension", "Tense"),
    ("pain", "Painful"),
    ("pain_into_arm", "Painful, spreading into an arm"),
)
_THIGH_SYMPTOMS = _choices(
    ("none", "No"),
    ("both", "Yes, on both sides"),
    ("left", "Yes, on the left"),
    ("right", "Yes, on the right"),
)
_THIGH_STRETCH_RESPONSE = _choices(
    ("eases", "Eases"),
    ("no_change", "Does not change"),
    ("worse", "Gets worse"),
    ("not_tried", "I have not tried stretching it"),
)
_NERVE_QUALITIES = _choices(
    ("pins_needles", "Pins and needles"),
    ("numbness", "Numbness"),
    ("burning", "Burning"),
    ("shooting", "Shooting, like an electric shock"),
)
_SAFETY_SCREEN = _choices(
    ("saddle_numbness", "Numbness or tingling between the legs, around the back passage or genitals"),
    ("bladder_change", "Trouble passing urine, not feeling when the bladder is full, or leaking"),
    ("bowel_change", "Not feeling when you need to open your bowels, or losing control of them"),
    ("sexual_dysfunction", "A new change in sexual function, such as loss of sensation"),
    ("both_legs_numb_or_weak", "Numbness, tingling or weakness in both legs"),
    ("foot_drop_or_leg_weakness", "A foot that drops or catches, or a leg that gives way"),
)
_MORNING_STIFFNESS_DURATION = _choices(
    ("none", "No morning stiffness"),
    ("lt15", "Less than 15 minutes"),
    ("15_30", "15 to 30 minutes"),
    ("30_60", "30 minutes to an hour"),
    ("60_120", "1 to 2 hours"),
    ("gt120", "More than 2 hours"),
)
_SYSTEMIC_FLAGS = _choices(
    ("fever_or_unwell", "A fever, or feeling generally unwell"),
    ("weight_loss_unexplained", "Weight loss you cannot explain"),
    ("night_pain_unrelenting", "Pain at night that does not ease, whatever position you lie in"),
    ("fall_or_injury", "A fall or an injury"),
    ("new_cancer_diagnosis", "A new diagnosis of cancer"),
)

_NECK_APPLIES = _unless("neck_symptoms", _NECK_SYMPTOMS, "none")
# v2: below-knee and nerve qualities are asked for `both` too, like level and stretch response.
_LEG_APPLIES = _unless("thigh_symptoms", _THIGH_SYMPTOMS, "none")
_LONG_STIFFNESS_APPLIES = _when(
    "morning_stiffness_duration",
    _MORNING_STIFFNESS_DURATION,
    "30_60",
    "60_120",
    "gt120",
    text="morning_stiffness_duration is 30_60 or longer",
)

# LOINC 72514-3: pain severity, 0-10 verbal numeric rating, reported (the NPRS).
_NPRS = Coding(LOINC, "72514-3", "Pain severity 0-10 (reported)")
# LOINC 91147-9: mean score [PEG].
_PEG_MEAN = Coding(LOINC, "91147-9", "Mean score [PEG]")

_SAFETY_SCREEN_FIELD = Field(
    name="safety_screen",
    type=LIST,
    label="Safety screen",
    wording="Since your last check-in, have you had any of these (new, still there, or worse)?",
    group="safety",
    choices=_SAFETY_SCREEN,
    engine="safety_screen",
    engine_default=(),
)
_SAFETY_SCREEN_UNCHANGED_FIELD = Field(
    name="safety_screen_unchanged",
    type=LIST,
    label="Safety screen: unchanged since last reported",
    wording="Which of these are the same as when you last told us, not worse?",
    group="safety",
    choices=_SAFETY_SCREEN,
    required=False,
    subset_of="safety_screen",
    default=(),
    engine="safety_screen_unchanged",
    engine_default=(),
    since=2,
)

# The questionnaires ------------------------------------------------------------------------------------------

_POST_WORKOUT_FIELDS = (
    Field(
        name="session_completed",
        type=CHOICE,
        label="Workout completed",
        wording="Did you finish today's workout?",
        group="session",
        choices=_SESSION_COMPLETED,
        engine="session_completed",
        engine_default="full",
    ),
    _scale(
        "back_pain_now",
        "Back pain now",
        "How bad is your back pain right now? (0 none, 10 worst imaginable)",
        "pain",
        loinc=_NPRS,
    ),
    _scale(
        "back_pain_during_max",
        "Worst back pain during the workout",
        "Worst back pain during the workout? (0 none, 10 worst imaginable)",
        "pain",
        loinc=_NPRS,
    ),
    _scale(
        "back_stiffness_now",
        "Back stiffness now",
        "How stiff does your back feel right now? (0 not stiff, 10 as stiff as it could be)",
        "stiffness",
    ),
    Field(
        name="stiffness_change",
        type=CHOICE,
        label="Stiffness compared with before the workout",
        wording="Compared with before the workout, your back feels...",
        group="stiffness",
        choices=_STIFFNESS_CHANGE,
        engine="stiffness_change",
        engine_default="same",
    ),
    Field(
        name="spine_check",
        type=CHOICE,
        label="Spine self-check",
        wording="Your spine self-check moved...",
        group="stiffness",
        choices=_SPINE_CHECK,
        engine="spine_check",
        engine_default="not_done",
    ),
    Field(
        name="neck_symptoms",
        type=CHOICE,
        label="Neck during or after core work",
        wording="During or after the core exercises, did your neck feel...?",
        group="neck",
        choices=_NECK_SYMPTOMS,
        engine="neck_symptoms",
        engine_default="none",
    ),
    _scale(
        "neck_level",
        "Neck symptoms, how strong",
        "How strong? (0 barely, 10 worst imaginable)",
        "neck",
        applies_when=_NECK_APPLIES,
    ),
    Field(
        name="thigh_symptoms",
        type=CHOICE,
        label="Leg symptoms (buttock, thigh, calf or foot)",
        wording=(
            "Any ache, soreness, pulling, tingling or numbness in a buttock, the back of a thigh, a calf or a foot?"
        ),
        group="leg",
        choices=_THIGH_SYMPTOMS,
        engine="thigh_symptoms",
        engine_default="none",
    ),
    _scale(
        "thigh_level",
        "Leg symptoms, how strong",
        "How strong? (0 barely, 10 worst imaginable)",
        "leg",
        applies_when=_LEG_APPLIES,
    ),
    Field(
        name="thigh_stretch_response",
        type=CHOICE,
        label="Leg symptoms when stretched",
        wording="When you gently stretch it, it...",
        group="leg",
        choices=_THIGH_STRETCH_RESPONSE,
        applies_when=_LEG_APPLIES,
        engine="thigh_stretch_response",
    ),
    Field(
        name="thigh_below_knee",
        type=BOOL,
        label="Spreads below the knee",
        wording="Does it spread below the knee?",
        group="leg",
        applies_when=_LEG_APPLIES,
        engine="thigh_below_knee",
    ),
    Field(
        name="thigh_nerve_qualities",
        type=LIST,
        label="Nerve qualities",
        wording="Does it feel like any of these?",
        group="leg",
        choices=_NERVE_QUALITIES,
        applies_when=_LEG_APPLIES,
        engine="thigh_nerve_qualities",
        engine_default=(),
    ),
    _SAFETY_SCREEN_FIELD,
    _SAFETY_SCREEN_UNCHANGED_FIELD,
    Field(
        name="note",
        type=TEXT,
        label="Note",
        wording="Anything else your therapist should know?",
        group="note",
        max_length=500,
        required=False,
        default="",
    ),
)

_WEEKLY_FIELDS = (
    _scale(
        "back_pain_avg_7d",
        "Back pain, 7-day average",
        "Over the last 7 days, how bad was your back pain on average? (0 none, 10 worst imaginable)",
        "pain",
        loinc=_NPRS,
    ),
    _scale(
        "leg_pain_avg_7d",
        "Leg pain, 7-day average",
        "Over the last 7 days, how bad was any pain in your buttocks or legs on average? (0 none, 10 worst imaginable)",
        "pain",
        loinc=_NPRS,
    ),
    _scale(
        "peg_pain",
        "PEG: pain on average",
        "In the past week, what number best describes your pain on average? "
        "(0 no pain, 10 pain as bad as you can imagine)",
        "pain",
    ),
    _scale(
        "peg_enjoyment",
        "PEG: interference with enjoyment of life",
        "In the past week, how much has pain got in the way of your enjoyment of life? (0 not at all, 10 completely)",
        "pain",
    ),
    _scale(
        "peg_activity",
        "PEG: interference with general activity",
        "In the past week, how much has pain got in the way of your general activity? (0 not at all, 10 completely)",
        "pain",
    ),
    _scale(
        "morning_stiffness_level",
        "Morning stiffness",
        "This week, how stiff was your back when you got up in the morning? (0 not stiff, 10 as stiff as it could be)",
        "stiffness",
    ),
    Field(
        name="morning_stiffness_duration",
        type=CHOICE,
        label="Morning stiffness, how long",
        wording="How long does that morning stiffness usually last?",
        group="stiffness",
        choices=_MORNING_STIFFNESS_DURATION,
        engine="morning_stiffness_duration",
        engine_default="none",
    ),
    Field(
        name="stiffness_eases_with_movement",
        type=BOOL,
        label="Morning stiffness eases with movement",
        wording="Does the morning stiffness ease once you get moving?",
        group="stiffness",
        applies_when=_LONG_STIFFNESS_APPLIES,
        engine="stiffness_eases_with_movement",
    ),
    _scale(
        "global_change",
        "Overall change since a week ago",
        "Compared with a week ago, how is your back overall? (-3 much worse, 0 about the same, +3 much better)",
        "function",
        low=-3,
        high=3,
    ),
    Field(
        name="flare_7d",
        type=BOOL,
        label="Flare in the last 7 days",
        wording=(
            "In the last 7 days, have you had a flare-up: a worsening of your condition, lasting hours to weeks, "
            "that is hard to tolerate and affects your usual activities or mood?"
        ),
        group="function",
        engine="flare_7d",
        engine_default=False,
    ),
    _scale(
        "exercise_days_7d",
        "Exercise days, last 7 days",
        "On how many of the last 7 days did you do your exercises? (0 to 7)",
        "function",
        high=7,
    ),
    *(
        _scale(
            f"psfs_{n}",
            f"PSFS: activity {n}",
            f"How well can you do the {ordinal} activity you chose with your therapist? "
            "(0 unable to do it, 10 as well as before your back problem)",
            "function",
        )
        for n, ordinal in ((1, "first"), (2, "second"), (3, "third"))
    ),
    Field(
        name="systemic_flags",
        type=LIST,
        label="General health red flags",
        wording="In the last 7 days, have you had any of these?",
        group="systemic",
        choices=_SYSTEMIC_FLAGS,
        engine="systemic_flags",
        engine_default=(),
    ),
    # v2: the weekly check-in screens a patient who has stopped working out, too.
    replace(_SAFETY_SCREEN_FIELD, since=2),
    _SAFETY_SCREEN_UNCHANGED_FIELD,
)

QUESTIONNAIRES: Final[Mapping[str, Questionnaire]] = {
    POST_WORKOUT: Questionnaire(
        kind=POST_WORKOUT, title="Post-workout", version=QUESTIONNAIRE_VERSION, fields=_POST_WORKOUT_FIELDS
    ),
    WEEKLY: Questionnaire(
        kind=WEEKLY,
        title="Weekly check-in",
        version=QUESTIONNAIRE_VERSION,
        fields=_WEEKLY_FIELDS,
        scores=(
            Score(
                name="peg_score",
                key="peg",
                label="PEG score",
                items=("peg_pain", "peg_enjoyment", "peg_activity"),
                loinc=_PEG_MEAN,
            ),
            Score(name="psfs_score", key="psfs", label="PSFS score", items=("psfs_1", "psfs_2", "psfs_3")),
        ),
    ),
}


# Reading the declaration -------------------------------------------------------------------------------------


def questionnaire(kind: str) -> Questionnaire:
    try:
        return QUESTIONNAIRES[kind]
    except KeyError:
        raise ValueError(f"unknown questionnaire {kind!r}; expected one of {KINDS}") from None


def fields_of(kind: str) -> tuple[Field, ...]:
    """The fields of a questionnaire, in the order the patient answers them."""
    return questionnaire(kind).fields


def field_of(kind: str, name: str) -> Field:
    for f in fields_of(kind):
        if f.name == name:
            return f
    raise KeyError(f"{kind} has no field {name!r}")


def scores_of(kind: str) -> tuple[Score, ...]:
    """The scores derived from a questionnaire's items (v2: PEG and PSFS of the weekly check-in)."""
    return questionnaire(kind).scores


def fields_by_group(kind: str) -> list[tuple[str, tuple[Field, ...]]]:
    """The fields of a questionnaire grouped as on the therapist's entry page: (group title, fields)."""
    fields = fields_of(kind)
    return [
        (title, grouped) for group, title in GROUPS.items() if (grouped := tuple(f for f in fields if f.group == group))
    ]


# Checking and converting answers -----------------------------------------------------------------------------


def conditional_problems(kind: str, answers: Mapping[str, Any], *, invalid: Collection[str] = ()) -> dict[str, Problem]:
    """The conditional rules the answers break: field -> problem.

    Type and range are checked elsewhere (the API); this judges a conditional field only when the answer it
    depends on is a valid code, and a subset only when both lists are lists and neither is in ``invalid``
    (answers that failed their own checks), so that a 400 never blames a field for another's error.
    """
    problems: dict[str, Problem] = {}
    for f in fields_of(kind):
        value = answers.get(f.name)
        if f.applies_when is not None:
            applies = f.applies_when.holds(answers)
            if applies is None or f.applies_when.field in invalid:
                continue
            if applies and value is None:
                problems[f.name] = Problem(REQUIRED, f"This field is required when {f.applies_when.text}.")
            elif not applies and value is not None:
                problems[f.name] = Problem(
                    NOT_APPLICABLE, f"This field must be absent or null unless {f.applies_when.text}."
                )
        if f.subset_of is not None and f.name not in invalid and f.subset_of not in invalid:
            whole = answers.get(f.subset_of)
            if isinstance(value, list) and isinstance(whole, list):
                extra = [item for item in value if item not in whole]
                if extra:
                    problems[f.name] = Problem(
                        NOT_SUBSET,
                        f"Every item here must also be listed in {f.subset_of}: {', '.join(map(str, extra))} "
                        f"{'is' if len(extra) == 1 else 'are'} not.",
                    )
    return problems


def column_values(kind: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Validated answers -> the values of every Entry column of that questionnaire.

    Conditional fields that do not apply are None, optional ones left out take their default (note "",
    safety_screen_unchanged []), lists are fresh lists; the weekly check-in adds its derived scores
    (``peg_score``, ``psfs_score``: Decimal, one decimal).
    """
    values: dict[str, Any] = {}
    for f in fields_of(kind):
        value = answers.get(f.name)
        if f.applies_when is not None and not f.applies_when.holds(answers):
            value = None
        elif value is None:
            value = f.empty
        if isinstance(value, list | tuple):
            value = list(value)
        values[f.name] = value
    for score in scores_of(kind):
        values[score.name] = score.of(values)
    return values


def engine_values(kind: str, row: Any) -> dict[str, Any]:
    """An Entry-like object's answer columns -> keyword arguments of the engine's PostWorkout / Weekly.

    Only the answers (not id, occurred_at, local_date or submitted_at); lists as tuples; a null column as
    the engine's default for it. Reads only the declared answer columns of that questionnaire.
    """
    values: dict[str, Any] = {}
    for name, engine, default, is_list in _engine_columns(kind):
        value = getattr(row, name)
        if value is None:
            value = default
        elif is_list:
            value = tuple(value)
        values[engine] = value
    return values


def engine_fields(kind: str) -> tuple[str, ...]:
    """The fields of ``kind`` that ``engine_values`` reads (the answers the rules engine reads), in order."""
    return tuple(name for name, *_ in _engine_columns(kind))


@functools.cache
def _engine_columns(kind: str) -> tuple[tuple[str, str, Any, bool], ...]:
    """What ``engine_values`` reads of each field the engine reads, looked up once: a scan converts every row."""
    return tuple((f.name, f.engine, f.engine_default, f.type == LIST) for f in fields_of(kind) if f.engine is not None)


RED_FLAG_FIELDS: Final = ("safety_screen", "safety_screen_unchanged", "systemic_flags")


def red_flag_items(raw_answers: Any) -> dict[str, list[str]]:
    """The recognised red-flag items of an UNVALIDATED answers object, whatever else is wrong with it.

    ``safety_screen``, ``safety_screen_unchanged`` (only items also in ``safety_screen``) and
    ``systemic_flags``, each without repeats and in the order given; a single item sent as a bare string
    counts as a list of one; unknown items, non-strings and anything else are ignored. For red flags that must
    never be lost when the rest of a submission is refused.
    """
    answers = raw_answers if isinstance(raw_answers, dict) else {}

    def recognised(name: str, known: Collection[str]) -> list[str]:
        items = answers.get(name)
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            return []
        return list(dict.fromkeys(item for item in items if isinstance(item, str) and item in known))

    screen = recognised("safety_screen", SAFETY_SCREEN)
    return {
        "safety_screen": screen,
        "safety_screen_unchanged": recognised("safety_screen_unchanged", screen),
        "systemic_flags": recognised("systemic_flags", SYSTEMIC_FLAGS),
    }


# Constants of earlier versions, derived from the declaration (imported by the model, loader and seed) --------


def labelled_choices(kind: str, name: str) -> list[tuple[str, str]]:
    """(code, label) pairs of a choice or list field, for forms and model choices."""
    return [(c.code, c.label) for c in field_of(kind, name).choices]


def _codes(kind: str, name: str) -> tuple[str, ...]:
    return field_of(kind, name).codes


def _scales(kind: str) -> dict[str, tuple[int, int]]:
    return {
        f.name: (f.min_value, f.max_value)
        for f in fields_of(kind)
        if f.type == INT and f.min_value is not None and f.max_value is not None
    }


SESSION_COMPLETED: Final = _codes(POST_WORKOUT, "session_completed")
STIFFNESS_CHANGE: Final = _codes(POST_WORKOUT, "stiffness_change")
SPINE_CHECK: Final = _codes(POST_WORKOUT, "spine_check")
NECK_SYMPTOMS: Final = _codes(POST_WORKOUT, "neck_symptoms")
THIGH_SYMPTOMS: Final = _codes(POST_WORKOUT, "thigh_symptoms")
THIGH_STRETCH_RESPONSE: Final = _codes(POST_WORKOUT, "thigh_stretch_response")
NERVE_QUALITIES: Final = _codes(POST_WORKOUT, "thigh_nerve_qualities")
SAFETY_SCREEN: Final = _codes(POST_WORKOUT, "safety_screen")
MORNING_STIFFNESS_DURATION: Final = _codes(WEEKLY, "morning_stiffness_duration")
# Durations from which `stiffness_eases_with_movement` must be answered.
LONG_MORNING_STIFFNESS: Final = _LONG_STIFFNESS_APPLIES.values
SYSTEMIC_FLAGS: Final = _codes(WEEKLY, "systemic_flags")
NOTE_MAX_LENGTH: Final = field_of(POST_WORKOUT, "note").max_length or 0

# Integer fields: name -> (min, max)
POST_WORKOUT_SCALES: Final = _scales(POST_WORKOUT)
WEEKLY_SCALES: Final = _scales(WEEKLY)

POST_WORKOUT_FIELDS: Final = tuple(f.name for f in fields_of(POST_WORKOUT))
WEEKLY_FIELDS: Final = tuple(f.name for f in fields_of(WEEKLY))
LIST_FIELDS: Final = tuple(dict.fromkeys(f.name for kind in KINDS for f in fields_of(kind) if f.type == LIST))
# Every answer column of Entry, each once, in questionnaire order (post-workout first).
ANSWER_FIELDS: Final = tuple(dict.fromkeys((*POST_WORKOUT_FIELDS, *WEEKLY_FIELDS)))
SCORE_FIELDS: Final = tuple(s.name for kind in KINDS for s in scores_of(kind))


# The safety-screen items with their labels, shared by the answers and the therapist's safety-screen reviews
# (one enum in the OpenAPI schema: ENUM_NAME_OVERRIDES).
SAFETY_SCREEN_CHOICES = labelled_choices(POST_WORKOUT, "safety_screen")
