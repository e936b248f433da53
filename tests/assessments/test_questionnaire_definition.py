"""The one declaration of the questionnaires (assessments/questionnaires.py) against RULES.md, the Entry model
and the rules engine.

The model tests fail when a column and a declaration disagree: adding a field means one column and one
declaration, and this file says which one is missing or different.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q

from assessments import questionnaires as q
from assessments import rules
from assessments.models import Entry

# Columns of Entry that are not answers: the envelope and the scan's bookkeeping.
ENVELOPE_COLUMNS = {
    "id",
    "patient",
    "enrollment",
    "phase",
    "kind",
    "occurred_at",
    "submitted_at",
    "questionnaire_version",
    "scanned_at",
    "scan_failures",
    "idempotency_key",
    "idempotency_fingerprint",
}

# RULES.md, in questionnaire order.
POST_WORKOUT = [
    "session_completed",
    "back_pain_now",
    "back_pain_during_max",
    "back_stiffness_now",
    "stiffness_change",
    "spine_check",
    "neck_symptoms",
    "neck_level",
    "thigh_symptoms",
    "thigh_level",
    "thigh_stretch_response",
    "thigh_below_knee",
    "thigh_nerve_qualities",
    "safety_screen",
    "safety_screen_unchanged",
    "note",
]
WEEKLY = [
    "back_pain_avg_7d",
    "leg_pain_avg_7d",
    "peg_pain",
    "peg_enjoyment",
    "peg_activity",
    "morning_stiffness_level",
    "morning_stiffness_duration",
    "stiffness_eases_with_movement",
    "global_change",
    "flare_7d",
    "exercise_days_7d",
    "psfs_1",
    "psfs_2",
    "psfs_3",
    "systemic_flags",
    "safety_screen",
    "safety_screen_unchanged",
]
LEG_ANSWERS = ("thigh_level", "thigh_stretch_response", "thigh_below_knee", "thigh_nerve_qualities")
ENGINE_ONLY = {"id", "occurred_at", "local_date", "submitted_at"}

DECLARED = [pytest.param(kind, f, id=f"{kind}.{f.name}") for kind in q.KINDS for f in q.fields_of(kind)]
SCORES = [pytest.param(s, id=s.name) for kind in q.KINDS for s in q.scores_of(kind)]


def column(name: str) -> Any:
    try:
        return Entry._meta.get_field(name)
    except FieldDoesNotExist:
        pytest.fail(f"{name} is declared in assessments/questionnaires.py but Entry has no column {name}")


def _lookups(condition: Any) -> Iterator[tuple[str, Any]]:
    """Every (lookup, value) pair of a Q, however nested."""
    for child in condition.children:
        if isinstance(child, Q):
            yield from _lookups(child)
        else:
            yield child


def check_ranges(name: str) -> list[tuple[Any, Any]]:
    """The (low, high) ranges that Entry's CheckConstraints put on a column."""
    ranges = []
    for constraint in Entry._meta.constraints:
        if isinstance(constraint, models.CheckConstraint):
            lookups = dict(_lookups(constraint.condition))
            if f"{name}__gte" in lookups and f"{name}__lte" in lookups:
                ranges.append((lookups[f"{name}__gte"], lookups[f"{name}__lte"]))
    return ranges


# The Entry model and the declaration -------------------------------------------------------------------------


def test_every_answer_column_of_entry_is_declared() -> None:
    answer_columns = {f.name for f in Entry._meta.concrete_fields} - ENVELOPE_COLUMNS
    declared = set(q.ANSWER_FIELDS) | set(q.SCORE_FIELDS)
    assert answer_columns - declared == set(), "columns of Entry that no questionnaire declares"
    assert declared - answer_columns == set(), "declared fields without a column on Entry"


