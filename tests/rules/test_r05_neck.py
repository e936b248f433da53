"""R-05 neck_strain_core (v2): 28-day window, single-entry levels, pain into the arm once at high."""

import pytest

from .builders import criteria, ctx, finding, neck, pw


def test_single_mild_neck_tension_does_not_alert():
    assert finding(ctx(pw(4), pw(2), neck(0, "tension", 2)), "R-05") is None


def test_neck_tension_in_two_of_last_four_sessions_alerts_routine():
    f = finding(ctx(neck(6, "tension", 2), pw(4), pw(2), neck(0, "pain", 3)), "R-05")

    assert f is not None
    assert (f.criteria, f.severity, f.values["A"]["count"]) == (("A",), "routine", 2)
    assert [e.values["neck_symptoms"] for e in f.evidence] == ["tension", "pain"]
    assert "technique" in f.rationale


@pytest.mark.parametrize(("days_ago", "fires"), [(27, True), (28, False)])
def test_neck_strain_counts_within_twenty_eight_days(days_ago, fires):
    context = ctx(neck(days_ago, "tension", 2), neck(0, "tension", 2))

    assert (criteria(context, "R-05") == ("A",)) is fires


def test_neck_tension_outside_the_last_four_sessions_does_not_count():
    assert criteria(ctx(neck(8, "tension", 2), pw(6), pw(4), pw(2), neck(0, "tension", 2)), "R-05") == ()


@pytest.mark.parametrize(("level", "fires"), [(5, True), (4, False)])
def test_neck_pain_at_five_once_alerts(level, fires):
    assert (criteria(ctx(neck(0, "pain", level)), "R-05") == ("B",)) is fires


@pytest.mark.parametrize(("level", "fires"), [(7, True), (6, False)])
def test_neck_tension_at_seven_once_alerts(level, fires):
    assert (criteria(ctx(neck(0, "tension", level)), "R-05") == ("B",)) is fires


@pytest.mark.parametrize(("days_ago", "fires"), [(27, True), (28, False)])
def test_a_single_strong_entry_counts_within_twenty_eight_days(days_ago, fires):
    assert (criteria(ctx(neck(days_ago, "pain", 6), pw(0)), "R-05") == ("B",)) is fires


@pytest.mark.parametrize("level", [1, 3, 9])
def test_pain_into_the_arm_once_at_any_level_alerts_high(level):
    f = finding(ctx(neck(0, "pain_into_arm", level)), "R-05")

    assert f is not None
    assert "C" in f.criteria
    assert (f.severity, f.values["pain_into_arm"]) == ("high", True)


def test_pain_into_the_arm_after_routine_strain_adds_a_criterion_and_severity():
    routine = finding(ctx(neck(4, "tension", 3), neck(2, "tension", 3)), "R-05")
    escalated = finding(ctx(neck(4, "tension", 3), neck(2, "tension", 3), neck(0, "pain_into_arm", 2)), "R-05")

    assert routine is not None
    assert escalated is not None
    assert (routine.criteria, routine.severity) == (("A",), "routine")
    assert (escalated.criteria, escalated.severity) == (("A", "C"), "high")
