"""R-07 phase_review: >= 2 distinct rules of R-03..R-06 within 14 d during stabilization."""

import pytest

from assessments.rules.types import Firing

from .builders import at, ctx, day, finding, pw, wk

STABILIZING = {"phase": "stabilization", "phase_since": day(30)}


def flare_now():
    """A weekly that makes R-06 fire in this run."""
    return wk(0, flare_7d=True)


def test_earlier_firing_plus_this_runs_finding_of_another_rule_alerts():
    context = ctx(flare_now(), recent_firings=[Firing("R-03", day(5))], **STABILIZING)

    f = finding(context, "R-07")

    assert f is not None
    assert f.severity == "high"
    assert f.values["rules"] == ["R-03", "R-06"]
    assert f.values["firings"] == [
        {"rule_id": "R-03", "date": day(5).isoformat()},
        {"rule_id": "R-06", "date": day(0).isoformat()},
    ]
    assert "treatment phase" in f.rationale


def test_two_distinct_recent_firings_alert_without_a_finding_in_this_run():
    context = ctx(recent_firings=[Firing("R-04", day(3)), Firing("R-05", day(1))], **STABILIZING)

    assert finding(context, "R-07") is not None


def test_two_findings_of_this_run_alert():
    context = ctx(
        flare_now(), pw(2, spine_check="clearly_restricted"), pw(0, spine_check="clearly_restricted"), **STABILIZING
    )

    f = finding(context, "R-07")

    assert f is not None
    assert f.values["rules"] == ["R-03", "R-06"]


def test_the_same_rule_twice_does_not_alert():
    context = ctx(flare_now(), recent_firings=[Firing("R-06", day(9)), Firing("R-06", day(2))], **STABILIZING)

    assert finding(context, "R-07") is None


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_firings_count_only_within_fourteen_days(days_ago, fires):
    context = ctx(flare_now(), recent_firings=[Firing("R-05", day(days_ago))], **STABILIZING)

    assert (finding(context, "R-07") is not None) is fires


@pytest.mark.parametrize("phase", ["treatment", "maintenance"])
def test_outside_the_stabilization_phase_does_not_alert(phase):
    context = ctx(flare_now(), recent_firings=[Firing("R-03", day(5))], phase=phase, phase_since=day(30))

    assert finding(context, "R-07") is None


def test_firings_before_entering_stabilization_do_not_count():
    context = ctx(flare_now(), recent_firings=[Firing("R-03", day(5))], phase="stabilization", phase_since=day(4))

    assert finding(context, "R-07") is None


def test_other_rules_do_not_count():
    context = ctx(flare_now(), recent_firings=[Firing("R-01", day(2)), Firing("R-11", day(2))], **STABILIZING)

    assert finding(context, "R-07") is None


def test_firings_at_or_before_the_resolution_of_a_phase_review_are_ignored():
    firings = [Firing("R-03", day(5), at(5)), Firing("R-04", day(4), at(4, hour=9))]
    resolved = {("R-07", ""): at(4, hour=9)}

    assert finding(ctx(flare_now(), recent_firings=firings, suppress_before=resolved, **STABILIZING), "R-07") is None
    later = [*firings, Firing("R-05", day(2), at(2))]
    f = finding(ctx(flare_now(), recent_firings=later, suppress_before=resolved, **STABILIZING), "R-07")
    assert f is not None
    assert f.values["rules"] == ["R-05", "R-06"]


def test_firings_without_an_instant_are_suppressed_by_the_resolution_day():
    firings = [Firing("R-03", day(4)), Firing("R-04", day(3))]
    resolved = {("R-07", ""): at(4, hour=9)}

    f = finding(ctx(recent_firings=firings, suppress_before=resolved, **STABILIZING), "R-07")

    assert f is None
