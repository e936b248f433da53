"""R-03 stiffening_back (v2): criteria A-E, baselines, the pre-transition baseline, the slow creep."""

import pytest

from .builders import criteria, ctx, day, finding, pw, stabilizing, wk


def stiffer(days_ago: int, **answers):
    return pw(days_ago, stiffness_change="stiffer", **answers)


# (A) `stiffer` in >= 2 of the last 3 sessions within 14 d.


def test_stiffer_in_two_of_last_three_sessions_alerts():
    f = finding(ctx(stiffer(4), pw(2), stiffer(0)), "R-03")

    assert f is not None
    assert (f.criteria, f.severity, f.title) == (("A",), "high", "Back stiffening after workouts")
    assert f.values["A"]["count"] == 2
    assert "consider" in f.rationale.lower()
    assert [e.values for e in f.evidence] == [{"stiffness_change": "stiffer"}] * 2


@pytest.mark.parametrize(("days_ago", "fires"), [(13, True), (14, False)])
def test_stiffer_session_counts_only_within_fourteen_days(days_ago, fires):
    assert ("A" in criteria(ctx(stiffer(days_ago), pw(3), stiffer(0)), "R-03")) is fires


def test_stiffer_sessions_older_than_the_last_three_do_not_count():
    assert criteria(ctx(stiffer(8), stiffer(6), pw(4), pw(2), stiffer(0)), "R-03") == ()


# (B) mean back_stiffness_now of the last 3 sessions >= min(baseline + 2, 10) and above it.


def phase_start(*stiffness: int, first: int = 30):
    return [pw(first - i, back_stiffness_now=s) for i, s in enumerate(stiffness)]


@pytest.mark.parametrize(("last", "fires"), [((4, 4, 4), True), ((4, 3, 4), False)])
def test_mean_stiffness_two_above_phase_baseline_alerts(last, fires):
    sessions = [pw(4 - 2 * i, back_stiffness_now=s) for i, s in enumerate(last)]
    context = ctx(*phase_start(2, 3, 2), *sessions, phase_since=day(30))

    f = finding(context, "R-03")

    assert (f is not None and f.criteria == ("B",)) is fires
    if f is not None:
        assert (f.values["B"]["mean"], f.values["B"]["threshold"]) == (4, 4)
        assert f.values["B"]["baseline"]["source"] == "phase"


@pytest.mark.parametrize(("base", "last", "fires"), [(9, 10, True), (10, 10, False), (8, 9, False)])
def test_the_baseline_bar_is_capped_at_ten_and_a_flat_ten_never_fires(base, last, fires):
    context = ctx(
        *phase_start(base, base, base), *[pw(d, back_stiffness_now=last) for d in (4, 2, 0)], phase_since=day(30)
    )

    assert ("B" in criteria(context, "R-03")) is fires


def test_a_flat_ten_never_fires_any_baseline_criterion():
    sessions = [pw(40 - 2 * i, back_stiffness_now=10) for i in range(21)]
    weeklies = [wk(42 - 7 * i, morning_stiffness_level=10, morning_stiffness_duration="gt120") for i in range(7)]

    assert criteria(ctx(*sessions, *weeklies, **stabilizing(20)), "R-03") == ()


def test_without_a_baseline_only_absolute_criteria_apply():
    context = ctx(
        pw(10, back_stiffness_now=0),
        pw(1, back_stiffness_now=9, spine_check="clearly_restricted"),
        pw(0, back_stiffness_now=9, spine_check="clearly_restricted"),
        phase_since=day(5),
    )

    assert criteria(context, "R-03") == ("C",)


def test_the_last_sessions_are_never_judged_against_a_baseline_made_of_themselves():
    context = ctx(
        pw(3, back_stiffness_now=2), pw(2, back_stiffness_now=2), pw(1, back_stiffness_now=8), phase_since=day(5)
    )

    assert finding(context, "R-03") is None


# Pre-transition baseline (v2): the first 6 weeks of stabilization judge against it as well.


