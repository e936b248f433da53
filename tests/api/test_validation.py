"""Every field rule of the two questionnaires (RULES.md), through ``POST /api/v1/assessments/``.

Each rejection is a 400 in the one error shape, naming the field (``answers.<field>``) and a code, and
stores nothing. The rules are spelled out here from RULES.md rather than read from the code under test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from assessments.models import Entry
from tests.api.factories import post_workout_answers, weekly_answers
from tests.api.helpers import ASSESSMENTS, client_for, errors

# RULES.md, field by field ------------------------------------------------------------------------------------

POST_WORKOUT_REQUIRED = (
    "session_completed",
    "back_pain_now",
    "back_pain_during_max",
    "back_stiffness_now",
    "stiffness_change",
    "spine_check",
    "neck_symptoms",
    "thigh_symptoms",
    "safety_screen",
)
WEEKLY_REQUIRED = (
    "back_pain_avg_7d",
    "leg_pain_avg_7d",
    "peg_pain",
    "peg_enjoyment",
    "peg_activity",
    "morning_stiffness_level",
    "morning_stiffness_duration",
    "global_change",
    "flare_7d",
    "exercise_days_7d",
    "psfs_1",
    "psfs_2",
    "psfs_3",
    "systemic_flags",
    "safety_screen",  # v2: the weekly check-in screens too
)
# (kind, field) -> (min, max)
RANGES = {
    ("post_workout", "back_pain_now"): (0, 10),
    ("post_workout", "back_pain_during_max"): (0, 10),
    ("post_workout", "back_stiffness_now"): (0, 10),
    ("post_workout", "neck_level"): (0, 10),
    ("post_workout", "thigh_level"): (0, 10),
    ("weekly", "back_pain_avg_7d"): (0, 10),
    ("weekly", "leg_pain_avg_7d"): (0, 10),
    ("weekly", "peg_pain"): (0, 10),
    ("weekly", "peg_enjoyment"): (0, 10),
    ("weekly", "peg_activity"): (0, 10),
    ("weekly", "morning_stiffness_level"): (0, 10),
    ("weekly", "global_change"): (-3, 3),
    ("weekly", "exercise_days_7d"): (0, 7),
    ("weekly", "psfs_1"): (0, 10),
    ("weekly", "psfs_2"): (0, 10),
    ("weekly", "psfs_3"): (0, 10),
}
CHOICES = {
    ("post_workout", "session_completed"): ("full", "partial", "stopped_symptoms"),
    ("post_workout", "stiffness_change"): ("looser", "same", "stiffer"),
    ("post_workout", "spine_check"): ("free", "slightly_restricted", "clearly_restricted", "not_done"),
    ("post_workout", "neck_symptoms"): ("none", "tension", "pain", "pain_into_arm"),
    ("post_workout", "thigh_symptoms"): ("none", "both", "left", "right"),
    ("post_workout", "thigh_stretch_response"): ("eases", "no_change", "worse", "not_tried"),
    ("weekly", "morning_stiffness_duration"): ("none", "lt15", "15_30", "30_60", "60_120", "gt120"),
}
SAFETY_SCREEN = (
    "saddle_numbness",
    "bladder_change",
    "bowel_change",
    "sexual_dysfunction",  # v2
    "both_legs_numb_or_weak",
    "foot_drop_or_leg_weakness",
)
LISTS = {
    ("post_workout", "thigh_nerve_qualities"): ("pins_needles", "numbness", "burning", "shooting"),
    ("post_workout", "safety_screen"): SAFETY_SCREEN,
    ("post_workout", "safety_screen_unchanged"): SAFETY_SCREEN,
    ("weekly", "safety_screen"): SAFETY_SCREEN,
    ("weekly", "safety_screen_unchanged"): SAFETY_SCREEN,
    ("weekly", "systemic_flags"): (
        "fever_or_unwell",
        "weight_loss_unexplained",
        "night_pain_unrelenting",
        "fall_or_injury",
        "new_cancer_diagnosis",
    ),
}
BOOLEANS = {
    ("post_workout", "thigh_below_knee"),
    ("weekly", "stiffness_eases_with_movement"),
    ("weekly", "flare_7d"),
}

# The leg answers, all required once thigh_symptoms is not none (v2: for `both` too).
LEG_ANSWERS = ("thigh_level", "thigh_stretch_response", "thigh_below_knee", "thigh_nerve_qualities")
ONE_LEG = {
    "thigh_symptoms": "right",
    "thigh_level": 3,
    "thigh_stretch_response": "no_change",
    "thigh_below_knee": True,
    "thigh_nerve_qualities": [],
}
# Answers under which a conditional field applies, so that the field alone decides the outcome.
APPLIES: dict[str, dict[str, Any]] = {
    "neck_level": {"neck_symptoms": "pain", "neck_level": 4},
    **dict.fromkeys(LEG_ANSWERS, ONE_LEG),
    "stiffness_eases_with_movement": {"morning_stiffness_duration": "30_60", "stiffness_eases_with_movement": True},
    # Every item may be marked unchanged once it is reported.
    "safety_screen_unchanged": {"safety_screen": list(SAFETY_SCREEN)},
}


def answers_for(kind: str, field: str | None = None, value: Any = None) -> dict[str, Any]:
    """Valid answers of ``kind`` in which ``field`` applies, with ``field`` set to ``value``."""
    answers = post_workout_answers() if kind == "post_workout" else weekly_answers()
    if field is not None:
        answers.update(APPLIES.get(field, {}))
        answers[field] = value
    return answers


# Client and assertions ---------------------------------------------------------------------------------------


@pytest.fixture
def patient_api(world: Any) -> Iterator[APIClient]:
    """The patient's client; at the end, no rejected request may have stored anything."""
    client = client_for(world.patient.user)
    client.accepted = 0  # type: ignore[attr-defined]
    before = Entry.objects.count()
    yield client
    assert Entry.objects.count() == before + client.accepted  # type: ignore[attr-defined]


