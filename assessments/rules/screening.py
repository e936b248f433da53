"""Which rules can fire anywhere in a patient's window: a cheap screen before judging entry by entry (issue 10).

v2 judges every rule as of each newly stored entry, so a backlog of 30 unscanned entries is 30 judgments of
every rule. ``possible_rules(context, params)`` reads the window once and returns the rules for which some
necessary condition holds; the scan judges only those at each point, and a rule left out would have found
nothing at any of them. That is the whole contract: a rule in the set may still find nothing.

Why each condition is necessary whatever the point judged (``as_of``), suppression or window: every one reads
all the entries the context holds, and judging as of a point, a resolution or a d-day window only ever keeps a
subset of them. So counts of entries with a feature are upper bounds, the largest value bounds any mean or
latest value, and the smaller of the two baselines a relative criterion can be judged against (see
``_lowest_baseline``) bounds it from below. "baseline + n" is then ``above(largest, smallest baseline, n)``,
which holds whenever it holds for any value and baseline within those bounds.

R-07 is possible when enough of its input rules are (or already fired); R-11 is judged once, as of now, by the
scan and is always returned. ``tests/assessments/test_screening.py`` checks the contract against judging every
rule at every point of thousands of random windows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from .baselines import above, sort_key
from .catalog import RULE_ORDER
from .evidence import EPS, median
from .params import Params
from .phase_review import INPUT_RULES
from .thigh import one_sided_features
from .types import MORNING_STIFFNESS_DURATIONS, PHASE_STABILIZATION, THIGH_SIDES, PatientContext, PostWorkout, Weekly

E = TypeVar("E", PostWorkout, Weekly)

RANK: Final = {code: rank for rank, code in enumerate(MORNING_STIFFNESS_DURATIONS)}
_LONGEST: Final = len(MORNING_STIFFNESS_DURATIONS) - 1
_NECK_STRAIN: Final = frozenset({"tension", "pain", "pain_into_arm"})
_NOT_EASING: Final = frozenset({"no_change", "worse"})


def possible_rules(context: PatientContext, params: Params) -> frozenset[str]:
    """The rule ids that may fire as of some point of ``context`` (every rule of the catalog when unsure)."""
    pws = sorted(context.post_workouts, key=sort_key)
    wks = sorted(context.weeklies, key=sort_key)
    reports = context.red_flag_reports
    found = {"R-11"}
    if any(e.safety_screen for e in pws) or any(e.safety_screen for e in wks) or any(r.safety_screen for r in reports):
        found.add("R-01")
    if any(e.systemic_flags for e in wks) or any(r.systemic_flags for r in reports):
        found.add("R-02")
    screens: tuple[tuple[str, Callable[[PatientContext, Params, list[PostWorkout], list[Weekly]], bool]], ...] = (
        ("R-03", _r03),
        ("R-04", _r04),
        ("R-05", _r05),
        ("R-06", _r06),
        ("R-08", _r08),
        ("R-10", _r10),
        ("R-12", _r12),
    )
    for rule_id, can_fire in screens:
        if can_fire(context, params, pws, wks):
            found.add(rule_id)
    if _r07(context, params, found):
        found.add("R-07")
    return frozenset(rule_id for rule_id in RULE_ORDER if rule_id in found)


def _count(entries: Sequence[E], where: Callable[[E], bool]) -> int:
    return sum(1 for e in entries if where(e))


def _lowest_baseline(
    entries: Sequence[E], context: PatientContext, size: int, base_of: Callable[[Sequence[E]], float]
) -> float | None:
    """The lowest value a baseline of ``size`` entries can take as of a point where it can be judged against.

    As of a point dated on or after ``phase_since`` every entry before the phase is visible, so the baselines are
    the first ``size`` entries of the phase and the last ``size`` before it, the same for every such point. As of
    a point before the phase began, the baseline is the last ``size`` entries visible, the newest among them, and
    nothing is judged against a baseline it belongs to (``Baseline.precedes``): no relative criterion can fire.
    """
    if size <= 0:
        return None
    before = [e for e in entries if e.local_date < context.phase_since]
    in_phase = [e for e in entries if e.local_date >= context.phase_since]
    candidates = [base_of(run) for run in (before[-size:], in_phase[:size]) if len(run) == size]
    return min(candidates, default=None)


def _can_rise(values: Sequence[float], lowest_base: float | None, delta: float, cap: float = 10) -> bool:
    """Whether some value can be "baseline + delta" (capped, and above the baseline) against some baseline."""
    return lowest_base is not None and bool(values) and above(max(values), lowest_base, delta, cap)


def _pw_median(get: Callable[[PostWorkout], float]) -> Callable[[Sequence[PostWorkout]], float]:
    return lambda run: median([get(e) for e in run])


def _wk_mean(get: Callable[[Weekly], float]) -> Callable[[Sequence[Weekly]], float]:
    return lambda run: sum(get(e) for e in run) / len(run)


def _r03(context: PatientContext, params: Params, pws: list[PostWorkout], wks: list[Weekly]) -> bool:
    if _count(pws, lambda e: e.stiffness_change == "stiffer") >= params.r03_stiffer_count:
        return True  # A
    if _count(pws, lambda e: e.spine_check == "clearly_restricted") >= params.r03_restricted_count:
        return True  # C
    stiffness = [e.back_stiffness_now for e in pws]
    base = _lowest_baseline(pws, context, params.baseline_sessions, _pw_median(lambda e: e.back_stiffness_now))
    if _can_rise(stiffness, base, params.r03_mean_delta) or _can_rise(stiffness, base, params.r03_creep_delta):
        return True  # B, E
    level = _lowest_baseline(wks, context, params.baseline_weeklies, _wk_mean(lambda e: e.morning_stiffness_level))
    if _can_rise([e.morning_stiffness_level for e in wks], level, params.r03_morning_level_delta):
        return True  # D, level
    ranks = [RANK[e.morning_stiffness_duration] for e in wks]
    if not ranks or max(ranks) < RANK[params.r03_morning_duration_latest_min]:
        return False
    longest = _lowest_baseline(
        wks, context, params.baseline_weeklies, lambda run: max(RANK[e.morning_stiffness_duration] for e in run)
    )
    return _can_rise(ranks, longest, params.r03_morning_duration_step, cap=_LONGEST)  # D, duration


def _r04(context: PatientContext, params: Params, pws: list[PostWorkout], wks: list[Weekly]) -> bool:
    return any(e.thigh_symptoms in THIGH_SIDES for e in pws)


def _r05(context: PatientContext, params: Params, pws: list[PostWorkout], wks: list[Weekly]) -> bool:
    return any(e.neck_symptoms in _NECK_STRAIN for e in pws)


def _r06(context: PatientContext, params: Params, pws: list[PostWorkout], wks: list[Weekly]) -> bool:
    if any(e.flare_7d or e.global_change <= params.r06_global_change_max for e in wks):
        return True  # D flare, E
    if _count(pws, lambda e: e.session_completed == "stopped_symptoms") >= params.r06_stopped_count:
        return True  # D stopped
    threshold = params.r06_during_max_threshold
    if _count(pws, lambda e: e.back_pain_during_max >= threshold) >= params.r06_during_max_count:
        return True  # B
    times = params.r06_rise_times
    if len(pws) > times:
        now = [e.back_pain_now for e in pws]
        if max(now) - min(now) >= times * (params.r06_rise_delta - EPS):
            return True  # C: `times` rises of at least delta each
    base = _lowest_baseline(wks, context, params.baseline_weeklies, _wk_mean(lambda e: e.back_pain_avg_7d))
    return _can_rise([e.back_pain_avg_7d for e in wks], base, params.r06_pain_delta)  # A


def _r08(context: PatientContext, params: Params, pws: list[PostWorkout], wks: list[Weekly]) -> bool:
    phase = [e for e in wks if e.local_date >= context.phase_since]
    if phase:
        psfs = [e.psfs_score for e in phase]
        low, high = min(psfs), max(psfs)
        if low <= max(high - params.r08_psfs_drop, 0) + EPS and low < high - EPS:
            return True  # A: the best is at most the highest score, each judged score at least the lowest
        peg = [e.peg_score for e in phase]
        if above(max(peg), min(peg), params.r08_peg_rise):
            return True  # C: the best is the lowest score
    odi = [s.score for s in context.outcome_scores if s.instrument == "ODI" and s.local_date >= context.phase_since]
    return bool(odi) and above(max(odi), min(odi), params.r08_odi_points, cap=100)  # B


def _r10(context: PatientContext, params: Params, pws: list[PostWorkout], wks: list[Weekly]) -> bool:
    least = RANK[params.r10_min_duration]
    return (
        _count(wks, lambda e: RANK[e.morning_stiffness_duration] >= least and e.stiffness_eases_with_movement is True)
        >= params.r10_count
    )


def _r12(context: PatientContext, params: Params, pws: list[PostWorkout], wks: list[Weekly]) -> bool:
    both = [e for e in pws if e.thigh_symptoms == "both"]
    if any(e.thigh_below_knee or e.thigh_nerve_qualities for e in both):
        return True  # both A
    if _count(both, lambda e: e.thigh_stretch_response in _NOT_EASING) >= params.r12_stretch_count:
        return True  # both B
    levels = [e for e in both if e.thigh_level is not None]
    if len(levels) >= params.r12_rise_sessions and any(
        (e.thigh_level or 0) >= params.r12_rise_level or e.thigh_stretch_response != "eases" for e in levels
    ):
        values = [e.thigh_level or 0 for e in levels]
        if max(values) - min(values) >= params.r12_rise_delta - EPS:
            return True  # both C
    neural = [e for e in pws if one_sided_features(e, params)]
    if len(neural) >= params.r12_alternating_reports and {e.thigh_symptoms for e in neural} >= set(THIGH_SIDES):
        return True  # alternating D
    leg = [e.leg_pain_avg_7d for e in wks]
    if any(value >= params.r12_leg_pain_once for value in leg):
        return True  # weekly_leg_pain E
    if _count(wks, lambda e: e.leg_pain_avg_7d >= params.r12_leg_pain_min) < params.r12_leg_pain_consecutive:
        return False
    base = _lowest_baseline(wks, context, params.baseline_weeklies, _wk_mean(lambda e: e.leg_pain_avg_7d))
    return _can_rise(leg, base, params.r12_leg_pain_delta)  # weekly_leg_pain F


def _r07(context: PatientContext, params: Params, possible: set[str]) -> bool:
    if context.phase != PHASE_STABILIZATION:
        return False
    inputs = (possible & INPUT_RULES) | {f.rule_id for f in context.recent_firings if f.rule_id in INPUT_RULES}
    return len(inputs) >= params.r07_distinct_rules