def creeping_phase(phase_days: int):
    """Low stiffness before the transition (median 1), then a phase that starts at 3 and stays there."""
    before = [pw(phase_days + 3 - i, back_stiffness_now=1) for i in range(3)]
    after = [pw(phase_days - 1 - 2 * i, back_stiffness_now=3) for i in range(phase_days // 2)]
    return [*before, *after]


@pytest.mark.parametrize(("phase_days", "fires"), [(41, True), (42, False)])
def test_early_worsening_is_judged_against_the_pre_transition_baseline_for_six_weeks(phase_days, fires):
    context = ctx(*creeping_phase(phase_days), **stabilizing(phase_days))

    f = finding(context, "R-03")

    assert (f is not None and "B" in f.criteria) is fires
    if f is not None:
        assert f.values["B"]["baseline"]["source"] == "pre_transition"
        assert [b["source"] for b in f.values["B"]["baselines"]] == ["phase", "pre_transition"]
        assert [b["met"] for b in f.values["B"]["baselines"]] == [False, True]


def test_the_pre_transition_baseline_is_not_used_in_the_treatment_phase():
    assert "B" not in criteria(ctx(*creeping_phase(30), phase="treatment", phase_since=day(30)), "R-03")


# (C) `clearly_restricted` >= 2 times in 7 d.


@pytest.mark.parametrize(("days_ago", "fires"), [(6, True), (7, False)])
def test_clearly_restricted_twice_within_seven_days_alerts(days_ago, fires):
    context = ctx(pw(days_ago, spine_check="clearly_restricted"), pw(0, spine_check="clearly_restricted"))

    assert (criteria(context, "R-03") == ("C",)) is fires


# (D, v2 wording) each of the last 2 weeklies >= 1 category above the baseline category, latest >= 15_30.


def durations(*codes: str, phase_days: int = 30):
    n = len(codes)
    return [wk(7 * (n - 1 - i), morning_stiffness_duration=c) for i, c in enumerate(codes)]


@pytest.mark.parametrize(
    ("codes", "fires"),
    [
        (("lt15", "none", "15_30", "15_30"), True),  # baseline category lt15 (the higher of the two)
        (("lt15", "none", "lt15", "15_30"), False),  # the first of the last 2 is not above
        (("none", "none", "lt15", "lt15"), False),  # above, but the latest is shorter than 15_30
        (("none", "none", "lt15", "15_30"), True),
        (("15_30", "lt15", "30_60", "60_120"), True),
        (("gt120", "gt120", "gt120", "gt120"), False),  # the longest category never fires
    ],
)
def test_morning_stiffness_duration_above_the_baseline_category_on_the_last_two_weeklies(codes, fires):
    context = ctx(*durations(*codes), phase_since=day(25))

    f = finding(context, "R-03")

    assert (f is not None and f.criteria == ("D",)) is fires
    if f is not None:
        duration = f.values["D"]["duration_above_baseline"]
        assert duration["baseline"]["category"] == max(codes[:2], key=["none", "lt15", "15_30"].index)


def test_duration_is_not_judged_on_the_baseline_weeklies_themselves():
    context = ctx(*durations("none", "30_60", "30_60"), phase_since=day(20))

    assert criteria(context, "R-03") == ()


@pytest.mark.parametrize(("level", "fires"), [(5, True), (4, False)])
def test_morning_stiffness_level_two_above_weekly_baseline_alerts(level, fires):
    context = ctx(
        wk(20, morning_stiffness_level=2),
        wk(13, morning_stiffness_level=3),
        wk(0, morning_stiffness_level=level),
        phase_since=day(21),
    )

    f = finding(context, "R-03")

    assert (f is not None and f.criteria == ("D",)) is fires
    if f is not None:
        assert f.values["D"]["level_above_baseline"]["threshold"] == 4.5


def test_morning_stiffness_level_of_a_baseline_weekly_is_not_judged():
    assert (
        criteria(ctx(wk(7, morning_stiffness_level=1), wk(0, morning_stiffness_level=8), phase_since=day(10)), "R-03")
        == ()
    )


# (E, v2) slow creep: 7-day blocks, the last 3 non-empty rising strictly, the last >= baseline + 1.5.


def creep(*block_values: tuple[int, ...], phase_days: int = 60, base=(1, 1, 1)):
    """A phase baseline, then blocks of sessions (oldest block first) ending today."""
    sessions = phase_start(*base, first=phase_days)
    n = len(block_values)
    for i, values in enumerate(block_values):
        end = 7 * (n - 1 - i)
        sessions += [pw(end + 2 * j, back_stiffness_now=v) for j, v in enumerate(reversed(values))]
    return ctx(*sessions, phase_since=day(phase_days))


def test_stiffness_creeping_up_block_on_block_alerts():
    f = finding(creep((1, 2), (2, 2), (3, 2)), "R-03")

    assert f is not None
    assert f.criteria == ("E",)
    assert [b["mean"] for b in f.values["E"]["blocks"]] == [1.5, 2, 2.5]
    assert f.values["E"]["baseline"]["value"] == 1
    assert f.values["E"]["threshold"] == 2.5


@pytest.mark.parametrize(
    ("blocks", "fires"),
    [
        (((1, 2), (2, 2), (2, 2)), False),  # not strictly rising
        (((1, 2), (2, 2), (2, 3)), True),
        (((1, 1), (1, 2), (2, 2)), False),  # rising, but the last block's mean 2 < baseline 1 + 1.5
        (((3, 3), (1, 2), (2, 2), (3, 2)), True),  # only the last 3 blocks are compared
    ],
)
def test_slow_creep_boundaries(blocks, fires):
    assert ("E" in criteria(creep(*blocks), "R-03")) is fires


def test_slow_creep_skips_empty_blocks():
    # Blocks 0, 2 and 4 hold a session each; blocks 1 and 3 are empty and skipped.
    sessions = [*phase_start(1, 1, 1, first=60), *(pw(d, back_stiffness_now=v) for d, v in ((30, 1), (15, 2), (0, 3)))]

    f = finding(ctx(*sessions, phase_since=day(60)), "R-03")

    assert f is not None
    assert f.criteria == ("E",)
    assert [(b["from"], b["to"], b["mean"]) for b in f.values["E"]["blocks"]] == [
        (day(34).isoformat(), day(28).isoformat(), 1),
        (day(20).isoformat(), day(14).isoformat(), 2),
        (day(6).isoformat(), day(0).isoformat(), 3),
    ]


@pytest.mark.parametrize(("oldest", "fires"), [(41, True), (42, False)])
def test_slow_creep_looks_back_at_most_six_blocks(oldest, fires):
    sessions = [
        *phase_start(1, 1, 1, first=70),
        *(pw(d, back_stiffness_now=v) for d, v in ((oldest, 1), (10, 2), (0, 3))),
    ]

    assert (criteria(ctx(*sessions, phase_since=day(70)), "R-03") == ("E",)) is fires


def test_slow_creep_needs_a_baseline():
    # One session before the transition, two after: no baseline from either source.
    sessions = [pw(d, back_stiffness_now=v) for d, v in ((14, 1), (7, 3), (0, 5))]

    assert criteria(ctx(*sessions, phase_since=day(10)), "R-03") == ()


def test_slow_creep_never_judges_the_baseline_sessions_themselves():
    sessions = [pw(d, back_stiffness_now=v) for d, v in ((14, 1), (7, 3), (0, 5))]

    assert criteria(ctx(*sessions, phase_since=day(20)), "R-03") == ()