def submit(client: APIClient, kind: str, answers: Any, **top: Any) -> Any:
    response = client.post(ASSESSMENTS, {"kind": kind, "answers": answers, **top}, format="json")
    if response.status_code == 201:
        client.accepted += 1  # type: ignore[attr-defined]
    return response


def rejected(response: Any, *expected: tuple[str | None, str]) -> list[tuple[str | None, str]]:
    """Assert a 400 in the one error shape that names exactly these (field, code) pairs, nothing stored."""
    assert response.status_code == 400, response.content
    found = errors(response)
    assert sorted(found, key=str) == sorted(expected, key=str), found
    return found


def accepted(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.content
    stored = Entry.objects.get(pk=response.json()["id"])
    assert stored.answers() == response.json()["answers"]
    return dict(response.json()["answers"])


# Required fields ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", POST_WORKOUT_REQUIRED)
def test_post_workout_field_missing_is_required(patient_api: APIClient, field: str) -> None:
    answers = post_workout_answers()
    del answers[field]
    rejected(submit(patient_api, "post_workout", answers), (f"answers.{field}", "required"))


@pytest.mark.parametrize("field", WEEKLY_REQUIRED)
def test_weekly_field_missing_is_required(patient_api: APIClient, field: str) -> None:
    answers = weekly_answers()
    del answers[field]
    rejected(submit(patient_api, "weekly", answers), (f"answers.{field}", "required"))


@pytest.mark.parametrize("field", POST_WORKOUT_REQUIRED[:3] + WEEKLY_REQUIRED[-2:])
def test_required_field_null_is_rejected(patient_api: APIClient, field: str) -> None:
    kind = "post_workout" if field in POST_WORKOUT_REQUIRED else "weekly"
    rejected(submit(patient_api, kind, {**answers_for(kind), field: None}), (f"answers.{field}", "null"))


def test_every_missing_field_is_named_at_once(patient_api: APIClient) -> None:
    rejected(
        submit(patient_api, "post_workout", {}),
        *[(f"answers.{field}", "required") for field in POST_WORKOUT_REQUIRED],
    )


def test_optional_note_may_be_left_out(patient_api: APIClient) -> None:
    answers = post_workout_answers()
    del answers["note"]
    assert accepted(submit(patient_api, "post_workout", answers))["note"] == ""


@pytest.mark.parametrize("kind", ["post_workout", "weekly"])
def test_optional_safety_screen_unchanged_defaults_to_none_unchanged(patient_api: APIClient, kind: str) -> None:
    answers = answers_for(kind)
    del answers["safety_screen_unchanged"]
    assert accepted(submit(patient_api, kind, answers))["safety_screen_unchanged"] == []
    stored = accepted(submit(patient_api, kind, {**answers, "safety_screen_unchanged": None}))
    assert stored["safety_screen_unchanged"] == []


# Ranges ------------------------------------------------------------------------------------------------------


def _boundaries() -> Iterator[Any]:
    for (kind, field), (low, high) in RANGES.items():
        yield pytest.param(kind, field, low - 1, "min_value", id=f"{field}={low - 1}")
        yield pytest.param(kind, field, low, None, id=f"{field}={low}")
        yield pytest.param(kind, field, high, None, id=f"{field}={high}")
        yield pytest.param(kind, field, high + 1, "max_value", id=f"{field}={high + 1}")


@pytest.mark.parametrize(("kind", "field", "value", "code"), list(_boundaries()))
def test_range_boundaries(patient_api: APIClient, kind: str, field: str, value: int, code: str | None) -> None:
    response = submit(patient_api, kind, answers_for(kind, field, value))
    if code is None:
        assert accepted(response)[field] == value
    else:
        rejected(response, (f"answers.{field}", code))


def test_huge_number_is_a_range_error_not_a_server_error(patient_api: APIClient) -> None:
    rejected(
        submit(patient_api, "post_workout", answers_for("post_workout", "back_pain_now", 10**30)),
        ("answers.back_pain_now", "max_value"),
    )


# Types -------------------------------------------------------------------------------------------------------

NOT_INTEGERS = [
    pytest.param("5", id="string"),
    pytest.param(5.5, id="float"),
    pytest.param(5.0, id="whole-float"),
    pytest.param(True, id="true"),
    pytest.param([5], id="list"),
    pytest.param({"value": 5}, id="object"),
]


@pytest.mark.parametrize("value", NOT_INTEGERS)
@pytest.mark.parametrize(("kind", "field"), [("post_workout", "back_pain_now"), ("weekly", "global_change")])
def test_integer_fields_take_json_integers_only(patient_api: APIClient, kind: str, field: str, value: Any) -> None:
    rejected(submit(patient_api, kind, answers_for(kind, field, value)), (f"answers.{field}", "invalid"))


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, [True]])
@pytest.mark.parametrize(("kind", "field"), sorted(BOOLEANS))
def test_boolean_fields_take_json_booleans_only(patient_api: APIClient, kind: str, field: str, value: Any) -> None:
    rejected(submit(patient_api, kind, answers_for(kind, field, value)), (f"answers.{field}", "invalid"))