@pytest.mark.parametrize(("kind", "f"), DECLARED)
def test_declared_field_has_a_column_of_its_type(kind: str, f: q.Field) -> None:
    col = column(f.name)
    # One table for both questionnaires: every answer column is null where its questionnaire did not ask it
    # (free text excepted: "" when absent, Django's convention for text).
    assert col.null or f.type == q.TEXT, f"{f.name} must be nullable"
    if f.type == q.INT:
        assert isinstance(col, models.SmallIntegerField), f"{f.name}: int -> SmallIntegerField"
        assert check_ranges(f.name) == [(f.min_value, f.max_value)], f"{f.name}: CheckConstraint of its range"
    elif f.type == q.CHOICE:
        assert isinstance(col, models.CharField), f"{f.name}: choice -> CharField"
        assert [code for code, _ in col.choices or ()] == list(f.codes), f"{f.name}: choices of the column"
        assert (col.max_length or 0) >= max(len(code) for code in f.codes), f"{f.name}: max_length too short"
    elif f.type == q.BOOL:
        assert isinstance(col, models.BooleanField), f"{f.name}: bool -> BooleanField"
    elif f.type == q.LIST:
        assert isinstance(col, models.JSONField), f"{f.name}: list -> JSONField"
    else:
        assert f.type == q.TEXT
        assert isinstance(col, models.TextField), f"{f.name}: text -> TextField"
        assert col.max_length == f.max_length


def test_note_column_is_not_null_but_empty_when_not_given() -> None:
    # The one exception to nullable answers: free text is "" when absent (Django's convention for text).
    note = Entry._meta.get_field("note")
    assert (note.null, note.default) == (False, "")


@pytest.mark.parametrize("score", SCORES)
def test_declared_score_has_a_decimal_column_with_its_range(score: q.Score) -> None:
    col = column(score.name)
    assert isinstance(col, models.DecimalField)
    assert (col.max_digits, col.decimal_places, col.null) == (3, 1, True)
    assert check_ranges(score.name) == [(score.min_value, score.max_value)]


def test_a_field_on_both_questionnaires_is_declared_alike() -> None:
    # They share one column, so type and choices must be the same.
    shared = set(q.POST_WORKOUT_FIELDS) & set(q.WEEKLY_FIELDS)
    assert shared == {"safety_screen", "safety_screen_unchanged"}
    for name in shared:
        a, b = q.field_of(q.POST_WORKOUT, name), q.field_of(q.WEEKLY, name)
        assert (a.type, a.choices, a.wording, a.required) == (b.type, b.choices, b.wording, b.required)


def test_entry_answers_are_the_declared_fields() -> None:
    entry = Entry(kind=q.WEEKLY)
    assert list(entry.answers()) == WEEKLY
    assert Entry().questionnaire_version == q.QUESTIONNAIRE_VERSION == 2


# The declaration against RULES.md ----------------------------------------------------------------------------


def test_fields_are_those_of_rules_md_in_order() -> None:
    assert [f.name for f in q.fields_of(q.POST_WORKOUT)] == POST_WORKOUT
    assert [f.name for f in q.fields_of(q.WEEKLY)] == WEEKLY
    assert (list(q.POST_WORKOUT_FIELDS), list(q.WEEKLY_FIELDS)) == (POST_WORKOUT, WEEKLY)


@pytest.mark.parametrize(("kind", "f"), DECLARED)
def test_every_field_is_fully_declared(kind: str, f: q.Field) -> None:
    assert f.wording.strip()
    assert f.label.strip()
    assert f.group in q.GROUPS
    assert f.fhir_code == f.name
    if f.type == q.INT:
        assert f.min_value is not None
        assert f.max_value is not None
        assert f.min_value < f.max_value
    if f.type in (q.CHOICE, q.LIST):
        assert f.codes
        assert len(set(f.codes)) == len(f.codes)
        assert all(c.label.strip() and c.label != c.code for c in f.choices), "every choice has words"
    else:
        assert not f.choices
    # The engine reads every answer but free text.
    assert (f.engine is None) == (f.type == q.TEXT)
    if f.applies_when is not None:
        controlling = q.field_of(kind, f.applies_when.field)
        assert controlling.type == q.CHOICE
        assert f.applies_when.domain == controlling.codes
        assert set(f.applies_when.values) < set(controlling.codes)
        assert f.required
    if f.subset_of is not None:
        assert q.field_of(kind, f.subset_of).codes == f.codes


