"""R-08 function_decline (v2): PSFS best of 2 consecutive weeklies and 2 drops, ODI points only, the PEG arm."""

import pytest

from .builders import criteria, ctx, day, finding, odi, weekly_series, wk


def psfs(*scores: int):
    """Weeklies 7 days apart ending today with all three PSFS items at the given score."""
    n = len(scores)
    return [wk(7 * (n - 1 - i), psfs_1=s, psfs_2=s, psfs_3=s) for i, s in enumerate(scores)]


# (A) PSFS 2 below the phase best (best mean of 2 consecutive weeklies) on 2 consecutive weeklies.


@pytest.mark.parametrize(
    ("scores", "fires"),
    [
        ((7, 7, 5, 5), True),
        ((7, 7, 5, 6), False),  # only the latest dropped by 1
        ((7, 7, 7, 5), False),  # one drop is not two
        ((6, 9, 6, 6, 6), False),  # one lucky week (9) is not the reference: best pair 7.5
        ((6, 9, 6, 5, 5), True),
        ((8, 8, 6, 6), True),
    ],
)
def test_psfs_two_below_the_phase_best_on_two_consecutive_weeklies(scores, fires):
    assert (criteria(ctx(*psfs(*scores), phase_since=day(40)), "R-08") == ("A",)) is fires


def test_psfs_decline_values_name_the_phase_best_and_the_drop():
    weeklies = psfs(8, 7, 5, 5)

    f = finding(ctx(*weeklies, phase_since=day(40)), "R-08")

    assert f is not None
    assert f.values["A"]["phase_best"]["mean"] == 7.5
    assert [p["entry_id"] for p in f.values["A"]["phase_best"]["weeklies"]] == [weeklies[0].id, weeklies[1].id]
    assert [p["psfs_score"] for p in f.values["A"]["series"]] == [5, 5]
    assert [e.values["psfs_drop"] for e in f.evidence] == [2.5, 2.5]


def test_psfs_best_of_the_previous_phase_does_not_count():
    assert criteria(ctx(*psfs(9, 9, 6, 6), phase_since=day(10)), "R-08") == ()


# (B) a clinician ODI >= 10 points above the phase best (v2: no 30% arm).


@pytest.mark.parametrize(
    ("best", "latest", "fires"), [(20, 30, True), (20, 29, False), (40, 50, True), (30, 30, False)]
)
def test_clinician_odi_ten_points_above_the_phase_best_alerts(best, latest, fires):
    scores = [odi(40, 12), odi(20, best), odi(0, latest)]

    assert (criteria(ctx(outcome_scores=scores, phase_since=day(30)), "R-08") == ("B",)) is fires


def test_an_odi_rise_of_six_stays_quiet():
    # v1 fired here (30% of 20); it is below the ODI's minimal detectable change.
    assert criteria(ctx(outcome_scores=[odi(20, 20), odi(0, 26)], phase_since=day(30)), "R-08") == ()


def test_odi_values_and_evidence():
    best, latest = odi(20, 20), odi(0, 30)

    f = finding(ctx(outcome_scores=[latest, best], phase_since=day(30)), "R-08")

    assert f is not None
    assert (f.values["B"]["phase_best"], f.values["B"]["rise"]) == ({"date": day(20).isoformat(), "score": 20}, 10)
    [evidence] = f.evidence
    assert (evidence.kind, evidence.entry_id, evidence.occurred_at) == ("outcome_score", latest.id, None)


# (C, v2) the PEG score >= 2 above the phase best on 2 consecutive weeklies.


def peg(*scores: int):
    return weekly_series("peg_pain", *scores, peg_enjoyment=0, peg_activity=0)


@pytest.mark.parametrize(
    ("pains", "fires"),
    [
        ((3, 9, 9), True),  # PEG 1, 3, 3: 2 above the best on both
        ((3, 9, 6), False),  # PEG 1, 3, 2
        ((3, 3, 9), False),  # one rise is not two
        ((9, 9, 9), False),
    ],
)
def test_peg_two_above_the_phase_best_on_two_consecutive_weeklies(pains, fires):
    assert (criteria(ctx(*peg(*pains), phase_since=day(20)), "R-08") == ("C",)) is fires


def test_peg_values_show_the_scores():
    f = finding(ctx(*peg(3, 9, 9), phase_since=day(20)), "R-08")

    assert f is not None
    assert [p["peg_score"] for p in f.values["C"]["series"]] == [3, 3]
    assert f.values["C"]["phase_best"]["peg_score"] == 1
    assert f.severity == "routine"