@pytest.mark.parametrize(("kind", "field"), sorted(BOOLEANS))
@pytest.mark.parametrize("value", [True, False])
def test_boolean_fields_accept_true_and_false(patient_api: APIClient, kind: str, field: str, value: bool) -> None:
    assert accepted(submit(patient_api, kind, answers_for(kind, field, value)))[field] is value


@pytest.mark.parametrize(("kind", "field"), sorted(CHOICES))
def test_every_listed_choice_is_accepted(patient_api: APIClient, kind: str, field: str) -> None:
    for choice in CHOICES[(kind, field)]:
        answers = answers_for(kind, field, choice)
        # A choice may make conditional fields apply or stop applying: fill them in as a patient would.
        answers.update(_dependants(field, choice))
        assert accepted(submit(patient_api, kind, answers))[field] == choice


def _dependants(field: str, choice: str) -> dict[str, Any]:
    if field == "neck_symptoms":
        return {"neck_level": None if choice == "none" else 3}
    if field == "thigh_symptoms":
        return {
            "thigh_level": None if choice == "none" else 3,
            "thigh_stretch_response": None if choice == "none" else "eases",
            "thigh_below_knee": None if choice == "none" else True,
            "thigh_nerve_qualities": None if choice == "none" else [],
        }
    if field == "morning_stiffness_duration":
        return {"stiffness_eases_with_movement": False if choice in ("30_60", "60_120", "gt120") else None}
    return {}


@pytest.mark.parametrize("value", ["sometimes", "", "FULL", "Left", 1, None, ["none"]])
@pytest.mark.parametrize(("kind", "field"), sorted(CHOICES))
def test_invalid_choices_are_rejected(patient_api: APIClient, kind: str, field: str, value: Any) -> None:
    response = submit(patient_api, kind, answers_for(kind, field, value))
    # A required choice may not be null; a conditional one that applies is then missing.
    null_code = "required" if field == "thigh_stretch_response" else "null"
    code = null_code if value is None else "invalid_choice"
    rejected(response, (f"answers.{field}", code))


