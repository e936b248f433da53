"""After a resolution: v1's suppress_before, and v2's Resolution (dated or submitted after; late entries)."""

import pytest

from .builders import at, criteria, ctx, day, findings, pw, resolved, thigh, wk


def stiffer(days_ago: int, hour: int = 18, **answers):
    return pw(days_ago, hour=hour, stiffness_change="stiffer", **answers)


# v1 meaning, kept for keys without a Resolution.


def test_suppress_before_ignores_entries_at_or_before_the_resolution():
    sessions = [stiffer(4), stiffer(2, hour=10)]

    assert criteria(ctx(*sessions), "R-03") == ("A",)
    assert criteria(ctx(*sessions, suppress_before={("R-03", ""): at(2, hour=10)}), "R-03") == ()


def test_suppression_is_per_rule_and_per_qualifier():
    left = thigh(3, "left", stretch="worse", below_knee=True)
    right = thigh(2, "right", stretch="worse", below_knee=True)
    context = ctx(left, right, resolutions={("R-04", "left"): resolved(1, "A")})

    assert [f.qualifier for f in findings(context, "R-04")] == ["right"]


def test_baselines_still_use_entries_before_the_resolution():
    weeklies = [
        wk(35, back_pain_avg_7d=2),
        wk(28, back_pain_avg_7d=2),
        wk(14, back_pain_avg_7d=5),
        wk(0, back_pain_avg_7d=5),
    ]

    context = ctx(*weeklies, phase_since=day(40), resolutions={("R-06", ""): resolved(7, "A")})

    assert criteria(context, "R-06") == ("A",)


# v2: an entry counts when dated or submitted after the resolution.


def test_entries_dated_after_the_resolution_open_a_new_alert():
    context = ctx(stiffer(4), stiffer(2), stiffer(1), stiffer(0), resolutions={("R-03", ""): resolved(2, "A")})

    [f] = findings(context, "R-03")

    assert [e.local_date for e in f.evidence] == [day(1), day(0)]
    assert not f.reported_late


def test_a_late_entry_that_adds_nothing_does_not_reopen_a_resolved_alert():
    late = stiffer(3, submitted_at=at(1))  # dated before the resolution, submitted after it
    context = ctx(stiffer(4), late, stiffer(0), resolutions={("R-03", ""): resolved(2, "A")})

    assert criteria(context, "R-03") == ()


def test_a_late_entry_that_adds_a_criterion_reopens_marked_reported_late():
    late = stiffer(3, spine_check="clearly_restricted", submitted_at=at(1))
    context = ctx(
        stiffer(4), late, pw(0, spine_check="clearly_restricted"), resolutions={("R-03", ""): resolved(2, "A")}
    )

    [f] = findings(context, "R-03")

    assert "C" in f.criteria
    assert f.reported_late
    assert "reported late" in f.values["flags"]


def test_a_late_entry_with_a_worse_value_than_the_resolved_peak_reopens():
    def sessions(level):
        return [
            thigh(5, "left", stretch="worse", below_knee=True, level=4),
            thigh(3, "left", stretch="worse", below_knee=True, level=level, submitted_at=at(1)),
        ]

    resolutions = {("R-04", "left"): resolved(2, "A", "B", thigh_level=4, back_pain_now=3)}

    assert findings(ctx(*sessions(4), resolutions=resolutions), "R-04") == []
    [f] = findings(ctx(*sessions(7), resolutions=resolutions), "R-04")
    assert f.reported_late


def test_a_late_entry_with_a_higher_severity_reopens():
    late = pw(3, neck_symptoms="pain_into_arm", neck_level=2, submitted_at=at(1))
    context = ctx(late, resolutions={("R-05", ""): resolved(2, "C", severity="routine")})

    [f] = findings(context, "R-05")

    assert (f.severity, f.reported_late) == ("high", True)


def test_a_genuinely_new_alert_is_not_lost_to_a_late_entry_in_its_window():
    late = stiffer(3, submitted_at=at(1))
    context = ctx(late, stiffer(1), stiffer(0), resolutions={("R-03", ""): resolved(2, "A")})

    [f] = findings(context, "R-03")

    assert [e.local_date for e in f.evidence] == [day(1), day(0)]
    assert not f.reported_late


# "Reported late": every evidence entry occurred more than 7 days before now.


def test_an_alert_built_only_on_entries_more_than_seven_days_old_says_reported_late():
    sessions = [stiffer(12), stiffer(10, submitted_at=at(0))]

    [late] = findings(ctx(*sessions, today=day(10), as_of=at(10), now=at(0, 19)), "R-03")
    [recent] = findings(ctx(*sessions, today=day(10), as_of=at(10), now=at(3, 17)), "R-03")

    assert late.reported_late
    assert late.rationale.startswith("Reported late")
    assert not recent.reported_late
    assert "flags" not in recent.values


@pytest.mark.parametrize(("minute", "late"), [(0, False), (1, True)])
def test_reported_late_means_more_than_seven_days_before_now(minute, late):
    sessions = [stiffer(9), stiffer(7)]
    now = at(0).replace(minute=minute)

    [f] = findings(ctx(*sessions, today=day(7), as_of=at(7), now=now), "R-03")

    assert f.reported_late is late


def test_without_a_clock_reported_late_counts_calendar_days_before_today():
    [late] = findings(ctx(stiffer(10), stiffer(8), wk(1), pw(1)), "R-03")
    [recent] = findings(ctx(stiffer(9), stiffer(7), wk(1), pw(1)), "R-03")

    assert late.reported_late
    assert not recent.reported_late
