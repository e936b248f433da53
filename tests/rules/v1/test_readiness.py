"""The readiness check treatment -> stabilization: criteria 1-7, each pass / fail / unknown."""

import json

import pytest

from assessments.rules.types import AlertSummary, PatientContext, TherapistRatings
from assessments.rules.v1 import check_readiness

from .builders import ctx, odi, pw, thigh, wk

ALL_CLEAR = TherapistRatings(low_irritability=True, neuro_screen_clear=True, motor_control_clear=True)


def ready_patient(*extra, **kwargs) -> PatientContext:
    """A patient who meets every data criterion: calm weeklies, calm sessions, good function."""
    return ctx(
        wk(7, back_pain_avg_7d=2, psfs_1=7, psfs_2=7, psfs_3=7),
        wk(0, back_pain_avg_7d=3, psfs_1=7, psfs_2=7, psfs_3=7),
        pw(2),
        pw(0),
        *extra,
        **kwargs,
    )


def status(context, number, *, alerts=(), ratings=ALL_CLEAR):
    report = check_readiness(context, unresolved_alerts=alerts, ratings=ratings)
    return report.criteria[number - 1].status


def test_a_ready_patient_passes_every_criterion():
    report = check_readiness(ready_patient(), unresolved_alerts=[], ratings=ALL_CLEAR)

    assert [c.status for c in report.criteria] == ["pass"] * 7
    assert [c.number for c in report.criteria] == [1, 2, 3, 4, 5, 6, 7]
    assert report.all_passed
    assert not report.requires_reason
    assert json.loads(json.dumps(report.to_dict())) == report.to_dict()


def test_not_rated_criteria_are_unknown_and_require_a_reason():
    report = check_readiness(ready_patient(), unresolved_alerts=[], ratings=TherapistRatings())

    assert [c.status for c in report.criteria] == ["pass", "pass", "pass", "pass", "unknown", "unknown", "unknown"]
    assert report.requires_reason


# 1. No unresolved urgent or high alert, no red flag in the last 28 days.


@pytest.mark.parametrize(("severity", "expected"), [("urgent", "fail"), ("high", "fail"), ("routine", "pass")])
def test_unresolved_alert_severity(severity, expected):
    alerts = [AlertSummary(rule_id="R-03", severity=severity)]

    assert status(ready_patient(), 1, alerts=alerts) == expected


@pytest.mark.parametrize(("days_ago", "expected"), [(27, "fail"), (28, "pass")])
def test_red_flag_in_the_last_28_days_fails(days_ago, expected):
    assert status(ready_patient(pw(days_ago, safety_screen=("bladder_change",))), 1) == expected


def test_systemic_flag_fails_and_is_listed():
    report = check_readiness(
        ready_patient(wk(10, systemic_flags=("fall_or_injury",))), unresolved_alerts=[], ratings=ALL_CLEAR
    )

    first = report.criteria[0]
    assert first.status == "fail"
    assert first.values["red_flags"][0]["items"] == ["fall_or_injury"]


# 2. back_pain_avg_7d <= 3 on 2 consecutive weeklies.


@pytest.mark.parametrize(
    ("pains", "expected"),
    [((3, 3), "pass"), ((4, 3), "fail"), ((3, 4), "fail"), ((6, 2, 1), "pass"), ((2,), "unknown")],
)
def test_weekly_back_pain_low_on_two_consecutive_weeklies(pains, expected):
    n = len(pains)
    context = ctx(*(wk(7 * (n - 1 - i), back_pain_avg_7d=v) for i, v in enumerate(pains)))

    assert status(context, 2) == expected


# 3. No flare and global_change >= 0 for 14 days.


@pytest.mark.parametrize(
    ("weeklies", "expected"),
    [
        ([wk(13), wk(6)], "pass"),
        ([wk(13, flare_7d=True), wk(6)], "fail"),
        ([wk(13), wk(6, global_change=-1)], "fail"),
        ([wk(14, flare_7d=True), wk(7), wk(0)], "pass"),
        ([wk(20), wk(6)], "unknown"),
        ([], "unknown"),
    ],
)
def test_no_flare_and_no_worsening_for_fourteen_days(weeklies, expected):
    assert status(ctx(*weeklies), 3) == expected


# 4. Function: a clinician ODI <= 20, or PSFS mean >= 7.


@pytest.mark.parametrize(
    ("weeklies", "scores", "expected"),
    [
        ([], [odi(5, 20)], "pass"),
        ([], [odi(5, 21)], "fail"),
        ([], [odi(30, 10), odi(5, 30)], "fail"),  # the latest ODI counts
        ([wk(0, psfs_1=7, psfs_2=7, psfs_3=7)], [], "pass"),
        ([wk(0, psfs_1=7, psfs_2=7, psfs_3=6)], [], "fail"),
        ([wk(0, psfs_1=5, psfs_2=5, psfs_3=5)], [odi(5, 18)], "pass"),
        ([wk(0, psfs_1=5, psfs_2=5, psfs_3=5)], [odi(5, 7, "PSFS")], "pass"),
        ([], [odi(5, 3, "other")], "unknown"),
        ([], [], "unknown"),
    ],
)
def test_function_criterion(weeklies, scores, expected):
    assert status(ctx(*weeklies, outcome_scores=scores), 4) == expected


# 5 and 7. Therapist ratings.


@pytest.mark.parametrize(("rating", "expected"), [(True, "pass"), (False, "fail"), (None, "unknown")])
def test_therapist_rated_irritability_and_motor_control(rating, expected):
    ratings = TherapistRatings(low_irritability=rating, neuro_screen_clear=True, motor_control_clear=rating)

    assert status(ready_patient(), 5, ratings=ratings) == expected
    assert status(ready_patient(), 7, ratings=ratings) == expected


# 6. No R-04 features in the last 14 days and a clear neurological screen.


@pytest.mark.parametrize(
    ("sessions", "screen", "expected"),
    [
        ([pw(3)], True, "pass"),
        ([pw(3)], False, "fail"),
        ([pw(3)], None, "unknown"),
        ([thigh(13, "left", stretch="worse")], True, "fail"),
        ([thigh(13, "left", stretch="worse")], None, "fail"),
        ([thigh(14, "left", stretch="worse"), pw(2)], True, "pass"),
        ([thigh(3, "both", stretch="worse", below_knee=None, level=8, back_pain_now=1)], True, "pass"),
        ([thigh(3, "right", stretch="eases", level=2, back_pain_now=3)], True, "pass"),
        ([], True, "unknown"),
    ],
)
def test_no_neural_features_and_clear_neurological_screen(sessions, screen, expected):
    ratings = TherapistRatings(low_irritability=True, neuro_screen_clear=screen, motor_control_clear=True)

    assert status(ctx(*sessions), 6, ratings=ratings) == expected