def test_wrong_kind_of_answers_is_rejected_field_by_field(patient_api: APIClient) -> None:
    # Weekly answers under kind post_workout: every post-workout field is missing, every weekly one unknown,
    # except the safety screen, which both questionnaires ask (v2).
    weekly = weekly_answers()
    found = rejected(
        submit(patient_api, "post_workout", weekly),
        *[(f"answers.{field}", "required") for field in POST_WORKOUT_REQUIRED if field not in weekly],
        *[(f"answers.{field}", "unknown_field") for field in weekly if not field.startswith("safety_screen")],
    )
    assert found


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "daily"}, "invalid_choice"),
        ({"kind": 1}, "invalid_choice"),
        ({"kind": None}, "null"),
        ({}, "required"),
    ],
)
def test_kind_must_be_one_of_the_questionnaires(patient_api: APIClient, body: dict[str, Any], code: str) -> None:
    response = patient_api.post(ASSESSMENTS, {"answers": post_workout_answers(), **body}, format="json")
    rejected(response, ("kind", code))


@pytest.mark.parametrize(
    ("answers", "code"), [([], "not_a_dict"), ("full", "not_a_dict"), (None, "null"), (7, "not_a_dict")]
)
def test_answers_must_be_an_object(patient_api: APIClient, answers: Any, code: str) -> None:
    rejected(submit(patient_api, "post_workout", answers), ("answers", code))


# Conditional fields ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("neck", ["tension", "pain", "pain_into_arm"])
def test_neck_level_required_with_neck_symptoms(patient_api: APIClient, neck: str) -> None:
    answers = post_workout_answers(neck_symptoms=neck)
    rejected(submit(patient_api, "post_workout", answers), ("answers.neck_level", "required"))
    rejected(submit(patient_api, "post_workout", {**answers, "neck_level": None}), ("answers.neck_level", "required"))
    assert accepted(submit(patient_api, "post_workout", {**answers, "neck_level": 6}))["neck_level"] == 6


def test_neck_level_not_applicable_without_neck_symptoms(patient_api: APIClient) -> None:
    response = submit(patient_api, "post_workout", post_workout_answers(neck_symptoms="none", neck_level=3))
    rejected(response, ("answers.neck_level", "not_applicable"))
    assert "neck_symptoms" in response.json()["errors"][0]["message"]
    # Absent or null is how "does not apply" is said.
    assert accepted(submit(patient_api, "post_workout", post_workout_answers(neck_level=None)))["neck_level"] is None


@pytest.mark.parametrize("side", ["both", "left", "right"])
def test_every_leg_answer_is_required_with_leg_symptoms(patient_api: APIClient, side: str) -> None:
    # v2: below-knee and nerve qualities are asked for both sides too, not only for one.
    answers = post_workout_answers(thigh_symptoms=side)
    rejected(submit(patient_api, "post_workout", answers), *[(f"answers.{f}", "required") for f in LEG_ANSWERS])
    answers.update(thigh_level=2, thigh_stretch_response="worse")
    rejected(
        submit(patient_api, "post_workout", answers),
        ("answers.thigh_below_knee", "required"),
        ("answers.thigh_nerve_qualities", "required"),
    )
    answers.update(thigh_below_knee=False)
    rejected(submit(patient_api, "post_workout", answers), ("answers.thigh_nerve_qualities", "required"))
    stored = accepted(submit(patient_api, "post_workout", {**answers, "thigh_nerve_qualities": ["numbness"]}))
    assert {f: stored[f] for f in LEG_ANSWERS} == {
        "thigh_level": 2,
        "thigh_stretch_response": "worse",
        "thigh_below_knee": False,
        "thigh_nerve_qualities": ["numbness"],
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"thigh_level": 2},
        {"thigh_stretch_response": "eases"},
        {"thigh_below_knee": False},
        {"thigh_nerve_qualities": []},
        {"thigh_nerve_qualities": ["numbness"]},
    ],
    ids=lambda extra: next(iter(extra)) + "=" + repr(next(iter(extra.values()))),
)
def test_thigh_fields_not_applicable_without_thigh_symptoms(patient_api: APIClient, extra: dict[str, Any]) -> None:
    (field,) = extra
    response = submit(patient_api, "post_workout", post_workout_answers(**extra))
    rejected(response, (f"answers.{field}", "not_applicable"))
    assert "thigh_symptoms is not none" in response.json()["errors"][0]["message"]


def test_thigh_fields_may_be_null_without_thigh_symptoms(patient_api: APIClient) -> None:
    nulls = dict.fromkeys(LEG_ANSWERS)
    stored = accepted(submit(patient_api, "post_workout", post_workout_answers(**nulls)))
    assert {field: stored[field] for field in nulls} == nulls


