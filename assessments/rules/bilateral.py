"""R-12 bilateral_leg_symptoms (new in v2; qualifiers `both`, `alternating`, `weekly_leg_pain`).

Readings of RULES.md v2 (criterion codes are unique within R-12: `both` A-C, `alternating` D,
`weekly_leg_pain` E-F):

- `both` A: a `both` session within the 14-day window with `thigh_below_knee` or any nerve quality ("once";
  the window is that of the rule's other `both` arm). The finding then suggests phoning the patient today.
- `both` B: `both` with stretch `no_change`/`worse` in >= 2 of the last 3 sessions within 14 d.
- `both` C: the last 3 sessions are all `both`, their `thigh_level` never falls and rises >= 2 from the first
  to the last, and the last is >= 4 or not eased by stretching. A rise that eases and stays low (< 4) is
  exercise soreness, and so is soreness that fades.
- `alternating` D: within 21 d, one-sided sessions with >= 1 neural feature (R-04's list, v2 narrowing
  included): >= 3 of them, with both `left` and `right` among them.
- `weekly_leg_pain` E: the latest weekly's `leg_pain_avg_7d` >= 5. F: each of the last 2 weeklies, both after
  the baseline's weeklies, has `leg_pain_avg_7d` >= min(baseline + 2, 10), above the baseline and >= 3,
  against the phase baseline and, in the first 6 weeks of stabilization, the pre-transition baseline too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from itertools import pairwise
from typing import Final

from .baselines import judge_relative
from .catalog import R12_NERVE_SIGNS_ACTION
from .evidence import Bag, Json, make_finding, point
from .prepare import Prepared, Scope
from .suppression import judge_key
from .thigh import NAMES, one_sided_features
from .types import THIGH_SIDES, Finding, PostWorkout
from .windows import consecutive, since, windowed

QUALIFIERS: Final = ("both", "alternating", "weekly_leg_pain")
_NOT_EASING: Final = frozenset({"no_change", "worse"})


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    judges: dict[str, Callable[[Prepared, Scope], Finding | None]] = {
        "both": _both,
        "alternating": _alternating,
        "weekly_leg_pain": _weekly_leg_pain,
    }
    out: list[Finding] = []
    for qualifier in QUALIFIERS:
        run = judges[qualifier]
        found = judge_key(p, "R-12", qualifier, partial(run, p))
        if found is not None:
            out.append(found)
    return out


def _both(p: Prepared, scope: Scope) -> Finding | None:
    params = p.params
    bag = Bag()
    values: Json = {}
    window = since(scope.pws, p.start(params.r12_window_days))
    signs = [e for e in window if e.thigh_symptoms == "both" and (e.thigh_below_knee or e.thigh_nerve_qualities)]
    if signs:
        values["A"] = {"entries": [point(e, *NAMES) for e in signs], "window_days": params.r12_window_days}
        bag.add_all(signs, *NAMES)
    w = windowed(
        scope.pws,
        p.today,
        k=params.r12_stretch_count,
        of_last=params.r12_stretch_of_last,
        days=params.r12_window_days,
        where=lambda e: e.thigh_symptoms == "both" and e.thigh_stretch_response in _NOT_EASING,
    )
    if w.met:
        values["B"] = {"series": [point(e, "thigh_symptoms", "thigh_stretch_response") for e in w.judged]}
        values["B"].update(w.describe())
        bag.add_all(w.hits, *NAMES)
    rising = _rising(p, scope.pws)
    if rising is not None:
        values["C"] = {
            "series": [point(e, "thigh_level", "thigh_stretch_response") for e in rising],
            "rise": (rising[-1].thigh_level or 0) - (rising[0].thigh_level or 0),
            "rise_at_least": params.r12_rise_delta,
            "latest_at_least": params.r12_rise_level,
        }
        bag.add_all(rising, *NAMES)
    if not values:
        return None
    action = R12_NERVE_SIGNS_ACTION if signs else None
    return make_finding("R-12", qualifier="both", criteria=list(values), bag=bag, values=values, action=action)


def _rising(p: Prepared, pws: list[PostWorkout]) -> list[PostWorkout] | None:
    """(C) the level rising >= 2 over the last 3 `both` sessions, the latest >= 4 or not eased."""
    params = p.params
    run = consecutive(pws, params.r12_rise_sessions, lambda e: e.thigh_symptoms == "both" and e.thigh_level is not None)
    if run is None:
        return None
    levels = [e.thigh_level or 0 for e in run.hits]
    latest = run.hits[-1]
    if any(b < a for a, b in pairwise(levels)) or levels[-1] - levels[0] < params.r12_rise_delta:
        return None
    if levels[-1] < params.r12_rise_level and latest.thigh_stretch_response == "eases":
        return None
    return run.hits


def _alternating(p: Prepared, scope: Scope) -> Finding | None:
    """(D) left and right each with >= 1 neural feature, >= 3 such reports in 21 d."""
    params = p.params
    w = windowed(
        scope.pws,
        p.today,
        k=params.r12_alternating_reports,
        days=params.r12_alternating_days,
        where=lambda e: bool(one_sided_features(e, params)),
    )
    sides = {e.thigh_symptoms for e in w.hits}
    if not w.met or not sides.issuperset(THIGH_SIDES):
        return None
    bag = Bag()
    bag.add_all(w.hits, *NAMES)
    series = [{**point(e, "thigh_symptoms"), "features": list(one_sided_features(e, params))} for e in w.hits]
    return make_finding(
        "R-12", qualifier="alternating", criteria=["D"], bag=bag, values={"D": {"series": series, **w.describe()}}
    )


def _weekly_leg_pain(p: Prepared, scope: Scope) -> Finding | None:
    params = p.params
    wks = scope.wks
    if not wks:
        return None
    bag = Bag()
    values: Json = {}
    if wks[-1].leg_pain_avg_7d >= params.r12_leg_pain_once:
        values["E"] = {"latest": point(wks[-1], "leg_pain_avg_7d"), "at_least": params.r12_leg_pain_once}
        bag.add(wks[-1], "leg_pain_avg_7d")
    n = params.r12_leg_pain_consecutive
    last = wks[-n:]
    if len(last) == n and all(e.leg_pain_avg_7d >= params.r12_leg_pain_min for e in last):
        rel = judge_relative(
            p.wk_baselines,
            last,
            base_of=lambda b: b.mean(lambda e: e.leg_pain_avg_7d),
            observed=lambda judged: [e.leg_pain_avg_7d for e in judged],
            delta=params.r12_leg_pain_delta,
            each=True,
        )
        if rel is not None:
            series = [point(e, "leg_pain_avg_7d") for e in last]
            values["F"] = {"series": series, "at_least": params.r12_leg_pain_min, **rel.describe()}
            bag.add_all(last, "leg_pain_avg_7d")
    if not values:
        return None
    return make_finding("R-12", qualifier="weekly_leg_pain", criteria=list(values), bag=bag, values=values)
