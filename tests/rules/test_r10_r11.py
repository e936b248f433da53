"""R-10 inflammatory_pattern and R-11 engagement_drop (v2: judged as of now, the high variant)."""

import pytest

from assessments.rules import Firing, evaluate

from .builders import at, criteria, ctx, day, finding, firing, pw, resolved, thigh, wk


def morning(days_ago: int, duration: str, eases: bool | None = True):
    return wk(days_ago, morning_stiffness_duration=duration, stiffness_eases_with_movement=eases)


#


def test_long_morning_stiffness_easing_with_movement_on_three_of_last_four_weeklies_alerts():
    context = ctx(morning(21, "30_60"), morning(14, "lt15", None), morning(7, "60_120"), morning(0, "gt120"))

    f = finding(context, "R-10")

    assert f is not None
    assert (f.severity, f.values["A"]["count"]) == ("routine", 3)
    assert "inflammatory" in f.rationale


@pytest.mark.parametrize(
    "weeklies",
    [
        [("30_60", True), ("lt15", None), ("15_30", None), ("gt120", True)],
        [("30_60", True), ("lt15", None), ("60_120", False), ("gt120", True)],
        [("30_60", True), ("30_60", True), ("lt15", None), ("15_30", None), ("gt120", True)],
    ],
)
def test_morning_stiffness_pattern_not_met_does_not_alert(weeklies):
    n = len(weeklies)
    context = ctx(*(morning(7 * (n - 1 - i), d, e) for i, (d, e) in enumerate(weeklies)))

    assert criteria(context, "R-10") == ()


# R-11 (A) no post_workout for 7 d, (B) exercise days <= 2 twice in a row, (C) 2 weeklies missed.


@pytest.mark.parametrize(("days_ago", "fires"), [(7, True), (6, False)])
def test_no_session_for_seven_days_alerts_when_enrolled(days_ago, fires):
    assert ("A" in criteria(ctx(pw(days_ago), wk(0)), "R-11")) is fires


def test_engagement_is_not_judged_for_a_patient_who_is_not_enrolled():
    assert criteria(ctx(pw(20), wk(30), enrolled=False), "R-11") == ()


def test_engagement_values_are_counts_only():
    f = finding(ctx(pw(9), wk(0)), "R-11")

    assert f is not None
    assert f.values == {"A": {"days_without_session": 9, "last_session_date": day(9).isoformat(), "threshold_days": 7}}
    assert (f.evidence, f.severity) == ((), "routine")


@pytest.mark.parametrize(("days", "fires"), [((2, 2), True), ((0, 1), True), ((3, 2), False), ((2, 3), False)])
def test_few_exercise_days_on_two_weeklies_in_a_row_alerts(days, fires):
    context = ctx(pw(0), wk(7, exercise_days_7d=days[0]), wk(0, exercise_days_7d=days[1]))

    assert (criteria(context, "R-11") == ("B",)) is fires


@pytest.mark.parametrize(("days_ago", "fires"), [(14, True), (13, False)])
def test_no_weekly_for_two_cadences_alerts(days_ago, fires):
    f = finding(ctx(pw(0), wk(days_ago)), "R-11")

    assert (f is not None and f.criteria == ("C",)) is fires


def test_judged_as_of_now_a_back_filled_session_counts_on_the_day_it_occurred():
    # Evaluated as of now (today): the diary entry dated 3 days ago, submitted today, restarts the clock.
    diary = pw(3, submitted_at=at(0, 9))

    assert criteria(ctx(pw(12), wk(1), now=at(0, 12)), "R-11") == ("A",)
    assert criteria(ctx(pw(12), diary, wk(1), now=at(0, 12)), "R-11") == ()


def test_r11_is_never_flagged_reported_late():
    f = finding(ctx(pw(9), wk(8, exercise_days_7d=1), wk(20, exercise_days_7d=1), now=at(0)), "R-11")

    assert f is not None
    assert not f.reported_late


def test_a_resolution_restarts_the_engagement_clock():
    assert criteria(ctx(pw(10), wk(0), resolutions={("R-11", ""): resolved(3, "A")}), "R-11") == ()
    assert criteria(ctx(pw(10), wk(0), suppress_before={("R-11", ""): at(7)}), "R-11") == ("A",)


# R-11 high (v2): an alert raised within the 14 d ending on the last entry.


@pytest.mark.parametrize(("fired_days_ago", "severity"), [(10, "high"), (23, "high"), (24, "routine")])
def test_engagement_drop_after_a_serious_alert_is_high(fired_days_ago, severity):
    # The last entry is 10 days ago: the look-back covers days 10-23 ago.
    context = ctx(pw(10), wk(10), recent_firings=[firing("R-04", fired_days_ago)], today=day(0))

    f = finding(context, "R-11")

    assert f is not None
    assert f.severity == severity
    if severity == "high":
        assert f.values["no_report_since"]["text"] == (
            f"no report since R-04 on {day(fired_days_ago).isoformat()}; contact the patient"
        )
        assert "contacting the patient" in f.rationale
        assert f.criteria == ("A",)


@pytest.mark.parametrize(
    ("rule_id", "severity"), [("R-01", "high"), ("R-06", "high"), ("R-12", "high"), ("R-03", "routine")]
)
def test_only_red_flags_nerve_signs_and_returning_pain_make_it_high(rule_id, severity):
    f = finding(ctx(pw(9), wk(9), recent_firings=[firing(rule_id, 9)]), "R-11")

    assert f is not None
    assert f.severity == severity


def test_the_latest_serious_firing_is_named():
    firings = [firing("R-06", 12), Firing("R-01", day(9), None)]

    f = finding(ctx(pw(9), wk(9), recent_firings=firings), "R-11")

    assert f is not None
    assert (f.values["no_report_since"]["rule_id"], f.values["no_report_since"]["date"]) == ("R-01", day(9).isoformat())


def test_r11_alone_as_of_now_uses_the_callers_firings():
    context = ctx(thigh(9, "left", stretch="worse", below_knee=True), wk(9), now=at(0))

    [alone] = evaluate(context, only={"R-11"})
    everything = [f for f in evaluate(context) if f.rule_id == "R-11"]

    assert alone.severity == "routine"  # the caller did not say R-04 fired
    assert everything[0].severity == "high"  # this evaluation's own R-04 finding counts