@pytest.mark.parametrize("side", ["both", "left", "right"])
@pytest.mark.parametrize("below_knee", [True, False])
def test_thigh_below_knee_required_for_either_side_and_both(
    patient_api: APIClient, side: str, below_knee: bool
) -> None:
    answers = {**ONE_LEG, "thigh_symptoms": side}
    del answers["thigh_below_knee"]
    rejected(
        submit(patient_api, "post_workout", post_workout_answers(**answers)), ("answers.thigh_below_knee", "required")
    )
    rejected(
        submit(patient_api, "post_workout", post_workout_answers(**answers, thigh_below_knee=None)),
        ("answers.thigh_below_knee", "required"),
    )
    stored = accepted(submit(patient_api, "post_workout", post_workout_answers(**answers, thigh_below_knee=below_knee)))
    assert stored["thigh_below_knee"] is below_knee


@pytest.mark.parametrize("side", ["both", "left", "right"])
def test_nerve_qualities_required_with_leg_symptoms_and_empty_means_none(patient_api: APIClient, side: str) -> None:
    answers = {**ONE_LEG, "thigh_symptoms": side}
    del answers["thigh_nerve_qualities"]
    rejected(
        submit(patient_api, "post_workout", post_workout_answers(**answers)),
        ("answers.thigh_nerve_qualities", "required"),
    )
    assert (
        accepted(submit(patient_api, "post_workout", post_workout_answers(**answers, thigh_nerve_qualities=[])))[
            "thigh_nerve_qualities"
        ]
        == []
    )
    qualities = ["pins_needles", "numbness", "burning", "shooting"]
    stored = accepted(
        submit(patient_api, "post_workout", post_workout_answers(**answers, thigh_nerve_qualities=qualities))
    )
    assert stored["thigh_nerve_qualities"] == qualities


def test_both_sides_with_nerve_signs_is_accepted(patient_api: APIClient) -> None:
    answers = post_workout_answers(
        thigh_symptoms="both",
        thigh_level=3,
        thigh_stretch_response="eases",
        thigh_below_knee=True,
        thigh_nerve_qualities=["pins_needles"],
    )
    stored = accepted(submit(patient_api, "post_workout", answers))
    assert (stored["thigh_below_knee"], stored["thigh_nerve_qualities"]) == (True, ["pins_needles"])


@pytest.mark.parametrize("duration", ["30_60", "60_120", "gt120"])
def test_stiffness_eases_with_movement_required_for_long_morning_stiffness(
    patient_api: APIClient, duration: str
) -> None:
    answers = weekly_answers(morning_stiffness_duration=duration)
    rejected(submit(patient_api, "weekly", answers), ("answers.stiffness_eases_with_movement", "required"))
    rejected(
        submit(patient_api, "weekly", {**answers, "stiffness_eases_with_movement": None}),
        ("answers.stiffness_eases_with_movement", "required"),
    )
    stored = accepted(submit(patient_api, "weekly", {**answers, "stiffness_eases_with_movement": False}))
    assert stored["stiffness_eases_with_movement"] is False


@pytest.mark.parametrize("duration", ["none", "lt15", "15_30"])
def test_stiffness_eases_with_movement_not_applicable_for_short_morning_stiffness(
    patient_api: APIClient, duration: str
) -> None:
    answers = weekly_answers(morning_stiffness_duration=duration)
    rejected(
        submit(patient_api, "weekly", {**answers, "stiffness_eases_with_movement": True}),
        ("answers.stiffness_eases_with_movement", "not_applicable"),
    )
    stored = accepted(submit(patient_api, "weekly", {**answers, "stiffness_eases_with_movement": None}))
    assert stored["stiffness_eases_with_movement"] is None


def test_several_conditional_errors_are_reported_together(patient_api: APIClient) -> None:
    answers = post_workout_answers(neck_symptoms="pain", thigh_symptoms="none", thigh_level=4)
    rejected(
        submit(patient_api, "post_workout", answers),
        ("answers.neck_level", "required"),
        ("answers.thigh_level", "not_applicable"),
    )


# Lists -------------------------------------------------------------------------------------------------------


def reports_red_flag(kind: str, field: str) -> bool:
    """Whether answers_for(kind, field, ...) holds a recognised red-flag item besides ``field`` itself."""
    return field in ("safety_screen", "systemic_flags") or bool(answers_for(kind, field).get("safety_screen"))


def urgent_advice(response: Any) -> bool:
    return "urgent" in [a["level"] for a in response.json().get("advice", [])]


