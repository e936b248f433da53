"""R-06 pain_returning (v2): criteria A-E and the "within 6 weeks of progression" flag.

Readings of RULES.md v2:

- A: the latest weekly's `back_pain_avg_7d` >= min(baseline + 2, 10) and above the baseline (v2: no 30% arm),
  against the phase baseline and, in the first 6 weeks of stabilization, the pre-transition baseline too;
  the latest weekly must come after the baseline's weeklies. Without a baseline A does not apply.
- B (v2: absolute, and within 14 d): `back_pain_during_max` >= 6 in >= 2 of the last 3 sessions within 14 d.
- C: the latest 3 sessions with two consecutive rises of `back_pain_now` >= 2 (no window, as in v1).
- D: the latest weekly reports a flare, or >= 2 `stopped_symptoms` sessions in the 14-day window.
- E: the latest weekly has `global_change` <= -2.
- ``values["within_6_weeks_of_progression"]`` is True (with the text flag) when ``last_progression_date`` is
  within the 42 days ending on the judged day.
"""

from __future__ import annotations

from collections.abc import Sequence

from .baselines import judge_relative
from .catalog import FLAG_PROGRESSION
from .evidence import EPS, Bag, Json, make_finding, num, point
from .prepare import Prepared, Scope
from .suppression import judge_key
from .types import Finding, PostWorkout, Weekly
from .windows import windowed


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    found = judge_key(p, "R-06", "", lambda scope: _judge(p, scope))
    return [found] if found is not None else []


def _judge(p: Prepared, scope: Scope) -> Finding | None:
    bag = Bag()
    criteria: list[str] = []
    values: Json = {}
    for code, met in (
        ("A", _a(p, scope.wks, bag)),
        ("B", _b(p, scope.pws, bag)),
        ("C", _c(p, scope.pws, bag)),
        ("D", _d(p, scope.pws, scope.wks, bag)),
        ("E", _e(p, scope.wks, bag)),
    ):
        if met:
            criteria.append(code)
            values[code] = met
    if not criteria:
        return None
    progression = p.ctx.last_progression_date
    recent = progression is not None and 0 <= (p.today - progression).days < p.params.r06_progression_window_days
    values["within_6_weeks_of_progression"] = recent
    values["last_progression_date"] = progression.isoformat() if progression is not None else None
    flags = [FLAG_PROGRESSION] if recent else []
    return make_finding("R-06", criteria=criteria, bag=bag, values=values, flags=flags)


def _a(p: Prepared, wks: list[Weekly], bag: Bag) -> Json | None:
    """(A) back_pain_avg_7d >= min(baseline + 2, 10) and above the baseline."""
    if not wks:
        return None
    rel = judge_relative(
        p.wk_baselines,
        wks[-1:],
        base_of=lambda b: b.mean(lambda e: e.back_pain_avg_7d),
        observed=lambda judged: [judged[-1].back_pain_avg_7d],
        delta=p.params.r06_pain_delta,
        each=True,
    )
    if rel is None:
        return None
    bag.add(wks[-1], "back_pain_avg_7d")
    return {"latest": point(wks[-1], "back_pain_avg_7d"), "delta": num(p.params.r06_pain_delta), **rel.describe()}


def _b(p: Prepared, pws: list[PostWorkout], bag: Bag) -> Json | None:
    """(B) back_pain_during_max >= 6 in 2 of the last 3 sessions within 14 d (absolute)."""
    params = p.params
    w = windowed(
        pws,
        p.today,
        k=params.r06_during_max_count,
        of_last=params.r06_during_max_of_last,
        days=params.r06_during_max_window_days,
        where=lambda e: e.back_pain_during_max >= params.r06_during_max_threshold,
    )
    if not w.met:
        return None
    bag.add_all(w.hits, "back_pain_during_max")
    series = [point(e, "back_pain_during_max") for e in w.judged]
    return {"series": series, "at_least": params.r06_during_max_threshold, **w.describe()}


def _c(p: Prepared, pws: list[PostWorkout], bag: Bag) -> Json | None:
    """(C) back_pain_now up >= 2 over the previous session, twice in a row."""
    times, delta = p.params.r06_rise_times, p.params.r06_rise_delta
    if len(pws) <= times:
        return None
    seq = pws[-(times + 1) :]
    if not all(seq[i + 1].back_pain_now - seq[i].back_pain_now >= delta - EPS for i in range(times)):
        return None
    bag.add_all(seq, "back_pain_now")
    return {"series": [point(e, "back_pain_now") for e in seq], "rise_at_least": num(delta), "times": times}


def _d(p: Prepared, pws: list[PostWorkout], wks: list[Weekly], bag: Bag) -> Json:
    """(D) flare_7d on the latest weekly, or `stopped_symptoms` twice in 14 d."""
    out: Json = {}
    if wks and wks[-1].flare_7d:
        out["flare"] = point(wks[-1], "flare_7d")
        bag.add(wks[-1], "flare_7d")
    params = p.params
    w = windowed(
        pws,
        p.today,
        k=params.r06_stopped_count,
        days=params.r06_stopped_window_days,
        where=lambda e: e.session_completed == "stopped_symptoms",
    )
    if w.met:
        out["stopped_symptoms"] = {"series": [point(e, "session_completed") for e in w.hits], **w.describe()}
        bag.add_all(w.hits, "session_completed")
    return out


def _e(p: Prepared, wks: list[Weekly], bag: Bag) -> Json | None:
    """(E) global_change <= -2 on the latest weekly."""
    if not wks or wks[-1].global_change > p.params.r06_global_change_max:
        return None
    bag.add(wks[-1], "global_change")
    return {"latest": point(wks[-1], "global_change"), "at_most": p.params.r06_global_change_max}
