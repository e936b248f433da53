"""R-03 stiffening_back: criteria A-D, the phase baseline and its fallback."""

import pytest

from .builders import criteria, ctx, day, finding, pw, wk


def stiffer(days_ago: int, **answers):
    return pw(days_ago, stiffness_change="stiffer", **answers)


# (A) `stiffer` in >= 2 of the last 3 sessions within 14 d.


def test_stiffer_in_two_of_last_three_sessions_alerts():
    f = finding(ctx(stiffer(4), pw(2), stiffer(0)), "R-03")

    assert f is not None
    assert f.criteria == ("A",)
    assert f.severity == "high"
    assert f.title == "Back stiffening after workouts"
    assert "consider" in f.rationale.lower()
    assert f.values["A"]["stiffer"] == 2
    assert [e.values for e in f.evidence] == [{"stiffness_change": "stiffer"}] * 2


def test_stiffer_in_one_of_last_three_sessions_does_not_alert():
    assert criteria(ctx(pw(4), pw(2), stiffer(0)), "R-03") == ()


def test_stiffer_sessions_older_than_the_last_three_do_not_count():
    assert criteria(ctx(stiffer(8), stiffer(6), pw(4), pw(2), stiffer(0)), "R-03") == ()


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False), (15, False)])
def test_stiffer_session_counts_only_within_fourteen_days(days_ago, fires):
    context = ctx(stiffer(days_ago), pw(3), stiffer(0))

    assert ("A" in criteria(context, "R-03")) is fires


# (B) mean back_stiffness_now of the last 3 sessions >= phase baseline + 2.


def phase_start(*stiffness: int):
    """The first sessions of the phase (which began 30 days ago) with the given stiffness."""
    return [pw(30 - i, back_stiffness_now=s) for i, s in enumerate(stiffness)]


def test_mean_stiffness_two_above_phase_baseline_alerts():
    context = ctx(
        *phase_start(2, 3, 2),
        pw(4, back_stiffness_now=4),
        pw(2, back_stiffness_now=4),
        pw(0, back_stiffness_now=4),
        phase_since=day(30),
    )

    f = finding(context, "R-03")

    assert f is not None
    assert f.criteria == ("B",)
    assert f.values["B"]["mean"] == 4
    assert f.values["B"]["baseline"]["value"] == 2
    assert f.values["B"]["baseline"]["source"] == "phase"
    assert f.values["B"]["threshold"] == 4


def test_mean_stiffness_just_under_baseline_plus_two_does_not_alert():
    context = ctx(
        *phase_start(2, 3, 2),
        pw(4, back_stiffness_now=4),
        pw(2, back_stiffness_now=3),
        pw(0, back_stiffness_now=4),
        phase_since=day(30),
    )

    assert criteria(context, "R-03") == ()


def test_baseline_is_the_median_of_the_first_three_sessions_of_the_phase():
    # Median of 1, 9, 1 is 1 (a mean would be 3.67 and hide the rise).
    context = ctx(
        pw(40, back_stiffness_now=8),
        *phase_start(1, 9, 1),
        pw(2, back_stiffness_now=3),
        pw(1, back_stiffness_now=3),
        pw(0, back_stiffness_now=3),
        phase_since=day(30),
    )

    f = finding(context, "R-03")

    assert f is not None
    assert f.values["B"]["baseline"]["value"] == 1


def test_until_the_phase_has_three_sessions_the_last_three_before_the_transition_are_the_baseline():
    before = [
        pw(20, back_stiffness_now=5),
        pw(12, back_stiffness_now=1),
        pw(11, back_stiffness_now=1),
        pw(10, back_stiffness_now=1),
    ]
    context = ctx(*before, pw(1, back_stiffness_now=4), pw(0, back_stiffness_now=4), phase_since=day(5))

    f = finding(context, "R-03")

    assert f is not None
    assert f.criteria == ("B",)
    baseline = f.values["B"]["baseline"]
    assert baseline["source"] == "before_transition"
    assert baseline["value"] == 1
    assert baseline["entry_ids"] == [e.id for e in before[1:]]


def test_too_few_sessions_for_a_baseline_only_absolute_criteria_apply():
    # One session before the transition and two after: no complete baseline (sources are not mixed), so the
    # large stiffness rise is not judged relatively, while the absolute criterion C still fires.
    context = ctx(
        pw(10, back_stiffness_now=0),
        pw(1, back_stiffness_now=9, spine_check="clearly_restricted"),
        pw(0, back_stiffness_now=9, spine_check="clearly_restricted"),
        phase_since=day(5),
    )

    assert criteria(context, "R-03") == ("C",)