@pytest.mark.parametrize(("kind", "field"), sorted(LISTS))
def test_list_with_duplicates_is_rejected(patient_api: APIClient, kind: str, field: str) -> None:
    first = LISTS[(kind, field)][0]
    response = submit(patient_api, kind, answers_for(kind, field, [first, first]))
    rejected(response, (f"answers.{field}", "duplicate"))
    # A refused red-flag report still tells the patient what to do.
    assert urgent_advice(response) == reports_red_flag(kind, field)


@pytest.mark.parametrize(("kind", "field"), sorted(LISTS))
def test_list_with_an_unknown_choice_names_the_item(patient_api: APIClient, kind: str, field: str) -> None:
    first = LISTS[(kind, field)][0]
    response = submit(patient_api, kind, answers_for(kind, field, [first, "headache"]))
    rejected(response, (f"answers.{field}.1", "invalid_choice"))
    assert urgent_advice(response) == reports_red_flag(kind, field)


@pytest.mark.parametrize("value", ["numbness", 1, {"numbness": True}])
@pytest.mark.parametrize(("kind", "field"), sorted(LISTS))
def test_list_fields_take_json_lists_only(patient_api: APIClient, kind: str, field: str, value: Any) -> None:
    rejected(submit(patient_api, kind, answers_for(kind, field, value)), (f"answers.{field}", "not_a_list"))


@pytest.mark.parametrize(("kind", "field"), sorted(LISTS))
def test_list_items_must_be_strings(patient_api: APIClient, kind: str, field: str) -> None:
    rejected(submit(patient_api, kind, answers_for(kind, field, [None])), (f"answers.{field}.0", "null"))
    rejected(submit(patient_api, kind, answers_for(kind, field, [3])), (f"answers.{field}.0", "invalid_choice"))


@pytest.mark.parametrize(("kind", "field"), sorted(LISTS))
def test_every_list_choice_is_accepted_together(patient_api: APIClient, kind: str, field: str) -> None:
    every = list(LISTS[(kind, field)])
    assert accepted(submit(patient_api, kind, answers_for(kind, field, every)))[field] == every


def test_red_flag_lists_may_not_be_null(patient_api: APIClient) -> None:
    rejected(
        submit(patient_api, "post_workout", post_workout_answers(safety_screen=None)), ("answers.safety_screen", "null")
    )
    rejected(submit(patient_api, "weekly", weekly_answers(systemic_flags=None)), ("answers.systemic_flags", "null"))
    rejected(submit(patient_api, "weekly", weekly_answers(safety_screen=None)), ("answers.safety_screen", "null"))


# Safety screen (v2) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["post_workout", "weekly"])
def test_sexual_dysfunction_is_a_safety_screen_item(patient_api: APIClient, kind: str) -> None:
    response = submit(patient_api, kind, answers_for(kind, "safety_screen", ["sexual_dysfunction"]))
    assert accepted(response)["safety_screen"] == ["sexual_dysfunction"]
    assert urgent_advice(response)


@pytest.mark.parametrize("kind", ["post_workout", "weekly"])
def test_unchanged_items_must_also_be_reported(patient_api: APIClient, kind: str) -> None:
    answers = answers_for(kind, "safety_screen", ["saddle_numbness"])
    response = submit(patient_api, kind, {**answers, "safety_screen_unchanged": ["saddle_numbness", "bladder_change"]})
    rejected(response, ("answers.safety_screen_unchanged", "not_subset"))
    message = response.json()["errors"][0]["message"]
    assert "safety_screen" in message
    assert "bladder_change" in message
    assert "saddle_numbness" not in message
    stored = accepted(submit(patient_api, kind, {**answers, "safety_screen_unchanged": ["saddle_numbness"]}))
    assert (stored["safety_screen"], stored["safety_screen_unchanged"]) == (["saddle_numbness"], ["saddle_numbness"])


def test_unchanged_items_with_an_empty_safety_screen_are_not_a_subset(patient_api: APIClient) -> None:
    response = submit(patient_api, "weekly", weekly_answers(safety_screen=[], safety_screen_unchanged=["bowel_change"]))
    rejected(response, ("answers.safety_screen_unchanged", "not_subset"))


def test_unchanged_items_are_not_judged_against_an_invalid_safety_screen(patient_api: APIClient) -> None:
    answers = post_workout_answers(safety_screen=["headache"], safety_screen_unchanged=["bladder_change"])
    rejected(submit(patient_api, "post_workout", answers), ("answers.safety_screen.0", "invalid_choice"))


