"""R-06 pain_returning: criteria A-E and the "within 6 weeks of progression" flag."""

import pytest

from .builders import criteria, ctx, day, finding, pw, wk


def weekly_pain(*levels: int):
    """Weeklies 7 days apart ending today with the given back_pain_avg_7d."""
    n = len(levels)
    return [wk(7 * (n - 1 - i), back_pain_avg_7d=v) for i, v in enumerate(levels)]


# (A) back_pain_avg_7d >= baseline + 2 (delta max(2, 30% of baseline) when baseline >= 4).


@pytest.mark.parametrize(
    ("baseline_pair", "latest", "fires"),
    [
        ((2, 2), 4, True),
        ((2, 2), 3, False),
        ((1, 2), 4, True),  # baseline 1.5 -> threshold 3.5
        ((1, 2), 3, False),
        ((4, 4), 6, True),  # baseline 4: max(2, 1.2) = 2
        ((4, 4), 5, False),
        ((5, 6), 8, True),  # baseline 5.5: max(2, 1.65) = 2 -> 7.5
        ((5, 6), 7, False),
        ((7, 7), 10, True),  # baseline 7: max(2, 2.1) = 2.1 -> 9.1
        ((7, 7), 9, False),
    ],
)
def test_weekly_back_pain_above_phase_baseline(baseline_pair, latest, fires):
    context = ctx(*weekly_pain(*baseline_pair, latest), phase_since=day(20))

    assert ("A" in criteria(context, "R-06")) is fires


def test_weekly_back_pain_values_report_baseline_and_threshold():
    f = finding(ctx(*weekly_pain(7, 7, 10), phase_since=day(20)), "R-06")

    assert f is not None
    assert f.values["A"]["baseline"]["value"] == 7
    assert f.values["A"]["delta"] == 2.1
    assert f.values["A"]["threshold"] == 9.1
    assert f.values["A"]["latest"]["back_pain_avg_7d"] == 10


def test_weekly_back_pain_is_not_judged_relatively_with_only_two_weeklies():
    assert criteria(ctx(*weekly_pain(1, 7), phase_since=day(10)), "R-06") == ()


def test_weekly_baseline_falls_back_to_the_last_two_weeklies_before_the_transition():
    context = ctx(
        wk(30, back_pain_avg_7d=6),
        wk(20, back_pain_avg_7d=2),
        wk(13, back_pain_avg_7d=2),
        wk(0, back_pain_avg_7d=4),
        phase_since=day(5),
    )

    f = finding(context, "R-06")

    assert f is not None
    assert f.criteria == ("A",)
    assert f.values["A"]["baseline"]["source"] == "before_transition"
    assert f.values["A"]["baseline"]["value"] == 2


# (B) back_pain_during_max >= 6 in 2 of the last 3 sessions.


@pytest.mark.parametrize(("during", "fires"), [((6, 1, 6), True), ((6, 6, 1), True), ((5, 1, 6), False)])
def test_worst_pain_during_workout_six_in_two_of_last_three(during, fires):
    context = ctx(*(pw(3 - i, back_pain_during_max=v) for i, v in enumerate(during)))

    assert (criteria(context, "R-06") == ("B",)) is fires


def test_worst_pain_during_workout_outside_the_last_three_sessions_does_not_count():
    context = ctx(pw(5, back_pain_during_max=7), pw(3, back_pain_during_max=7), pw(2), pw(1), pw(0))

    assert criteria(context, "R-06") == ()


# (C) back_pain_now up >= 2 over the previous session, twice in a row.


@pytest.mark.parametrize(
    ("pains", "fires"),
    [((1, 3, 5), True), ((0, 3, 7), True), ((1, 3, 4), False), ((1, 2, 4), False), ((1, 3, 5, 5), False)],
)
def test_back_pain_after_workout_rising_twice_in_a_row(pains, fires):
    context = ctx(*(pw(len(pains) - i, back_pain_now=v) for i, v in enumerate(pains)))

    assert (criteria(context, "R-06") == ("C",)) is fires


# (D) flare, or `stopped_symptoms` twice in 14 d.


def test_flare_on_the_latest_weekly_alerts():
    f = finding(ctx(wk(7), wk(0, flare_7d=True)), "R-06")

    assert f is not None
    assert f.criteria == ("D",)
    assert f.values["D"]["flare"]["flare_7d"] is True


def test_flare_on_an_earlier_weekly_only_does_not_alert():
    assert criteria(ctx(wk(7, flare_7d=True), wk(0)), "R-06") == ()


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_stopped_for_symptoms_twice_within_fourteen_days_alerts(days_ago, fires):
    context = ctx(pw(days_ago, session_completed="stopped_symptoms"), pw(0, session_completed="stopped_symptoms"))

    assert (criteria(context, "R-06") == ("D",)) is fires


def test_stopped_for_symptoms_once_does_not_alert():
    assert criteria(ctx(pw(2, session_completed="partial"), pw(0, session_completed="stopped_symptoms")), "R-06") == ()


# (E) global_change <= -2.


@pytest.mark.parametrize(("change", "fires"), [(-3, True), (-2, True), (-1, False)])
def test_global_change_much_worse_alerts(change, fires):
    assert (criteria(ctx(wk(0, global_change=change)), "R-06") == ("E",)) is fires


# The progression flag.


@pytest.mark.parametrize(("progressed_days_ago", "flagged"), [(0, True), (41, True), (42, False), (None, False)])
def test_pain_returning_is_flagged_within_six_weeks_of_progression(progressed_days_ago, flagged):
    progression = day(progressed_days_ago) if progressed_days_ago is not None else None
    context = ctx(wk(0, flare_7d=True), phase="stabilization", phase_since=day(41), last_progression_date=progression)

    f = finding(context, "R-06")

    assert f is not None
    assert f.values["within_6_weeks_of_progression"] is flagged
    assert ("Within 6 weeks of progression" in f.rationale) is flagged
    assert "regressing load" in f.rationale