# (C) `clearly_restricted` >= 2 times in 7 d.


@pytest.mark.parametrize(("days_ago", "fires"), [(6, True), (7, False)])
def test_clearly_restricted_twice_within_seven_days_alerts(days_ago, fires):
    context = ctx(pw(days_ago, spine_check="clearly_restricted"), pw(0, spine_check="clearly_restricted"))

    assert (criteria(context, "R-03") == ("C",)) is fires


def test_clearly_restricted_once_and_slightly_restricted_once_does_not_alert():
    context = ctx(pw(2, spine_check="slightly_restricted"), pw(0, spine_check="clearly_restricted"))

    assert criteria(context, "R-03") == ()


# (D) morning stiffness duration up on 2 consecutive weeklies, or level >= weekly baseline + 2.


def test_morning_stiffness_duration_rising_on_two_consecutive_weeklies_alerts():
    context = ctx(
        wk(14, morning_stiffness_duration="lt15"),
        wk(7, morning_stiffness_duration="15_30"),
        wk(0, morning_stiffness_duration="30_60"),
    )

    f = finding(context, "R-03")

    assert f is not None
    assert f.criteria == ("D",)
    assert [p["morning_stiffness_duration"] for p in f.values["D"]["duration_rising"]["series"]] == [
        "lt15",
        "15_30",
        "30_60",
    ]


@pytest.mark.parametrize(
    "durations",
    [("lt15", "15_30", "15_30"), ("15_30", "15_30", "30_60"), ("30_60", "15_30", "30_60")],
)
def test_morning_stiffness_duration_not_rising_twice_in_a_row_does_not_alert(durations):
    context = ctx(*(wk(7 * (2 - i), morning_stiffness_duration=d) for i, d in enumerate(durations)))

    assert criteria(context, "R-03") == ()


def test_a_single_duration_rise_does_not_alert():
    context = ctx(wk(7, morning_stiffness_duration="none"), wk(0, morning_stiffness_duration="gt120"))

    assert criteria(context, "R-03") == ()


@pytest.mark.parametrize(("level", "fires"), [(5, True), (4, False)])
def test_morning_stiffness_level_two_above_weekly_baseline_alerts(level, fires):
    # Weekly baseline: mean of the first 2 weeklies of the phase = 2.5; threshold 4.5.
    context = ctx(
        wk(20, morning_stiffness_level=2),
        wk(13, morning_stiffness_level=3),
        wk(6, morning_stiffness_level=2),
        wk(0, morning_stiffness_level=level),
        phase_since=day(21),
    )

    f = finding(context, "R-03")

    assert (f is not None and f.criteria == ("D",)) is fires
    if f is not None:
        assert f.values["D"]["level_above_baseline"]["threshold"] == 4.5


def test_morning_stiffness_level_is_not_compared_with_a_baseline_made_of_itself():
    # Only the 2 baseline weeklies exist: fewer than 3 entries, so the relative criterion does not apply.
    context = ctx(wk(7, morning_stiffness_level=1), wk(0, morning_stiffness_level=8), phase_since=day(10))

    assert criteria(context, "R-03") == ()


def test_several_criteria_are_reported_together_with_merged_evidence():
    context = ctx(stiffer(2, spine_check="clearly_restricted"), pw(1), stiffer(0, spine_check="clearly_restricted"))

    f = finding(context, "R-03")

    assert f is not None
    assert f.criteria == ("A", "C")
    assert [e.values for e in f.evidence] == [{"stiffness_change": "stiffer", "spine_check": "clearly_restricted"}] * 2


def test_the_last_sessions_are_never_compared_with_a_baseline_made_of_themselves():
    # Exactly three sessions in the phase: they are the baseline, so there is nothing after it to compare.
    context = ctx(
        pw(3, back_stiffness_now=2), pw(2, back_stiffness_now=2), pw(1, back_stiffness_now=8), phase_since=day(5)
    )
    assert finding(context, "R-03") is None


def test_right_after_the_transition_sessions_before_it_are_not_compared_with_themselves():
    before = [pw(12, back_stiffness_now=1), pw(11, back_stiffness_now=1), pw(10, back_stiffness_now=9)]
    assert finding(ctx(*before, phase_since=day(5)), "R-03") is None