def test_a_subset_error_is_reported_with_the_other_errors(patient_api: APIClient) -> None:
    answers = post_workout_answers(back_pain_now=11, safety_screen=[], safety_screen_unchanged=["bowel_change"])
    rejected(
        submit(patient_api, "post_workout", answers),
        ("answers.back_pain_now", "max_value"),
        ("answers.safety_screen_unchanged", "not_subset"),
    )


# Note --------------------------------------------------------------------------------------------------------


def test_note_up_to_500_characters(patient_api: APIClient) -> None:
    assert accepted(submit(patient_api, "post_workout", post_workout_answers(note="x" * 500)))["note"] == "x" * 500
    rejected(submit(patient_api, "post_workout", post_workout_answers(note="x" * 501)), ("answers.note", "max_length"))


@pytest.mark.parametrize("value", [5, ["text"], {"text": "x"}, True])
def test_note_must_be_text(patient_api: APIClient, value: Any) -> None:
    rejected(submit(patient_api, "post_workout", post_workout_answers(note=value)), ("answers.note", "invalid"))


def test_note_with_a_nul_character_is_rejected(patient_api: APIClient) -> None:
    rejected(
        submit(patient_api, "post_workout", post_workout_answers(note="a\x00b")),
        ("answers.note", "null_characters_not_allowed"),
    )


def test_note_is_trimmed(patient_api: APIClient) -> None:
    assert (
        accepted(submit(patient_api, "post_workout", post_workout_answers(note="  sore calf  ")))["note"] == "sore calf"
    )


# Unknown fields and mass assignment --------------------------------------------------------------------------


def test_unknown_answer_field_is_rejected(patient_api: APIClient) -> None:
    answers = post_workout_answers(mood="good")
    rejected(submit(patient_api, "post_workout", answers), ("answers.mood", "unknown_field"))


def test_unknown_top_level_field_is_rejected(patient_api: APIClient) -> None:
    rejected(submit(patient_api, "post_workout", post_workout_answers(), source="app"), ("source", "unknown_field"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("patient", "other"),
        ("enrollment", 1),
        ("scanned_at", "2026-01-01T00:00:00Z"),
        ("id", 999),
        ("phase", "maintenance"),
        ("submitted_at", "2026-01-01T00:00:00Z"),
        ("questionnaire_version", 9),
    ],
)
def test_mass_assignment_is_rejected_and_nothing_saved(
    world: Any, patient_api: APIClient, name: str, value: Any
) -> None:
    if name == "patient":
        value = world.other_patient.pk
    rejected(submit(patient_api, "post_workout", post_workout_answers(), **{name: value}), (name, "unknown_field"))
    rejected(
        submit(patient_api, "post_workout", post_workout_answers(**{name: value})), (f"answers.{name}", "unknown_field")
    )


def test_unknown_answer_fields_are_reported_with_the_other_answer_errors(patient_api: APIClient) -> None:
    answers = post_workout_answers(back_pain_now=11, extra=1)
    rejected(
        submit(patient_api, "post_workout", answers),
        ("answers.extra", "unknown_field"),
        ("answers.back_pain_now", "max_value"),
    )


def test_an_unknown_top_level_field_and_bad_answers_are_reported_together(patient_api: APIClient) -> None:
    answers = post_workout_answers(back_pain_now=11)
    rejected(
        submit(patient_api, "post_workout", answers, patient=2),
        ("patient", "unknown_field"),
        ("answers.back_pain_now", "max_value"),
    )


# occurred_at -------------------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def at_noon(world: Any) -> Iterator[APIClient]:
    """The patient's client at a fixed moment (NOW), so the 5-minute and 30-day limits are exact."""
    with time_machine.travel(NOW, tick=False):
        client = client_for(world.patient.user)
        client.accepted = 0  # type: ignore[attr-defined]
        before = Entry.objects.count()
        yield client
        assert Entry.objects.count() == before + client.accepted  # type: ignore[attr-defined]


def test_occurred_at_beyond_five_minutes_ahead_is_in_the_future(at_noon: APIClient) -> None:
    late = (NOW + dt.timedelta(minutes=5, seconds=1)).isoformat()
    response = submit(at_noon, "post_workout", post_workout_answers(), occurred_at=late)
    rejected(response, ("occurred_at", "future"))


