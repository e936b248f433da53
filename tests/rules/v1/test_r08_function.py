"""R-08 function_decline: PSFS below the phase best, or a clinician ODI above the phase best."""

import pytest

from assessments.rules.v1 import Params

from .builders import criteria, ctx, day, finding, odi, wk


def psfs(days_ago: int, a: int, b: int, c: int):
    return wk(days_ago, psfs_1=a, psfs_2=b, psfs_3=c)


@pytest.mark.parametrize(("latest", "fires"), [((5, 5, 5), True), ((5, 5, 6), False), ((4, 4, 4), True)])
def test_psfs_mean_two_below_the_phase_best_alerts(latest, fires):
    context = ctx(psfs(21, 6, 6, 6), psfs(14, 7, 7, 7), psfs(7, 6, 6, 6), psfs(0, *latest), phase_since=day(25))

    assert (criteria(context, "R-08") == ("A",)) is fires


def test_psfs_decline_values_name_the_phase_best():
    best = psfs(14, 8, 7, 6)
    f = finding(ctx(best, psfs(0, 5, 5, 5), phase_since=day(20)), "R-08")

    assert f is not None
    assert f.severity == "routine"
    assert f.values["A"]["phase_best"] == {"entry_id": best.id, "date": day(14).isoformat(), "mean": 7}
    assert f.values["A"]["latest"]["mean"] == 5
    assert f.values["A"]["drop"] == 2


def test_psfs_best_of_the_previous_phase_does_not_count():
    assert criteria(ctx(psfs(30, 9, 9, 9), psfs(7, 6, 6, 6), psfs(0, 6, 6, 6), phase_since=day(20)), "R-08") == ()


@pytest.mark.parametrize(
    ("best", "latest", "fires"),
    [(20, 30, True), (20, 26, True), (20, 25, False), (40, 50, True), (40, 49, False), (30, 30, False)],
)
def test_clinician_odi_ten_points_or_thirty_percent_above_the_phase_best_alerts(best, latest, fires):
    scores = [odi(40, 12), odi(20, best), odi(0, latest)]

    assert (criteria(ctx(outcome_scores=scores, phase_since=day(30)), "R-08") == ("B",)) is fires


def test_odi_values_and_evidence():
    best, latest = odi(20, 20), odi(0, 30)

    f = finding(ctx(outcome_scores=[latest, best], phase_since=day(30)), "R-08")

    assert f is not None
    assert f.values["B"]["phase_best"] == {"date": day(20).isoformat(), "score": 20}
    assert f.values["B"]["rise"] == 10
    [evidence] = f.evidence
    assert (evidence.kind, evidence.entry_id, evidence.occurred_at) == ("outcome_score", latest.id, None)


def test_odi_percentage_arm_can_be_switched_off():
    context = ctx(outcome_scores=[odi(20, 20), odi(0, 26)], phase_since=day(30))

    assert criteria(context, "R-08", Params(r08_odi_fraction=0)) == ()


def test_odi_improving_does_not_alert():
    assert criteria(ctx(outcome_scores=[odi(20, 40), odi(0, 20)], phase_since=day(30)), "R-08") == ()


def test_other_instruments_are_ignored():
    context = ctx(outcome_scores=[odi(20, 2, "PSFS"), odi(0, 40, "other")], phase_since=day(30))

    assert criteria(context, "R-08") == ()
