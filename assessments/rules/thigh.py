"""R-04 unilateral_thigh_neural (v2; qualifier: side) and the neural features R-12 shares.

Readings of RULES.md v2:

- Neural features (``neural_features``): stretch `no_change`/`worse`; `thigh_below_knee`; any nerve quality
  (one feature however many qualities); `thigh_level` > `back_pain_now` only when `back_pain_now` >= 2 and the
  stretch response is not `eases` (v2). The function lists them for any leg entry, `both` included (R-12 and the
  readiness check use it); R-04 judges only `left`/`right` entries, so the exercise-soreness pattern (`both`
  sides, easing with stretch, fading) never counts for it.
- A: an entry of that side within the 14-day window with >= 2 features. B: among the last 3 sessions within
  14 d, >= 2 of that side, each with >= 1 feature (v1 already read "each"; v2 says it). C (v2): the last 3
  sessions (no window) are all of that side and none was eased by stretching (`no_change`, `worse`,
  `not_tried`). D (v2): `numbness` on an entry of that side within 14 d is high; `pins_needles` within 14 d is
  routine, and high when the side has >= 2 entries with a neural feature within 28 d, one of them with
  `pins_needles` (the feature "recurs"). The finding's severity is high unless D's routine arm is all it met.
- Alternating sides (v2): when the other side has met any criterion as of one of its own sessions within the
  last 14 d (judged on every visible entry, whatever was resolved since: it is a fact about the pattern), the
  finding carries the flag "alternating sides" and suggests re-asking the safety screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import partial
from typing import Final

from .catalog import FLAG_ALTERNATING, R04_ALTERNATING_ACTION
from .evidence import Bag, Json, make_finding, point
from .params import DEFAULT_PARAMS, Params
from .prepare import Prepared, Scope
from .suppression import judge_key
from .types import SEVERITY_HIGH, SEVERITY_ROUTINE, THIGH_SIDES, Finding, PostWorkout
from .windows import consecutive, since, window_start, windowed

NAMES: Final = (
    "thigh_symptoms",
    "thigh_level",
    "back_pain_now",
    "thigh_stretch_response",
    "thigh_below_knee",
    "thigh_nerve_qualities",
)
_NOT_EASING: Final = frozenset({"no_change", "worse"})


def neural_features(entry: PostWorkout, params: Params = DEFAULT_PARAMS) -> tuple[str, ...]:
    """The neural features of a leg entry (`left`, `right` or `both`); () for `none`."""
    if entry.thigh_symptoms == "none":
        return ()
    features: list[str] = []
    if entry.thigh_stretch_response in _NOT_EASING:
        features.append("stretch_not_easing")
    if entry.thigh_below_knee:
        features.append("below_knee")
    if entry.thigh_nerve_qualities:
        features.append("nerve_qualities")
    if (
        entry.thigh_level is not None
        and entry.back_pain_now >= params.r04_level_feature_min_back_pain
        and entry.thigh_stretch_response != "eases"
        and entry.thigh_level > entry.back_pain_now
    ):
        features.append("thigh_above_back_pain")
    return tuple(features)


def one_sided_features(entry: PostWorkout, params: Params = DEFAULT_PARAMS) -> tuple[str, ...]:
    """R-04's features: those of a `left`/`right` entry; () for `none` and `both`."""
    return neural_features(entry, params) if entry.thigh_symptoms in THIGH_SIDES else ()


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    out: list[Finding] = []
    for side in THIGH_SIDES:
        found = judge_key(p, "R-04", side, partial(_judge_side, p, side=side))
        if found is not None:
            out.append(found)
    return out


def _judge_side(p: Prepared, scope: Scope, side: str) -> Finding | None:
    bag = Bag()
    met = criteria_met(scope.pws, side, p.today, p.params, bag)
    if not met:
        return None
    values: Json = {"side": side, **met}
    high = any(code != "D" for code in met) or met["D"]["severity"] == SEVERITY_HIGH
    flags: list[str] = []
    action = None
    other = "right" if side == "left" else "left"
    qualified_on = _qualified_on(p, other)
    if qualified_on is not None:
        flags.append(FLAG_ALTERNATING)
        action = R04_ALTERNATING_ACTION
        values["alternating_sides"] = {"other_side": other, "qualified_on": qualified_on.isoformat()}
    return make_finding(
        "R-04",
        qualifier=side,
        criteria=list(met),
        bag=bag,
        values=values,
        severity=SEVERITY_HIGH if high else SEVERITY_ROUTINE,
        flags=flags,
        action=action,
    )


