"""The shared pieces: v2 scores on the types, the windowed-count helper, the baseline helper, R-03 E's blocks."""

import pytest

from assessments.rules import DEFAULT_PARAMS, SAFETY_SCREEN, PatientContext
from assessments.rules.baselines import above, below, find_baselines, judge_relative, threshold
from assessments.rules.stiffness import blocks
from assessments.rules.windows import consecutive, windowed

from .builders import TODAY, at, day, pw, wk


def test_the_safety_screen_gains_sexual_dysfunction_in_rules_md_order():
    assert SAFETY_SCREEN == (
        "saddle_numbness",
        "bladder_change",
        "bowel_change",
        "sexual_dysfunction",
        "both_legs_numb_or_weak",
        "foot_drop_or_leg_weakness",
    )


@pytest.mark.parametrize(
    ("items", "score"), [((7, 7, 7), 7.0), ((7, 7, 6), 6.7), ((1, 1, 2), 1.3), ((0, 0, 0), 0.0), ((10, 9, 9), 9.3)]
)
def test_peg_and_psfs_scores_are_the_mean_of_three_items_to_one_decimal(items, score):
    weekly = wk(0, peg_pain=items[0], peg_enjoyment=items[1], peg_activity=items[2], psfs_1=items[0])
    weekly_psfs = wk(0, psfs_1=items[0], psfs_2=items[1], psfs_3=items[2])

    assert weekly.peg_score == score
    assert weekly_psfs.psfs_score == score


def test_new_fields_default_so_existing_callers_keep_working():
    session, weekly = pw(0), wk(0)
    context = PatientContext(phase="treatment", phase_since=day(10), today=TODAY)

    assert (session.safety_screen_unchanged, session.submitted_at, session.submitted) == ((), None, at(0))
    assert (weekly.safety_screen, weekly.safety_screen_unchanged, weekly.submitted_at) == ((), (), None)
    assert (context.as_of, context.now, context.red_flag_reports, context.fracture_risk) == (None, None, (), False)
    assert dict(context.stable_items) == {}
    assert dict(context.resolutions) == {}


# windows.windowed: "k of the last n within d days".


def stiff(days_ago):
    return pw(days_ago, stiffness_change="stiffer")


def is_stiffer(e):
    return e.stiffness_change == "stiffer"


def test_windowed_takes_the_last_n_then_drops_those_outside_the_window():
    entries = [stiff(20), stiff(15), pw(3), stiff(0)]

    w = windowed(entries, TODAY, k=2, of_last=3, days=14, where=is_stiffer)

    assert [e.local_date for e in w.judged] == [day(3), day(0)]
    assert (len(w.hits), w.met) == (1, False)
    assert w.describe() == {"count": 1, "required": 2, "of_last": 3, "window_days": 14}


@pytest.mark.parametrize(("days_ago", "met"), [(13, True), (14, False)])
def test_a_window_of_n_days_holds_today_and_the_n_minus_1_days_before(days_ago, met):
    assert windowed([stiff(days_ago), stiff(0)], TODAY, k=2, days=14, where=is_stiffer).met is met


def test_consecutive_needs_n_entries_all_matching():
    assert consecutive([stiff(2), stiff(1)], 3, is_stiffer) is None
    assert consecutive([stiff(3), pw(2), stiff(1), stiff(0)], 3, is_stiffer) is None
    run = consecutive([pw(3), stiff(2), stiff(1), stiff(0)], 3, is_stiffer)
    assert run is not None
    assert [e.local_date for e in run.hits] == [day(2), day(1), day(0)]


# baselines


def sessions(*days_ago):
    return sorted((pw(d) for d in days_ago), key=lambda e: e.local_date)


def test_phase_baseline_is_the_first_sessions_of_the_phase():
    entries = sessions(20, 19, 18, 9, 8, 7, 1)

    [base] = find_baselines(entries, day(10), 3, with_pre_transition=False)

    assert (base.source, [e.local_date for e in base.entries]) == ("phase", [day(9), day(8), day(7)])


def test_until_the_phase_has_enough_the_baseline_is_the_last_before_the_transition():
    entries = sessions(20, 19, 18, 17, 9, 8)

    [base] = find_baselines(entries, day(10), 3, with_pre_transition=True)

    assert (base.source, [e.local_date for e in base.entries]) == ("before_transition", [day(19), day(18), day(17)])


def test_the_pre_transition_baseline_is_judged_as_well_when_asked():
    entries = sessions(20, 19, 18, 9, 8, 7)

    phase, pre = find_baselines(entries, day(10), 3, with_pre_transition=True)

    assert (phase.source, pre.source) == ("phase", "pre_transition")
    assert [e.local_date for e in pre.entries] == [day(20), day(19), day(18)]


def test_no_baseline_without_enough_entries_in_either_source():
    assert find_baselines(sessions(20, 19, 9, 8), day(10), 3, with_pre_transition=True) == ()


@pytest.mark.parametrize(
    ("value", "base", "fires"),
    [(4, 2, True), (3.9, 2, False), (10, 8.5, True), (10, 9, True), (10, 10, False), (9.5, 9, False)],
)
def test_baseline_plus_n_is_at_least_min_of_baseline_plus_n_and_10_and_above_the_baseline(value, base, fires):
    assert above(value, base, 2) is fires
    assert threshold(9, 2) == 10


@pytest.mark.parametrize(("value", "best", "fires"), [(5, 7, True), (5.1, 7, False), (0, 1, True), (0, 0, False)])
def test_below_mirrors_above(value, best, fires):
    assert below(value, best, 2) is fires


def test_a_relative_criterion_never_judges_the_baseline_against_itself():
    entries = sessions(3, 2, 1)
    [base] = find_baselines(entries, day(5), 3, with_pre_transition=False)

    result = judge_relative([base], entries[-1:], base_of=lambda b: 0, observed=lambda j: [10], delta=2, each=True)

    assert result is None


# R-03 E blocks


def test_blocks_end_on_the_newest_session_skip_empty_ones_and_look_back_at_most_six():
    entries = sessions(45, 40, 20, 15, 13, 1, 0)

    found = blocks(entries, DEFAULT_PARAMS)

    assert [[e.local_date for e in b.sessions] for b in found] == [
        [day(1), day(0)],
        [day(13)],
        [day(20), day(15)],
        [day(40)],  # block 5 (days 35-41); day 45 is beyond the sixth block
    ]
    assert (found[0].start, found[0].end) == (day(6), day(0))
    assert (found[2].start, found[2].end) == (day(20), day(14))