def test_ranges_and_choices_of_rules_md() -> None:
    scales = ("back_pain_now", "back_pain_during_max", "back_stiffness_now", "neck_level", "thigh_level")
    assert dict(q.POST_WORKOUT_SCALES) == {name: (0, 10) for name in scales}
    assert q.WEEKLY_SCALES["global_change"] == (-3, 3)
    assert q.WEEKLY_SCALES["exercise_days_7d"] == (0, 7)
    assert q.SAFETY_SCREEN == (
        "saddle_numbness",
        "bladder_change",
        "bowel_change",
        "sexual_dysfunction",
        "both_legs_numb_or_weak",
        "foot_drop_or_leg_weakness",
    )
    assert q.LONG_MORNING_STIFFNESS == ("30_60", "60_120", "gt120")
    assert q.LIST_FIELDS == ("thigh_nerve_qualities", "safety_screen", "safety_screen_unchanged", "systemic_flags")
    assert q.NOTE_MAX_LENGTH == 500


def test_required_and_optional_answers() -> None:
    optional = {f.name for kind in q.KINDS for f in q.fields_of(kind) if not f.required}
    assert optional == {"safety_screen_unchanged", "note"}
    weekly_screen = q.field_of(q.WEEKLY, "safety_screen")
    assert (weekly_screen.required, weekly_screen.since) == (True, 2)


def test_choice_labels_are_the_patients_words() -> None:
    f = q.field_of(q.POST_WORKOUT, "session_completed")
    assert f.label_of("stopped_symptoms") == "I stopped because of symptoms"
    assert f.label_of("unknown") == "unknown"


def test_nprs_fields_carry_the_loinc_pain_severity_code() -> None:
    coded = {f.name: f.loinc.code for kind in q.KINDS for f in q.fields_of(kind) if f.loinc is not None}
    assert coded == dict.fromkeys(
        ("back_pain_now", "back_pain_during_max", "back_pain_avg_7d", "leg_pain_avg_7d"), "72514-3"
    )
    peg = q.scores_of(q.WEEKLY)[0]
    assert (peg.name, peg.loinc and peg.loinc.code) == ("peg_score", "91147-9")


# Conditional rules -------------------------------------------------------------------------------------------


def problems(kind: str, **answers: Any) -> dict[str, str]:
    return {name: p.code for name, p in q.conditional_problems(kind, answers).items()}


@pytest.mark.parametrize("neck", ["tension", "pain", "pain_into_arm"])
def test_neck_level_is_required_unless_neck_symptoms_is_none(neck: str) -> None:
    assert problems(q.POST_WORKOUT, neck_symptoms=neck) == {"neck_level": "required"}
    assert problems(q.POST_WORKOUT, neck_symptoms=neck, neck_level=0) == {}


def test_neck_level_is_not_applicable_without_neck_symptoms() -> None:
    assert problems(q.POST_WORKOUT, neck_symptoms="none", neck_level=3) == {"neck_level": "not_applicable"}
    assert problems(q.POST_WORKOUT, neck_symptoms="none", neck_level=None) == {}


@pytest.mark.parametrize("side", ["both", "left", "right"])
def test_every_leg_answer_is_required_for_either_side_and_both(side: str) -> None:
    # v2: below-knee and nerve qualities for `both` too.
    assert problems(q.POST_WORKOUT, thigh_symptoms=side) == dict.fromkeys(LEG_ANSWERS, "required")
    answered = {"thigh_level": 3, "thigh_stretch_response": "eases", "thigh_below_knee": False}
    assert problems(q.POST_WORKOUT, thigh_symptoms=side, **answered, thigh_nerve_qualities=[]) == {}


def test_leg_answers_are_not_applicable_without_leg_symptoms() -> None:
    answered = {"thigh_level": 3, "thigh_stretch_response": "eases", "thigh_below_knee": False}
    found = problems(q.POST_WORKOUT, thigh_symptoms="none", **answered, thigh_nerve_qualities=[])
    assert found == dict.fromkeys(LEG_ANSWERS, "not_applicable")