def criteria_met(pws: Sequence[PostWorkout], side: str, today: date, params: Params, bag: Bag) -> dict[str, Json]:
    """Criterion code -> values, for one side as of ``today`` (sessions up to ``today``, time-sorted)."""
    horizon = since(pws, window_start(today, max(params.r04_window_days, params.r04_recurrence_days)))
    if all(e.thigh_symptoms != side for e in horizon):
        return {}  # nothing of that side recently: no criterion can be met (C needs the newest session too)
    window = since(horizon, window_start(today, params.r04_window_days))
    met: dict[str, Json] = {}
    for code, values in (
        ("A", _a(window, side, params, bag)),
        ("B", _b(pws, side, today, params, bag)),
        ("C", _c(pws, side, params, bag)),
        ("D", _d(pws, side, today, params, bag)),
    ):
        if values is not None:
            met[code] = values
    return met


def _a(window: list[PostWorkout], side: str, params: Params, bag: Bag) -> Json | None:
    """(A) >= 2 neural features in one entry (within the 14-day window)."""
    single = [
        (e, f)
        for e in window
        if e.thigh_symptoms == side and len(f := neural_features(e, params)) >= params.r04_single_entry_features
    ]
    if not single:
        return None
    bag.add_all((e for e, _ in single), *NAMES)
    return {
        "entries": [{**point(e), "features": list(f)} for e, f in single],
        "required_features": params.r04_single_entry_features,
        "window_days": params.r04_window_days,
    }


def _b(pws: Sequence[PostWorkout], side: str, today: date, params: Params, bag: Bag) -> Json | None:
    """(B) the same side in >= 2 of the last 3 sessions within 14 d, each with >= 1 feature."""
    w = windowed(
        pws,
        today,
        k=params.r04_repeat_count,
        of_last=params.r04_repeat_of_last,
        days=params.r04_window_days,
        where=lambda e: e.thigh_symptoms == side and len(neural_features(e, params)) >= params.r04_repeat_min_features,
    )
    if not w.met:
        return None
    bag.add_all(w.hits, *NAMES)
    series = [{**point(e, "thigh_symptoms"), "features": list(one_sided_features(e, params))} for e in w.judged]
    return {"series": series, **w.describe()}


def _c(pws: Sequence[PostWorkout], side: str, params: Params, bag: Bag) -> Json | None:
    """(C) the same side in >= 3 consecutive sessions, none eased by stretching (`not_tried` included)."""
    run = consecutive(
        pws, params.r04_consecutive, lambda e: e.thigh_symptoms == side and e.thigh_stretch_response != "eases"
    )
    if run is None:
        return None
    bag.add_all(run.hits, *NAMES)
    return {
        "series": [point(e, "thigh_symptoms", "thigh_stretch_response") for e in run.hits],
        "consecutive": len(run.hits),
    }


def _d(pws: Sequence[PostWorkout], side: str, today: date, params: Params, bag: Bag) -> Json | None:
    """(D) numbness once (high); pins and needles once (routine), high when a feature recurs within 28 d."""
    recent = [e for e in since(pws, window_start(today, params.r04_window_days)) if e.thigh_symptoms == side]
    numb = [e for e in recent if "numbness" in e.thigh_nerve_qualities]
    pins = [e for e in recent if "pins_needles" in e.thigh_nerve_qualities]
    long_window = [
        e
        for e in since(pws, window_start(today, params.r04_recurrence_days))
        if e.thigh_symptoms == side and neural_features(e, params)
    ]
    recurring = len(long_window) >= 2 and any("pins_needles" in e.thigh_nerve_qualities for e in long_window)
    if not (numb or pins or recurring):
        return None
    hits = [*numb, *pins, *(long_window if recurring else ())]
    bag.add_all(hits, *NAMES)
    return {
        "numbness": [point(e, "thigh_nerve_qualities") for e in numb],
        "pins_needles": [point(e, "thigh_nerve_qualities") for e in pins],
        "recurrence": [{**point(e), "features": list(neural_features(e, params))} for e in long_window]
        if recurring
        else [],
        "recurrence_days": params.r04_recurrence_days,
        "severity": SEVERITY_HIGH if numb or recurring else SEVERITY_ROUTINE,
    }


def _qualified_on(p: Prepared, side: str) -> date | None:
    """The latest day within the alternating window on which ``side`` met an R-04 criterion, if any."""
    params = p.params
    start = p.start(params.r04_alternating_days)
    pws = p.pws
    for i in range(len(pws) - 1, -1, -1):
        e = pws[i]
        if e.local_date < start:
            break
        if e.thigh_symptoms == side and criteria_met(pws[: i + 1], side, e.local_date, params, Bag()):
            return e.local_date
    return None