def test_occurred_at_within_clock_skew_is_kept_as_now(at_noon: APIClient) -> None:
    ahead = (NOW + dt.timedelta(minutes=5)).isoformat()
    response = submit(at_noon, "post_workout", post_workout_answers(), occurred_at=ahead)
    accepted(response)
    assert Entry.objects.get(pk=response.json()["id"]).occurred_at == NOW


def test_occurred_at_up_to_30_days_back(at_noon: APIClient) -> None:
    oldest = NOW - dt.timedelta(days=30)
    response = submit(at_noon, "weekly", weekly_answers(), occurred_at=oldest.isoformat())
    accepted(response)
    assert Entry.objects.get(pk=response.json()["id"]).occurred_at == oldest
    too_old = (oldest - dt.timedelta(seconds=1)).isoformat()
    rejected(submit(at_noon, "weekly", weekly_answers(), occurred_at=too_old), ("occurred_at", "too_old"))


def test_occurred_at_with_another_offset_is_the_same_moment(at_noon: APIClient) -> None:
    response = submit(at_noon, "post_workout", post_workout_answers(), occurred_at="2026-05-06T09:30:00-02:00")
    accepted(response)
    assert Entry.objects.get(pk=response.json()["id"]).occurred_at == NOW - dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2026-05-06T11:00:00", "naive"),
        ("2026-05-06", "naive"),
        ("yesterday", "invalid"),
        ("2026-13-01T00:00:00Z", "invalid"),
        (1778068800, "invalid"),
        (["2026-05-06T11:00:00Z"], "invalid"),
        (None, "null"),
        ("0001-01-01T00:00:00+14:00", "too_old"),
        ("9999-12-31T23:59:59-14:00", "future"),
    ],
)
def test_occurred_at_must_be_an_iso_time_with_offset(at_noon: APIClient, value: Any, code: str) -> None:
    rejected(submit(at_noon, "post_workout", post_workout_answers(), occurred_at=value), ("occurred_at", code))


# The body as a whole -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "kind=weekly"),
        ("text/plain", '{"kind": "weekly"}'),
        ("application/xml", "<entry/>"),
    ],
)
def test_non_json_body_is_415(patient_api: APIClient, content_type: str, body: str) -> None:
    response = patient_api.post(ASSESSMENTS, body, content_type=content_type)
    assert response.status_code == 415
    assert errors(response) == [(None, "unsupported_media_type")]


def test_multipart_body_is_415(patient_api: APIClient) -> None:
    response = patient_api.post(ASSESSMENTS, {"kind": "weekly"}, format="multipart")
    assert response.status_code == 415
    assert errors(response) == [(None, "unsupported_media_type")]


@pytest.mark.parametrize("body", ['{"kind": "weekly",', "{'kind': 'weekly'}", "NaN", '{"kind": "weekly"} x', "\xff"])
def test_malformed_json_is_400(patient_api: APIClient, body: str) -> None:
    response = patient_api.post(ASSESSMENTS, body.encode("latin-1"), content_type="application/json")
    rejected(response, (None, "parse_error"))


@pytest.mark.parametrize("body", ["[]", '[{"kind": "weekly"}]', '"weekly"', "42", "true"])
def test_json_that_is_not_an_object_is_400(patient_api: APIClient, body: str) -> None:
    rejected(patient_api.post(ASSESSMENTS, body, content_type="application/json"), (None, "invalid"))


def test_json_null_body_is_400(patient_api: APIClient) -> None:
    rejected(patient_api.post(ASSESSMENTS, "null", content_type="application/json"), (None, "null"))


def test_empty_json_body_names_the_required_fields(patient_api: APIClient) -> None:
    rejected(
        patient_api.post(ASSESSMENTS, "", content_type="application/json"),
        ("kind", "required"),
        ("answers", "required"),
    )


def test_deeply_nested_json_is_400_not_500(patient_api: APIClient) -> None:
    body = '{"kind": "weekly", "answers": ' + "[" * 100_000 + "]" * 100_000 + "}"
    rejected(patient_api.post(ASSESSMENTS, body, content_type="application/json"), (None, "parse_error"))


def test_a_bad_value_and_a_missing_conditional_answer_are_reported_together(patient_api: APIClient) -> None:
    answers = post_workout_answers(back_pain_now=11, neck_symptoms="tension", thigh_symptoms="sideways")
    rejected(
        submit(patient_api, "post_workout", answers),
        ("answers.back_pain_now", "max_value"),
        ("answers.neck_level", "required"),
        ("answers.thigh_symptoms", "invalid_choice"),
    )
