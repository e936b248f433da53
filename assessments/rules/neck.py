"""R-05 neck_strain_core (v2).

Readings of RULES.md v2:

- A: `tension`, `pain` or `pain_into_arm` in >= 2 of the last 4 sessions within 28 d (v2: 28 d).
- B (v2): one session within the 28-day window with `pain` (or `pain_into_arm`) at `neck_level` >= 5, or
  `tension` at `neck_level` >= 7.
- C (v2): `pain_into_arm` once within the 28-day window, at any level: the finding is then high (an open
  routine R-05 alert escalates: a new criterion and a higher severity); otherwise routine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .evidence import Bag, Json, make_finding, point
from .prepare import Prepared, Scope
from .suppression import judge_key
from .types import SEVERITY_HIGH, SEVERITY_ROUTINE, Finding, PostWorkout
from .windows import since, windowed

STRAIN: Final = frozenset({"tension", "pain", "pain_into_arm"})
_NAMES: Final = ("neck_symptoms", "neck_level")


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    found = judge_key(p, "R-05", "", lambda scope: _judge(p, scope))
    return [found] if found is not None else []


def _strong(e: PostWorkout, pain_level: int, tension_level: int) -> bool:
    if e.neck_level is None:
        return False
    if e.neck_symptoms in ("pain", "pain_into_arm"):
        return e.neck_level >= pain_level
    return e.neck_symptoms == "tension" and e.neck_level >= tension_level


def _judge(p: Prepared, scope: Scope) -> Finding | None:
    params = p.params
    window = since(scope.pws, p.start(params.r05_window_days))
    if not window:
        return None
    bag = Bag()
    criteria: list[str] = []
    values: Json = {}
    w = windowed(
        scope.pws,
        p.today,
        k=params.r05_count,
        of_last=params.r05_of_last,
        days=params.r05_window_days,
        where=lambda e: e.neck_symptoms in STRAIN,
    )
    if w.met:
        criteria.append("A")
        values["A"] = {"series": [point(e, *_NAMES) for e in w.judged], **w.describe()}
        bag.add_all(w.hits, *_NAMES)
    strong = [e for e in window if _strong(e, params.r05_level_once, params.r05_tension_level_once)]
    if strong:
        criteria.append("B")
        values["B"] = {
            "entries": [point(e, *_NAMES) for e in strong],
            "pain_level_at_least": params.r05_level_once,
            "tension_level_at_least": params.r05_tension_level_once,
            "window_days": params.r05_window_days,
        }
        bag.add_all(strong, *_NAMES)
    into_arm = [e for e in window if e.neck_symptoms == "pain_into_arm"]
    if into_arm:
        criteria.append("C")
        values["C"] = {"entries": [point(e, *_NAMES) for e in into_arm], "window_days": params.r05_window_days}
        bag.add_all(into_arm, *_NAMES)
    if not criteria:
        return None
    values["pain_into_arm"] = bool(into_arm)
    severity = SEVERITY_HIGH if into_arm else SEVERITY_ROUTINE
    return make_finding("R-05", criteria=criteria, bag=bag, values=values, severity=severity)