@pytest.mark.parametrize(
    ("duration", "applies"),
    [("none", False), ("lt15", False), ("15_30", False), ("30_60", True), ("60_120", True), ("gt120", True)],
)
def test_stiffness_eases_with_movement_applies_from_30_60(duration: str, applies: bool) -> None:
    f = q.field_of(q.WEEKLY, "stiffness_eases_with_movement")
    assert f.applies_when is not None
    assert f.applies_when.holds({"morning_stiffness_duration": duration}) is applies
    missing = problems(q.WEEKLY, morning_stiffness_duration=duration)
    given = problems(q.WEEKLY, morning_stiffness_duration=duration, stiffness_eases_with_movement=True)
    if applies:
        assert (missing, given) == ({"stiffness_eases_with_movement": "required"}, {})
    else:
        assert (missing, given) == ({}, {"stiffness_eases_with_movement": "not_applicable"})


@pytest.mark.parametrize("neck", [None, "sideways", 3, ["pain"]])
def test_a_condition_is_not_judged_on_an_invalid_answer(neck: Any) -> None:
    # The invalid answer is reported by itself; its dependants are not blamed for it.
    assert problems(q.POST_WORKOUT, neck_symptoms=neck, neck_level=4) == {}
    assert problems(q.POST_WORKOUT, neck_symptoms=neck) == {}


def test_a_condition_is_not_judged_on_an_answer_that_failed_its_own_checks() -> None:
    found = q.conditional_problems(q.POST_WORKOUT, {"neck_symptoms": "pain"}, invalid={"neck_symptoms"})
    assert found == {}


@pytest.mark.parametrize("kind", q.KINDS)
def test_unchanged_items_must_be_in_the_safety_screen(kind: str) -> None:
    found = q.conditional_problems(
        kind, {"safety_screen": ["bladder_change"], "safety_screen_unchanged": ["bladder_change", "bowel_change"]}
    )
    assert set(found) == {"safety_screen_unchanged"}
    assert found["safety_screen_unchanged"].code == "not_subset"
    assert "bowel_change" in found["safety_screen_unchanged"].message
    assert "bladder_change" not in found["safety_screen_unchanged"].message
    assert problems(kind, safety_screen=["bladder_change"], safety_screen_unchanged=["bladder_change"]) == {}
    assert problems(kind, safety_screen=[], safety_screen_unchanged=[]) == {}


def test_the_subset_is_not_judged_against_an_invalid_screen() -> None:
    answers = {"safety_screen": ["headache"], "safety_screen_unchanged": ["bowel_change"]}
    assert q.conditional_problems(q.POST_WORKOUT, answers, invalid={"safety_screen"}) == {}
    assert problems(q.POST_WORKOUT, safety_screen="bowel_change", safety_screen_unchanged=["bowel_change"]) == {}


# column_values -----------------------------------------------------------------------------------------------


def quiet_weekly(**overrides: Any) -> dict[str, Any]:
    return {
        "back_pain_avg_7d": 3,
        "leg_pain_avg_7d": 1,
        "peg_pain": 3,
        "peg_enjoyment": 2,
        "peg_activity": 2,
        "morning_stiffness_level": 3,
        "morning_stiffness_duration": "lt15",
        "global_change": 1,
        "flare_7d": False,
        "exercise_days_7d": 4,
        "psfs_1": 6,
        "psfs_2": 7,
        "psfs_3": 5,
        "systemic_flags": [],
        "safety_screen": [],
        **overrides,
    }


@pytest.mark.parametrize(
    ("items", "score"),
    [((7, 6, 6), "6.3"), ((7, 7, 6), "6.7"), ((0, 0, 0), "0.0"), ((10, 10, 10), "10.0"), ((1, 2, 3), "2.0")],
)
def test_weekly_scores_are_the_mean_of_three_items_to_one_decimal(items: tuple[int, int, int], score: str) -> None:
    peg = dict(zip(("peg_pain", "peg_enjoyment", "peg_activity"), items, strict=True))
    psfs = dict(zip(("psfs_1", "psfs_2", "psfs_3"), items, strict=True))
    values = q.column_values(q.WEEKLY, quiet_weekly(**peg, **psfs))
    assert (values["peg_score"], values["psfs_score"]) == (Decimal(score), Decimal(score))
    assert isinstance(values["peg_score"], Decimal)


