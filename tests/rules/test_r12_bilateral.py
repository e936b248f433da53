"""R-12 bilateral_leg_symptoms (new in v2): `both`, `alternating`, `weekly_leg_pain`, and exercise soreness."""

import pytest

from .builders import ctx, day, findings, pw, stabilizing, thigh, weekly_series


def r12(context):
    return {f.qualifier: f for f in findings(context, "R-12")}


def both(days_ago, **kwargs):
    kwargs.setdefault("back_pain_now", 1)
    return thigh(days_ago, "both", **kwargs)


# The exercise-soreness pattern stays quiet.


def test_symmetric_soreness_that_eases_and_fades_stays_quiet():
    sessions = [both(4, level=6, stretch="eases"), both(2, level=4, stretch="eases"), both(0, level=2, stretch="eases")]

    assert findings(ctx(*sessions), "R-04") == findings(ctx(*sessions), "R-12") == []


def test_a_rise_that_eases_and_stays_low_is_exercise_soreness():
    sessions = [both(4, level=1, stretch="eases"), both(2, level=2, stretch="eases"), both(0, level=3, stretch="eases")]

    assert r12(ctx(*sessions)) == {}


# `both` (A) nerve signs once, (B) stretch not easing in 2 of the last 3 within 14 d, (C) rising.


@pytest.mark.parametrize("signs", [{"below_knee": True}, {"qualities": ("numbness",)}])
def test_both_legs_with_nerve_signs_once_alerts_with_a_call_today(signs):
    f = r12(ctx(both(0, stretch="eases", **signs)))["both"]

    assert (f.criteria, f.severity, f.title) == (("A",), "high", "Leg symptoms in both legs")
    assert "phoning the patient today" in f.rationale
    assert "safety screen item by item" in f.action


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_both_legs_nerve_signs_count_within_fourteen_days(days_ago, fires):
    assert ("both" in r12(ctx(both(days_ago, below_knee=True), pw(0)))) is fires


@pytest.mark.parametrize(
    ("stretches", "fires"), [(("worse", "eases", "no_change"), True), (("worse", "eases", "eases"), False)]
)
def test_both_legs_not_eased_by_stretch_in_two_of_the_last_three(stretches, fires):
    sessions = [both(4 - 2 * i, stretch=s) for i, s in enumerate(stretches)]

    f = r12(ctx(*sessions)).get("both")

    assert (f is not None and f.criteria == ("B",)) is fires
    if f is not None:
        assert "central disc or stenosis" in f.rationale
        assert "phoning" not in f.rationale


@pytest.mark.parametrize(
    ("levels", "stretch", "fires"),
    [
        ((2, 3, 4), "eases", True),  # the latest reaches 4
        ((1, 2, 3), "no_change", True),  # not eased by stretching
        ((1, 2, 3), "eases", False),  # eases and stays low
        ((2, 5, 4), "no_change", False),  # not rising throughout
        ((3, 3, 4), "no_change", False),  # a rise of 1
    ],
)
def test_both_legs_level_rising_over_three_consecutive_sessions(levels, stretch, fires):
    sessions = [both(4 - 2 * i, level=v, stretch=stretch if i == 2 else "eases") for i, v in enumerate(levels)]

    f = r12(ctx(*sessions)).get("both")

    assert (f is not None and "C" in f.criteria) is fires


def test_a_rise_broken_by_another_session_is_not_three_consecutive():
    sessions = [both(6, level=2), both(4, level=3), pw(2), both(0, level=5, stretch="no_change")]

    assert "C" not in getattr(r12(ctx(*sessions)).get("both"), "criteria", ())


# `alternating` (D): left and right each with a neural feature, >= 3 such reports in 21 d.


@pytest.mark.parametrize(("oldest", "fires"), [(20, True), (21, False)])
def test_alternating_sides_with_neural_features_three_times_in_21_days(oldest, fires):
    sessions = [
        thigh(oldest, "left", stretch="worse"),
        thigh(10, "right", stretch="no_change"),
        thigh(0, "left", below_knee=True),
    ]

    f = r12(ctx(*sessions)).get("alternating")

    assert (f is not None) is fires
    if f is not None:
        assert (f.criteria, f.severity, f.title) == (("D",), "high", "Leg nerve signs on alternating sides")
        assert "safety screen item by item" in f.rationale
        assert [p["thigh_symptoms"] for p in f.values["D"]["series"]] == ["left", "right", "left"]


def test_three_reports_on_one_side_are_not_alternating():
    sessions = [thigh(d, "left", stretch="worse") for d in (10, 5, 0)]

    assert "alternating" not in r12(ctx(*sessions))


def test_alternating_reports_need_a_neural_feature_each():
    sessions = [
        thigh(10, "left", stretch="worse"),
        thigh(5, "right", stretch="eases"),
        thigh(0, "left", stretch="worse"),
    ]

    assert "alternating" not in r12(ctx(*sessions))


# `weekly_leg_pain` (E) >= 5 once, (F) >= baseline + 2 and >= 3 on 2 consecutive weeklies.


@pytest.mark.parametrize(("level", "fires"), [(5, True), (4, False)])
def test_weekly_leg_pain_five_once_alerts_as_leg_pain_rising(level, fires):
    f = r12(ctx(*weekly_series("leg_pain_avg_7d", 0, level))).get("weekly_leg_pain")

    assert (f is not None) is fires
    if f is not None:
        assert (f.criteria, f.title) == (("E",), "Leg pain rising")
        assert "neurological screen" in f.rationale


@pytest.mark.parametrize(
    ("levels", "fires"),
    [
        ((0, 1, 3, 3), True),  # baseline 0.5, threshold 2.5, and >= 3
        ((0, 0, 2, 2), False),  # 2 above, but below 3
        ((0, 1, 3, 2), False),  # only the latest
        ((1, 2, 2, 3), False),  # 2 is not >= 3.5
        ((4, 4, 4, 4), False),  # flat
    ],
)
def test_weekly_leg_pain_two_above_the_baseline_and_three_on_two_consecutive_weeklies(levels, fires):
    f = r12(ctx(*weekly_series("leg_pain_avg_7d", *levels), phase_since=day(25))).get("weekly_leg_pain")

    assert (f is not None and f.criteria == ("F",)) is fires


def test_weekly_leg_pain_is_judged_against_the_pre_transition_baseline_early_in_stabilization():
    # In the phase: 3, 3, 3, 3 (its own baseline 3); before it: 0, 1.
    weeklies = [*weekly_series("leg_pain_avg_7d", 0, 1, end=29), *weekly_series("leg_pain_avg_7d", 3, 3, 3, 3)]

    assert "weekly_leg_pain" in r12(ctx(*weeklies, **stabilizing(25)))
    assert "weekly_leg_pain" not in r12(ctx(*weeklies, phase="treatment", phase_since=day(25)))
