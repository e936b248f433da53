"""R-10 inflammatory_pattern (v2 wording).

Reading: among the last 4 weeklies (no window), >= 3 have `morning_stiffness_duration` >= `30_60`, each of those
with `stiffness_eases_with_movement` (v2 says "each"; v1 already counted only weeklies that ease).
"""

from __future__ import annotations

from collections.abc import Sequence

from .evidence import Bag, make_finding, point
from .prepare import Prepared, Scope
from .stiffness import RANK
from .suppression import judge_key
from .types import Finding
from .windows import windowed

_NAMES = ("morning_stiffness_duration", "stiffness_eases_with_movement")


def judge(p: Prepared, earlier: Sequence[Finding] = ()) -> list[Finding]:
    found = judge_key(p, "R-10", "", lambda scope: _judge(p, scope))
    return [found] if found is not None else []


def _judge(p: Prepared, scope: Scope) -> Finding | None:
    params = p.params
    min_rank = RANK[params.r10_min_duration]
    w = windowed(
        scope.wks,
        p.today,
        k=params.r10_count,
        of_last=params.r10_of_last,
        where=lambda e: RANK[e.morning_stiffness_duration] >= min_rank and e.stiffness_eases_with_movement is True,
    )
    if not w.met:
        return None
    bag = Bag()
    bag.add_all(w.hits, *_NAMES)
    values = {
        "A": {
            "series": [point(e, *_NAMES) for e in w.judged],
            "duration_at_least": params.r10_min_duration,
            **w.describe(),
        }
    }
    return make_finding("R-10", criteria=["A"], bag=bag, values=values)
