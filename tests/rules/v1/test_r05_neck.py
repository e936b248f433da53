"""R-05 neck_strain_core."""

import pytest

from .builders import criteria, ctx, finding, neck, pw


def test_single_mild_neck_tension_does_not_alert():
    assert finding(ctx(pw(4), pw(2), neck(0, "tension", 2)), "R-05") is None


def test_neck_tension_in_two_of_last_four_sessions_alerts_routine():
    f = finding(ctx(neck(6, "tension", 2), pw(4), pw(2), neck(0, "pain", 3)), "R-05")

    assert f is not None
    assert f.criteria == ("A",)
    assert f.severity == "routine"
    assert f.values["A"]["count"] == 2
    assert [e.values["neck_symptoms"] for e in f.evidence] == ["tension", "pain"]
    assert "technique" in f.rationale


def test_neck_tension_outside_the_last_four_sessions_does_not_count():
    context = ctx(neck(8, "tension", 2), pw(6), pw(4), pw(2), neck(0, "tension", 2))

    assert criteria(context, "R-05") == ()


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_neck_tension_counts_only_within_fourteen_days(days_ago, fires):
    context = ctx(neck(days_ago, "tension", 2), neck(0, "tension", 2))

    assert (criteria(context, "R-05") == ("A",)) is fires


@pytest.mark.parametrize(("level", "fires"), [(5, True), (4, False)])
def test_neck_level_five_once_alerts(level, fires):
    assert (criteria(ctx(neck(0, "tension", level)), "R-05") == ("B",)) is fires


def test_pain_into_arm_raises_severity_to_high_and_counts_as_pain():
    f = finding(ctx(neck(3, "tension", 2), neck(0, "pain_into_arm", 3)), "R-05")

    assert f is not None
    assert f.criteria == ("A",)
    assert f.severity == "high"
    assert f.values["pain_into_arm"] is True


def test_pain_into_arm_once_at_a_low_level_does_not_alert():
    assert finding(ctx(neck(0, "pain_into_arm", 3)), "R-05") is None


def test_strong_neck_pain_into_arm_once_alerts_high():
    f = finding(ctx(neck(0, "pain_into_arm", 6)), "R-05")

    assert f is not None
    assert (f.criteria, f.severity) == (("B",), "high")
