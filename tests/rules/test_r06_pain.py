"""R-06 pain_returning (v2): A against baselines with min(b + 2, 10), B absolute within 14 d, C-E, the flag."""

import pytest

from .builders import criteria, ctx, day, finding, pw, stabilizing, weekly_series, wk


def weekly_pain(*levels: int):
    return weekly_series("back_pain_avg_7d", *levels)


# (A) back_pain_avg_7d >= min(baseline + 2, 10) and above the baseline.


@pytest.mark.parametrize(
    ("baseline_pair", "latest", "fires"),
    [
        ((2, 2), 4, True),
        ((2, 2), 3, False),
        ((1, 2), 4, True),  # baseline 1.5: 3.5
        ((1, 2), 3, False),
        ((7, 7), 9, True),  # v1 needed 9.1 (the 30% arm)
        ((8, 8), 10, True),  # v1 could never fire from 8
        ((8, 9), 10, True),  # min(10.5, 10) = 10 and 10 > 8.5
        ((9, 9), 10, True),
        ((10, 10), 10, False),  # a flat 10 never fires
    ],
)
def test_weekly_back_pain_above_phase_baseline(baseline_pair, latest, fires):
    context = ctx(*weekly_pain(*baseline_pair, latest), phase_since=day(20))

    assert ("A" in criteria(context, "R-06")) is fires


def test_weekly_back_pain_values_report_baseline_and_threshold():
    f = finding(ctx(*weekly_pain(8, 9, 10), phase_since=day(20)), "R-06")

    assert f is not None
    assert (f.values["A"]["baseline"]["value"], f.values["A"]["threshold"]) == (8.5, 10)
    assert f.values["A"]["latest"]["back_pain_avg_7d"] == 10


def test_the_baseline_weeklies_are_never_judged_against_themselves():
    assert criteria(ctx(*weekly_pain(1, 7), phase_since=day(10)), "R-06") == ()


def test_weekly_baseline_falls_back_to_the_last_two_weeklies_before_the_transition():
    context = ctx(*weekly_series("back_pain_avg_7d", 6, 2, 2, end=13), wk(0, back_pain_avg_7d=4), phase_since=day(5))

    f = finding(context, "R-06")

    assert f is not None
    assert (f.criteria, f.values["A"]["baseline"]["source"], f.values["A"]["baseline"]["value"]) == (
        ("A",),
        "before_transition",
        2,
    )


@pytest.mark.parametrize(("phase_days", "fires"), [(41, True), (42, False)])
def test_pain_is_judged_against_the_pre_transition_baseline_in_the_first_six_weeks(phase_days, fires):
    # Before the transition: 1, 1. The phase settles at 3 (its own baseline 3), which is 2 above before.
    before = weekly_series("back_pain_avg_7d", 1, 1, end=phase_days + 1)
    phase = weekly_series("back_pain_avg_7d", *([3] * (phase_days // 7 + 1)))
    context = ctx(*before, *phase, **stabilizing(phase_days))

    f = finding(context, "R-06")

    assert (f is not None and "A" in f.criteria) is fires
    if f is not None:
        assert f.values["A"]["baseline"]["source"] == "pre_transition"


# (B, v2) back_pain_during_max >= 6 in 2 of the last 3 sessions within 14 d, absolute.


@pytest.mark.parametrize(("during", "fires"), [((6, 1, 6), True), ((6, 6, 1), True), ((5, 1, 6), False)])
def test_worst_pain_during_workout_six_in_two_of_last_three(during, fires):
    context = ctx(*(pw(3 - i, back_pain_during_max=v) for i, v in enumerate(during)))

    assert (criteria(context, "R-06") == ("B",)) is fires


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_worst_pain_during_workout_counts_within_fourteen_days(days_ago, fires):
    context = ctx(pw(days_ago, back_pain_during_max=7), pw(0, back_pain_during_max=7))

    assert (criteria(context, "R-06") == ("B",)) is fires


def test_worst_pain_during_workout_is_judged_against_no_baseline():
    sessions = [pw(30 - i, back_pain_during_max=7) for i in range(3)] + [
        pw(2, back_pain_during_max=7),
        pw(0, back_pain_during_max=6),
    ]

    assert criteria(ctx(*sessions, phase_since=day(31)), "R-06") == ("B",)


# (C) back_pain_now up >= 2 over the previous session, twice in a row.


@pytest.mark.parametrize(
    ("pains", "fires"),
    [((1, 3, 5), True), ((0, 3, 7), True), ((1, 3, 4), False), ((1, 2, 4), False), ((1, 3, 5, 5), False)],
)
def test_back_pain_after_workout_rising_twice_in_a_row(pains, fires):
    context = ctx(*(pw(len(pains) - i, back_pain_now=v) for i, v in enumerate(pains)))

    assert (criteria(context, "R-06") == ("C",)) is fires


# (D) flare, or `stopped_symptoms` twice in 14 d; (E) global change <= -2.


def test_flare_on_the_latest_weekly_alerts_but_not_on_an_earlier_one():
    assert criteria(ctx(wk(7), wk(0, flare_7d=True)), "R-06") == ("D",)
    assert criteria(ctx(wk(7, flare_7d=True), wk(0)), "R-06") == ()


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_stopped_for_symptoms_twice_within_fourteen_days_alerts(days_ago, fires):
    context = ctx(pw(days_ago, session_completed="stopped_symptoms"), pw(0, session_completed="stopped_symptoms"))

    assert (criteria(context, "R-06") == ("D",)) is fires


@pytest.mark.parametrize(("change", "fires"), [(-3, True), (-2, True), (-1, False)])
def test_global_change_much_worse_alerts(change, fires):
    assert (criteria(ctx(wk(0, global_change=change)), "R-06") == ("E",)) is fires


@pytest.mark.parametrize(("progressed_days_ago", "flagged"), [(0, True), (41, True), (42, False), (None, False)])
def test_pain_returning_is_flagged_within_six_weeks_of_progression(progressed_days_ago, flagged):
    progression = day(progressed_days_ago) if progressed_days_ago is not None else None
    context = ctx(wk(0, flare_7d=True), **stabilizing(41), last_progression_date=progression)

    f = finding(context, "R-06")

    assert f is not None
    assert f.values["within_6_weeks_of_progression"] is flagged
    assert ("within 6 weeks of progression" in f.values.get("flags", [])) is flagged
    assert ("Within 6 weeks of progression" in f.rationale) is flagged
    assert "regressing load" in f.rationale
