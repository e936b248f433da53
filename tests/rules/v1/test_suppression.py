"""suppress_before: after an alert is resolved, only entries after the resolution may open a new one."""

from .builders import at, criteria, ctx, day, findings, pw, thigh, wk


def stiffer(days_ago: int, hour: int = 18):
    return pw(days_ago, hour=hour, stiffness_change="stiffer")


def test_entries_at_or_before_the_resolution_do_not_reopen_the_alert():
    sessions = [stiffer(4), stiffer(2, hour=10)]
    resolved_at_second = {("R-03", ""): at(2, hour=10)}

    assert criteria(ctx(*sessions), "R-03") == ("A",)
    assert criteria(ctx(*sessions, suppress_before=resolved_at_second), "R-03") == ()


def test_one_new_entry_after_the_resolution_is_not_enough_on_its_own():
    context = ctx(stiffer(4), stiffer(2), stiffer(0), suppress_before={("R-03", ""): at(1)})

    assert criteria(context, "R-03") == ()


def test_new_entries_after_the_resolution_open_a_new_alert():
    context = ctx(stiffer(4), stiffer(2), stiffer(1), stiffer(0), suppress_before={("R-03", ""): at(2)})

    [f] = findings(context, "R-03")

    assert [e.local_date for e in f.evidence] == [day(1), day(0)]


def test_suppression_is_per_rule():
    context = ctx(
        stiffer(2, hour=10),
        stiffer(0),
        pw(1, back_pain_during_max=7),
        pw(0, back_pain_during_max=7),
        suppress_before={("R-03", ""): at(0, hour=23)},
    )

    assert criteria(context, "R-03") == ()
    assert criteria(context, "R-06") == ("B",)


def test_suppression_is_per_qualifier():
    left = [thigh(3, "left", stretch="worse", below_knee=True)]
    right = [thigh(2, "right", stretch="worse", below_knee=True)]
    context = ctx(*left, *right, suppress_before={("R-04", "left"): at(1)})

    assert [f.qualifier for f in findings(context, "R-04")] == ["right"]


def test_baseline_still_uses_entries_before_the_resolution():
    # The baseline is a reference value, not evidence: resolving R-06 does not move it.
    weeklies = [
        wk(35, back_pain_avg_7d=2),
        wk(28, back_pain_avg_7d=2),
        wk(14, back_pain_avg_7d=5),
        wk(0, back_pain_avg_7d=5),
    ]
    context = ctx(*weeklies, phase_since=day(40), suppress_before={("R-06", ""): at(7)})

    assert criteria(context, "R-06") == ("A",)


def test_resolution_restarts_the_engagement_clock():
    context = ctx(pw(10), wk(0), suppress_before={("R-11", ""): at(3)})

    assert criteria(context, "R-11") == ()
    assert criteria(ctx(pw(10), wk(0), suppress_before={("R-11", ""): at(7)}), "R-11") == ("A",)
