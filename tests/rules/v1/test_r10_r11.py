"""R-10 inflammatory_pattern and R-11 engagement_drop."""

import pytest

from .builders import criteria, ctx, day, finding, pw, wk


def morning(days_ago: int, duration: str, eases: bool | None = True):
    return wk(days_ago, morning_stiffness_duration=duration, stiffness_eases_with_movement=eases)


#


def test_long_morning_stiffness_easing_with_movement_on_three_of_last_four_weeklies_alerts():
    context = ctx(morning(21, "30_60"), morning(14, "lt15", None), morning(7, "60_120"), morning(0, "gt120"))

    f = finding(context, "R-10")

    assert f is not None
    assert f.severity == "routine"
    assert f.values["A"]["count"] == 3
    assert "inflammatory" in f.rationale


@pytest.mark.parametrize(
    "weeklies",
    [
        # Only 2 of the last 4 are long.
        [("30_60", True), ("lt15", None), ("15_30", None), ("gt120", True)],
        # 3 long, but one does not ease with movement.
        [("30_60", True), ("lt15", None), ("60_120", False), ("gt120", True)],
        # 3 long, but one of them is older than the last 4.
        [("30_60", True), ("30_60", True), ("lt15", None), ("15_30", None), ("gt120", True)],
    ],
)
def test_morning_stiffness_pattern_not_met_does_not_alert(weeklies):
    n = len(weeklies)
    context = ctx(*(morning(7 * (n - 1 - i), d, e) for i, (d, e) in enumerate(weeklies)))

    assert criteria(context, "R-10") == ()


# R-11 (A) no post_workout for 7 d.


@pytest.mark.parametrize(("days_ago", "fires"), [(7, True), (6, False)])
def test_no_session_for_seven_days_alerts_when_enrolled(days_ago, fires):
    context = ctx(pw(days_ago), wk(0))

    assert ("A" in criteria(context, "R-11")) is fires


def test_no_session_for_seven_days_does_not_alert_when_not_enrolled():
    assert criteria(ctx(pw(20), wk(0), enrolled=False), "R-11") == ()


@pytest.mark.parametrize(("phase_days", "fires"), [(7, True), (6, False)])
def test_without_any_session_the_clock_starts_at_the_phase_start(phase_days, fires):
    context = ctx(wk(0), phase_since=day(phase_days))

    assert ("A" in criteria(context, "R-11")) is fires


def test_engagement_values_are_counts_only():
    f = finding(ctx(pw(9), wk(0)), "R-11")

    assert f is not None
    assert f.values == {"A": {"days_without_session": 9, "last_session_date": day(9).isoformat(), "threshold_days": 7}}
    assert f.evidence == ()


# R-11 (B) exercise_days_7d <= 2 twice in a row.


@pytest.mark.parametrize(("days", "fires"), [((2, 2), True), ((0, 1), True), ((3, 2), False), ((2, 3), False)])
def test_few_exercise_days_on_two_weeklies_in_a_row_alerts(days, fires):
    context = ctx(pw(0), wk(7, exercise_days_7d=days[0]), wk(0, exercise_days_7d=days[1]))

    assert (criteria(context, "R-11") == ("B",)) is fires


def test_few_exercise_days_on_a_single_weekly_does_not_alert():
    assert criteria(ctx(pw(0), wk(0, exercise_days_7d=0)), "R-11") == ()


# R-11 (C) 2 weeklies missed.


@pytest.mark.parametrize(("days_ago", "fires"), [(14, True), (13, False)])
def test_no_weekly_for_two_cadences_alerts(days_ago, fires):
    context = ctx(pw(0), wk(days_ago))

    f = finding(context, "R-11")

    assert (f is not None and f.criteria == ("C",)) is fires
    if f is not None:
        assert f.values["C"]["weeklies_missed"] == 2


@pytest.mark.parametrize(("phase_days", "fires"), [(14, True), (13, False)])
def test_without_any_weekly_missed_weeklies_count_from_the_phase_start(phase_days, fires):
    context = ctx(pw(0), phase_since=day(phase_days))

    assert (criteria(context, "R-11") == ("C",)) is fires


def test_missed_weeklies_do_not_alert_when_not_enrolled():
    assert criteria(ctx(pw(0), wk(30), enrolled=False), "R-11") == ()