def test_scores_round_half_up() -> None:
    peg = q.scores_of(q.WEEKLY)[0]
    # A mean of three whole numbers never ends in 5; the rounding is still half up, never to even.
    assert peg.of({"peg_pain": 1, "peg_enjoyment": 1, "peg_activity": 1}) == Decimal("1.0")
    assert dataclasses.replace(peg, items=("a", "b")).of({"a": 2, "b": 3}) == Decimal("2.5")
    assert dataclasses.replace(peg, items=("a", "b", "c", "d")).of({"a": 0, "b": 0, "c": 0, "d": 1}) == Decimal(
        "0.3"
    )  # 0.25 -> 0.3, not 0.2


def test_a_score_with_a_missing_item_is_none() -> None:
    values = q.column_values(q.WEEKLY, quiet_weekly(peg_activity=None))
    assert values["peg_score"] is None


def test_column_values_of_a_weekly_check_in() -> None:
    values = q.column_values(q.WEEKLY, quiet_weekly())
    assert list(values) == [*WEEKLY, "peg_score", "psfs_score"]
    assert values["stiffness_eases_with_movement"] is None
    assert (values["safety_screen"], values["safety_screen_unchanged"], values["systemic_flags"]) == ([], [], [])


def test_column_values_of_a_post_workout_entry() -> None:
    answers = {
        "session_completed": "full",
        "back_pain_now": 2,
        "back_pain_during_max": 3,
        "back_stiffness_now": 2,
        "stiffness_change": "looser",
        "spine_check": "free",
        "neck_symptoms": "none",
        "thigh_symptoms": "left",
        "thigh_level": 4,
        "thigh_stretch_response": "no_change",
        "thigh_below_knee": True,
        "thigh_nerve_qualities": ("numbness",),
        "safety_screen": ["bladder_change"],
    }
    values = q.column_values(q.POST_WORKOUT, answers)
    assert list(values) == POST_WORKOUT  # every column of the questionnaire, no scores
    assert values["neck_level"] is None
    assert values["thigh_nerve_qualities"] == ["numbness"]
    assert (values["safety_screen_unchanged"], values["note"]) == ([], "")
    # Fresh lists: the stored row never shares a list with the answers.
    assert values["safety_screen"] == answers["safety_screen"]
    assert values["safety_screen"] is not answers["safety_screen"]


def test_column_values_store_no_conditional_answer_that_does_not_apply() -> None:
    values = q.column_values(q.POST_WORKOUT, {"neck_symptoms": "none", "neck_level": 5, "thigh_symptoms": "none"})
    assert values["neck_level"] is None
    assert all(values[name] is None for name in LEG_ANSWERS)


def test_optional_defaults_are_fresh_lists() -> None:
    first = q.column_values(q.WEEKLY, quiet_weekly())
    second = q.column_values(q.WEEKLY, quiet_weekly())
    first["safety_screen_unchanged"].append("bladder_change")
    assert second["safety_screen_unchanged"] == []
    assert q.field_of(q.WEEKLY, "safety_screen_unchanged").default == ()


# engine_values -----------------------------------------------------------------------------------------------


def row(kind: str, **values: Any) -> SimpleNamespace:
    """An Entry-like object: every answer column of the questionnaire, null unless given."""
    return SimpleNamespace(**{**dict.fromkeys(q.ANSWER_FIELDS), "note": "", **values})


@pytest.mark.parametrize(("kind", "engine_type"), [(q.POST_WORKOUT, rules.PostWorkout), (q.WEEKLY, rules.Weekly)])
def test_engine_values_are_the_answers_of_the_engine_types(kind: str, engine_type: type) -> None:
    attributes = {f.name for f in dataclasses.fields(engine_type)} - ENGINE_ONLY
    values = q.engine_values(kind, row(kind))
    assert set(values) == attributes
    # Declared defaults agree with the engine's own, where it has one.
    for f in dataclasses.fields(engine_type):
        if f.name in values and f.default is not dataclasses.MISSING:
            assert values[f.name] == f.default, f.name
    when = {"id": 1, "occurred_at": dt.datetime(2026, 6, 17, 12, tzinfo=dt.UTC), "local_date": dt.date(2026, 6, 17)}
    engine_type(**when, **values)


