"""R-07 phase_review (v2): >= 2 distinct rules of R-03..R-06 or R-12 opened or given new evidence within 14 d."""

import pytest

from assessments.rules import Firing

from .builders import at, ctx, day, finding, firing, pw, resolved, stabilizing, thigh, wk

STABILIZING = stabilizing(30)


def flare_now():
    """A weekly that makes R-06 fire in this run."""
    return wk(0, flare_7d=True)


def test_earlier_firing_plus_this_runs_finding_of_another_rule_alerts():
    f = finding(ctx(flare_now(), recent_firings=[firing("R-03", 5)], **STABILIZING), "R-07")

    assert f is not None
    assert (f.severity, f.values["rules"]) == ("high", ["R-03", "R-06"])
    assert f.values["firings"] == [
        {"rule_id": "R-03", "date": day(5).isoformat()},
        {"rule_id": "R-06", "date": day(0).isoformat()},
    ]
    assert "treatment phase" in f.rationale


def test_r12_counts_as_a_warning_rule():
    both_legs = thigh(0, "both", below_knee=True, back_pain_now=1)

    f = finding(ctx(both_legs, recent_firings=[firing("R-05", 3)], **STABILIZING), "R-07")

    assert f is not None
    assert f.values["rules"] == ["R-05", "R-12"]


def test_two_distinct_firings_given_new_evidence_recently_alert():
    assert finding(ctx(recent_firings=[firing("R-04", 3), firing("R-12", 1)], **STABILIZING), "R-07") is not None


def test_the_same_rule_twice_does_not_alert():
    context = ctx(flare_now(), recent_firings=[firing("R-06", 9), firing("R-06", 2)], **STABILIZING)

    assert finding(context, "R-07") is None


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_firings_count_only_within_fourteen_days(days_ago, fires):
    context = ctx(flare_now(), recent_firings=[firing("R-05", days_ago)], **STABILIZING)

    assert (finding(context, "R-07") is not None) is fires


def test_this_runs_finding_counts_on_the_date_of_its_newest_evidence():
    # R-06 E re-found from a weekly 20 days old is no new evidence within the window.
    old = ctx(wk(20, global_change=-3), pw(1), recent_firings=[firing("R-05", 3)], **STABILIZING)
    fresh = ctx(wk(2, global_change=-3), pw(1), recent_firings=[firing("R-05", 3)], **STABILIZING)

    assert finding(old, "R-07") is None
    assert finding(fresh, "R-07") is not None


@pytest.mark.parametrize("phase", ["treatment", "maintenance"])
def test_outside_the_stabilization_phase_does_not_alert(phase):
    context = ctx(flare_now(), recent_firings=[firing("R-03", 5)], phase=phase, phase_since=day(30))

    assert finding(context, "R-07") is None


def test_firings_before_entering_stabilization_do_not_count():
    assert finding(ctx(flare_now(), recent_firings=[firing("R-03", 5)], **stabilizing(4)), "R-07") is None


def test_other_rules_do_not_count():
    context = ctx(flare_now(), recent_firings=[firing("R-01", 2), firing("R-11", 2)], **STABILIZING)

    assert finding(context, "R-07") is None


def test_firings_at_or_before_the_resolution_of_a_phase_review_are_ignored():
    firings = [Firing("R-03", day(5), at(5)), Firing("R-04", day(4), at(4, hour=9))]
    resolutions = {("R-07", ""): resolved(4, "A", hour=9)}

    assert finding(ctx(flare_now(), recent_firings=firings, resolutions=resolutions, **STABILIZING), "R-07") is None
    later = [*firings, Firing("R-05", day(2), at(2))]
    f = finding(ctx(flare_now(), recent_firings=later, resolutions=resolutions, **STABILIZING), "R-07")
    assert f is not None
    assert f.values["rules"] == ["R-05", "R-06"]


def test_firings_without_an_instant_are_suppressed_by_the_resolution_day():
    firings = [Firing("R-03", day(4)), Firing("R-04", day(3))]

    assert (
        finding(ctx(recent_firings=firings, suppress_before={("R-07", ""): at(4, hour=9)}, **STABILIZING), "R-07")
        is None
    )