def test_engine_values_of_a_null_row_are_the_engine_defaults() -> None:
    values = q.engine_values(q.POST_WORKOUT, row(q.POST_WORKOUT))
    assert values["session_completed"] == "full"
    assert (values["back_pain_now"], values["stiffness_change"], values["spine_check"]) == (0, "same", "not_done")
    assert (values["neck_level"], values["thigh_below_knee"]) == (None, None)
    assert (values["safety_screen"], values["safety_screen_unchanged"], values["thigh_nerve_qualities"]) == ((), (), ())
    assert "note" not in values  # free text never reaches the engine
    weekly = q.engine_values(q.WEEKLY, row(q.WEEKLY))
    assert (weekly["flare_7d"], weekly["morning_stiffness_duration"], weekly["safety_screen"]) == (False, "none", ())


def test_engine_values_take_lists_as_tuples_and_keep_the_answers() -> None:
    values = q.engine_values(
        q.WEEKLY,
        row(
            q.WEEKLY,
            back_pain_avg_7d=4,
            flare_7d=True,
            safety_screen=["bladder_change"],
            systemic_flags=["fall_or_injury"],
        ),
    )
    assert (values["back_pain_avg_7d"], values["flare_7d"]) == (4, True)
    assert (values["safety_screen"], values["systemic_flags"]) == (("bladder_change",), ("fall_or_injury",))


def test_the_engine_knows_the_declared_safety_screen() -> None:
    assert rules.SAFETY_SCREEN == q.SAFETY_SCREEN


# red_flag_items ----------------------------------------------------------------------------------------------


def test_a_single_red_flag_item_sent_as_a_bare_string_still_counts() -> None:
    assert q.red_flag_items({"safety_screen": "saddle_numbness"})["safety_screen"] == ["saddle_numbness"]


@pytest.mark.parametrize(
    "raw", [None, [], "safety_screen", 7, {"safety_screen": "not_an_item"}, {"safety_screen": None}, {}]
)
def test_red_flag_items_of_no_recognisable_answers_are_empty(raw: Any) -> None:
    assert q.red_flag_items(raw) == {"safety_screen": [], "safety_screen_unchanged": [], "systemic_flags": []}


def test_red_flag_items_keep_only_the_recognised_items() -> None:
    raw = {
        "back_pain_now": 11,  # invalid elsewhere: the red flags still count
        "safety_screen": ["saddle_numbness", "SADDLE_NUMBNESS", 3, None, ["bladder_change"], {"x": 1}, "bowel_change"],
        "safety_screen_unchanged": ["bowel_change", "bladder_change", "nonsense"],
        "systemic_flags": ["fever_or_unwell", "saddle_numbness", True],
    }
    assert q.red_flag_items(raw) == {
        "safety_screen": ["saddle_numbness", "bowel_change"],
        # Only items also reported in this screen can be "unchanged".
        "safety_screen_unchanged": ["bowel_change"],
        "systemic_flags": ["fever_or_unwell"],
    }


def test_red_flag_items_drop_repeats_and_ignore_other_questionnaires_limits() -> None:
    raw = {"safety_screen": ["bladder_change", "bladder_change"], "systemic_flags": ["fall_or_injury"] * 3}
    assert q.red_flag_items(raw) == {
        "safety_screen": ["bladder_change"],
        "safety_screen_unchanged": [],
        "systemic_flags": ["fall_or_injury"],
    }


def test_red_flag_items_of_unhashable_and_odd_values_do_not_raise() -> None:
    raw = {"safety_screen": [[], {}, 1.5, float("nan")], "safety_screen_unchanged": "bowel_change", 3: "x"}
    assert q.red_flag_items(raw)["safety_screen"] == []
    assert q.red_flag_items(raw)["safety_screen_unchanged"] == []


def test_questionnaires_module_imports_nothing_from_django() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(q.__file__).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
    assert imported <= {"__future__", "collections", "dataclasses", "decimal", "functools", "typing"}, imported
